"""Reading tables and pairs: round trips and one clear error per kind of bad input."""

import pandas as pd
import pytest

from blocking import join_pairs, load_exp_data, load_pairs, read_table


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def test_read_csv_keeps_every_row_and_missing_values(tmp_path):
    path = write(tmp_path / "a.csv", "id,name,year\n1,ann,1999\n2,,2001\n3,bob,\n")
    df = read_table(path)
    assert df["id"].tolist() == ["1", "2", "3"]  # ids are text, spelt as written
    assert df["name"].isna().tolist() == [False, True, False]
    assert df["year"].isna().sum() == 1


def test_read_parquet_round_trip(tmp_path):
    df = pd.DataFrame({"key": ["a", "b"], "title": ["x y", None]})
    df.to_parquet(tmp_path / "t.parquet")
    back = read_table(tmp_path / "t.parquet", id_column="key")
    pd.testing.assert_frame_equal(back, df)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "empty"),
        ("id,name\n", "no records"),
        ("Id,name\n1,a\n", "did you mean 'Id'"),
        ("id,name\n1,a\n2,b\n1,c\n", "'1' on line(s) [2, 4]"),
        ("id,name\n1,a\n,b\n", "line(s) [3]"),
        ('id,name\n1,a\n2,b,c,d\n"', "line 3 has 4 fields where the header line has 2"),
    ],
)
def test_read_table_bad_input_names_file_and_fix(tmp_path, content, message):
    path = write(tmp_path / "bad.csv", content)
    with pytest.raises(ValueError) as err:
        read_table(path)
    assert message in str(err.value)
    assert "bad.csv" in str(err.value)


def test_read_table_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(ValueError, match="unknown table format '.xlsx'"):
        read_table(write(tmp_path / "t.xlsx", "id\n1\n"))


def test_non_utf8_bytes_report_the_line(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("id,name\n1,ann\n2,caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"line 3 .*not valid utf-8.*encoding='latin-1'"):
        read_table(path)
    assert read_table(path, encoding="latin-1")["name"].tolist() == ["ann", "café"]


@pytest.fixture
def exp_folder(tmp_path):
    write(tmp_path / "tableA.csv", "id,title,year\n10,alpha beta,2000\n11,gamma,2001\n")
    write(tmp_path / "tableB.csv", "id,title,year\n20,alpha  beta,2000\n21,delta,1999\n")
    write(tmp_path / "train.csv", "ltable_id,rtable_id,label\n10,20,1\n11,21,0\n")
    write(tmp_path / "valid.csv", "ltable_id,rtable_id,label\n10,21,0\n")
    write(tmp_path / "test.csv", "ltable_id,rtable_id,label\n11,20,0\n")
    return tmp_path


def test_load_exp_data_flattens_splits(exp_folder):
    splits = load_exp_data(exp_folder)
    assert set(splits) == {"train", "valid", "test"}
    train = splits["train"]
    assert train.columns.tolist() == [
        "ltable_id", "rtable_id", "left_title", "left_year", "right_title", "right_year", "label",
    ]  # fmt: skip
    assert train["label"].tolist() == [1, 0]
    assert train["right_title"].tolist() == ["alpha  beta", "delta"]
    assert splits["test"]["left_title"].tolist() == ["gamma"]


def test_load_pairs_errors(exp_folder):
    A, B = read_table(exp_folder / "tableA.csv"), read_table(exp_folder / "tableB.csv")
    with pytest.raises(ValueError, match="pass the tables A"):
        load_pairs(exp_folder / "train.csv")
    write(exp_folder / "unknown.csv", "ltable_id,rtable_id,label\n10,99,1\n")
    with pytest.raises(ValueError, match=r"rtable_id value\(s\) are not ids of table B.*99"):
        load_pairs(exp_folder / "unknown.csv", A, B)
    write(exp_folder / "badlabel.csv", "ltable_id,rtable_id,label\n10,20,2\n")
    with pytest.raises(ValueError, match=r"label must be 0 or 1.*line\(s\) \[2\]"):
        load_pairs(exp_folder / "badlabel.csv", A, B)
    with pytest.raises(FileNotFoundError, match="no folder"):
        load_exp_data(exp_folder / "missing")


def test_load_pairs_reads_flattened_file(exp_folder):
    flat = load_exp_data(exp_folder)["train"]
    flat.to_csv(exp_folder / "flat.csv", index=False)
    back = load_pairs(exp_folder / "flat.csv")
    assert back["left_title"].tolist() == flat["left_title"].tolist()


def test_join_pairs_labels_dedup_pairs_in_either_order():
    records = pd.DataFrame({"id": ["a", "b", "c"], "name": ["x", "y", "z"]})
    cands = pd.DataFrame({"ltable_id": ["a", "a", "b"], "rtable_id": ["b", "c", "c"]})
    matches = pd.DataFrame({"ltable_id": ["c"], "rtable_id": ["a"]})
    pairs = join_pairs(cands, records, matches=matches)
    assert pairs["label"].tolist() == [0, 1, 0]
    assert pairs["left_name"].tolist() == ["x", "x", "y"]
    assert pairs["right_name"].tolist() == ["y", "z", "z"]
    with pytest.raises(ValueError, match="same attributes"):
        join_pairs(cands, records, records.rename(columns={"name": "title"}))
