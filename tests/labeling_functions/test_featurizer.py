"""PairFeaturizer: record-level views, batch independence, the cache, and bad input."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from labeling_functions.featurizer import PairFeaturizer, record_texts


def pool() -> pd.DataFrame:
    return pd.DataFrame({
        "ltable_id": [1, 2, 3, 4, 5, 6],
        "rtable_id": [10, 20, 30, 40, 50, 60],
        "left_title": ["sony bravia kdl40 tv", "apple ipod nano 8gb", "canon eos 400d",
                       "lg dishwasher lds4821ww", "hp laserjet p1005", "acer aspire one"],
        "left_brand": ["sony", None, "canon", "lg", "hp", "acer"],
        "left_price": [499.0, 149.0, 599.0, None, 99.0, 299.0],
        "right_title": ["bravia kdl40 40in lcd", "ipod nano 8 gb apple", "canon eos 450d kit",
                        "lg lds-4821ww dishwasher", "hp laserjet p1006", "aspire one netbook"],
        "right_brand": ["sony", "apple", "canon", "lg", None, "acer"],
        "right_price": ["499.00", "$149", "649", "410", "99", None],
    })


def test_features_do_not_depend_on_the_batch():
    pairs = pool()
    f = PairFeaturizer(cache=False).fit(pairs)
    full = f.transform(pairs)
    assert list(full.columns) == f.columns_ and full.dtypes.eq(np.float32).all()
    for rows in ([0], [3, 1], [5, 2, 4]):
        alone = f.transform(pairs.iloc[rows])
        pd.testing.assert_frame_equal(alone, full.iloc[rows])


def test_cache_serves_seen_pairs_and_keys_on_their_values():
    pairs = pool()
    f = PairFeaturizer().fit(pairs)
    first = f.transform(pairs)
    assert f.cached_pairs == len(pairs)
    again = f.transform(pairs.iloc[::-1])
    assert f.cached_pairs == len(pairs)
    pd.testing.assert_frame_equal(again, first.iloc[::-1])
    # the same ids with other values (e.g. a dirty variant) are new pairs, not stale hits
    changed = pairs.iloc[:1].assign(right_title="something else entirely")
    assert f.transform(changed)["title__jaccard"].iloc[0] == 0.0
    assert f.cached_pairs == len(pairs) + 1
    uncached = PairFeaturizer(cache=False).fit(pairs).transform(pairs)
    pd.testing.assert_frame_equal(uncached, first)
    assert pickle.loads(pickle.dumps(f)).cached_pairs == 0  # model files leave the cache out


def test_record_views_survive_a_misplaced_value():
    pairs = pd.DataFrame({
        "left_title": ["sony bravia kdl40", "sony bravia kdl40"],
        "left_brand": ["sony", "sony"],
        "right_title": ["bravia kdl40 sony", "samsung ue40 panel"],
        "right_brand": [None, None],
    })
    X = PairFeaturizer().fit(pairs).transform(pairs)
    assert np.isnan(X["brand__jaccard"]).all()  # the per-attribute view sees nothing
    assert X["brand__left_in_right_record"].tolist() == [1.0, 0.0]
    assert X["record__tfidf_cosine"][0] > 0.8 > X["record__tfidf_cosine"][1]
    assert X["brand__n_missing"].tolist() == [1.0, 1.0]
    assert X["record__filled_right"].tolist() == [0.5, 0.5]


def test_codes_and_quantities_are_found_in_any_attribute():
    pairs = pd.DataFrame({
        "left_title": ["dishwasher LDS-4821WW 24 inches", "dishwasher LDS4821WW 500 GB"],
        "left_notes": [None, None],
        "right_title": ["lg dishwasher", "lg dishwasher"],
        "right_notes": ['model lds4821ww, 24"', "model lds4822ww 500 gb"],
    })
    X = PairFeaturizer().fit(pairs).transform(pairs)
    assert X["record__codes_overlap"].tolist() == [1.0, 0.0]
    assert X["record__codes_unshared"].tolist() == [0.0, 2.0]
    assert X["record__quantities_overlap"].tolist() == [1.0, 1.0]


def test_record_text_keeps_attribute_names_and_skips_empty_values():
    records = pd.DataFrame({"a": ["x y", None, ""], "b_c": [3.0, "z", None]})
    assert list(record_texts(records, ["a", "b_c"])) == ["a x y b c 3", "b c z", ""]


def test_bad_input_is_handled_or_named():
    pairs = pool()
    with pytest.raises(ValueError, match="left_brand"):
        PairFeaturizer().fit(pairs.drop(columns=["right_brand"]))
    f = PairFeaturizer().fit(pairs)
    with pytest.raises(ValueError, match="brand"):
        f.transform(pairs.drop(columns=["left_brand", "right_brand"]))
    with pytest.raises(NotFittedError, match="fit"):
        PairFeaturizer().transform(pairs)
    with pytest.raises(ValueError, match="max_record_chars"):
        PairFeaturizer(max_record_chars=0).fit(pairs)
    with pytest.raises(ValueError, match="nope"):
        PairFeaturizer(attributes=["nope"]).fit(pairs)


def test_empty_records_huge_values_scripts_and_numbers_as_text():
    huge = "widget " * 150_000  # about 1 MB
    pairs = pd.DataFrame({
        "left_title": [None, huge, "Смартфон Самсунг Галакси", "東京タワー 模型", "a", "b"],
        "left_price": [None, "12", "1,299.00", "10", "5", "7"],
        "right_title": ["", "gadget " + huge, "смартфон самсунг галакси", "東京タワー 模型", "b",
                        "c"],
        "right_price": [None, 12.0, 1299.0, "10", "five", "7 usd"],
    })
    f = PairFeaturizer().fit(pairs)
    X = f.transform(pairs)
    assert f.kinds_["price"] == "numeric"
    assert np.isnan(X.loc[0, "record__jaccard"]) and X.loc[0, "price__n_missing"] == 2
    # title widget price 12 | title gadget widget price 12 w (cut at max_value_chars mid-word)
    assert X.loc[1, "record__jaccard"] == pytest.approx(5 / 6)
    assert X.loc[1, "price__reldiff"] == 0.0 and X.loc[2, "price__reldiff"] == 0.0
    for row in (2, 3):
        assert X.loc[row, "record__tfidf_cosine"] == pytest.approx(1.0, abs=1e-6)
        assert X.loc[row, "title__jaccard"] == 1.0
    assert np.isnan(X.loc[4, "price__reldiff"])  # a number written in words has no number
    assert X.loc[5, "price__reldiff"] == 0.0


def test_clone_gives_an_unfitted_copy_with_the_same_parameters():
    f = PairFeaturizer(record=False, max_record_chars=50).fit(pool())
    copy = clone(f)
    assert copy.get_params() == f.get_params() and not hasattr(copy, "columns_")
    assert not any(c.startswith("record__") and "filled" not in c for c in f.columns_)


def test_context_margins_rank_a_pair_against_its_records_other_candidates():
    # left record "sony bravia kdl40" has three candidates: its true match leads the others
    base = pool()
    sony = base.iloc[[0, 0, 0]].reset_index(drop=True)
    sony["right_title"] = ["bravia kdl40 40in lcd", "samsung ue40 panel", "lg 42lh lcd tv"]
    sony["right_brand"] = ["sony", "samsung", "lg"]
    pairs = pd.concat([sony, base.iloc[1:]], ignore_index=True)
    f = PairFeaturizer().fit(pairs)
    X = f.transform(pairs)
    margin = X["record__tfidf_cosine__left_margin"]
    cosine = X["record__tfidf_cosine"]
    assert margin[0] > 0 and margin[1] < 0 and margin[2] < 0
    assert margin[0] == pytest.approx(cosine[0] - max(cosine[1], cosine[2]), abs=1e-6)
    assert margin[1] == pytest.approx(cosine[1] - cosine[0], abs=1e-6)
    assert np.isnan(X["record__tfidf_cosine__left_margin"][3])  # no other candidate
    # a pair outside the pool is measured against the pool's best candidate of its record
    new = sony.iloc[[1]].assign(right_title="sony bravia kdl40 40in lcd tv")
    outside = f.transform(new)
    expected = outside["record__tfidf_cosine"].iloc[0] - cosine[0]
    assert outside["record__tfidf_cosine__left_margin"].iloc[0] == pytest.approx(expected, abs=1e-6)
    # the margins come from the fitted pool, not from the batch, and survive pickling
    pd.testing.assert_frame_equal(f.transform(pairs.iloc[[2, 0]]), X.iloc[[2, 0]])
    loaded = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(loaded.transform(pairs), X)
    assert not any("margin" in c for c in PairFeaturizer(context=False).fit(pairs).columns_)


def test_quantity_tokens_equal_those_of_the_units_regex():
    import re

    from labeling_functions.featurizer import _NUMBER_WORD, _UNITS, _is_quantity

    units = re.compile(rf"\d+(?:\.\d+)?\s?(?:(?:{_UNITS})\b|\")")  # the plain definition
    words = re.compile(_NUMBER_WORD)
    rng = np.random.default_rng(0)
    alphabet = list('0123456789.. "\nabcgikmhlpstvwxz_\u00e9')
    texts = ["".join(rng.choice(alphabet, rng.integers(0, 30))) for _ in range(20_000)]
    texts += ['hp 15" 2.4ghz 500 gb, 8gb ram 12 watts 3 volt 1.5 mbps 2.5.3gb 5 gb_x 7 inches']
    for text in texts:
        assert units.findall(text) == [t for t in words.findall(text) if _is_quantity(t)], text


def test_kinds_compares_digit_codes_as_text():
    pairs = pd.DataFrame({
        "left_name": ["ann lee", "bob ray", "cy dee"], "right_name": ["ann lee", "bob ray", "al x"],
        "left_phone": [5551234, 5559876, 5550001], "right_phone": [5551243, 6559876, 5550001],
    })
    inferred = PairFeaturizer(context=False).fit(pairs)
    assert inferred.kinds_["phone"] == "numeric"
    as_text = PairFeaturizer(context=False, kinds={"phone": "short"}).fit(pairs)
    assert as_text.kinds_ == {"name": inferred.kinds_["name"], "phone": "short"}
    X = as_text.transform(pairs)
    assert "phone__levenshtein" in X.columns and "phone__reldiff" not in X.columns
    # two swapped digits are a near match as text, whatever their place in the number
    assert X["phone__jaro_winkler"].iloc[0] > 0.9 and X["phone__exact"].iloc[2] == 1
    assert clone(as_text).get_params()["kinds"] == {"phone": "short"}


@pytest.mark.parametrize("kinds, message", [
    ({"email": "short"}, "not featurized"),
    ({"phone": "digits"}, "not among"),
    ("short", "must be a dict"),
])
def test_kinds_refuses_unknown_attributes_and_kinds(kinds, message):
    pairs = pd.DataFrame({"left_phone": ["1", "2"], "right_phone": ["1", "3"]})
    with pytest.raises((ValueError, TypeError), match=message):
        PairFeaturizer(kinds=kinds).fit(pairs)


def test_a_featurizer_pickled_before_kinds_existed_loads():
    old = PairFeaturizer(context=False).fit(pool())
    del old.kinds  # as in model files written before the parameter existed
    loaded = pickle.loads(pickle.dumps(old))
    assert loaded.get_params()["kinds"] is None
    np.testing.assert_array_equal(loaded.transform(pool()).to_numpy(),
                                  old.transform(pool()).to_numpy())


def test_feature_directions_mark_similarities_differences_and_the_rest():
    f = PairFeaturizer().fit(pool())
    directions = dict(zip(f.columns_, f.feature_directions_, strict=True))
    assert len(f.feature_directions_) == len(f.columns_)
    for column in ("title__jaccard", "title__levenshtein", "brand__jaro_winkler",
                   "price__exact", "record__idf_dice", "record__codes_overlap",
                   "title__left_in_right_record", "record__tfidf_cosine__left_margin"):
        assert directions[column] == 1, column
    for column in ("price__reldiff", "title__unshared_idf_left", "record__codes_unshared",
                   "record__numbers_unshared"):
        assert directions[column] == -1, column
    # every column without a direction is a count, a missing flag or a fill rate: a new
    # feature must be given its direction (or added here, knowingly)
    neutral = {c for c, d in directions.items() if d == 0}
    assert neutral == {"title__n_missing", "brand__n_missing", "price__n_missing",
                       "record__filled_left", "record__filled_right", "record__codes_left",
                       "record__codes_right", "record__quantities_left",
                       "record__quantities_right", "record__numbers_left",
                       "record__numbers_right"}


def test_similarity_directions_agree_with_the_labels_on_average():
    pairs = pool()
    f = PairFeaturizer(context=False).fit(pairs)
    X = f.transform(pairs)
    shuffled = pairs.assign(**{c: pairs[c].to_numpy()[[1, 2, 3, 4, 5, 0]]
                               for c in pairs.columns if c.startswith("right_")})
    Z = f.transform(shuffled)  # non-matches: the same records, other partners
    for column, d in zip(f.columns_, f.feature_directions_, strict=True):
        if d and X[column].notna().sum() >= 3 and Z[column].notna().sum() >= 3:
            assert d * (X[column].mean() - Z[column].mean()) >= 0, column


def test_a_featurizer_pickled_before_directions_existed_loads():
    old = PairFeaturizer().fit(pool())
    expected = old.feature_directions_
    del old.feature_directions_  # as in model files written before the attribute existed
    loaded = pickle.loads(pickle.dumps(old))
    np.testing.assert_array_equal(loaded.feature_directions_, expected)
    assert not hasattr(pickle.loads(pickle.dumps(PairFeaturizer())), "feature_directions_")


@pytest.mark.parametrize("option, value", [("coverage", True), ("title_core", True),
                                           ("lone_margin", 0.0)])
def test_a_model_file_fitted_with_a_removed_view_is_refused_by_name(tmp_path, option, value):
    from matchers import SimilarityMatcher

    pairs = pool()
    matcher = SimilarityMatcher(max_iter=5).fit(pairs, np.array([1, 1, 0, 1, 0, 1.0]))
    expected = matcher.match_proba(pairs)
    # as written before the view was removed: its switch off, its fitted leftovers still there
    matcher.featurizer_.__dict__.update({option: None if option == "lone_margin" else False,
                                         "rare_idf_": 1.0, "attribute_words_": None})
    matcher.save(tmp_path / "off.model")
    loaded = SimilarityMatcher.load(tmp_path / "off.model")
    np.testing.assert_array_equal(loaded.match_proba(pairs), expected)
    assert not hasattr(loaded.featurizer_, option) and not hasattr(loaded.featurizer_, "rare_idf_")
    matcher.featurizer_.__dict__[option] = value
    matcher.save(tmp_path / "on.model")
    with pytest.raises(ValueError, match=rf"on\.model: PairFeaturizer: fitted with {option}="
                                         rf"{value}.*fit the model again"):
        SimilarityMatcher.load(tmp_path / "on.model")
