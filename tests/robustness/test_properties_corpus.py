"""Property tests behind the bad-input corpus fixes: answer files map to exactly the pairs they
name, numbers are read as numbers only when no text is lost, a line in another separator is
never read silently, and risk-rule selection keeps the rules it kept before deduplication."""

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from active.oracles import FileOracle
from blocking import read_table
from blocking.answers import Answer
from blocking.validation import InputError
from risk.rules import Condition, Rule, _select, activations

FAST = settings(max_examples=40, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
ID_PARTS = list("0123456789.-_abZ;|' #") + ["ü", "東", "00", "0.0", "NA"]
IDS = st.lists(st.sampled_from(ID_PARTS), min_size=1, max_size=5).map("".join)
LABELS = {"1": Answer.MATCH, "0": Answer.NON_MATCH, "match": Answer.MATCH,
          "non-match": Answer.NON_MATCH, "unsure": Answer.UNSURE, "True": Answer.MATCH,
          "1.0": Answer.MATCH, "no": Answer.NON_MATCH}


def _csv(rows: list[list[str]], sep: str, newline: str) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator=newline, quoting=csv.QUOTE_MINIMAL).writerows(
        rows)
    return out.getvalue().encode()


@FAST
@given(
    pairs=st.lists(st.tuples(IDS, IDS), min_size=1, max_size=10, unique=True),
    labels=st.lists(st.sampled_from(sorted(LABELS)), min_size=10, max_size=10),
    sep=st.sampled_from([",", ";", "\t", "|"]),
    newline=st.sampled_from(["\n", "\r\n"]),
    bom=st.booleans(),
)
def test_answer_files_map_to_exactly_the_pairs_they_name(pairs, labels, sep, newline, bom):
    rows = [["ltable_id", "rtable_id", "label"]]
    rows += [[a, b, labels[i]] for i, (a, b) in enumerate(pairs)]
    expected = {f"{a.strip()}|{b.strip()}": LABELS[labels[i]] for i, (a, b) in enumerate(pairs)}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "answers.csv"
        path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + _csv(rows, sep, newline))
        try:
            oracle = FileOracle(path)
        except InputError as err:
            # only two spellings that are one pair once stripped, or an id of spaces only
            assert "more than once" in str(err) or "empty" in str(err), str(err)
            assert len(expected) < len(pairs) or any(not (a.strip() and b.strip())
                                                     for a, b in pairs)
            return
    assert oracle.answers == expected


CODES = st.one_of(
    st.integers(-10**6, 10**6).map(str),
    st.integers(0, 10**5).map(lambda n: f"0{n}"),  # a leading zero: postcode, phone
    st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: f"{x:.2f}"),
    st.integers(10**16, 10**18).map(str),  # past float precision
    st.sampled_from(["", "abc", "1,5", "+7", "1e3"]),
)


@FAST
@given(values=st.lists(CODES, min_size=1, max_size=8))
def test_an_attribute_is_numeric_only_when_no_text_is_lost(values):
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(len(values))], "code": values})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        frame.to_csv(path, index=False)
        got = read_table(path)["code"]
    written = [v for v in values if v != ""]
    if pd.api.types.is_numeric_dtype(got):
        numbers = got.dropna().to_numpy(dtype=float)
        assert np.allclose(numbers, [float(v) for v in written])
        assert not any(v.lstrip("+-").startswith("0") and len(v.lstrip("+-")) > 1
                       and v.lstrip("+-")[1].isdigit() for v in written)
        assert not any(len(v.lstrip("+-")) > 15 and v.lstrip("+-").isdigit() for v in written)
    else:
        assert got.dropna().tolist() == written


@FAST
@given(
    n=st.integers(2, 8),
    width=st.integers(2, 5),
    line=st.integers(0, 7),
    other=st.sampled_from([";", "\t", "|"]),
    data=st.data(),
)
def test_a_line_in_another_separator_is_refused_naming_it(n, width, line, other, data):
    line %= n
    words = st.text(alphabet="abcxyz", min_size=1, max_size=4)
    rows = [["id", *[f"c{j}" for j in range(1, width)]]]
    rows += [[f"r{i}", *data.draw(st.lists(words, min_size=width - 1, max_size=width - 1))]
             for i in range(n)]
    lines = [",".join(r) for r in rows]
    lines[line + 1] = other.join(rows[line + 1])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        path.write_text("\n".join(lines) + "\n")
        with pytest.raises(InputError, match=f"line {line + 2} has 1 field"):
            read_table(path)


def _reference_select(F, y, rules, max_rules, max_overlap):
    """risk.rules._select as it was before rules with equal coverage were merged up front."""
    A = activations(rules, F, None)
    support = A.sum(0)
    purity = (A & (y == rules[0].label)[:, None]).sum(0) / np.maximum(support, 1)
    size = np.array([len(r.conditions) for r in rules])
    order = np.lexsort((-purity, -support, size))
    A, support, purity = A[:, order], support[order], purity[order]
    rules = [rules[i] for i in order]
    inter = A.T.astype(np.int64) @ A.astype(np.int64)
    covers = inter == support[None, :]
    better = covers & (purity[:, None] >= purity[None, :] - 1e-12)
    earlier = np.tri(len(rules), k=-1, dtype=bool).T
    same = covers & covers.T
    dominated = (better & (~same | earlier)).any(0)
    overlap = inter / np.maximum(support[:, None] + support[None, :] - inter, 1)
    kept = []
    for i in sorted(np.flatnonzero(~dominated), key=lambda i: -support[i]):
        if len(kept) == max_rules:
            break
        if not kept or overlap[i, kept].max() <= max_overlap:
            kept.append(i)
    return [rules[i] for i in kept]


@settings(max_examples=30, deadline=5000)
@given(seed=st.integers(0, 2**16), n=st.integers(3, 40), label=st.integers(0, 1),
       max_rules=st.integers(1, 12), max_overlap=st.sampled_from([0.3, 0.7, 1.0]))
def test_rule_selection_keeps_what_it_kept_before_merging_equal_rules(seed, n, label, max_rules,
                                                                       max_overlap):
    rng = np.random.default_rng(seed)
    F = pd.DataFrame(rng.integers(0, 3, size=(n, 4)).astype(float),
                     columns=[f"f{j}" for j in range(4)])
    y = rng.integers(0, 2, size=n)
    conds = [Condition(f"f{j}", op, float(t)) for j in range(4) for op in ("<=", ">=")
             for t in (0, 1)]
    rules = [Rule(label=label, conditions=(c,)) for c in conds]
    rules += [Rule(label=label, conditions=(a, b)) for a in conds for b in conds
              if a.feature != b.feature and rng.random() < 0.3]
    got = _select(F, y, rules, max_rules, max_overlap)
    assert got == _reference_select(F, y, rules, max_rules, max_overlap)
