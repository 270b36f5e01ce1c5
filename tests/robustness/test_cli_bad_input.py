"""Bad input on the command line: exit status 2 and one line naming the problem; stored labels
survive every failed run."""

import json
import re
import shutil
from pathlib import Path

import pytest

from blocking import make_dirty_records

cli = pytest.importorskip("active.cli")
LFS_FILE = Path(__file__).resolve().parents[2] / "active" / "demo_lfs.py"


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A record table, the FEBRL LFs, and a label store holding two answers."""
    from active import LabelStore

    root = tmp_path_factory.mktemp("cli")
    records, _ = make_dirty_records(n_entities=25, seed=4)
    records.to_csv(root / "people.csv", index=False)
    shutil.copy(LFS_FILE, root / "lfs.py")
    with LabelStore(root / "labels.sqlite") as store:
        store.add("rec-1-org|rec-1-dup-0", 1)
        store.add("rec-2-org|rec-3-org", 0)
    return root


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    return status, capsys.readouterr().err


def base_args(root: Path, store: Path | None = None):
    return [
        "run", "--left", root / "people.csv", "--lfs", root / "lfs.py", "--blocking", "sorted",
        "--block-on", "surname", "--oracle", "file", "--labels", root / "answers.csv",
        "--store", store or root / "labels.sqlite", "--output", root / "out", "--budget", "4",
        "--matcher", "fast",
    ]  # fmt: skip


def stored(root: Path) -> dict:
    from active import LabelStore

    with LabelStore(root / "labels.sqlite") as store:
        return store.labels()


def test_config_with_unknown_keys(project, capsys):
    config = project / "config.json"
    config.write_text(json.dumps({"left": "people.csv", "budjet": 10, "lfs": "lfs.py"}))
    status, err = run(capsys, "run", "--config", config)
    assert status == 2
    assert "unknown option 'budjet'" in err and "did you mean 'budget'" in err


def test_config_with_a_wrong_type(project, capsys):
    config = project / "typed.json"
    config.write_text(json.dumps({"budget": "ten"}))
    status, err = run(capsys, "run", "--config", config)
    assert status == 2 and "(budget): expected a whole number" in err and "ten" in err


@pytest.mark.parametrize(
    "option, value, message",
    [("--k", "0", "--k: expected a positive whole number"),
     ("--batch-size", "0", "--batch-size: expected a positive whole number"),
     ("--budget", "-3", "--budget: expected a whole number"),
     ("--seed", "-5", "--seed: the seed must be a whole number"),
     ("--max-cluster", "1", "--max-cluster: .*'auto', 'none' or an integer >= 2")],
)
def test_nonsense_numbers_are_refused_before_any_work(project, capsys, option, value, message):
    before = stored(project)
    status, err = run(capsys, *base_args(project), option, value)
    assert status == 2 and re.search(message, err)
    assert stored(project) == before and not (project / "out" / "scored_pairs.csv").exists()


def test_missing_table_and_lf_file(project, capsys):
    status, err = run(capsys, "run", "--left", project / "nope.csv", "--lfs", project / "lfs.py")
    assert status == 2 and "nope.csv" in err
    status, err = run(capsys, "lfs", "--lfs", project / "nope.py")
    assert status == 2 and "nope.py" in err


def test_misspelled_block_column(project, capsys):
    args = base_args(project)
    args[args.index("surname")] = "surnme"
    (project / "answers.csv").write_text("key,label\nx|y,1\n")
    status, err = run(capsys, *args)
    assert status == 2 and "'surnme'" in err
    assert len(stored(project)) == 2


def test_label_file_with_nonsense_answers_keeps_stored_labels(project, capsys):
    before = stored(project)
    (project / "answers.csv").write_text("key,label\nrec-1-org|rec-1-dup-0,perhaps\n")
    status, err = run(capsys, *base_args(project))
    assert status == 2 and "label 'perhaps'" in err and "line 2" in err
    assert stored(project) == before


def test_corrupted_store_is_refused_and_left_untouched(project, capsys):
    bad = project / "broken.sqlite"
    bad.write_bytes(b"\x00garbage" * 64)
    (project / "answers.csv").write_text("key,label\n")
    status, err = run(capsys, *base_args(project, store=bad))
    assert status == 2 and "broken.sqlite" in err and "untouched" in err
    assert bad.read_bytes() == b"\x00garbage" * 64


def test_non_utf8_table(project, capsys):
    latin = project / "latin.csv"
    latin.write_bytes(b"id,surname\nr1,M\xfcller\nr2,Meyer\n")
    (project / "answers.csv").write_text("key,label\nx|y,1\n")
    args = base_args(project)
    args[args.index(project / "people.csv")] = latin
    status, err = run(capsys, *args)
    assert status == 2 and "latin.csv" in err and "utf-8" in err


def test_evaluate_with_misspelled_columns(project, capsys):
    preds = project / "preds.csv"
    preds.write_text("prediction,scor\n1,0.9\n0,0.1\n")
    status, err = run(
        capsys,
        "evaluate",
        "--predictions",
        preds,
        "--oracle",
        "file",
        "--labels",
        project / "answers.csv",
        "--output",
        project / "ev",
    )
    assert status == 2 and "score" in err
