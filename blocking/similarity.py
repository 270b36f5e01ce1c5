"""Text-similarity blocking: token overlap, TF-IDF cosine and sentence-embedding top-k neighbours.

Both tables are vectorised once; the similarity matrix is computed in chunks of left rows
(sparse or dense matrix products), and each chunk keeps only its selected entries, so memory
stays bounded by `chunk_size` x len(B) whatever the table sizes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from blocking._arrays import as_columns, joined_text
from blocking.base import Blocker

MAX_CHUNK_CELLS = 20_000_000


def top_k_per_row(
    S: sp.csr_matrix | np.ndarray, k: int | None, min_value: float, diagonal: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the `k` largest entries >= `min_value` in each row of a sparse or dense
    matrix (all such entries of a sparse one when `k` is None). With `diagonal=d`, the entry at
    column row + d (a record's similarity to itself) is ignored. Ties at the k-th place are
    broken arbitrarily.
    """
    n_rows, n_cols = S.shape
    if k is None:
        rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(S.indptr))
        keep = S.data >= min_value
        if diagonal is not None:
            keep &= S.indices != rows + diagonal
        return rows[keep], S.indices[keep].astype(np.int64)
    # negated, so the k best come first (argpartition is faster that way round); the chunk
    # size keeps this dense block to at most MAX_CHUNK_CELLS values
    cost = np.negative(S.toarray() if sp.issparse(S) else S)
    if diagonal is not None:
        own = np.arange(n_rows)
        inside = own + diagonal < n_cols
        cost[own[inside], own[inside] + diagonal] = np.inf
    k = min(k, n_cols)
    top = np.argpartition(cost, k - 1, axis=1)[:, :k]
    keep = -np.take_along_axis(cost, top, axis=1) >= min_value
    rows = np.broadcast_to(np.arange(n_rows, dtype=np.int64)[:, None], top.shape)
    return rows[keep], top[keep].astype(np.int64)


class _SparseSimilarityBlocker(Blocker):
    """Shared machinery: vectorise `on`, multiply in chunks, select entries per left record."""

    k: int | None
    chunk_size: int | None
    symmetric: bool

    def _keep_search(self, on, k, symmetric: bool, chunk_size, id_column: str,
                     k_required: bool) -> None:
        """Check and keep the settings every similarity blocker shares."""
        who = type(self).__name__
        _check_k(k, who)
        if k_required and k is None:
            raise ValueError(f"{who}: k must be a positive integer, got None")
        as_columns(on)  # fail early on a bad `on`
        self.on, self.k, self.symmetric = on, k, symmetric
        self.chunk_size, self.id_column = chunk_size, id_column

    @property
    def min_value(self) -> float:
        return float(self.min_similarity)

    def _vectorizer(self):
        raise NotImplementedError

    def _fit_vectorizer(self, ta: pd.Series, tb: pd.Series | None):
        """The vectorizer fitted on the text of both sides (one vocabulary and one weighting)."""
        vec = self._vectorizer()
        try:
            vec.fit(ta if tb is None else pd.concat([ta, tb], ignore_index=True))
        except ValueError as err:  # sklearn: empty vocabulary / all terms pruned
            raise ValueError(
                f"{type(self).__name__}: no usable tokens in column(s) {list(self.columns)} "
                f"({err}); check that the columns hold text, or relax max_df / the analyzer"
            ) from None
        return vec

    def _matrices(self, A, B):
        cols = list(self.columns)
        ta = joined_text(A, cols)
        tb = None if B is None else joined_text(B, cols)
        vec = self._fit_vectorizer(ta, tb)
        Xa = vec.transform(ta).tocsr()
        Xb = Xa if tb is None else vec.transform(tb).tocsr()
        return Xa, Xb

    def _neighbours(self, Xa, Xb, dedup: bool):
        sparse = sp.issparse(Xb)
        right_t = Xb.T.tocsr() if sparse else np.ascontiguousarray(Xb.T)
        chunk = self.chunk_size or max(1, MAX_CHUNK_CELLS // max(Xb.shape[0], 1))
        lefts, rights = [], []
        for start in range(0, Xa.shape[0], chunk):
            S = Xa[start : start + chunk] @ right_t
            S = S.tocsr() if sparse else S
            r, c = top_k_per_row(S, self.k, self.min_value, diagonal=start if dedup else None)
            lefts.append(r + start)
            rights.append(c)
        return np.concatenate(lefts), np.concatenate(rights)

    def _positions(self, A, B):
        Xa, Xb = self._matrices(A, B)
        li, ri = self._neighbours(Xa, Xb, dedup=B is None)
        if self.symmetric and B is not None:
            rb, ra = self._neighbours(Xb, Xa, dedup=False)
            li, ri = np.concatenate([li, ra]), np.concatenate([ri, rb])
        return li, ri


class TokenOverlapBlocker(_SparseSimilarityBlocker):
    """Pair records sharing at least `min_shared` distinct tokens of `on`.

    Tokens in more than `max_df` (a fraction of records, or a count if an int) are ignored, like
    stop words. With `k`, keep only each left record's `k` partners sharing most tokens.
    """

    def __init__(
        self,
        on: str | Sequence[str],
        min_shared: int = 2,
        k: int | None = None,
        max_df: float | int = 1.0,
        symmetric: bool = False,
        chunk_size: int | None = None,
        id_column: str = "id",
    ):
        if not isinstance(min_shared, int) or min_shared < 1:
            raise ValueError(
                f"TokenOverlapBlocker: min_shared must be an integer >= 1, got {min_shared!r}"
            )
        self._keep_search(on, k, symmetric, chunk_size, id_column, k_required=False)
        self.min_shared = min_shared
        self.max_df = max_df

    @property
    def min_value(self) -> float:
        return float(self.min_shared)

    def _vectorizer(self):
        from sklearn.feature_extraction.text import CountVectorizer  # slow import, paid on use

        return CountVectorizer(
            binary=True, token_pattern=r"(?u)\b\w+\b", max_df=self.max_df, dtype=np.float32
        )


class TfidfKNNBlocker(_SparseSimilarityBlocker):
    """For each left record keep its `k` most similar right records (TF-IDF cosine on `on`).

    `analyzer="word"` suits titles and names; `"char_wb"` with `ngram_range=(3, 3)` tolerates
    typos. `symmetric=True` also keeps each right record's `k` nearest left records.
    """

    def __init__(
        self,
        on: str | Sequence[str],
        k: int = 10,
        analyzer: str = "word",
        ngram_range: tuple[int, int] = (1, 1),
        min_similarity: float = 1e-9,
        max_df: float | int = 1.0,
        symmetric: bool = False,
        chunk_size: int | None = None,
        id_column: str = "id",
    ):
        if analyzer not in ("word", "char", "char_wb"):
            raise ValueError(
                f"TfidfKNNBlocker: analyzer must be 'word', 'char' or 'char_wb', got {analyzer!r}"
            )
        self._keep_search(on, k, symmetric, chunk_size, id_column, k_required=True)
        self.analyzer = analyzer
        self.ngram_range = tuple(ngram_range)
        self.min_similarity = min_similarity
        self.max_df = max_df

    def _vectorizer(self):
        from sklearn.feature_extraction.text import TfidfVectorizer  # slow import, paid on use

        return TfidfVectorizer(
            analyzer=self.analyzer,
            ngram_range=self.ngram_range,
            token_pattern=r"(?u)\b\w+\b" if self.analyzer == "word" else None,
            max_df=self.max_df,
            sublinear_tf=True,
            dtype=np.float32,
        )


def _check_k(k, who: str) -> None:
    if k is not None and (not isinstance(k, int | np.integer) or k < 1):
        raise ValueError(f"{who}: k must be a positive integer or None, got {k!r}")


class EmbeddingKNNBlocker(_SparseSimilarityBlocker):
    """For each left record keep its `k` nearest right records by the cosine of sentence
    embeddings of `on` (the `lm` extra's `SentenceEncoder`, or any object with `encode(texts)`
    returning unit vectors): finds pairs that share meaning but few tokens.

    `symmetric=True` also keeps each right record's `k` nearest left records.
    """

    def __init__(
        self,
        on: str | Sequence[str],
        k: int = 10,
        encoder=None,
        min_similarity: float = -1.0,
        symmetric: bool = False,
        chunk_size: int | None = None,
        id_column: str = "id",
    ):
        if encoder is not None and (isinstance(encoder, str | bytes)
                                    or not callable(getattr(encoder, "encode", None))):
            raise TypeError("EmbeddingKNNBlocker: encoder must have an encode(texts) method, "
                            f"got {type(encoder).__name__}")
        self._keep_search(on, k, symmetric, chunk_size, id_column, k_required=True)
        self.encoder = encoder
        self.min_similarity = min_similarity

    def _matrices(self, A, B):
        from blocking.language_model import SentenceEncoder

        encoder = self.encoder if self.encoder is not None else SentenceEncoder()
        cols = list(self.columns)
        texts = joined_text(A, cols).tolist()
        n_left = len(texts)
        if B is not None:
            texts += joined_text(B, cols).tolist()
        vectors = np.asarray(encoder.encode(texts), dtype=np.float32)
        if vectors.ndim != 2 or len(vectors) != len(texts):
            raise ValueError(f"EmbeddingKNNBlocker: the encoder returned shape {vectors.shape} "
                             f"for {len(texts)} texts; expected one row per text")
        return vectors[:n_left], (vectors[:n_left] if B is None else vectors[n_left:])
