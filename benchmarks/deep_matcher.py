"""Benchmark the deep matcher (RNNMatcher): full supervision clean and dirty against the old RNN
configuration, noisy-label losses, an ablation, and the pretraining and fit times.

Run: .venv/bin/python benchmarks/deep_matcher.py PART [--names ...] [--variants ...] [--seeds N]
PART: full | noisy | ablation | pretrain_time | fit_time | render. Every fit appends a row to
the log (--log, default benchmarks/results/deep_matcher.jsonl); `render` writes the table file
(--out, default benchmarks/results/deep_matcher.md) from it.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import RESULTS, add_datasets_argument, command, dataset_folder, markdown_table
from _common import timestamp as now
from _variants import load_variant, unlabelled_records

from blocking.metrics import f_measure
from matchers import RNNMatcher
from matchers.network import SequenceEncoder
from matchers.pretrain import PretrainSettings, distinct_records, pretrain_encoder

LOG = RESULTS / "deep_matcher.jsonl"  # --log replaces it
HYBRID = {  # DeepMatcher Hybrid (RNN where Hybrid is not published), ../shared/ANCHORS.md
    ("itunes_amazon", "clean"): "88.5 (RNN)",
    ("itunes_amazon", "dirty"): "79.4",
    ("beer", "clean"): "72.2 (RNN)",
    ("dblp_acm", "clean"): "98.4",
    ("dblp_acm", "dirty"): "98.1",
    ("abt_buy", "clean"): "62.8",
    ("amazon_google", "clean"): "69.3",
}
OLD = {}  # the previous RNNMatcher configuration: per-attribute views, no pretraining, CE loss
NEW = {"serialized": True, "pretrain": True, "n_members": "auto"}
NOISY_LOSSES = {
    "cross_entropy": {},
    "label_smoothing 0.1": {"label_smoothing": 0.1},
    "bootstrap_soft 0.8": {"loss": "bootstrap_soft", "beta": 0.8},
    "bootstrap_soft 0.6": {"loss": "bootstrap_soft", "beta": 0.6},
    "bootstrap_hard 0.8": {"loss": "bootstrap_hard", "beta": 0.8},
    "bootstrap_hard 0.6": {"loss": "bootstrap_hard", "beta": 0.6},
}


def noisy_soft_labels(y: np.ndarray, seed: int = 7) -> np.ndarray:
    """Label-model-like soft labels from gold (fixed seed): 20% of the matches and 5% of the
    non-matches are called wrong; each call's confidence is uniform in [0.6, 0.99]."""
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(y)) < np.where(y == 1, 0.20, 0.05)
    called = np.where(wrong, 1 - y, y)
    confidence = rng.uniform(0.6, 0.99, len(y))
    return np.where(called == 1, confidence, 1 - confidence)


def run_fit(folder: Path, name: str, variant: str, seed: int, config: str, params: dict,
            args, noisy: bool = False, part: str = "full") -> dict:
    """Fit on train (gold or noisy soft labels), select epoch and threshold on gold valid,
    append the test F1 and the times to the log (a fit already in the log is not repeated)."""
    key = (part, name, variant, seed, config, noisy)
    if key in done_fits():
        return {}
    data = load_variant(folder / name, variant, seed=0)
    tr, va, te = data["train"], data["valid"], data["test"]
    y = tr["label"].to_numpy(float)
    if noisy:
        y = noisy_soft_labels(y)
    records = unlabelled_records(folder / name, variant, 0) if params.get("pretrain") else None
    epochs = args.large_epochs if len(tr) > 3000 else args.epochs
    m = RNNMatcher(seed=seed, epochs=epochs, patience=args.patience,
                   pretrain_cache=args.cache, pretrain_steps=args.pretrain_steps, **params)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m.fit(tr, y, valid=(va, va["label"].to_numpy(float)), records=records)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    f1 = f_measure(te["label"].to_numpy(), m.predict(te))
    pre = m.pretraining_ or {}
    row = {
        "part": part, "dataset": name, "variant": variant, "seed": seed, "config": config,
        "params": params, "noisy": noisy, "test_f1": round(100 * f1, 2),
        "valid_f1": round(100 * max(r.get("valid_f1_tuned", r.get("valid_f1", 0))
                                    for r in m.history_), 2),
        "pairs": len(tr), "members": m.n_members_, "epochs_run": len(m.history_),
        "best_epoch": m.best_epoch_,
        "fit_wall_s": round(wall, 1), "fit_cpu_s": round(cpu, 1),
        "pretrain_status": pre.get("status"), "pretrain_records": pre.get("records"),
        "pretrain_s": round(pre.get("seconds", 0.0), 1),
        "warnings": [str(w.message)[:120] for w in caught if w.category is UserWarning],
        "date": now(),
    }
    with LOG.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row), flush=True)
    return row


def done_fits() -> set[tuple]:
    """The (part, dataset, variant, seed, config, noisy) of every fit in the log."""
    if not LOG.exists():
        return set()
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    return {(r["part"], r["dataset"], r["variant"], r["seed"], r["config"], r["noisy"])
            for r in rows if "config" in r}


def part_full(folder: Path, args) -> None:
    for name in args.names:
        for variant in args.variants:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for config, params in (("old RNN", OLD), ("new", NEW)):
                    if config not in args.configs:
                        continue
                    run_fit(folder, name, variant, seed, config, params, args)


def part_noisy(folder: Path, args) -> None:
    for name in args.names:
        for variant in args.variants:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for config, params in NOISY_LOSSES.items():
                    run_fit(folder, name, variant, seed, config, {**NEW, **params}, args,
                            noisy=True, part="noisy")


def ablation_configs(loss: str) -> dict[str, dict]:
    """The ablation rows that the noisy part does not already hold: one part switched off each."""
    best = NOISY_LOSSES[loss]
    return {
        "no pretraining": {**NEW, **best, "pretrain": False},
        "no serialized input": {**NEW, **best, "serialized": False},
        "all off (old RNN)": {},
    }


def part_ablation(folder: Path, args) -> None:
    """The noisy part's rows give "all on" (--loss) and "no bootstrapping" (cross_entropy)."""
    for name in args.names:
        for variant in args.variants:
            for seed in range(args.first_seed, args.first_seed + args.seeds):
                for config, params in ablation_configs(args.loss).items():
                    run_fit(folder, name, variant, seed, config, params, args,
                            noisy=True, part="ablation")


def part_pretrain_time(folder: Path | None, args) -> None:
    """CPU and wall seconds of pretraining on the records of each data set (or, with
    `--synthetic N`, on N generated person records): one pass over the records, or `--steps`
    steps (300 = the RNNMatcher default)."""
    tables = {f"synthetic {args.synthetic}": synthetic_records(args.synthetic)} if (
        args.synthetic) else {name: unlabelled_records(folder / name, "dirty", 0)
                              for name in args.names}
    for name, records in tables.items():
        attrs = list(records.columns)
        texts = distinct_records(records.iloc[:0].add_prefix("left_").join(
            records.iloc[:0].add_prefix("right_")), attrs, records)
        encoder = SequenceEncoder(2**16, 64, 0, 64)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            wall, cpu = time.perf_counter(), time.process_time()
            steps = args.steps or max(len(texts) // 128, 1)
            history = pretrain_encoder(encoder, texts, 2**16, PretrainSettings(steps=steps))
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = {"part": "pretrain_time", "dataset": name, "records": len(texts), "steps": steps,
               "epoch_cpu_s": round(cpu, 1), "epoch_wall_s": round(wall, 1),
               "threads": torch.get_num_threads(),
               "loss": round(history[-1]["loss"], 3), "date": now()}
        with LOG.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def synthetic_records(n: int) -> pd.DataFrame:
    """About n generated person records (blocking.make_dirty_records, seed 0), ids dropped."""
    from blocking.synthetic import make_dirty_records

    records, _ = make_dirty_records(n_entities=int(n / 1.55) + 1, seed=0)
    return records.drop(columns="id").iloc[:n].reset_index(drop=True)


def part_fit_time(folder: Path, args) -> None:
    """The loop's final fit as the lead calls it: the recommended constructor (default epochs and
    pretraining steps), `--pairs` train pairs with noisy soft labels, expert-like weights on 200
    of them, no valid split; CPU and wall seconds of pretraining and of the whole fit."""
    for name in args.names:
        # more pairs than the train split: valid and test are appended (labels unused but as
        # noisy soft labels, so the fit's cost is what is measured)
        splits = load_variant(folder / name, "dirty", seed=0)
        tr = pd.concat(splits.values(), ignore_index=True).iloc[: args.pairs]
        y = noisy_soft_labels(tr["label"].to_numpy(float))
        w = np.ones(len(tr))
        w[:200], y[:200] = 5.0, tr["label"].to_numpy(float)[:200]
        params = {**NEW, **NOISY_LOSSES[args.loss]}
        m = RNNMatcher(seed=0, **params)
        wall, cpu = time.perf_counter(), time.process_time()
        m.fit(tr, y, sample_weight=w)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        row = {"part": "fit_time", "dataset": name, "pairs": len(tr),
               "constructor": "RNNMatcher(seed=0, "
               + ", ".join(f"{k}={v!r}" for k, v in params.items()) + ")",
               "epochs": len(m.history_), "pretrain_steps": m.pretrain_steps,
               "pretrain_records": m.pretraining_["records"],
               "pretrain_wall_s": round(m.pretraining_["seconds"], 1),
               "fit_cpu_s": round(cpu, 1), "fit_wall_s": round(wall, 1),
               "threads": torch.get_num_threads(), "date": now()}
        with LOG.open("a") as fh:
            fh.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def summary(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Median, spread (max - min) and per-seed test F1 per group."""
    out = []
    for key, g in rows.groupby(keys, sort=True):
        g = g.sort_values("seed")
        out.append({
            **dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True)),
            "seeds": len(g),
            "test F1 median": f"{np.median(g['test_f1']):.1f}",
            "spread": f"{g['test_f1'].max() - g['test_f1'].min():.1f}",
            "per seed": ", ".join(f"{v:.1f}" for v in g["test_f1"]),
            "valid F1 median": f"{np.median(g['valid_f1']):.1f}",
            "fit CPU s (median)": f"{np.median(g['fit_cpu_s']):.1f}",
            "pretrain wall s": f"{np.median(g['pretrain_s']):.0f}",
            "epochs run": f"{np.median(g['epochs_run']):.0f}",
            **({"members": f"{g['members'].median():.0f}"} if "members" in g else {}),
        })
    return pd.DataFrame(out)


def render(args) -> None:
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    frame = pd.DataFrame(rows)
    fits = frame[frame["part"].isin(["full", "noisy", "ablation"])]
    text = [
        "# Deep matcher (RNNMatcher): full supervision, noisy labels, ablation, time",
        "",
        f"Rendered: {now()} by `{command('deep_matcher.py')}`; rows from "
        f"`benchmarks/results/{LOG.name}` (each row carries its date). Runs: "
        + "; ".join(f"`{c}`" for c in args.commands) + ".",
        "",
        "Machine: 2 CPU cores shared with many other jobs (load average 15-35 during these "
        "runs): wall times are inflated 10-20x and mean little; CPU times are process time of "
        "one torch thread, what an idle core would take. Epoch and threshold chosen on gold "
        "valid F1; test F1 at the chosen threshold. A cached pretraining shows as ~1 s.",
    ]
    full = fits[fits["part"] == "full"]
    if len(full):
        table = summary(full, ["dataset", "variant", "config"])
        table["Hybrid anchor"] = [HYBRID.get((d, v), "") for d, v in
                                  zip(table["dataset"], table["variant"], strict=True)]
        text += ["", "## Full supervision (gold train labels)", "", markdown_table(table)]
    noisy = fits[fits["part"] == "noisy"]
    if len(noisy):
        text += ["", "## Noisy soft labels: losses (serialized input and pretraining on)", "",
                 markdown_table(summary(noisy, ["dataset", "variant", "config"]))]
    ablation = fits[fits["part"] == "ablation"]
    if len(ablation):
        shared = noisy[noisy["config"].isin([args.loss, "cross_entropy"])].replace(
            {"config": {args.loss: f"all on ({args.loss})",
                        "cross_entropy": "no bootstrapping (cross_entropy)"}})
        text += ["", "## Ablation on noisy soft labels (one part off at a time)", "",
                 markdown_table(summary(pd.concat([shared, ablation]),
                                        ["dataset", "variant", "config"]))]
    pt = frame[frame["part"] == "pretrain_time"]
    if len(pt):
        pt = pt.assign(**{"CPU s per 1,000 records per epoch":
                          (1000 * pt["epoch_cpu_s"] / pt["records"]).round(2)})
        text += ["", "## Pretraining time (one epoch, one torch thread)", "",
                 markdown_table(pt[["dataset", "records", "epoch_cpu_s", "epoch_wall_s", "loss",
                                    "CPU s per 1,000 records per epoch"]])]
    ft = frame[frame["part"] == "fit_time"]
    if len(ft):
        text += ["", "## The loop's final fit (no valid split, default epochs and steps)", "",
                 markdown_table(ft[["dataset", "pairs", "constructor", "epochs", "pretrain_steps",
                                    "pretrain_records", "pretrain_wall_s", "fit_cpu_s",
                                    "fit_wall_s"]])]
    if args.notes and Path(args.notes).exists():
        text += ["", Path(args.notes).read_text()]
    Path(args.out).write_text("\n".join(text) + "\n")


def main() -> None:
    global LOG
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "part", choices=["full", "noisy", "ablation", "pretrain_time", "fit_time", "render"]
    )
    parser.add_argument("--pairs", type=int, default=7000, help="fit_time: train pairs")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="pretrain_time: time N generated person records instead")
    parser.add_argument("--steps", type=int, default=0,
                        help="pretrain_time: contrastive steps (0 = one pass over the records)")
    add_datasets_argument(parser)
    parser.add_argument("--names", nargs="+", default=["itunes_amazon", "beer", "dblp_acm"])
    parser.add_argument("--variants", nargs="+", default=["clean", "dirty"])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0,
                        help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--epochs", type=int, default=10, help="epochs, sets under 3,000 pairs")
    parser.add_argument("--large-epochs", type=int, default=3, help="epochs, larger sets")
    parser.add_argument("--patience", type=int, default=3)
    parser.add_argument("--pretrain-steps", type=int, default=100,
                        help="contrastive steps (batches of 128) when pretraining is on")
    parser.add_argument("--loss", default="bootstrap_soft 0.8", choices=list(NOISY_LOSSES),
                        help="the loss of the ablation's 'all on' row")
    parser.add_argument("--cache", default=None, help="pretraining cache folder")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--configs", nargs="+", default=["old RNN", "new"],
                        choices=["old RNN", "new"], help="full: the configurations to fit")
    parser.add_argument("--commands", nargs="*", default=[], help="render: the runs to cite")
    parser.add_argument("--notes", default=None, help="render: a markdown file to append")
    parser.add_argument("--log", default=str(LOG), help="the jsonl log of the fits")
    parser.add_argument("--out", default=str(RESULTS / "deep_matcher.md"),
                        help="render: the markdown file to write")
    args = parser.parse_args()
    LOG = Path(args.log)
    torch.set_num_threads(args.threads)
    if args.part == "render":
        render(args)
        return
    folder = None if args.synthetic and args.part == "pretrain_time" else dataset_folder(
        args.datasets, "deep_matcher.py", *args.names)
    print(command("deep_matcher.py"), flush=True)
    {"full": part_full, "noisy": part_noisy, "ablation": part_ablation,
     "pretrain_time": part_pretrain_time, "fit_time": part_fit_time}[args.part](folder, args)


if __name__ == "__main__":
    main()
