"""The command line: config validation, the LF summary, run with a file oracle, and an OASIS
evaluation whose answers are stored and reused on a rerun."""

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from active.cli import RUN_DEFAULTS, Progress, _oasis_line, build_parser, main
from active.store import LabelStore

ROOT = Path(__file__).resolve().parents[2]

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
    assert "unknown option 'budgett'" in err and "did you mean 'budget'" in err
    toml = tmp_path / "run.toml"
    toml.write_text('budget = "ten"\n')
    assert main(["run", "--config", str(toml)]) == 2
    assert "(budget): expected a whole number" in capsys.readouterr().err


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


def test_evaluate_passes_the_sampler_options_through(tmp_path, capsys, monkeypatch):
    import evaluation

    seen = []

    class Recording(evaluation.OASISSampler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            seen.append((self.hedge_window, self.estimator, self.strata.n_strata,
                         self.allocation, self.misfit, self.tail_slope))

    monkeypatch.setattr(evaluation, "OASISSampler", Recording)
    frame = pd.DataFrame({"ltable_id": np.arange(50), "rtable_id": np.arange(50) + 100,
                          "prediction": np.arange(50) % 2, "score": np.linspace(0, 1, 50)})
    frame.to_csv(tmp_path / "p.csv", index=False)
    frame.assign(label=frame["prediction"])[["ltable_id", "rtable_id", "label"]].to_csv(
        tmp_path / "l.csv", index=False)
    base = ["evaluate", "--predictions", str(tmp_path / "p.csv"), "--oracle", "file", "--labels",
            str(tmp_path / "l.csv"), "--n", "10"]
    assert main([*base, "--output", str(tmp_path / "a")]) == 0
    assert main([*base, "--output", str(tmp_path / "b"), "--hedge-window", "4"]) == 0
    assert main([*base, "--output", str(tmp_path / "c"), "--estimator", "poststratified",
                 "--strata", "fine"]) == 0
    assert main([*base, "--output", str(tmp_path / "d"), "--allocation", "variance",
                 "--strata", "finest", "--misfit", "0", "--tail-slope", "0"]) == 0
    fine = evaluation.stratify(frame["score"].to_numpy(), frame["prediction"].to_numpy(), "fine")
    auto = seen[0][2]
    assert seen == [(0, "stratified", auto, "neyman", 1.0, 1.0),
                    (4, "stratified", auto, "neyman", 1.0, 1.0),
                    (0, "poststratified", fine.n_strata, "neyman", 1.0, 1.0),
                    (0, "stratified", max(auto, fine.n_strata), "variance", 0.0, 0.0)]
    assert auto != fine.n_strata


@pytest.mark.parametrize("option", ["--estimator", "--strata", "--allocation"])
def test_evaluate_refuses_an_unknown_choice(option, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["evaluate", "--predictions", "p.csv", option, "mean"])
    assert exit_.value.code == 2 and f"argument {option}: invalid choice" in capsys.readouterr().err


def test_evaluate_choices_are_the_samplers():
    from active.cli import EVALUATE_ALLOCATIONS, EVALUATE_ESTIMATORS, EVALUATE_STRATA
    from evaluation.oasis import ALLOCATIONS, ESTIMATORS
    from evaluation.strata import STRATIFICATIONS

    assert EVALUATE_ESTIMATORS == ESTIMATORS and EVALUATE_STRATA == STRATIFICATIONS
    assert EVALUATE_ALLOCATIONS == ALLOCATIONS


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


def _subparsers():
    parser = build_parser()
    return next(a for a in parser._actions if a.choices and "run" in a.choices).choices


@pytest.mark.parametrize("command", ["demo", "run", "score", "lfs", "evaluate"])
def test_every_help_shows_the_defaults_the_code_uses(command, capsys):
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps lines
    for action in _subparsers()[command]._actions:
        if action.default not in (None, False, "==SUPPRESS==") and action.option_strings:
            assert f"(default: {action.default})" in text, action.option_strings
    if command == "run":  # run's defaults live in RUN_DEFAULTS (argparse's stay None)
        for key, value in RUN_DEFAULTS.items():
            flag = "--" + key.replace("_", "-")
            assert flag in text and f"(default: {value})" in text.split(flag, 2)[-1], key


def test_progress_repeats_a_line_while_a_stage_runs():
    from rich.console import Console

    buffer = io.StringIO()
    progress = Progress(Console(file=buffer, width=200, log_path=False), heartbeat=0.05)
    with progress.stage("fitting the models"):
        time.sleep(0.4)
    progress.close()
    lines = buffer.getvalue().splitlines()
    assert lines[0].split("]", 1)[1].strip() == "fitting the models"  # after the timestamp
    assert sum("still fitting the models" in line for line in lines) >= 2
    assert "fitting the models: done in 0 s" in lines[-1]


def test_progress_says_where_the_labelling_stands():
    from types import SimpleNamespace

    from rich.console import Console

    buffer = io.StringIO()
    progress = Progress(Console(file=buffer, width=300, log_path=False), budget=100)
    progress.loop = SimpleNamespace(log=[0] * 20, history=[])
    progress("fitting the models on 20 labels")
    time.sleep(0.05)
    progress.loop.log = [0] * 30
    progress.loop.history = [{"t_label_model": 1.0, "t_matcher": 2.5, "t_risk": 0.5,
                              "f1_estimate": 0.81, "f1_low": 0.74, "f1_high": 0.88}]
    progress("fitting the models on 30 labels")
    first, second = (line.rstrip() for line in buffer.getvalue().splitlines())
    assert first.endswith("| 20 of 100 labels")
    assert "30 of 100 labels, last fit 4.0 s, estimated F1 0.81 (0.74-0.88), about" in second
    assert second.endswith(" left")  # 10 labels gained: 70 more take about 7 times as long


def test_run_model_scores_identically_in_a_fresh_process(tmp_path, capsys):
    from blocking import demo_dataset

    data = demo_dataset("synthetic", seed=0, n_entities=60)
    table = tmp_path / "people.csv"
    data.records.to_csv(table, index=False)
    (tmp_path / "lfs.py").write_text(LFS_FILE)
    labels = tmp_path / "labels.csv"
    data.pairs[["ltable_id", "rtable_id", "label"]].to_csv(labels, index=False)
    out = tmp_path / "out"
    assert main(["run", "--left", str(table), "--lfs", str(tmp_path / "lfs.py"), "--blocking",
                 "person", "--oracle", "file", "--labels", str(labels), "--budget", "5",
                 "--batch-size", "5", "--output", str(out)]) == 0
    log = capsys.readouterr().out
    for stage in ("blocking", "applying 3 LFs", "of 5 labels", "last fit", "writing the "
                  "outputs", "riskweasul score --model"):
        assert stage in log, stage
    run = pd.read_csv(out / "scored_pairs.csv")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    scores = tmp_path / "scores.csv"
    done = subprocess.run(
        [sys.executable, "-m", "active.cli", "score", "--model", str(out / "model.riskweasul"),
         "--left", str(table), "--output", str(scores)],  # blocked again as the run did
        env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    again = run.merge(pd.read_csv(scores), on=["ltable_id", "rtable_id"],
                      suffixes=("", "_again"))
    assert len(again) == len(run) == len(data.pairs)
    assert np.abs(again["score"] - again["score_again"]).max() <= 1e-9
    assert (again["prediction"] == again["prediction_again"]).all()
    pairs = tmp_path / "pairs.csv"
    run[["ltable_id", "rtable_id"]].iloc[::3].to_csv(pairs, index=False)
    assert main(["score", "--model", str(out / "model.riskweasul"), "--left", str(table),
                 "--pairs", str(pairs), "--lfs", str(tmp_path / "lfs.py"), "--output",
                 str(scores)]) == 0
    some = pd.read_csv(scores)
    np.testing.assert_allclose(some["score"], run["score"].iloc[::3], rtol=0, atol=1e-9)
    assert some["lm_score"].between(0, 1).all()


def test_score_refuses_a_missing_table_or_a_file_of_another_kind(tmp_path, capsys):
    not_a_model = tmp_path / "model.riskweasul"
    not_a_model.write_text("hello")
    assert main(["score", "--model", str(not_a_model), "--pairs", "p.csv"]) == 2
    assert "score needs --left" in capsys.readouterr().err
    assert main(["score", "--model", str(not_a_model), "--left", "a.csv"]) == 2
    assert "not a riskweasul model file" in capsys.readouterr().err
    from active.model import KIND, RunModel
    from blocking.files import save_model

    given_pairs = tmp_path / "given_pairs.riskweasul"  # a run that read a pairs file
    save_model(RunModel(matcher=None, threshold=0.5, attributes=("name",),
                        options={"blocking": None}), given_pairs, kind=KIND)
    assert main(["score", "--model", str(given_pairs), "--left", "a.csv"]) == 2
    assert "no blocking to repeat" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--max-cluster", "1"], "--max-cluster must be 'auto', 'none' or an integer >= 2"),
    (["--one-to-one"], "--one-to-one needs two tables"),
])
def test_bad_cluster_options_are_one_line_errors(tmp_path, capsys, extra, message):
    assert main(["run", "--left", "a.csv", "--lfs", "lfs.py", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_embedding_blocking_without_the_lm_extra_says_how_to_install_it(tmp_path, capsys,
                                                                         monkeypatch):
    import blocking.language_model as lm

    monkeypatch.setattr(lm, "lm_available", lambda: False)
    table = tmp_path / "t.csv"
    pd.DataFrame({"id": [1, 2], "name": ["a b", "a c"]}).to_csv(table, index=False)
    (tmp_path / "lfs.py").write_text(LFS_FILE)
    assert main(["run", "--left", str(table), "--lfs", str(tmp_path / "lfs.py"), "--blocking",
                 "tfidf+embedding", "--block-on", "name", "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "riskweasul[lm]" in err and len(err.strip().splitlines()) == 1


def test_tfidf_blocking_without_block_on_names_the_tables_columns(tmp_path, capsys):
    table = tmp_path / "t.csv"
    pd.DataFrame({"id": [1, 2], "name": ["a b", "a c"], "city": ["x", "y"]}).to_csv(
        table, index=False)
    (tmp_path / "lfs.py").write_text(LFS_FILE)
    assert main(["run", "--left", str(table), "--lfs", str(tmp_path / "lfs.py"), "--output",
                 str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "needs --block-on" in err and "e.g. --block-on name (the table has name, city)" in err
    assert len(err.strip().splitlines()) == 1


def test_final_matcher_line_names_the_comparison_and_why():
    from active.cli import _final_line

    held = pd.DataFrame({"position": [1, 2, 3], "label": [1, 0, 1]})
    line = _final_line({"final_f1": 0.8, "in_loop_f1": 0.9, "held_out": held,
                        "chosen": "in_loop", "why": "higher in 12% of bootstrap resamples"})
    assert "0.800 vs in-loop 0.900 on 3 expert labels" in line
    assert "in-loop matcher: higher in 12%" in line
    assert _final_line({"why": "too few"}) == "final matcher not used: too few"


def test_the_demo_says_when_its_oasis_interval_misses_the_truth():
    inside = _oasis_line(200, 0.95, 0.93, 0.97, 0.94)
    assert inside == ("OASIS F1 estimate from 200 labels: 0.950 (95% interval 0.9300-0.9700); "
                      "true pool F1 0.940")
    missed = _oasis_line(200, 0.987, 0.9753, 0.998, 0.94)
    assert missed.startswith("OASIS F1 estimate from 200 labels: 0.987")
    assert "misses the true F1" in missed and "Known limits" in missed


def test_summary_says_how_many_asked_pairs_the_label_file_could_not_answer(tmp_path):
    from types import SimpleNamespace

    from rich.console import Console

    from active.cli import _print_summary
    from active.oracles import FileOracle

    labels = tmp_path / "labels.csv"
    labels.write_text("ltable_id,rtable_id,label\n1,10,1\n")
    oracle = FileOracle(labels)
    oracle.unanswered |= {"2|20", "3|30"}
    loop = SimpleNamespace(oracle=oracle, final=None, f1_estimate=lambda: None,
                           predict=lambda: np.zeros(3), threshold=0.5)
    console = Console(record=True, width=200)
    _print_summary(console, loop, {})
    text = console.export_text()
    assert "the label file has no answer for 2 of the pairs the loop asked about" in text
    assert "(e.g. '2|20')" in text
    oracle.unanswered.clear()
    console = Console(record=True, width=200)
    _print_summary(console, loop, {})
    assert "no answer" not in console.export_text()
