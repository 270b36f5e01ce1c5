import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture()
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import _common

    return _common


def test_results_name_the_interpreter_that_ran_them(common, monkeypatch):
    # a run from another environment (one with the OASIS authors' package) says so
    monkeypatch.setattr(sys, "executable", "/opt/side-env/bin/python")
    line = common.command("oasis.py", ["--seeds", "2", "--ours", '{"misfit": 0}'])
    assert line == "/opt/side-env/bin/python benchmarks/oasis.py --seeds 2 --ours '{\"misfit\": 0}'"
    monkeypatch.setattr(sys, "executable", str(common.ROOT / ".venv" / "bin" / "python"))
    assert common.command("oasis.py", []).startswith(".venv/bin/python benchmarks/oasis.py")
