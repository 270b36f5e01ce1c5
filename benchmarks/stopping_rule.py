"""Does the live F1 estimate cover the truth, and where would the stopping rules stop?

The loop on each shared data set (pool = train split, gold hidden behind a SimulatedOracle, the
example LFs, the default in-loop matcher and selector, batches of 10). After every fitted round
the loop estimates its matcher's F1 on the whole pool with a 95% interval from the expert labels
alone (`evaluation.estimate_f1`); the true pool F1 is known from the gold. Reported: the
estimate's error and the interval's coverage over all rounds, and at the moment each stopping
rule would have stopped (the rules read only the history, so they are replayed on it).

    .venv/bin/python benchmarks/stopping_rule.py --names beer,dblp_acm --seeds 0,1,2 --budget 100
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


def run_one(datasets: Path, name: str, seed: int, budget: int) -> pd.DataFrame:
    """The history of one loop run, with the data set and seed."""
    from active import ActiveLoop, SimulatedOracle
    from blocking import load_pairs
    from labeling_functions import load_lfs

    pool = load_pairs(datasets / name / "pairs" / "train.csv").reset_index(drop=True)
    lfs = load_lfs(REPO / "examples" / "lfs" / f"{name}.py")
    gold = pool["label"].to_numpy()
    loop = ActiveLoop(pool.drop(columns="label"), lfs, oracle=SimulatedOracle(gold),
                      batch_size=10, gold=gold, seed=seed)
    return loop.run(budget).assign(dataset=name, seed=seed)


def stop_rows(history: pd.DataFrame) -> list[dict]:
    """The row at which each rule would have stopped (the last row if it never did)."""
    from active.stopping import parse_stop_rule

    rows = history.to_dict("records")
    out = []
    for text in RULES:
        rule = parse_stop_rule(text)
        at = next((k for k in range(len(rows)) if rule.reason(rows[: k + 1])), len(rows) - 1)
        out.append({**rows[at], "rule": text, "stopped": at < len(rows) - 1})
    return out


def summarise(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per data set: error and coverage over all rounds; per rule: at the stopping moment."""
    est = frame.dropna(subset=["f1_estimate"]).copy()
    est["covered"] = (est["f1_low"] <= est["matcher_f1"]) & (est["matcher_f1"] <= est["f1_high"])
    est["error"] = (est["f1_estimate"] - est["matcher_f1"]).abs()
    est["width"] = est["f1_high"] - est["f1_low"]
    rounds = est.groupby("dataset").agg(
        rounds=("covered", "size"), coverage=("covered", "mean"), mae=("error", "mean"),
        mean_width=("width", "mean")).reset_index()
    stops = pd.DataFrame([r for _, h in est.groupby(["dataset", "seed"]) for r in stop_rows(h)])
    at_stop = stops.groupby("rule").agg(
        runs=("covered", "size"), stopped=("stopped", "mean"), labels=("n_labels", "mean"),
        coverage=("covered", "mean"), mae=("error", "mean"),
        true_f1=("matcher_f1", "mean")).reset_index()
    return rounds, at_stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_datasets_argument(parser)
    parser.add_argument("--names", default=",".join(NAMES))
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--out", default=str(RESULTS / "stopping_rule"))
    args = parser.parse_args()
    log = Path(args.out + ".jsonl")
    done = set()
    if log.exists():
        old = pd.read_json(log, lines=True)
        done = set(zip(old["dataset"], old["seed"], strict=True))
    for name in args.names.split(","):
        for seed in map(int, args.seeds.split(",")):
            if (name, seed) in done:
                continue
            history = run_one(Path(args.datasets), name, seed, args.budget)
            with log.open("a") as fh:
                for row in history.to_dict("records"):
                    fh.write(json.dumps({k: v for k, v in row.items()
                                         if isinstance(v, int | float | str)}) + "\n")
            print(f"{name} seed {seed}: {len(history)} rounds", flush=True)
    frame = pd.read_json(log, lines=True)
    rounds, at_stop = summarise(frame)
    text = [
        "# The live F1 estimate and the stopping rules", "",
        f"Command: `{command('stopping_rule.py')}`, {timestamp()}. Pool = train split, example "
        "LFs, default in-loop matcher and selector, batches of 10; truth = the matcher's F1 on "
        "the whole pool from the hidden gold. The estimate uses the expert labels only (no "
        "audit).", "",
        "## Every fitted round (from 10 labels on)", "", markdown_table(rounds), "",
        "## At the moment each rule stops (replayed on the histories)", "",
        markdown_table(at_stop), "",
    ]
    Path(args.out + ".md").write_text("\n".join(text))
    print("\n".join(text))


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
