"""Self-supervised contrastive pretraining of the matcher's sequence encoder on unlabelled records.

Two augmentations of one serialized record (token deletion, token swap, span cut, attribute
shuffle, a value moved to another attribute) are a positive pair; the other records of the batch
are the negatives (InfoNCE, both directions). No label is needed, so this runs on the two tables
before the first question. The result is cached per record-set fingerprint, so a resumed run
reuses it; a damaged or foreign cache file is rebuilt with a warning.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from blocking.files import load_model, save_model
from blocking.pairs import LEFT, RIGHT
from matchers.embeddings import ngram_buckets
from matchers.encoding import MARKER, MISSING_TOKEN, TOKEN_PATTERN, serialize
from matchers.network import SequenceEncoder

CACHE_KIND = "RNNPretrainedEncoder"
P_MOVE, P_SHUFFLE, P_DELETE, P_SWAP, P_SPAN, SPAN_FRACTION = 0.3, 0.3, 0.1, 0.1, 0.5, 0.2


@dataclass(frozen=True)
class PretrainSettings:
    """What pretraining depends on besides the records (all of it enters the fingerprint)."""

    steps: int = 300
    batch_size: int = 128
    lr: float = 2e-3
    temperature: float = 0.1
    max_tokens: int = 64
    min_records: int = 256
    seed: int = 0


def distinct_records(
    pairs: pd.DataFrame, attributes: Sequence[str], records: pd.DataFrame | None = None
) -> pd.Series:
    """The serialized distinct records on either side of `pairs` (plus `records`, a table with
    the attribute columns), sorted, so the same record set gives the same series in any order."""
    sides = [
        serialize(pairs, [f"{side}{a}" for a in attributes], attributes) for side in (LEFT, RIGHT)
    ]
    if records is not None:
        missing = [a for a in attributes if a not in records.columns]
        if missing:
            raise ValueError(
                f"RNNMatcher.fit records: the unlabelled record table lacks the attributes "
                f"{missing} (it has {list(records.columns)}); pass a table with the columns "
                f"{list(attributes)}"
            )
        sides.append(serialize(records, list(attributes), attributes))
    texts = pd.concat(sides, ignore_index=True).drop_duplicates()
    return pd.Series(np.sort(texts.to_numpy(dtype=str)), dtype=object)


def fingerprint(texts: pd.Series, config: dict) -> str:
    """sha256 of the record set and the encoder and pretraining configuration."""
    h = hashlib.sha256(json.dumps(config, sort_keys=True).encode())
    h.update("\n".join(texts.tolist()).encode())
    return h.hexdigest()


@dataclass
class _RecordTokens:
    """Tokens of every record, flattened in record order (the layout augmentations work on)."""

    start: np.ndarray  # (R,) first token row of each record
    count: np.ndarray  # (R,) tokens per record (attribute-name tokens included)
    code: np.ndarray  # (N,) id into vocab
    attr: np.ndarray  # (N,) attribute index of the token
    marker: np.ndarray  # (N,) bool, attribute-name token
    vocab: np.ndarray
    n_attributes: int


def _record_tokens(texts: pd.Series) -> _RecordTokens:
    tokens = texts.reset_index(drop=True).str.findall(TOKEN_PATTERN).explode().dropna()
    rec = tokens.index.to_numpy(dtype=np.int64)
    codes, uniques = pd.factorize(tokens.to_numpy(dtype=object))
    vocab = np.concatenate([[MISSING_TOKEN], np.asarray(uniques, dtype=str)])
    codes = codes.astype(np.int64) + 1
    is_marker = np.char.startswith(vocab.astype(str), MARKER)[codes]
    count = np.bincount(rec, minlength=len(texts))
    start = np.cumsum(count) - count
    seen = np.cumsum(is_marker)  # every record opens with an attribute-name token
    marks = seen - np.repeat(seen[start] - is_marker[start], count)
    return _RecordTokens(start, count, codes, marks - 1, is_marker, vocab, int(marks.max()))


def augment(
    tokens: _RecordTokens, batch: np.ndarray, rng: np.random.Generator, max_tokens: int
) -> tuple[np.ndarray, np.ndarray]:
    """One random view of each record in `batch`: (token ids (B, T), lengths (B,)).

    A record's value may move to the end of its first attribute (as in dirty tables), its
    attributes may be shuffled, tokens deleted or swapped with their neighbour, and a span cut.
    Attribute-name tokens are never deleted, so no view is empty.
    """
    b, k = len(batch), max(tokens.n_attributes, 1)
    counts = tokens.count[batch]
    row = np.repeat(np.arange(b), counts)
    within = np.arange(len(row)) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = tokens.start[batch][row] + within
    code, attr, mark = tokens.code[idx], tokens.attr[idx], tokens.marker[idx]
    order = within.astype(float)
    if k > 1:
        source = rng.integers(1, k, size=b)
        moved = (rng.random(b) < P_MOVE)[row] & (attr == source[row]) & ~mark
        attr = np.where(moved, 0, attr)
        order = np.where(moved, order + len(row), order)
    keys = np.where(rng.random((b, 1)) < P_SHUFFLE, rng.random((b, k)), np.arange(k)[None, :])
    swap = (rng.random(len(row)) < P_SWAP) & ~mark
    order = order + np.where(swap, 1.5, 0.0)  # passes its neighbour: the two swap places
    keep = mark | (rng.random(len(row)) >= P_DELETE)
    sort = np.lexsort((order, keys[row, attr], row))
    sort = sort[keep[sort]]
    row, code, mark = row[sort], code[sort], mark[sort]
    lengths = np.bincount(row, minlength=b)
    pos = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    span = np.ceil(SPAN_FRACTION * lengths).astype(np.int64)
    cut_start = (rng.random(b) * np.maximum(lengths - span, 1)).astype(np.int64)
    cut = (rng.random(b) < P_SPAN)[row] & ~mark
    cut &= (pos >= cut_start[row]) & (pos < (cut_start + span)[row])
    row, code = row[~cut], code[~cut]
    lengths = np.bincount(row, minlength=b)
    pos = np.arange(len(row)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    fits = pos < max_tokens
    lengths = np.minimum(lengths, max_tokens)
    matrix = np.zeros((b, int(lengths.max())), dtype=np.int64)
    matrix[row[fits], pos[fits]] = code[fits]
    return matrix, lengths


def info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    """Symmetric InfoNCE: row i of `a` should pick row i of `b` among the batch, and back."""
    a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    logits = a @ b.T / temperature
    target = torch.arange(len(a))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def pretrain_encoder(
    encoder: SequenceEncoder,
    texts: pd.Series,
    n_buckets: int,
    settings: PretrainSettings,
    pretrained: Callable[[np.ndarray], np.ndarray] | None = None,
) -> list[dict]:
    """Train `encoder` in place on serialized records for `settings.steps` batches (passes over
    the shuffled records, repeated as needed); returns the mean loss of every pass.

    Run inside `torch.random.fork_rng` with a seed set: the projection head is initialised
    from torch's generator; batches and augmentations come from `settings.seed`.
    """
    rng = np.random.default_rng(settings.seed)
    tokens = _record_tokens(texts)
    ngram_table = torch.from_numpy(ngram_buckets(tokens.vocab, n_buckets))
    pre_table = torch.from_numpy(pretrained(tokens.vocab)) if pretrained is not None else None
    width = 2 * encoder.gru.hidden_size
    head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, 64))
    dense = list(encoder.gru.parameters()) + list(head.parameters())
    optimizers = [
        torch.optim.Adam(dense, lr=settings.lr),
        torch.optim.SparseAdam(list(encoder.ngrams.parameters()), lr=settings.lr),
    ]
    n = len(texts)
    size = min(settings.batch_size, n)
    per_pass = max(n // size, 1)  # a last, smaller batch is dropped: fewer negatives
    history = []
    start = time.perf_counter()
    encoder.train()
    done = 0
    while done < settings.steps:
        order = rng.permutation(n)
        total, steps = 0.0, 0
        for i in range(min(per_pass, settings.steps - done)):
            batch = order[i * size : (i + 1) * size]
            views = []
            for _ in range(2):
                matrix, lengths = augment(tokens, batch, rng, settings.max_tokens)
                summary = encoder(
                    torch.from_numpy(matrix), torch.from_numpy(lengths), ngram_table, pre_table
                )
                views.append(head(summary))
            loss = info_nce(views[0], views[1], settings.temperature)
            for opt in optimizers:
                opt.zero_grad()
            loss.backward()
            for opt in optimizers:
                opt.step()
            total += loss.item()
            steps += 1
        done += steps
        history.append(
            {"pass": len(history) + 1, "steps": done, "loss": total / steps,
             "seconds": time.perf_counter() - start}
        )
    return history


def cached_pretrain(
    encoder: SequenceEncoder,
    texts: pd.Series,
    n_buckets: int,
    settings: PretrainSettings,
    config: dict,
    cache_dir: str | Path | None,
    pretrained: Callable[[np.ndarray], np.ndarray] | None = None,
) -> dict:
    """Pretrain `encoder` in place, or load its weights from `cache_dir` when these records and
    this configuration were pretrained before. Returns {"status", "fingerprint", "history"};
    status is "too_few" (nothing done; a warning says why), "cached" or "built"."""
    if len(texts) < settings.min_records:
        warnings.warn(
            f"RNNMatcher: {len(texts)} distinct records are too few to pretrain on (at least "
            f"{settings.min_records} needed); training without pretraining. Pass more "
            "unlabelled records with fit(..., records=table) or set pretrain=False.",
            UserWarning,
            stacklevel=3,
        )
        return {"status": "too_few", "fingerprint": None, "history": []}
    key = fingerprint(texts, {**config, **asdict(settings)})
    path = Path(cache_dir) / f"rnn-encoder-{key[:24]}.model" if cache_dir is not None else None
    if path is not None and path.exists():
        state = _read_cache(path, key, encoder)
        if state is not None:
            encoder.load_state_dict(state["state"])
            return {"status": "cached", "fingerprint": key, "history": state["history"]}
    history = pretrain_encoder(encoder, texts, n_buckets, settings, pretrained)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        state = {"fingerprint": key, "state": encoder.state_dict(), "history": history}
        save_model(state, path, kind=CACHE_KIND)
    return {"status": "built", "fingerprint": key, "history": history}


def _read_cache(path: Path, key: str, encoder: SequenceEncoder) -> dict | None:
    """The cached state if it is a sound cache of these records for this encoder, else None
    (with a warning naming the file and what is wrong with it)."""
    try:
        state = load_model(path, CACHE_KIND, where="RNNMatcher pretraining cache")
        problem = None
        if not isinstance(state, dict) or state.get("fingerprint") != key:
            problem = "for other records or another configuration"
        else:
            expected = {k: v.shape for k, v in encoder.state_dict().items()}
            found = {k: getattr(v, "shape", None) for k, v in state["state"].items()}
            if found != expected:
                problem = "for an encoder of another shape"
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        problem = f"unreadable ({err})"
    if problem is None:
        return state
    warnings.warn(
        f"RNNMatcher: the pretraining cache {path} is {problem}; pretraining again and "
        "overwriting it",
        UserWarning,
        stacklevel=4,
    )
    return None
