"""The deep matcher off the person's path: after a 200-label loop, does an RNNMatcher trained on
the loop's labels beat the in-loop matcher, and does `ActiveLoop.finish` pick the better one?

Set-up as benchmarks/active_loop.py (its loader and loop options are imported): pool = the train
split with its gold behind a SimulatedOracle, hybrid selector, SimilarityMatcher in the loop
(featurizer fitted on pool and test pairs, unlabelled), the example LFs, batches of 10, a name
ending in `_dirty` is the dirty variant. After the loop, `loop.finish()` trains each final
configuration (FINALS) on the soft and expert labels, compares it with the in-loop matcher on a
held-out quarter of the expert labels and keeps the better. Reported per run: test F1 of the
in-loop matcher, of the final RNN and of what finish chose, finish's held-out F1s, whether its
choice was the test-better model, the final-fit and pretraining seconds. Runs append to the
.jsonl next to --out; a stopped run resumes.

    .venv/bin/python benchmarks/deep_after_loop.py --names beer,itunes_amazon --seeds 0
    .venv/bin/python benchmarks/deep_after_loop.py --from-jsonl   # re-render the table only
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path[:] = [str(REPO)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(REPO / "benchmarks"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _variants import split_name  # noqa: E402
from active_loop import _load, _markdown  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
# final configurations: (RNNMatcher options, finish options); all share serialized input and
# pretraining, the defaults recommended by results/deep_matcher_featurizer.md
RNN = {"serialized": True, "pretrain": True, "loss": "bootstrap_soft", "beta": 0.8}
FINALS = {
    "rnn": (RNN, {}),
    "rnn_ceal": (RNN, {"pseudo_labels": True}),
    "rnn_ce": ({**RNN, "loss": "cross_entropy"}, {}),
    "rnn_beta06": ({**RNN, "beta": 0.6}, {}),
}


def run_loop(name: str, datasets: Path, seed: int, budget: int, batch: int, split: str,
             audit: int = 0):
    """The 200-label loop of active_loop.py (hybrid, SimilarityMatcher, example LFs)."""
    from active import ActiveLoop, SimulatedOracle
    from labeling_functions import PairFeaturizer
    from matchers import SimilarityMatcher

    dataset, variant = split_name(name)
    pool, test, lfs, L = _load(datasets, dataset, split, variant, seed)
    gold = pool["label"].to_numpy()
    loop = ActiveLoop(
        pool, lfs, oracle=SimulatedOracle(gold), selector="hybrid",
        matcher=SimilarityMatcher(seed=seed,
                                  featurizer=PairFeaturizer().fit(pd.concat([pool, test]))),
        L=L, batch_size=batch, eval_pairs=test, eval_labels=test["label"], seed=seed, audit=audit)
    started = time.process_time()
    history = loop.run(budget)
    return loop, test, time.process_time() - started, float(history["eval_f1"].iloc[-1])


def _test_f1(pred: np.ndarray, test: pd.DataFrame) -> float:
    from blocking.metrics import f_measure

    return 100 * f_measure(test["label"].to_numpy(int), np.asarray(pred, dtype=int))


def run_finals(loop, test: pd.DataFrame, configs: list[str], args) -> list[dict]:
    """finish() once per final configuration on the same loop (each call starts from the
    loop's own output)."""
    from matchers import RNNMatcher

    in_loop_f1 = _test_f1(loop.matcher.predict(test), test)
    rows = []
    for config in configs:
        options, finish_options = FINALS[config]
        loop.final_matcher = RNNMatcher(
            seed=loop.seed, epochs=args.epochs, pretrain_steps=args.pretrain_steps,
            pretrain_cache=args.cache, featurizer=loop.featurizer, **options)
        cpu = time.process_time()
        report = loop.finish(**finish_options)
        rnn_f1 = _test_f1(loop.final_matcher.predict(test), test)
        chosen_f1 = _test_f1(loop.predict(test), test)
        rows.append({
            "config": config, "in_loop_test_f1": in_loop_f1, "final_test_f1": rnn_f1,
            "chosen_test_f1": chosen_f1, "chosen": report["chosen"],
            # the in-loop matcher on the same rows as the RNN (the held-out labels left out)
            "rival_test_f1": _test_f1(report["rival"].predict(test), test),
            "holdout_final_f1": 100 * report.get("final_f1", np.nan),
            "holdout_in_loop_f1": 100 * report.get("in_loop_f1", np.nan),
            "n_holdout": report["n_holdout"], "n_pseudo": report.get("n_pseudo", 0),
            "p_final_better": report.get("p_final_better"), "n_audit": report["n_audit"],
            "t_final_s": report["t_final"], "finish_cpu_s": time.process_time() - cpu,
            "pretrain_s": (loop.final_matcher.pretraining_ or {}).get("seconds", 0.0),
            "pretrain_records": (loop.final_matcher.pretraining_ or {}).get("records", 0),
            "epochs": len(loop.final_matcher.history_),
            # what finish compared on, for judging other decision rules from the log
            "held_out": report["held_out"].to_dict("list") if "held_out" in report else None,
        })
    return rows


def _done(raw: Path) -> set[tuple[str, int, str]]:
    if not raw.exists():
        return set()
    rows = [json.loads(line) for line in raw.read_text().splitlines() if line.strip()]
    return {(r["dataset"], r["seed"], r["config"]) for r in rows}


def _right(choice: pd.Series, runs: pd.DataFrame) -> pd.Series:
    """Whether a choice ("final" / "in_loop") has the higher test F1 of the two (a tie: both)."""
    picked = np.where(choice == "final", runs["final_test_f1"], runs["in_loop_test_f1"])
    right = pd.Series(picked >= runs[["final_test_f1", "in_loop_test_f1"]].max(axis=1),
                      index=runs.index)
    return right.astype(float).where(choice.notna())  # 1 / 0, NaN where not judged


def render(raw: Path, out: Path, notes: str | None) -> str:
    """The results table, the choice rules' record and the bar's reading from the .jsonl."""
    runs = pd.read_json(raw, lines=True)
    commands = list(dict.fromkeys(runs["command"]))
    for column, missing in (("p_final_better", np.nan), ("audit", 0)):  # rows before they were
        if column not in runs:  # logged
            runs[column] = missing
    runs["test_better"] = np.where(runs["final_test_f1"] > runs["in_loop_test_f1"], "final",
                                   np.where(runs["final_test_f1"] < runs["in_loop_test_f1"],
                                            "in_loop", "tie"))
    # the two rules finish() has had: the higher point F1 on the comparison labels, and a
    # paired bootstrap that must favour the final matcher in 90% of resamples
    runs["point_rule"] = np.where(runs["holdout_final_f1"] > runs["holdout_in_loop_f1"],
                                  "final", "in_loop")
    runs["bootstrap_rule"] = pd.Series(np.where(runs["p_final_better"] >= 0.9, "final",
                                                "in_loop"), index=runs.index).where(
        runs["p_final_better"].notna())
    # the rule finish() keeps: the bootstrap's, and only with at least 10 audit labels
    audited = runs["n_audit"].fillna(0) if "n_audit" in runs else pd.Series(0, index=runs.index)
    runs["audit_rule"] = runs["bootstrap_rule"].where(audited >= 10, "in_loop")
    runs["point_right"] = _right(runs["point_rule"], runs)
    runs["audit_rule_right"] = _right(runs["audit_rule"], runs)
    runs["bootstrap_right"] = _right(runs["bootstrap_rule"], runs)
    if "rival_test_f1" not in runs:
        runs["rival_test_f1"] = np.nan
    columns = ["dataset", "seed", "config", "in_loop_test_f1", "rival_test_f1", "final_test_f1",
               "chosen_test_f1",
               "chosen", "test_better", "holdout_in_loop_f1", "holdout_final_f1",
               "p_final_better", "point_right", "bootstrap_right", "audit_rule_right",
               "n_holdout", "n_pseudo",
               "epochs", "t_final_s", "pretrain_s", "pretrain_records", "loop_cpu_s"]
    table = runs[columns].round(2).set_index(["dataset", "seed", "config"])
    lines = [
        "# The deep matcher after a 200-label loop (RNNMatcher as ActiveLoop's final matcher)",
        "",
        "Commands: " + "; ".join(f"`{c}`" for c in commands)
        + f"  \nRendered: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from `{raw.name}` (every row "
        "carries its date) on the shared 2-core machine, one torch thread, other jobs running.",
        "",
        "Loop: hybrid selector, SimilarityMatcher, example LFs, PenalizedLabelModel, batches of "
        f"10, audit pairs per batch {sorted(set(runs['audit'].fillna(0).astype(int)))}, 200 "
        "expert labels (SimulatedOracle on the train split's gold). Then `loop.finish()`: the "
        "final matcher is fitted on the label model's soft labels (weight 1) and 75% of the "
        "selector's labels (weight 5); the other 25% (and any audit labels) compare it with a "
        "fresh in-loop matcher fitted on the same rows. F1 x100 on the test split. "
        "`in_loop_test_f1`: the in-loop matcher trained on all labels (the loop's output "
        "without a final matcher); `rival_test_f1`: the in-loop matcher on the RNN's rows "
        "(without the held-out labels; logged from the second batch of runs on); "
        "`final_test_f1`: the RNN as finish() fitted it; "
        "`chosen_test_f1`: the output after finish() as it ran (rows without `p_final_better` "
        "ran the earlier point-F1 rule); `holdout_*`: F1 on finish's comparison labels; "
        "`point_right` / `bootstrap_right` / `audit_rule_right`: the choice of the point-F1 "
        "rule / of the bootstrap rule (confidence 0.9) / of finish's rule (the bootstrap's, "
        "only with at least 10 audit labels, else in-loop) has the higher test F1 of the two. "
        "Final configurations: "
        + "; ".join(f"`{k}` = RNNMatcher({', '.join(f'{a}={v!r}' for a, v in o.items())})"
                    + (f" with finish({', '.join(f'{a}={v!r}' for a, v in f.items())})"
                       if f else "") for k, (o, f) in FINALS.items()
                    if k in set(runs["config"])) + ".",
        "",
        _markdown(table),
        "",
    ]
    groups = runs.assign(win=runs["final_test_f1"] > runs["in_loop_test_f1"]).groupby("config")
    summary = pd.DataFrame({
        "runs": groups.size(),
        "RNN beats in-loop (test)": groups["win"].sum(),
        "mean in-loop F1": groups["in_loop_test_f1"].mean(),
        "mean RNN F1": groups["final_test_f1"].mean(),
        "mean chosen F1": groups["chosen_test_f1"].mean(),
        "point rule right": groups["point_right"].sum(),
        "bootstrap rule right": groups["bootstrap_right"].sum(),
        "bootstrap rule judged": groups["bootstrap_right"].count(),
        "audit rule right": groups["audit_rule_right"].sum(),
    }).round(1)
    lines += ["## Summary per final configuration", "", _markdown(summary), ""]
    if notes and Path(notes).exists():
        lines += [Path(notes).read_text()]
    text = "\n".join(lines)
    out.write_text(text)
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=str(REPO.parent / "shared" / "datasets"))
    parser.add_argument("--names", default="beer,itunes_amazon,fodors_zagats,dblp_acm,"
                        "abt_buy,amazon_google")
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--configs", default="rnn,rnn_ceal", help=",".join(FINALS))
    parser.add_argument("--budget", type=int, default=200)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=6, help="RNN epochs (no valid split)")
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--cache", default="/tmp/deep_after_loop_cache",
                        help="pretraining cache folder (shared by the configurations)")
    parser.add_argument("--audit", type=int, default=0,
                        help="audit pairs per batch (the loop's default is 2; they never train "
                             "and finish() compares on them)")
    parser.add_argument("--eval-split", choices=["test", "valid"], default="test")
    parser.add_argument("--out", default=str(RESULTS / "deep_after_loop.md"))
    parser.add_argument("--notes", help="a markdown file appended to the report")
    parser.add_argument("--from-jsonl", action="store_true", help="only re-render")
    args = parser.parse_args(argv)
    out = Path(args.out)
    raw = out.with_suffix(".jsonl")
    raw.parent.mkdir(parents=True, exist_ok=True)
    command = ".venv/bin/python benchmarks/deep_after_loop.py " + " ".join(
        argv if argv is not None else sys.argv[1:])
    if not args.from_jsonl:
        import torch

        torch.set_num_threads(1)
        datasets = Path(args.datasets)
        if not datasets.is_dir():
            print(f"data folder {datasets} not found; pass --datasets PATH", file=sys.stderr)
            return 2
        configs = args.configs.split(",")
        unknown = sorted(set(configs) - set(FINALS))
        if unknown:
            print(f"unknown --configs {unknown}; choose from {list(FINALS)}", file=sys.stderr)
            return 2
        done = _done(raw)
        for name in args.names.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                todo = [c for c in configs if (name, seed, c) not in done]
                if not todo:
                    continue
                loop, test, loop_cpu, eval_f1 = run_loop(name, Path(args.datasets), seed,
                                                         args.budget, args.batch,
                                                         args.eval_split, args.audit)
                for row in run_finals(loop, test, todo, args):
                    row.update(dataset=name, seed=seed, loop_cpu_s=loop_cpu,
                               split=args.eval_split, audit=args.audit,
                               command=command,
                               date=f"{datetime.now(UTC):%Y-%m-%d %H:%M}")
                    with raw.open("a") as log:
                        log.write(json.dumps(row) + "\n")
                    print(json.dumps(row), flush=True)
    print(render(raw, out, args.notes))
    return 0


if __name__ == "__main__":
    sys.exit(main())
