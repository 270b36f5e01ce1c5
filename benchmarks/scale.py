"""Scale benchmark: de-duplicate a million synthetic FEBRL-style person records end to end.

Stages, each timed with its CPU time and peak resident memory: generate records
(blocking.make_dirty_records), block (blocking.large_person_blocker, as row positions, every
other key in a forked child process: `--block-fork`; the pair tables reuse its factorized
columns), apply the FEBRL LFs (active/demo_lfs.py) to every
candidate pair in chunks (`--lf-chunk`), run the active loop (ActiveLoop + SimulatedOracle) on a
sampled pool, and score every candidate pair with the loop's final matcher (features computed
once per distinct value pair of each attribute over all candidates: `--by-value`; with trees
that read one attribute each, `--interactions attribute`, each attribute's log-odds term is
also computed once per distinct value pair, `SimilarityMatcher.term_log_odds`, and the terms
summed per candidate). The label
model fitted on all votes (PenalizedLabelModel) is a reference figure, not timed: the loop
fits its own. Libraries are imported before the clock starts, as
Splink's runner does. Pair chunks are built from integer codes of the records' values
(categorical columns), so the LFs and the features work once per distinct value and never
copy strings per pair; the matcher's
featurizer is the lean per-attribute one (`PairFeaturizer(rich=False, record=False,
cross=False, context=False)`, with the digit codes compared as text through `kinds=`;
`--featurizer full` for the default); its trees combine only features of one attribute
(`--interactions attribute`: P(match) a sum of one learned term per attribute, as in the
Fellegi-Sunter model). The loop's pool holds up to `--pool-per-pattern`
candidates of every LF-vote pattern (rare look-alike non-matches included), the rest drawn at
random; candidates are scored in `--score-threads` threads. On Linux, a forked child process applies
the LFs to half of the candidates (`--lf-jobs 2`) and another computes the kept candidates'
features per distinct value pair while the loop runs (`--beside`); their CPU time and private
memory are counted. Candidates that at least three
LFs call a non-match, two more than call a match, are scored 0 without features
(`--drop-votes`; the report counts the true pairs among them). F1 is end to end: recall counts every
true pair, also those the blocker lost; pairwise over the matched pairs and over the
clusters (connected components) they make. `--splink PYTHON` runs Splink on the same records
in the same run; `--repeat K` runs ours and Splink K times on them, alternating who goes
first, and reports every run, the medians and the median time ratio. `--dask` runs
blocking, LFs and scoring on a dask.distributed LocalCluster
(or on `--scheduler tcp://host:8786`). Writes benchmarks/results/scale.md.

    .venv/bin/python benchmarks/scale.py [--records 1000000] [--splink PYTHON] [--repeat K]
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import sys
import time
import warnings
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from _common import append_results, command
from _forked import ForkedCall

from blocking import large_person_blocker, make_dirty_records, shared_codes, value_codes
from blocking.distributed import DistributedBlocker, map_candidates
from blocking.quality import pairs_in
from evaluation import precision_recall_f1
from labeling_functions import apply_lfs, load_lfs
from matchers.distributed import score_candidates

ROOT = Path(__file__).resolve().parents[1]
RECORDS_PER_ENTITY = 1.8  # make_dirty_records' default: 40% of entities get 1-3 duplicates
MB = 1024 * 1024
PREDICT_ROWS = 60_000  # feature rows per prediction call of the --by-value scoring
FORK = sys.platform.startswith("linux")  # --beside and --lf-jobs 2 fork (and read /proc)


# ---- memory: peak resident set per stage, from /proc (Linux) without psutil -----------------
def reset_peak() -> None:
    """Reset this process's peak RSS (VmHWM) so the next reading is the stage's own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass  # not Linux or not allowed: the peak stays the whole run's peak so far


def peak_mb() -> float:
    """Peak RSS in MB since the last reset_peak (VmHWM), else since the process started."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """User + system CPU time of this process (the machine is shared: wall time is noisy);
    the Stages table adds the Dask workers' CPU time to the main process's."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_reset() -> None:
    reset_peak()


def _worker_peak() -> float:
    return peak_mb()


class Stages:
    """Wall time and peak memory (this process + the Dask workers) of each named stage."""

    def __init__(self, client=None):
        self.client = client
        self.rows: list[dict] = []

    def run(self, name: str, fn, *args, **kwargs):
        gc.collect()
        reset_peak()
        workers_cpu = {}
        if self.client is not None:
            self.client.run(_worker_reset)
            workers_cpu = self.client.run(cpu_seconds)
        start, cpu_start = time.perf_counter(), cpu_seconds()
        out = fn(*args, **kwargs)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
        workers = 0.0
        if self.client is not None:
            workers = float(sum(self.client.run(_worker_peak).values()))
            after = self.client.run(cpu_seconds)
            cpu += sum(after[w] - workers_cpu.get(w, 0.0) for w in after)
        self.rows.append(
            {
                "stage": name,
                "seconds": seconds,
                "cpu": cpu,
                "peak_mb": peak_mb(),
                "workers_mb": workers,
            }
        )
        print(
            f"{name:<28} {seconds:8.1f} s  peak {peak_mb():8.0f} MB  workers {workers:6.0f} MB",
            flush=True,
        )
        return out

    def add_child(self, cpu: float, peak_mb: float) -> None:
        """Count a child process's CPU seconds and peak private memory in the last stage."""
        self.rows[-1]["cpu"] += cpu
        self.rows[-1]["workers_mb"] += peak_mb
        print(f"{'':<28} + a child process: {cpu:.1f} CPU s, peak private {peak_mb:.0f} MB",
              flush=True)


# ---- stages ----------------------------------------------------------------------------------
def generate(n_records: int, seed: int):
    n_entities = max(10, round(n_records / RECORDS_PER_ENTITY))
    return make_dirty_records(n_entities=n_entities, seed=seed)


def previous_person_blocker(window: int = 5):
    """The blocker this benchmark used before large_person_blocker became a union of rare
    equality keys: sorted neighbourhoods on names, birth date, ssn and address, plus equal
    ssn and equal (postcode, surname) prefixes. Kept as the baseline of --compare-blockers."""
    from blocking import (
        AttributeEquivalenceBlocker,
        SortedNeighbourhoodBlocker,
        UnionBlocker,
        prefix,
    )

    return UnionBlocker(
        [
            SortedNeighbourhoodBlocker(["surname", "given_name"], window=window),
            SortedNeighbourhoodBlocker("date_of_birth", window=window),
            SortedNeighbourhoodBlocker("soc_sec_id", window=max(2, window - 2)),
            SortedNeighbourhoodBlocker(["address_1", "street_number"], window=window),
            AttributeEquivalenceBlocker("soc_sec_id"),
            AttributeEquivalenceBlocker(["postcode", "surname"], key=prefix(3)),
        ]
    )


def equality_person_blocker_2026_12_05(window: int = 3):
    """large_person_blocker as it was on 2026-12-05 14:00: nine equality keys and the ssn
    sorted neighbourhood (6.9M candidates at 1M records). Baseline of --compare-blockers."""
    from blocking import AttributeEquivalenceBlocker, SortedNeighbourhoodBlocker, UnionBlocker

    keys = [("soc_sec_id",), ("date_of_birth", "surname"), ("date_of_birth", "given_name"),
            ("date_of_birth", "postcode"), ("surname", "given_name", "postcode"),
            ("address_1", "street_number", "surname"), ("suburb", "postcode", "street_number"),
            ("address_1", "suburb")]
    return UnionBlocker([AttributeEquivalenceBlocker(list(k)) for k in keys]
                        + [SortedNeighbourhoodBlocker("soc_sec_id", window=window)])


def compare_blockers(args) -> None:
    """Candidates, pair completeness and time of the previous and the current person blocker
    on the same records; appends a table to benchmarks/results/scale_blocking.md."""
    from blocking import blocking_quality

    load = os.getloadavg()[0]
    records, matches = generate(args.records, args.seed)
    rows = []
    for name, blocker in (
        ("previous (sorted neighbourhoods)", previous_person_blocker()),
        ("nine equality keys + ssn neighbourhood (2026-12-05 14:00)",
         equality_person_blocker_2026_12_05()),
        ("large_person_blocker (14 rare equality keys)", large_person_blocker()),
    ):
        start, cpu = time.perf_counter(), cpu_seconds()
        candidates = blocker.block(records)
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
        q = blocking_quality(candidates, matches, len(records))
        rows.append(
            f"| {name} | {q['n_candidates']:,} | {q['pair_completeness']:.4f} | {seconds:.1f} "
            f"| {cpu:.1f} |"
        )
        print(rows[-1], flush=True)
    cmd = command("scale.py")
    out = ROOT / "benchmarks" / "results" / "scale_blocking.md"
    if not out.exists():
        out.write_text("# Person blocking: candidates and pair completeness\n\n")
    with out.open("a") as fh:
        fh.write(
            f"## {len(records):,} records ({len(matches):,} true pairs)\n\nCommand: `{cmd}`, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, shared 2-core machine, load average "
            f"{load:.1f} before.\n\n"
            "| blocker | candidates | pair completeness | seconds | CPU seconds |\n"
            "|---|---|---|---|---|\n"
            + "\n".join(rows) + "\n\n"
        )


class PairTables:
    """The records' attribute columns as integer codes, so that a chunk of candidate pairs
    (row positions) becomes a pair table of categorical columns without copying strings.

    `digit_columns` are the columns of digit codes (postcode, birth date, id: at least 90% of
    their first 10,000 distinct values all digits): `--digits text` has the featurizer compare
    them as text (`PairFeaturizer(kinds=)`). With `digit_views` (`--digits views`), each also
    appears as `<column>_digits`, its digits spaced out ('2577' -> '2 5 7 7'): a featurizer
    reads that as text, with edit distances that see a swapped or
    mistyped digit, where it would compare the code itself as a number."""

    def __init__(self, records: pd.DataFrame, id_column: str = "id", digit_views: bool = False):
        self.ids = records[id_column].to_numpy()
        self.columns = [c for c in records.columns if c != id_column]
        self.codes, self.categories = {}, {}
        self.digit_columns: list[str] = []
        for column in list(self.columns):
            codes, uniques = value_codes(records, None, column)  # the blocker's, if shared
            self.codes[column] = codes.astype(np.int32)
            self.categories[column] = pd.Index(uniques)
            sample = pd.Series(uniques[:10_000], dtype=object).astype(str)  # (shuffled records)
            if not (len(sample) and sample.str.fullmatch(r"\d+").mean() >= 0.9):
                continue
            self.digit_columns.append(column)
            if digit_views:
                text = pd.Series(uniques, dtype=object).astype(str)
                view = column + "_digits"
                self.columns.append(view)
                self.codes[view] = self.codes[column]
                self.categories[view] = pd.Index(text.map(" ".join))

    def pairs(self, li: np.ndarray, ri: np.ndarray, ids: bool = False) -> pd.DataFrame:
        """The pair layout (left_<attr>, right_<attr>, and the ids when asked) of (li, ri)."""
        data = {}
        if ids:
            data["ltable_id"], data["rtable_id"] = self.ids[li], self.ids[ri]
        for prefix, pos in (("left_", li), ("right_", ri)):
            for column in self.columns:
                data[prefix + column] = pd.Categorical.from_codes(
                    self.codes[column][pos], categories=self.categories[column]
                )
        return pd.DataFrame(data)


def block(records: pd.DataFrame, client, n_jobs: int = 1, fork: bool = False
          ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[float, float] | None]:
    """Candidate pairs as sorted unique row positions (left < right), the blocker's keys in
    `n_jobs` threads, or (`fork`, Linux) every other key in a forked child process meanwhile;
    and the child's CPU seconds and peak private memory (None without a child)."""
    blocker = large_person_blocker(n_jobs=n_jobs)
    if client is None and fork and FORK:
        return _block_forked(blocker, records)
    if client is None:
        li, ri = blocker.block_positions(records)
        if n_jobs > 1:
            trim_heap()  # the threads' malloc arenas keep what they freed otherwise
    else:
        ids = DistributedBlocker(blocker, client=client).block(records)
        index = pd.Index(records["id"])
        li, ri = index.get_indexer(ids["ltable_id"]), index.get_indexer(ids["rtable_id"])
    return (li.astype(np.int32), ri.astype(np.int32)), None


def _block_forked(blocker, records: pd.DataFrame
                  ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[float, float]]:
    """The union `blocker`'s candidates, its odd-numbered keys in a forked child: each
    column's codes are computed here first (inside `shared_codes`, the child inherits them and
    the pair tables reuse them), the halves' pairs are united here."""
    from blocking import UnionBlocker
    from blocking._arrays import column_codes, unique_pairs

    for column in blocker.columns:
        column_codes(records, None, column)
    members = blocker.blockers
    child = ForkedCall(partial(UnionBlocker(members[1::2]).block_positions, records))
    first = UnionBlocker(members[::2]).block_positions(records)
    second, cpu, peak = child.result()
    li, ri = unique_pairs(np.concatenate([first[0], second[0]]),
                          np.concatenate([first[1], second[1]]), len(records), dedup=True)
    return (li.astype(np.int32), ri.astype(np.int32)), (cpu, peak)


def gold_labels(records: pd.DataFrame, matches: pd.DataFrame, li, ri) -> np.ndarray:
    """1 where a candidate is a true pair (evaluation only: the loop sees it through the
    simulated oracle)."""
    index, n = pd.Index(records["id"]), np.int64(len(records))
    ml, mr = index.get_indexer(matches["ltable_id"]), index.get_indexer(matches["rtable_id"])
    true = np.minimum(ml, mr) * n + np.maximum(ml, mr)
    return np.isin(li.astype(np.int64) * n + ri, true).astype(np.int8)


def _chunks(n: int, chunk: int):
    return [slice(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def _votes(lfs, pairs: pd.DataFrame) -> np.ndarray:
    return apply_lfs(lfs, pairs, engine="pandas", progress=False).astype(np.int8)


def _ids(records: pd.DataFrame, li, ri) -> pd.DataFrame:
    ids = records["id"].to_numpy()
    return pd.DataFrame({"ltable_id": ids[li], "rtable_id": ids[ri]})


def label(lfs, tables: PairTables, records, li, ri, client, chunk: int, jobs: int = 1,
          child_chunk: int | None = None) -> tuple[np.ndarray, tuple[float, float] | None]:
    """LF votes (int8) of every candidate, chunk by chunk, and (with `jobs` 2) the CPU seconds
    and peak private memory of a forked child that votes on the second half meanwhile (an LF's
    vote on a pair depends on that pair alone, so the halves give the votes of the whole), in
    chunks of `child_chunk` pairs (smaller: every page the child writes is its own memory)."""
    if client is not None:
        return map_candidates(partial(_votes, lfs), _ids(records, li, ri), records,
                              client=client, chunk_rows=chunk), None
    if jobs < 2 or len(li) < 2 or not FORK:
        return _label_chunks(lfs, tables, li, ri, chunk), None
    half = len(li) // 2
    # a first small chunk here builds what the LFs cache on the shared value tables (the
    # categories' hash tables), so that the child inherits it instead of building its own
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # two pairs: most LFs abstain on both
        _label_chunks(lfs, tables, li[:2], ri[:2], chunk)
    child = ForkedCall(partial(_label_chunks, lfs, tables, li[half:], ri[half:],
                               child_chunk or chunk))
    first = _label_chunks(lfs, tables, li[:half], ri[:half], chunk)
    second, cpu, peak = child.result()
    return np.concatenate([first, second]), (cpu, peak)


def _label_chunks(lfs, tables: PairTables, li, ri, chunk: int) -> np.ndarray:
    return np.concatenate(
        [_votes(lfs, tables.pairs(li[c], ri[c])) for c in _chunks(len(li), chunk)]
    )


def fit_label_model(L: np.ndarray, seed: int):
    from label_model import PenalizedLabelModel

    with one_thread():
        lm = PenalizedLabelModel(cardinality=2, seed=seed, n_epochs=100).fit(L)
        return lm, lm.predict_proba(L)[:, 1]


def make_featurizer(kind: str, kinds: dict[str, str] | None = None):
    """The matcher's featurizer: 'attributes' (per-attribute similarities only), 'lean'
    (the same without the finer `rich` ones), 'minimal' (lean without the missingness counts:
    the boosting sees a missing value as NaN anyway), 'cross'
    (also each attribute's tokens found anywhere in the other record: swapped fields) or
    'full' (the default PairFeaturizer); `kinds` overrides attribute kinds (digit codes as
    text)."""
    from labeling_functions.featurizer import PairFeaturizer

    if kind == "full":
        return PairFeaturizer(kinds=kinds)
    return PairFeaturizer(kinds=kinds, rich=kind not in ("lean", "minimal"), record=False,
                          cross=kind == "cross", missing=kind != "minimal", context=False)


@contextmanager
def one_thread():
    """torch and OpenMP on one thread inside: the label model's and the loop's fits are small
    (n x 9 votes, a few thousand pairs), and with two threads their hand-offs cost more than
    they save (10x the CPU time of the loop on a busy machine)."""
    import torch
    from threadpoolctl import threadpool_limits

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        torch.set_num_threads(threads)


def active_loop(lfs, tables: PairTables, li, ri, L, gold, args, beside=None):
    """The loop on a pool sampled from the candidates; its matcher's featurizer is fitted on
    the pool and shared with the loop. `beside(featurizer)`, if given, starts work that runs
    while the loop does (a `ForkedCall`); returns (loop, history, its result or None)."""
    with one_thread():
        return _run_loop(lfs, tables, li, ri, L, gold, args, beside)


def distinct_value_features(featurizer, tables: PairTables, li: np.ndarray, ri: np.ndarray,
                            threads: int = 1, part: int = 250_000) -> dict:
    """The features of the pairs (li, ri) kept once per distinct value pair of each attribute
    (a per-attribute featurizer's features of an attribute depend on that attribute's two
    values alone): {"attributes": {attr: (column positions, inverse int32 (pairs,), values
    float32 (distinct pairs x columns))}, "blanks": {attr: blank per code}}; `ValueFeatures`
    reads rows of the feature table from it. Attributes in `threads` threads, each in parts of
    at most `part` distinct value pairs (the memory of a part). Only for featurizers without
    whole-record views (`record`, `cross`, `context` off): a ValueError otherwise."""
    from labeling_functions import similarity_features

    if featurizer.record or featurizer.cross or featurizer.context_:
        raise ValueError("features_by_value: the featurizer has whole-record features "
                         "(record, cross or context); use featurizer.transform per chunk")
    columns = pd.Index(featurizer.columns_)
    found: dict[str, tuple] = {}

    def one(attr: str) -> None:
        codes, categories = tables.codes[attr], tables.categories[attr]
        base = np.int64(len(categories) + 1)
        key = (codes[li].astype(np.int64) + 1) * base + (codes[ri] + 1)
        inverse, distinct = pd.factorize(key)
        del key
        tables_ = []
        for rows in _chunks(len(distinct), part):
            sides = {f"{side}_{attr}": pd.Categorical.from_codes(codes, categories=categories)
                     for side, codes in (("left", distinct[rows] // base - 1),
                                         ("right", distinct[rows] % base - 1))}
            tables_.append(similarity_features(pd.DataFrame(sides), [attr],
                                               kinds=featurizer.kinds_, rich=featurizer.rich,
                                               idf=featurizer.idf_))
        values = np.concatenate([f.to_numpy(np.float32) for f in tables_])
        at = columns.get_indexer(tables_[0].columns)
        if featurizer.missing:  # the attribute's missing count: of its value pair alone too
            blank = blanks[attr]
            values = np.column_stack([values, (blank[distinct // base - 1].astype(np.float32)
                                               + blank[distinct % base - 1])])
            at = np.append(at, columns.get_loc(f"{attr}__n_missing"))
        found[attr] = (at, inverse.astype(np.int32), values)

    blanks = ({a: _missing_values(tables.categories[a]) for a in featurizer.attributes_}
              if featurizer.missing else {})
    _in_threads(one, list(featurizer.attributes_), threads)
    return {"attributes": {a: found[a] for a in featurizer.attributes_}, "blanks": blanks}


class ValueFeatures:
    """The feature table of candidate pairs (li, ri), `featurizer.transform(tables.pairs(li,
    ri))`, held as `distinct_value_features` (per distinct value pair of each attribute, and
    its codes) and made a part of rows at a time (`rows`): the whole float32 table is never
    held at once."""

    def __init__(self, featurizer, tables: PairTables, li: np.ndarray, ri: np.ndarray,
                 distinct: dict):
        self.columns = pd.Index(featurizer.columns_)
        self.attributes = list(featurizer.attributes_)
        self.missing = featurizer.missing
        self.tables, self.li, self.ri = tables, li, ri
        self.found, self.blanks = distinct["attributes"], distinct["blanks"]

    def __len__(self) -> int:
        return len(self.li)

    def rows(self, rows: slice, out: np.ndarray | None = None) -> pd.DataFrame:
        """The features of the pairs `rows` (float32), written into `out` if given."""
        li, ri = self.li[rows], self.ri[rows]
        if out is None:
            out = np.empty((len(li), len(self.columns)), dtype=np.float32)
        for at, inverse, values in self.found.values():
            out[:, at] = values[inverse[rows]]
        if self.missing:
            filled = self._filled(li, ri)
            out[:, self.columns.get_indexer(filled.columns)] = filled.to_numpy()
        return pd.DataFrame(out, columns=self.columns, copy=False)

    def _filled(self, li: np.ndarray, ri: np.ndarray) -> pd.DataFrame:
        """The record columns of the pairs (li, ri): each side's share of filled attributes,
        as the featurizer's mean of 0/1 floats (float32, as in the table)."""
        shares = {}
        for side, position in (("left", li), ("right", ri)):
            filled = np.zeros(len(position), dtype=np.int64)
            for a in self.attributes:
                filled += ~self.blanks[a][self.tables.codes[a][position]]
            shares[f"record__filled_{side}"] = (filled / len(self.attributes)).round(9).astype(
                np.float32)
        return pd.DataFrame(shares)

    def proba(self, matcher) -> np.ndarray:
        """P(match) of every pair by a SimilarityMatcher whose trees read one attribute (or the
        record columns) each (`interactions` "attribute" or "none"): each attribute's log-odds
        term computed once per distinct value pair (`term_log_odds`), summed per pair."""
        total = np.zeros((len(matcher.models_), len(self)))
        for at, inverse, values in self.found.values():
            total += matcher.term_log_odds(
                pd.DataFrame(values, columns=self.columns[at], copy=False))[:, inverse]
        if self.missing:
            total += matcher.term_log_odds(self._filled(self.li, self.ri))
        return matcher.proba_of_log_odds(total)


def features_by_value(featurizer, tables: PairTables, li: np.ndarray, ri: np.ndarray,
                      threads: int = 1, part: int = 250_000, out: np.ndarray | None = None
                      ) -> pd.DataFrame:
    """`featurizer.transform(tables.pairs(li, ri))` computed once per distinct value pair of
    each attribute over all the pairs at once (`distinct_value_features`), as one table
    (float32, pairs x columns, written into `out` if given)."""
    distinct = distinct_value_features(featurizer, tables, li, ri, threads, part)
    return ValueFeatures(featurizer, tables, li, ri, distinct).rows(slice(None), out)


def features_beside(featurizer, tables: PairTables, li: np.ndarray, ri: np.ndarray,
                    part: int) -> ForkedCall:
    """`distinct_value_features` of the pairs (li, ri) in a forked child process (one thread)
    while this process goes on with the loop: the features need only the featurizer fitted on
    the pool, not the loop's matcher, and a second process does not wait for this one's GIL.
    Its result is per distinct value pair (compact); `ValueFeatures` reads it."""
    return ForkedCall(partial(distinct_value_features, featurizer, tables, li, ri, 1, part))


def _missing_values(categories: pd.Index) -> np.ndarray:
    """Per category whether the featurizer counts it missing (blank text), then True for the
    code -1 (a missing value), so that `_missing_values(c)[codes]` reads every code."""
    if pd.api.types.is_numeric_dtype(categories.dtype):
        blank = np.zeros(len(categories), dtype=bool)
    else:
        blank = pd.Series(categories.astype(str)).str.strip().eq("").to_numpy(bool)
    return np.append(blank, True)


def _run_loop(lfs, tables: PairTables, li, ri, L, gold, args, beside=None):
    from active import ActiveLoop, SimulatedOracle
    from matchers import SimilarityMatcher

    rows = sample_pool(L, args.pool, args.pool_per_pattern, args.seed)
    pairs = tables.pairs(li[rows], ri[rows], ids=True)
    pairs = pairs.astype({c: object for c in pairs.columns if c.startswith(("left_", "right_"))})
    kinds = {c: "short" for c in tables.digit_columns} if args.digits == "text" else None
    featurizer = make_featurizer(args.featurizer, kinds).fit(pairs)
    loop = ActiveLoop(
        pairs,
        lfs=lfs,
        oracle=SimulatedOracle(gold[rows]),
        selector="hybrid",
        matcher=SimilarityMatcher(seed=args.seed, max_iter=args.max_iter,
                                  learning_rate=args.learning_rate, featurizer=featurizer,
                                  monotonic=args.monotonic, n_models=args.n_models,
                                  subsample=args.subsample, max_features=args.max_features,
                                  interactions=args.interactions,
                                  l2_regularization=1.0 if args.monotonic else 0.0),
        batch_size=args.batch,
        L=L[rows],
        gold=gold[rows],
        calibrate=args.calibrate,
        expert_weight=args.expert_weight,
        soft_weight=args.soft_weight,
        seed=args.seed,
    )
    ahead = None if beside is None else beside(featurizer)
    history = loop.run(budget=args.budget)
    return loop, history, None if ahead is None else ahead.result()


def _soft_weight(text: str) -> str | float:
    """--soft-weight: 'skill', 'cv' or a number."""
    return text if text in ("skill", "cv") else float(text)


def sample_pool(L: np.ndarray, size: int, per_pattern: int, seed: int) -> np.ndarray:
    """Sorted row positions of the loop's pool: up to `per_pattern` random candidates of every
    LF-vote pattern (a row of L), so that rare patterns (different people who share a place or
    a surname) are in the pool, topped up at random to `size` candidates."""
    rng = np.random.default_rng(seed)
    size = min(size, len(L))
    if per_pattern <= 0:
        return np.sort(rng.choice(len(L), size=size, replace=False))
    pattern = np.zeros(len(L), dtype=np.int64)
    for column in L.T:  # base-3 code of the votes -1/0/1
        pattern = pattern * 3 + column + 1
    order = rng.permutation(len(L))
    by_pattern = order[np.argsort(pattern[order], kind="stable")]
    sorted_pattern = pattern[by_pattern]
    start = np.searchsorted(sorted_pattern, sorted_pattern, side="left")
    first = by_pattern[np.arange(len(L)) - start < per_pattern]
    if len(first) > size:
        first = rng.choice(first, size=size, replace=False)
    rest = np.setdiff1d(order, first, assume_unique=True)
    topped = rng.choice(rest, size=size - len(first), replace=False)
    return np.sort(np.concatenate([first, topped]))


def obvious_non_matches(L: np.ndarray, min_votes: int) -> np.ndarray:
    """Candidates at least `min_votes` LFs call a non-match, two more than call a match:
    scored 0 without features (0 = off). The report counts the true pairs this drops."""
    if min_votes <= 0:
        return np.zeros(len(L), dtype=bool)
    against, for_ = (L == 0).sum(axis=1), (L == 1).sum(axis=1)
    return (against >= min_votes) & (against >= for_ + 2)


def score(matcher, tables: PairTables, records, li, ri, skip, client, chunk: int,
          threads: int = 1, by_value: bool = False, features: ValueFeatures | None = None
          ) -> np.ndarray:
    """P(match) of every candidate not in `skip` by the loop's matcher, chunk by chunk (the
    featurizer's cache is turned off: every candidate is new, and a cache of millions would
    only grow), `threads` chunks at a time (each chunk `chunk / threads` pairs: the same memory;
    rapidfuzz, numpy, pandas' hashing and the boosting's prediction release the GIL), or
    (`by_value`) from the features of every distinct value pair of each attribute over all
    candidates at once (`distinct_value_features`; or `features` of the kept candidates,
    computed ahead), their rows made and predicted in parts in `threads` threads; skipped
    candidates get 0."""
    if hasattr(matcher, "featurizer_"):
        matcher.featurizer_.set_params(cache=False)
    keep = np.flatnonzero(~skip)
    li, ri = li[keep], ri[keep]
    if by_value or features is not None:
        if features is None:
            features = ValueFeatures(matcher.featurizer_, tables, li, ri, distinct_value_features(
                matcher.featurizer_, tables, li, ri, threads, max(chunk // max(threads, 1), 1)))

        if getattr(matcher, "interactions", "all") in ("attribute", "none"):
            scores = features.proba(matcher)  # the terms of an additive model, by value
        else:
            def one(rows: slice) -> np.ndarray:  # small parts: each thread's float64 copies
                return matcher.proba_of_features(features.rows(rows))

            scores = np.concatenate(_in_threads(one, _chunks(len(features), PREDICT_ROWS),
                                                threads))
    elif client is not None:
        scores = score_candidates(matcher, _ids(records, li, ri), records, client=client,
                                  chunk_rows=chunk)
    else:
        def one(c: slice) -> np.ndarray:
            return matcher.match_proba(tables.pairs(li[c], ri[c]))

        chunks = _chunks(len(li), max(chunk // max(threads, 1), 1))
        if threads > 1:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=threads) as pool:
                scores = np.concatenate(list(pool.map(one, chunks)))
        else:
            scores = np.concatenate([one(c) for c in chunks])
    out = np.zeros(len(skip), dtype=np.float64)
    out[keep] = scores
    return out


def _in_threads(fn, items: list, threads: int) -> list:
    """[fn(item) ...] in `threads` threads, each with one OpenMP thread (the boosting's
    prediction releases the GIL; OpenMP teams on a busy core would spin-wait instead)."""
    from concurrent.futures import ThreadPoolExecutor

    from threadpoolctl import threadpool_limits

    def one(item):
        with threadpool_limits(1):
            return fn(item)

    with ThreadPoolExecutor(max_workers=max(threads, 1)) as pool:
        return list(pool.map(one, items))


def cluster_scores(n_records: int, li, ri, pred: np.ndarray, true_l, true_r):
    """Precision, recall and F1 of the pairs inside the connected components of the
    predicted pairs (what a de-duplication outputs: clusters), against the true pairs."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(int(pred.sum())), (li[pred], ri[pred])),
                       shape=(n_records, n_records))
    return cluster_pair_scores(connected_components(graph, directed=False)[1], true_l, true_r)


def cluster_pair_scores(cluster: np.ndarray, true_l, true_r) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 of a clustering (one label per record position)."""
    sizes = np.bincount(cluster).astype(np.int64)
    predicted = int((sizes * (sizes - 1) // 2).sum())
    correct = int((cluster[true_l] == cluster[true_r]).sum())
    return pair_scores(len(true_l), predicted, correct)


# ---- main --------------------------------------------------------------------------------------
def start_client(args):
    from distributed import Client, LocalCluster

    if args.scheduler:
        return Client(args.scheduler), None
    cluster = LocalCluster(
        n_workers=args.workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        memory_limit=None,
    )
    return Client(cluster), cluster


def share_lfs_by_value(lfs) -> None:
    """Let workers unpickle LFs written in the (not importable) LF file: send its code along."""
    import cloudpickle

    modules = {getattr(getattr(lf, "f", None), "__module__", None) for lf in lfs}
    modules |= {getattr(lf, "__module__", None) for lf in lfs}
    for name in modules:
        if name and name.startswith("_riskweasul_lfs_") and name in sys.modules:
            cloudpickle.register_pickle_by_value(sys.modules[name])


def import_libraries() -> None:
    """Import, before the clock starts, the modules the stages import on first use, as
    Splink's runner imports splink and duckdb before its clock: torch's first optimizer
    imports torch._dynamo (over a second), inside the loop's first label-model fit."""
    import torch._dynamo  # noqa: F401

    import active  # noqa: F401
    import label_model  # noqa: F401
    import matchers  # noqa: F401


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="about this many records")
    parser.add_argument("--quick", action="store_true", help="50,000 records, small loop")
    parser.add_argument("--dask", action="store_true", help="blocking/LFs/scoring on Dask")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address to use")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--chunk", type=int, default=250_000, help="candidate pairs per chunk")
    parser.add_argument("--lf-chunk", type=int, default=650_000,
                        help="candidate pairs per chunk of the LF application (the LFs work "
                             "once per distinct value of a chunk: larger chunks repeat less)")
    parser.add_argument("--lf-jobs", type=int, default=2, choices=[1, 2],
                        help="2: a forked child process applies the LFs to the second half of "
                             "the candidates meanwhile (label; Linux); its CPU time and private "
                             "memory are counted")
    parser.add_argument("--lf-child-chunk", type=int, default=160_000,
                        help="with --lf-jobs 2: candidate pairs per chunk of the child")
    parser.add_argument("--pool", type=int, default=5000, help="active-loop pool size")
    parser.add_argument("--budget", type=int, default=100, help="oracle answers in the loop")
    parser.add_argument("--batch", type=int, default=10, help="pairs asked per loop round")
    parser.add_argument("--threads", type=int, default=2,
                        help="threads of Splink's DuckDB and of OpenMP while scoring here")
    parser.add_argument("--score-threads", type=int, default=2,
                        help="threads scoring chunks of candidates at once")
    parser.add_argument("--featurizer", choices=["lean", "minimal", "attributes", "cross", "full"],
                        default="lean", help="the matcher's PairFeaturizer (make_featurizer)")
    parser.add_argument("--calibrate", action="store_true",
                        help="cut at the best F1 on the expert labels instead of 0.5")
    parser.add_argument("--expert-weight", type=float, default=5.0,
                        help="weight of an expert label against a label-model soft label")
    parser.add_argument("--drop-votes", type=int, default=4,
                        help="score 0 without features where at least this many LFs vote "
                             "non-match, two more than vote match (0 = score every candidate)")
    parser.add_argument("--digits", choices=["views", "text", "number"], default="text",
                        help="digit-code columns: also as spaced-out text views (PairTables), "
                             "as text (PairFeaturizer kinds=), or as numbers")
    parser.add_argument("--pool-per-pattern", type=int, default=3,
                        help="pool: up to this many candidates of every LF-vote pattern, "
                             "the rest at random (sample_pool)")
    parser.add_argument("--max-iter", type=int, default=50,
                        help="boosting iterations of the loop's SimilarityMatcher")
    parser.add_argument("--learning-rate", type=float, default=0.1,
                        help="the loop's matcher's boosting learning rate (the library's "
                             "default 0.05)")
    parser.add_argument("--n-models", type=int, default=1,
                        help="the loop's SimilarityMatcher: boosted models averaged")
    parser.add_argument("--subsample", type=float, default=1.0,
                        help="the loop's SimilarityMatcher: share of the pairs per model")
    parser.add_argument("--max-features", type=float, default=1.0,
                        help="the loop's SimilarityMatcher: share of the features per split")
    parser.add_argument("--interactions", choices=["all", "attribute", "none"],
                        default="attribute",
                        help="which features the matcher's trees may combine (SimilarityMatcher"
                             "(interactions=)): 'attribute' = one additive term per attribute "
                             "(the default here), 'all' = the library's default")
    parser.add_argument("--monotonic", action=argparse.BooleanOptionalAction, default=True,
                        help="the loop's matcher as active.loop.default_matcher makes it: "
                             "monotone in every similarity, l2 1.0 (--no-monotonic: neither)")
    parser.add_argument("--soft-weight", type=_soft_weight, default="skill",
                        help="the loop's soft_weight: 'skill' (ActiveLoop's default), 'cv' or "
                             "a number")
    parser.add_argument("--by-value", action=argparse.BooleanOptionalAction, default=True,
                        help="score from features computed once per distinct value pair of "
                             "each attribute over all candidates (features_by_value); "
                             "--no-by-value: featurize chunk by chunk")
    parser.add_argument("--beside", action=argparse.BooleanOptionalAction, default=True,
                        help="with --by-value: compute the kept candidates' features (per "
                             "distinct value pair) in a forked process while the loop runs "
                             "(features_beside; Linux); its CPU time and private memory are "
                             "counted")
    parser.add_argument("--block-jobs", type=int, default=1,
                        help="threads running the blocker's keys (UnionBlocker n_jobs)")
    parser.add_argument("--block-fork", action=argparse.BooleanOptionalAction, default=True,
                        help="a forked child process runs every other blocking key meanwhile "
                             "(Linux); its CPU time and private memory are counted")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run ours (and Splink) this many times on the same records, "
                             "alternating who goes first; reports each run and the medians")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lfs", default=str(ROOT / "active" / "demo_lfs.py"))
    parser.add_argument("--splink", default=None, help="a Python with splink: run it alongside")
    parser.add_argument("--splink-rules", default="large",
                        help="Splink's blocking rules, comma-separated runs: 'large' (the "
                             "equality keys of large_person_blocker), 'issue' (the first "
                             "runner's seven single-field and field-pair rules)")
    parser.add_argument("--compare-blockers", action="store_true",
                        help="only compare the previous and the current person blocker")
    parser.add_argument("--mmap-threshold", type=float, default=4.0,
                        help="MiB: glibc serves blocks at least this large by mmap and returns "
                             "them when freed (mallopt M_MMAP_THRESHOLD; 0 keeps glibc's "
                             "sliding default, under which a repeated run's heap grows)")
    parser.add_argument("--errors", default=None,
                        help="write the false and the missed pairs (records side by side, "
                             "score, LF votes) of the first run to this pickle")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale.md"))
    args = parser.parse_args(argv)
    if args.mmap_threshold > 0:
        fix_mmap_threshold(int(args.mmap_threshold * MB))
    if args.quick:
        args.records, args.pool, args.budget = 50_000, 2000, 40
    if args.dask or args.scheduler:
        args.by_value = False  # the workers featurize their chunks
    if (args.dask or args.scheduler) and args.digits == "views":
        print("--dask: the workers flatten pairs from the records: --digits text")
        args.digits = "text"
    if args.compare_blockers:
        compare_blockers(args)
        return 0

    import torch
    from threadpoolctl import threadpool_limits

    import_libraries()
    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # OpenMP/BLAS: no oversubscription on the shared cores
    lfs = load_lfs(args.lfs)
    client = cluster = None
    if args.dask or args.scheduler:
        client, cluster = start_client(args)
        share_lfs_by_value(lfs)
    args.load_before = os.getloadavg()[0]
    first: dict | None = None
    runs: list[dict] = []
    try:
        stages = Stages(client)
        records, matches = stages.run("generate records", generate, args.records, args.seed)
        generated = stages.rows[0]
        splink_records = write_splink_records(records) if args.splink else None
        for k in range(args.repeat):
            # alternate who goes first, so that a drift of the machine's speed hits both
            splink_first = bool(k % 2) and splink_records is not None
            splink = run_all_splink(args, splink_records) if splink_first else {}
            run = run_ours(args, lfs, records, matches, client, k == 0)
            if splink_records is not None and not splink_first:
                splink = run_all_splink(args, splink_records)
            run["splink"] = splink
            # the first run whole (its report), the others' figures only
            runs.append(run if first is None else
                        {key: run[key] for key in ("rows", "prf", "matched", "splink")})
            first = runs[0]
            del run
            release_memory()  # the next run's peak starts from the records alone again
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    # Splink's outputs are read only now: reading them between the runs left this process's
    # heap larger for our next run
    for run in runs:
        for info in run["splink"].values():
            score_splink(info, records, matches)
    summaries = [summary(run) for run in runs]
    first["rows"].insert(0, generated)
    write_report(args, records, matches, first)
    if args.repeat > 1:
        append_results(args.out, "", repeat_table(args, summaries) + "\n")
    return 0


def fix_mmap_threshold(size: int) -> bool:
    """Have glibc serve blocks of at least `size` bytes by mmap (returned to the system when
    freed) from now on. Its default threshold slides up to 32 MiB as large blocks are freed,
    after which the large arrays of each stage come from the heap, where freed space is kept
    fragmented: runs 2-3 of a --repeat then started every stage ~180 MB higher. False where
    this is not glibc."""
    import ctypes

    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(-3, size))  # -3: M_MMAP_THRESHOLD
    except (OSError, AttributeError):
        return False


def trim_heap() -> None:
    """Hand glibc's freed heap memory (every thread's arena) back to the system."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass  # not glibc: the peaks of later stages may read high


def release_memory() -> None:
    """Collect garbage and hand freed memory back to the system (pyarrow's pool, which reading
    Splink's parquet outputs fills, and glibc's heap via malloc_trim), so that a repeated run's
    peak does not carry the previous run's freed but kept memory."""

    import pyarrow

    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    trim_heap()


def run_ours(args, lfs, records, matches, client, reference: bool) -> dict:
    """One timed run from blocking to the last score on records already in memory, and its
    end-to-end figures (with the label model alone as an untimed reference if `reference`)."""
    stages = Stages(client)
    with shared_codes():  # the pair tables reuse the blocker's factorized columns
        fork = args.block_fork and client is None and FORK
        (li, ri), child = stages.run("blocking" + (", half the keys in a forked process" if fork
                                                   else ""),
                                     block, records, client, args.block_jobs, fork)
        if child is not None:
            stages.add_child(*child)
        tables = stages.run("pair tables (value codes)", PairTables, records,
                            digit_views=args.digits == "views")
    L, child = stages.run("LF application" + (", half in a forked process" if args.lf_jobs > 1
                                              and client is None and FORK else ""),
                          label, lfs, tables, records, li, ri, client, args.lf_chunk,
                          args.lf_jobs, args.lf_child_chunk)
    if child is not None:
        stages.add_child(*child)
    gold = gold_labels(records, matches, li, ri)  # evaluation only, not timed
    skip = obvious_non_matches(L, args.drop_votes)
    beside = None
    if args.beside and args.by_value and client is None and FORK:
        keep = np.flatnonzero(~skip)
        beside = partial(features_beside, tables=tables, li=li[keep], ri=ri[keep],
                         part=max(args.chunk // max(args.score_threads, 1), 1))
    loop, history, ahead = stages.run(
        "active loop (pool)" + (", features in a forked process beside it" if beside else ""),
        active_loop, lfs, tables, li, ri, L, gold, args, beside)
    features = None
    if ahead is not None:
        distinct, child_cpu, child_mb = ahead
        stages.add_child(child_cpu, child_mb)
        if loop.matcher.featurizer_ is not loop.featurizer:
            raise RuntimeError("the loop's matcher does not use the featurizer the candidates' "
                               "features were computed with")
        keep = np.flatnonzero(~skip)
        features = ValueFeatures(loop.featurizer, tables, li[keep], ri[keep], distinct)
        del distinct
    proba = stages.run(
        "score all candidates" + (" (predict from those features)" if features is not None
                                  else " (features per distinct value pair)" if args.by_value
                                  else ""),
        score, loop.matcher, tables, records, li, ri, skip, client, args.chunk,
        args.score_threads, args.by_value, features,
    )
    del features, ahead
    index = pd.Index(records["id"])
    true_l = index.get_indexer(matches["ltable_id"])
    true_r = index.get_indexer(matches["rtable_id"])
    pred = proba >= loop.threshold
    correct = int((gold.astype(bool) & pred).sum())
    prf = pair_scores(len(matches), int(pred.sum()), correct)
    print(f"end to end: {correct:,} of {int(pred.sum()):,} matched pairs true, "
          f"{len(matches):,} true pairs: P {prf[0]:.6f} R {prf[1]:.6f} F1 {prf[2]:.6f}",
          flush=True)
    if reference and args.errors:
        write_errors(args.errors, records, li, ri, proba, pred, gold, L, skip, true_l, true_r)
    lm_prf = (float("nan"),) * 3
    if reference:
        # the label model alone on every candidate: a reference figure, not a stage of the
        # run (the loop fits its own on the pool), so not timed
        lm_pred = fit_label_model(L, args.seed)[1] >= 0.5
        lm_prf = pair_scores(len(matches), int(lm_pred.sum()),
                             int((gold.astype(bool) & lm_pred).sum()))
    return {
        "rows": stages.rows,
        "n_candidates": len(li),
        "L_shape": L.shape,
        "history": history,
        "threshold": loop.threshold,
        "completeness": float(gold.sum()) / max(len(matches), 1),
        "dropped": (int(skip.sum()), int(gold[skip].sum())),
        "matched": (correct, int(pred.sum())),
        "prf": (*prf, precision_recall_f1(gold, pred.astype(int))[2]),
        "clustered": cluster_scores(len(records), li, ri, pred, true_l, true_r),
        "lm_prf": lm_prf,
    }


def write_errors(path: str, records: pd.DataFrame, li, ri, proba, pred, gold, L, skip,
                 true_l, true_r) -> None:
    """Pickle the false pairs, the true candidates not matched and the true pairs the blocker
    lost, each with both records side by side (and, for candidates, the score, the LF votes
    and whether the cheap rule dropped it): the run's errors, for reading."""
    n = np.int64(len(records))
    true_keys = np.minimum(true_l, true_r).astype(np.int64) * n + np.maximum(true_l, true_r)
    lost = np.setdiff1d(true_keys, li.astype(np.int64) * n + ri)
    rows = {"false": np.flatnonzero(pred & (gold == 0)),
            "missed": np.flatnonzero(~pred & (gold == 1))}
    out = {}
    for kind, r in rows.items():
        frame = side_by_side(records, li[r], ri[r])
        frame["proba"], frame["dropped"] = proba[r], skip[r]
        frame[[f"lf{k}" for k in range(L.shape[1])]] = L[r]
        out[kind] = frame
    out["lost"] = side_by_side(records, (lost // n).astype(np.int64), (lost % n).astype(np.int64))
    pd.to_pickle(out, path)
    print(f"errors: {len(rows['false'])} false, {len(rows['missed'])} missed candidates, "
          f"{len(lost)} true pairs lost by blocking -> {path}", flush=True)


def side_by_side(records: pd.DataFrame, left, right) -> pd.DataFrame:
    """The records at row positions `left` and `right`, columns left_<c> / right_<c>."""
    a = records.iloc[left].reset_index(drop=True).add_prefix("left_")
    b = records.iloc[right].reset_index(drop=True).add_prefix("right_")
    return pd.concat([a, b], axis=1)


def summary(run: dict) -> dict:
    """The figures of one run that the repeat table shows (ours and each Splink run)."""
    return {
        "seconds": sum(r["seconds"] for r in run["rows"]),
        "cpu": sum(r["cpu"] for r in run["rows"]),
        "peak_mb": max(r["peak_mb"] + r["workers_mb"] for r in run["rows"]),
        "f1": run["prf"][2],
        "matched": run["matched"],
        "splink": {rules: {"seconds": i["seconds"], "cpu": i.get("cpu", float("nan")),
                           "peak_mb": i["peak_mb"], "f1": i["prf"][2]}
                   for rules, i in run["splink"].items()},
    }


def repeat_table(args, runs: list[dict]) -> str:
    """Each repeated run of ours and of Splink (alternating who goes first), the medians and
    the median of the per-run time ratios (ours without generating the records / Splink)."""
    lines = [f"Repeated runs on the same records ({len(runs)}; ours first in runs 1, 3, ..., "
             "Splink first in runs 2, 4, ...; ours without generating the records):", ""]
    columns = ("seconds", "cpu", "peak_mb", "f1")
    cells = {"seconds": "{:.1f}", "cpu": "{:.1f}", "f1": "{:.6f}"}

    def fmt(figures: dict) -> list[str]:
        return [f"{figures['peak_mb'] / 1024:.2f}" if c == "peak_mb" else
                cells[c].format(figures[c]) for c in columns]

    def median(figures: list[dict]) -> dict:
        return {c: float(np.median([f[c] for f in figures])) for c in columns}

    for rules in runs[0]["splink"] or [None]:
        theirs = [r["splink"][rules] for r in runs] if rules else []
        head = ["run", "ours (s)", "ours CPU s", "ours peak (GB)", "ours F1"]
        if rules:
            head += ["Splink (s)", "Splink CPU s", "Splink peak (GB)", "Splink F1", "ratio"]
        lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        ratios = [r["seconds"] / t["seconds"]
                  for r, t in zip(runs, theirs, strict=False)]  # none without Splink
        for k, run in enumerate(runs):
            row = [str(k + 1), *fmt(run)]
            if rules:
                row += [*fmt(theirs[k]), f"{ratios[k]:.2f}"]
            lines.append("| " + " | ".join(row) + " |")
        ours_median = median(runs)
        row = ["**median**", *fmt(ours_median)]
        if rules:
            their_median = median(theirs)
            row += [*fmt(their_median), f"{float(np.median(ratios)):.2f}"]
        lines += ["| " + " | ".join(row) + " |", ""]
        if rules:
            lines += [f"Splink's rules: {SPLINK_RULES[rules]}. Ratio of the medians: "
                      f"{ours_median['seconds'] / their_median['seconds']:.2f}; median of the "
                      f"per-run ratios: {float(np.median(ratios)):.2f}.", ""]
    return "\n".join(lines)


def pair_scores(true_pairs: int, predicted: int, correct: int) -> tuple[float, float, float]:
    """Precision, recall and F1 of `predicted` pairs, `correct` of them true, of `true_pairs`."""
    p = correct / predicted if predicted else 0.0
    r = correct / true_pairs if true_pairs else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def write_splink_records(records: pd.DataFrame) -> Path:
    """The records as a parquet file for Splink's runner (written once, outside its clock)."""
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="scale_splink_")) / "records.parquet"
    records.to_parquet(path, index=False)
    return path


def run_all_splink(args, path: Path) -> dict:
    """One Splink run per rule set of --splink-rules on the records at `path`."""
    return {rules: run_splink(args.splink, path, args.threads, rules)
            for rules in args.splink_rules.split(",")}


def run_splink(python: str, path: Path, threads: int, rules: str = "large") -> dict:
    """Splink (benchmarks/_splink_run.py, its own interpreter) on the records written to
    `path`: its info (time, peak memory, candidates) and where it wrote its pairs
    (`score_splink` scores them like ours)."""
    import json
    import subprocess
    import tempfile

    work = Path(tempfile.mkdtemp(prefix="scale_splink_out_"))
    cmd = [python, str(ROOT / "benchmarks" / "_splink_run.py"), "--records", str(path),
           "--kind", "person", "--out", str(work / "out"), "--threads", str(threads),
           "--rules", rules]
    print("Splink ...", flush=True)
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Splink run failed:\n{done.stderr[-3000:]}")
    info = json.loads((work / "out" / "info.json").read_text())
    info["out"] = str(work / "out")
    print(json.dumps(info), flush=True)
    return info


def score_splink(info: dict, records, matches) -> None:
    """Add to a Splink run's `info` its pair completeness, pairwise precision, recall and F1
    end to end, and over its clusters, from the files it wrote."""
    from blocking import blocking_quality

    work = Path(info["out"]).parent
    predicted = pd.read_parquet(work / "out" / "pairs.parquet")
    correct = int(pairs_in(predicted, matches, dedup=True).sum())
    candidates = pd.read_parquet(work / "out" / "candidates.parquet")
    info["pair_completeness"] = blocking_quality(candidates, matches, len(records))[
        "pair_completeness"
    ]
    info["prf"] = pair_scores(len(matches), len(predicted), correct)
    clusters = pd.read_parquet(work / "out" / "clusters.parquet")
    index = pd.Index(records["id"])
    label = np.arange(len(records))  # a record Splink left out is a cluster of its own
    at = index.get_indexer(clusters["id"])
    label[at] = len(records) + pd.factorize(clusters["cluster"])[0]
    label = pd.factorize(label)[0]
    info["clustered"] = cluster_pair_scores(
        label, index.get_indexer(matches["ltable_id"]), index.get_indexer(matches["rtable_id"])
    )


SPLINK_RULES = {
    "large": "the same equality rules as large_person_blocker",
    "issue": "seven single-field and field-pair rules (the first runner's)",
}


def splink_table(splink: dict, threads: int, total, after_generate, cpu_total, peak,
                 n_candidates, completeness, prf, clustered) -> list[str]:
    """The side-by-side table: ours, then each Splink run, with our ratio to it."""
    runs = list(splink.items())
    head = " | ".join(f"Splink, {SPLINK_RULES[r]}" for r, _ in runs)
    lines = [
        f"Side by side with Splink {runs[0][1]['version']} (DuckDB, {threads} threads, no "
        "labels; benchmarks/_splink_run.py) on the same records, in the same run; ratio = "
        "riskweasul / Splink:",
        "",
        f"| | riskweasul | {head} |",
        "|---|---|" + "---|" * len(runs),
    ]

    def row(name, ours, theirs, fmt, ratio=True):
        cells = [f"{fmt(theirs(i))}" + (f" (ratio {ours / theirs(i):.2f})" if ratio else "")
                 for _, i in runs]
        return f"| {name} | {fmt(ours)} | " + " | ".join(cells) + " |"

    lines += [
        row("wall seconds, all stages", total, lambda i: i["seconds"], "{:.1f}".format),
        row("wall seconds, without generating the records", after_generate,
            lambda i: i["seconds"], "{:.1f}".format),
        row("CPU seconds", cpu_total, lambda i: i.get("cpu", float("nan")), "{:.1f}".format),
        row("peak RSS (GB)", peak / 1024, lambda i: i["peak_mb"] / 1024, "{:.2f}".format),
        row("candidates", n_candidates, lambda i: i["n_candidates"], "{:,}".format),
        row("pair completeness", completeness, lambda i: i["pair_completeness"],
            "{:.4f}".format, ratio=False),
        f"| pairwise P / R, end to end | {prf[0]:.6f} / {prf[1]:.6f} | "
        + " | ".join(f"{i['prf'][0]:.6f} / {i['prf'][1]:.6f}" for _, i in runs) + " |",
        f"| **pairwise F1, end to end** | **{prf[2]:.6f}** | "
        + " | ".join(f"**{i['prf'][2]:.6f}**" for _, i in runs) + " |",
        f"| F1 over the clusters | {clustered[2]:.4f} | "
        + " | ".join(f"{i['clustered'][2]:.4f}" for _, i in runs) + " |",
    ]
    return lines


def write_report(args, records, matches, run: dict) -> None:
    """The first run's section of the results file: stages, figures, Splink side by side."""
    rows, splink = run["rows"], run["splink"]
    n_candidates, history, threshold = run["n_candidates"], run["history"], run["threshold"]
    blocked_recall, dropped = run["completeness"], run["dropped"]
    matcher_prf, clustered, lm_prf = run["prf"], run["clustered"], run["lm_prf"]
    total = sum(r["seconds"] for r in rows)
    overall_peak = max(r["peak_mb"] + r["workers_mb"] for r in rows)
    mode = (
        f"Dask ({args.scheduler or f'LocalCluster, {args.workers} worker processes'})"
        if (args.dask or args.scheduler)
        else "single process"
    )
    cmd = command("scale.py")
    workers_col = any(r["workers_mb"] for r in rows)
    lines = [
        f"## {len(records):,} records, {mode}",
        "",
        f"Command: `{cmd}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"2 cores, {args.threads} threads, load average before the run "
        f"{getattr(args, 'load_before', float('nan')):.1f}.",
        "",
        f"- records: {len(records):,} ({len(matches):,} true matching pairs); candidates after "
        f"blocking: {n_candidates:,} (pair completeness {blocked_recall:.4f}); "
        f"L: {run['L_shape'][0]:,} x {run['L_shape'][1]} int8",
        f"- active loop: pool {args.pool:,} sampled candidates (up to "
        f"{args.pool_per_pattern} of every LF-vote pattern, the rest at random), budget "
        f"{args.budget}, batch {args.batch}, {len(history)} rounds, SimilarityMatcher with the "
        f"'{args.featurizer}' featurizer (digit codes: --digits {args.digits}; interactions: "
        f"{args.interactions}; {'monotone, l2 1.0, ' if args.monotonic else ''}"
        f"{args.max_iter} iterations at learning rate {args.learning_rate:g}), threshold "
        f"{threshold:.3f}",
        f"- cheap rule before the features (at least {args.drop_votes} LFs vote non-match, two "
        f"more than vote match): {dropped[0]:,} candidates scored 0 without features, "
        f"{dropped[1]:,} of "
        "them true pairs",
        f"- all candidates scored by the final matcher, end to end (recall against all true "
        f"pairs): precision {matcher_prf[0]:.4f}, recall {matcher_prf[1]:.4f}, "
        f"**F1 {matcher_prf[2]:.4f}** (over the candidates only: {matcher_prf[3]:.4f}; over "
        f"the clusters of the matched pairs: P {clustered[0]:.4f} R {clustered[1]:.4f} "
        f"F1 {clustered[2]:.4f}; label model alone at 0.5, end to end: F1 {lm_prf[2]:.4f})",
        f"- whole run: {total:.1f} s; peak memory over the whole run (the main process's "
        f"RSS plus, in a stage, its workers' or forked child's): {overall_peak / 1024:.2f} GB",
        "",
        "| stage | wall seconds | CPU seconds (main + workers) | peak RSS main (MB) |"
        + (" peak workers / child, sum (MB) |" if workers_col else ""),
        "|---|---|---|---|" + ("---|" if workers_col else ""),
    ]
    for r in rows:
        line = f"| {r['stage']} | {r['seconds']:.1f} | {r['cpu']:.1f} | {r['peak_mb']:,.0f} |"
        if workers_col:
            line += f" {r['workers_mb']:,.0f} |"
        lines.append(line)
    cpu_total = sum(r["cpu"] for r in rows)
    lines.append(
        f"| **total** | **{total:.1f}** | {cpu_total:.1f} | {overall_peak:,.0f} (whole run) |"
        + (" |" if workers_col else "")
    )
    if splink:
        lines += ["", *splink_table(splink, args.threads, total, total - rows[0]["seconds"],
                                    cpu_total, overall_peak, n_candidates, blocked_recall,
                                    matcher_prf, clustered)]
    text = "\n".join(lines) + "\n\n"
    append_results(
        args.out,
        (
            "# Scale benchmark: a million-record de-duplication\n\n"
            "Synthetic FEBRL-style records (blocking.make_dirty_records), "
            "blocking.large_person_blocker, the LFs of active/demo_lfs.py, "
            "PenalizedLabelModel, ActiveLoop with a SimulatedOracle on a sampled pool, and "
            "scoring of every candidate pair in chunks. Peak RSS is read per stage from "
            "/proc/self/status (VmHWM, reset between stages).\n\n"
        ),
        text,
    )


if __name__ == "__main__":
    sys.exit(main())
