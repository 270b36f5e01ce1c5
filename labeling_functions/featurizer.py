"""PairFeaturizer: one similarity feature table for a whole pool of record pairs, fitted once.

Beside the per-attribute similarities (`similarity_features`) it adds views of the whole record
that survive misplaced values (a brand or an artist sitting inside the title, its own attribute
empty): the record serialized as one text, each attribute's tokens looked up in the other side's
whole record, codes and model numbers and numbers with units taken from any attribute, and the
missingness pattern; and, from the fitted pool, each pair's margin over its records' best other
candidate (the pool's structure, no labels: a pair that is clearly the best candidate of both its
records is a likely match). LF templates, matchers and the risk model read the same table.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import NotFittedError

from blocking.files import StaleModelError
from blocking.pairs import attribute_names, side_columns
from labeling_functions.cache import similarity_cache
from labeling_functions.moved_values import MovedValues
from labeling_functions.similarity import (
    _MODEL_TOKEN,
    KINDS,
    IdfTable,
    TokenSets,
    _canonical_model,
    _is_model_token,
    _text_of,
    _to_number,
    attribute_kinds,
    char_ngrams,
    fit_idf,
    similarity_features,
)

__all__ = ["PairFeaturizer", "feature_directions", "record_texts"]

# Views measured and removed (benchmarks/results/issue15_recheck_v32.md): their setting when off,
# and what a model file fitted before their removal may hold of them.
_REMOVED_OPTIONS = {"coverage": False, "bigrams": False, "residual": False, "title_core": False,
                    "lone_margin": None}
_REMOVED_STATE = {*_REMOVED_OPTIONS, "attribute_words_", "core_values_", "rare_idf_"}

# The whole-record similarities whose margins over competing candidates `context` adds.
_CONTEXT_BASE = ("record__tfidf_cosine", "record__idf_dice", "record__char3_cosine",
                 "record__jaccard")

# How P(match) should move as a feature grows, by the column's last '__' part: +1 similarities
# (and margins over the other candidates), -1 differences (relative difference, unshared tokens),
# 0 the rest (missingness, how full a record is, how many codes a side has).
_DIRECTIONS = {
    **dict.fromkeys(("jaccard", "levenshtein", "jaro_winkler", "exact", "overlap",
                     "tfidf_cosine", "model_numbers", "char3_cosine", "idf_dice",
                     "partial_ratio", "codes_overlap", "quantities_overlap", "numbers_overlap",
                     "left_in_right_record", "right_in_left_record", "left_margin",
                     "right_margin"), 1),
    **dict.fromkeys(("reldiff", "unshared_idf_left", "unshared_idf_right", "codes_unshared",
                     "quantities_unshared", "numbers_unshared"), -1),
}


def feature_directions(columns: list[str]) -> np.ndarray:
    """Per feature column, +1 (a similarity: a higher value never makes a match less likely),
    -1 (a difference) or 0 (no direction): the monotone constraints a learned matcher may use."""
    return np.array([_DIRECTIONS.get(str(c).rsplit("__", 1)[-1], 0) for c in columns],
                    dtype=np.int8)


_UNITS = (
    "tb|gb|mb|kb|ghz|mhz|hz|mp|megapixel|mm|cm|km|m|inch|inches|in|ft|oz|lbs|lb|kg|g|ml|l|"
    "kw|w|v|mah|rpm|x|mbps|fps|bit|ms|min|hrs|hr|pack|pk|pcs|pc|ct|sheets|ppm|dpi|watts?|volts?"
)
_UNIT_WORDS = frozenset(w for unit in _UNITS.split("|")
                        for w in ((unit[:-2], unit[:-1]) if unit.endswith("?") else (unit,)))
# A number directly followed by a unit ('500 GB', '2.4ghz', '15"') is one token: a number followed
# by a whole word or '"' (this pattern), kept by `_is_quantity` where the word is a unit. (The
# units inside the regex, as an alternation, find the same tokens several times slower.)
_NUMBER_WORD = r"\d+(?:\.\d+)?\s?(?:[a-z]+\b|\")"
_NUMBER = r"\d+(?:\.\d+)?"
_UNIT_ALIASES = {"inches": "in", "inch": "in", '"': "in", "lbs": "lb", "watts": "w", "watt": "w",
                 "volts": "v", "volt": "v", "megapixel": "mp", "pcs": "pc", "pk": "pack",
                 "hrs": "hr"}
_SPLIT_UNIT = re.compile(r"^(\d+(?:\.\d+)?)\s?(.*)$")


def _is_quantity(token: str) -> bool:
    """Is this `_NUMBER_WORD` match a `_NUMBER_UNIT` one (its word a unit, or a '"')?"""
    return token.endswith('"') or _SPLIT_UNIT.match(token).group(2) in _UNIT_WORDS


def _canonical_quantity(token: str) -> str:
    """'15 inches' -> '15in', '2.0ghz' -> '2ghz': one spelling per quantity."""
    number, unit = _SPLIT_UNIT.match(token).groups()
    return f"{float(number):g}{_UNIT_ALIASES.get(unit, unit)}"


def _side_codes(pairs: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """(record code of each row, the distinct records): rows with equal values share a code."""
    code = np.zeros(len(pairs), dtype=np.int64)
    for column in columns:
        part, uniques = pd.factorize(pairs[column], use_na_sentinel=True)
        code, _ = pd.factorize(code * (len(uniques) + 1) + part + 1)
    first = pd.Series(np.arange(len(code))).groupby(code, sort=True).first().to_numpy()
    return code, pairs[columns].iloc[first]


def record_texts(records: pd.DataFrame, attributes: list[str]) -> np.ndarray:
    """Each record as one text, 'name value name value ...' over its non-empty attributes:
    values keep their attribute name as a token, so a value that moved still says where from."""
    out = pd.Series("", index=records.index, dtype=object)
    for attr, column in zip(attributes, records.columns, strict=True):
        value = records[column]
        text = pd.Series(_text_of(value.to_numpy(dtype=object)), index=records.index).str.strip()
        present = value.notna() & (text != "")
        out = out.where(~present, (out + " " + attr.replace("_", " ") + " " + text).str.strip())
    return out.to_numpy(dtype=object)


def _as_numbers(values: pd.Series) -> pd.Series:
    """The number in each value where one is found, else the value itself."""
    number = _to_number(values)
    return values.astype(object).where(np.isnan(number), pd.Series(number, index=values.index))


def _record_series(pairs: pd.DataFrame, columns: list[str], attributes: list[str]) -> pd.Series:
    """Per row, its record's text (computed once per distinct record), as a categorical."""
    code, records = _side_codes(pairs, columns)
    text_code, uniques = pd.factorize(record_texts(records, attributes))
    return pd.Series(pd.Categorical.from_codes(text_code[code], categories=uniques),
                     index=pairs.index)


def _shortened(texts: pd.Series, max_chars: int) -> pd.Series:
    """The categorical record texts of `_record_series` cut to `max_chars` characters (the
    categories cut once each, in their order)."""
    cut = np.array([t[:max_chars] for t in texts.cat.categories], dtype=object)
    new_code, uniques = pd.factorize(cut)
    codes = texts.cat.codes.to_numpy()
    return pd.Series(pd.Categorical.from_codes(new_code[codes], categories=uniques),
                     index=texts.index)


class PairFeaturizer(BaseEstimator):
    """Numeric similarity features of record pairs ('<attr>__<metric>', 'record__<metric>'),
    NaN where a side is missing, fitted once on a pool so that a pair's features never depend on
    the other pairs transformed with it.

    fit learns the attribute kinds and the IDF tables (per attribute, and of the whole records);
    transform computes per distinct value and keeps what it computed, keyed by a hash of each
    pair's values, so a pair seen before is not recomputed (`cache=False` turns that off).
    `rich` adds finer per-attribute evidence (`similarity_features(rich=True)`); `record` the
    whole-record views (token, IDF and character 3-gram similarity, codes and model numbers,
    numbers with units); `cross` each text attribute's tokens found in the other side's whole
    record; `missing` the missingness pattern; `context` (with `record`), per side, how far a
    pair's whole-record similarities lead (or trail) the best other candidate of that record
    among the fitted pool's pairs (NaN where the record has no other). `max_record_chars` caps
    the record text used by the character 3-gram view (long descriptions would dominate its
    cost); `max_value_chars` every value (a 1 MB field is compared on its first characters).
    `kinds` overrides the inferred kind ('numeric', 'short', 'long') of named attributes, e.g.
    {"phone": "short"} so that codes written in digits are compared as text, not as numbers.
    `feature_directions_` (fitted, aligned with `columns_`) says per column whether it is a
    similarity (+1), a difference (-1) or neither (0), see `feature_directions`.
    `restore` first puts values that moved into the first attribute (the title) back into their
    empty attribute, where the fitted pool holds the same value in place elsewhere
    (`MovedValues`, fitted as `moved_`): for 'dirty' tables. `restore_unseen` (with `restore`)
    also puts back values that no record holds in place: the title's trailing run that reads
    like a short empty attribute's values (`MovedValues(suffixes=True)`). `restore_guard` (with
    `restore`) leaves in the title the values that read as title words (`MovedValues(guard=True)`).
    """

    def __init__(
        self,
        attributes: list[str] | None = None,
        kinds: dict[str, str] | None = None,
        rich: bool = True,
        record: bool = True,
        cross: bool = True,
        missing: bool = True,
        context: bool = True,
        cache: bool = True,
        max_record_chars: int = 300,
        max_value_chars: int = 20_000,
        restore: bool = False,
        restore_unseen: bool = False,
        restore_guard: bool = False,
    ) -> None:
        self.attributes = attributes
        self.kinds = kinds
        self.rich = rich
        self.record = record
        self.cross = cross
        self.missing = missing
        self.context = context
        self.cache = cache
        self.max_record_chars = max_record_chars
        self.max_value_chars = max_value_chars
        self.restore = restore
        self.restore_unseen = restore_unseen
        self.restore_guard = restore_guard

    # ----------------------------------------------------------------- fit
    def fit(self, pairs: pd.DataFrame, y: object = None) -> PairFeaturizer:
        """Learn attribute kinds, IDF tables and the output columns from a pool of pairs."""
        for name in ("max_record_chars", "max_value_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 3:
                raise ValueError(f"PairFeaturizer: {name} must be an int >= 3, got {value!r}")
        found = attribute_names(pairs, where="PairFeaturizer.fit pairs")
        attributes = found if self.attributes is None else list(self.attributes)
        unknown = [a for a in attributes if a not in found]
        if unknown or not attributes:
            raise ValueError(f"PairFeaturizer.fit: attributes {unknown or attributes} are not in "
                             f"the pairs, which have {found}")
        if len(pairs) == 0:
            raise ValueError("PairFeaturizer.fit: the pair table is empty; fit on the pool")
        for name in ("restore", "restore_unseen", "restore_guard"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise TypeError(f"PairFeaturizer: {name} must be True or False, got "
                                f"{getattr(self, name)!r}")
        self.attributes_ = attributes
        pairs = self._truncated(pairs)
        self.moved_ = (MovedValues(pairs, attributes, suffixes=bool(self.restore_unseen),
                                   guard=bool(self.restore_guard))
                       if self.restore else None)
        restored = self._restored(pairs)  # the tables' statistics; pairs keep their own keys
        self.kinds_ = {**attribute_kinds(restored, attributes), **self._given_kinds(attributes)}
        self.idf_ = fit_idf(restored, attributes, kinds=self.kinds_)
        self.record_idf_: dict[str, IdfTable] = {}
        if self.record or self.cross:
            left, right = self._records(restored)
            words = TokenSets(left, right)
            self.record_idf_["words"] = words.idf_table()
            if self.record:
                short = [_shortened(side, self.max_record_chars) for side in (left, right)]
                self.record_idf_["char3"] = TokenSets(
                    *short, pattern=char_ngrams(3)).idf_table()
        self.base_columns_ = list(self._compute(pairs.iloc[:1]).columns)
        self._clear_cache()
        self.context_: dict[str, pd.DataFrame] = {}
        context = [c for c in _CONTEXT_BASE if c in self.base_columns_] if self.context else []
        if context:
            self.context_ = self._fit_context(pairs, context)
        self.columns_ = self.base_columns_ + [f"{c}__{side}_margin" for c in self.context_
                                              for side in ("left", "right")]
        self.feature_directions_ = feature_directions(self.columns_)
        return self

    def _given_kinds(self, attributes: list[str]) -> dict[str, str]:
        """`kinds`, checked against the attributes and the known kinds."""
        given = {} if self.kinds is None else self.kinds
        if not isinstance(given, dict):
            raise TypeError(f"PairFeaturizer: kinds must be a dict attribute -> kind, got "
                            f"{type(given).__name__}")
        unknown = [a for a in given if a not in attributes]
        bad = {a: k for a, k in given.items() if k not in KINDS}
        if unknown or bad:
            raise ValueError(
                f"PairFeaturizer.fit: kinds names attributes {unknown} that are not featurized "
                f"(they are {attributes})" if unknown else
                f"PairFeaturizer.fit: kinds {bad} are not among {list(KINDS)}")
        return dict(given)

    def _clear_cache(self) -> None:
        self._hashes = pd.Index(np.empty(0, dtype=np.uint64))
        self._store = np.empty((0, len(self.base_columns_)), dtype=np.float32)

    def __setstate__(self, state: dict) -> None:
        """Unpickle; a model file written before `kinds` or `feature_directions_` existed gets
        the default (the directions follow from the fitted columns). A file fitted with one of
        the views since removed switched on cannot give its columns: it is refused."""
        used = [f"{name}={state[name]!r}" for name, off in _REMOVED_OPTIONS.items()
                if name in state and state[name] is not off and state[name] != off]
        if used:
            raise StaleModelError(f"PairFeaturizer: fitted with {', '.join(used)}, an option "
                                  f"this riskweasul no longer has; fit the model again")
        state = {k: v for k, v in state.items() if k not in _REMOVED_STATE}
        if "columns_" in state and "feature_directions_" not in state:
            state = {**state, "feature_directions_": feature_directions(state["columns_"])}
        super().__setstate__({"kinds": None, "restore": False, "restore_unseen": False,
                              "restore_guard": False, "moved_": None, **state})

    def __getstate__(self) -> dict:
        """Pickles (model files) leave the cache out."""
        state = self.__dict__.copy()
        if "base_columns_" in state:
            state["_hashes"] = pd.Index(np.empty(0, dtype=np.uint64))
            state["_store"] = np.empty((0, len(self.base_columns_)), dtype=np.float32)
        return state

    # ----------------------------------------------------------------- transform
    def transform(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """The feature table of `pairs` (float32, columns `columns_`, the pairs' index)."""
        if not hasattr(self, "columns_"):
            raise NotFittedError("PairFeaturizer.transform: call fit(pool_pairs) first")
        self._check(pairs)
        if len(pairs) == 0:
            return pd.DataFrame(np.empty((0, len(self.columns_)), np.float32),
                                columns=self.columns_, index=pairs.index)
        base = self._base(pairs)
        if self.context_:
            base = np.hstack([base, self._margins(pairs, base)])
        return pd.DataFrame(base, columns=self.columns_, index=pairs.index)

    def _base(self, pairs: pd.DataFrame) -> np.ndarray:
        """The features that depend on the pair alone (through the cache)."""
        if not self.cache:
            values = self._compute(pairs).to_numpy(np.float32)
        else:
            hashes = self._pair_hashes(pairs)
            at = self._hashes.get_indexer(hashes)
            new = at < 0
            if new.any():
                todo, first = np.unique(hashes[new], return_index=True)
                rows = np.flatnonzero(new)[first]
                computed = self._compute(pairs.iloc[rows]).to_numpy(np.float32)
                self._store = np.vstack([self._store, computed])
                self._hashes = self._hashes.append(pd.Index(todo))
                at = self._hashes.get_indexer(hashes)
            values = self._store[at]
        return values

    def _pair_hashes(self, pairs: pd.DataFrame) -> np.ndarray:
        return pd.util.hash_pandas_object(pairs[self._value_columns()],
                                          index=False).to_numpy(np.uint64)

    def _record_keys(self, pairs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """A hash of each side's record (its values under the attribute names): a record has
        one key whichever side it sits on, so de-duplication pools group all its pairs."""
        keys = []
        for side in (0, 1):
            records = pairs[[side_columns(a)[side] for a in self.attributes_]]
            records = records.set_axis(self.attributes_, axis=1)
            keys.append(pd.util.hash_pandas_object(records, index=False).to_numpy(np.uint64))
        return keys[0], keys[1]

    def _fit_context(self, pairs: pd.DataFrame, columns: list[str]) -> dict[str, pd.DataFrame]:
        """Per base similarity, per record of the pool: its best candidate's value and pair
        hash, and its second-best value."""
        base = pd.DataFrame(self._base(pairs), columns=self.base_columns_)
        pair_hash = self._pair_hashes(pairs)
        left, right = self._record_keys(pairs)
        tables = {}
        for column in columns:
            value = np.nan_to_num(base[column].to_numpy(np.float64), nan=-np.inf)
            long = pd.DataFrame({"record": np.concatenate([left, right]),
                                 "pair": np.concatenate([pair_hash, pair_hash]),
                                 "value": np.concatenate([value, value])})
            long = long.drop_duplicates(["record", "pair"]).sort_values(
                ["record", "value"], ascending=[True, False], kind="stable")
            first = ~long["record"].duplicated()
            best = long[first].set_index("record")
            rest = long[~first]
            second = rest[~rest["record"].duplicated()].set_index("record")["value"]
            tables[column] = pd.DataFrame({"best": best["value"], "best_pair": best["pair"],
                                           "second": second.reindex(best.index)})
        return tables

    def _margins(self, pairs: pd.DataFrame, base: np.ndarray) -> np.ndarray:
        """Each pair's margin over the best other candidate of its left and right record
        (NaN where the record has none with a value)."""
        pair_hash = self._pair_hashes(pairs)
        out = []
        for column, table in self.context_.items():
            value = base[:, self.base_columns_.index(column)].astype(np.float64)
            for keys in self._record_keys(pairs):
                found = table.reindex(keys)
                itself = found["best_pair"].to_numpy() == pair_hash
                other = np.where(itself, found["second"].to_numpy(np.float64),
                                 found["best"].to_numpy(np.float64))
                other = np.where(np.isinf(other), np.nan, other)
                out.append(value - other)
        return np.column_stack(out).astype(np.float32)

    def fit_transform(self, pairs: pd.DataFrame, y: object = None) -> pd.DataFrame:
        """fit(pairs) then transform(pairs)."""
        return self.fit(pairs).transform(pairs)

    @property
    def cached_pairs(self) -> int:
        """How many distinct pairs the cache holds."""
        return len(self._hashes) if hasattr(self, "_hashes") else 0

    def _value_columns(self) -> list[str]:
        return [c for a in self.attributes_ for c in side_columns(a)]

    def _check(self, pairs: pd.DataFrame) -> None:
        found = attribute_names(pairs, where="PairFeaturizer.transform pairs")
        missing = [a for a in self.attributes_ if a not in found]
        if missing:
            raise ValueError(
                f"PairFeaturizer.transform: the featurizer was fitted on attributes "
                f"{self.attributes_} but these pairs lack {missing} (they have {found}); "
                "rename their columns to left_<attr>/right_<attr> with the fitted names")

    def record_text_pairs(self, pairs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        """Each pair's left and right record as one text (`record_texts`; values cut to
        `max_value_chars`), as categorical Series with one category per distinct record."""
        if not hasattr(self, "columns_"):
            raise NotFittedError("PairFeaturizer.record_text_pairs: call fit(pool_pairs) first")
        self._check(pairs)
        return self._records(self._truncated(pairs))

    def _records(self, pairs: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
        left = [side_columns(a)[0] for a in self.attributes_]
        right = [side_columns(a)[1] for a in self.attributes_]
        numeric = [c for a in self.attributes_ if self.kinds_[a] == "numeric"
                   for c in side_columns(a)]
        if numeric:  # '1,299.00' and 1299.0 read alike: as the number, where there is one
            pairs = pairs.assign(**{c: _as_numbers(pairs[c]) for c in numeric})
        return (_record_series(pairs, left, self.attributes_),
                _record_series(pairs, right, self.attributes_))

    def _truncated(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """`pairs` with every text value cut to `max_value_chars` (a copy only when needed)."""
        out = pairs
        for column in self._value_columns():
            if pairs[column].dtype != object:
                continue
            codes, uniques = pd.factorize(pairs[column])
            lengths = np.fromiter((len(v) if isinstance(v, str) else 0 for v in uniques),
                                  np.int64, count=len(uniques))
            if (lengths > self.max_value_chars).any():
                cut = np.array([v[: self.max_value_chars] if isinstance(v, str) else v
                                for v in uniques], dtype=object)
                out = out.copy() if out is pairs else out
                out[column] = pd.Series(np.append(cut, None)[codes], index=pairs.index,
                                        dtype=object)
        return out

    def _compute(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """All features of `pairs`, every one computed per distinct value."""
        with similarity_cache():
            return self._compute_all(self._restored(self._truncated(pairs.reset_index(drop=True))))

    def _restored(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """`pairs` with moved values put back (`restore`), else as they are."""
        return pairs if self.moved_ is None else self.moved_.restore(pairs)

    def _compute_all(self, pairs: pd.DataFrame) -> pd.DataFrame:
        parts = [similarity_features(pairs, self.attributes_, kinds=self.kinds_, rich=self.rich,
                                     idf=self.idf_)]
        features: dict[str, np.ndarray] = {}
        if self.missing:
            self._missingness(pairs, features)
        if self.record or self.cross:
            left, right = self._records(pairs)
            if self.record:
                self._record_views(pairs, left, right, features)
            if self.cross:
                self._cross(pairs, left, right, features)
        parts.append(pd.DataFrame(features, index=pairs.index).round(9))
        return pd.concat(parts, axis=1)

    def _missingness(self, pairs: pd.DataFrame, features: dict[str, np.ndarray]) -> None:
        filled = []
        for attr in self.attributes_:
            sides = []
            for column in side_columns(attr):
                codes, uniques = pd.factorize(pairs[column], use_na_sentinel=True)
                if pd.api.types.is_numeric_dtype(pairs[column].dtype):
                    blank = np.zeros(len(uniques), bool)  # a number never prints blank
                else:
                    blank = np.fromiter((str(v).strip() == "" for v in uniques), bool,
                                        count=len(uniques))
                sides.append((codes < 0) | np.append(blank, False)[codes])
            features[f"{attr}__n_missing"] = (sides[0].astype(np.float64)
                                              + sides[1].astype(np.float64))
            filled.append([~sides[0], ~sides[1]])
        filled = np.array(filled, dtype=np.float64)  # (attributes, 2, pairs)
        features["record__filled_left"] = filled[:, 0].mean(axis=0)
        features["record__filled_right"] = filled[:, 1].mean(axis=0)

    def _record_views(self, pairs: pd.DataFrame, left: pd.Series, right: pd.Series,
                      features: dict[str, np.ndarray]) -> None:
        words = TokenSets(left, right, idf=self.record_idf_["words"])
        features["record__jaccard"] = words.jaccard()
        features["record__overlap"] = words.overlap()
        features["record__tfidf_cosine"] = words.tfidf_cosine()
        shared, left_mass, right_mass = words.idf_mass()
        features["record__idf_dice"] = 2 * shared / np.maximum(left_mass + right_mass, 1e-12)
        features["record__unshared_idf_left"] = np.maximum(left_mass - shared, 0.0)
        features["record__unshared_idf_right"] = np.maximum(right_mass - shared, 0.0)
        short = [_shortened(side, self.max_record_chars) for side in (left, right)]
        features["record__char3_cosine"] = TokenSets(
            *short, pattern=char_ngrams(3), idf=self.record_idf_["char3"]).tfidf_cosine()
        codes = TokenSets(left, right, _MODEL_TOKEN, keep=_is_model_token,
                          canonical=_canonical_model)
        self._token_counts("codes", codes, features)
        units = TokenSets(left, right, _NUMBER_WORD, keep=_is_quantity,
                          canonical=_canonical_quantity)
        self._token_counts("quantities", units, features)
        numbers = TokenSets(left, right, _NUMBER, canonical=lambda t: f"{float(t):g}")
        self._token_counts("numbers", numbers, features)

    @staticmethod
    def _token_counts(name: str, tokens: TokenSets, features: dict[str, np.ndarray]) -> None:
        """Overlap of a token kind, how many each side has, and how many of them are unshared."""
        inter = tokens.intersection()
        features[f"record__{name}_overlap"] = tokens.overlap()
        features[f"record__{name}_left"] = tokens.left_size
        features[f"record__{name}_right"] = tokens.right_size
        features[f"record__{name}_unshared"] = np.where(
            tokens.missing, np.nan, tokens.left_size + tokens.right_size - 2 * inter)

    def _cross(self, pairs: pd.DataFrame, left: pd.Series, right: pd.Series,
               features: dict[str, np.ndarray]) -> None:
        """Per text attribute: the IDF share of its tokens found anywhere in the other record."""
        idf = self.record_idf_["words"]
        for attr in self.attributes_:
            if self.kinds_[attr] == "numeric":
                continue
            a, b = side_columns(attr)
            shared, mass, _ = TokenSets(pairs[a], right, idf=idf).idf_mass()
            features[f"{attr}__left_in_right_record"] = shared / np.maximum(mass, 1e-12)
            shared, _, mass = TokenSets(left, pairs[b], idf=idf).idf_mass()
            features[f"{attr}__right_in_left_record"] = shared / np.maximum(mass, 1e-12)
