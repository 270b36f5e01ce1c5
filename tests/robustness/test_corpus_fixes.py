"""One case for every failure the bad-input corpus (benchmarks/bad_input_corpus.py) found:
each asserts the message (what and where) and that nothing stored changed."""

import json
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from active import LabelStore
from active.oracles import FileOracle
from blocking import load_pairs, make_dirty_records, read_table
from blocking.validation import InputError
from labeling_functions import ABSTAIN, LFError, apply_lfs, labeling_function

cli = pytest.importorskip("active.cli")
LFS_FILE = Path(__file__).resolve().parents[2] / "active" / "demo_lfs.py"


# tables -------------------------------------------------------------------------------------


def test_bare_cr_line_ends_are_read(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"id,name,city\r1,a,x\r2,b,y\r")
    assert read_table(path).to_dict("records") == [
        {"id": "1", "name": "a", "city": "x"}, {"id": "2", "name": "b", "city": "y"}]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n"])
def test_a_bare_cr_inside_an_unquoted_field_stays_in_the_field(tmp_path, newline):
    path = tmp_path / "t.csv"
    path.write_bytes(newline.join([b"id,name,city", b"1,ab\rcd,x", b"2,e,y", b""]))
    table = read_table(path)
    assert table["name"].tolist() == ["ab\rcd", "e"] and table["city"].tolist() == ["x", "y"]


@pytest.mark.parametrize("other, name", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_a_line_in_another_separator_is_refused_naming_it(tmp_path, other, name):
    path = tmp_path / "t.csv"
    path.write_text(f"id,name,city\n1,a,x\n2{other}b{other}y\n3,c,\n")
    with pytest.raises(InputError, match=rf"t.csv: line 3 has 1 field.*header line has 3.*{name}"):
        read_table(path)


def test_a_short_line_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,name,city\n1,a,x\n2,b\n")
    with pytest.raises(InputError, match="line 3 has 2 field.*add the missing fields"):
        read_table(path)


def test_codes_keep_their_leading_zeros_and_numbers_stay_numbers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("id,postcode,phone,price,n,flag\n1,02134,0049301,1.50,3,True\n"
                    "2,10001,0049302,,4,False\n")
    table = read_table(path)
    assert table["postcode"].tolist() == ["02134", "10001"]
    assert table["phone"].tolist() == ["0049301", "0049302"]
    assert table["price"].dtype == float and table["n"].dtype == np.int64
    assert table["flag"].tolist() == ["True", "False"]


def test_a_megabyte_value_beside_empty_last_fields(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(f"id,text,last\n1,{'x' * (1 << 20)},\n2,b,z\n")
    assert len(read_table(path)["text"].iloc[0]) == 1 << 20


def test_boolean_labels_in_a_pairs_file_are_refused(tmp_path):
    table = pd.DataFrame({"id": ["a", "b"], "name": ["x", "y"]})
    path = tmp_path / "pairs.csv"
    path.write_text("ltable_id,rtable_id,label\na,b,True\n")
    with pytest.raises(InputError, match=r"label must be 0 or 1.*'True'"):
        load_pairs(path, table)


# answer files -------------------------------------------------------------------------------


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_answer_files_in_any_separator(tmp_path, sep):
    path = tmp_path / "answers.csv"
    path.write_text(sep.join(["ltable_id", "rtable_id", "label"]) + "\n"
                    + sep.join(["007", " 8", "1"]) + "\n")
    assert {k: a.label for k, a in FileOracle(path).answers.items()} == {"007|8": 1}


@pytest.mark.parametrize("content, message", [
    (b"", "answers.csv: the file is empty"),
    (b"ltable_id,rtable_id,label\n", "holds no answers"),
    (b"ltable_id,rtable_id,label\na,b,1\nc,d,0\na,b,1\n",
     r"'a\|b' more than once \(lines \[2, 4\]"),
    (b"ltable_id;rtable_id;label\xff\n", "not valid utf-8"),
    (b"a;b\n1;2\n", "no 'label' column"),
])
def test_bad_answer_files_name_the_file_and_line(tmp_path, content, message):
    path = tmp_path / "answers.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=message):
        FileOracle(path)


def test_an_answer_folder_is_named_a_folder(tmp_path):
    with pytest.raises(InputError, match="is a folder"):
        FileOracle(tmp_path)


# the command line ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    records, _ = make_dirty_records(n_entities=12, seed=4)
    records.to_csv(root / "people.csv", index=False)
    shutil.copy(LFS_FILE, root / "lfs.py")
    with LabelStore(root / "labels.sqlite") as store:
        store.add("rec-1-org|rec-1-dup-0", 1)
    return root


def run(capsys, *argv):
    status = cli.main([str(a) for a in argv])
    return status, capsys.readouterr().err


def stored(path: Path) -> list:
    with LabelStore(path) as store:
        return store.history().drop(columns="time").values.tolist()


def test_a_label_file_answering_no_candidate_is_refused_before_labelling(project, capsys):
    answers = project / "foreign.csv"
    answers.write_text("ltable_id,rtable_id,label\n0.0,007,1\nx,y,0\n")
    before = stored(project / "labels.sqlite")
    status, err = run(capsys, "run", "--left", project / "people.csv", "--lfs",
                      project / "lfs.py", "--blocking", "sorted", "--block-on", "surname",
                      "--oracle", "file", "--labels", answers, "--store",
                      project / "labels.sqlite", "--output", project / "out", "--budget", "3")
    assert status == 2 and "foreign.csv" in err and "answers none of the" in err
    assert len(err.strip().splitlines()) == 1
    assert stored(project / "labels.sqlite") == before
    assert not (project / "out" / "scored_pairs.csv").exists()


@pytest.mark.parametrize("argv, option", [
    (["demo", "--entities", "0"], "--entities"),
    (["demo", "--budget", "-1"], "--budget"),
    (["demo", "--batch-size", "0"], "--batch-size"),
    (["demo", "--oasis", "-1"], "--oasis"),
    (["demo", "--seed", "-1"], "--seed"),
    (["demo", "--port", "0"], "--port"),
    (["lfs", "--lfs", "LFS", "--entities", "-4"], "--entities"),
    (["--threads", "100000", "lfs", "--lfs", "LFS"], "--threads"),
    (["run", "--left", "x.csv", "--lfs", "LFS", "--port", "70000"], "--port"),
    (["run", "--left", "x.csv", "--lfs", "LFS", "--selector", "nonsense"], "--selector"),
])
def test_nonsense_options_are_refused_naming_the_option(project, capsys, argv, option):
    argv = [str(project / "lfs.py") if a == "LFS" else a for a in argv]
    if argv[0] == "demo":
        argv += ["--output", str(project / "demo")]
    status, err = run(capsys, *argv)
    assert status == 2 and f"error: {option}" in err
    assert not (project / "demo").exists()


def test_a_config_selector_is_checked_before_anything_else(project, capsys):
    config = project / "c.json"
    config.write_text(json.dumps({"selector": "nonsense"}))
    status, err = run(capsys, "run", "--config", config)
    assert status == 2 and "(selector): expected one of" in err and "nonsense" in err


def _evaluate(project, capsys, predictions: str, labels: str, *extra):
    (project / "p.csv").write_text(predictions)
    (project / "l.csv").write_text(labels)
    store = project / "eval.sqlite"
    store.unlink(missing_ok=True)
    status, err = run(capsys, "evaluate", "--predictions", project / "p.csv", "--oracle",
                      "file", "--labels", project / "l.csv", "--output", project / "ev",
                      "--store", store, *extra)
    return status, err, store


@pytest.mark.parametrize("option, value", [("--n", "0"), ("--alpha", "1.5"), ("--alpha", "nan"),
                                           ("--seed", "-5"), ("--hedge-window", "-1")])
def test_evaluate_options_are_named(project, capsys, option, value):
    status, err, store = _evaluate(project, capsys, "ltable_id,rtable_id,prediction,score\n"
                                   "a,b,1,0.9\n", "ltable_id,rtable_id,label\na,b,1\n",
                                   option, value)
    assert status == 2 and f"error: {option}" in err and not store.exists()


def test_evaluate_reads_ids_as_written(project, capsys):
    rows = [(f"{i:03d}", f"{i + 1:03d}", int(i % 3 == 0)) for i in range(12)]
    predictions = "ltable_id,rtable_id,prediction,score\n" + "".join(
        f"{a},{b},{y},{0.9 if y else 0.1}\n" for a, b, y in rows)
    labels = "ltable_id,rtable_id,label\n" + "".join(f"{a},{b},{y}\n" for a, b, y in rows)
    status, err, store = _evaluate(project, capsys, predictions, labels, "--n", "4")
    assert status == 0, err
    with LabelStore(store) as s:
        answers = s.labels("evaluate")
    assert len(answers) == 4 and set(answers) <= {f"{a}|{b}" for a, b, _ in rows}
    assert all(answers[f"{a}|{b}"] == y for a, b, y in rows if f"{a}|{b}" in answers)


def test_evaluate_refuses_scores_outside_0_1(project, capsys):
    status, err, store = _evaluate(project, capsys, "ltable_id,rtable_id,prediction,score\n"
                                   "a,b,1,7\nc,d,0,0.2\n", "ltable_id,rtable_id,label\na,b,1\n")
    assert status == 2 and "'score' must hold scores from 0 to 1" in err and "row 1" in err
    assert not store.exists()


def test_evaluate_names_an_empty_predictions_file(project, capsys):
    status, err, _ = _evaluate(project, capsys, "", "ltable_id,rtable_id,label\na,b,1\n")
    assert status == 2 and "--predictions" in err and "p.csv" in err and "empty" in err


# LFs, selection, model files ----------------------------------------------------------------


@pytest.mark.parametrize("vectorized", [False, True])
def test_an_lf_calling_sys_exit_is_an_lf_error(vectorized):
    @labeling_function(vectorized=vectorized)
    def quits(x):
        raise SystemExit(0)

    @labeling_function()
    def other(x):
        return ABSTAIN

    pairs = pd.DataFrame({"left_name": ["a", "b"], "right_name": ["a", "c"]})
    with pytest.raises(LFError, match=r"LF 'quits' called sys.exit\(0\)"):
        apply_lfs([other, quits], pairs)


def test_kmedoids_on_identical_rows_picks_distinct_positions():
    from active.kmedoids import weighted_kmedoids

    for fixed in (np.arange(0), np.arange(2)):
        chosen, _ = weighted_kmedoids(np.zeros((12, 3)), np.ones(12), fixed=fixed, n_select=4,
                                      seed=0)
        assert len(set(chosen.tolist())) == 4 and not set(chosen.tolist()) & set(fixed.tolist())


def test_a_loop_whose_oracle_skips_everything_ends_without_labels(tmp_path):
    from active.loop import ActiveLoop
    from blocking import demo_dataset
    from blocking.answers import Answer
    from labeling_functions import load_lfs

    class Skips:
        def ask(self, view):
            return Answer.SKIP

    pairs = demo_dataset("synthetic", seed=0, n_entities=6).pairs
    loop = ActiveLoop(pairs, load_lfs(LFS_FILE), oracle=Skips(), batch_size=len(pairs),
                      store=tmp_path / "s.sqlite", seed=0)
    loop.run(len(pairs) + 5)
    assert len(loop.log) == 0 and LabelStore(tmp_path / "s.sqlite").history().empty


def test_a_model_header_pasted_onto_another_pickle_is_refused(tmp_path):
    from blocking.files import load_model, read_header, save_model

    path = tmp_path / "m.bin"
    save_model({"a": 1}, path, kind="Thing")
    assert read_header(path)[0]["class"] == "dict"
    forged = tmp_path / "forged.bin"
    forged.write_bytes(b'RISKWEASUL-MODEL {"kind": "Thing", "format": 1}\n'
                       + pickle.dumps(["not", "a", "Thing"]))
    with pytest.raises(ValueError, match="forged.bin says it holds a Thing but holds a list"):
        load_model(forged, "Thing")


def test_evaluate_refuses_undo_and_stores_one_answer(tmp_path, capsys):
    """Undo stays refused while estimating F1: OASIS has already weighted the answer into its
    sample, so the pair is asked again and only the final answer is stored."""
    from active.cli import EvaluationAsker
    from blocking.answers import Answer

    class UndoFirst:
        calls = 0

        def ask(self, view):
            self.calls += 1
            return Answer.UNDO if self.calls == 1 else Answer.MATCH

    frame = pd.DataFrame({"ltable_id": ["a", "c"], "rtable_id": ["b", "d"],
                          "prediction": [1, 0], "score": [0.9, 0.1]})
    with LabelStore(tmp_path / "s.sqlite") as store:
        assert EvaluationAsker(UndoFirst(), store, frame)(0) is Answer.MATCH
        assert store.history("evaluate")[["pair_key", "kind", "label"]].values.tolist() == [
            ["a|b", "label", 1]]
    assert "undo is not available while estimating F1" in capsys.readouterr().err


def test_a_store_with_no_answer_about_these_pairs_is_refused(project, capsys, tmp_path):
    store = tmp_path / "other.sqlite"
    with LabelStore(store) as s:
        s.add("x-1|x-2", 1)
        s.add("x-3|x-4", 0)
    before = stored(store)
    answers = tmp_path / "answers.csv"
    ids = read_table(project / "people.csv")["id"].tolist()
    answers.write_text("key,label\n" + "".join(f"{a}|{b},0\n" for a in ids for b in ids
                                               if a != b))
    status, err = run(capsys, "run", "--left", project / "people.csv", "--lfs",
                      project / "lfs.py", "--blocking", "sorted", "--block-on", "surname",
                      "--oracle", "file", "--labels", answers, "--store", store, "--output",
                      tmp_path / "out", "--budget", "3")
    assert status == 2 and "other.sqlite" in err and "holds 2 answers, none about these" in err
    assert stored(store) == before and not (tmp_path / "out" / "scored_pairs.csv").exists()


def test_dedup_answers_in_the_other_order_answer_the_candidate(tmp_path):
    path = tmp_path / "answers.csv"
    path.write_text("ltable_id,rtable_id,label\nb,a,1\nd,c,0\nc,d,0\nx,y,1\n")
    oracle = FileOracle(path)
    cli._answer_either_order(oracle, np.array(["a|b", "c|d"]))
    assert {k: a.label for k, a in oracle.answers.items()} == {
        "a|b": 1, "c|d": 0, "d|c": 0, "x|y": 1}
    assert oracle.unknown_keys(["a|b", "c|d"]) == ["d|c", "x|y"]


@pytest.mark.parametrize("rows, message", [
    ("a,a\nb,c\n", r"record 'a' is paired with itself on line\(s\) \[2\]"),
    ("a,b\nc,a\nb,a\n", r"pair \('a', 'b'\) is given in both orders on line\(s\) \[2, 4\]"),
])
def test_a_dedup_pairs_file_names_self_pairs_and_reversed_pairs(tmp_path, rows, message):
    table = pd.DataFrame({"id": ["a", "b", "c"], "name": ["x", "y", "z"]})
    path = tmp_path / "pairs.csv"
    path.write_text("ltable_id,rtable_id\n" + rows)
    with pytest.raises(InputError, match=message):
        load_pairs(path, table)
    assert len(load_pairs(path, table, table)) == len(rows.splitlines())  # linkage: both fine


def test_a_dedup_pairs_file_with_an_exact_repeat_only_warns(tmp_path):
    table = pd.DataFrame({"id": ["a", "b"], "name": ["x", "y"]})
    path = tmp_path / "pairs.csv"
    path.write_text("ltable_id,rtable_id\na,b\na,b\n")
    with pytest.warns(UserWarning, match="repeated pair"):
        assert len(load_pairs(path, table, drop_duplicates=True)) == 1


def test_a_bare_cr_in_an_unquoted_field_of_a_file_with_quotes_is_refused(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'id,name,city\n1,ab\rcd,x\n2,"e\r\nf",y\n')
    with pytest.raises(InputError, match=r"t.csv: line 2 holds a carriage return"):
        read_table(path)
    path.write_bytes(b'id,name,city\r\n1,"ab\r\ncd\r",x\r\n2,e,y\r\n')  # quoted: kept exactly
    assert read_table(path)["name"].tolist() == ["ab\r\ncd\r", "e"]


def test_ids_holding_the_key_separator_are_refused_not_confused():
    from blocking.pairs import pair_keys

    # ('a|b', 'c') and ('a', 'b|c') would both be the key 'a|b|c': an answer for one would
    # land on the other
    pairs = pd.DataFrame({"ltable_id": ["a"], "rtable_id": ["b|c"],
                          "left_name": ["x"], "right_name": ["x"]})
    with pytest.raises(ValueError, match=r"rtable_id 'b\|c' contains '\|'"):
        pair_keys(pairs)
    assert list(pair_keys(pairs.assign(rtable_id="b/c"))) == ["a|b/c"]
