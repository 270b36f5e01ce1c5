"""Restaurant de-duplication end to end: a million listings, quadtree blocks, ~100 labels.

Stages, each timed with its peak resident memory: generate listings (blocking.make_restaurants),
block with an overlapping quadtree (QuadtreeBlocker.iter_positions, chunk by chunk) and drop
in the same pass the pairs that cheap rules rule out (more than `--far` metres apart, or
sharing no name word, name start, phone or street number), run the active loop (ActiveLoop,
hybrid selector, SimulatedOracle, SimilarityMatcher on a PairFeaturizer plus the distance in
metres; `--features` picks the featurizer's views) on a sample of the candidates, score every
candidate in chunks (`--dask`: on a LocalCluster, `--scheduler`: on a running cluster), cut at
the loop's threshold, and write the clusters: unique.csv (one row per restaurant) and
duplicates.csv (every listing with a duplicate, with its cluster). Every F1 is end to end:
recall counts all true pairs, so pairs lost in blocking count as misses. `--splink PYTHON` runs
Splink (benchmarks/_splink_run.py, its own environment) on the same records in the same run.
Writes benchmarks/results/restaurants.md.

    .venv/bin/python benchmarks/restaurants.py --records 100000 [--splink /path/to/python]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from _common import append_results, command
from scale import Stages, pair_scores, start_client
from threadpoolctl import threadpool_limits

from blocking import QuadtreeBlocker, blocking_quality, join_pairs, make_restaurants
from blocking._arrays import unique_pairs
from blocking.quality import pairs_in
from labeling_functions import apply_lfs, load_lfs
from labeling_functions.featurizer import PairFeaturizer
from matchers import SimilarityMatcher
from matchers.distributed import score_candidates

ROOT = Path(__file__).resolve().parents[1]
NAME_STOP_WORDS = {
    "the", "and", "restaurant", "rest", "cafe", "express", "kitchen", "kitch", "llc",
    "downtown", "bar", "grill", "s",
}  # fmt: skip
METRES_PER_DEGREE = 111_320.0
NAME_KEYS = 4  # words per name compared by the cheap rule
# the slots of match_keys compared with one another: words, word starts, then one slot each
KEY_GROUPS = [(0, NAME_KEYS), (NAME_KEYS, 2 * NAME_KEYS)] + [
    (2 * NAME_KEYS + i, 2 * NAME_KEYS + i + 1) for i in range(3)
]


def _lf_module():
    """The restaurant LF file as a module, for its distance and phone helpers."""
    spec = importlib.util.spec_from_file_location(
        "restaurant_lfs", ROOT / "examples" / "lfs" / "restaurants.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


LF_MODULE = _lf_module()


class GeoFeaturizer(PairFeaturizer):
    """PairFeaturizer plus the listings' distance in metres (log1p): the lat/lon relative
    differences alone say little about how far apart two places are."""

    def _compute_all(self, pairs: pd.DataFrame) -> pd.DataFrame:
        features = super()._compute_all(pairs)
        features["metres_apart"] = np.log1p(LF_MODULE.metres_apart(pairs)).round(9)
        return features


FEATURES = {
    # every view of PairFeaturizer: per attribute, whole record, cross, missing, context margins
    "full": {},
    # the same without the context margins (fitted on the pool, a sample of the candidates)
    "no_context": {"context": False},
    # per-attribute similarities and the missingness pattern only (see the results file)
    "attributes": {"record": False, "cross": False, "context": False},
}


# ---- records and the cheap rules ------------------------------------------------------------
def generate(n_records: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    records, matches = make_restaurants(n_records, seed=seed)
    # the cleaning any user does first: phone numbers as digits
    records["phone"] = LF_MODULE.phone_digits(records["phone"]).replace("", None)
    return records, matches


def match_keys(records: pd.DataFrame) -> np.ndarray:
    """Per record, codes of what two listings of one restaurant are likely to share: up to
    NAME_KEYS name words (stop words dropped) and their first three letters, the first five
    letters of the name without spaces (a typo often hits a space), the phone and the street
    number. Missing slots are -1."""
    name = records["name"].astype("string[pyarrow]")  # string ops in C++, not per value
    text = name.str.lower().str.replace(r"[^a-z0-9 ]", " ", regex=True)
    words = text.str.split().explode().astype("string[pyarrow]")
    words = words[words.notna() & ~words.isin(NAME_STOP_WORDS)]
    rank = words.groupby(level=0).cumcount()
    words, rank = words[rank < NAME_KEYS], rank[rank < NAME_KEYS]
    squeezed = text.str.replace(r"^the ", "", regex=True).str.replace(" ", "").str[:5]
    number = records["address"].astype("string[pyarrow]").str.extract(r"^(\d{2,})", expand=False)
    starts = words[words.str.len() >= 4].str[:3]
    extra = [
        "n:" + squeezed[squeezed.str.len() >= 3],
        "tel:" + records["phone"].dropna().astype("string[pyarrow]"),
        "no:" + number.dropna(),
    ]
    codes, _ = pd.factorize(pd.concat([words, "p:" + starts, *extra]))
    keys = np.full((len(records), 2 * NAME_KEYS + len(extra)), -1, dtype=np.int32)
    row = np.concatenate(
        [words.index.to_numpy(), starts.index.to_numpy(), *[e.index.to_numpy() for e in extra]]
    )
    slot = np.concatenate(
        [rank.to_numpy(), NAME_KEYS + rank[words.str.len() >= 4].to_numpy()]
        + [np.full(len(e), 2 * NAME_KEYS + i) for i, e in enumerate(extra)]
    )
    keys[row, slot] = codes
    return keys


def plane(records: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each record's position in metres on a local flat map (exact enough within a few km)."""
    lat = records["lat"].to_numpy(float)
    y = lat * METRES_PER_DEGREE
    x = records["lon"].to_numpy(float) * METRES_PER_DEGREE * np.cos(np.radians(lat))
    return x, y


def block(records: pd.DataFrame, overlap: float, max_block: int, far: float, chunk: int):
    """Quadtree candidates, chunk by chunk, kept if within `far` metres and sharing one of the
    match_keys. Returns (candidates, quadtree pair count, blocker)."""
    blocker = QuadtreeBlocker(max_block=max_block, overlap=overlap)
    keys = match_keys(records)
    right_keys = np.where(keys < 0, -2, keys)
    x, y = plane(records)
    kept_l, kept_r, n_quadtree = [], [], 0
    for li, ri in blocker.iter_positions(records, chunk_pairs=chunk):
        n_quadtree += len(li)
        close = (x[li] - x[ri]) ** 2 + (y[li] - y[ri]) ** 2 <= far**2
        li, ri = li[close], ri[close]
        shared = np.zeros(len(li), bool)
        for lo, hi in KEY_GROUPS:  # words against words, starts against starts, ...
            left, right = keys[li, lo:hi], right_keys[ri, lo:hi]
            for a in range(hi - lo):
                for b in range(hi - lo):
                    shared |= left[:, a] == right[:, b]
        kept_l.append(li[shared])
        kept_r.append(ri[shared])
    li, ri = unique_pairs(np.concatenate(kept_l), np.concatenate(kept_r), len(records), True)
    ids = records["id"].to_numpy()
    return pd.DataFrame({"ltable_id": ids[li], "rtable_id": ids[ri]}), n_quadtree, blocker


def quadtree_completeness(records, matches, blocker) -> float:
    """Share of true pairs inside one widened quadtree block (before the cheap rules)."""
    return float(blocker.covers(matches, records).mean()) if len(matches) else float("nan")


# ---- learning and scoring ------------------------------------------------------------------
def active_loop(lfs, candidates, records, gold, pool: int, budget: int, batch: int, seed: int,
                features: str):
    from active import ActiveLoop, SimulatedOracle

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(candidates), size=min(pool, len(candidates)), replace=False))
    pairs = join_pairs(candidates.iloc[rows], records)
    L = apply_lfs(lfs, pairs, progress=False)
    featurizer = GeoFeaturizer(**FEATURES[features]).fit(pairs)
    loop = ActiveLoop(
        pairs,
        lfs=lfs,
        oracle=SimulatedOracle(gold[rows]),
        selector="hybrid",
        matcher=SimilarityMatcher(seed=seed, max_iter=100, featurizer=featurizer),
        batch_size=batch,
        L=L,
        gold=gold[rows],
        seed=seed,
    )
    # many small fits: a second thread only waits (and spins on a busy core)
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            history = loop.run(budget=budget)
    finally:
        torch.set_num_threads(threads)
    return loop, history


def score(matcher, candidates, records, chunk: int, client=None) -> np.ndarray:
    # every candidate is new to the featurizer: its pair cache would only grow
    matcher.featurizer_.set_params(cache=False)
    return score_candidates(matcher, candidates, records, client=client, chunk_rows=chunk)


def clusters(records: pd.DataFrame, matched: pd.DataFrame) -> np.ndarray:
    """Connected components of the matched pairs: a cluster number per record (row order)."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    pos = pd.Index(records["id"]).get_indexer
    a, b = pos(matched["ltable_id"]), pos(matched["rtable_id"])
    n = len(records)
    graph = coo_matrix((np.ones(len(a)), (a, b)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def write_outputs(records: pd.DataFrame, cluster: np.ndarray, out: Path) -> tuple[int, int]:
    """unique.csv: one listing per restaurant (cluster); duplicates.csv: listings with twins."""
    out.mkdir(parents=True, exist_ok=True)
    size = np.bincount(cluster)[cluster]
    table = records.assign(cluster=cluster, cluster_size=size)
    first = ~pd.Series(cluster).duplicated().to_numpy()
    table[first].to_csv(out / "unique.csv", index=False)
    table[size > 1].sort_values("cluster").to_csv(out / "duplicates.csv", index=False)
    return int(first.sum()), int((size > 1).sum())


def cluster_scores(records, matches, cluster) -> tuple[float, float, float]:
    """Pairwise scores of the clusters (every pair inside a cluster counts as predicted)."""
    size = np.bincount(cluster)
    predicted = int((size * (size - 1) // 2).sum())
    pos = pd.Index(records["id"]).get_indexer
    correct = int((cluster[pos(matches["ltable_id"])] == cluster[pos(matches["rtable_id"])]).sum())
    return pair_scores(len(matches), predicted, correct)


# ---- Splink ------------------------------------------------------------------------------------
def run_splink(python: str, records, matches, workdir: Path, threads: int,
               timeout: float | None = None) -> dict:
    """Run benchmarks/_splink_run.py in its own interpreter (stopped after `timeout` seconds);
    score its pairs and clusters."""
    data = workdir / "records.parquet"
    records.to_parquet(data, index=False)
    out = workdir / "splink"
    cmd = [python, str(ROOT / "benchmarks" / "_splink_run.py"), "--records", str(data),
           "--kind", "restaurants", "--out", str(out), "--threads", str(threads)]
    start = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"Splink did not finish within {timeout:g} s (stopped)") from None
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"Splink run failed:\n{done.stderr[-3000:]}")
    info = json.loads((out / "info.json").read_text())
    predicted = pd.read_parquet(out / "pairs.parquet")
    gold = pairs_in(predicted, matches, dedup=True)
    cl = pd.read_parquet(out / "clusters.parquet")
    cluster = cl.set_index("id").reindex(records["id"])["cluster"].to_numpy()
    found = blocking_quality(pd.read_parquet(out / "candidates.parquet"), matches, len(records))
    info.update(
        wall=seconds,
        pair_completeness=found["pair_completeness"],
        pairwise=pair_scores(len(matches), len(predicted), int(gold.sum())),
        clustered=cluster_scores(records, matches, pd.factorize(cluster)[0]),
    )
    return info


# ---- main --------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--max-block", type=int, default=300)
    parser.add_argument("--overlap", type=float, default=0.1)
    parser.add_argument("--far", type=float, default=1000.0, help="cheap rule: metres apart")
    parser.add_argument("--pool", type=int, default=5000, help="active-loop pool size")
    parser.add_argument("--budget", type=int, default=100, help="oracle answers in the loop")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=200_000, help="pairs per scoring chunk")
    parser.add_argument("--block-chunk", type=int, default=2_000_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--features", choices=sorted(FEATURES), default="attributes",
                        help="the matcher's PairFeaturizer views (see the results file)")
    parser.add_argument("--dask", action="store_true", help="score on a Dask LocalCluster")
    parser.add_argument("--scheduler", default=None, help="a Dask scheduler address to use")
    parser.add_argument("--workers", type=int, default=2, help="LocalCluster worker processes")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--splink", default=None, help="a Python with splink installed")
    parser.add_argument("--splink-timeout", type=float, default=None, help="seconds")
    parser.add_argument("--output", default=None, help="folder for unique.csv / duplicates.csv")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "restaurants.md"))
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    lfs = load_lfs(ROOT / "examples" / "lfs" / "restaurants.py")
    client = cluster = None
    if args.dask or args.scheduler:
        client, cluster = start_client(args)
    try:
        report = run(args, lfs, client)
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    write_report(args, report)
    return 0


def run(args, lfs, client) -> dict:
    """The timed pipeline, then the figures outside it; returns the report's numbers."""
    stages = Stages(client)
    t0 = time.perf_counter()
    records, matches = stages.run("generate records", generate, args.records, args.seed)
    candidates, n_quadtree, blocker = stages.run(
        "quadtree + cheap rules", block, records, args.overlap, args.max_block, args.far,
        args.block_chunk,
    )
    gold = pairs_in(candidates, matches, dedup=True).astype(np.int8)
    loop, history = stages.run(
        "active loop (pool)", active_loop, lfs, candidates, records, gold, args.pool,
        args.budget, args.batch, args.seed, args.features,
    )
    proba = stages.run("score all candidates", score, loop.matcher, candidates, records,
                       args.chunk, client)
    matched = candidates[proba >= loop.threshold]
    cluster = stages.run("clusters", clusters, records, matched)
    workdir = Path(tempfile.mkdtemp(prefix="restaurants_"))
    output = Path(args.output) if args.output else workdir / "output"
    n_unique, n_dup = stages.run("write unique/duplicates", write_outputs, records, cluster, output)
    total = time.perf_counter() - t0
    peak = max(r["peak_mb"] + r["workers_mb"] for r in stages.rows)

    # figures outside the timed run
    pc_quadtree = quadtree_completeness(records, matches, blocker)
    disjoint = QuadtreeBlocker(max_block=args.max_block, overlap=0.0)
    pc_disjoint = quadtree_completeness(records, matches, disjoint)
    found = int(gold.sum())
    e2e = pair_scores(len(matches), len(matched), int(gold[proba >= loop.threshold].sum()))
    on_candidates = pair_scores(found, len(matched), int(gold[proba >= loop.threshold].sum()))
    clustered = cluster_scores(records, matches, cluster)
    print(f"ours: {total:.0f} s, peak {peak:,.0f} MB, end-to-end F1 {e2e[2]:.4f}, "
          f"{len(candidates):,} candidates", flush=True)  # in the log before Splink starts
    splink = None
    if args.splink:
        try:
            splink = run_splink(args.splink, records, matches, workdir, args.threads,
                                args.splink_timeout)
        except RuntimeError as err:  # our figures still get written
            splink = {"error": str(err)[-800:]}
    return dict(
        records=len(records), true_pairs=len(matches), blocks=blocker.blocks_,
        n_quadtree=n_quadtree, candidates=len(candidates), pc_quadtree=pc_quadtree,
        pc_disjoint=pc_disjoint, pc_candidates=found / max(len(matches), 1),
        rounds=len(history), labels=int(history["n_labels"].iloc[-1]),
        threshold=loop.threshold, e2e=e2e, on_candidates=on_candidates, clustered=clustered,
        n_unique=n_unique, n_dup=n_dup, total=total, peak=peak, stages=stages.rows,
        splink=splink,
    )


def dask_note(args) -> str:
    if not (args.dask or args.scheduler):
        return ""
    where = args.scheduler or f"LocalCluster, {args.workers} worker processes"
    return f"; scoring on Dask ({where}); peak RSS is this process + the workers"


def write_report(args, r: dict) -> None:
    cmd = command("restaurants.py")
    blocks = r["blocks"]
    p, rc, f = r["e2e"]
    lines = [
        f"## {r['records']:,} listings ({r['true_pairs']:,} true duplicate pairs)",
        "",
        f"Command: `{cmd}`, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        "shared 2-core machine (other jobs running; timings are noisy).",
        "",
        f"- quadtree (max_block {args.max_block}, overlap {args.overlap}): {len(blocks):,} "
        f"blocks, cell sizes mean {blocks['size'].mean():.0f} / max {blocks['size'].max()}, "
        f"widened mean {blocks['widened_size'].mean():.0f} / max "
        f"{blocks['widened_size'].max()}; {r['n_quadtree']:,} pairs, pair completeness "
        f"{r['pc_quadtree']:.4f} (overlap 0: {r['pc_disjoint']:.4f})",
        f"- after the cheap rules (<= {args.far:g} m apart; a shared name word, name start, "
        "phone or street number): "
        f"{r['candidates']:,} candidates, pair completeness {r['pc_candidates']:.4f}",
        f"- active loop: pool {args.pool:,} sampled candidates, {r['labels']} labels in "
        f"{r['rounds']} rounds, SimilarityMatcher on the `{args.features}` features plus metres "
        f"apart, threshold {r['threshold']:.3f}",
        f"- **end to end (recall against all true pairs): precision {p:.4f}, recall {rc:.4f}, "
        f"F1 {f:.4f}**; over the candidates only: F1 {r['on_candidates'][2]:.4f}; after "
        f"clustering: P {r['clustered'][0]:.4f} R {r['clustered'][1]:.4f} "
        f"F1 {r['clustered'][2]:.4f}",
        f"- output: {r['n_unique']:,} restaurants in unique.csv, {r['n_dup']:,} listings in "
        "duplicates.csv",
        f"- whole run: {r['total']:.0f} s ({r['total'] / 60:.1f} min), peak RSS "
        f"{r['peak'] / 1024:.2f} GB{dask_note(args)}",
        "",
        "| stage | wall s | CPU s | peak RSS (MB) |",
        "|---|---|---|---|",
    ]
    for s in r["stages"]:
        lines.append(f"| {s['stage']} | {s['seconds']:.1f} | {s['cpu']:.1f} | "
                     f"{s['peak_mb'] + s['workers_mb']:,.0f} |")
    lines.append(f"| **total** | **{r['total']:.1f}** | "
                 f"{sum(s['cpu'] for s in r['stages']):.1f} | {r['peak']:,.0f} |")
    sp = r["splink"]
    if sp and "error" in sp:
        lines += ["", "Splink failed on these records:", "", "```", sp["error"], "```"]
    elif sp:
        lines += [
            "",
            f"Splink {sp['version']} (DuckDB, {args.threads} threads, no labels) on the same "
            f"records: {sp['seconds']:.0f} s ({sp['wall']:.0f} s with start-up and export; "
            f"{sp.get('cpu', float('nan')):.0f} CPU s), "
            f"peak RSS {sp['peak_mb'] / 1024:.2f} GB, "
            f"{sp['n_candidates']:,} candidates (pair completeness "
            f"{sp['pair_completeness']:.4f}), match probability >= {sp['threshold']}: "
            f"end-to-end P {sp['pairwise'][0]:.4f} R {sp['pairwise'][1]:.4f} "
            f"**F1 {sp['pairwise'][2]:.4f}**; clustered F1 {sp['clustered'][2]:.4f}.",
            "",
            "| | wall s | CPU s | peak RSS (GB) | pair completeness | end-to-end F1 | "
            "clustered F1 |",
            "|---|---|---|---|---|---|---|",
            f"| riskweasul | {r['total']:.0f} | {sum(s['cpu'] for s in r['stages']):.0f} | "
            f"{r['peak'] / 1024:.2f} | "
            f"{r['pc_candidates']:.4f} | {f:.4f} | {r['clustered'][2]:.4f} |",
            f"| Splink | {sp['seconds']:.0f} | {sp.get('cpu', float('nan')):.0f} | "
            f"{sp['peak_mb'] / 1024:.2f} | "
            f"{sp['pair_completeness']:.4f} | {sp['pairwise'][2]:.4f} | "
            f"{sp['clustered'][2]:.4f} |",
        ]
    text = "\n".join(lines) + "\n\n"
    append_results(
        args.out,
        (
            "# Restaurant de-duplication end to end\n\n"
            "Synthetic listings (blocking.make_restaurants), QuadtreeBlocker with the cheap "
            "rules of examples/lfs/restaurants.py applied while blocking, ActiveLoop with a "
            "SimulatedOracle, every candidate scored, clusters written as unique.csv / "
            "duplicates.csv. Every F1 is end to end: recall counts all true pairs, including "
            "those lost in blocking. Peak RSS per stage from /proc/self/status (VmHWM).\n\n"
        ),
        text,
    )


if __name__ == "__main__":
    sys.exit(main())
