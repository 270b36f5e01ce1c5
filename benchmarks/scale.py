"""Scale benchmark: de-duplicate a million synthetic FEBRL-style person records end to end.

Stages, each timed with its peak resident memory: generate records (blocking.make_dirty_records),
block (blocking.large_person_blocker), apply the FEBRL LFs (active/demo_lfs.py) to every
candidate pair in chunks, fit the label model (PenalizedLabelModel) on all votes, run the active
loop (ActiveLoop + SimulatedOracle) on a sampled pool, and score every candidate pair with the
loop's final matcher in chunks. `--dask` runs blocking, LFs and scoring on a dask.distributed
LocalCluster (or on `--scheduler tcp://host:8786`). Writes benchmarks/results/scale.md.

    .venv/bin/python benchmarks/scale.py [--records 1000000] [--dask] [--quick]
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import sys
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
from _common import append_results

from blocking import join_pairs, large_person_blocker, make_dirty_records
from blocking.distributed import DistributedBlocker, map_candidates
from blocking.quality import pairs_in
from evaluation import precision_recall_f1
from labeling_functions import apply_lfs, load_lfs
from matchers.distributed import score_candidates

ROOT = Path(__file__).resolve().parents[1]
RECORDS_PER_ENTITY = 1.8  # make_dirty_records' default: 40% of entities get 1-3 duplicates
MB = 1024 * 1024


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


def compare_blockers(args) -> None:
    """Candidates, pair completeness and time of the previous and the current person blocker
    on the same records; appends a table to benchmarks/results/scale_blocking.md."""
    from blocking import blocking_quality

    records, matches = generate(args.records, args.seed)
    rows = []
    for name, blocker in (
        ("previous (sorted neighbourhoods)", previous_person_blocker()),
        ("large_person_blocker (rare equality keys)", large_person_blocker()),
    ):
        start = time.perf_counter()
        candidates = blocker.block(records)
        seconds = time.perf_counter() - start
        q = blocking_quality(candidates, matches, len(records))
        rows.append(
            f"| {name} | {q['n_candidates']:,} | {q['pair_completeness']:.4f} | {seconds:.1f} |"
        )
        print(rows[-1], flush=True)
    cmd = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
    out = ROOT / "benchmarks" / "results" / "scale_blocking.md"
    if not out.exists():
        out.write_text("# Person blocking: candidates and pair completeness\n\n")
    with out.open("a") as fh:
        fh.write(
            f"## {len(records):,} records ({len(matches):,} true pairs)\n\nCommand: `{cmd}`, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, shared busy 2-core machine.\n\n"
            "| blocker | candidates | pair completeness | seconds |\n|---|---|---|---|\n"
            + "\n".join(rows) + "\n\n"
        )


def block(records: pd.DataFrame, client) -> pd.DataFrame:
    blocker = large_person_blocker()
    if client is not None:
        blocker = DistributedBlocker(blocker, client=client)
    return blocker.block(records)


def _votes(lfs, pairs: pd.DataFrame) -> np.ndarray:
    return apply_lfs(lfs, pairs, engine="pandas", progress=False).astype(np.int8)


def _gold(matches: pd.DataFrame, pairs: pd.DataFrame) -> np.ndarray:
    return pairs_in(pairs[["ltable_id", "rtable_id"]], matches, dedup=True).astype(np.int8)


def label(lfs, candidates, records, matches, client, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    """LF votes (int8) and the hidden gold label of every candidate, chunk by chunk."""
    L = map_candidates(partial(_votes, lfs), candidates, records, client=client, chunk_rows=chunk)
    gold = _gold(matches, candidates)
    return L, gold


def fit_label_model(L: np.ndarray, seed: int):
    from label_model import PenalizedLabelModel

    lm = PenalizedLabelModel(cardinality=2, seed=seed, n_epochs=100).fit(L)
    return lm, lm.predict_proba(L)[:, 1]


def active_loop(lfs, candidates, records, L, gold, pool: int, budget: int, batch: int, seed: int):
    from active import ActiveLoop, SimulatedOracle
    from matchers import SimilarityMatcher

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(candidates), size=min(pool, len(candidates)), replace=False))
    pairs = join_pairs(candidates.iloc[rows], records)
    loop = ActiveLoop(
        pairs,
        lfs=lfs,
        oracle=SimulatedOracle(gold[rows]),
        selector="hybrid",
        matcher=SimilarityMatcher(seed=seed, max_iter=100),
        batch_size=batch,
        L=L[rows],
        gold=gold[rows],
        seed=seed,
    )
    history = loop.run(budget=budget)
    return loop, history


def score(loop, candidates, records, client, chunk: int) -> np.ndarray:
    return score_candidates(loop.matcher, candidates, records, client=client, chunk_rows=chunk)


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="about this many records")
    parser.add_argument("--quick", action="store_true", help="50,000 records, small loop")
    parser.add_argument("--dask", action="store_true", help="blocking/LFs/scoring on Dask")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address to use")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--chunk", type=int, default=250_000, help="candidate pairs per chunk")
    parser.add_argument("--pool", type=int, default=5000, help="active-loop pool size")
    parser.add_argument("--budget", type=int, default=100, help="oracle answers in the loop")
    parser.add_argument("--batch", type=int, default=20, help="pairs asked per loop round")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--lfs", default=str(ROOT / "active" / "demo_lfs.py"))
    parser.add_argument("--splink", default=None, help="a Python with splink: run it alongside")
    parser.add_argument("--compare-blockers", action="store_true",
                        help="only compare the previous and the current person blocker")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "scale.md"))
    args = parser.parse_args(argv)
    if args.quick:
        args.records, args.pool, args.budget = 50_000, 2000, 40
    if args.compare_blockers:
        compare_blockers(args)
        return 0

    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)  # OpenMP/BLAS: no oversubscription on the shared cores
    lfs = load_lfs(args.lfs)
    client = cluster = None
    if args.dask or args.scheduler:
        client, cluster = start_client(args)
        share_lfs_by_value(lfs)
    stages = Stages(client)
    t0 = time.perf_counter()
    try:
        records, matches = stages.run("generate records", generate, args.records, args.seed)
        candidates = stages.run("blocking", block, records, client)
        L, gold = stages.run(
            "LF application", label, lfs, candidates, records, matches, client, args.chunk
        )
        lm, lm_proba = stages.run("label model fit + predict", fit_label_model, L, args.seed)
        loop, history = stages.run(
            "active loop (pool)",
            active_loop,
            lfs,
            candidates,
            records,
            L,
            gold,
            args.pool,
            args.budget,
            args.batch,
            args.seed,
        )
        proba = stages.run(
            "score all candidates", score, loop, candidates, records, client, args.chunk
        )
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    total = time.perf_counter() - t0
    pred = proba >= loop.threshold
    blocked_recall = float(gold.sum()) / max(len(matches), 1)
    # end to end: recall counts every true pair, also those the blocker lost
    correct = int((gold.astype(bool) & pred).sum())
    p, r, f = pair_scores(len(matches), int(pred.sum()), correct)
    f_candidates = precision_recall_f1(gold, pred.astype(int))[2]
    lm_pred = lm_proba >= 0.5
    lm_correct = int((gold.astype(bool) & lm_pred).sum())
    lp, lr, lf1 = pair_scores(len(matches), int(lm_pred.sum()), lm_correct)
    splink = run_splink(args.splink, records, matches, args.threads) if args.splink else None
    # the per-stage resets clear ru_maxrss too, so the whole run's peak is the largest stage peak
    overall_peak = max(r["peak_mb"] for r in stages.rows)
    write_report(
        args,
        records,
        matches,
        candidates,
        L,
        history,
        stages.rows,
        total,
        overall_peak,
        blocked_recall,
        (p, r, f, f_candidates),
        (lp, lr, lf1),
        loop.threshold,
        splink,
    )
    return 0


def pair_scores(true_pairs: int, predicted: int, correct: int) -> tuple[float, float, float]:
    """Precision, recall and F1 of `predicted` pairs, `correct` of them true, of `true_pairs`."""
    p = correct / predicted if predicted else 0.0
    r = correct / true_pairs if true_pairs else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def run_splink(python: str, records, matches, threads: int) -> dict:
    """Splink (benchmarks/_splink_run.py, its own interpreter) on the same records."""
    import json
    import subprocess
    import tempfile

    from blocking import blocking_quality
    from blocking.quality import pairs_in

    work = Path(tempfile.mkdtemp(prefix="scale_splink_"))
    records.to_parquet(work / "records.parquet", index=False)
    cmd = [python, str(ROOT / "benchmarks" / "_splink_run.py"), "--records",
           str(work / "records.parquet"), "--kind", "person", "--out", str(work / "out"),
           "--threads", str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"Splink run failed:\n{done.stderr[-3000:]}")
    info = json.loads((work / "out" / "info.json").read_text())
    predicted = pd.read_parquet(work / "out" / "pairs.parquet")
    correct = int(pairs_in(predicted, matches, dedup=True).sum())
    candidates = pd.read_parquet(work / "out" / "candidates.parquet")
    info["pair_completeness"] = blocking_quality(candidates, matches, len(records))[
        "pair_completeness"
    ]
    info["prf"] = pair_scores(len(matches), len(predicted), correct)
    return info


def write_report(
    args,
    records,
    matches,
    candidates,
    L,
    history,
    rows,
    total,
    overall_peak,
    blocked_recall,
    matcher_prf,
    lm_prf,
    threshold,
    splink=None,
) -> None:
    mode = (
        f"Dask ({args.scheduler or f'LocalCluster, {args.workers} worker processes'})"
        if (args.dask or args.scheduler)
        else "single process"
    )
    cmd = "python benchmarks/scale.py " + " ".join(sys.argv[1:])
    workers_col = any(r["workers_mb"] for r in rows)
    lines = [
        f"## {len(records):,} records, {mode}",
        "",
        f"Command: `{cmd}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        "shared busy 2-core machine (other jobs running; timings are noisy).",
        "",
        f"- records: {len(records):,} ({len(matches):,} true matching pairs); candidates after "
        f"blocking: {len(candidates):,} (pair completeness {blocked_recall:.4f}); "
        f"L: {L.shape[0]:,} x {L.shape[1]} int8",
        f"- active loop: pool {args.pool:,} sampled candidates, budget {args.budget}, batch "
        f"{args.batch}, {len(history)} rounds, SimilarityMatcher, threshold {threshold:.3f}",
        f"- all candidates scored by the final matcher, end to end (recall against all true "
        f"pairs): precision {matcher_prf[0]:.4f}, recall {matcher_prf[1]:.4f}, "
        f"**F1 {matcher_prf[2]:.4f}** (over the candidates only: {matcher_prf[3]:.4f}; label "
        f"model alone at 0.5, end to end: F1 {lm_prf[2]:.4f})",
        f"- whole run: {total / 60:.1f} min; peak RSS of the main process over the whole run: "
        f"{overall_peak / 1024:.2f} GB",
        "",
        "| stage | wall seconds | CPU seconds (main + workers) | peak RSS main (MB) |"
        + (" peak RSS workers, sum (MB) |" if workers_col else ""),
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
        sp = splink["prf"]
        lines += [
            "",
            f"Splink {splink['version']} (DuckDB, {args.threads} threads, no labels; "
            "benchmarks/_splink_run.py) on the same records: "
            f"{splink['seconds']:.0f} s ({splink.get('cpu', float('nan')):.0f} CPU s), "
            f"peak RSS {splink['peak_mb'] / 1024:.2f} GB, "
            f"{splink['n_candidates']:,} candidates (pair completeness "
            f"{splink['pair_completeness']:.4f}), end to end P {sp[0]:.4f} R {sp[1]:.4f} "
            f"**F1 {sp[2]:.4f}**",
        ]
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
