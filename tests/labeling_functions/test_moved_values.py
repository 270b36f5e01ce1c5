"""MovedValues and PairFeaturizer(restore=True): values that moved into the title put back."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from labeling_functions.featurizer import PairFeaturizer
from labeling_functions.moved_values import MovedValues


def clean_pairs() -> pd.DataFrame:
    return pd.DataFrame({
        "left_song": ["bad blood", "shake it off", "blank space", "style"],
        "left_artist": ["Taylor Swift", "Taylor Swift", "Taylor Swift Band", "Fetty Wap"],
        "left_time": ["3:31", "3:39", "3:51", "4:02"],
        "right_song": ["bad blood", "shake it off remix", "blank space", "style"],
        "right_artist": ["Taylor Swift", "Taylor Swift", "Taylor Swift Band", "Zedd"],
        "right_time": ["3:31", "3:40", "3:51", "4:02"],
    })


def dirty_pairs() -> pd.DataFrame:
    """The first pair's left artist and time moved into its title, the second's right artist."""
    pairs = clean_pairs()
    pairs.loc[0, "left_song"] = "bad blood Taylor Swift 3:31"
    pairs.loc[0, ["left_artist", "left_time"]] = None
    pairs.loc[1, "right_song"] = "shake it off remix Taylor Swift"
    pairs.loc[1, "right_artist"] = ""
    return pairs


def test_moved_values_go_back_and_the_title_keeps_the_rest():
    pairs = dirty_pairs()
    restored = MovedValues(pairs, ["song", "artist", "time"]).restore(pairs)
    assert restored.loc[0, "left_song"] == "bad blood"
    assert restored.loc[0, "left_artist"] == "Taylor Swift"  # as the pool spells it
    assert restored.loc[0, "left_time"] == "3:31"
    assert restored.loc[1, "right_song"] == "shake it off remix"
    assert restored.loc[1, "right_artist"] == "Taylor Swift"
    pd.testing.assert_frame_equal(restored.iloc[2:], pairs.iloc[2:])
    assert pairs.loc[0, "left_artist"] is None  # the input is not changed


def test_restore_under_copy_on_write_does_not_touch_read_only_arrays():
    pairs = dirty_pairs()
    moved = MovedValues(pairs, ["song", "artist", "time"])
    with pd.option_context("mode.copy_on_write", True):  # to_numpy gives read-only views here
        restored = moved.restore(pairs)
    assert restored.loc[0, "left_artist"] == "Taylor Swift"
    assert pairs.loc[0, "left_artist"] is None


def test_the_longest_value_wins_and_the_first_token_stays():
    pairs = clean_pairs()
    pairs.loc[0, ["left_song", "left_artist"]] = ["bad blood Taylor Swift Band", None]
    pairs.loc[3, ["left_song", "left_artist"]] = ["Zedd", None]  # a title that is only a value
    restored = MovedValues(pairs, ["song", "artist", "time"]).restore(pairs)
    assert restored.loc[0, "left_artist"] == "Taylor Swift Band"
    assert restored.loc[0, "left_song"] == "bad blood"
    assert restored.loc[3, "left_song"] == "Zedd" and pd.isna(restored.loc[3, "left_artist"])


def test_the_guard_keeps_values_that_read_as_title_words_in_the_title():
    pairs = pd.DataFrame({  # 'black' is a colour of two products' descriptions and in 3 names
        "left_name": ["sony tv black", "lg phone black", "dell case black", "hp mouse",
                      "acme lamp black", "acme bag"],
        "left_description": ["a tv", "a phone", "a case", "black", None, "black"],
        "right_name": ["sony tv", "lg phone", "dell case", "hp mouse", "acme lamp",
                       "acme bag Bose"],
        "right_description": ["a tv", "a phone", "a case", "Bose", "a lamp", None],
    })
    plain = MovedValues(pairs, ["name", "description"]).restore(pairs)
    assert plain.loc[4, "left_description"] == "black"  # the name's colour taken away
    guarded = MovedValues(pairs, ["name", "description"], guard=True).restore(pairs)
    assert guarded.loc[4, "left_name"] == "acme lamp black"
    assert pd.isna(guarded.loc[4, "left_description"])
    assert guarded.loc[5, "right_description"] == "Bose"  # in no other name: still put back
    assert guarded.loc[5, "right_name"] == "acme bag"
    missing = [PairFeaturizer(context=False, restore=True, restore_guard=guard).fit(pairs)
               .transform(pairs)["description__n_missing"] for guard in (False, True)]
    assert missing[0][4] == 0 and missing[1][4] == 1  # the featurizer passes the guard on


def test_tables_without_empty_attributes_are_left_as_they_are():
    pairs = clean_pairs()
    assert MovedValues(pairs, ["song", "artist", "time"]).restore(pairs) is pairs
    plain = PairFeaturizer(context=False).fit(pairs).transform(pairs)
    pd.testing.assert_frame_equal(
        PairFeaturizer(context=False, restore=True).fit(pairs).transform(pairs), plain)


def test_restoring_featurizer_compares_the_dirty_pair_like_the_clean_one():
    clean, dirty = clean_pairs(), dirty_pairs()
    reference = PairFeaturizer(context=False).fit(clean).transform(clean)
    plain = PairFeaturizer(context=False).fit(dirty).transform(dirty)
    restored = PairFeaturizer(context=False, restore=True).fit(dirty).transform(dirty)
    column = "artist__jaro_winkler"
    assert np.isnan(plain.loc[0, column])
    assert restored.loc[0, column] == pytest.approx(reference.loc[0, column])
    assert restored.loc[0, "song__jaccard"] == pytest.approx(reference.loc[0, "song__jaccard"])
    assert plain.loc[0, "song__jaccard"] < restored.loc[0, "song__jaccard"]


def test_restore_keeps_margins_clones_pickles_and_checks_its_type():
    pairs = pd.concat([dirty_pairs()] * 2, ignore_index=True)
    pairs.loc[4:, "right_song"] = ["style", "bad blood", "shake it off", "blank space"]
    f = PairFeaturizer(restore=True).fit(pairs)
    margins = f.transform(pairs).filter(like="_margin")
    assert margins.notna().to_numpy().any()
    pd.testing.assert_frame_equal(margins.notna(), PairFeaturizer().fit(pairs).transform(
        pairs).filter(like="_margin").notna())
    assert clone(f).get_params()["restore"] is True
    again = pickle.loads(pickle.dumps(f))
    pd.testing.assert_frame_equal(again.transform(pairs), f.transform(pairs))
    state = {k: v for k, v in f.__dict__.items() if k not in ("restore", "moved_")}
    old = PairFeaturizer.__new__(PairFeaturizer)
    old.__setstate__(state)  # a model file from before `restore`
    assert old.restore is False and old.moved_ is None
    with pytest.raises(TypeError, match="restore"):
        PairFeaturizer(restore="yes").fit(pairs)


def brewery_pairs() -> pd.DataFrame:
    """Beers whose brewery stands in place, and one whose brewery (named nowhere else) sits at
    its title's end, its attribute empty."""
    beers = ["hop red ale", "amber ale", "dark red ale", "pale ale", "night stout", "gold ale"]
    breweries = ["Alpha Brewing Company", "Beta Brewery", "Gamma Brewing Co.",
                 "Delta Brewing Company", "Epsilon Brewery", "Zeta Brewing"]
    pairs = pd.DataFrame({"left_beer": beers, "left_brewery": breweries,
                          "right_beer": beers[::-1], "right_brewery": breweries[::-1]})
    pairs.loc[0, ["left_beer", "left_brewery"]] = ["sour red ale omega brewing company", None]
    pairs.loc[1, ["left_beer", "left_brewery"]] = ["harvest red ale", None]  # nothing moved
    return pairs


def test_unseen_values_come_off_the_titles_end_and_title_words_stay():
    pairs = brewery_pairs()
    restored = MovedValues(pairs, ["beer", "brewery"], suffixes=True).restore(pairs)
    assert restored.loc[0, "left_beer"] == "sour red ale"
    assert restored.loc[0, "left_brewery"] == "omega brewing company"
    assert restored.loc[1, "left_beer"] == "harvest red ale"  # ends in title words: kept
    assert pd.isna(restored.loc[1, "left_brewery"])
    pd.testing.assert_frame_equal(restored.iloc[2:], pairs.iloc[2:])
    without = MovedValues(pairs, ["beer", "brewery"]).restore(pairs)
    assert without.loc[0, "left_beer"] == "sour red ale omega brewing company"


def test_unseen_values_leave_long_attributes_alone():
    pairs = brewery_pairs()
    pairs["left_brewery"] = pairs["left_brewery"].where(
        pairs["left_brewery"].isna(), pairs["left_brewery"] + " of the united states of america")
    pairs["right_brewery"] = pairs["right_brewery"] + " of the united states of america"
    restored = MovedValues(pairs, ["beer", "brewery"], suffixes=True,
                           max_suffix_tokens=4).restore(pairs)
    assert restored.loc[0, "left_beer"] == "sour red ale omega brewing company"


def test_restore_unseen_reaches_the_featurizer_and_is_checked():
    pairs = brewery_pairs()
    plain = PairFeaturizer(context=False, restore=True).fit(pairs).transform(pairs)
    f = PairFeaturizer(context=False, restore=True, restore_unseen=True).fit(pairs)
    unseen = f.transform(pairs)
    assert np.isnan(plain.loc[0, "brewery__jaro_winkler"])
    assert not np.isnan(unseen.loc[0, "brewery__jaro_winkler"])
    assert unseen.loc[0, "beer__jaccard"] > plain.loc[0, "beer__jaccard"]
    assert clone(f).get_params()["restore_unseen"] is True
    state = {k: v for k, v in f.__dict__.items() if k != "restore_unseen"}
    old = PairFeaturizer.__new__(PairFeaturizer)
    old.__setstate__(state)  # a model file from before `restore_unseen`
    assert old.restore_unseen is False
    with pytest.raises(TypeError, match="restore_unseen"):
        PairFeaturizer(restore=True, restore_unseen=1).fit(pairs)
