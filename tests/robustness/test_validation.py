"""Option and config checks: nonsense numbers are refused (never replaced), each error names the
option or the file, line and column, and says what to give instead."""

import json

import numpy as np
import pytest

from blocking.validation import (
    InputError,
    boolean,
    check_options,
    input_file,
    non_negative,
    one_of,
    output_folder,
    positive_int,
    read_config,
    seed,
    text,
    thread_count,
)

CHECKS = {
    "k": positive_int,
    "budget": positive_int,
    "batch_size": positive_int,
    "seed": seed,
    "threads": thread_count,
    "calibrate": boolean,
    "store": text,
    "selector": one_of("random", "entropy", "hybrid"),
}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, r"--k: expected a positive whole number .*got 0; give 1 or more"),
        (-3, r"--k: .*got -3"),
        (2.5, r"--k: .*got 2.5, which is not a whole number"),
        (2.0, r"--k: .*got 2.0, which is not a whole number"),
        ("2.5", r"--k: .*got '2.5', which is not a whole number"),
        (True, r"--k: .*got the boolean true"),
        (np.bool_(False), r"--k: .*got the boolean false"),
        ("five", r"--k: .*got 'five'"),
        (None, r"--k: .*got None"),
    ],
)
def test_positive_int_refuses_nonsense(value, message):
    with pytest.raises(InputError, match=message):
        positive_int(value, "--k")


def test_positive_int_accepts_whole_numbers_and_their_text():
    assert positive_int(3, "--k") == 3
    assert positive_int(np.int64(7), "--k") == 7
    assert positive_int(" 12 ", "--k") == 12


def test_non_negative_refuses_negative_and_non_finite_numbers():
    assert non_negative(0, "--misfit") == 0.0 and non_negative(2.5, "--misfit") == 2.5
    for bad in (-0.5, float("nan"), float("inf")):
        with pytest.raises(InputError, match=rf"--misfit: expected a finite .* got {bad}"):
            non_negative(bad, "--misfit")
    with pytest.raises(InputError, match=r"--misfit: expected a number >= 0, got true"):
        non_negative(True, "--misfit")


def test_seed_and_threads():
    assert seed(0) == 0 and seed("42") == 42
    with pytest.raises(InputError, match=r"--seed: the seed must be a whole number from 0 to"):
        seed(-5)
    with pytest.raises(InputError, match="--seed"):
        seed(2**40)
    with pytest.raises(InputError, match=r"--seed: .*boolean"):
        seed(False)
    assert thread_count(4) == 4
    for bad in (0, -3):
        with pytest.raises(InputError, match=rf"--threads: expected a number of thr.*got {bad}"):
            thread_count(bad)


def test_boolean_text_and_choices():
    assert boolean(True, "--calibrate") is True
    with pytest.raises(InputError, match=r"--calibrate: expected true or false, got 1"):
        boolean(1, "--calibrate")
    with pytest.raises(InputError, match="--store: expected a non-empty text"):
        text("  ", "--store")
    with pytest.raises(InputError, match=r"--selector: .*got 'hybird'; did you mean 'hybrid'"):
        one_of("random", "hybrid")("hybird", "--selector")


def test_check_options_refuses_two_spellings_and_unknown_names():
    with pytest.raises(InputError, match=r"'batch_size' is given twice, as 'batch-size' and"):
        check_options({"batch-size": 5, "batch_size": 7}, CHECKS)
    with pytest.raises(InputError, match=r"unknown option 'budgt'; did you mean 'budget'"):
        check_options({"budgt": 5}, CHECKS)
    assert check_options({"batch-size": "5", "seed": None}, CHECKS) == {"batch_size": 5}


def test_toml_config_errors_name_line_and_column(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('store = "labels.sqlite"\n  budget = true\n')
    with pytest.raises(InputError, match=r"run.toml, line 2, column 3 \(budget\): .*boolean true"):
        read_config(path, CHECKS)
    path.write_text("batch-size = 5\nbatch_size = 6\n")
    with pytest.raises(InputError, match=r"run.toml, line 2, column 1 \(batch_size\): .*twice"):
        read_config(path, CHECKS)
    path.write_text("k = 0\n")
    with pytest.raises(InputError, match=r"run.toml, line 1, column 1 \(k\): .*got 0"):
        read_config(path, CHECKS)
    path.write_text("k = 3\nbudget == 5\n")
    with pytest.raises(InputError, match=r"run.toml: not valid TOML: .*line 2"):
        read_config(path, CHECKS)
    path.write_text('k = 3\nselector = "entropy"\n')
    assert read_config(path, CHECKS) == {"k": 3, "selector": "entropy"}


def test_json_config_errors(tmp_path):
    path = tmp_path / "run.json"
    path.write_text('{\n "budget": 5,\n "budget": 0\n}\n')
    with pytest.raises(InputError, match=r"the key 'budget' appears twice \(lines \[2, 3\]\)"):
        read_config(path, CHECKS)
    path.write_text('{\n "threads": 0\n}')
    with pytest.raises(InputError, match=r"run.json, line 2, column 2 \(threads\): .*got 0"):
        read_config(path, CHECKS)
    path.write_text('{"k": 3,}')
    with pytest.raises(InputError, match=r"run.json, line 1, column 9: not valid JSON"):
        read_config(path, CHECKS)
    path.write_text(json.dumps([1, 2]))
    with pytest.raises(InputError, match="expected a table of options"):
        read_config(path, CHECKS)
    with pytest.raises(FileNotFoundError, match="no such config file"):
        read_config(tmp_path / "nope.toml", CHECKS)
    with pytest.raises(IsADirectoryError, match="is a folder"):
        read_config(tmp_path, CHECKS)


def test_input_files_and_output_folders(tmp_path):
    table = tmp_path / "a.csv"
    table.write_text("id\n1\n")
    assert input_file(str(table), "--left", (".csv", ".parquet")) == table
    with pytest.raises(FileNotFoundError, match=r"--left: no such file .*nope.csv"):
        input_file(tmp_path / "nope.csv", "--left")
    with pytest.raises(IsADirectoryError, match="--left: .* is a folder"):
        input_file(str(tmp_path), "--left")
    with pytest.raises(InputError, match=r"--lfs: .*a.csv' is not a .py file"):
        input_file(str(table), "--lfs", (".py",))
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(InputError, match=r"--left: .*empty.csv' is empty \(0 bytes\)"):
        input_file(str(tmp_path / "empty.csv"), "--left")
    assert output_folder(str(tmp_path / "new" / "out"), "--output") == tmp_path / "new" / "out"
    with pytest.raises(InputError, match="--output: .*a.csv' exists and is a file, not a folder"):
        output_folder(str(table), "--output")
