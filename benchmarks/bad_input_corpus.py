"""A corpus of bad or unusual inputs, each run through the command line or the Python API and
classified automatically; writes benchmarks/results/bad_input.md.

Classes: clear error (exit 2 / a project error, one line naming what and where), handled
(the input is valid and the result passes the case's own check), traceback (a raw traceback or
a library exception), silently wrong (exit 0 / a return value that fails the case's check, or
bad input accepted), vague (refused without naming what or where, or valid input refused),
data loss (a label store or a user's file changed by a failed run, or stored answers lost).

    python benchmarks/bad_input_corpus.py [--only SUBSTRING] [--keep DIR]

Tiny tables (23 person records), budgets of 3 labels and a file oracle keep the whole run to a
few minutes on two busy cores.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from active import cli  # noqa: E402
from blocking import make_dirty_records  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "bad_input.md"
CLASSES = ("clear error", "handled", "traceback", "silently wrong", "vague", "data loss",
           "not run")
FAILING = ("traceback", "silently wrong", "vague", "data loss")
PROJECT_ERRORS = (ValueError, OSError, TypeError)  # InputError, LFError, NotFittedError, ...


@dataclass
class Outcome:
    """The class of one case and, for a failing one, why."""

    cls: str
    detail: str = ""


@dataclass
class Case:
    group: str
    name: str
    run: Callable[[Ctx], Outcome]


CASES: list[Case] = []


def case(group: str, name: str):
    """Register a case function `f(ctx) -> Outcome`."""

    def wrap(f):
        CASES.append(Case(group, name, f))
        return f

    return wrap


def add(group: str, name: str, f: Callable[[Ctx], Outcome]) -> None:
    CASES.append(Case(group, name, f))


# snapshots: what must not change ------------------------------------------------------------


def snapshot(path: Path):
    """The rows of a label store (or the bytes' digest of any other file); None if absent."""
    path = Path(path)
    if not path.exists() or path.is_dir():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("SELECT * FROM events ORDER BY seq").fetchall()
        finally:
            conn.close()
        return ("rows", tuple(rows))
    except sqlite3.Error:
        return ("bytes", hashlib.sha256(path.read_bytes()).hexdigest())


def store_rows(path: Path) -> list[tuple]:
    snap = snapshot(path)
    return list(snap[1]) if snap and snap[0] == "rows" else []


def lost(before: dict, grow: set) -> str:
    """'' or what changed: `before` maps path -> snapshot; paths in `grow` may only gain rows."""
    for path, snap in before.items():
        now = snapshot(path)
        if snap is None:
            continue
        if path in grow and snap[0] == "rows" and now is not None and now[0] == "rows":
            if now[1][: len(snap[1])] != snap[1]:
                return f"{path.name}: stored rows changed or vanished"
            continue
        if now != snap:
            return f"{path.name} changed ({'deleted' if now is None else 'content'})"
    return ""


# the context: fixture files and the two ways to run a case ---------------------------------


class Ctx:
    """Fixture files in a temporary folder, and runners that classify an outcome."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._n = 0
        records, _ = make_dirty_records(n_entities=15, seed=4)
        self.people = records.astype(object).where(records.notna(), None)
        self.people_csv = root / "people.csv"
        records.to_csv(self.people_csv, index=False)
        self.people_text = self.people_csv.read_text()
        self.lfs = root / "lfs.py"
        shutil.copy(cli.DEMO_LFS, self.lfs)
        ids = records["id"].tolist()
        gold = [(a, b, int(a.split("-")[1] == b.split("-")[1]))
                for i, a in enumerate(ids) for b in ids[i + 1:]]
        self.gold = {f"{a}|{b}": y for a, b, y in gold} | {f"{b}|{a}": y for a, b, y in gold}
        answers = pd.DataFrame(gold, columns=["ltable_id", "rtable_id", "label"])
        self.answers = root / "answers.csv"
        answers.to_csv(self.answers, index=False)
        # one real run: its store, model file and scored pairs feed the store/model/evaluate cases
        self.base_out = root / "base_run"
        status, _, err, exc = self.call(self.run_args(self.base_out, store=None))
        if status != 0:
            raise SystemExit(f"the base run failed ({status}): {err[-2000:]} {exc}")
        self.store = self.base_out / "labels.sqlite"
        self.model = self.base_out / "model.riskweasul"
        self.scored = self.base_out / "scored_pairs.csv"
        assert len(store_rows(self.store)) >= 3, "the base run stored no answers"

    def fresh(self, name: str = "case") -> Path:
        """A new empty folder for one case."""
        self._n += 1
        path = self.root / f"{self._n:03d}_{name}"
        path.mkdir()
        return path

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.fresh("file") / name
        if isinstance(data, bytes):
            path.write_bytes(data)
        else:
            path.write_text(data, encoding="utf-8")
        return path

    def store_copy(self) -> Path:
        path = self.fresh("store") / "labels.sqlite"
        shutil.copy(self.store, path)
        return path

    def run_args(self, out: Path, store: Path | None = None, left: Path | None = None,
                 lfs: Path | None = None, labels: Path | None = None, budget: str = "3",
                 extra: tuple = ()) -> list[str]:
        args = ["run", "--left", str(left or self.people_csv), "--lfs", str(lfs or self.lfs),
                "--blocking", "sorted", "--block-on", "surname", "--oracle", "file",
                "--labels", str(labels or self.answers), "--output", str(out),
                "--budget", budget, "--batch-size", "3", "--seed", "0"]
        if store is not None:
            args += ["--store", str(store)]
        return args + [str(a) for a in extra]

    @staticmethod
    def call(argv: list[str]) -> tuple[int, str, str, BaseException | None]:
        """cli.main in this process: (status, stdout, stderr, exception that escaped)."""
        out, err = io.StringIO(), io.StringIO()
        exc = None
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
                warnings.catch_warnings():
            warnings.simplefilter("always")
            try:
                status = cli.main([str(a) for a in argv])
            except SystemExit as stop:
                status = stop.code if isinstance(stop.code, int) else (0 if stop.code is None
                                                                         else 1)
            except BaseException as caught:  # noqa: BLE001 - a traceback is what we classify
                status, exc = 1, caught
                err.write("".join(traceback.format_exception(caught)))
        return status, out.getvalue(), err.getvalue(), exc

    def cli(self, argv: list, *, expect: str = "error", says: tuple = (),
            check: Callable[[str, str], str] | None = None, keep: tuple = (),
            grow: tuple = ()) -> Outcome:
        """Run the command line on `argv` and classify. expect: error | ok | either.
        `says`: fragments the one-line error must hold; `check(stdout, stderr)` -> '' when the
        result is right, else what is wrong; `keep` files must not change, `grow` stores may
        only gain rows."""
        before = {Path(p): snapshot(Path(p)) for p in (*keep, *grow)}
        status, out, err, exc = self.call(argv)
        return classify(status, out, err, exc, expect, says, check, before, {Path(p) for p in grow})

    def api(self, f: Callable[[], object], *, expect: str = "error", says: tuple = (),
            check: Callable[[object, list], str] | None = None, keep: tuple = (),
            grow: tuple = ()) -> Outcome:
        """Call `f()` and classify: a project error (ValueError, OSError, TypeError) naming
        `says` is clear; any other exception is a traceback; `check(result, warnings)` judges
        a returned result."""
        before = {Path(p): snapshot(Path(p)) for p in (*keep, *grow)}
        with warnings.catch_warnings(record=True) as caught, \
                contextlib.redirect_stdout(io.StringIO()), \
                contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("always")
            try:
                result, exc = f(), None
            except BaseException as e:  # noqa: BLE001
                result, exc = None, e
        loss = lost(before, {Path(p) for p in grow})
        if loss:
            return Outcome("data loss", loss)
        if exc is not None:
            text = f"{type(exc).__name__}: {exc}"
            if not isinstance(exc, PROJECT_ERRORS) or isinstance(exc, (KeyError, IndexError)):
                return Outcome("traceback", text[:300])
            if expect == "ok":
                return Outcome("vague", f"valid input refused: {text[:300]}")
            missing = [s for s in says if s.lower() not in str(exc).lower()]
            if missing:
                return Outcome("vague", f"error lacks {missing}: {text[:300]}")
            return Outcome("clear error")
        if expect == "error":
            return Outcome("silently wrong", f"accepted; returned {str(result)[:200]}")
        problem = check(result, [str(w.message) for w in caught]) if check else ""
        return Outcome("silently wrong", problem) if problem else Outcome("handled")


def classify(status, out, err, exc, expect, says, check, before, grow) -> Outcome:
    if exc is not None or "Traceback (most recent call last)" in err:
        tail = err.strip().splitlines()[-1] if err.strip() else repr(exc)
        return Outcome("traceback", tail[:300])
    loss = lost(before, grow)
    if loss:
        return Outcome("data loss", loss)
    if status == 0:
        if expect == "error":
            return Outcome("silently wrong", f"exit 0; stdout ends {out.strip()[-160:]!r}")
        problem = check(out, err) if check else ""
        return Outcome("silently wrong", problem) if problem else Outcome("handled")
    lines = [ln for ln in err.strip().splitlines() if ln.strip()]
    if status == 2 and expect == "ok":
        return Outcome("vague", f"valid input refused: {' / '.join(lines)[:300]}")
    if status not in (2, 130):
        return Outcome("vague", f"exit {status}: {' / '.join(lines)[-300:]}")
    errors = [ln for ln in lines if "error:" in ln or "usage:" in ln or "interrupted" in ln]
    if not errors:
        return Outcome("vague", f"exit {status} without an error line: {' / '.join(lines)[:300]}")
    message = errors[-1]
    missing = [s for s in says if s.lower() not in message.lower()]
    if missing:
        return Outcome("vague", f"error lacks {missing}: {message[:300]}")
    return Outcome("clear error")


# checks -------------------------------------------------------------------------------------


def run_ok(ctx: Ctx, out: Path, store: Path | None = None, min_labels: int = 1,
           answers: dict | None = None) -> Callable[[str, str], str]:
    """A finished run: scored pairs written, and every stored answer is the answer file's
    answer for exactly that pair."""
    gold = ctx.gold if answers is None else answers

    def check(stdout: str, stderr: str) -> str:
        scored = out / "scored_pairs.csv"
        if not scored.exists():
            return "no scored_pairs.csv"
        frame = pd.read_csv(scored, dtype=str, keep_default_na=False)
        if len(frame) == 0:
            return "scored_pairs.csv is empty"
        rows = store_rows(store or out / "labels.sqlite")
        labels = {r[1]: r[3] for r in rows if r[2] == "label" and r[4] == "train"}
        if len(labels) < min_labels:
            return f"only {len(labels)} answers stored"
        wrong = [k for k, y in labels.items() if k not in gold or gold[k] != y]
        if wrong:
            return f"{len(wrong)} stored answers are not the file's (e.g. {wrong[0]!r})"
        return ""

    return check


def table_equals(expected: pd.DataFrame, id_column: str = "id") -> Callable:
    """read_table's result holds exactly `expected`'s ids (as text) and values."""

    def check(got, _warnings) -> str:
        if list(got.columns) != list(expected.columns):
            return f"columns {list(got.columns)[:6]} != {list(expected.columns)[:6]}"
        if len(got) != len(expected):
            return f"{len(got)} rows read, {len(expected)} written"
        if got[id_column].tolist() != expected[id_column].astype(str).tolist():
            return f"ids differ: {got[id_column].tolist()[:4]} vs " \
                   f"{expected[id_column].astype(str).tolist()[:4]}"
        for column in expected.columns:
            a, b = got[column], expected[column]
            if pd.api.types.is_numeric_dtype(a):
                b = pd.to_numeric(b, errors="coerce")
                if not np.allclose(a.to_numpy(float), b.to_numpy(float), equal_nan=True):
                    return f"column {column!r} differs"
            elif a.fillna("<NA>").astype(str).tolist() != b.fillna("<NA>").astype(str).tolist():
                i = int(np.argmax(a.fillna("<NA>").astype(str).to_numpy()
                                  != b.fillna("<NA>").astype(str).to_numpy()))
                return f"column {column!r} row {i}: {a.iloc[i]!r} != {b.iloc[i]!r}"
        return ""

    return check


def read(path: Path, **kw):
    from blocking import read_table

    return lambda: read_table(path, **kw)


# tables -------------------------------------------------------------------------------------


def _people_with(ctx: Ctx, sep: str = ",", newline: str = "\n") -> str:
    return ctx.people.to_csv(index=False, sep=sep, lineterminator=newline)


for _sep, _label in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
    add("tables", f"{_label}-separated .csv is read with its separator",
        lambda ctx, s=_sep: ctx.api(read(ctx.write("p.csv", _people_with(ctx, s))), expect="ok",
                                    check=table_equals(ctx.people)))
    add("tables", f"{_label}-separated table through run",
        lambda ctx, s=_sep: (lambda out: ctx.cli(
            ctx.run_args(out, left=ctx.write("p.csv", _people_with(ctx, s))), expect="ok",
            check=run_ok(ctx, out)))(ctx.fresh("run")))

add("tables", ".tsv file", lambda ctx: ctx.api(read(ctx.write("p.tsv", _people_with(ctx, "\t"))),
                                               expect="ok", check=table_equals(ctx.people)))
add("tables", "CRLF line ends",
    lambda ctx: ctx.api(read(ctx.write("p.csv", _people_with(ctx, ",", "\r\n"))), expect="ok",
                        check=table_equals(ctx.people)))
add("tables", "bare CR line ends (old Mac)",
    lambda ctx: ctx.api(read(ctx.write("p.csv", _people_with(ctx, ",", "\r"))), expect="ok",
                        check=table_equals(ctx.people)))
add("tables", "UTF-8 byte-order mark",
    lambda ctx: ctx.api(read(ctx.write("p.csv", b"\xef\xbb\xbf" + _people_with(ctx).encode())),
                        expect="ok", check=table_equals(ctx.people)))
add("tables", "UTF-8 BOM through run",
    lambda ctx: (lambda out: ctx.cli(
        ctx.run_args(out, left=ctx.write("p.csv", b"\xef\xbb\xbf" + _people_with(ctx).encode())),
        expect="ok", check=run_ok(ctx, out)))(ctx.fresh("run")))


def _latin(ctx: Ctx) -> pd.DataFrame:
    frame = ctx.people.copy()
    frame.loc[3, "surname"] = "müller-garçon"
    return frame


add("tables", "latin-1 file is refused naming line and encoding",
    lambda ctx: ctx.api(read(ctx.write("p.csv", _latin(ctx).to_csv(index=False)
                                       .encode("latin-1"))), says=("line 5", "utf-8")))
add("tables", "latin-1 file with encoding='latin-1'",
    lambda ctx: ctx.api(read(ctx.write("p.csv", _latin(ctx).to_csv(index=False)
                                       .encode("latin-1")), encoding="latin-1"),
                        expect="ok", check=table_equals(_latin(ctx))))
add("tables", "latin-1 table through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write(
        "p.csv", _latin(ctx).to_csv(index=False).encode("latin-1"))), says=("p.csv", "utf-8")))
add("tables", "UTF-16 file",
    lambda ctx: ctx.api(read(ctx.write("p.csv", _people_with(ctx).encode("utf-16"))),
                        says=("utf-16",)))
add("tables", "UTF-16 table through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write(
        "p.csv", _people_with(ctx).encode("utf-16"))), says=("utf-16", "p.csv")))
add("tables", "empty file", lambda ctx: ctx.api(read(ctx.write("p.csv", b"")), says=("empty",)))
add("tables", "empty table through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write("p.csv", b"")),
                        says=("p.csv", "empty")))
add("tables", "header line only",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name,city\n")), says=("no records",)))
add("tables", "blank lines only after the header",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n\n\n")), says=("no records",)))
add("tables", "duplicate column names",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name,name\n1,a,b\n2,c,d\n")),
                        says=("name", "more than once")))
add("tables", "duplicate ids name the lines",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n1,a\n2,b\n1,c\n")),
                        says=("'1'", "line(s) [2, 4]")))
add("tables", "duplicate ids through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write(
        "p.csv", _people_with(ctx) + _people_with(ctx).splitlines()[1] + "\n")),
        says=("p.csv", "repeated id")))
add("tables", "ids 0.0 and 0 are two records",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n0.0,a\n0,b\n")), expect="ok",
                        check=lambda t, w: "" if t["id"].tolist() == ["0.0", "0"] else
                        f"ids read as {t['id'].tolist()}"))
add("tables", "ids 00117 and 117 keep their spelling",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n00117,a\n117,b\n")), expect="ok",
                        check=lambda t, w: "" if t["id"].tolist() == ["00117", "117"] else
                        f"ids read as {t['id'].tolist()}"))
add("tables", "ids NA, null, None stay text",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\nNA,a\nnull,b\nNone,c\n")), expect="ok",
                        check=lambda t, w: "" if t["id"].tolist() == ["NA", "null", "None"]
                        else f"ids read as {t['id'].tolist()}"))
add("tables", "ids 1e5 and 100000 stay distinct",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n1e5,a\n100000,b\n")), expect="ok",
                        check=lambda t, w: "" if t["id"].tolist() == ["1e5", "100000"] else
                        f"ids read as {t['id'].tolist()}"))


def _space_ids(ctx: Ctx):
    """Ids written with surrounding spaces ('5' and ' 5'): refused or kept exactly."""
    def check(t, w):
        return "" if t["id"].tolist() == [" 5", "5 ", "6"] else f"ids read as {t['id'].tolist()}"
    return ctx.api(read(ctx.write("p.csv", "id,name\n 5,a\n5 ,b\n6,c\n")), expect="either",
                   says=("space",), check=check)


add("tables", "ids with surrounding spaces", _space_ids)
add("tables", "empty id on a line",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n1,a\n,b\n3,c\n")),
                        says=("empty", "line(s) [3]")))
add("tables", "missing id column (suggests one)",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "ID,name\n1,a\n")), says=("'id'", "'ID'")))
add("tables", "missing id column through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write(
        "p.csv", "key,name\n1,a\n2,b\n")), says=("p.csv", "id column")))
add("tables", "--id-column names another column",
    lambda ctx: (lambda out: ctx.cli(
        ctx.run_args(out, left=ctx.write("p.csv", ctx.people.rename(columns={"id": "rid"})
                                         .to_csv(index=False)), extra=("--id-column", "rid")),
        expect="ok", check=run_ok(ctx, out)))(ctx.fresh("run")))
add("tables", "--id-column missing from the table",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=("--id-column", "rid")),
                        says=("rid", "people.csv")))
add("tables", "header with a space before the id name",
    lambda ctx: ctx.api(read(ctx.write("p.csv", " id,name\n1,a\n")), says=("'id'",)))


def _mixed_separators(ctx: Ctx) -> Outcome:
    lines = _people_with(ctx).splitlines()
    lines[5] = lines[5].replace(",", ";")
    return ctx.api(read(ctx.write("p.csv", "\n".join(lines) + "\n")),
                   says=("line 6", "semicolon"))


add("tables", "one line separated by ';' in a ','-file", _mixed_separators)


def _mixed_separators_run(ctx: Ctx) -> Outcome:
    lines = _people_with(ctx).splitlines()
    lines[7] = lines[7].replace(",", "\t")
    return ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write("p.csv", "\n".join(lines))),
                   says=("line 8", "p.csv"))


add("tables", "one tab-separated line through run", _mixed_separators_run)
add("tables", "a short line (fields missing)",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name,city\n1,a,x\n2,b\n3,c,z\n")),
                        says=("line 3",)))
add("tables", "a line with too many fields",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n1,a\n2,b,c,d\n")), says=("line 3",)))
add("tables", "unbalanced quote",
    lambda ctx: ctx.api(read(ctx.write("p.csv", 'id,name\n1,"a\n2,b\n')),
                        expect="either", says=("p.csv",),
                        check=lambda t, w: "" if len(t) == 2 else f"{len(t)} records from 2"))
add("tables", "quoted field holding a newline",
    lambda ctx: ctx.api(read(ctx.write("p.csv", 'id,name\n1,"a\nb"\n2,c\n')), expect="ok",
                        check=lambda t, w: "" if t["name"].tolist() == ["a\nb", "c"] else
                        f"names {t['name'].tolist()}"))
add("tables", "bare CR inside an unquoted field",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name,city\n1,ab\rcd,x\n2,e,y\n")),
                        expect="either", says=("line 2",),
                        check=lambda t, w: "" if t["name"].tolist() == ["ab\rcd", "e"] else
                        f"read {len(t)} records: {t.to_dict('records')}"))
add("tables", "bare CR inside an unquoted field of a file with quoted fields",
    lambda ctx: ctx.api(read(ctx.write("p.csv", 'id,name,city\n1,ab\rcd,x\n2,"e",y\n')),
                        expect="either", says=("line 2",),
                        check=lambda t, w: "" if t["name"].tolist() == ["ab\rcd", "e"] else
                        f"read {len(t)} records: {t.to_dict('records')}"))
add("tables", "CRLF inside a quoted field of a CRLF file",
    lambda ctx: ctx.api(read(ctx.write("p.csv", 'id,name\r\n1,"ab\r\ncd\r"\r\n2,e\r\n')),
                        expect="ok", check=lambda t, w: "" if t["name"].tolist() ==
                        ["ab\r\ncd\r", "e"] else f"names {t['name'].tolist()}"))
add("tables", "bare CR inside a quoted field",
    lambda ctx: ctx.api(read(ctx.write("p.csv", 'id,name\n1,"ab\rcd"\n2,e\n')), expect="ok",
                        check=lambda t, w: "" if t["name"].tolist() == ["ab\rcd", "e"] else
                        f"names {t['name'].tolist()}"))
add("tables", "trailing blank lines",
    lambda ctx: ctx.api(read(ctx.write("p.csv", "id,name\n1,a\n2,b\n\n\n\n")), expect="ok",
                        check=lambda t, w: "" if len(t) == 2 else f"{len(t)} records"))


def _every_attribute_empty(ctx: Ctx) -> Outcome:
    frame = ctx.people.copy()
    for column in frame.columns[1:]:
        frame.loc[4, column] = None
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, left=ctx.write("p.csv", frame.to_csv(index=False))),
                   expect="ok", check=run_ok(ctx, out))


add("tables", "a record with every attribute empty through run", _every_attribute_empty)


def _megabyte(ctx: Ctx) -> Outcome:
    frame = ctx.people.copy()
    frame.loc[2, "address_1"] = "x" * (1 << 20)
    return ctx.api(read(ctx.write("p.csv", frame.to_csv(index=False))), expect="ok",
                   check=table_equals(frame))


add("tables", "a 1 MB value", _megabyte)


def _megabyte_run(ctx: Ctx) -> Outcome:
    frame = ctx.people.copy()
    frame.loc[2, "surname"] = "smith " * 200_000
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, left=ctx.write("p.csv", frame.to_csv(index=False))),
                   expect="ok", check=run_ok(ctx, out))


add("tables", "a 1 MB value through run", _megabyte_run)


def _scripts(ctx: Ctx) -> pd.DataFrame:
    frame = ctx.people.copy()
    frame.loc[0, "surname"] = "王小明"
    frame.loc[1, "surname"] = "محمد"
    frame.loc[2, "surname"] = "Иванов"
    frame.loc[3, "given_name"] = "🙂 zoë"
    frame.loc[5, "id"] = "идентификатор-5"
    return frame


add("tables", "non-Latin scripts and emoji",
    lambda ctx: ctx.api(read(ctx.write("p.csv", _scripts(ctx).to_csv(index=False))),
                        expect="ok", check=table_equals(_scripts(ctx))))


def _scripts_run(ctx: Ctx) -> Outcome:
    frame = _scripts(ctx)
    old, new = ctx.people.loc[5, "id"], frame.loc[5, "id"]
    answers = {k.replace(old, new): y for k, y in ctx.gold.items()}
    file = ctx.write("answers.csv", pd.DataFrame(
        [(*k.split("|"), y) for k, y in answers.items()],
        columns=["ltable_id", "rtable_id", "label"]).to_csv(index=False))
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, left=ctx.write("p.csv", frame.to_csv(index=False)),
                                labels=file, budget="12"),
                   expect="ok", check=run_ok(ctx, out, answers=answers))


add("tables", "non-Latin scripts through run", _scripts_run)


def _leading_zeros(ctx: Ctx) -> Outcome:
    text = "id,name,postcode,phone\n1,a,02134,0049301\n2,b,10001,0049302\n"
    return ctx.api(read(ctx.write("p.csv", text)), expect="ok",
                   check=lambda t, w: "" if t["postcode"].astype(str).tolist() == ["02134",
                                                                                  "10001"]
                   else f"postcodes read as {t['postcode'].tolist()}")


add("tables", "numbers as text keep leading zeros (postcode)", _leading_zeros)
add("tables", "numbers as text: prices with currency and thousands",
    lambda ctx: ctx.api(read(ctx.write("p.csv", 'id,price\n1,"$1,234.50"\n2,12\n')), expect="ok",
                        check=lambda t, w: "" if t["price"].astype(str).tolist() ==
                        ["$1,234.50", "12"] else f"prices {t['price'].tolist()}"))
add("tables", "a folder given as a table",
    lambda ctx: ctx.api(read(ctx.fresh("folder.csv")), says=("folder",)))
add("tables", "a folder given as --left",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.fresh("dir")),
                        says=("folder",)))
add("tables", "a folder given as --right",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=("--right", ctx.fresh("dir"))),
                        says=("folder",)))
add("tables", "missing file",
    lambda ctx: ctx.api(read(ctx.root / "nope.csv"), says=("nope.csv", "no such file")))
add("tables", "missing --left through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.root / "nope.csv"),
                        says=("nope.csv",)))
add("tables", "unknown table format .xlsx",
    lambda ctx: ctx.api(read(ctx.write("p.xlsx", b"PK\x03\x04garbage")), says=(".xlsx",)))
add("tables", "garbage .parquet",
    lambda ctx: ctx.api(read(ctx.write("p.parquet", b"not parquet at all")), says=("parquet",)))


def _parquet(ctx: Ctx, frame: pd.DataFrame) -> Path:
    path = ctx.fresh("pq") / "p.parquet"
    frame.to_parquet(path, index=False)
    return path


add("tables", "valid parquet",
    lambda ctx: ctx.api(read(_parquet(ctx, ctx.people.astype(str))), expect="ok",
                        check=table_equals(ctx.people.astype(str))))
add("tables", "parquet with decimal ids",
    lambda ctx: ctx.api(read(_parquet(ctx, pd.DataFrame({"id": [1.0, 2.5], "n": ["a", "b"]}))),
                        says=("decimal",)))
add("tables", "parquet with integer ids through run",
    lambda ctx: (lambda out: ctx.cli(
        ctx.run_args(out, left=_parquet(ctx, ctx.people.assign(
            id=np.arange(len(ctx.people)) + 1)), labels=ctx.write(
            "a.csv", "ltable_id,rtable_id,label\n1,2,0\n")), expect="either",
        says=("a.csv",), check=lambda o, e: "" if (out / "scored_pairs.csv").exists()
        else "no output"))(ctx.fresh("run")))
add("tables", "parquet with a duplicate id",
    lambda ctx: ctx.api(read(_parquet(ctx, pd.DataFrame({"id": ["a", "a"], "n": ["x", "y"]}))),
                        says=("repeated",)))
add("tables", "sep given as two characters",
    lambda ctx: ctx.api(read(ctx.people_csv, sep=";;"), says=("sep",)))


def _two_tables(ctx: Ctx, right: pd.DataFrame) -> Path:
    return ctx.write("right.csv", right.to_csv(index=False))


add("tables", "two tables with different attributes",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=(
        "--right", _two_tables(ctx, pd.DataFrame({"id": ["x1", "x2"], "title": ["a", "b"]})))),
        says=("surname",)))
add("tables", "two tables, right has a duplicate id",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=(
        "--right", _two_tables(ctx, pd.concat([ctx.people, ctx.people.iloc[:1]])))),
        says=("right.csv", "repeated")))
add("tables", "--block-on a column the table lacks",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=("--block-on", "surnme")),
                        says=("surnme",)))


def _pipe_ids(ctx: Ctx) -> Outcome:
    """Ids holding the key separator '|' could make two pairs share a key."""
    from blocking.pairs import pair_keys

    pairs = pd.DataFrame({"ltable_id": ["a|b", "a"], "rtable_id": ["c", "b|c"]})
    return ctx.api(lambda: pair_keys(pairs), expect="either", says=("|",),
                   check=lambda k, w: "" if len(set(k)) == 2 else f"keys {list(k)} collide")


add("tables", "ids holding '|' make distinct pair keys", _pipe_ids)


def _one_record(ctx: Ctx) -> Outcome:
    return ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write(
        "p.csv", ctx.people.iloc[:1].to_csv(index=False))), says=("pairs",))


add("tables", "a table of one record (no pairs to compare)", _one_record)
add("tables", "a table of ids only (no attributes)",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), left=ctx.write(
        "p.csv", ctx.people[["id"]].to_csv(index=False))), says=("surname",)))


def _two_tables_run(ctx: Ctx, extra: tuple = ()) -> Outcome:
    left = ctx.write("left.csv", ctx.people.iloc[::2].to_csv(index=False))
    right = ctx.write("right.csv", ctx.people.iloc[1::2].to_csv(index=False))
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, left=left, extra=("--right", right, *extra)), expect="ok",
                   check=run_ok(ctx, out))


add("tables", "two tables (linkage)", _two_tables_run)
add("tables", "two tables with --one-to-one", lambda ctx: _two_tables_run(ctx, ("--one-to-one",)))
add("tables", "right table lacks the --block-on column",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=("--right", ctx.write(
        "right.csv", ctx.people.drop(columns="surname").to_csv(index=False)))),
        says=("surname",)))
add("tables", "every record has the same blocking key",
    lambda ctx: (lambda out: ctx.cli(ctx.run_args(out, left=ctx.write(
        "p.csv", ctx.people.assign(surname="smith").to_csv(index=False))), expect="ok",
        check=run_ok(ctx, out)))(ctx.fresh("run")))


# pairs files --------------------------------------------------------------------------------


def _load_pairs(ctx: Ctx, text: str, **kw):
    from blocking import load_pairs, read_table

    table = read_table(ctx.people_csv)
    return lambda: load_pairs(ctx.write("pairs.csv", text), table, **kw)


_ID0, _ID1, _ID2 = "rec-7-org", "rec-12-dup-0", "rec-13-dup-0"
add("pairs", "unknown ids",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id\n{_ID0},zzz\n"),
                        says=("zzz", "pairs.csv")))
add("pairs", "ids written 0.0 where the table has 0",
    lambda ctx: ctx.api(lambda: __import__("blocking").load_pairs(
        ctx.write("pairs.csv", "ltable_id,rtable_id\n0.0,1\n"),
        pd.DataFrame({"id": ["0", "1"], "name": ["a", "b"]})), says=("'0.0'", "did you mean")))
add("pairs", "ids written 117 where the table has 00117",
    lambda ctx: ctx.api(lambda: __import__("blocking").load_pairs(
        ctx.write("pairs.csv", "ltable_id,rtable_id\n117,1\n"),
        pd.DataFrame({"id": ["00117", "1"], "name": ["a", "b"]})), says=("'117'", "00117")))
add("pairs", "conflicting labels for one pair",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},1\n"
                                         f"{_ID0},{_ID1},0\n"),
                        says=("different labels", "line(s) [2, 3]")))
add("pairs", "exact repeat warns and is kept",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},1\n"
                                         f"{_ID0},{_ID1},1\n"), expect="ok",
                        check=lambda p, w: "" if any("repeated" in m for m in w) else
                        "no warning"))
add("pairs", "label 'yes'",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},yes\n"),
                        says=("label", "'yes'")))
add("pairs", "labels True/False",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},True\n"),
                        says=("label",)))
add("pairs", "labels 2",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},2\n"),
                        says=("label", "line")))
add("pairs", "empty pairs file", lambda ctx: ctx.api(_load_pairs(ctx, ""), says=("empty",)))
add("pairs", "header-only pairs file",
    lambda ctx: ctx.api(_load_pairs(ctx, "ltable_id,rtable_id\n"), says=("no pairs",)))
add("pairs", "rtable_id column missing",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,label\n{_ID0},1\n"), says=("rtable_id",)))
add("pairs", "empty id in a pairs file",
    lambda ctx: ctx.api(_load_pairs(ctx, f"ltable_id,rtable_id\n{_ID0},\n"), says=("empty",)))
add("pairs", "ids-only pairs without tables",
    lambda ctx: ctx.api(lambda: __import__("blocking").load_pairs(
        ctx.write("pairs.csv", f"ltable_id,rtable_id\n{_ID0},{_ID1}\n")), says=("tables",)))
add("pairs", "--pairs with unknown ids through run",
    lambda ctx: ctx.cli(ctx.run_args(ctx.fresh("run"), extra=("--pairs", ctx.write(
        "pairs.csv", f"ltable_id,rtable_id\n{_ID0},nobody\n"))), says=("nobody", "pairs.csv")))


def _pairs_run(ctx: Ctx) -> Outcome:
    ids = ctx.people["id"].tolist()
    rows = [(a, b) for i, a in enumerate(ids) for b in ids[i + 1:i + 4]]
    file = ctx.write("pairs.csv", pd.DataFrame(rows, columns=["ltable_id", "rtable_id"])
                     .to_csv(index=False))
    out = ctx.fresh("run")

    def check(o, e):
        problem = run_ok(ctx, out)(o, e)
        scored = pd.read_csv(out / "scored_pairs.csv", dtype=str) if not problem else None
        if problem:
            return problem
        got = set(zip(scored["ltable_id"], scored["rtable_id"], strict=True))
        return "" if got == set(rows) else f"scored {len(got)} pairs, file has {len(rows)}"

    return ctx.cli(ctx.run_args(out, extra=("--pairs", file)), expect="ok", check=check)


add("pairs", "--pairs file: exactly its pairs are scored", _pairs_run)


# LF files -----------------------------------------------------------------------------------

LF_HEAD = "from labeling_functions import labeling_function, MATCH, NON_MATCH, ABSTAIN\n" \
          "import numpy as np, pandas as pd, sys\n"
GOOD_LF = ("@labeling_function(polarity=MATCH)\ndef same_soc(x):\n"
           "    return MATCH if x.left_soc_sec_id == x.right_soc_sec_id else ABSTAIN\n"
           "@labeling_function(polarity=NON_MATCH, vectorized=True)\ndef other_name(df):\n"
           "    return np.where(df.left_surname != df.right_surname, NON_MATCH, ABSTAIN)\n")


def lf_file(ctx: Ctx, body: str, good: bool = True, names: str = "same_soc, other_name") -> Path:
    tail = f"lfs = [{names}, bad]\n" if good else ""
    return ctx.write("my_lfs.py", LF_HEAD + (GOOD_LF if good else "") + body + "\n" + tail)


def lf_run(ctx: Ctx, body: str, says: tuple, expect: str = "error", good: bool = True,
           check=None) -> Outcome:
    out = ctx.fresh("run")
    store = ctx.store_copy()
    return ctx.cli(ctx.run_args(out, store=store, lfs=lf_file(ctx, body, good)), expect=expect,
                   says=says, check=check(out, store) if check else None,
                   keep=() if expect != "error" else (store,),
                   grow=(store,) if expect != "error" else ())


add("lfs", "syntax error", lambda ctx: lf_run(ctx, "def bad(x)\n    return 1", ("my_lfs.py",
                                                                              "line 9")))
add("lfs", "failing import", lambda ctx: lf_run(
    ctx, "import not_a_module_xyz\nbad = None", ("my_lfs.py", "not_a_module_xyz")))
add("lfs", "sys.exit(0) at import", lambda ctx: lf_run(ctx, "sys.exit(0)", ("my_lfs.py",
                                                                            "sys.exit")))
add("lfs", "sys.exit(3) at import", lambda ctx: lf_run(ctx, "sys.exit(3)", ("my_lfs.py",)))
add("lfs", "raise at import", lambda ctx: lf_run(ctx, "1/0", ("my_lfs.py", "ZeroDivision")))
add("lfs", "no lfs list", lambda ctx: lf_run(ctx, "x = 1", ("my_lfs.py", "lfs"), good=False))
add("lfs", "empty lfs list", lambda ctx: lf_run(ctx, "lfs = []", ("my_lfs.py",), good=False))
add("lfs", "lfs is not a list", lambda ctx: lf_run(ctx, "lfs = 'abc'", ("my_lfs.py",),
                                                   good=False))
add("lfs", "a non-LF in the list", lambda ctx: lf_run(ctx, "bad = len", ("my_lfs.py",
                                                                         "entry 2")))
add("lfs", "an empty LF file", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), lfs=ctx.write("e.py", "")), says=("e.py",)))
add("lfs", "an LF file that is a folder", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), lfs=ctx.fresh("lfdir")), says=("folder",)))
add("lfs", "an LF file that is not .py", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), lfs=ctx.write("l.txt", "lfs=[]")), says=("l.txt",)))
add("lfs", "LF file missing", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), lfs=ctx.root / "none.py"), says=("none.py",)))
add("lfs", "row-wise LF raises", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    raise RuntimeError('boom')", ("'bad'", "boom")))
add("lfs", "row-wise LF calls sys.exit(0)", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    sys.exit(0)", ("'bad'", "exit")))
add("lfs", "vectorized LF calls sys.exit(0)", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    sys.exit(0)", ("'bad'", "exit")))
add("lfs", "row-wise LF returns None", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    return None", ("'bad'", "None")))
add("lfs", "row-wise LF returns 2", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    return 2", ("'bad'", "2")))
add("lfs", "row-wise LF returns True", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    return True", ("'bad'", "True")))
add("lfs", "row-wise LF returns a string", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    return 'match'", ("'bad'", "match")))
add("lfs", "one-sided LF votes the other way", lambda ctx: lf_run(
    ctx, "@labeling_function(polarity=MATCH)\ndef bad(x):\n    return NON_MATCH",
    ("'bad'", "polarity")))
add("lfs", "LF reads a missing attribute", lambda ctx: lf_run(
    ctx, "@labeling_function()\ndef bad(x):\n    return MATCH if x.left_nope else ABSTAIN",
    ("'bad'", "left_nope")))
add("lfs", "vectorized LF: wrong length", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    return np.zeros(len(df) - 1)",
    ("'bad'", "shape")))
add("lfs", "vectorized LF: a scalar", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    return 1", ("'bad'",)))
add("lfs", "vectorized LF: strings", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    return np.array(['1'] * len(df))",
    ("'bad'", "dtype")))
add("lfs", "vectorized LF: booleans", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    return df.left_surname == 'x'",
    ("'bad'", "boolean")))
add("lfs", "vectorized LF: floats 0.5", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    return np.full(len(df), 0.5)",
    ("'bad'", "0.5")))
add("lfs", "vectorized LF: NaN votes", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    return np.full(len(df), np.nan)",
    ("'bad'", "nan")))
add("lfs", "vectorized LF: a 2-column frame", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n"
         "    return pd.DataFrame({'a': [1] * len(df), 'b': [1] * len(df)})",
    ("'bad'", "2 columns")))
add("lfs", "vectorized LF: Series with foreign index", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n"
         "    return pd.Series(1, index=np.arange(len(df)) + 1000)", ("'bad'", "index")))
add("lfs", "vectorized LF raises", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n    raise KeyError('col')",
    ("'bad'", "KeyError")))
add("lfs", "vectorized LF: nullable Int64 with missing votes", lambda ctx: lf_run(
    ctx, "@labeling_function(vectorized=True)\ndef bad(df):\n"
         "    return pd.Series([1, None] * (len(df) // 2) + [1] * (len(df) % 2), "
         "index=df.index, dtype='Int64')", ("'bad'",)))
add("lfs", "two LFs with one name", lambda ctx: lf_run(
    ctx, "@labeling_function(name='same_soc')\ndef bad(x):\n    return ABSTAIN", ("same_soc",)))


def _mutating_check(ctx: Ctx):
    def make(out: Path, store: Path):
        def check(o, e):
            problem = run_ok(ctx, out, store)(o, e)
            if problem:
                return problem
            scored = pd.read_csv(out / "scored_pairs.csv", dtype=str)
            columns = [c for c in scored.columns if c.startswith(("left_", "right_"))]
            if any(scored[c].eq("MUTATED").any() for c in columns):
                return "the LF's edit reached scored_pairs.csv"
            return ""
        return check
    return make


for _body, _label in (
    ("@labeling_function()\ndef bad(x):\n    x['left_surname'] = 'MUTATED'\n    return ABSTAIN",
     "row-wise LF edits its row"),
    ("@labeling_function(vectorized=True)\ndef bad(df):\n    df['left_surname'] = 'MUTATED'\n"
     "    return np.full(len(df), ABSTAIN)", "vectorized LF edits its frame"),
    ("@labeling_function(vectorized=True)\ndef bad(df):\n    df.loc[:, 'left_surname'] = "
     "'MUTATED'\n    return np.full(len(df), ABSTAIN)", "vectorized LF edits via .loc"),
    ("@labeling_function(vectorized=True)\ndef bad(df):\n    df.left_surname.values[:] = "
     "'MUTATED'\n    return np.full(len(df), ABSTAIN)", "vectorized LF writes into .values"),
    ("@labeling_function(vectorized=True)\ndef bad(df):\n    df.drop(columns=['left_surname'], "
     "inplace=True)\n    return np.full(len(df), ABSTAIN)", "vectorized LF drops a column"),
):
    add("lfs", _label, lambda ctx, b=_body: lf_run(ctx, b, ("'bad'",), expect="either",
                                                   check=_mutating_check(ctx)))


def _apply(ctx: Ctx, body: str, index=None, check=None, expect="ok", says=()):
    from blocking import demo_dataset
    from labeling_functions import load_lfs
    from labeling_functions.apply import apply_lfs

    pairs = demo_dataset("synthetic", seed=0, n_entities=30).pairs
    if index is not None:
        pairs.index = index(len(pairs))
    original = pairs.copy()
    lfs = load_lfs(ctx.write("v.py", LF_HEAD + body + "\nlfs = [ref, bad]\n"))

    def go():
        L = apply_lfs(lfs, pairs)
        if not pairs.equals(original):
            raise AssertionError("apply_lfs changed the caller's pairs")
        return L

    return ctx.api(go, expect=expect, says=says, check=check)


REF = ("@labeling_function(vectorized=True)\ndef ref(df):\n"
       "    return np.where(df.left_surname.fillna('') < df.right_surname.fillna(''), MATCH, "
       "NON_MATCH)\n")


def _same(L, w):
    return "" if (L[:, 0] == L[:, 1]).all() else (
        f"{int((L[:, 0] != L[:, 1]).sum())} of {len(L)} votes on the wrong rows")


add("lfs", "vectorized LF returns a reversed Series",
    lambda ctx: _apply(ctx, REF + "@labeling_function(vectorized=True)\ndef bad(df):\n"
                       "    return pd.Series(ref._f(df), index=df.index)[::-1]", check=_same))
add("lfs", "reversed Series on a pool with a string index",
    lambda ctx: _apply(ctx, REF + "@labeling_function(vectorized=True)\ndef bad(df):\n"
                       "    return pd.Series(ref._f(df), index=df.index).sample(frac=1, "
                       "random_state=1)", index=lambda n: [f"p{i}" for i in range(n)],
                       check=_same))
add("lfs", "Series indexed 0..n-1 on a pool indexed from 1000",
    lambda ctx: _apply(ctx, REF + "@labeling_function(vectorized=True)\ndef bad(df):\n"
                       "    return pd.Series(ref._f(df))", index=lambda n: np.arange(n) + 1000,
                       check=_same))
add("lfs", "row-wise LF on a pool with duplicate index labels",
    lambda ctx: _apply(ctx, REF + "@labeling_function()\ndef bad(x):\n"
                       "    text = lambda v: v if isinstance(v, str) else ''\n"
                       "    return MATCH if text(x.left_surname) < text(x.right_surname) else "
                       "NON_MATCH", index=lambda n: np.zeros(n, int), check=_same))
add("lfs", "vectorized LF returns a list",
    lambda ctx: _apply(ctx, REF + "@labeling_function(vectorized=True)\ndef bad(df):\n"
                       "    return list(ref._f(df))", check=_same))
add("lfs", "vectorized LF returns float votes 1.0/0.0",
    lambda ctx: _apply(ctx, REF + "@labeling_function(vectorized=True)\ndef bad(df):\n"
                       "    return ref._f(df).astype(float)", check=_same))
add("lfs", "LF that mutates the caller's pairs through the API",
    lambda ctx: _apply(ctx, REF + "@labeling_function(vectorized=True)\ndef bad(df):\n"
                       "    df['left_surname'] = 'X'\n    return ref._f(df)", expect="either",
                       says=("'bad'",), check=lambda L, w: ""))


def _abstaining(ctx: Ctx) -> Outcome:
    body = "".join(f"@labeling_function()\ndef silent{i}(x):\n    return ABSTAIN\n"
                   for i in range(3))
    out = ctx.fresh("run")
    path = ctx.write("s.py", LF_HEAD + GOOD_LF + body + "lfs = [same_soc, other_name, silent0, "
                                                        "silent1, silent2]\n")
    return ctx.cli(ctx.run_args(out, lfs=path), expect="either", says=("silent0",),
                   check=lambda o, e: "" if "silent0" in o + e else
                   "three always-abstaining LFs accepted without a word")


add("lfs", "three always-abstaining LFs", _abstaining)


def _all_abstain(ctx: Ctx) -> Outcome:
    body = "".join(f"@labeling_function()\ndef silent{i}(x):\n    return ABSTAIN\n"
                   for i in range(3))
    path = ctx.write("s.py", LF_HEAD + body + "lfs = [silent0, silent1, silent2]\n")
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, lfs=path), expect="either", says=("silent",),
                   check=lambda o, e: "" if "silent" in o + e else "no word about the LF")


add("lfs", "every LF abstains everywhere", _all_abstain)


def _many_lfs(ctx: Ctx) -> Outcome:
    body = "".join(f"@labeling_function(polarity=MATCH, vectorized=True)\ndef v{i}(df):\n"
                   f"    return np.where(df.left_postcode == df.right_postcode, MATCH, ABSTAIN)\n"
                   for i in range(300))
    names = ", ".join(f"v{i}" for i in range(300))
    path = ctx.write("many.py", LF_HEAD + body + f"lfs = [{names}]\n")
    return ctx.cli(["lfs", "--lfs", path, "--entities", "30"], expect="ok",
                   check=lambda o, e: "" if "300 LFs" in o else "summary missing")


add("lfs", "300 LFs in one file (lfs command)", _many_lfs)
add("lfs", "lfs command: LF file with a syntax error",
    lambda ctx: ctx.cli(["lfs", "--lfs", ctx.write("x.py", "def (:\n")], says=("x.py", "line 1")))
add("lfs", "lfs command: --entities 0",
    lambda ctx: ctx.cli(["lfs", "--lfs", ctx.lfs, "--entities", "0"], says=("--entities",)))
add("lfs", "lfs command: --entities -4",
    lambda ctx: ctx.cli(["lfs", "--lfs", ctx.lfs, "--entities", "-4"], says=("--entities",)))
add("lfs", "lfs command: pairs file with ids and no tables",
    lambda ctx: ctx.cli(["lfs", "--lfs", ctx.lfs, "--pairs", ctx.write(
        "p.csv", f"ltable_id,rtable_id\n{_ID0},{_ID1}\n")], says=("p.csv",)))


# answer files (--oracle file) ---------------------------------------------------------------


def answers_run(ctx: Ctx, text: str | bytes, says: tuple, expect: str = "error",
                check=None, name: str = "answers.csv") -> Outcome:
    out = ctx.fresh("run")
    store = ctx.store_copy()
    labels = ctx.write(name, text)
    return ctx.cli(ctx.run_args(out, store=store, labels=labels), expect=expect, says=says,
                   check=check(out, store) if check else None,
                   keep=(store,) if expect == "error" else (), grow=(store,))


def _gold_text(ctx: Ctx, transform=lambda a, b, y: (a, b, y), header="ltable_id,rtable_id,label",
               sep=",") -> str:
    rows = [transform(*k.split("|"), y) for k, y in ctx.gold.items()]
    return header.replace(",", sep) + "\n" + "\n".join(sep.join(map(str, r)) for r in rows) + "\n"


add("answers", "answers for no pair of the pool",
    lambda ctx: answers_run(ctx, "ltable_id,rtable_id,label\nx,y,1\nu,v,0\n",
                            ("answers.csv", "none")))
add("answers", "an empty answer file", lambda ctx: answers_run(ctx, "", ("answers.csv",)))
add("answers", "header only answer file",
    lambda ctx: answers_run(ctx, "ltable_id,rtable_id,label\n", ("answers.csv",)))
add("answers", "answer file is a folder", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), labels=ctx.fresh("ans")), says=("folder",)))
add("answers", "answer file missing", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), labels=ctx.root / "gone.csv"), says=("gone.csv",)))
add("answers", "no label column",
    lambda ctx: answers_run(ctx, f"ltable_id,rtable_id\n{_ID0},{_ID1}\n", ("label",)))
add("answers", "no id columns", lambda ctx: answers_run(ctx, "a,label\n1,1\n", ("ltable_id",)))
add("answers", "bad label 'maybe'",
    lambda ctx: answers_run(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},maybe\n",
                            ("line 2", "maybe")))
add("answers", "label 2",
    lambda ctx: answers_run(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},2\n",
                            ("line 2", "'2'")))
add("answers", "empty label",
    lambda ctx: answers_run(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},\n",
                            ("line 2",)))
add("answers", "the same pair answered twice alike",
    lambda ctx: answers_run(ctx, _gold_text(ctx) + f"{_ID0},{_ID1},0\n", ("answers.csv",),
                            expect="either", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "conflicting answers for one pair",
    lambda ctx: answers_run(ctx, _gold_text(ctx) + f"{_ID0},{_ID1},1\n",
                            ("answers.csv", "line")))
add("answers", "a pair answered in both orders, differently",
    lambda ctx: answers_run(ctx, f"ltable_id,rtable_id,label\n{_ID0},{_ID1},1\n{_ID1},{_ID0},0\n",
                            ("answers.csv",), expect="either",
                            check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "labels as booleans True/False",
    lambda ctx: answers_run(ctx, _gold_text(ctx, lambda a, b, y: (a, b, bool(y))), (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "labels as match / non-match words",
    lambda ctx: answers_run(ctx, _gold_text(ctx, lambda a, b, y: (a, b, "match" if y
                                                                  else "non-match")), (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "labels 1.0 / 0.0",
    lambda ctx: answers_run(ctx, _gold_text(ctx, lambda a, b, y: (a, b, float(y))), (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "ids with spaces around them",
    lambda ctx: answers_run(ctx, _gold_text(ctx, lambda a, b, y: (f" {a}", f"{b} ", y)), (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "key column a|b",
    lambda ctx: answers_run(ctx, "key,label\n" + "\n".join(f"{k},{y}" for k, y in
                                                          ctx.gold.items()) + "\n", (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "semicolon-separated answers",
    lambda ctx: answers_run(ctx, _gold_text(ctx, sep=";"), ("answers.csv",), expect="either",
                            check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "tab-separated answers (.tsv)",
    lambda ctx: answers_run(ctx, _gold_text(ctx, sep="\t"), ("answers.tsv",), expect="either",
                            check=lambda out, s: run_ok(ctx, out, s), name="answers.tsv"))
add("answers", "latin-1 answers file",
    lambda ctx: answers_run(ctx, (_gold_text(ctx) + "müller,x,1\n").encode("latin-1"),
                            ("answers.csv",)))
add("answers", "UTF-16 answers file",
    lambda ctx: answers_run(ctx, _gold_text(ctx).encode("utf-16"), ("answers.csv",),
                            expect="either", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "answers file with BOM",
    lambda ctx: answers_run(ctx, b"\xef\xbb\xbf" + _gold_text(ctx).encode(), (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "CRLF answers file",
    lambda ctx: answers_run(ctx, _gold_text(ctx).replace("\n", "\r\n"), (),
                            expect="ok", check=lambda out, s: run_ok(ctx, out, s)))
add("answers", "some answers for unknown ids are reported, not stored",
    lambda ctx: answers_run(ctx, _gold_text(ctx) + "ghost-1,ghost-2,1\n", (), expect="ok",
                            check=lambda out, s: (lambda f: lambda o, e: f(o, e) or (
                                "" if "ghost" in o + e else "unknown answers not reported"))(
                                run_ok(ctx, out, s))))


def _all_unsure(ctx: Ctx) -> Outcome:
    out = ctx.fresh("run")
    store = out / "labels.sqlite"
    text = "key,label\n" + "".join(f"{k},unsure\n" for k in ctx.gold)

    def check(o, e):
        rows = store_rows(store)
        if any(r[3] is not None for r in rows):
            return "an 'unsure' answer was stored as a label"
        return "" if (out / "scored_pairs.csv").exists() else "no output"

    return ctx.cli(ctx.run_args(out, labels=ctx.write("a.csv", text), budget="5"),
                   expect="ok", check=check)


add("answers", "every answer is 'unsure'", _all_unsure)


def _reversed_answers(ctx: Ctx) -> Outcome:
    """De-duplication: every answer written as 'b|a' for candidate 'a|b' is still used."""
    scored = pd.read_csv(ctx.scored, dtype=str)
    text = "ltable_id,rtable_id,label\n" + "".join(
        f"{b},{a},{ctx.gold[f'{a}|{b}']}\n" for a, b in zip(scored["ltable_id"],
                                                          scored["rtable_id"], strict=True))
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, labels=ctx.write("a.csv", text), budget="6"), expect="ok",
                   check=lambda o, e: run_ok(ctx, out, min_labels=6)(o, e))


add("answers", "de-duplication answers written in the other order", _reversed_answers)


def _zero_ids(ctx: Ctx) -> Outcome:
    """Pool ids 0..n-1 written 0.0 / 00 in the answer file: never stored as anything."""
    frame = ctx.people.assign(id=[str(i) for i in range(len(ctx.people))])
    left = ctx.write("p.csv", frame.to_csv(index=False))
    n = len(frame)
    rows = [(f"{i}.0", f"{j:03d}", 1) for i in range(n) for j in range(n) if i < j]
    labels = ctx.write("a.csv", pd.DataFrame(rows, columns=["ltable_id", "rtable_id", "label"])
                       .to_csv(index=False))
    out = ctx.fresh("run")
    store = out / "labels.sqlite"

    def check(o, e):
        n = len(store_rows(store))
        return f"{n} answers stored from misspelt ids" if n else ""

    return ctx.cli(ctx.run_args(out, left=left, labels=labels), expect="either",
                   says=("a.csv",), check=check)


add("answers", "ids written 0.0 / 007 for pool ids 0 / 7", _zero_ids)


def _partial(ctx: Ctx) -> Outcome:
    """An answer file for a few pairs and a larger budget: the run ends when the file has no
    more answers, having stored exactly those."""
    scored = pd.read_csv(ctx.scored, dtype=str)
    keys = sorted(scored["ltable_id"] + "|" + scored["rtable_id"])[:6]  # candidates
    text = "key,label\n" + "\n".join(f"{k},{ctx.gold[k]}" for k in keys) + "\n"
    out = ctx.fresh("run")
    store = out / "labels.sqlite"
    return ctx.cli(ctx.run_args(out, labels=ctx.write("a.csv", text), budget="20"),
                   expect="ok", check=lambda o, e: run_ok(ctx, out, store)(o, e))


add("answers", "answer file runs out before the budget", _partial)


# evaluate -----------------------------------------------------------------------------------


def eval_args(ctx: Ctx, predictions: Path, labels: Path | None = None, *extra) -> list:
    return ["evaluate", "--predictions", predictions, "--oracle", "file", "--labels",
            labels or ctx.answers, "--output", ctx.fresh("eval"), "--n", "5", *extra]


def _eval_ok(out_marker: str = "F1 estimate"):
    def check(o, e):
        if out_marker not in o:
            return "no estimate printed"
        if "nan" in o.split("F1 estimate", 1)[-1][:20]:
            return "F1 estimate is nan"
        return ""
    return check


add("evaluate", "a run's scored pairs", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.scored), expect="ok", check=_eval_ok()))
add("evaluate", "predictions without id columns", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", "prediction,score\n1,0.9\n0,0.1\n1,0.7\n")),
    says=("p.csv",)))
add("evaluate", "labels answering none of the predictions", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.scored, ctx.write("a.csv", "ltable_id,rtable_id,label\nx,y,1\n")),
    says=("a.csv", "none")))
add("evaluate", "prediction column missing", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", "ltable_id,rtable_id,score\na,b,0.5\n")),
    says=("prediction",)))
add("evaluate", "predictions not 0/1", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", "ltable_id,rtable_id,prediction,score\na,b,2,0.5\n")),
    says=("prediction", "p.csv")))
add("evaluate", "scores outside [0, 1]", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", "ltable_id,rtable_id,prediction,score\na,b,1,7\nc,d,0,-2\n")),
    says=("score",)))
add("evaluate", "scores as text", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", "ltable_id,rtable_id,prediction,score\na,b,1,high\n")),
    says=("score",)))
add("evaluate", "empty predictions file", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", "")), says=("p.csv",)))
add("evaluate", "predictions file is a folder", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.fresh("pred")), says=("pred",)))
add("evaluate", "semicolon-separated predictions", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.write("p.csv", pd.read_csv(ctx.scored, dtype=str).to_csv(
        index=False, sep=";"))), says=("p.csv",), expect="either", check=_eval_ok()))
for _n in ("0", "-3"):
    add("evaluate", f"--n {_n}", lambda ctx, n=_n: ctx.cli(
        eval_args(ctx, ctx.scored)[:-2] + ["--n", n], says=("--n",)))
add("evaluate", "--alpha 0 (recall)", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.scored, None, "--alpha", "0"), expect="ok", check=_eval_ok()))
for _alpha in ("1.5", "-1", "nan"):
    add("evaluate", f"--alpha {_alpha}", lambda ctx, a=_alpha: ctx.cli(
        eval_args(ctx, ctx.scored, None, "--alpha", a), says=("--alpha",)))
add("evaluate", "--seed -5", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.scored, None, "--seed", "-5"), says=("--seed",)))
add("evaluate", "--output is a file", lambda ctx: ctx.cli(
    eval_args(ctx, ctx.scored)[:-4] + ["--output", ctx.people_csv, "--n", "5"],
    says=("--output",), keep=(ctx.people_csv,)))


def _eval_leading_zero_ids(ctx: Ctx) -> Outcome:
    """Predictions and labels that both spell ids 007: answers must be found."""
    text = "ltable_id,rtable_id,prediction,score\n" + "".join(
        f"{i:03d},{j:03d},{int(i % 3 == 0)},{0.9 if i % 3 == 0 else 0.1}\n"
        for i in range(12) for j in range(i + 1, i + 3))
    labels = "ltable_id,rtable_id,label\n" + "".join(
        f"{i:03d},{j:03d},{int(i % 3 == 0)}\n" for i in range(12) for j in range(i + 1, i + 3))
    return ctx.cli(eval_args(ctx, ctx.write("p.csv", text), ctx.write("l.csv", labels)),
                   expect="ok", check=lambda o, e: "" if "(5 new)" in o or "5 labels" in o
                   else f"answers not found: {o.strip()[-120:]!r}")


add("evaluate", "ids with leading zeros in both files", _eval_leading_zero_ids)


def _eval_keeps_train(ctx: Ctx) -> Outcome:
    store = ctx.store_copy()
    return ctx.cli(eval_args(ctx, ctx.scored, None, "--store", store), expect="ok",
                   check=_eval_ok(), grow=(store,))


add("evaluate", "evaluate into a run's store keeps its labels", _eval_keeps_train)


def _undo_in_evaluate(ctx: Ctx) -> Outcome:
    """An oracle that answers undo first: refused with a word, one answer stored."""
    from active.cli import EvaluationAsker
    from active.store import LabelStore
    from blocking.answers import Answer

    class UndoFirst:
        def __init__(self):
            self.calls = 0

        def ask(self, view):
            self.calls += 1
            return Answer.UNDO if self.calls == 1 else Answer.MATCH

    frame = pd.read_csv(ctx.scored, dtype={"ltable_id": str, "rtable_id": str})
    path = ctx.fresh("st") / "s.sqlite"

    def go():
        with LabelStore(path) as store:
            asker = EvaluationAsker(UndoFirst(), store, frame)
            return asker(0), store.history("evaluate")

    return ctx.api(go, expect="ok",
                   check=lambda r, w: "" if len(r[1]) == 1 and r[0] is Answer.MATCH
                   else f"{len(r[1])} rows stored")


add("evaluate", "undo while estimating F1", _undo_in_evaluate)

# configs ------------------------------------------------------------------------------------


def config_run(ctx: Ctx, name: str, text: str | bytes, says: tuple) -> Outcome:
    return ctx.cli(["run", "--config", ctx.write(name, text)], says=says)


add("config", "batch-size and batch_size", lambda ctx: config_run(
    ctx, "c.json", '{"batch-size": 5, "batch_size": 6}', ("batch", "twice")))
add("config", "batch-size and batch_size (TOML)", lambda ctx: config_run(
    ctx, "c.toml", "batch-size = 5\nbatch_size = 6\n", ("batch", "twice")))
add("config", "budget = true", lambda ctx: config_run(ctx, "c.toml", "budget = true\n",
                                                      ("budget", "boolean")))
add("config", "budget = 'ten'", lambda ctx: config_run(ctx, "c.json", '{"budget": "ten"}',
                                                       ("budget", "ten")))
add("config", "budget = 2.5", lambda ctx: config_run(ctx, "c.json", '{"budget": 2.5}',
                                                     ("budget", "2.5")))
add("config", "k = 0", lambda ctx: config_run(ctx, "c.json", '{"k": 0}', ("(k)",)))
add("config", "seed = -1", lambda ctx: config_run(ctx, "c.json", '{"seed": -1}', ("seed",)))
add("config", "seed = 2**40", lambda ctx: config_run(ctx, "c.json", '{"seed": 1099511627776}',
                                                     ("seed",)))
add("config", "one_to_one = 1", lambda ctx: config_run(ctx, "c.json", '{"one_to_one": 1}',
                                                       ("one_to_one",)))
add("config", "max_cluster = 1", lambda ctx: config_run(ctx, "c.json", '{"max_cluster": 1}',
                                                        ("max_cluster",)))
add("config", "selector = 'nonsense'", lambda ctx: config_run(
    ctx, "c.json", '{"selector": "nonsense"}', ("selector", "nonsense")))
add("config", "unknown key", lambda ctx: config_run(ctx, "c.json", '{"budjet": 3}',
                                                    ("budjet",)))
add("config", "duplicate key in JSON", lambda ctx: config_run(
    ctx, "c.json", '{"budget": 3,\n "budget": 4}', ("budget", "twice")))
add("config", "JSON syntax error", lambda ctx: config_run(
    ctx, "c.json", '{"budget": 3,,}', ("c.json", "line 1")))
add("config", "TOML syntax error", lambda ctx: config_run(ctx, "c.toml", "budget = = 3\n",
                                                          ("c.toml", "line 1")))
add("config", "a JSON list", lambda ctx: config_run(ctx, "c.json", "[1, 2]", ("c.json",)))
add("config", "empty config file", lambda ctx: config_run(ctx, "c.json", "", ("c.json",)))
add("config", "latin-1 config", lambda ctx: config_run(
    ctx, "c.json", '{"left": "m\u00fcller.csv"}'.encode("latin-1"), ("c.json", "utf-8")))
add("config", "config missing", lambda ctx: ctx.cli(["run", "--config", ctx.root / "no.toml"],
                                                    says=("no.toml",)))
add("config", "config is a folder", lambda ctx: ctx.cli(["run", "--config", ctx.fresh("cfg")],
                                                        says=("folder",)))
add("config", "YAML config", lambda ctx: config_run(ctx, "c.yaml", "budget: 3\n", ("c.yaml",)))
add("config", "nested table in TOML", lambda ctx: config_run(
    ctx, "c.toml", "[run]\nbudget = 3\n", ("run",)))


def _config_ok(ctx: Ctx) -> Outcome:
    out = ctx.fresh("run")
    config = {"left": str(ctx.people_csv), "lfs": str(ctx.lfs), "blocking": "sorted",
              "block-on": "surname", "oracle": "file", "labels": str(ctx.answers),
              "output": str(out), "budget": 3, "batch_size": 3}
    return ctx.cli(["run", "--config", ctx.write("c.json", json.dumps(config))], expect="ok",
                   check=run_ok(ctx, out))


add("config", "a valid config runs", _config_ok)

# options ------------------------------------------------------------------------------------


def opt_run(ctx: Ctx, option: str, value: str, says: tuple) -> Outcome:
    store = ctx.store_copy()
    return ctx.cli(ctx.run_args(ctx.fresh("run"), store=store) + [option, value], says=says,
                   keep=(store,))


for _opt, _values in {
    "--k": ("0", "-1"), "--budget": ("-1", "-100"), "--batch-size": ("0", "-2"),
    "--seed": ("-5", "4294967296"), "--window": ("0", "-3"), "--max-cluster": ("1", "abc", "0"),
    "--port": ("0", "70000", "-1"),
}.items():
    for _v in _values:
        add("options", f"run {_opt} {_v}",
            lambda ctx, o=_opt, v=_v: opt_run(ctx, o, v, (o,)))
for _opt in ("--k", "--budget", "--batch-size", "--seed", "--window"):
    add("options", f"run {_opt} abc (argparse)",
        lambda ctx, o=_opt: opt_run(ctx, o, "abc", (o,)))
add("options", "run --selector nonsense",
    lambda ctx: opt_run(ctx, "--selector", "nonsense", ("--selector", "nonsense")))
add("options", "run --k 1000000000 (more than the records)",
    lambda ctx: (lambda out: ctx.cli(
        ctx.run_args(out, extra=("--blocking", "tfidf", "--k", "1000000000")),
        expect="either", says=("--k",),
        check=run_ok(ctx, out)))(ctx.fresh("run")))
add("options", "run --budget 0 (the LFs alone)",
    lambda ctx: (lambda out: ctx.cli(ctx.run_args(out, budget="0"), expect="ok",
                                     check=lambda o, e: "" if (out / "scored_pairs.csv").exists()
                                     and not store_rows(out / "labels.sqlite") else
                                     "labels stored or no output"))(ctx.fresh("run")))
add("options", "run --budget larger than the pool",
    lambda ctx: (lambda out: ctx.cli(ctx.run_args(out, budget="100000") + ["--batch-size", "40"],
                                     expect="ok", check=run_ok(ctx, out)))(ctx.fresh("run")))
add("options", "run --batch-size 1000000",
    lambda ctx: (lambda out: ctx.cli(ctx.run_args(out) + ["--batch-size", "1000000"],
                                     expect="ok", check=run_ok(ctx, out)))(ctx.fresh("run")))
add("options", "run without --block-on for tfidf",
    lambda ctx: ctx.cli(["run", "--left", ctx.people_csv, "--lfs", ctx.lfs, "--oracle", "file",
                         "--labels", ctx.answers, "--output", ctx.fresh("run")],
                        says=("--block-on",)))
add("options", "run without --lfs", lambda ctx: ctx.cli(
    ["run", "--left", ctx.people_csv, "--output", ctx.fresh("run")], says=("--lfs",)))
add("options", "run --oracle file without --labels", lambda ctx: ctx.cli(
    ["run", "--left", ctx.people_csv, "--lfs", ctx.lfs, "--blocking", "sorted", "--block-on",
     "surname", "--oracle", "file", "--output", ctx.fresh("run")], says=("--labels",)))
add("options", "run --one-to-one with one table", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), extra=("--one-to-one",)), says=("--one-to-one",)))
add("options", "run --output is an existing file", lambda ctx: ctx.cli(
    ctx.run_args(ctx.people_csv), says=("--output", "file"), keep=(ctx.people_csv,)))
add("options", "run --output under a file", lambda ctx: ctx.cli(
    ctx.run_args(ctx.people_csv / "sub"), says=("people.csv",), keep=(ctx.people_csv,)))
add("options", "run --output in /proc", lambda ctx: ctx.cli(
    ctx.run_args(Path("/proc/riskweasul-out")), says=("/proc",)))
add("options", "--threads 100000", lambda ctx: ctx.cli(
    ["--threads", "100000", *ctx.run_args(ctx.fresh("run"))], says=("--threads",)))
add("options", "--threads abc", lambda ctx: ctx.cli(
    ["--threads", "abc", "lfs", "--lfs", ctx.lfs], says=("--threads",)))
for _v in ("0", "-3"):
    add("options", f"--threads {_v}", lambda ctx, v=_v: ctx.cli(
        ["--threads", v, "lfs", "--lfs", ctx.lfs], says=("--threads",)))
for _opt, _v in (("--budget", "-1"), ("--batch-size", "0"), ("--entities", "0"),
                 ("--entities", "-5"), ("--oasis", "-1"), ("--seed", "-1"), ("--port", "0")):
    add("options", f"demo {_opt} {_v}", lambda ctx, o=_opt, v=_v: ctx.cli(
        ["demo", "--output", ctx.fresh("demo"), "--entities", "20", "--budget", "2", o, v],
        says=(o,)))


def _demo_keeps_run_store(ctx: Ctx) -> Outcome:
    out = ctx.fresh("demo")
    store = out / "labels.sqlite"
    shutil.copy(ctx.store, store)
    return ctx.cli(["demo", "--output", out, "--entities", "20", "--budget", "2"],
                   says=("labels.sqlite",), keep=(store,))


add("stores", "demo --output over a run's folder keeps its labels", _demo_keeps_run_store)


def _demo_small(ctx: Ctx) -> Outcome:
    out = ctx.fresh("demo")
    return ctx.cli(["demo", "--dataset", "synthetic", "--output", out, "--entities", "25",
                    "--budget", "4", "--batch-size", "4", "--oasis", "20"], expect="ok",
                   check=lambda o, e: "" if "OASIS F1 estimate" in o else "no estimate")


add("options", "demo on 25 entities", _demo_small)

# stores -------------------------------------------------------------------------------------


def store_run(ctx: Ctx, store: Path, says: tuple, expect: str = "error", left=None,
              check=None, labels=None) -> Outcome:
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, store=store, left=left, labels=labels), says=says,
                   expect=expect,
                   keep=(store,) if expect == "error" else (), grow=(store,),
                   check=check(out) if check else None)


add("stores", "a 0-byte store",
    lambda ctx: store_run(ctx, ctx.write("s.sqlite", b""), ("s.sqlite", "empty")))
add("stores", "a text file as store",
    lambda ctx: store_run(ctx, ctx.write("s.sqlite", "hello\n"), ("s.sqlite",)))
add("stores", "the answer CSV given as --store",
    lambda ctx: store_run(ctx, ctx.answers, ("answers.csv",)))


def _foreign_sqlite(ctx: Ctx) -> Path:
    path = ctx.fresh("st") / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER, name TEXT)")
        conn.execute("INSERT INTO customers VALUES (1, 'a')")
    return path


add("stores", "an SQLite database of another program",
    lambda ctx: store_run(ctx, _foreign_sqlite(ctx), ("other.db", "another application")))


def _newer_schema(ctx: Ctx) -> Path:
    path = ctx.store_copy()
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=99")
    return path


add("stores", "a store of a newer schema",
    lambda ctx: store_run(ctx, _newer_schema(ctx), ("labels.sqlite", "newer")))


def _corrupt(ctx: Ctx, how: str) -> Path:
    path = ctx.store_copy()
    data = bytearray(path.read_bytes())
    if how == "truncated":
        data = data[: len(data) // 2 + 100]
    elif how == "header":
        data[:16] = b"garbage garbage!"
    else:
        for i in range(len(data) // 2, len(data), 97):
            data[i] = (data[i] + 101) % 256
    path.write_bytes(bytes(data))
    return path


for _how in ("truncated", "header", "flipped"):
    add("stores", f"a {_how} store", lambda ctx, h=_how: store_run(
        ctx, _corrupt(ctx, h), ("labels.sqlite",)))


def _locked(ctx: Ctx) -> Outcome:
    path = ctx.store_copy()
    conn = sqlite3.connect(path, isolation_level=None, timeout=0.1)
    conn.execute("BEGIN EXCLUSIVE")
    try:
        return store_run(ctx, path, ("labels.sqlite",))
    finally:
        conn.execute("ROLLBACK")
        conn.close()


add("stores", "a store locked by another process", _locked)


def _read_only(ctx: Ctx) -> Outcome:
    if os.geteuid() == 0:
        return Outcome("not run", "running as root: file permissions do not bind")
    path = ctx.store_copy()
    path.chmod(0o444)
    return store_run(ctx, path, ("labels.sqlite",))


add("stores", "a read-only store", _read_only)


def _without_wal(ctx: Ctx) -> Outcome:
    """A store copied without '-wal'/'-shm' companions keeps every answer."""
    path = ctx.fresh("st") / "copy.sqlite"
    shutil.copy(ctx.store, path)
    before = len(store_rows(ctx.store))
    return store_run(ctx, path, (), expect="ok", check=lambda out: lambda o, e: "" if len(
        store_rows(path)) >= before else "answers lost")


add("stores", "a store copied without its -wal file", _without_wal)


def _stale_wal(ctx: Ctx) -> Outcome:
    """A stray '-wal' of another database beside the store."""
    path = ctx.store_copy()
    Path(str(path) + "-wal").write_bytes(b"\x00" * 100)
    return store_run(ctx, path, ("labels.sqlite",), expect="either",
                     check=lambda out: run_ok(ctx, out, path))


add("stores", "a store with a stray -wal file", _stale_wal)


def _other_tables(ctx: Ctx) -> Outcome:
    frame = ctx.people.copy()
    frame["given_name"] = frame["given_name"].fillna("") + "x"
    return store_run(ctx, ctx.store_copy(), ("labels.sqlite", "other"),
                     left=ctx.write("people.csv", frame.to_csv(index=False)))


add("stores", "a store of other tables with the same ids", _other_tables)
def _store_of_other_ids(ctx: Ctx) -> Outcome:
    frame = ctx.people.assign(id="x-" + ctx.people["id"])
    answers = {k.replace("rec-", "x-rec-"): y for k, y in ctx.gold.items()}
    file = ctx.write("a.csv", "key,label\n" + "".join(f"{k},{y}\n" for k, y in answers.items()))
    return store_run(ctx, ctx.store_copy(), ("labels.sqlite", "none about"),
                     left=ctx.write("people.csv", frame.to_csv(index=False)), labels=file)


add("stores", "a store whose answers are all about other pairs", _store_of_other_ids)


def _store_partly_other(ctx: Ctx) -> Outcome:
    store = ctx.store_copy()
    with sqlite3.connect(store) as conn:
        conn.execute("INSERT INTO events (pair_key, kind, label, stream, time) "
                     "VALUES ('ghost|pair', 'label', 1, 'train', 0)")
    return store_run(ctx, store, (), expect="ok", check=lambda out: lambda o, e: (
        run_ok(ctx, out, store, answers={**ctx.gold, "ghost|pair": 1})(o, e)
        if "1 answers in" in o else "foreign answer not reported"))


add("stores", "a store with one answer about a pair outside the pool", _store_partly_other)
add("stores", "--store is a folder", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), store=ctx.fresh("dir")), says=("dir", "directory")))
add("stores", "--store in a missing folder", lambda ctx: ctx.cli(
    ctx.run_args(ctx.fresh("run"), store=ctx.root / "no" / "s.sqlite"), says=("no",)))


def _resume(ctx: Ctx) -> Outcome:
    path = ctx.store_copy()
    before = len({r[1] for r in store_rows(path)})
    out = ctx.fresh("run")
    return ctx.cli(ctx.run_args(out, store=path, budget=str(before + 3)), expect="ok",
                   grow=(path,), check=lambda o, e: run_ok(ctx, out, path, before + 1)(o, e))


add("stores", "resuming a store adds to its answers", _resume)


def _rerun_same_output(ctx: Ctx) -> Outcome:
    out = ctx.fresh("run")
    shutil.copytree(ctx.base_out, out, dirs_exist_ok=True)
    store = out / "labels.sqlite"
    return ctx.cli(ctx.run_args(out, budget="6"), expect="ok", grow=(store,),
                   check=run_ok(ctx, out, store))


add("stores", "rerun into a finished run's folder", _rerun_same_output)


def _api_store(ctx: Ctx, make, says):
    from active.store import LabelStore
    path = make(ctx)
    return ctx.api(lambda: LabelStore(path), says=says, keep=(path,))


add("stores", "LabelStore on a 0-byte file (API)",
    lambda ctx: _api_store(ctx, lambda c: c.write("s.db", b""), ("empty",)))
add("stores", "LabelStore on a foreign database (API)",
    lambda ctx: _api_store(ctx, _foreign_sqlite, ("another application",)))
add("stores", "LabelStore.add with label 2 (API)", lambda ctx: ctx.api(
    lambda: __import__("active.store").store.LabelStore().add("a|b", 2), says=("a|b", "2")))
add("stores", "LabelStore.add with label True (API)", lambda ctx: ctx.api(
    lambda: __import__("active.store").store.LabelStore().add("a|b", True), says=("True",)))


def _interrupt(ctx: Ctx) -> Outcome:
    """Ctrl-C in the middle of a run (a real process): exit 130, one line, no answer lost."""
    store = ctx.store_copy()
    before = len(store_rows(store))
    out = ctx.fresh("run")
    argv = [sys.executable, "-m", "active.cli", *ctx.run_args(out, store=store, budget="60")]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    # a shell's background job inherits SIGINT ignored; the child must get the default back
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(store_rows(store)) < before + 3:
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    try:
        stdout, stderr = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return Outcome("vague", "did not stop within 60 s of Ctrl-C")
    if "Traceback" in stderr:
        return Outcome("traceback", stderr.strip().splitlines()[-1][:300])
    if len(store_rows(store)) < before:
        return Outcome("data loss", "answers vanished")
    if proc.returncode != 130:
        return Outcome("vague", f"exit {proc.returncode}")
    return Outcome("clear error")


add("stores", "Ctrl-C during a run", _interrupt)


def _subprocess(ctx: Ctx, argv: list, says: tuple) -> Outcome:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "active.cli", *map(str, argv)], cwd=ctx.root,
                          env=env, capture_output=True, text=True, timeout=300)
    return classify(proc.returncode, proc.stdout, proc.stderr, None, "error", says, None, {},
                    set())


add("lfs", "sys.exit(0) in an LF file (a real process)", lambda ctx: _subprocess(
    ctx, ctx.run_args(ctx.fresh("run"), lfs=lf_file(ctx, "sys.exit(0)")), ("my_lfs.py",)))
add("options", "--threads 0 (a real process)", lambda ctx: _subprocess(
    ctx, ["--threads", "0", "lfs", "--lfs", ctx.lfs], ("--threads",)))
add("options", "--threads -3 with run (a real process)", lambda ctx: _subprocess(
    ctx, ["--threads", "-3", *ctx.run_args(ctx.fresh("run"))], ("--threads",)))

# model files --------------------------------------------------------------------------------


def _score(ctx: Ctx, model: Path, says: tuple, expect="error", check=None, extra=()):
    out = ctx.fresh("score") / "scores.csv"
    return ctx.cli(["score", "--model", model, "--left", ctx.people_csv, "--output", out, *extra],
                   says=says, expect=expect, check=check(out) if check else None)


def _scores_ok(ctx: Ctx):
    def make(out: Path):
        def check(o, e):
            if not out.exists():
                return "no scores file"
            frame = pd.read_csv(out, dtype=str)
            scored = pd.read_csv(ctx.scored, dtype=str)
            return "" if len(frame) == len(scored) else f"{len(frame)} rows vs {len(scored)}"
        return check
    return make


add("models", "score with the run's model", lambda ctx: _score(ctx, ctx.model, (), "ok",
                                                               _scores_ok(ctx)))
add("models", "score: model file of garbage", lambda ctx: _score(
    ctx, ctx.write("m.riskweasul", os.urandom(2000)), ("m.riskweasul", "not a riskweasul")))
add("models", "score: empty model file", lambda ctx: _score(
    ctx, ctx.write("m.riskweasul", b""), ("m.riskweasul",)))
add("models", "score: truncated model file", lambda ctx: _score(
    ctx, ctx.write("m.riskweasul", ctx.model.read_bytes()[: ctx.model.stat().st_size // 2]),
    ("m.riskweasul", "damaged")))
add("models", "score: header only", lambda ctx: _score(
    ctx, ctx.write("m.riskweasul", ctx.model.read_bytes().split(b"\n", 1)[0] + b"\n"),
    ("m.riskweasul",)))
add("models", "score: a header of format 99", lambda ctx: _score(
    ctx, ctx.write("m.riskweasul", b'RISKWEASUL-MODEL {"kind": "RunModel", "format": 99}\n'),
    ("m.riskweasul", "format")))
add("models", "score: damaged header JSON", lambda ctx: _score(
    ctx, ctx.write("m.riskweasul", b"RISKWEASUL-MODEL {kind\n" + b"x" * 50),
    ("m.riskweasul", "header")))
add("models", "score: a torch checkpoint", lambda ctx: _score(
    ctx, ctx.write("m.pt", b"PK\x03\x04" + os.urandom(500)), ("m.pt",)))
add("models", "score: model path is a folder", lambda ctx: _score(
    ctx, ctx.fresh("model"), ("folder",)))
add("models", "score: model missing", lambda ctx: _score(
    ctx, ctx.root / "none.riskweasul", ("none.riskweasul",)))
add("models", "score: tables lacking the run's attributes", lambda ctx: ctx.cli(
    ["score", "--model", ctx.model, "--left", ctx.write("p.csv", "id,title\n1,a\n2,b\n"),
     "--output", ctx.fresh("score") / "s.csv", "--pairs", ctx.write(
         "pairs.csv", "ltable_id,rtable_id\n1,2\n")], says=("surname",)))
add("models", "score: --lfs is not the run's LF file", lambda ctx: _score(
    ctx, ctx.model, ("lfs",), extra=("--lfs", lf_file(ctx, "bad = same_soc",
                                                       names="same_soc, other_name"))))
add("models", "score: --output is a folder", lambda ctx: ctx.cli(
    ["score", "--model", ctx.model, "--left", ctx.people_csv, "--output", ctx.fresh("o")],
    says=("folder",)))
add("models", "score: --output in a missing folder", lambda ctx: ctx.cli(
    ["score", "--model", ctx.model, "--left", ctx.people_csv, "--output",
     ctx.root / "missing" / "s.csv"], says=("missing",)))
add("models", "score without --left", lambda ctx: ctx.cli(
    ["score", "--model", ctx.model], says=("--left",)))


def _matcher_file(ctx: Ctx) -> Path:
    from active.model import load_run_model

    path = ctx.fresh("m") / "matcher.bin"
    load_run_model(ctx.model).matcher.save(path)
    return path


def _matchers():
    from matchers import RNNMatcher, SimilarityMatcher

    return RNNMatcher, SimilarityMatcher


add("models", "RNNMatcher.load on a SimilarityMatcher file", lambda ctx: ctx.api(
    lambda: _matchers()[0].load(_matcher_file(ctx)), says=("SimilarityMatcher",)))
add("models", "SimilarityMatcher.load on its own file", lambda ctx: ctx.api(
    lambda: _matchers()[1].load(_matcher_file(ctx)), expect="ok",
    check=lambda m, w: "" if type(m).__name__ == "SimilarityMatcher" else type(m).__name__))
add("models", "RNNMatcher.load on garbage", lambda ctx: ctx.api(
    lambda: _matchers()[0].load(ctx.write("g.bin", os.urandom(300))), says=("g.bin",)))
add("models", "RNNMatcher.load on an empty file", lambda ctx: ctx.api(
    lambda: _matchers()[0].load(ctx.write("g.bin", b"")), says=("g.bin",)))
add("models", "RNNMatcher.load on a truncated file", lambda ctx: ctx.api(
    lambda: _matchers()[1].load(ctx.write("g.bin", _matcher_file(ctx).read_bytes()[:200])),
    says=("g.bin",)))
add("models", "load_run_model on a matcher file", lambda ctx: ctx.api(
    lambda: __import__("active.model").model.load_run_model(_matcher_file(ctx)),
    says=("SimilarityMatcher",)))
add("models", "saving a matcher into a missing folder", lambda ctx: ctx.api(
    lambda: __import__("active.model").model.load_run_model(ctx.model).matcher.save(
        ctx.root / "absent" / "m.bin"), says=("absent",)))
add("models", "saving an unfitted matcher", lambda ctx: ctx.api(
    lambda: _matchers()[1]().save(ctx.fresh("m") / "m.bin"), says=("fit",)))
add("models", "scoring with an unfitted matcher", lambda ctx: ctx.api(
    lambda: _matchers()[1]().match_proba(pd.read_csv(ctx.scored)), says=("fit",)))
add("models", "pickle with a forged header of the right kind", lambda ctx: ctx.api(
    lambda: _matchers()[1].load(ctx.write(
        "f.bin", b'RISKWEASUL-MODEL {"kind": "SimilarityMatcher", "format": 1}\n' +
        __import__("pickle").dumps({"not": "a matcher"}))), says=("f.bin",)))


# more harsh cases ---------------------------------------------------------------------------

add("models", "score: --pairs with unknown ids", lambda ctx: _score(
    ctx, ctx.model, ("pairs.csv", "ghost"), extra=("--pairs", ctx.write(
        "pairs.csv", f"ltable_id,rtable_id\n{_ID0},ghost\n"))))
add("lfs", "lfs command: flattened pairs with label 'yes'", lambda ctx: ctx.cli(
    ["lfs", "--lfs", ctx.lfs, "--pairs", ctx.write(
        "p.csv", "left_surname,right_surname,label\nsmith,smith,yes\n")], says=("p.csv", "label")))
add("config", "config 'left' is a folder", lambda ctx: config_run(
    ctx, "c.json", json.dumps({"left": str(ctx.root), "lfs": str(ctx.lfs), "blocking": "sorted",
                               "block_on": "surname", "oracle": "file",
                               "labels": str(ctx.answers)}), ("folder",)))
add("lfs", "a plain Snorkel LF in the list", lambda ctx: (lambda out: ctx.cli(
    ctx.run_args(out, lfs=ctx.write("snork.py", LF_HEAD + GOOD_LF + (
        "from snorkel.labeling import labeling_function as slf\n"
        "@slf()\ndef plain(x):\n    return 1 if x.left_surname == x.right_surname else -1\n"
        "lfs = [same_soc, other_name, plain]\n"))), expect="ok",
    check=run_ok(ctx, out)))(ctx.fresh("run")))
add("tables", "the same file as --left and --right", lambda ctx: (lambda out: ctx.cli(
    ctx.run_args(out, extra=("--right", ctx.people_csv)), expect="ok",
    check=lambda o, e: "" if (out / "scored_pairs.csv").exists() else "no output"))(
    ctx.fresh("run")))
add("options", "demo --dataset febrl (optional extra)", lambda ctx: ctx.cli(
    ["demo", "--dataset", "febrl", "--output", ctx.fresh("demo"), "--budget", "2"],
    expect="either", says=("febrl",),
    check=lambda o, e: "" if "OASIS F1 estimate" in o else "no estimate"))


def _pairs_file_run(ctx: Ctx, rows: list[tuple[str, str]], says: tuple) -> Outcome:
    file = ctx.write("pairs.csv", "ltable_id,rtable_id\n" + "".join(f"{a},{b}\n"
                                                                     for a, b in rows))
    out = ctx.fresh("run")

    def check(o, e):
        scored = pd.read_csv(out / "scored_pairs.csv", dtype=str)
        got = {frozenset(p) for p in zip(scored["ltable_id"], scored["rtable_id"], strict=True)}
        if len(got) != len(scored):
            return f"{len(scored)} rows for {len(got)} distinct pairs"
        if any(len(p) == 1 for p in got):
            return "a record paired with itself was scored"
        return ""

    return ctx.cli(ctx.run_args(out, extra=("--pairs", file)), expect="either", says=says,
                   check=check)


_IDS = ["rec-7-org", "rec-12-dup-0", "rec-13-dup-0", "rec-12-org"]
add("pairs", "de-duplication pairs file with a pair in both orders", lambda ctx: _pairs_file_run(
    ctx, [(_IDS[0], _IDS[1]), (_IDS[1], _IDS[0]), (_IDS[2], _IDS[3]), (_IDS[1], _IDS[3])],
    ("pairs.csv",)))
add("pairs", "de-duplication pairs file with a record paired with itself",
    lambda ctx: _pairs_file_run(ctx, [(_IDS[0], _IDS[0]), (_IDS[2], _IDS[3]),
                                      (_IDS[1], _IDS[3])], ("pairs.csv",)))


# running and reporting ----------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run the cases whose name holds this text")
    parser.add_argument("--keep", help="keep the case files in this folder")
    parser.add_argument("--output", default=str(RESULTS), help="results markdown file")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="bad_input_"))
    root.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    cwd = os.getcwd()
    os.chdir(root)  # some cases write relative paths (e.g. riskweasul-out)
    try:
        ctx = Ctx(root)
        rows = []
        for c in CASES:
            if args.only.lower() not in f"{c.group} {c.name}".lower():
                continue
            t0 = time.monotonic()
            try:
                outcome = c.run(ctx)
            except Exception as exc:  # noqa: BLE001 - a broken case must not stop the corpus
                outcome = Outcome("traceback", f"in the case itself: {type(exc).__name__}: "
                                               f"{exc}"[:300])
            rows.append((c, outcome, time.monotonic() - t0))
            mark = "" if outcome.cls not in FAILING else f"  <- {outcome.detail}"
            print(f"[{outcome.cls:>14}] {c.group}: {c.name} ({rows[-1][2]:.1f} s){mark}",
                  flush=True)
    finally:
        os.chdir(cwd)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    write_results(rows, time.monotonic() - started, Path(args.output), args.only)
    return 0


def write_results(rows, seconds: float, path: Path, only: str) -> None:
    counts = Counter(o.cls for _, o, _ in rows)
    command = "python benchmarks/bad_input_corpus.py" + (f" --only {only!r}" if only else "")
    lines = [
        "# Bad-input corpus",
        "",
        f"Command: `{command}` (OMP_NUM_THREADS=1, nice -n 10); "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC; {len(rows)} cases in {seconds:.0f} s on a "
        "shared 2-core machine.",
        "",
        "Each case is a bad or unusual input run through `riskweasul run|demo|evaluate|score|"
        "lfs` (in-process `cli.main`, or a real process where the process matters) or the "
        "Python API, with its own check of what is correct. Classes are in the script's "
        "docstring.",
        "",
        "| class | cases |",
        "|---|---:|",
        *[f"| {c} | {counts.get(c, 0)} |" for c in CLASSES],
        f"| **total** | **{len(rows)}** |",
        "",
        "| group | cases |",
        "|---|---:|",
        *[f"| {g} | {n} |" for g, n in Counter(c.group for c, _, _ in rows).items()],
        "",
        "## Failing cases",
        "",
    ]
    failing = [(c, o) for c, o, _ in rows if o.cls in FAILING]
    lines += [f"- **{o.cls}** - {c.group}: {c.name}: {' '.join(o.detail.split())[:240]}"
              for c, o in failing] or ["none"]
    skipped = [(c, o) for c, o, _ in rows if o.cls == "not run"]
    if skipped:
        lines += ["", "## Not run", ""]
        lines += [f"- {c.group}: {c.name}: {o.detail}" for c, o in skipped]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    print(f"\n{dict(counts)}; wrote {path}")


if __name__ == "__main__":
    sys.exit(main())
