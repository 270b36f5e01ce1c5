"""Turn a pair table into token-id matrices and lexical overlap features, once per fit/predict."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rapidfuzz import fuzz, process

from blocking.pairs import LEFT, RIGHT

MARKER = "\u00a7"  # starts the attribute-name tokens of the serialized record
TOKEN_PATTERN = MARKER + r"\w+|\w+(?:[-./']\w+)*"
MISSING_TOKEN = "\x00missing"
RECORD = "__record__"  # the serialized-record view, compared like one more attribute
LEXICAL_PER_ATTRIBUTE = 4  # jaccard, containment, edit ratio, either side missing


@dataclass
class EncodedPairs:
    """Token ids of every (attribute, side, pair) sequence plus per-pair lexical features.

    Sequence s = (2 * k + side) * n + i holds attribute k of pair i, side 0 = left, 1 = right.
    `tokens` indexes `vocab`; id 0 is the missing-value token, which empty sequences hold once.
    """

    n: int
    n_attributes: int
    tokens: np.ndarray  # (2 * n_attributes * n, max_len) int64, 0-padded
    lengths: np.ndarray  # (2 * n_attributes * n,) int64, >= 1
    vocab: np.ndarray  # (U,) str, vocab[0] = MISSING_TOKEN
    lexical: np.ndarray  # (n, n_attributes * LEXICAL_PER_ATTRIBUTE) float32

    def sequences(self, rows: np.ndarray) -> np.ndarray:
        """Sequence indices for pairs `rows`, ordered (attribute, side, row)."""
        base = np.arange(2 * self.n_attributes)[:, None] * self.n
        return (base + rows[None, :]).reshape(-1)


def _as_text(column: pd.Series) -> pd.Series:
    """Lower-cased strings with NA kept; integral floats lose their '.0' (years read with NaNs)."""
    if pd.api.types.is_float_dtype(column):
        values = column.dropna()
        if len(values) and np.all(np.mod(values, 1) == 0):
            column = column.astype("Int64")
    return column.astype("string").str.lower()


def marker(attribute: str) -> str:
    """The attribute-name token that opens `attribute`'s value in the serialized record."""
    return MARKER + re.sub(r"\W+", "_", str(attribute).lower())


def serialize(frame: pd.DataFrame, columns: Sequence[str], names: Sequence[str]) -> pd.Series:
    """Each row as one text: "<marker name1> value1 <marker name2> value2 ...", missing = ""."""
    parts = [
        marker(name) + " " + _as_text(frame[column]).fillna("")
        for column, name in zip(columns, names, strict=True)
    ]
    text = parts[0]
    for part in parts[1:]:
        text = text + " " + part
    return text.astype(object)


def with_record_view(pairs: pd.DataFrame, attributes: Sequence[str]) -> pd.DataFrame:
    """`pairs` plus left_/right_ RECORD columns: the whole record as one token sequence, with
    attribute-name tokens, so a value moved to another attribute still meets its counterpart."""
    views = {
        f"{side}{RECORD}": serialize(pairs, [f"{side}{a}" for a in attributes], attributes)
        for side in (LEFT, RIGHT)
    }
    return pairs.assign(**views)


def tokenize(pairs: pd.DataFrame, attributes: Sequence[str]) -> tuple[pd.Series, pd.Series]:
    """Return the raw texts and the exploded tokens (index = sequence id) of every sequence."""
    texts = pd.concat(
        [_as_text(pairs[f"{side}{a}"]) for a in attributes for side in (LEFT, RIGHT)],
        ignore_index=True,
    )
    tokens = texts.str.findall(TOKEN_PATTERN).explode().dropna()
    return texts, tokens


def sequence_lengths(tokens: pd.Series, n_sequences: int) -> np.ndarray:
    """Untruncated token count of every sequence."""
    return np.bincount(tokens.index.to_numpy(dtype=np.int64), minlength=n_sequences)


def truncation_caps(
    pairs: pd.DataFrame,
    attributes: Sequence[str],
    max_tokens: int | Sequence[int],
    quantile: float = 0.9,
) -> list[int]:
    """Per-attribute token cap: the `quantile` of its lengths, at least 1, at most `max_tokens`
    (one limit for all attributes, or one per attribute)."""
    n = len(pairs)
    _, tokens = tokenize(pairs, attributes)
    lengths = sequence_lengths(tokens, 2 * len(attributes) * n).reshape(len(attributes), 2 * n)
    caps = np.ceil(np.quantile(lengths, quantile, axis=1)).astype(int)
    return [int(c) for c in np.clip(caps, 1, np.asarray(max_tokens))]


def _lexical(texts: pd.Series, seq: np.ndarray, codes: np.ndarray, n: int, k: int, u: int):
    """Jaccard, containment and edit ratio of attribute k's two sides, and a missing flag.

    `seq` and `codes` hold the content tokens only (no attribute-name tokens)."""
    sides = []
    for side in (0, 1):
        start = (2 * k + side) * n
        sel = (seq >= start) & (seq < start + n)
        m = sp.csr_matrix(
            (np.ones(int(sel.sum()), dtype=np.float32), (seq[sel] - start, codes[sel])),
            shape=(n, u),
        )
        m.data[:] = 1.0  # token sets, not counts (duplicates were summed)
        sides.append(m)
    left, right = sides
    inter = np.asarray(left.multiply(right).sum(axis=1)).ravel()
    n_left = np.asarray(left.sum(axis=1)).ravel()
    n_right = np.asarray(right.sum(axis=1)).ravel()
    union = n_left + n_right - inter
    smaller = np.minimum(n_left, n_right)
    jaccard = np.divide(inter, union, out=np.zeros(n, dtype=np.float32), where=union > 0)
    contain = np.divide(inter, smaller, out=np.zeros(n, dtype=np.float32), where=smaller > 0)
    left_text = texts.iloc[2 * k * n : (2 * k + 1) * n].fillna("").tolist()
    right_text = texts.iloc[(2 * k + 1) * n : (2 * k + 2) * n].fillna("").tolist()
    ratio = process.cpdist(left_text, right_text, scorer=fuzz.ratio, workers=1) / 100.0
    missing = (smaller == 0).astype(np.float32)
    ratio = np.where(missing > 0, 0.0, ratio)
    return np.stack([jaccard, contain, ratio, missing], axis=1)


def encode_pairs(
    pairs: pd.DataFrame, attributes: Sequence[str], caps: Sequence[int], lexical: bool = True
) -> EncodedPairs:
    """Tokenize all attributes of all pairs at once (vectorized) and truncate to `caps`."""
    n, n_attr = len(pairs), len(attributes)
    n_seq = 2 * n_attr * n
    texts, tokens = tokenize(pairs, attributes)
    seq = tokens.index.to_numpy(dtype=np.int64)
    codes, uniques = pd.factorize(tokens.to_numpy(dtype=object))
    codes = codes.astype(np.int64) + 1
    vocab = np.concatenate([[MISSING_TOKEN], np.asarray(uniques, dtype=str)])
    pos = np.arange(len(seq)) - np.searchsorted(seq, seq, side="left")
    cap_of_seq = np.repeat(np.asarray(caps, dtype=np.int64), 2 * n)
    keep = pos < cap_of_seq[seq]
    full = sequence_lengths(tokens, n_seq)
    lengths = np.maximum(np.minimum(full, cap_of_seq), 1)
    matrix = np.zeros((n_seq, int(lengths.max())), dtype=np.int64)
    matrix[seq[keep], pos[keep]] = codes[keep]
    if lexical:
        content = ~np.char.startswith(vocab.astype(str), MARKER)[codes]
        plain = texts.str.replace(MARKER + r"\w+\s?", "", regex=True)
        feats = np.concatenate(
            [
                _lexical(plain, seq[content], codes[content], n, k, len(vocab))
                for k in range(n_attr)
            ],
            axis=1,
        ).astype(np.float32)
    else:
        feats = np.zeros((n, 0), dtype=np.float32)
    return EncodedPairs(n, n_attr, matrix, lengths, vocab, feats)
