import argparse
import importlib.util
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def benchmark(monkeypatch):
    # loaded under its own name: "oasis" is also the OASIS authors' package
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    spec = importlib.util.spec_from_file_location("oasis_benchmark", BENCHMARKS / "oasis.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_out_takes_a_stem_or_a_path_into_the_results_folder(benchmark):
    # a run takes minutes and writes at its end: a path it cannot write is refused up front
    assert benchmark._results_stem("oasis_v26") == "oasis_v26"
    assert benchmark._results_stem(str(benchmark.RESULTS / "oasis_v26.md")) == "oasis_v26"
    with pytest.raises(argparse.ArgumentTypeError, match="file stem"):
        benchmark._results_stem("/tmp/elsewhere/oasis_v26")
