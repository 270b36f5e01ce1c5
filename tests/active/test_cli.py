"""The command line: config validation, the LF summary, run with a file oracle, and an OASIS
evaluation whose answers are stored and reused on a rerun."""

import json

import numpy as np
import pandas as pd
import pytest

from active.cli import main
from active.store import LabelStore

LFS_FILE = '''
from labeling_functions import similarity_below, values_equal
lfs = [
    values_equal("soc_sec_id", name="same_ssn"),
    similarity_below("surname", 0.6, metric="jaro_winkler", name="surname_differs"),
    similarity_below("date_of_birth", 0.6, metric="levenshtein", name="dob_differs"),
]
'''


def test_config_with_unknown_key_is_a_clear_error(tmp_path, capsys):
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"left": "a.csv", "budgett": 10}))
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown key(s) budgett" in err and "budget" in err
    toml = tmp_path / "run.toml"
    toml.write_text('budget = "ten"\n')
    assert main(["run", "--config", str(toml)]) == 2
    assert "budget must be a int" in capsys.readouterr().err


def test_lfs_summary(tmp_path, pool, capsys):
    lfs = tmp_path / "lfs.py"
    lfs.write_text(LFS_FILE)
    pairs = tmp_path / "pairs.csv"
    pool.to_csv(pairs, index=False)
    assert main(["lfs", "--lfs", str(lfs), "--pairs", str(pairs)]) == 0
    out = capsys.readouterr().out
    assert "same_ssn" in out and "surname_differs" in out and f"{len(pool)} pairs" in out


def test_run_with_file_oracle_writes_outputs_and_resumes(tmp_path, pool, capsys):
    from blocking import demo_dataset

    records = demo_dataset("synthetic", seed=3, n_entities=35).records
    table = tmp_path / "people.csv"
    records.to_csv(table, index=False)
    (tmp_path / "lfs.py").write_text(LFS_FILE)
    labels = tmp_path / "labels.csv"
    pool[["ltable_id", "rtable_id", "label"]].to_csv(labels, index=False)
    config = tmp_path / "run.toml"
    config.write_text(f'left = "{table}"\nlfs = "{tmp_path / "lfs.py"}"\nblocking = "person"\n'
                      f'oracle = "file"\nlabels = "{labels}"\nmatcher = "fast"\n'
                      f'batch_size = 5\noutput = "{tmp_path / "out"}"\n')
    assert main(["run", "--config", str(config), "--budget", "5"]) == 0
    out = tmp_path / "out"
    for name in ("scored_pairs.csv", "matches.csv", "clusters.csv", "labels.csv",
                 "learning_curve.png", "label_model_vs_matcher.png", "bucket_kl.png"):
        assert (out / name).stat().st_size > 0, name
    scored = pd.read_csv(out / "scored_pairs.csv")
    assert scored["score"].between(0, 1).all() and scored["expert_label"].notna().sum() == 5
    clusters = pd.read_csv(out / "clusters.csv")
    assert set(clusters["record_id"]) <= set(records["id"])
    assert main(["run", "--config", str(config), "--budget", "10"]) == 0  # resumes: 5 more
    assert len(LabelStore(out / "labels.sqlite")) == 10
    capsys.readouterr()
    assert main(["run", "--config", str(config), "--budget", "10", "--calibrate"]) == 0
    assert "at threshold 0.50" in capsys.readouterr().out  # 10 labels: too few to move the cut


def test_evaluate_stores_answers_and_resumes(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 300
    truth = (rng.random(n) < 0.3).astype(int)
    scores = np.clip(truth * 0.6 + rng.random(n) * 0.5, 0, 1)
    frame = pd.DataFrame({"ltable_id": np.arange(n), "rtable_id": np.arange(n) + 1000,
                          "prediction": (scores > 0.5).astype(int), "score": scores})
    predictions = tmp_path / "predictions.csv"
    frame.to_csv(predictions, index=False)
    labels = tmp_path / "labels.csv"
    frame.assign(label=truth)[["ltable_id", "rtable_id", "label"]].to_csv(labels, index=False)
    args = ["evaluate", "--predictions", str(predictions), "--oracle", "file", "--labels",
            str(labels), "--n", "40", "--output", str(tmp_path / "ev")]
    assert main(args) == 0
    assert "(40 new)" in capsys.readouterr().out
    store = LabelStore(tmp_path / "ev" / "labels.sqlite")
    assert len(store.labels("evaluate")) == 40 and len(store) == 0
    store.close()
    assert main(args) == 0  # same seed: the same draws, answered from the store
    assert "(0 new)" in capsys.readouterr().out
    assert (tmp_path / "ev" / "oasis_estimate.png").exists()


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    assert main(["lfs", "--lfs", str(tmp_path / "missing.py")]) == 2
    assert "missing.py" in capsys.readouterr().err
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not sqlite" * 20)
    predictions = tmp_path / "p.csv"
    pd.DataFrame({"ltable_id": [1], "rtable_id": [2], "prediction": [1], "score": [0.9]}).to_csv(
        predictions, index=False)
    labels = tmp_path / "labels.csv"
    labels.write_text("ltable_id,rtable_id,label\n1,2,1\n")
    assert main(["evaluate", "--predictions", str(predictions), "--oracle", "file", "--labels",
                 str(labels), "--store", str(junk)]) == 2
    assert "not an SQLite database" in capsys.readouterr().err
    assert junk.read_bytes() == b"not sqlite" * 20


@pytest.mark.parametrize("argv", [["--help"], ["demo", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 0 and "riskweasul" in capsys.readouterr().out
