"""Seed spread of the deep matcher: how the epoch and the threshold are chosen on the valid split.

One training run per (set, variant, seed), with the benchmark's "new" configuration
(benchmarks/deep_matcher.py); after every epoch the valid and test probabilities and the weights
are kept, so that every selection rule below is scored on the same trained epochs:
- best: the epoch with the best tuned valid F1 (the first one on ties) and its threshold (the
  RNNMatcher of main before the `snapshots` option);
- top-k mean: the mean probability of the k epochs with the best tuned valid F1, threshold chosen
  on the mean valid probability (RNNMatcher(snapshots=k));
- top-k weights: one network whose weights are the mean of those k epochs' weights (SWA-like).

Run: .venv/bin/python benchmarks/deep_matcher_spread.py probe --names beer --variants clean
(rows appended to benchmarks/results/deep_matcher_spread_probe.jsonl), then `render`.
`compare --old A.jsonl B.jsonl --new C.jsonl` prints the per-seed table of two sets of
`deep_matcher.py full` rows (config "new"; per cell and seed the latest row of each side) with
DeepMatcher Hybrid's figure and whether the issue-16 bar holds (median >= Hybrid, spread <= 3).
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, add_datasets_argument, command, dataset_folder, markdown_table
from _common import timestamp as now
from _variants import load_variant, unlabelled_records

from blocking.metrics import best_threshold, f_measure
from matchers import RNNMatcher

LOG = RESULTS / "deep_matcher_spread_probe.jsonl"
NEW = {"serialized": True, "pretrain": True}


class ProbedRNN(RNNMatcher):
    """RNNMatcher that keeps every epoch's valid and test probabilities and weights.

    The valid split is scored once per epoch in `_train` (the only `_predict` call during fit);
    the extra test prediction uses no random numbers, so training is the same as unprobed.
    """

    def start_probe(self, test: pd.DataFrame) -> None:
        self._probe = {"test": test, "valid_p": [], "test_p": [], "states": []}

    def _predict(self, data: dict, embed: bool = False) -> np.ndarray:
        out = super()._predict(data, embed)
        probe = getattr(self, "_probe", None)
        if probe is not None and not embed:
            if "test_data" not in probe:
                probe["test_data"] = self._encode(probe["test"])
            self._probe = None  # the nested call below is not a valid scoring
            probe["valid_p"].append(out.astype(float))
            probe["test_p"].append(super()._predict(probe["test_data"]).astype(float))
            probe["states"].append(copy.deepcopy(self.network_.state_dict()))
            self._probe = probe
        return out


def score_rules(m: ProbedRNN, probe: dict, vy: np.ndarray, ty: np.ndarray, ks: list[int]
                ) -> dict[str, float]:
    """Test F1 (percent) of every selection rule on the probed epochs (loads other weights)."""
    tuned = np.array([best_threshold(vy, p)[1] for p in probe["valid_p"]])
    order = np.argsort(-tuned, kind="stable")  # best first, earliest first on ties
    out = {}

    def f1_at(valid_p: np.ndarray, test_p: np.ndarray) -> float:
        cut, _ = best_threshold(vy, valid_p)
        return round(100 * f_measure(ty, (test_p >= cut).astype(int)), 2)

    for k in ks:
        top = order[:k]
        out[f"top-{k} mean"] = f1_at(np.mean([probe["valid_p"][i] for i in top], axis=0),
                                     np.mean([probe["test_p"][i] for i in top], axis=0))
        if k > 1:
            states = [probe["states"][i] for i in top]
            mean = {n: sum(s[n].float() for s in states) / k for n in states[0]}
            m.network_.load_state_dict(mean)
            m.logit_shift_ = 0.0
            out[f"top-{k} weights"] = f1_at(m._predict(m._encode(m._probe_valid)).astype(float),
                                            m._predict(probe["test_data"]).astype(float))
    return out


def probe(folder: Path, name: str, variant: str, seed: int, args) -> None:
    data = load_variant(folder / name, variant, seed=0)
    tr, va, te = data["train"], data["valid"], data["test"]
    records = unlabelled_records(folder / name, variant, 0)
    epochs = args.large_epochs if len(tr) > 3000 else args.epochs
    m = ProbedRNN(seed=seed, epochs=epochs, patience=args.patience, pretrain_cache=args.cache,
                  pretrain_steps=args.pretrain_steps, **NEW)
    m.start_probe(te)
    m._probe_valid = va
    vy, ty = va["label"].to_numpy(int), te["label"].to_numpy(int)
    cpu = time.process_time()
    m.fit(tr, tr["label"].to_numpy(float), valid=(va, vy.astype(float)), records=records)
    cpu = time.process_time() - cpu
    probed, m._probe = m._probe, None
    check = round(100 * f_measure(ty, m.predict(te)), 2)
    if args.dump:
        Path(args.dump).mkdir(parents=True, exist_ok=True)
        np.savez(Path(args.dump) / f"{name}_{variant}_{seed}.npz", vy=vy, ty=ty,
                 valid_p=np.array(probed["valid_p"]), test_p=np.array(probed["test_p"]))
    rules = score_rules(m, probed, vy, ty, args.ks)
    row = {"dataset": name, "variant": variant, "seed": seed, "fitted_best": check,
           "epochs_run": len(m.history_), "best_epoch": m.best_epoch_,
           "fit_cpu_s": round(cpu, 1), **rules, "date": now()}
    with LOG.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)


def render(args) -> None:
    rows = pd.DataFrame([json.loads(x) for x in LOG.read_text().splitlines() if x.strip()])
    rules = [c for c in rows.columns if c.startswith("top-")]
    out = []
    for (name, variant), g in rows.groupby(["dataset", "variant"]):
        g = g.sort_values("seed")
        for rule in ["fitted_best", *rules]:
            v = g[rule]
            out.append({"dataset": name, "variant": variant, "rule": rule, "seeds": len(g),
                        "median": f"{v.median():.1f}", "spread": f"{v.max() - v.min():.1f}",
                        "per seed": ", ".join(f"{x:.1f}" for x in v)})
    print(markdown_table(pd.DataFrame(out)))


def latest_rows(paths: list[str]) -> pd.DataFrame:
    """The newest "full" row of config "new" per (dataset, variant, seed) in the logs."""
    rows = [json.loads(x) for p in paths for x in Path(p).read_text().splitlines() if x.strip()]
    frame = pd.DataFrame([r for r in rows if r.get("part") == "full" and r["config"] == "new"])
    return frame.sort_values("date").groupby(["dataset", "variant", "seed"]).last().reset_index()


def compare(args) -> None:
    from deep_matcher import HYBRID

    old, new = latest_rows(args.old), latest_rows(args.new)
    out = []
    for (name, variant), g in new.groupby(["dataset", "variant"]):
        before = old[(old["dataset"] == name) & (old["variant"] == variant)].sort_values("seed")
        g = g.sort_values("seed")
        hybrid = HYBRID.get((name, variant), "")
        median, spread = g["test_f1"].median(), g["test_f1"].max() - g["test_f1"].min()
        bar = "spread ok" if spread <= 3 else "spread over 3"
        if hybrid:
            above = median >= float(hybrid.split()[0])
            bar = ("met" if above and spread <= 3 else "not met") + f" ({bar})"
        out.append({
            "dataset": name, "variant": variant, "Hybrid": hybrid,
            "before: per seed": ", ".join(f"{v:.1f}" for v in before["test_f1"]),
            "before: median / spread": f"{before['test_f1'].median():.2f} / "
            f"{before['test_f1'].max() - before['test_f1'].min():.2f}",
            "now: per seed": ", ".join(f"{v:.1f}" for v in g["test_f1"]),
            "now: median / spread": f"{median:.2f} / {spread:.2f}",
            "members": f"{g['members'].median():.0f}",
            "fit CPU s before / now": f"{before['fit_cpu_s'].median():.0f} / "
            f"{g['fit_cpu_s'].median():.0f}",
            "bar": bar,
        })
    print(markdown_table(pd.DataFrame(out)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("part", choices=["probe", "render", "compare"])
    add_datasets_argument(parser)
    parser.add_argument("--names", nargs="+", default=["beer"])
    parser.add_argument("--variants", nargs="+", default=["clean"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--ks", nargs="+", type=int, default=[1, 2, 3, 4])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--large-epochs", type=int, default=3)
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--pretrain-steps", type=int, default=100)
    parser.add_argument("--cache", default=None)
    parser.add_argument("--dump", default=None, help="folder for per-epoch probabilities (npz)")
    parser.add_argument("--old", nargs="*", default=[], help="compare: the logs before")
    parser.add_argument("--new", nargs="*", default=[], help="compare: the logs after")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.part in ("render", "compare"):
        {"render": render, "compare": compare}[args.part](args)
        return
    folder = dataset_folder(args.datasets, "deep_matcher_spread.py", *args.names)
    print(command("deep_matcher_spread.py"), flush=True)
    for name in args.names:
        for variant in args.variants:
            for seed in args.seeds:
                probe(folder, name, variant, seed, args)


if __name__ == "__main__":
    main()
