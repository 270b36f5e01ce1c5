"""Bad or unusual record tables and pairs files: read correctly (ids keep their spelling, other
separators, encodings, huge values, any script) or refused with the file, place and fix named."""

import warnings

import pandas as pd
import pytest

from blocking import load_pairs, read_table
from blocking.validation import InputError


def write(path, text: str, encoding: str = "utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_other_separators_are_detected(tmp_path, sep):
    path = write(tmp_path / "t.csv", f"id{sep}name\n1{sep}Smith, John\n2{sep}Ann\n")
    df = read_table(path)
    assert df.columns.tolist() == ["id", "name"]
    assert df["name"].tolist() == ["Smith, John", "Ann"]


def test_a_wrong_separator_is_named_with_the_fix(tmp_path):
    path = write(tmp_path / "t.csv", "id;name\n1;Smith\n")
    with pytest.raises(InputError, match=r"t.csv: no id column 'id' .*semicolon.*pass sep=';'"):
        read_table(path, sep=",")
    mixed = write(tmp_path / "m.csv", "id;name,x\n1;a,b\n2;c,d,e\n")
    with pytest.raises(
        InputError, match=r"m.csv: line 3 has 3 fields where the header line has 2 .*comma.*sep=';'"
    ):
        read_table(mixed, id_column="id;name")


def test_a_folder_empty_files_and_header_only(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a folder; give the path of a table file"):
        read_table(tmp_path)
    with pytest.raises(InputError, match=r"empty.csv: the file is empty \(0 bytes\)"):
        read_table(write(tmp_path / "empty.csv", ""))
    with pytest.raises(InputError, match="blank.csv: the file is empty"):
        read_table(write(tmp_path / "blank.csv", "\n\n"))
    with pytest.raises(InputError, match="head.csv: the table has no records"):
        read_table(write(tmp_path / "head.csv", "id,name\n"))


def test_repeated_ids_and_column_names_are_named(tmp_path):
    path = write(tmp_path / "t.csv", "id,name\n7,a\nx,b\n7,c\nx,d\n")
    with pytest.raises(
        InputError, match=r"2 repeated id\(s\) .*'7' on line\(s\) \[2, 4\]; 'x' on line"
    ):
        read_table(path)
    with pytest.raises(InputError, match=r"column name\(s\) \['name'\] appear more than once"):
        read_table(write(tmp_path / "c.csv", "id,name,name\n1,a,b\n"))


def test_ids_keep_their_spelling(tmp_path):
    path = write(tmp_path / "t.csv", "id,zip\n00117,00117\n0.0,1\nNA,2\n117,3\n")
    df = read_table(path)
    assert df["id"].tolist() == ["00117", "0.0", "NA", "117"]
    assert len(set(df["id"])) == 4  # '00117' and '117' stay two records


def test_pair_ids_must_match_as_written(tmp_path):
    A = pd.DataFrame({"id": [117, 0, 5], "name": ["a", "b", "c"]})
    before = A.copy()
    write(tmp_path / "p.csv", "ltable_id,rtable_id,label\n117,5,1\n00117,0.0,0\n")
    with pytest.raises(
        InputError, match=r"p.csv: 1 ltable_id .*\['00117'\] on line\(s\) \[3\] \(did you mean "
        r"'00117' -> '117'\?\)"
    ):
        load_pairs(tmp_path / "p.csv", A)
    write(tmp_path / "q.csv", "ltable_id,rtable_id,label\n117,0.0,1\n")
    with pytest.raises(InputError, match=r"rtable_id .*'0.0' -> '0'"):
        load_pairs(tmp_path / "q.csv", A)
    write(tmp_path / "ok.csv", "ltable_id,rtable_id,label\n117,5,1\n0,117,0\n")
    pairs = load_pairs(tmp_path / "ok.csv", A)
    assert pairs["ltable_id"].tolist() == [117, 0]  # the table's own ids
    assert pairs["right_name"].tolist() == ["c", "a"]
    assert pairs["label"].tolist() == [1, 0]
    pd.testing.assert_frame_equal(A, before)


def test_text_ids_with_leading_zeros_join(tmp_path):
    A = read_table(write(tmp_path / "a.csv", "id,name\n00117,x\n117,y\n"))
    write(tmp_path / "p.csv", "ltable_id,rtable_id\n00117,117\n")
    pairs = load_pairs(tmp_path / "p.csv", A)
    assert pairs[["left_name", "right_name"]].iloc[0].tolist() == ["x", "y"]


def test_conflicting_and_repeated_pairs(tmp_path):
    A = pd.DataFrame({"id": ["a", "b", "c"], "name": ["x", "y", "z"]})
    write(tmp_path / "c.csv", "ltable_id,rtable_id,label\na,b,1\nb,c,0\na,b,0\n")
    with pytest.raises(InputError, match=r"c.csv: .*twice with different labels.*\[2, 4\]"):
        load_pairs(tmp_path / "c.csv", A)
    write(tmp_path / "r.csv", "ltable_id,rtable_id,label\na,b,1\nb,c,0\na,b,1\n")
    with pytest.warns(UserWarning, match=r"r.csv: 1 repeated pair row\(s\) on line\(s\) \[4\]"):
        assert len(load_pairs(tmp_path / "r.csv", A)) == 3
    with pytest.warns(UserWarning, match="dropped"):
        assert len(load_pairs(tmp_path / "r.csv", A, drop_duplicates=True)) == 2


def test_empty_pair_ids_and_bad_labels_are_placed(tmp_path):
    A = pd.DataFrame({"id": ["a", "b"], "name": ["x", "y"]})
    write(tmp_path / "p.csv", "ltable_id,rtable_id,label\na,b,1\n,b,0\n")
    with pytest.raises(InputError, match=r"'ltable_id' is empty on line\(s\) \[3\]"):
        load_pairs(tmp_path / "p.csv", A)
    write(tmp_path / "l.csv", "ltable_id,rtable_id,label\na,b,yes\n")
    with pytest.raises(InputError, match=r"0 or 1 on every line; bad value\(s\) \[.yes.\]"):
        load_pairs(tmp_path / "l.csv", A)


def test_encodings(tmp_path):
    bom = write(tmp_path / "bom.csv", "\ufeffid,name\n1,Zoë\n")
    assert read_table(bom).columns.tolist() == ["id", "name"]
    utf16 = write(tmp_path / "u16.csv", "id,name\n1,Zoë\n", "utf-16")
    with pytest.raises(InputError, match="u16.csv: the file is UTF-16.*encoding='utf-16'"):
        read_table(utf16)
    assert read_table(utf16, encoding="utf-16")["name"].tolist() == ["Zoë"]
    latin = write(tmp_path / "l.csv", "id,name\n1,Zoë\n", "latin-1")
    with pytest.raises(InputError, match=r"line 2 holds bytes that are not valid utf-8"):
        read_table(latin)


def test_huge_values_and_non_latin_scripts(tmp_path):
    big = "x" * 1_000_000
    names = ["東京 タワー", "القاهرة", "Москва", "Ελλάδα", big]
    ids = ["東", "ق", "м", "ε", "b"]
    pd.DataFrame({"id": ids, "name": names}).to_csv(tmp_path / "t.csv", index=False)
    df = read_table(tmp_path / "t.csv")
    assert df["id"].tolist() == ids and df["name"].tolist() == names
    pd.DataFrame({"ltable_id": ["東", "b"], "rtable_id": ["ق", "ε"]}).to_csv(
        tmp_path / "p.csv", index=False
    )
    pairs = load_pairs(tmp_path / "p.csv", df)
    assert pairs["left_name"].tolist() == [names[0], big]
    assert pairs["right_name"].tolist() == [names[1], names[3]]


def test_parquet_decimal_ids_are_refused(tmp_path):
    pd.DataFrame({"id": [1.0, 2.0], "name": ["a", "b"]}).to_parquet(tmp_path / "t.parquet")
    with pytest.raises(InputError, match="holds decimal numbers"):
        read_table(tmp_path / "t.parquet")


def test_no_warning_for_a_clean_pairs_file(tmp_path):
    A = pd.DataFrame({"id": ["a", "b"], "name": ["x", "y"]})
    write(tmp_path / "p.csv", "ltable_id,rtable_id,label\na,b,1\nb,a,0\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # two tables: (a, b) and (b, a) are two pairs (with one table they are refused)
        assert load_pairs(tmp_path / "p.csv", A, A)["label"].tolist() == [1, 0]


def test_flattened_pairs_may_leave_labels_empty_but_not_wrong(tmp_path):
    header = "ltable_id,rtable_id,left_name,right_name,label\n"
    write(tmp_path / "f.csv", header + "a,b,x,y,1\na,c,x,z,\n")
    pool = load_pairs(tmp_path / "f.csv")
    assert pool["label"].isna().tolist() == [False, True]
    write(tmp_path / "g.csv", header + "a,b,x,y,1\na,c,x,z,2\n")
    with pytest.raises(InputError, match=r"g.csv: label must be 0 or 1; .*\[2\] on line"):
        load_pairs(tmp_path / "g.csv")
