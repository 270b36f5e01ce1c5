"""Does the live F1 estimate cover the truth, where do the stopping rules stop, and what does the
audit cost?

The loop on each shared data set (pool = train split, gold hidden behind a SimulatedOracle, the
example LFs, the default in-loop matcher and selector, batches of 10 of which `--audit` are
audit pairs). After every fitted round the loop estimates its matcher's F1 on the whole pool
with a 95% interval twice: from every label, the audit's weighted by its inclusion
probabilities (the live estimate), and from the selector's labels alone (no audit, as before
the audit existed); the true pool F1 is known from the gold. Reported for both: error, width
and coverage over all rounds, at the moment each stopping rule stops (the rules read only the
history, so they are replayed on it) and at the end of the run; and the audit's label cost:
its share of the answers and the true F1 lost against runs without an audit
(`stopping_rule_noaudit.jsonl`, the same sets, seeds and budget with every label chosen by the
selector).

    .venv/bin/python benchmarks/stopping_rule.py --names beer,dblp_acm --seeds 0,1,2 --budget 100

Each (set, seed) is appended to `<out>.jsonl` as it ends and skipped when run again, so a long
table is built by several shorter commands; the summary covers the whole log. With `--rounds
DIR` every round's scores and labels are kept there, and `--rescore` recomputes both estimates
of the log from them with the current estimator and rewrites the log, without running the
loop again (the estimate does not steer the loop, and the rules are replayed).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
REPO = Path(__file__).resolve().parents[1]
# benchmarks/blocking.py etc. would shadow the packages; _common is imported by file path
sys.path[:] = [str(REPO)] + [p for p in sys.path
                             if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.append(str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from _common import RESULTS, add_datasets_argument, command, markdown_table, timestamp  # noqa: E402

RULES = ("f1_interval<0.1", "f1_interval<0.05", "gain<0.005 over 3 batches")
NAMES = ("beer", "fodors_zagats", "itunes_amazon", "dblp_acm", "abt_buy", "amazon_google")
# the live estimate (audit included) and the one from the selector's labels alone
ESTIMATORS = {"audit": ("f1_estimate", "f1_low", "f1_high"),
              "labels only": ("f1_noaudit", "f1_noaudit_low", "f1_noaudit_high")}


def run_one(datasets: Path, name: str, seed: int, budget: int, audit: int,
            rounds: Path | None = None) -> pd.DataFrame:
    """The history of one loop run, with the data set and seed; each round's scores and labels
    saved in `rounds` when given."""
    from active import ActiveLoop, SimulatedOracle
    from blocking import load_pairs
    from labeling_functions import load_lfs

    pool = load_pairs(datasets / name / "pairs" / "train.csv").reset_index(drop=True)
    lfs = load_lfs(REPO / "examples" / "lfs" / f"{name}.py")
    gold = pool["label"].to_numpy()
    loop = ActiveLoop(pool.drop(columns="label"), lfs, oracle=SimulatedOracle(gold),
                      batch_size=10, gold=gold, seed=seed, audit=audit)
    states = []
    fit_round = loop.fit_round
    loop.fit_round = lambda *a, **k: states.append(fit_round(*a, **k)) or states[-1]
    history = loop.run(budget).assign(dataset=name, seed=seed, budget=budget, audit=audit)
    if rounds is not None:
        rounds.mkdir(parents=True, exist_ok=True)
        kept = [s for s in states if s.matcher_proba is not None]
        np.savez_compressed(
            rounds / f"{name}_{seed}_{budget}_{audit}.npz",
            iteration=[s.row["iteration"] for s in kept],
            n_answers=[s.row["n_answers"] for s in kept],
            threshold=[s.threshold for s in kept],
            proba=np.stack([s.matcher_proba for s in kept]),
            **{f"{field}_{k}": getattr(s.snapshot, field) for k, s in enumerate(kept)
               for field in ("positions", "labels", "inclusion_prob", "frame")},
        )
    return history


def rescore(frame: pd.DataFrame, rounds: Path) -> pd.DataFrame:
    """The log with both estimates recomputed from the saved rounds."""
    from active.loop import LabelSnapshot, estimate_columns

    parts = []
    for key, run in frame.groupby(["dataset", "seed", "budget", "audit"]):
        saved = np.load(rounds / ("_".join(map(str, key)) + ".npz"))
        rows = []
        for k, (it, answers) in enumerate(zip(saved["iteration"], saved["n_answers"],
                                              strict=True)):
            snapshot = LabelSnapshot(*(saved[f"{f}_{k}"] for f in
                                       ("positions", "labels", "inclusion_prob", "frame")))
            rows.append({"iteration": int(it), "n_answers": int(answers),
                         **estimate_columns(saved["proba"][k], float(saved["threshold"][k]),
                                            snapshot)})
        new = pd.DataFrame(rows)
        old = run.drop(columns=[c for c in new.columns if c not in ("iteration", "n_answers")],
                       errors="ignore")
        parts.append(old.merge(new, on=["iteration", "n_answers"], how="left"))
    return pd.concat(parts, ignore_index=True)


def as_estimator(history: pd.DataFrame, name: str) -> pd.DataFrame:
    """The rounds with an estimate of estimator `name`, its columns renamed to the live ones
    (which the stopping rules read), with its error, width and coverage."""
    est, low, high = ESTIMATORS[name]
    frame = history.drop(columns=[c for c in ("f1_estimate", "f1_low", "f1_high")
                                  if c not in (est, low, high)])
    frame = frame.rename(columns={est: "f1_estimate", low: "f1_low", high: "f1_high"})
    frame = frame.dropna(subset=["f1_estimate"]).copy()
    truth = frame["matcher_f1"]
    frame["covered"] = (frame["f1_low"] <= truth) & (truth <= frame["f1_high"])
    frame["error"] = (frame["f1_estimate"] - truth).abs()
    frame["width"] = frame["f1_high"] - frame["f1_low"]
    frame["estimator"] = name
    return frame


def stop_rows(history: pd.DataFrame) -> list[dict]:
    """The row at which each rule would have stopped (the last row if it never did)."""
    from active.stopping import parse_stop_rule

    rows = history.sort_values("n_answers").to_dict("records")
    out = []
    for text in RULES:
        rule = parse_stop_rule(text)
        at = next((k for k in range(len(rows)) if rule.reason(rows[: k + 1])), len(rows) - 1)
        out.append({**rows[at], "rule": text, "stopped": at < len(rows) - 1})
    return out


_STATS = dict(coverage=("covered", "mean"), mae=("error", "mean"), width=("width", "mean"))


def summarise(frame: pd.DataFrame, baseline: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    """Tables: every round per set; at each rule's stop; at the end per set; the label cost."""
    est = pd.concat([as_estimator(frame, name) for name in ESTIMATORS], ignore_index=True)
    runs = est.groupby(["audit", "estimator", "dataset", "seed", "budget"])
    rounds = est.groupby(["audit", "dataset", "estimator"]).agg(
        rounds=("covered", "size"), **_STATS).reset_index()
    stops = pd.DataFrame([r for _, h in runs for r in stop_rows(h)])
    at_stop = stops.groupby(["audit", "rule", "estimator"]).agg(
        runs=("covered", "size"), stopped=("stopped", "mean"), answers=("n_answers", "mean"),
        audit_labels=("n_audit", "mean"), **_STATS, true_f1=("matcher_f1", "mean"),
    ).reset_index()
    stop_by_set = stops.pivot_table(index=["audit", "dataset", "estimator"], columns="rule",
                                    values="covered", aggfunc="mean").reset_index()
    last = est.loc[runs["n_answers"].idxmax()]
    end = pd.concat([last.assign(dataset="all sets"), last])
    at_end = end.groupby(["audit", "dataset", "estimator"], sort=False).agg(
        runs=("covered", "size"), answers=("n_answers", "mean"),
        audit_labels=("n_audit", "mean"), **_STATS, true_f1=("matcher_f1", "mean"),
    ).reset_index()
    tables = {"rounds": rounds, "at_stop": at_stop, "stop_by_set": stop_by_set, "end": at_end}
    if baseline is not None:
        mine = last[(last["estimator"] == "audit") & (last["audit"] > 0)][
            ["audit", "dataset", "seed", "budget", "matcher_f1"]]
        theirs = baseline.sort_values("n_labels").groupby(["dataset", "seed"]).tail(1)
        theirs = theirs.rename(columns={"matcher_f1": "no_audit_f1"})
        both = mine.merge(theirs[["dataset", "seed", "n_labels", "no_audit_f1"]],
                          on=["dataset", "seed"])
        both = both[both["n_labels"] == both["budget"]]
        tables["cost"] = both.groupby(["audit", "dataset"]).agg(
            runs=("seed", "size"), true_f1_with_audit=("matcher_f1", "mean"),
            true_f1_without=("no_audit_f1", "mean")).reset_index()
    return tables


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", default=",".join(NAMES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--audit", type=int, default=2, help="audit pairs per batch of 10")
    parser.add_argument("--out", default=str(RESULTS / "stopping_rule"))
    parser.add_argument("--rounds", default=None,
                        help="folder for every round's scores and labels (for --rescore)")
    parser.add_argument("--rescore", action="store_true",
                        help="recompute the estimates of the log from --rounds; run nothing")
    parser.add_argument("--baseline", default=str(RESULTS / "stopping_rule_noaudit.jsonl"),
                        help="histories of runs without an audit, for the label cost")
    args = parser.parse_args()
    log = Path(args.out + ".jsonl")
    done = set()
    if log.exists():
        old = pd.read_json(log, lines=True)
        done = set(zip(old["dataset"], old["seed"], old["budget"], old["audit"], strict=True))
    rounds = None if args.rounds is None else Path(args.rounds)
    for name in [] if args.rescore else args.names.split(","):
        for seed in map(int, args.seeds.split(",")):
            if (name, seed, args.budget, args.audit) in done:
                continue
            history = run_one(Path(args.datasets), name, seed, args.budget, args.audit, rounds)
            with log.open("a") as fh:
                for row in history.assign(command=command("stopping_rule.py")).to_dict("records"):
                    fh.write(json.dumps({k: v for k, v in row.items()
                                         if isinstance(v, int | float | str)}) + "\n")
            print(f"{name} seed {seed}: {len(history)} rounds", flush=True)
    frame = pd.read_json(log, lines=True)
    if args.rescore:
        frame = rescore(frame, rounds)
        frame.to_json(log, orient="records", lines=True)
    # the runs without an audit: this log's own (--audit 0) when it has them, else --baseline
    own_baseline = bool((frame["audit"] == 0).any())
    baseline = Path(args.baseline)
    tables = summarise(frame, frame[frame["audit"] == 0] if own_baseline else
                       pd.read_json(baseline, lines=True) if baseline.exists() else None)
    commands = "\n".join(f"    {c}" for c in frame["command"].drop_duplicates())
    text = [
        "# The live F1 estimate, the stopping rules and the audit", "",
        f"Summary written {timestamp()} from `{log.name}`, built by:", "", commands, "",
        *(["Both estimates recomputed from the saved rounds with the current estimator: "
            f"`{command('stopping_rule.py')}`.", ""] if args.rescore else []),
        "Pool = train split, example LFs, default in-loop matcher and selector, batches of 10 "
        f"with {sorted(frame['audit'].unique().tolist())} audit pairs each (kept out of "
        "training); truth = the matcher's F1 on the whole pool from the hidden gold. "
        "Estimators: 'audit' = the live estimate (every label, audits weighted by their "
        "inclusion probabilities); 'labels only' = the selector's labels alone, same runs. "
        "Runs per (audit, set): "
        f"{frame.groupby(['audit', 'dataset'])['seed'].nunique().to_dict()}.", "",
        "The audit: each batch, before the selector chooses, `audit` pairs are drawn from the "
        "pairs without an answer (`evaluation.draw_audit` on that round's scores), mixed into "
        "the batch and asked like the others; each is stored with its inclusion probability "
        "and the number of answers standing at its draw. `estimate_f1` counts the selector's "
        "labels exactly, models the rest by the recalibrated scores and corrects the model "
        "by each draw's importance-weighted residuals, minus the residuals of the pairs "
        "labelled since that draw (known exactly); draws are averaged by size. The variance "
        "keeps each prediction class's model rate 1/(k+2) away from 0 and 1 (k = its audit "
        "pairs) and uses Student's t (audit pairs - 1 degrees of freedom).", "",
        "## At the moment each rule stops (replayed on the histories, six sets pooled)", "",
        markdown_table(tables["at_stop"]), "",
        "Coverage at the stop, per set:", "", markdown_table(tables["stop_by_set"]), "",
        "## At the end of the run (the end-of-run figure)", "", markdown_table(tables["end"]),
        "",
        "## Every fitted round (from 10 labels on)", "", markdown_table(tables["rounds"]), "",
    ]
    if "cost" in tables:
        text += ["## The audit's label cost: true F1 at the end, with and without the audit",
                 "", "Without = " + ("this log's runs with `--audit 0` (same code, sets, "
                 "seeds and budget; every label chosen by the selector)." if own_baseline else
                 f"`{baseline.name}` (every label chosen by the selector; an earlier run, "
                 "possibly of other code)."), "",
                 markdown_table(tables["cost"]), ""]
    Path(args.out + ".md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
