import numpy as np
import pandas as pd
import pytest

from labeling_functions import similarity as S

LEFT = pd.Series(["Apple iPhone 12 Pro", None, "lg lds4821ww dishwasher", "  ", "abc", 2001.0])
RIGHT = pd.Series(["apple iphone 12", "x", "LG LDS-4821WW", "y", "abd", "2001"])
PAIRWISE = [
    S.jaccard, S.overlap, S.tfidf_cosine, S.levenshtein_sim, S.jaro_winkler, S.exact, S.prefix,
    S.char_ngram_cosine, S.partial_ratio,
]


@pytest.mark.parametrize("metric", PAIRWISE)
def test_missing_or_empty_gives_nan_and_values_in_unit_interval(metric):
    out = metric(LEFT, RIGHT)
    assert out.dtype == np.float64 and out.shape == (6,)
    assert np.isnan(out[1]) and np.isnan(out[3])
    ok = out[~np.isnan(out)]
    assert ((ok >= 0) & (ok <= 1)).all()
    # integral float 2001.0 reads as the text "2001": identical on every metric
    assert out[5] == pytest.approx(1.0)


def test_token_metrics_match_hand_computation():
    assert S.jaccard(LEFT, RIGHT)[0] == pytest.approx(3 / 4)
    assert S.overlap(LEFT, RIGHT)[0] == pytest.approx(1.0)
    assert S.jaccard(LEFT, RIGHT)[4] == 0.0
    assert 0 < S.tfidf_cosine(LEFT, RIGHT)[0] < 1


def test_string_metrics_agree_with_rapidfuzz_scalar():
    from rapidfuzz.distance import JaroWinkler, Levenshtein

    assert S.levenshtein_sim(LEFT, RIGHT)[4] == pytest.approx(
        Levenshtein.normalized_similarity("abc", "abd"))
    assert S.jaro_winkler(LEFT, RIGHT)[4] == pytest.approx(
        JaroWinkler.normalized_similarity("abc", "abd"))


def test_character_and_partial_metrics_see_what_word_tokens_miss():
    a = pd.Series(["photoshop cs3", "photoshop", "office 2007 pro"])
    b = pd.Series(["photoshopcs3 upgrade", "adobe photoshop cs3 mac", "word 2003"])
    char = S.char_ngram_cosine(a, b)
    assert S.tfidf_cosine(a, b)[0] == 0.0 and char[0] > 0.3 > char[2]
    assert S.partial_ratio(a, b)[1] == 1.0 and S.partial_ratio(a, b)[2] < 0.6
    with pytest.raises(ValueError, match="n must be >= 1"):
        S.char_ngram_cosine(a, b, n=0)


@pytest.mark.parametrize("gram", [True, False])
def test_idf_mass_splits_each_side_into_shared_and_unshared_tokens(monkeypatch, gram):
    if not gram:  # the per-pair path that large pools take
        monkeypatch.setattr(S, "_MAX_GRAM_CELLS", 0)
    tokens = S.TokenSets(pd.Series(["a b c", "a", None]), pd.Series(["a d", "b a", "a"]))
    idf = dict(zip(tokens.terms, tokens.idf, strict=True))
    shared, left, right = tokens.idf_mass()
    np.testing.assert_allclose(shared[:2], [idf["a"], idf["a"]])
    np.testing.assert_allclose(left[:2], [idf["a"] + idf["b"] + idf["c"], idf["a"]])
    np.testing.assert_allclose(right[:2], [idf["a"] + idf["d"], idf["a"] + idf["b"]])
    assert np.isnan([shared[2], left[2], right[2]]).all()


def test_rich_features_add_columns_per_text_attribute():
    pairs = pd.DataFrame({"left_title": ["photoshop cs3", "office pro"],
                          "right_title": ["photoshop cs4", None],
                          "left_price": [10.0, 5.0], "right_price": [12.0, 5.0]})
    basic = S.similarity_features(pairs)
    rich = S.similarity_features(pairs, rich=True)
    added = set(rich.columns) - set(basic.columns)
    assert added == {f"title__{m}" for m in ("char3_cosine", "idf_dice", "unshared_idf_left",
                                             "unshared_idf_right", "partial_ratio")}
    pd.testing.assert_frame_equal(rich[basic.columns], basic)
    assert rich.loc[0, "title__unshared_idf_left"] > 0 and rich.loc[1, list(added)].isna().all()


def test_fitted_idf_makes_a_pairs_features_independent_of_its_batch():
    pairs = pd.DataFrame({
        "left_title": ["adobe photoshop cs3", "office 2007 pro", "norton antivirus", "acrobat"],
        "right_title": ["photoshop cs3 mac", "office 2007", "norton antivirus 2008", "acrobat 8"],
    })
    kinds = S.attribute_kinds(pairs)
    idf = S.fit_idf(pairs, kinds=kinds)
    assert set(idf) == {"title", "title__char3"} and "terms" in repr(idf["title"])
    full = S.similarity_features(pairs, kinds=kinds, rich=True, idf=idf)
    alone = S.similarity_features(pairs.iloc[:1], kinds=kinds, rich=True, idf=idf)
    pd.testing.assert_frame_equal(alone, full.iloc[:1])
    unfitted = S.similarity_features(pairs.iloc[:1], kinds=kinds, rich=True)
    column = "title__unshared_idf_right"
    assert not np.allclose(unfitted[column], full[column][:1])
    empty = pairs.assign(left_title=None, right_title=None)
    nothing = S.similarity_features(empty, kinds=kinds, rich=True, idf=idf)
    assert nothing.isna().all().all()  # a batch without a single token scores as missing
    # a token the table never saw weighs as the rarest
    table = idf["title"]
    unseen, seen = table.lookup(np.array(["zzz", "adobe"], dtype=object))
    assert unseen == table.unseen > table.idf.max() >= seen


def test_relative_difference_reads_numbers_out_of_text():
    a = pd.Series(["$ 1.29", "5.60 %", None, "0", "1,299.00"])
    b = pd.Series(["$ 1.29", "2.80 %", "3", "0", "1299"])
    out = S.relative_difference(a, b)
    np.testing.assert_allclose(out, [0.0, 0.5, np.nan, 0.0, 0.0])


def test_years_numbers_and_model_numbers():
    s = pd.Series(["vldb 1998 proceedings", None, "42 and 7.5", "lg lds-4821ww white"])
    assert np.isnan(S.extract_year(s)[1]) and S.extract_year(s)[0] == 1998
    assert S.model_numbers(s).tolist()[3] == frozenset({"lds4821ww"})
    out = S.model_number_overlap(s, pd.Series(["a", "b", "c", "LDS4821WW dishwasher"]))
    assert out[3] == 1.0 and np.isnan(out[:3]).all()
    np.testing.assert_allclose(
        S.year_difference(pd.Series([2001, 1999]), pd.Series(["in 2003", "none"])), [2, np.nan])


def test_lengths_must_agree():
    with pytest.raises(ValueError, match="same length"):
        S.jaccard(pd.Series(["a"]), pd.Series(["a", "b"]))


def test_similarity_features_picks_metrics_by_content():
    pairs = pd.DataFrame({
        "left_title": ["sony tv kdl40", "apple ipod nano", None],
        "right_title": ["sony kdl40 television", "ipod nano 8gb", "x"],
        "left_price": [100.0, None, 20.0],
        "right_price": ["$ 100", "5", "$ 10"],
        "left_description": ["a long description " * 10, "b", "c"],
        "right_description": ["another long description " * 10, "b", None],
        "label": [1, 1, 0],
    }, index=[10, 11, 12])
    f = S.similarity_features(pairs)
    assert list(f.index) == [10, 11, 12]
    assert {"title__jaccard", "title__jaro_winkler", "price__reldiff",
            "description__tfidf_cosine"} <= set(f.columns)
    assert "price__jaccard" not in f.columns and "description__levenshtein" not in f.columns
    assert np.isnan(f.loc[12, "title__jaccard"]) and np.isnan(f.loc[11, "price__reldiff"])
    assert f.loc[10, "price__exact"] == 1.0
    assert S.similarity_features(pairs, ["title"]).columns.str.startswith("title__").all()
    with pytest.raises(ValueError, match="unknown attributes"):
        S.similarity_features(pairs, ["nope"])


def test_tfidf_cosine_equals_sklearn_on_distinct_texts():
    from sklearn.feature_extraction.text import TfidfVectorizer

    a = pd.Series(["the cat sat on the mat", "dogs bark", "a b c"])
    b = pd.Series(["the cat sat", "cats meow loudly", "c b a d"])
    vec = TfidfVectorizer(token_pattern=r"(?u)\w+").fit(pd.concat([a, b]))
    expected = (vec.transform(a).multiply(vec.transform(b))).sum(axis=1).A1
    np.testing.assert_allclose(S.tfidf_cosine(a, b), expected, rtol=1e-9)


def test_score_cutoff_keeps_scores_at_the_threshold():
    a = pd.Series(["parameterized complexity for the database theorist", "abc"])
    b = pd.Series(["persistent threads", "xyz"])
    full = S.jaro_winkler(a, b)
    cut = S.jaro_winkler(a, b, score_cutoff=full[0])
    assert cut[0] == full[0] and cut[1] == 0.0
    assert S.levenshtein_sim(a, b, score_cutoff=0.99)[0] == 0.0


def test_fixed_kinds_give_the_same_columns_on_another_table():
    train = pd.DataFrame({"left_a": ["1", "2"], "right_a": ["1", "3"]})
    other = pd.DataFrame({"left_a": ["one two", "x"], "right_a": ["one", "y"]})
    kinds = S.attribute_kinds(train)
    assert kinds == {"a": "numeric"}
    assert list(S.similarity_features(other, kinds=kinds).columns) == ["a__reldiff", "a__exact"]
    assert "a__jaccard" in S.similarity_features(other).columns
    with pytest.raises(ValueError, match="kinds"):
        S.similarity_features(other, kinds={"a": "text"})


@pytest.mark.parametrize("metric", [S.levenshtein_sim, S.jaro_winkler])
def test_cutoff_scores_equal_full_scores_above_the_cutoff(metric):
    rng = np.random.default_rng(1)
    words = ["ab", "abc", "abcd", "abd", "bcd", "xyz", "abcde", "a"]
    a = pd.Series([" ".join(rng.choice(words, rng.integers(1, 4))) for _ in range(300)])
    b = pd.Series([" ".join(rng.choice(words, rng.integers(1, 4))) for _ in range(300)])
    full = metric(a, b)
    for cutoff in (0.5, 0.8, 1.0):
        cut = metric(a, b, score_cutoff=cutoff)
        above = full >= cutoff
        np.testing.assert_allclose(cut[above], full[above])
        assert (cut[~above] < cutoff).all()
    assert metric(pd.Series(["a"]), pd.Series(["abcdefgh"]), score_cutoff=0.9)[0] == 0.0


def test_token_overlaps_agree_between_gram_and_gather_paths(monkeypatch):
    rng = np.random.default_rng(2)
    words = np.array(["ab", "cd", "ef", "gh", "ij", "kl"])
    a = pd.Series([" ".join(rng.choice(words, rng.integers(1, 5))) for _ in range(200)])
    b = pd.Series([" ".join(rng.choice(words, rng.integers(1, 5))) for _ in range(200)])
    a[3] = None
    gram = S.jaccard(a, b), S.tfidf_cosine(a, b)
    monkeypatch.setattr(S, "_GRAM_CELLS_PER_PAIR", 0)
    gather = S.jaccard(a, b), S.tfidf_cosine(a, b)
    for x, y in zip(gram, gather, strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)
    assert np.isnan(gram[0][3])


def _naive_char_ngram_cosine(a: pd.Series, b: pd.Series, n: int) -> np.ndarray:
    """TF-IDF cosine of regex-found character n-grams, one pair at a time (the reference)."""
    import re
    from collections import Counter

    grams = {v: Counter(re.findall(S.char_ngrams(n), v.lower()))
             for v in pd.concat([a, b]).dropna().unique()}
    docs = [grams[v] for v in pd.concat([a.drop_duplicates(), b.drop_duplicates()]).dropna()]
    df = Counter(t for d in docs for t in d)
    n_docs = sum(bool(d) for d in docs)
    idf = {t: np.log((1 + n_docs) / (1 + c)) + 1 for t, c in df.items()}
    out = []
    for x, y in zip(a, b, strict=True):
        gx, gy = grams.get(x, Counter()), grams.get(y, Counter())
        if not gx or not gy:
            out.append(np.nan)
            continue

        def norm(g):
            return np.sqrt(sum((c * idf[t]) ** 2 for t, c in g.items()))
        dot = sum(gx[t] * gy[t] * idf[t] ** 2 for t in gx.keys() & gy.keys())
        out.append(min(dot / (norm(gx) * norm(gy)), 1.0))
    return np.array(out)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_character_ngrams_equal_the_regex_tokens(n):
    # newlines ('.' skips them), case changes that alter the length, other scripts, a
    # combining mark, texts shorter than n, empty and missing values, repeats on both sides
    a = pd.Series(["Caf\u00e9 Rouge", "ab\ncd\nef", "\u0130stanbul kebab",
                   "\u6771\u4eac\u30bf\u30ef\u30fc", "x", "", None, "bad \u0301 text", "aaaa aaaa",
                   "Caf\u00e9 Rouge"])
    b = pd.Series(["cafe rouge", "abcdef", "istanbul kebap", "\u6771\u4eac \u30bf\u30ef\u30fc",
                   "xy", "zz", "q", "bad text", "aaa", "ab\ncd\nef"])
    np.testing.assert_allclose(S.char_ngram_cosine(a, b, n=n), _naive_char_ngram_cosine(a, b, n),
                               rtol=1e-12, equal_nan=True)
    tokens = S.TokenSets(a, b, pattern=S.char_ngrams(n))
    import re
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for size, v in ((tokens.left_size[i], x), (tokens.right_size[i], y)):
            assert size == len(set(re.findall(S.char_ngrams(n), v.lower() if v else "")))


def test_columns_tokenized_once_give_the_same_features_as_no_sharing(monkeypatch):
    from contextlib import nullcontext

    from labeling_functions import featurizer as F

    rng = np.random.default_rng(0)
    words = ["pizza", "the", "caf\u00e9", "12", "main st", "b-52", "2.4ghz", "15\"", "&", "ab\ncd"]

    def column(n):
        return pd.Series([" ".join(rng.choice(words, rng.integers(0, 5))) or None
                          for _ in range(n)], dtype=object)
    pairs = pd.DataFrame({"left_name": column(300), "right_name": column(300),
                          "left_street": column(300), "right_street": column(300),
                          "left_price": rng.integers(0, 5, 300).astype(float),
                          "right_price": rng.integers(0, 5, 300).astype(object)})
    shared = F.PairFeaturizer(cache=False).fit(pairs)
    expected = shared.transform(pairs)
    # without a similarity_cache block every TokenSets tokenizes its own columns afresh
    monkeypatch.setattr(F, "similarity_cache", nullcontext)
    monkeypatch.setattr(S, "similarity_cache", nullcontext)
    alone = F.PairFeaturizer(cache=False).fit(pairs)
    pd.testing.assert_frame_equal(alone.transform(pairs), expected, check_exact=True)


def test_gathered_overlaps_are_the_same_in_slices_of_pairs(monkeypatch):
    rng = np.random.default_rng(3)
    words = np.array(["ab", "cd", "ef", "gh", "ij", "kl", "mn"])
    a = pd.Series([" ".join(rng.choice(words, rng.integers(0, 5))) for _ in range(300)])
    b = pd.Series([" ".join(rng.choice(words, rng.integers(0, 5))) for _ in range(300)])
    monkeypatch.setattr(S, "_GRAM_CELLS_PER_PAIR", 0)  # the gather path

    def metrics():
        tokens = S.TokenSets(a, b)
        return [tokens.jaccard(), tokens.tfidf_cosine(), *tokens.idf_mass()]

    whole = metrics()
    monkeypatch.setattr(S, "_PAIR_SLICE", 7)
    for x, y in zip(metrics(), whole, strict=True):
        np.testing.assert_array_equal(x, y)


def test_model_tokens_need_a_letter_and_a_digit():
    from labeling_functions.similarity import _is_model_token

    assert [_is_model_token(t) for t in ("19650312", "2577", "lds4821ww", "mb13-pnk", "x1",
                                         "a-1", "word", "12-34", "4k")] == [
        False, False, True, True, False, False, False, False, False]
