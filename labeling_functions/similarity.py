"""Vectorized similarity primitives over two aligned pandas Series of attribute values.

Every pairwise primitive `f(a, b) -> np.ndarray` compares `a[i]` with `b[i]` by position and
returns float64 with NaN wherever either side is missing (NaN/None) or empty after
normalization, so that callers decide explicitly what a missing value means (an LF abstains,
a feature table keeps NaN). Work is done once per distinct value (candidate pairs repeat each
record many times): token metrics use one sparse token-by-value matrix, string metrics
rapidfuzz's C++ pairwise `cpdist` on each distinct (left, right) combination. Inside
`labeling_functions.cache.similarity_cache()` these intermediate results are shared.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import chain

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from blocking.pairs import attribute_names
from labeling_functions.cache import cached, similarity_cache

WORD = r"\w+"
_WORD_RE = re.compile(WORD)
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?")
_YEAR_RE = r"\b(1[89]\d\d|20\d\d)\b"
_MODEL_TOKEN = r"[^\s,;:()\[\]{}\"'`]+"
_CHUNK = 1 << 18
# Token overlaps via one product of distinct values when the table stays small (see TokenSets).
_MAX_GRAM_CELLS = 20_000_000
_GRAM_CELLS_PER_PAIR = 20
_PAIR_SLICE = 20_000  # pairs whose token rows are gathered at once
# Text whose mean normalized length exceeds this is "long": edit distances are skipped there.
LONG_TEXT_CHARS = 60

__all__ = [
    "IdfTable",
    "KINDS",
    "TokenSets",
    "attribute_kinds",
    "char_ngram_cosine",
    "exact",
    "extract_year",
    "fit_idf",
    "jaccard",
    "jaro_winkler",
    "levenshtein_sim",
    "model_number_overlap",
    "model_numbers",
    "overlap",
    "partial_ratio",
    "prefix",
    "relative_difference",
    "similarity_features",
    "tfidf_cosine",
    "year_difference",
]


def _series(s: object, name: str) -> pd.Series:
    if isinstance(s, pd.Series):
        return s
    if isinstance(s, (list, tuple, np.ndarray, pd.Index)):
        return pd.Series(list(s) if isinstance(s, (list, tuple)) else s)
    raise TypeError(
        f"{name}: expected a pandas Series (one attribute column), got {type(s).__name__}"
    )


def _pair(a: object, b: object) -> tuple[pd.Series, pd.Series]:
    a, b = _series(a, "a"), _series(b, "b")
    if len(a) != len(b):
        raise ValueError(
            "the two sides must have the same length (one value per pair), "
            f"got {len(a)} and {len(b)}"
        )
    return a, b


@contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector: building millions of token lists triggers it often."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _text_of(values: np.ndarray) -> np.ndarray:
    """Non-missing values as Python strings; integral floats print without '.0'."""
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if isinstance(v, str):
            out[i] = v
        elif isinstance(v, (float, np.floating)) and float(v).is_integer():
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


def _factorized(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, texts): `texts[codes[i]]` is the text of value i; code -1 marks a missing value.

    Work per distinct value instead of per pair: candidate pairs repeat each record many times.
    """
    def compute() -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(s, use_na_sentinel=True)
        return codes.astype(np.int64), _text_of(np.asarray(uniques, dtype=object))

    return cached(s, "factorized", compute)


def _raw_text(s: pd.Series) -> np.ndarray:
    """Values as Python strings, '' for missing."""
    codes, texts = _factorized(s)
    return np.append(texts, "").astype(object)[codes]


def _normalized(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(codes, normalized texts) of one column's distinct values (lower-cased words joined by
    single spaces), computed once per column and shared by every pair of columns it is in."""
    def compute() -> tuple[np.ndarray, np.ndarray]:
        codes, texts = _factorized(s)
        findall = _WORD_RE.findall
        with _no_gc():
            normalized = np.array([" ".join(findall(t.lower())) for t in texts], dtype=object)
        return codes, normalized

    return cached(s, "normalized", compute)


def _normalized_pair(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Normalized text codes of both sides over one table of distinct texts (last entry '')."""
    return cached((a, b), "normalized", lambda: _normalize_pair(a, b))


def _normalize_pair(a: pd.Series, b: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    ca, ta = _normalized(a)
    cb, tb = _normalized(b)
    texts = np.concatenate([ta, tb, np.array([""], dtype=object)])
    empty = len(texts) - 1
    ca = np.where(ca < 0, empty, ca)
    cb = np.where(cb < 0, empty, cb + len(ta))
    return ca, cb, texts


def _empty(norm: np.ndarray) -> np.ndarray:
    return np.asarray(norm == "", dtype=bool).reshape(len(norm))


_NGRAM_PATTERN = re.compile(r"\(\?=\(\.\{(\d+)\}\)\)")  # what char_ngrams(n) writes
_CODE_POINTS = 0x110000


def _column_tokens(s: pd.Series, pattern: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(token count per distinct value, token ids in value order, the tokens) of one column's
    distinct values (`_factorized` order), tokenized once per column and pattern and shared by
    every TokenSets the column is in. Word tokens are the normalized text split on spaces."""
    def compute() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if pattern == WORD:
            return _tokenized(_normalized(s)[1], str.split)
        texts = _factorized(s)[1]
        ngram = _NGRAM_PATTERN.fullmatch(pattern)
        if ngram is not None and 1 <= int(ngram.group(1)) <= 3:
            return _char_ngram_tokens(texts, int(ngram.group(1)))
        findall = re.compile(pattern).findall
        return _tokenized(texts, lambda text: findall(text.lower()))

    return cached(s, ("tokens", pattern), compute)


def _tokenized(docs: np.ndarray, tokenize: Callable[[str], list[str]]
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(tokens per doc, token ids in doc order, the distinct tokens in first-seen order)."""
    ids, uniques, lengths = [], [], []
    with _no_gc():
        for start in range(0, len(docs), _CHUNK):
            toks = list(map(tokenize, docs[start : start + _CHUNK]))
            lengths.append(np.fromiter(map(len, toks), np.int64, count=len(toks)))
            flat = np.fromiter(chain.from_iterable(toks), object, count=int(lengths[-1].sum()))
            chunk_ids, chunk_uniques = pd.factorize(flat)
            ids.append(chunk_ids + sum(map(len, uniques)))
            uniques.append(np.asarray(chunk_uniques, dtype=object))
    return _merged(lengths, ids, uniques, len(docs))


def _merged(lengths: list, ids: list, uniques: list, n_docs: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chunks' (lengths, local ids, local uniques) as one vocabulary in first-seen order."""
    if not uniques:
        return np.zeros(n_docs, np.int64), np.empty(0, np.int64), np.empty(0, dtype=object)
    global_ids, terms = pd.factorize(np.concatenate(uniques))
    return (np.concatenate(lengths), global_ids[np.concatenate(ids)],
            np.asarray(terms, dtype=object))


def _char_ngram_tokens(docs: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """`_tokenized(docs, findall of char_ngrams(n) on the lower-cased text)` computed on arrays
    of code points: every n characters of a doc in a row, none of them a newline (the regex's
    '.'). An n-gram is one integer (code points in base 0x110000), so n <= 3."""
    ids, uniques, lengths = [], [], []
    step = 8192  # docs at a time: a dozen arrays as long as their text are made per chunk
    with _no_gc():
        for start in range(0, len(docs), step):
            lowered = [t.lower() for t in docs[start : start + step]]
            sizes = np.fromiter(map(len, lowered), np.int64, count=len(lowered))
            joined = "".join(lowered)
            chars = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), np.uint32)
            chars = chars.astype(np.int64)
            begin = np.concatenate([[0], np.cumsum(sizes)])
            doc = np.repeat(np.arange(len(sizes)), sizes)
            at = np.arange(len(chars))
            ok = at + n <= begin[doc + 1]  # the n-gram ends inside its doc
            newlines = np.concatenate([[0], np.cumsum(chars == 10)])
            at = at[ok]
            at = at[newlines[at + n] == newlines[at]]
            keys = np.zeros(len(at), np.int64)
            for j in range(n):
                keys = keys * _CODE_POINTS + chars[at + j]
            lengths.append(np.bincount(doc[at], minlength=len(sizes)).astype(np.int64))
            chunk_ids, chunk_keys = pd.factorize(keys)
            first = at[np.unique(chunk_ids, return_index=True)[1]]
            ids.append(chunk_ids + sum(map(len, uniques)))
            uniques.append(np.array([joined[p : p + n] for p in first], dtype=object))
    return _merged(lengths, ids, uniques, len(docs))


class IdfTable:
    """Inverse document frequencies learned on one set of values (see `fit_idf`), so that pairs
    scored later, in any batch, are weighted alike; a token never seen gets the rarest weight."""

    def __init__(self, terms: np.ndarray, idf: np.ndarray, n_docs: int) -> None:
        self.index = pd.Index(terms)
        self.idf = np.asarray(idf, dtype=np.float64)
        self.unseen = float(np.log(1.0 + n_docs) + 1.0)

    def lookup(self, terms: np.ndarray) -> np.ndarray:
        """The IDF of each term (the unseen weight for terms outside the table)."""
        at = self.index.get_indexer(pd.Index(terms))
        found = self.idf[np.maximum(at, 0)] if len(self.idf) else np.zeros(len(at))
        return np.where(at >= 0, found, self.unseen)

    def to_dict(self) -> dict:
        """Plain lists and numbers (for `torch.save(weights_only=True)` and JSON)."""
        return {"terms": [str(t) for t in self.index], "idf": self.idf.tolist(),
                "unseen": self.unseen}

    @classmethod
    def from_dict(cls, blob: dict) -> IdfTable:
        """The table `to_dict` wrote."""
        table = cls(np.asarray(blob["terms"], dtype=object), np.asarray(blob["idf"]), 0)
        table.unseen = float(blob["unseen"])
        return table

    def __repr__(self) -> str:  # short and content-based: used in cache keys
        digest = pd.util.hash_pandas_object(pd.Series(self.idf, index=self.index)).sum()
        return f"IdfTable({len(self.index)} terms, {int(digest) & 0xFFFFFFFF:08x})"


class TokenSets:
    """Sparse token-count matrices (pairs x vocabulary) of both sides over one vocabulary.

    Tokens are lower-cased `pattern` matches; `keep` filters and `canonical` rewrites vocabulary
    entries (e.g. model numbers without hyphens). IDF counts each distinct value once,
    unless a fitted `idf` table is given.
    """

    def __init__(
        self,
        a: pd.Series,
        b: pd.Series,
        pattern: str = WORD,
        keep: Callable[[str], bool] | None = None,
        canonical: Callable[[str], str] | None = None,
        idf: IdfTable | None = None,
    ):
        a, b = _pair(a, b)
        ca, _ = _factorized(a)
        cb, _ = _factorized(b)
        # One table row per distinct value of a, then of b, then the empty text (missing).
        sizes_a, ids_a, terms_a = _column_tokens(a, pattern)
        sizes_b, ids_b, terms_b = _column_tokens(b, pattern)
        global_ids, terms = pd.factorize(np.concatenate([terms_a, terms_b]))
        idx = np.concatenate([global_ids[: len(terms_a)][ids_a],
                              global_ids[len(terms_a):][ids_b]])
        counts = np.concatenate([sizes_a, sizes_b, [0]])
        rows_a = np.where(ca < 0, len(counts) - 1, ca)
        rows_b = np.where(cb < 0, len(counts) - 1, cb + len(sizes_a))
        terms = np.asarray(terms, dtype=object)
        if keep is not None or canonical is not None:
            # Filter / merge on the (small) vocabulary, then remap the token ids in one go.
            kept = [(t if canonical is None else canonical(t)) if keep is None or keep(t) else None
                    for t in terms]
            new_codes, new_terms = pd.factorize(np.array(kept, dtype=object), use_na_sentinel=True)
            mapped = new_codes[idx] if len(idx) else idx
            valid = mapped >= 0
            row = np.repeat(np.arange(len(counts)), counts)[valid]
            counts = np.bincount(row, minlength=len(counts))
            idx, terms = mapped[valid], np.asarray(new_terms, dtype=object)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        table = sp.csr_matrix(
            (np.ones(len(idx), np.float64), idx, indptr), shape=(len(counts), max(len(terms), 1))
        )
        table.sum_duplicates()
        self.terms = terms
        df = np.bincount(table.indices, minlength=table.shape[1])
        n_docs = int((np.diff(table.indptr) > 0).sum())
        self.n_docs = n_docs
        self.idf = np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
        if idf is not None:  # (the table keeps one empty column when there is no term at all)
            self.idf[: len(terms)] = idf.lookup(terms)
        self._table = table
        self._rows_a, self._rows_b = rows_a, rows_b
        size = np.diff(table.indptr).astype(np.float64)
        self.left_size, self.right_size = size[self._rows_a], size[self._rows_b]
        self.missing = (self.left_size == 0) | (self.right_size == 0)
        self._intersection: np.ndarray | None = None
        self._shared: sp.csr_matrix | None = None
        self._pos_a, self._distinct_a = pd.factorize(rows_a)
        self._pos_b, self._distinct_b = pd.factorize(rows_b)
        cells = len(self._distinct_a) * len(self._distinct_b)
        # Few distinct values in many pairs: all their overlaps are one sparse matrix product
        # (a dense distinct-left x distinct-right table) read at each pair. Otherwise the rows
        # of each pair are gathered and multiplied element-wise, once for all metrics.
        self._use_gram = cells <= min(_MAX_GRAM_CELLS, _GRAM_CELLS_PER_PAIR * len(rows_a))

    def idf_table(self) -> IdfTable:
        """This vocabulary's IDF, to weight other pairs alike."""
        return IdfTable(self.terms, self.idf, self.n_docs)

    def _gram(self, matrix: sp.csr_matrix) -> np.ndarray:
        """Per pair, the dot product of its two rows of `matrix`, via the distinct values."""
        gram = (matrix[self._distinct_a] @ matrix[self._distinct_b].T).toarray()
        return gram[self._pos_a, self._pos_b]

    def _shared_tokens(self) -> sp.csr_matrix:
        """Per pair, the tokens both sides contain, valued count_left * count_right (a slice of
        pairs at a time: both sides' gathered rows of all pairs would be several times larger)."""
        if self._shared is None:
            parts = [sp.csr_matrix((0, self._table.shape[1]))]
            for start in range(0, len(self._rows_a), _PAIR_SLICE):
                left = self._table[self._rows_a[start : start + _PAIR_SLICE]]
                right = self._table[self._rows_b[start : start + _PAIR_SLICE]]
                parts.append(sp.csr_matrix(left.multiply(right)))
            self._shared = sp.vstack(parts, format="csr")
        return self._shared

    def intersection(self) -> np.ndarray:
        """Number of distinct tokens the two sides share, per pair (computed once)."""
        if self._intersection is None:
            if self._use_gram:
                binary = self._table.copy()
                binary.data[:] = 1.0
                self._intersection = self._gram(binary)
            else:
                self._intersection = np.diff(self._shared_tokens().indptr).astype(np.float64)
        return self._intersection

    def jaccard(self) -> np.ndarray:
        inter = self.intersection()
        with np.errstate(invalid="ignore", divide="ignore"):
            out = inter / (self.left_size + self.right_size - inter)
        out[self.missing] = np.nan
        return out

    def overlap(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            out = self.intersection() / np.minimum(self.left_size, self.right_size)
        out[self.missing] = np.nan
        return out

    def tfidf_cosine(self) -> np.ndarray:
        weighted = self._table.copy()
        weighted.data *= self.idf[weighted.indices]
        squared = sp.csr_matrix((np.square(weighted.data), weighted.indices, weighted.indptr),
                                shape=weighted.shape)
        norm = np.sqrt(_rowsum(squared))
        if self._use_gram:
            dot = self._gram(weighted)
        else:
            shared = self._shared_tokens()
            dot = np.bincount(
                np.repeat(np.arange(shared.shape[0]), np.diff(shared.indptr)),
                weights=shared.data * self.idf[shared.indices] ** 2,
                minlength=shared.shape[0],
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            out = dot / (norm[self._rows_a] * norm[self._rows_b])
        out[self.missing] = np.nan
        return np.minimum(out, 1.0)

    def idf_mass(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pair, the summed IDF of the distinct tokens both sides share, of the left's and of
        the right's: a rare token on one side alone (a version, an edition) argues non-match."""
        binary = self._table.copy()
        binary.data[:] = 1.0
        mass = binary @ self.idf
        if self._use_gram:
            shared = self._gram(sp.csr_matrix(binary.multiply(np.sqrt(self.idf)[np.newaxis, :])))
        else:
            both = self._shared_tokens()
            shared = _rowsum(sp.csr_matrix((self.idf[both.indices], both.indices, both.indptr),
                                           shape=both.shape))
        left, right = mass[self._rows_a], mass[self._rows_b]
        for values in (shared, left, right):
            values[self.missing] = np.nan
        return shared, left, right


def _rowsum(m: sp.spmatrix) -> np.ndarray:
    return np.asarray(m.sum(axis=1), dtype=np.float64).ravel()


def jaccard(a: pd.Series, b: pd.Series, pattern: str = WORD) -> np.ndarray:
    """Jaccard similarity of the two sides' lower-cased token sets (tokens match `pattern`)."""
    return TokenSets(a, b, pattern).jaccard()


def overlap(a: pd.Series, b: pd.Series, pattern: str = WORD) -> np.ndarray:
    """Overlap coefficient |A & B| / min(|A|, |B|): 1 when one token set contains the other."""
    return TokenSets(a, b, pattern).overlap()


def tfidf_cosine(a: pd.Series, b: pd.Series, pattern: str = WORD) -> np.ndarray:
    """Cosine of TF-IDF token vectors, IDF estimated on the values of both columns."""
    return TokenSets(a, b, pattern).tfidf_cosine()


def char_ngrams(n: int) -> str:
    """The TokenSets pattern of overlapping character n-grams (spaces included)."""
    if n < 1:
        raise ValueError(f"char_ngram_cosine: n must be >= 1, got {n}")
    return f"(?=(.{{{n}}}))"


def char_ngram_cosine(
    a: pd.Series, b: pd.Series, n: int = 3, idf: IdfTable | None = None
) -> np.ndarray:
    """Cosine of TF-IDF vectors of character n-grams (spaces included): robust to split or
    joined words ('photoshop cs3' vs 'photoshopcs3') and to typos."""
    return TokenSets(a, b, pattern=char_ngrams(n), idf=idf).tfidf_cosine()


def _string_metric(
    a: pd.Series,
    b: pd.Series,
    scorer: Callable,
    score_cutoff: float | None,
    length_bound: bool = False,
) -> np.ndarray:
    """Scores of each distinct (left, right) text combination, spread back to the pairs.

    `length_bound`: the metric is at most min(len) / max(len) (normalized edit distance), so
    with a cutoff, combinations whose lengths differ too much are 0 without being scored.
    """
    a, b = _pair(a, b)
    ca, cb, texts = _normalized_pair(a, b)
    inverse, keys = pd.factorize(ca * len(texts) + cb)
    ua, ub = keys // len(texts), keys % len(texts)
    scores = np.zeros(len(keys), dtype=np.float64)
    todo = np.ones(len(keys), dtype=bool)
    if score_cutoff is not None and length_bound:
        lengths = np.fromiter(map(len, texts), np.float64, count=len(texts))
        la, lb = lengths[ua], lengths[ub]
        todo = np.minimum(la, lb) >= score_cutoff * np.maximum(la, lb) - 1e-9
    scores[todo] = process.cpdist(
        texts[ua[todo]], texts[ub[todo]], scorer=scorer, workers=-1, dtype=np.float64,
        # rapidfuzz may drop a score exactly at the cutoff: ask for a hair less.
        score_cutoff=None if score_cutoff is None else max(score_cutoff - 1e-6, 0.0),
    )
    empty = _empty(texts)
    scores[empty[ua] | empty[ub]] = np.nan
    return scores[inverse]


def levenshtein_sim(
    a: pd.Series, b: pd.Series, score_cutoff: float | None = None
) -> np.ndarray:
    """1 - Levenshtein distance / longer length, on normalized text (rapidfuzz, C++).

    With `score_cutoff`, similarities below it are reported as 0 (computed much faster):
    enough for a threshold rule.
    """
    return _string_metric(
        a, b, Levenshtein.normalized_similarity, score_cutoff, length_bound=True
    )


def partial_ratio(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Best similarity (0-1) of the shorter normalized text against any equally long window of
    the longer one (rapidfuzz): 1 when one value is contained in the other."""
    return _string_metric(a, b, fuzz.partial_ratio, None) / 100.0


def jaro_winkler(a: pd.Series, b: pd.Series, score_cutoff: float | None = None) -> np.ndarray:
    """Jaro-Winkler similarity on normalized text (rapidfuzz, C++): favours shared prefixes.

    With `score_cutoff`, similarities below it are reported as 0 (computed faster).
    """
    return _string_metric(a, b, JaroWinkler.normalized_similarity, score_cutoff)


def _compare_codes(a: pd.Series, b: pd.Series, key: Callable[[np.ndarray], np.ndarray]):
    """1.0 where key(normalized left) == key(normalized right), 0.0 else, NaN where missing."""
    ca, cb, texts = _normalized_pair(a, b)
    codes, _ = pd.factorize(key(texts))
    out = (codes[ca] == codes[cb]).astype(np.float64)
    empty = _empty(texts)
    out[empty[ca] | empty[cb]] = np.nan
    return out


def exact(a: pd.Series, b: pd.Series) -> np.ndarray:
    """1.0 where the normalized values are equal (numbers compared as numbers), else 0.0."""
    a, b = _pair(a, b)
    if _is_number(a) and _is_number(b):
        x, y = a.to_numpy(np.float64, na_value=np.nan), b.to_numpy(np.float64, na_value=np.nan)
        out = (x == y).astype(np.float64)
        out[np.isnan(x) | np.isnan(y)] = np.nan
        return out
    return _compare_codes(a, b, lambda texts: texts)


def prefix(a: pd.Series, b: pd.Series, length: int = 4) -> np.ndarray:
    """1.0 where the normalized values agree on their first `length` characters, else 0.0."""
    if length < 1:
        raise ValueError(f"prefix: length must be >= 1, got {length}")
    a, b = _pair(a, b)
    return _compare_codes(
        a, b, lambda texts: pd.Series(texts).str.slice(0, length).to_numpy(dtype=object)
    )


def _is_number(s: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)


def _per_value(s: pd.Series, fn: Callable[[np.ndarray], np.ndarray], fill: object) -> np.ndarray:
    """fn applied to each distinct text (`fill` for missing values), spread back to every row."""
    codes, texts = _factorized(s)
    values = np.asarray(fn(texts))
    out = np.empty(len(values) + 1, dtype=values.dtype if values.dtype != object else object)
    out[:-1] = values
    out[-1] = fill
    return out[codes]


def _first_number(texts: np.ndarray) -> np.ndarray:
    text = pd.Series(texts, dtype=object).str.replace(r"(?<=\d),(?=\d{3})", "", regex=True)
    found = text.str.extract(f"({_NUMBER_RE.pattern})", expand=False)
    return pd.to_numeric(found, errors="coerce").to_numpy(np.float64)


def _to_number(s: pd.Series) -> np.ndarray:
    """Numeric value of each entry: the number itself, or the first number found in the text."""
    if _is_number(s):
        return s.to_numpy(np.float64, na_value=np.nan)
    return _per_value(s, _first_number, np.nan).astype(np.float64)


def relative_difference(a: pd.Series, b: pd.Series) -> np.ndarray:
    """|x - y| / max(|x|, |y|) in [0, 1] (0 when both are 0); text yields its first number."""
    a, b = _pair(a, b)
    x, y = _to_number(a), _to_number(b)
    scale = np.maximum(np.abs(x), np.abs(y))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(scale > 0, np.abs(x - y) / scale, 0.0)
    out[np.isnan(x) | np.isnan(y)] = np.nan
    return out


def extract_year(s: pd.Series) -> np.ndarray:
    """The first year (1800-2099) in each value as float, NaN where there is none."""
    s = _series(s, "s")
    if _is_number(s):
        v = s.to_numpy(np.float64, na_value=np.nan)
        return np.where((v >= 1800) & (v < 2100) & (np.mod(v, 1) == 0), v, np.nan)

    def years(texts: np.ndarray) -> np.ndarray:
        found = pd.Series(texts, dtype=object).str.extract(_YEAR_RE, expand=False)
        return pd.to_numeric(found, errors="coerce").to_numpy(np.float64)

    return _per_value(s, years, np.nan).astype(np.float64)


def year_difference(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Absolute difference of the years found in the two sides, NaN where either has none."""
    a, b = _pair(a, b)
    return np.abs(extract_year(a) - extract_year(b))


_ASCII_DIGIT = re.compile(r"[0-9]").search
_NOT_MODEL_CHAR = re.compile(r"[^a-z0-9]")


def _is_model_token(token: str) -> bool:
    if token.isdigit() or _ASCII_DIGIT(token) is None:  # codes and words: no model number
        return False
    core = _NOT_MODEL_CHAR.sub("", token)
    return len(core) >= 3 and not core.isdigit()  # core is [a-z0-9]: a letter is left


def _canonical_model(token: str) -> str:
    return re.sub(r"[^a-z0-9]", "", token)


def model_numbers(s: pd.Series) -> pd.Series:
    """Model-number-like tokens (letters and digits mixed, e.g. 'lds4821ww') of each value.

    Separators inside a token are dropped ('mb13-pnk' -> 'mb13pnk'); a frozenset per value.
    """
    s = _series(s, "s")
    findall = re.compile(_MODEL_TOKEN).findall

    def tokens(texts: np.ndarray) -> np.ndarray:
        out = np.empty(len(texts), dtype=object)
        out[:] = [
            frozenset(_canonical_model(t) for t in findall(v.lower()) if _is_model_token(t))
            for v in texts
        ]
        return out

    return pd.Series(_per_value(s, tokens, frozenset()), index=s.index, dtype=object)


def model_number_overlap(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Overlap coefficient of the model-number tokens; NaN where either side has none."""
    return TokenSets(a, b, _MODEL_TOKEN, keep=_is_model_token, canonical=_canonical_model).overlap()


def _attribute_kind(left: pd.Series, right: pd.Series) -> str:
    """'numeric', 'short' or 'long' text, judged from dtype and (a sample of) the values."""
    both = pd.concat([left, right], ignore_index=True)
    both = both[both.notna()]
    if both.empty:
        return "short"
    sample = both.sample(min(len(both), 2000), random_state=0) if len(both) > 2000 else both
    if _is_number(both):
        return "numeric"
    text = pd.Series(_raw_text(sample)).str.strip()
    # Numbers with an optional currency/unit around them, e.g. "$ 1.29", "5.60 %", "1,299.00".
    numeric = text.str.fullmatch(r"[$€£]?\s*-?[\d,]*\.?\d+\s*(%|usd|eur)?", case=False)
    if numeric.mean() >= 0.9:
        return "numeric"
    return "long" if text.str.len().mean() > LONG_TEXT_CHARS else "short"


KINDS = ("numeric", "short", "long")


def attribute_kinds(pairs: pd.DataFrame, attributes: list[str] | None = None) -> dict[str, str]:
    """The kind ('numeric', 'short' or 'long' text) similarity_features infers per attribute.

    Pass the result back as `kinds=` to compute the same columns on another table.
    """
    attributes = _check_attributes(pairs, attributes)
    return {a: _attribute_kind(pairs["left_" + a], pairs["right_" + a]) for a in attributes}


def _check_attributes(pairs: pd.DataFrame, attributes: list[str] | None) -> list[str]:
    available = attribute_names(pairs, where="similarity_features")
    attributes = available if attributes is None else list(attributes)
    unknown = [a for a in attributes if a not in available]
    if unknown:
        raise ValueError(
            f"similarity_features: unknown attributes {unknown}; the pairs have {available}"
        )
    return attributes


def similarity_features(
    pairs: pd.DataFrame,
    attributes: list[str] | None = None,
    kinds: dict[str, str] | None = None,
    rich: bool = False,
    idf: dict[str, IdfTable] | None = None,
) -> pd.DataFrame:
    """A numeric feature table, columns '<attr>__<metric>', one row per pair (NaN = missing).

    Numeric attributes get reldiff and exact; short text gets jaccard, levenshtein, jaro_winkler,
    exact and model_numbers; long text gets jaccard, overlap, tfidf_cosine and model_numbers.
    `rich=True` adds, per text attribute, char3_cosine, idf_dice, unshared_idf_left / _right and
    (short text) partial_ratio: finer evidence for a learned matcher, at more cost.
    The kind of each attribute is inferred from the data unless given in `kinds` (see
    `attribute_kinds`, e.g. to get the same columns at fit and predict time). TF-IDF weights
    come from the pairs given unless `idf` (from `fit_idf`) fixes them: then a pair's features
    do not depend on the other pairs scored with it.
    """
    attributes = _check_attributes(pairs, attributes)
    kinds = dict(kinds or {})
    bad = {a: k for a, k in kinds.items() if k not in KINDS}
    if bad:
        raise ValueError(f"similarity_features: kinds must be one of {KINDS}, got {bad}")
    features: dict[str, np.ndarray] = {}
    with similarity_cache():
        for attr in attributes:
            left, right = pairs["left_" + attr], pairs["right_" + attr]
            kind = kinds.get(attr) or _attribute_kind(left, right)
            _attribute_features(left, right, attr, kind, features, rich, idf or {})
    # Rounded: sums over a pair's tokens are ordered differently when few distinct values take
    # the shared-product path (TokenSets), and a last-bit difference can flip a tree's split.
    return pd.DataFrame(features, index=pairs.index).round(9)


def fit_idf(
    pairs: pd.DataFrame, attributes: list[str] | None = None, kinds: dict[str, str] | None = None
) -> dict[str, IdfTable]:
    """The IDF tables `similarity_features(idf=...)` uses, learned on the values of `pairs`:
    word tokens per text attribute ('<attr>') and character 3-grams ('<attr>__char3')."""
    attributes = _check_attributes(pairs, attributes)
    kinds = dict(kinds or {})
    tables: dict[str, IdfTable] = {}
    for attr in attributes:
        left, right = pairs["left_" + attr], pairs["right_" + attr]
        if (kinds.get(attr) or _attribute_kind(left, right)) == "numeric":
            continue
        tables[attr] = TokenSets(left, right).idf_table()
        tables[attr + "__char3"] = TokenSets(left, right, pattern=char_ngrams(3)).idf_table()
    return tables


def _attribute_features(
    left: pd.Series,
    right: pd.Series,
    attr: str,
    kind: str,
    features: dict[str, np.ndarray],
    rich: bool,
    idf: dict[str, IdfTable],
) -> None:
    """Add the features of one attribute of the given kind to `features`."""
    if kind == "numeric":
        reldiff = relative_difference(left, right)
        features[f"{attr}__reldiff"] = reldiff
        features[f"{attr}__exact"] = np.where(np.isnan(reldiff), np.nan, reldiff == 0)
        return
    tokens = TokenSets(left, right, idf=idf.get(attr))
    features[f"{attr}__jaccard"] = tokens.jaccard()
    if kind == "short":
        features[f"{attr}__levenshtein"] = levenshtein_sim(left, right)
        features[f"{attr}__jaro_winkler"] = jaro_winkler(left, right)
        features[f"{attr}__exact"] = exact(left, right)
    else:
        features[f"{attr}__overlap"] = tokens.overlap()
        features[f"{attr}__tfidf_cosine"] = tokens.tfidf_cosine()
    features[f"{attr}__model_numbers"] = model_number_overlap(left, right)
    if rich:
        features[f"{attr}__char3_cosine"] = char_ngram_cosine(
            left, right, idf=idf.get(attr + "__char3")
        )
        shared, left_mass, right_mass = tokens.idf_mass()
        features[f"{attr}__idf_dice"] = 2 * shared / np.maximum(left_mass + right_mass, 1e-12)
        features[f"{attr}__unshared_idf_left"] = np.maximum(left_mass - shared, 0.0)
        features[f"{attr}__unshared_idf_right"] = np.maximum(right_mass - shared, 0.0)
        if kind == "short":
            features[f"{attr}__partial_ratio"] = partial_ratio(left, right)
