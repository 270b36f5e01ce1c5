"""Ablation of the active loop's selectors on the DeepMatcher benchmark data.

Pool = the train split (its gold hidden behind a SimulatedOracle), test F1 of the final matcher
on the test split after 0, 25, 50, 100 and 200 expert labels, batches of 10. Compared: hybrid,
maxKL only, risk k-medoids only, entropy, random, core-set (all with LFs), active learning
without LFs (`no_lfs`: the hybrid selector, no label model, the matcher on expert labels only)
and weak supervision without labels (`weak_only`), plus ablations of the hybrid's parts (see
VARIANTS). A name ending in `_dirty` (`_dirty80`, `_title_only`) is the data set's dirty
variant (benchmarks/_variants.py, dirtied with the run's seed). The matcher's featurizer is
fitted on the pool and the test pairs together (every candidate, unlabelled). Runs append to
the .jsonl next to --out; a stopped run resumes where it was. The loop as shipped is the config
`hybrid_monotone_l2_skill_restore` (DEFAULT_CONFIG); a bare selector name such as `hybrid` runs
the selector with an unconstrained matcher and no restore.

    .venv/bin/python benchmarks/active_loop.py --names dblp_acm --seeds 0,1,2 --budget 200
    .venv/bin/python benchmarks/active_loop.py --quick         # one small data set, budget 30
    .venv/bin/python benchmarks/active_loop.py --names dblp_acm --budget 20 --configs hybrid \
        --matcher rnn --threads 2                              # iteration time, RNN matcher
    .venv/bin/python benchmarks/active_loop.py --from-jsonl a.jsonl,b.jsonl   # re-summarise
    .venv/bin/python benchmarks/active_loop.py --names household --configs hybrid,weak_only \
        --budget 100 --checkpoints 0,20,50,100   # the bundled demo set (no download)
    .venv/bin/python benchmarks/active_loop.py --names abt_buy,amazon_google,fodors_zagats \
        --seeds 0,1,2 --budget 100 --configs hybrid,medium,hybrid_two_stage,medium_two_stage \
        --out benchmarks/results/active_loop_medium_two_stage.md   # the write-up's recipe
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")  # 2 busy cores: threads oversubscribe
REPO = Path(__file__).resolve().parents[1]
# benchmarks/blocking.py etc. would shadow the packages of the same name
sys.path[:] = [str(REPO)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(REPO / "benchmarks"))  # the helpers (_variants), after the packages

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import command  # noqa: E402
from _variants import split_name  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
# ActiveLoop's defaults: the hybrid selector, a monotone l2 matcher, soft labels weighed by
# their Brier skill, moved values restored (the issue-15 bars are read on this config)
DEFAULT_CONFIG = "hybrid_monotone_l2_skill_restore"
SELECTORS = ["hybrid", "maxkl", "risk_kmedoids", "entropy", "random", "coreset"]
BASELINES = ["no_lfs", "weak_only"]
CHECKPOINTS = (0, 25, 50, 100, 200)
# ablations: (selector, its options, ActiveLoop options); the hybrid's defaults are
# hot='contradicted', kl_share=0.3, shortlist=3. The *_calibrated runs pick the same pairs as
# their plain twins (selection never reads the cut-off), so the pair compares the cut-offs.
VARIANTS = {"hybrid_no_kl": ("hybrid", {"kl_share": 0.0}, {}),
            "hybrid_kl": ("hybrid", {"hot": "kl"}, {}),
            "hybrid_pool": ("hybrid", {"shortlist": None}, {}),
            "hybrid_sl1": ("hybrid", {"shortlist": 1.0}, {}),
            "hybrid_calibrated": ("hybrid", {}, {"calibrate": True}),
            "risk_kmedoids_calibrated": ("risk_kmedoids", {}, {"calibrate": True}),
            # the end-to-end dedup write-up: its sampling (selector "medium"), its two-stage
            # refit (active.refit.TwoStageLoop) with either selector, and the loop's one-round
            # stale pseudo-labels (CEAL) for comparison
            "hybrid_two_stage": ("hybrid", {}, {"two_stage": True}),
            "medium_two_stage": ("medium", {}, {"two_stage": True}),
            "hybrid_pseudo": ("hybrid", {}, {"pseudo_labels": True}),
            # expert labels weighted 25 against the soft labels' 1 (the loop's default: 5)
            "hybrid_expert25": ("hybrid", {}, {"expert_weight": 25.0}),
            "hybrid_expert100": ("hybrid", {}, {"expert_weight": 100.0}),
            # the soft labels' weight: fixed (1 = the former default) or chosen by
            # cross-validated log-loss on the expert labels (ActiveLoop(soft_weight='cv'))
            "hybrid_soft1": ("hybrid", {}, {"soft_weight": 1.0}),
            "hybrid_soft03": ("hybrid", {}, {"soft_weight": 0.3}),
            "hybrid_softcv": ("hybrid", {}, {"soft_weight": "cv"}),
            # SimilarityMatcher options (not ActiveLoop's): monotone constraints
            "hybrid_monotone": ("hybrid", {}, {"matcher_options": {"monotonic": True}}),
            "hybrid_monotone_l2": ("hybrid", {}, {"soft_weight": 1.0, "matcher_options": {
                "monotonic": True, "l2_regularization": 1.0}}),
            "hybrid_l2": ("hybrid", {}, {"matcher_options": {"l2_regularization": 1.0}}),
            "hybrid_unconstrained": ("hybrid", {}, {"matcher_options": {"monotonic": False}}),
            # the loop's default matcher with the soft labels weighted by the label model's
            # Brier skill on the expert labels (ActiveLoop(soft_weight='skill'), the loop's
            # default since results/active_loop_skill.md; hybrid_monotone_l2 pins the former 1)
            "hybrid_monotone_l2_skill": ("hybrid", {}, {"soft_weight": "skill", "matcher_options": {
                "monotonic": True, "l2_regularization": 1.0}}),
            "hybrid_monotone_l2_skill5": ("hybrid", {}, {
                "soft_weight": "skill", "skill_prior_labels": 5.0,
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0}}),
            # the default with the matcher an average of boosted models, each on 80% of the
            # pairs (and, _mf, half the features per split), the iterations shared among them
            "hybrid_monotone_l2_skill_bag3": ("hybrid", {}, {
                "soft_weight": "skill", "matcher_options": {
                    "monotonic": True, "l2_regularization": 1.0, "n_models": 3,
                    "subsample": 0.8}}),
            "hybrid_monotone_l2_skill_bag3mf": ("hybrid", {}, {
                "soft_weight": "skill", "matcher_options": {
                    "monotonic": True, "l2_regularization": 1.0, "n_models": 3,
                    "subsample": 0.8, "max_features": 0.5}}),
            # with the cross-fitted difference-words column (SimilarityMatcher(difference_words=
            # 1.0)) and, _restore, the featurizer putting moved values back first
            # (PairFeaturizer(restore=True): the loop's own featurizer does since
            # results/active_loop_dirty.md, so _restore is the loop's default); matcher_small.md
            "hybrid_monotone_l2_skill_words": ("hybrid", {}, {
                "soft_weight": "skill", "matcher_options": {
                    "monotonic": True, "l2_regularization": 1.0, "difference_words": 1.0}}),
            "hybrid_monotone_l2_skill_restore": ("hybrid", {}, {
                "soft_weight": "skill", "featurizer_options": {"restore": True},
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0}}),
            # _restore_guard: values that read as title words stay in the title
            # (PairFeaturizer(restore_guard=True), MovedValues(guard=True)); matcher_small.md
            "hybrid_monotone_l2_skill_restore_guard": ("hybrid", {}, {
                "soft_weight": "skill", "featurizer_options": {"restore": True,
                                                               "restore_guard": True},
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0}}),
            # _additive: trees combine one attribute's features only (interactions="attribute"),
            # so the log-odds are a sum of per-attribute terms; active_loop_additive.md
            "hybrid_monotone_l2_skill_restore_additive": ("hybrid", {}, {
                "soft_weight": "skill", "featurizer_options": {"restore": True},
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0,
                                    "interactions": "attribute"}}),
            # _restore_unseen: also values no record holds in place, read off the title's end
            # (PairFeaturizer(restore_unseen=True)); matcher_small.md, "Dirty gaps"
            "hybrid_monotone_l2_skill_restore_unseen": ("hybrid", {}, {
                "soft_weight": "skill",
                "featurizer_options": {"restore": True, "restore_unseen": True},
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0}}),
            # _bag5: the default's matcher an average of 5 boosted models, each on 80% of the
            # pairs, the iterations shared among them (variance with few labels)
            "hybrid_monotone_l2_skill_restore_bag5": ("hybrid", {}, {
                "soft_weight": "skill", "featurizer_options": {"restore": True},
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0, "n_models": 5,
                                    "subsample": 0.8}}),
            # _nokl: the default without maxKL's share of each batch (risk k-medoids alone)
            "hybrid_monotone_l2_skill_restore_nokl": ("hybrid", {"kl_share": 0.0}, {
                "soft_weight": "skill", "featurizer_options": {"restore": True},
                "matcher_options": {"monotonic": True, "l2_regularization": 1.0}}),
            "hybrid_monotone_l2_skill_words_restore": ("hybrid", {}, {
                "soft_weight": "skill", "featurizer_options": {"restore": True},
                "matcher_options": {
                    "monotonic": True, "l2_regularization": 1.0, "difference_words": 1.0}})}


def _load(datasets: Path, name: str, split: str = "test", variant: str = "clean", seed: int = 0):
    """(pool, eval pairs, LFs, LF votes on the pool) of one data set; the dirty variant is
    dirtied with `seed`."""
    from _variants import load_variant

    from labeling_functions import apply_lfs, load_lfs

    if name == "household":  # the bundled demo set: pool seed 0, test seed 1, the demo's LFs
        from active.cli import DEMO_LFS
        from blocking import demo_dataset

        pool, test = (demo_dataset("household", seed=s, n_entities=300).pairs for s in (0, 1))
        lfs = load_lfs(DEMO_LFS)
        return pool, test, lfs, apply_lfs(lfs, pool)
    splits = load_variant(datasets / name, variant, seed, ("train", split))
    # a pair listed twice in a split (itunes_amazon) is one question: the loop refuses repeats
    pool, test = (splits[s].drop_duplicates(["ltable_id", "rtable_id"]).reset_index(drop=True)
                  for s in ("train", split))
    lfs = load_lfs(REPO / "examples" / "lfs" / f"{name}.py")
    return pool, test, lfs, apply_lfs(lfs, pool)


def _markdown(table: pd.DataFrame) -> str:
    """A DataFrame as a markdown table (index columns first)."""
    frame = table.reset_index()
    header = "| " + " | ".join(str(c) for c in frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row) + " |"
            for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def run_one(name, pool, test, lfs, L, config, seed, budget, batch,
            matcher: str = "similarity", audit: int = 0) -> pd.DataFrame:
    """One loop run; returns its history with the configuration attached."""
    from active import ActiveLoop, SimulatedOracle, make_selector
    from active.refit import TwoStageLoop
    from labeling_functions import PairFeaturizer
    from matchers import RNNMatcher, SimilarityMatcher

    gold = pool["label"].to_numpy()
    with_lfs = config != "no_lfs"
    selector = "hybrid" if config in ("no_lfs", "weak_only") else config
    options: dict = {}
    if config in VARIANTS:
        base, selector_options, options = VARIANTS[config]
        selector = make_selector(base, seed=seed, **selector_options)
    options = dict(options)
    matcher_options = options.pop("matcher_options", {})
    featurizer_options = options.pop("featurizer_options", {})
    loop = (TwoStageLoop if options.pop("two_stage", False) else ActiveLoop)(
        pool, lfs if with_lfs else None, oracle=SimulatedOracle(gold), selector=selector,
        # the featurizer sees every candidate, unlabelled (the pool is a sample of them)
        matcher=RNNMatcher(seed=seed) if matcher == "rnn" else SimilarityMatcher(
            seed=seed, featurizer=PairFeaturizer(**featurizer_options).fit(pd.concat([pool, test])),
            **matcher_options),
        L=L if with_lfs else None, batch_size=batch,
        gold=gold, eval_pairs=test, eval_labels=test["label"], seed=seed, audit=audit,
        **options,
    )
    started, cpu = time.perf_counter(), time.process_time()
    history = loop.run(0 if config == "weak_only" else budget)
    history["wall"] = time.perf_counter() - started
    history["cpu_s"] = time.process_time() - cpu  # all threads: robust to a busy machine
    history["dataset"], history["config"], history["seed"] = name, config, seed
    return history


def _at(history: pd.DataFrame, n: int) -> float:
    rows = history[history["n_labels"] <= n]
    return float(rows["eval_f1"].iloc[-1]) if len(rows) else float("nan")


def per_seed(runs: pd.DataFrame, checkpoints: list[int]) -> pd.DataFrame:
    """Test F1 (x100) per data set, configuration, seed and label count."""
    rows = []
    for (dataset, config, seed), h in runs.groupby(["dataset", "config", "seed"]):
        for n in checkpoints:
            value = _at(h, n) if config != "weak_only" else float(h["eval_f1"].iloc[0])
            rows.append({"dataset": dataset, "config": config, "seed": seed, "n": n,
                         "f1": 100 * value})
    return pd.DataFrame(rows)


def summarise(runs: pd.DataFrame, checkpoints: list[int]) -> pd.DataFrame:
    """Test F1 (x100) per data set, configuration and label count: "mean ± sd" over seeds."""
    stats = per_seed(runs, checkpoints).groupby(["dataset", "config", "n"])["f1"].agg(
        ["mean", "std", "count"])
    cell = (stats["mean"].map("{:.1f}".format) + " ± " + stats["std"].fillna(0).map(
        "{:.1f}".format))
    table = cell.unstack("n")
    table["seeds"] = stats["count"].groupby(level=["dataset", "config"]).max()
    return table


def overall(runs: pd.DataFrame, checkpoints: list[int]) -> pd.DataFrame:
    """Mean over data sets of test F1, then mean and standard deviation of that over seeds:
    the headline figure and how much it moves with the seed (complete cells only)."""
    scores = per_seed(runs, checkpoints)
    # the (data set, seed) cells that every fully run configuration has, and only the
    # configurations that have them all, so that the means compare
    cells = scores.groupby("config")[["dataset", "seed"]].apply(
        lambda g: frozenset(zip(g["dataset"], g["seed"], strict=True)))
    common = frozenset.intersection(*cells[cells.map(len) == cells.map(len).max()])
    keep = cells.index[cells.map(common.issubset)]
    in_common = [(d, s) in common for d, s in zip(scores["dataset"], scores["seed"], strict=True)]
    scores = scores[scores["config"].isin(keep) & np.asarray(in_common)]
    by_seed = scores.groupby(["config", "seed", "n"])["f1"].mean()
    stats = by_seed.groupby(level=["config", "n"]).agg(["mean", "std"]).unstack("n")
    out = pd.DataFrame(index=stats.index)
    for n in checkpoints:
        out[f"{n} mean"] = stats[("mean", n)]
        out[f"{n} sd"] = stats[("std", n)]
    return out.sort_values(f"{checkpoints[-1]} mean", ascending=False)


# DeepMatcher-RNN's published F1 with the full train split (../shared/datasets/README.md)
PUBLISHED_RNN = {"dblp_acm": 98.3, "amazon_google": 59.9, "abt_buy": 39.4}


def _bars(runs: pd.DataFrame, means: pd.DataFrame, checkpoints: list[int]) -> list[str]:
    """The issue's bars (1) and (2) read off the tables."""
    lines = []
    selectors = [c for c in SELECTORS if c in means.index and c != "hybrid"]
    if "hybrid" in means.index and selectors:
        for n in [n for n in (50, 100, 200) if n in checkpoints]:
            best = means.loc[selectors, f"{n} mean"]
            hybrid = means.loc["hybrid", f"{n} mean"]
            verdict = "met" if hybrid >= best.max() else "not met"  # unrounded means
            lines.append(f"- Bar (2) at {n} labels: hybrid {hybrid:.2f} vs best other selector "
                         f"{best.idxmax()} {best.max():.2f}: {verdict}.")
    hybrid_runs = runs[runs["config"] == "hybrid"]
    scores = per_seed(hybrid_runs, checkpoints) if len(hybrid_runs) else None
    for name, target in PUBLISHED_RNN.items() if scores is not None else ():
        f1 = scores[scores["dataset"] == name].groupby("n")["f1"].mean()
        if len(f1):
            lines.append(f"- Bar (1) {name}: hybrid best {f1.max():.1f} (at {f1.idxmax()} "
                         f"labels; {f1.iloc[-1]:.1f} at {f1.index[-1]}) vs DeepMatcher-RNN "
                         f"{target}: {'met' if f1.max() >= target else 'not met'}.")
    return lines


def timing(runs: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """Mean seconds per stage of one iteration, and the selection step's share of it."""
    rows = runs[(runs["dataset"] == dataset) & runs["t_select"].notna()].copy()
    stages = ["t_label_model", "t_matcher", "t_risk", "t_select"]
    rows["t_total"] = rows[stages].sum(axis=1)  # the loop's rows carry the stages only
    table = rows.groupby("config")[[*stages, "t_total"]].mean()
    table["select_share_%"] = 100 * table["t_select"] / table["t_total"]
    return table.round(3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--names", default="dblp_acm,abt_buy")
    parser.add_argument("--configs", default=",".join(SELECTORS + BASELINES),
                        help="selectors, baselines or VARIANTS; the loop as shipped "
                             f"(ActiveLoop's defaults) is {DEFAULT_CONFIG}, while a bare "
                             "selector name runs it with an unconstrained matcher and no "
                             "restore (the ablation's base)")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--matcher", choices=["similarity", "rnn"], default="similarity",
                        help="the loop's matcher (rnn: the default RNNMatcher, slow on CPU)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--audit", type=int, default=0,
                        help="audit pairs per batch (ActiveLoop(audit=...); the loop's default "
                             "is 2, which measure and never train: 0 here compares selectors on "
                             "every label)")
    parser.add_argument("--quick", action="store_true", help="fodors_zagats, budget 30")
    parser.add_argument("--out", default=str(RESULTS / "active_loop.md"))
    parser.add_argument("--eval-split", choices=["test", "valid"], default="test",
                        help="split the F1 is measured on (valid: for choosing defaults)")
    parser.add_argument("--notes", help="a markdown file appended to the report")
    parser.add_argument("--checkpoints", help="label counts of the table (default "
                        + ",".join(map(str, CHECKPOINTS)) + ")")
    parser.add_argument("--fresh", action="store_true",
                        help="start a new .jsonl next to --out instead of resuming it")
    parser.add_argument("--from-jsonl",
                        help="only summarise earlier runs (comma-separated .jsonl files)")
    args = parser.parse_args(argv)
    if args.from_jsonl:
        runs = pd.concat([pd.read_json(f, lines=True) for f in args.from_jsonl.split(",")],
                         ignore_index=True)
        names = list(dict.fromkeys(runs["dataset"]))
        seeds = sorted(runs["seed"].unique().tolist())
        write_report(runs, args, names, seeds, None, argv)
        return 0
    datasets = Path(args.datasets)
    if not datasets.is_dir():
        print(f"data folder {datasets} not found; pass --datasets PATH (see "
              "../shared/datasets/README.md)", file=sys.stderr)
        return 2
    if args.quick:
        args.names, args.budget = "fodors_zagats", 30
    import torch

    torch.set_num_threads(args.threads)
    names = args.names.split(",")
    configs = args.configs.split(",")
    seeds = [int(s) for s in args.seeds.split(",")]
    raw = Path(args.out).with_suffix(".jsonl")
    raw.parent.mkdir(parents=True, exist_ok=True)
    if args.fresh:
        raw.unlink(missing_ok=True)
    done = _done(raw, args.budget)
    started = time.perf_counter()
    with raw.open("a") as log:
        for name in names:
            todo = [(s, c) for s in seeds for c in configs if (name, c, s) not in done]
            if not todo:
                continue
            for seed, config in todo:
                dataset, variant = split_name(name)
                pool, test, lfs, L = _load(datasets, dataset, args.eval_split, variant, seed)
                h = run_one(name, pool, test, lfs, L, config, seed, args.budget, args.batch,
                            args.matcher, args.audit)
                log.write(h.to_json(orient="records", lines=True))
                log.flush()
                print(f"{name} {config} seed {seed}: test F1 "
                      f"{h['eval_f1'].iloc[-1]:.3f} after {h['n_labels'].iloc[-1]} labels "
                      f"({h['wall'].iloc[0]:.0f} s)", flush=True)
    runs = pd.read_json(raw, lines=True)
    write_report(runs, args, names, seeds, time.perf_counter() - started, argv)
    return 0


def _done(raw: Path, budget: int) -> set[tuple[str, str, int]]:
    """(data set, config, seed) of the runs already in `raw` that reached `budget` labels (or
    are weak_only), so that a stopped run resumes; a half-written last line is dropped."""
    if not raw.exists() or raw.stat().st_size == 0:
        return set()
    lines = raw.read_text().splitlines(keepends=True)
    if not lines[-1].endswith("\n"):
        raw.write_text("".join(lines[:-1]))
    runs = pd.read_json(raw, lines=True)
    if runs.empty:
        return set()
    last = runs.groupby(["dataset", "config", "seed"])["n_labels"].max()
    complete = (last >= budget) | (last.index.get_level_values("config") == "weak_only")
    return set(last.index[complete])


def write_report(runs: pd.DataFrame, args, names, seeds, wall: float | None, argv) -> None:
    """The markdown table, per-stage timings and a plot of the learning curves."""
    marks = [int(n) for n in args.checkpoints.split(",")] if args.checkpoints else CHECKPOINTS
    checkpoints = sorted({n for n in marks if n <= args.budget} | {args.budget})
    table = summarise(runs, checkpoints)
    ran = "" if wall is None else f"; wall {wall:.0f} s"
    lines = [
        "# Active loop: selector ablation",
        "",
        f"Command: `{command('active_loop.py', argv)}`"
        f"  \nDate: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC{ran} on the shared 2-core machine "
        "(other jobs running).",
        "",
        f"Data sets: {', '.join(names)}; seeds {seeds}; budget {args.budget}; batch "
        f"{args.batch}. Pool = train split (gold behind a SimulatedOracle), F1 on the "
        f"{getattr(args, 'eval_split', 'test')} split (x100). Matcher: "
        + ("RNNMatcher (defaults)" if getattr(args, "matcher", "similarity") == "rnn" else
           "SimilarityMatcher (gradient boosting on similarity features, features cached per "
           "data set)")
        + "; label model: PenalizedLabelModel(penalty='auto'); "
        "LFs: examples/lfs/<dataset>.py.",
        "",
        "## F1 by expert labels (mean ± sd over seeds)",
        "",
        _markdown(table),
        "",
    ]
    means = overall(runs, checkpoints)
    bars = _bars(runs, means, checkpoints) if getattr(args, "eval_split", "test") == "test" else []
    lines += ["## Mean over data sets (mean and sd over seeds)", "", _markdown(means.round(1)), "",
              *bars, ""]
    for name in [n for n in ("dblp_acm", *names) if n in set(runs["dataset"])][:1]:
        lines += [f"## Seconds per iteration on {name} (mean over iterations)", "",
                  _markdown(timing(runs, name)), ""]
    if args.notes:
        lines += [Path(args.notes).read_text()]
    Path(args.out).write_text("\n".join(lines))
    _plot(runs, Path(args.out).with_suffix(".png"))
    print("\n".join(lines))


def _plot(runs: pd.DataFrame, path: Path) -> None:
    from matplotlib.figure import Figure

    names = list(dict.fromkeys(runs["dataset"]))
    figure = Figure(figsize=(5 * len(names), 4), layout="constrained")
    for k, name in enumerate(names):
        ax = figure.add_subplot(1, len(names), k + 1)
        for config, h in runs[runs["dataset"] == name].groupby("config"):
            curve = h.groupby("n_labels")["eval_f1"].mean()
            if config == "weak_only":
                ax.axhline(curve.iloc[0], color="gray", linestyle="--", label=config)
            else:
                ax.plot(curve.index, curve.values, marker=".", label=config)
        ax.set(title=name, xlabel="expert labels", ylabel="test F1")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    sys.exit(main())
