"""MovedValues: values that moved into a record's title, found and put back in their attribute.

In 'dirty' tables (DeepMatcher's dirty variants, scraped catalogues) a record's artist, brewery
or price often sits inside its title while its own attribute is empty. Where the same value
stands in place in another record of the pool, the title's run of tokens that spells it is cut
out and becomes the empty attribute's value, so the per-attribute similarities compare like
with like again and the title keeps the words that tell versions apart ('Karaoke Version').
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pandas as pd

from blocking.pairs import side_columns

__all__ = ["MovedValues"]


def _tokens(value: object) -> tuple[str, ...]:
    return tuple(str(value).lower().split())


_DIGITS, _LETTERS = re.compile(r"\d+"), re.compile(r"[^\W\d_]+")


def _shape(tokens: tuple[str, ...]) -> tuple[str, ...]:
    """Each token with its digit runs as '0' and letter runs as 'a' ('11.50' -> '0.0')."""
    return tuple(_LETTERS.sub("a", _DIGITS.sub("0", t)) for t in tokens)


def _blank(values: np.ndarray) -> np.ndarray:
    """True where a value is missing or only whitespace."""
    return np.fromiter((not v.strip() if isinstance(v, str) else bool(pd.isna(v))
                        for v in values), bool, count=len(values))


class MovedValues:
    """The values each attribute but the title (the first) holds in place in a pool of pairs,
    indexed by their first token; `restore` puts them back where a title carries them.

    A value counts when its text has at least `min_chars` characters and at most `max_tokens`
    tokens. Matching is on lower-cased, whitespace-split tokens; the longest value found wins,
    and the title's first token always stays.

    `guard` leaves out of the index the values that read as title words: found (never as the
    title's first token) in the titles of more records holding another value of the attribute in
    place than there are records holding the value itself ('black' as a product description).

    `suffixes` also puts back values no record holds in place (a brewery named once): after
    the values found, each attribute still empty, last attribute first, takes the title's
    trailing run of tokens that reads like its values (`_by_odds`). It applies to short
    attributes only (values of at most `max_suffix_tokens` tokens at the median), where a
    token's log-odds of standing in the attribute rather than in a title are learnt from the
    records holding it in place.
    """

    def __init__(self, pairs: pd.DataFrame, attributes: list[str], min_chars: int = 2,
                 max_tokens: int = 40, shapes: bool = True, suffixes: bool = False,
                 min_odds: float = 2.0, max_suffix_tokens: int = 8, guard: bool = False
                 ) -> None:
        self.title, self.others = attributes[0], list(attributes[1:])
        self.index: dict[str, dict[str, list[tuple[tuple[str, ...], object]]]] = {}
        self.shapes: dict[str, list[tuple[str, ...]]] = {}
        self.odds: dict[str, tuple[dict[str, float], int]] = {}
        self.min_odds = min_odds
        for attr in self.others:
            values = pd.unique(pd.concat([pairs[c] for c in side_columns(attr)]).dropna())
            lengths = [len(_tokens(v)) for v in values[~_blank(values)]]
            if suffixes and lengths and np.median(lengths) <= max_suffix_tokens:
                self.odds[attr] = self._token_odds(pairs, attr, values[~_blank(values)])
            by_first: dict[str, dict[tuple[str, ...], object]] = {}
            for value in values[~_blank(values)]:
                tokens = _tokens(value)
                if len(str(value).strip()) >= min_chars and len(tokens) <= max_tokens:
                    by_first.setdefault(tokens[0], {}).setdefault(tokens, value)
            self.index[attr] = {first: sorted(found.items(), key=lambda kv: -len(kv[0]))
                                for first, found in by_first.items()}
            if guard:
                self.index[attr] = self._without_title_words(pairs, attr, self.index[attr])
            # the shapes of its values made of digits and signs only ('5.20 %', '3:39')
            found_shapes = {_shape(t) for same in by_first.values() for t in same}
            self.shapes[attr] = sorted(
                (s for s in found_shapes if shapes and "a" not in "".join(s)
                 and "0" in "".join(s)), key=len, reverse=True)

    def _held(self, pairs: pd.DataFrame, attr: str) -> np.ndarray:
        """The distinct (title, value) of the records, either side, holding `attr` in place."""
        held = []
        for side in (0, 1):
            columns = [side_columns(self.title)[side], side_columns(attr)[side]]
            records = pairs[columns].to_numpy(dtype=object)
            held.append(records[~_blank(records[:, 0]) & ~_blank(records[:, 1])])
        return pd.DataFrame(np.concatenate(held)).drop_duplicates().to_numpy(dtype=object)

    def _without_title_words(self, pairs: pd.DataFrame, attr: str,
                             index: dict[str, list[tuple[tuple[str, ...], object]]]
                             ) -> dict[str, list[tuple[tuple[str, ...], object]]]:
        """`index` less the values of `attr` that read as title words (the class docstring)."""
        held = self._held(pairs, attr)
        holders = Counter(_tokens(v) for v in held[:, 1])
        inside: Counter[tuple[str, ...]] = Counter()
        for title, value in held:
            words, own, seen = _tokens(title), _tokens(value), set()
            for start in range(1, len(words)):
                for tokens, _ in index.get(words[start], ()):
                    if tokens != own and words[start:start + len(tokens)] == tokens:
                        seen.add(tokens)
            inside.update(seen)
        kept = {first: [(t, v) for t, v in found if inside[t] <= holders[t]]
                for first, found in index.items()}
        return {first: found for first, found in kept.items() if found}

    def _token_odds(self, pairs: pd.DataFrame, attr: str, values: np.ndarray
                    ) -> tuple[dict[str, float], int]:
        """(log-odds per token of standing in `attr`'s values rather than in the titles of the
        records that hold `attr` in place, the most tokens of a value). A title's tokens that
        its own record's value also holds (a brand leading the title) are not counted."""
        titles = self._held(pairs, attr)
        in_values = pd.Series([t for v in values for t in set(_tokens(v))]).value_counts()
        in_titles = pd.Series([t for title, value in titles
                               for t in set(_tokens(title)) - set(_tokens(value))]).value_counts()
        both = pd.concat([in_values, in_titles], axis=1).fillna(0.0).to_numpy(np.float64)
        odds = (np.log((both[:, 0] + 0.5) / (len(values) + 1.0))
                - np.log((both[:, 1] + 0.5) / (len(titles) + 1.0)))
        longest = max((len(_tokens(v)) for v in values), default=0)
        tokens = pd.concat([in_values, in_titles], axis=1).index
        return dict(zip(tokens, odds, strict=True)), longest

    def restore(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """`pairs` with moved values put back (a copy where anything moved), per distinct
        record of each side."""
        out = pairs
        for side in (0, 1):
            columns = [side_columns(a)[side] for a in [self.title, *self.others]]
            _, first, codes = np.unique(
                pd.util.hash_pandas_object(pairs[columns], index=False).to_numpy(np.uint64),
                return_index=True, return_inverse=True)
            records = pairs[columns].iloc[first].to_numpy(dtype=object, copy=True)  # edited
            empty = _blank(records[:, 1:].ravel()).reshape(len(records), -1)
            changed = np.zeros(len(records), dtype=bool)
            for r in np.flatnonzero(empty.any(axis=1) & ~_blank(records[:, 0])):
                changed[r] = self._restore_record(records[r], empty[r])
            if changed.any():
                out = out.copy() if out is pairs else out
                for j, column in enumerate(columns):
                    values = pairs[column].to_numpy(dtype=object).copy()
                    rows = changed[codes]
                    values[rows] = records[codes[rows], j]
                    out[column] = pd.Series(values, index=pairs.index).infer_objects()
        return out

    def _restore_record(self, record: np.ndarray, empty: np.ndarray) -> bool:
        """Put moved values back into one record (title first, in place); whether any moved."""
        title = list(_tokens(record[0]))
        moved = False
        for j in np.flatnonzero(empty):
            index = self.index[self.others[j]]
            best: tuple[int, int, object] | None = None  # (length, start, value)
            for start in range(1, len(title)):
                for tokens, value in index.get(title[start], ()):
                    n = len(tokens)
                    if best is not None and n <= best[0]:
                        break  # sorted longest first
                    if tuple(title[start:start + n]) == tokens:
                        best = (n, start, value)
                        break
            if best is None:
                best = self._by_shape(title, self.shapes[self.others[j]])
            if best is not None:
                n, start, value = best
                record[j + 1] = value
                del title[start:start + n]
                moved = True
        for j in np.flatnonzero(empty)[::-1]:  # appended in attribute order: the last first
            if self.others[j] in self.odds and _blank(record[j + 1:j + 2])[0]:
                run = self._by_odds(title, *self.odds[self.others[j]])
                if run:
                    record[j + 1] = " ".join(title[-run:])
                    del title[-run:]
                    moved = True
        if moved:
            record[0] = " ".join(title)
        return moved

    def _by_odds(self, title: list[str], odds: dict[str, float], longest: int) -> int:
        """How many trailing title tokens (never the first, at most `longest`) read like an
        attribute's values: the trailing run with the highest summed log-odds, if it reaches
        `min_odds` (the longest such run on ties) and holds no token whose log-odds are
        -`min_odds` or less; 0 where none does."""
        scores = np.array([odds.get(t, 0.0) for t in title[:0:-1][:longest]])
        title_like = np.flatnonzero(scores <= -self.min_odds)
        if len(title_like):  # the run never crosses a token that reads like a title's
            scores = scores[:title_like[0]]
        if not len(scores):
            return 0
        total = np.cumsum(scores)
        best = len(total) - 1 - int(np.argmax(total[::-1]))
        return best + 1 if total[best] >= self.min_odds else 0

    @staticmethod
    def _by_shape(title: list[str], shapes: list[tuple[str, ...]]
                  ) -> tuple[int, int, object] | None:
        """(length, start, text) of the last run of title tokens (not the first) shaped like
        one of `shapes` (longest shapes first): an unseen number of a numeric attribute."""
        shaped = _shape(tuple(title))
        for shape in shapes:
            n = len(shape)
            for start in range(len(title) - n, 0, -1):
                if shaped[start:start + n] == shape:
                    return n, start, " ".join(title[start:start + n])
        return None
