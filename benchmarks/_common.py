"""Shared pieces of the benchmark scripts: repository paths, the --datasets option and its
check, the command line and date written into each results file, and a markdown table."""

from __future__ import annotations

import argparse
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DATASETS = ROOT.parent / "shared" / "datasets"


def add_datasets_argument(parser: argparse.ArgumentParser) -> None:
    """The --datasets option of the benchmarks that read the shared data sets."""
    parser.add_argument(
        "--datasets",
        default=str(DATASETS),
        help="benchmark data folder (default ../shared/datasets, see its README.md)",
    )


def add_dirty_analysis_arguments(parser: argparse.ArgumentParser) -> None:
    """--datasets, --name, --seeds and --options of the dirty-variant analyses."""
    add_datasets_argument(parser)
    parser.add_argument("--name", default="beer")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--options", default="{}", help="PairFeaturizer options (JSON) on top of restore=True"
    )


def dataset_folder(path: str | Path, script: str, *required: str) -> Path:
    """`path` as a Path; exits with a message naming what is missing and what to pass when the
    folder, or one of the `required` entries inside it, does not exist."""
    folder = Path(path)
    missing = [folder / entry for entry in required if not (folder / entry).exists()]
    if not folder.is_dir():
        missing = [folder]
    if missing:
        sys.exit(
            f"{script}: {missing[0]} not found; pass --datasets pointing at the benchmark data "
            "folder (the layout of ../shared/datasets/README.md)"
        )
    return folder


def command(script: str, argv: list[str] | None = None) -> str:
    """The command line that reproduces this run (`argv` defaults to the script's arguments),
    each argument quoted for a POSIX shell where it needs it (JSON, names with spaces), run by
    the interpreter that ran it (relative to the repository when it lives there)."""
    interpreter = Path(sys.executable)
    if interpreter.is_relative_to(ROOT):
        interpreter = interpreter.relative_to(ROOT)
    return shlex.join([str(interpreter), f"benchmarks/{script}", *(argv or sys.argv[1:])])


def timestamp() -> str:
    """Current UTC time for the results files."""
    return f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table of a data frame (floats with 3 decimals, missing cells empty),
    without the optional tabulate dependency of `DataFrame.to_markdown`."""

    def cell(value: object) -> str:
        if value is None or (isinstance(value, float) and value != value):
            return ""
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(map(str, frame.columns)) + " |", "|" + "---|" * frame.shape[1]]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def append_results(path: str | Path, header: str, text: str) -> None:
    """Append a run's `text` to a results file, writing `header` first when the file is new;
    then print the text."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    if not out.exists():
        out.write_text(header)
    with out.open("a") as fh:
        fh.write(text)
    print(text)
