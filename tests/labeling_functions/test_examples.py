"""The ready-made LF sets load by path and vote sensibly on an obvious match and non-match."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from snorkel.labeling import LabelingFunction

from labeling_functions import ABSTAIN, MATCH, NON_MATCH, apply_lfs, load_lfs

ROOT = Path(__file__).resolve().parents[2]
LF_DIR = ROOT / "examples" / "lfs"


def lf_file(name):
    """The demo's FEBRL set ships inside the package; the others are examples."""
    return ROOT / "active" / "demo_lfs.py" if name == "febrl" else LF_DIR / f"{name}.py"

# One record per data set; the obvious match is a lightly edited copy, the non-match a
# different entity.
RECORDS = {
    "dblp_acm": (
        {"title": "efficient joins over streams", "authors": "ann lee , bo chen",
         "venue": "sigmod conference", "year": 2001},
        {"title": "efficient joins over streams", "authors": "ann lee , b. chen",
         "venue": "international conference on management of data", "year": 2001},
        {"title": "a survey of xml indexing methods", "authors": "carl diaz",
         "venue": "vldb", "year": 1997},
    ),
    "abt_buy": (
        {"name": "sony bravia kdl40v4100 40 ' lcd tv", "description": "full hd lcd",
         "price": 999.0},
        {"name": "sony bravia kdl-40v4100 lcd television", "description": None,
         "price": 979.0},
        {"name": "canon pixma mp620 printer", "description": "all in one", "price": 149.0},
    ),
    "amazon_google": (
        {"title": "adobe photoshop cs3 upgrade", "manufacturer": "adobe", "price": 199.0},
        {"title": "adobe photoshop cs3 upgrade", "manufacturer": None, "price": 189.0},
        {"title": "microsoft office 2007 student", "manufacturer": "microsoft", "price": 99.0},
    ),
    "beer": (
        {"Beer_Name": "Red Island Ale", "Brew_Factory_Name": "Point Ybel Brewing Company",
         "Style": "American Amber / Red Ale", "ABV": "5.60 %"},
        {"Beer_Name": "Point Ybel Red Island Ale", "Brew_Factory_Name": "Point Ybel Brewing",
         "Style": "Amber Ale", "ABV": "5.60 %"},
        {"Beer_Name": "Dark Night Stout", "Brew_Factory_Name": "Hill Farmstead",
         "Style": "Stout", "ABV": "9.50 %"},
    ),
    "fodors_zagats": (
        {"name": "` gallagher \\ 's '", "addr": "' 228 w. 52nd st. '", "city": "new york",
         "phone": "212/245 -5336", "type": "american"},
        {"name": "gallagher 's", "addr": "228 w. 52nd st.", "city": "new york city",
         "phone": "212-245-5336", "type": "steakhouses"},
        {"name": "toulouse", "addr": "b peachtree rd.", "city": "atlanta",
         "phone": "404/351 -9533", "type": "french"},
    ),
    "itunes_amazon": (
        {"Song_Name": "Silver and Gold", "Artist_Name": "Little Big Town",
         "Album_Name": "Pain Killer", "Genre": "Country", "Price": "$ 1.29",
         "CopyRight": "2014 Capitol", "Time": "3:05", "Released": "21-Oct-14"},
        {"Song_Name": "Silver and Gold", "Artist_Name": "Little Big Town",
         "Album_Name": "Pain Killer", "Genre": "Country", "Price": "$ 1.29",
         "CopyRight": "( C ) 2014 Capitol", "Time": "3:06", "Released": "October 21 , 2014"},
        {"Song_Name": "Illusion", "Artist_Name": "Zedd", "Album_Name": "True Colors",
         "Genre": "Dance", "Price": "$ 1.29", "CopyRight": "2015 Interscope", "Time": "6:30",
         "Released": "18-May-15"},
    ),
    "restaurants": (
        {"name": "the golden dragon", "address": "12 high street", "city": "leeds",
         "phone": "0113 496 0101", "cuisine": "chinese", "lat": 53.7997, "lon": -1.5492,
         "marketplace": "eatfast"},
        {"name": "golden dragon restaurant", "address": "12 high st", "city": "leeds",
         "phone": "0113 496 0101", "cuisine": "asian", "lat": 53.7999, "lon": -1.5489,
         "marketplace": "dinedash"},
        {"name": "luigi's pizzeria", "address": "80 park road", "city": "leeds",
         "phone": "0113 496 0555", "cuisine": "pizza", "lat": 53.8205, "lon": -1.5801,
         "marketplace": "eatfast"},
    ),
    "febrl": (
        {"given_name": "sarah", "surname": "thompson", "street_number": "12",
         "address_1": "banks street", "address_2": None, "suburb": "bondi", "postcode": "2026",
         "state": "nsw", "date_of_birth": "19710304", "soc_sec_id": "1234567"},
        {"given_name": "sara", "surname": "thompsen", "street_number": "12",
         "address_1": "banks street", "address_2": None, "suburb": "bondi", "postcode": "2026",
         "state": "nsw", "date_of_birth": "19710304", "soc_sec_id": "1234567"},
        {"given_name": "michael", "surname": "nguyen", "street_number": "7",
         "address_1": "ridge road", "address_2": "unit 3", "suburb": "perth", "postcode": "6000",
         "state": "wa", "date_of_birth": "19550912", "soc_sec_id": "9876543"},
    ),
}


def _pairs(record, match, other):
    rows = [(record, match), (record, other)]
    return pd.DataFrame([
        {**{f"left_{k}": v for k, v in a.items()}, **{f"right_{k}": v for k, v in b.items()}}
        for a, b in rows
    ])


@pytest.mark.parametrize("name", sorted(RECORDS))
def test_lf_set_loads_and_votes_sensibly(name):
    lfs = load_lfs(lf_file(name))
    assert 5 <= len(lfs) <= 15 and all(isinstance(lf, LabelingFunction) for lf in lfs)
    polarities = {lf.polarity for lf in lfs}
    assert {MATCH, NON_MATCH} <= polarities
    L = apply_lfs(lfs, _pairs(*RECORDS[name]))
    assert L.shape == (2, len(lfs))
    match_votes, non_votes = (L == MATCH).sum(axis=1), (L == NON_MATCH).sum(axis=1)
    assert match_votes[0] > non_votes[0], (name, L)
    assert non_votes[1] > match_votes[1], (name, L)
    assert (L >= ABSTAIN).all()


def test_every_lf_set_has_a_test_record():
    assert {p.stem for p in LF_DIR.glob("*.py")} | {"febrl"} == set(RECORDS)


def test_load_lfs_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_lfs(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(ValueError, match="no list named 'lfs'"):
        load_lfs(empty)
    wrong = tmp_path / "wrong.py"
    wrong.write_text("lfs = [print]\n")
    with pytest.raises(TypeError, match="wrong.py"):
        load_lfs(wrong)
    good = tmp_path / "good.py"
    good.write_text("from labeling_functions import values_equal\nlfs = [values_equal('a')]\n")
    (lf,) = load_lfs(good)
    assert lf.name == "a_equal" and lf.polarity == MATCH
    L = apply_lfs([lf], pd.DataFrame({"left_a": ["x", "y"], "right_a": ["x", np.nan]}))
    np.testing.assert_array_equal(L[:, 0], [MATCH, ABSTAIN])
