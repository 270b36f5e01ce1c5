"""Entity matching with expert LFs: F1 of the label model's P(match | L) on the test pairs with
0, 10, 25 and 50 expert labels (Active WeaSuL: penalized label model + maxKL batches),
against Snorkel's plain LabelModel and Nashaat's correction with the same labels."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, ROOT, add_datasets_argument, command, dataset_folder, timestamp
from sklearn.metrics import f1_score
from snorkel.labeling.model import LabelModel

from active.base import PoolState
from active.maxkl import MaxKLSelector
from label_model import NashaatLabelModel, PenalizedLabelModel
from labeling_functions import apply_lfs, load_lfs

BUDGETS = (0, 10, 25, 50)
BATCH = 5


def f1_of(proba: np.ndarray, y: np.ndarray) -> float:
    return float(f1_score(y, (proba > 0.5).astype(int), zero_division=0))


def run_dataset(name: str, folder: Path, seeds: int, train_params: dict) -> list[dict]:
    lfs = load_lfs(ROOT / "examples" / "lfs" / f"{name}.py")
    train = pd.read_csv(folder / name / "pairs" / "train.csv")
    test = pd.read_csv(folder / name / "pairs" / "test.csv")
    t0 = time.time()
    L, Lt = apply_lfs(lfs, train, progress=False), apply_lfs(lfs, test, progress=False)
    print(f"{name}: {len(lfs)} LFs applied in {time.time() - t0:.0f}s", flush=True)
    y, yt = train["label"].to_numpy(), test["label"].to_numpy()
    rows = []
    snorkel = []
    for s in range(seeds):
        ref = LabelModel(verbose=False)
        ref.fit(L, seed=s, progress_bar=False, **train_params)
        snorkel.append(f1_of(ref.predict_proba(Lt)[:, 1], yt))
    rows.append({"dataset": name, "method": "snorkel LabelModel", **{b: np.mean(snorkel)
                                                                     for b in BUDGETS},
                 "std@50": np.std(snorkel)})
    weasul = np.zeros((seeds, len(BUDGETS)))
    nashaat = np.zeros((seeds, len(BUDGETS)))
    for s in range(seeds):
        lm = PenalizedLabelModel(seed=s, **train_params).fit(L)
        initial = lm.predict_proba(L)[:, 1]
        proba, labels = initial, {}
        selector = MaxKLSelector(seed=s, prior_weight=1.0)
        for j, budget in enumerate(BUDGETS):
            while len(labels) < budget:
                state = PoolState(L=L, expert_labels=labels, lm_proba=proba,
                                  lm_proba_initial=initial)
                for i in selector.select(state, min(BATCH, budget - len(labels))):
                    labels[int(i)] = int(y[i])
                lm.fit(L, labels)
                proba = lm.predict_proba(L)[:, 1]
            weasul[s, j] = f1_of(lm.predict_proba(Lt)[:, 1], yt)
            nash = NashaatLabelModel(seed=s, **train_params).fit(L, labels)
            nashaat[s, j] = f1_of(nash.predict_proba(Lt)[:, 1], yt)
    for method, scores in (("active_weasul (maxKL)", weasul),
                           ("nashaat (same labels)", nashaat)):
        rows.append({"dataset": name, "method": method,
                     **{b: scores[:, j].mean() for j, b in enumerate(BUDGETS)},
                     "std@50": scores[:, -1].std()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    add_datasets_argument(parser)
    parser.add_argument("--names", default="dblp_acm,abt_buy,amazon_google")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="dblp_acm only, 1 seed")
    args = parser.parse_args()
    if args.quick:
        args.names, args.seeds = "dblp_acm", 1
    folder = dataset_folder(args.datasets, "label_model_em")
    torch.set_num_threads(1)
    # Snorkel's fit keywords and our constructor parameters alike
    train_params = {"n_epochs": args.epochs, "lr": 0.01, "optimizer": "adam"}
    rows = []
    for name in args.names.split(","):
        if not (ROOT / "examples" / "lfs" / f"{name}.py").is_file():
            print(f"skipping {name}: no examples/lfs/{name}.py")
            continue
        rows.extend(run_dataset(name, folder, args.seeds, train_params))
    frame = pd.DataFrame(rows)
    lines = [
        "# Entity matching: F1 of the label model's P(match | L) on the test pairs",
        "",
        f"Command: `{command('label_model_em.py')}`  ({timestamp()})",
        "",
        f"LFs from examples/lfs/<dataset>.py applied to pairs/train.csv (the pool, gold labels "
        f"as the oracle) and pairs/test.csv; label models {args.epochs} Adam epochs, lr 0.01; "
        f"maxKL batches of {BATCH}; mean over {args.seeds} seeds. Snorkel's LabelModel uses no "
        "expert labels (its row repeats one number). Columns: number of expert labels.",
        "",
        "| dataset | method | " + " | ".join(f"b={b}" for b in BUDGETS) + " | std at b=50 |",
        "|---|---|" + "---|" * (len(BUDGETS) + 1),
    ]
    for r in rows:
        lines.append(f"| {r['dataset']} | {r['method']} | "
                     + " | ".join(f"{r[b]:.3f}" for b in BUDGETS) + f" | {r['std@50']:.3f} |")
    text = "\n".join(lines) + "\n"
    (RESULTS / "label_model_em.md").write_text(text)
    print(frame.to_string())
    print(text)


if __name__ == "__main__":
    main()
