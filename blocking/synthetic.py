"""Synthetic dirty duplicate person records in FEBRL's schema, with known ground truth.

Originals are drawn from small vocabularies; each duplicate copies its original and applies
one or more corruptions: typos (insert, delete, substitute, transpose, space), street-type
abbreviations, swapped given name and surname, missing fields and digit transpositions.
Generation is vectorized per corruption kind, so a million records take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocking._arrays import within_groups

FEBRL_COLUMNS = [
    "given_name", "surname", "street_number", "address_1", "address_2",
    "suburb", "postcode", "state", "date_of_birth", "soc_sec_id",
]  # fmt: skip

GIVEN_NAMES = """
jack james william thomas oliver lachlan joshua samuel benjamin daniel ethan matthew ryan liam
noah lucas alexander nicholas luke harrison cooper mitchell riley jayden dylan blake connor
jordan tyler kayden zachary hayden aidan caleb isaac charlie max henry archie patrick sean
michael david andrew christopher timothy peter stephen mark paul anthony jessica emily chloe
olivia sophie emma charlotte grace ella hannah isabella lily mia ruby sarah amelia georgia
lauren zoe madison jasmine brooke kate alyssa caitlin holly abbey tahlia rebecca stephanie
amy rachel laura nicole kimberley samantha natalie michelle melissa jennifer elizabeth
alice matilda phoebe scarlett xani ashleigh bianca courtney danielle
""".split()

SURNAMES = """
smith jones williams brown wilson taylor johnson white martin anderson thompson nguyen
thomas walker harris lee ryan robinson kelly king davis wright evans roberts green hall wood
jackson clarke campbell turner edwards hill young scott mitchell stewart morris collins
murphy cook miller bell ward baker moore reid ross watson morgan cooper hughes phillips
clark russell kennedy grant mills wallace berry blake paine stanfield wyllie sondergeld
waller ho hunt matthews fraser parker marshall graham webb gray burns dunn hayes murray
hamilton lawrence rose ellis fisher knight chapman howard pearce lewis mcdonald mckenzie
obrien oconnor sullivan fitzgerald gallagher donnelly quinn burke doyle lynch brennan
carroll pham tran le chen wang zhang liu singh patel kumar papadopoulos rossi russo ferrari
bianchi costa nikolic kovac novak schmidt muller weber becker hoffmann
""".split()

STREET_NAMES = """
tullaroop giblin goldfinch weddin cazaly hartley chermside phillip mcvey rumker macquarie
bligh hume sturt flinders bass oxley kendall lawson wentworth banks cook darling murray
elizabeth george king queen victoria albert william charlotte church bridge station mill
river hill park forest ocean beach lake spring grove wattle banksia acacia waratah jacaranda
blackwood ironbark coolabah kurrajong myall yarra derwent torrens swan hawkesbury
""".split()

STREET_TYPES = {
    "street": "st", "road": "rd", "avenue": "ave", "crescent": "cres", "place": "pl",
    "close": "cl", "circuit": "cct", "drive": "dr", "court": "ct", "parade": "pde",
    "terrace": "tce", "highway": "hwy", "lane": "ln", "boulevard": "bvd",
}  # fmt: skip

PLACE_NAMES = [
    "holmeleigh", "willaroo", "killarney", "kooltuo", "huntington", "yambira", "apple cottage",
    "bellevue gardens", "glenview", "rosedale", "fairview", "riverside", "hillcrest",
    "woodlands", "greenacres", "sunnybank", "brookfield",
]  # fmt: skip

SUBURBS = [
    "st james", "bittern", "canterbury", "madora", "cobar", "surry hills", "dalby", "armidale",
    "bellevue hill", "woodcroft", "helidon", "toowoomba", "ballarat", "bendigo", "geelong",
    "wodonga", "mildura", "dubbo", "orange", "bathurst", "goulburn", "wagga wagga", "albury",
    "tamworth", "lismore", "grafton", "kempsey", "taree", "nowra", "katoomba", "penrith",
    "parramatta", "hornsby", "chatswood", "manly", "cronulla", "liverpool", "campbelltown",
    "wollongong", "newcastle", "maitland", "cessnock", "mackay", "cairns", "townsville",
    "rockhampton", "bundaberg", "gympie", "ipswich", "logan", "redcliffe", "caloundra", "noosa",
    "southport", "coolangatta", "fremantle", "rockingham", "mandurah", "bunbury", "albany",
    "geraldton", "kalgoorlie", "broome", "karratha", "glenelg", "norwood", "unley", "salisbury",
    "elizabeth", "gawler", "murray bridge", "mount gambier", "whyalla", "hobart", "launceston",
    "devonport", "burnie", "kingston", "palmerston", "darwin",
]  # fmt: skip

STATES = np.array(["nsw", "vic", "qld", "wa", "sa", "tas", "act", "nt"])
STATE_SHARE = np.array([0.32, 0.26, 0.2, 0.1, 0.07, 0.02, 0.02, 0.01])

TEXT_FIELDS = ["given_name", "surname", "address_1", "address_2", "suburb"]
DIGIT_FIELDS = ["street_number", "postcode", "date_of_birth", "soc_sec_id"]
CORRUPTIONS = ["typo", "abbreviate", "swap_names", "missing", "digits"]
CORRUPTION_SHARE = np.array([0.4, 0.15, 0.1, 0.15, 0.2])
LETTERS = np.array(list("abcdefghijklmnopqrstuvwxyz"))


def _strings(rng: np.random.Generator, words: list[str], n: int) -> np.ndarray:
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), n)]


def _blank(rng: np.random.Generator, values: np.ndarray, share: float) -> np.ndarray:
    out = values.astype(object)
    out[rng.random(len(out)) < share] = np.nan
    return out


def _originals(rng: np.random.Generator, n: int) -> pd.DataFrame:
    types = np.array(list(STREET_TYPES), dtype=object)
    address_2 = np.where(
        rng.random(n) < 0.7,
        _strings(rng, PLACE_NAMES, n),
        np.char.add("unit ", rng.integers(1, 300, n).astype(str)).astype(object),
    )
    born = np.datetime64("1920-01-01") + rng.integers(0, 85 * 365, n).astype("timedelta64[D]")
    return pd.DataFrame(
        {
            "given_name": _blank(rng, _strings(rng, GIVEN_NAMES, n), 0.02),
            "surname": _blank(rng, _strings(rng, SURNAMES, n), 0.01),
            "street_number": _blank(rng, rng.geometric(0.02, n).astype(str), 0.04),
            "address_1": _blank(
                rng,
                _strings(rng, STREET_NAMES, n) + " " + types[rng.integers(0, len(types), n)],
                0.02,
            ),
            "address_2": _blank(rng, address_2, 0.6),
            "suburb": _blank(rng, _strings(rng, SUBURBS, n), 0.01),
            "postcode": rng.integers(2000, 7000, n).astype(str).astype(object),
            "state": _blank(rng, STATES[rng.choice(len(STATES), n, p=STATE_SHARE)], 0.01),
            "date_of_birth": _blank(rng, np.char.replace(born.astype(str), "-", ""), 0.03),
            "soc_sec_id": (rng.choice(9_000_000, n, replace=False) + 1_000_000)
            .astype(str)
            .astype(object),
        }
    )


def _typo(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """One random edit per string: insert, delete, substitute, transpose, or a space edit."""
    n = len(values)
    kind = rng.integers(0, 5, n)
    where = rng.random(n)
    char = LETTERS[rng.integers(0, len(LETTERS), n)]

    def edit(s, k, w, c):
        if not isinstance(s, str) or len(s) < 2:
            return s
        i = int(w * (len(s) - 1))
        if k == 0:
            return s[:i] + c + s[i:]
        if k == 1:
            return s[:i] + s[i + 1 :]
        if k == 2:
            return s[:i] + c + s[i + 1 :]
        if k == 3:
            return s[:i] + s[i + 1] + s[i] + s[i + 2 :]
        return s.replace(" ", "", 1) if " " in s else s[:i] + " " + s[i:]

    return np.array([edit(*a) for a in zip(values, kind, where, char, strict=True)], dtype=object)


def _transpose_digits(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    where = rng.random(len(values))

    def swap(s, w):
        if not isinstance(s, str) or len(s) < 2:
            return s
        i = int(w * (len(s) - 1))
        return s[:i] + s[i + 1] + s[i] + s[i + 2 :]

    return np.array([swap(s, w) for s, w in zip(values, where, strict=True)], dtype=object)


def _corrupt(rng: np.random.Generator, dups: pd.DataFrame, max_corruptions: int) -> pd.DataFrame:
    n = len(dups)
    count = rng.integers(1, max_corruptions + 1, n)
    kinds = rng.choice(len(CORRUPTIONS), size=(n, max_corruptions), p=CORRUPTION_SHARE)
    kinds[np.arange(max_corruptions)[None, :] >= count[:, None]] = -1
    for slot in range(max_corruptions):
        for k, name in enumerate(CORRUPTIONS):
            rows = np.flatnonzero(kinds[:, slot] == k)
            if len(rows) == 0:
                continue
            if name == "swap_names":
                g, s = dups["given_name"].to_numpy()[rows], dups["surname"].to_numpy()[rows]
                dups.iloc[rows, dups.columns.get_loc("given_name")] = s
                dups.iloc[rows, dups.columns.get_loc("surname")] = g
            elif name == "abbreviate":
                col = dups.columns.get_loc("address_1")
                street = pd.Series(dups.iloc[rows, col].to_numpy(), dtype=object)
                for full, short in STREET_TYPES.items():
                    street = street.str.replace(rf"\b{full}$", short, regex=True)
                dups.iloc[rows, col] = street.to_numpy()
            else:
                fields = {"typo": TEXT_FIELDS, "digits": DIGIT_FIELDS, "missing": FEBRL_COLUMNS}[
                    name
                ]
                field = rng.integers(0, len(fields), len(rows))
                for f, column in enumerate(fields):
                    sub = rows[field == f]
                    col = dups.columns.get_loc(column)
                    vals = dups.iloc[sub, col].to_numpy()
                    if name == "typo":
                        dups.iloc[sub, col] = _typo(rng, vals)
                    elif name == "digits":
                        dups.iloc[sub, col] = _transpose_digits(rng, vals)
                    else:
                        dups.iloc[sub, col] = np.nan
    return dups


def make_dirty_records(
    n_entities: int = 500,
    duplicate_rate: float = 0.4,
    max_duplicates: int = 3,
    max_corruptions: int = 2,
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Records of `n_entities` people in FEBRL's columns plus dirty duplicates, shuffled.

    A share `duplicate_rate` of the entities gets 1..`max_duplicates` duplicates, each with
    1..`max_corruptions` corruptions. Returns (records with an `id` column like FEBRL's
    'rec-12-org' / 'rec-12-dup-0', matches DataFrame[ltable_id, rtable_id] listing every pair of
    records of one entity, ltable first in row order). The same `seed` gives the same data.
    """
    if not isinstance(n_entities, int | np.integer) or n_entities < 1:
        raise ValueError(
            f"make_dirty_records: n_entities must be a positive integer, got {n_entities!r}"
        )
    if not 0.0 <= duplicate_rate <= 1.0:
        raise ValueError(
            f"make_dirty_records: duplicate_rate must lie in [0, 1], got {duplicate_rate!r}"
        )
    for name, value in (("max_duplicates", max_duplicates), ("max_corruptions", max_corruptions)):
        if not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"make_dirty_records: {name} must be an integer >= 1, got {value!r}")
    rng = np.random.default_rng(seed)
    originals = _originals(rng, n_entities)
    n_dups = np.where(
        rng.random(n_entities) < duplicate_rate, rng.integers(1, max_duplicates + 1, n_entities), 0
    )
    source = np.repeat(np.arange(n_entities), n_dups)
    dup_number = np.arange(len(source)) - np.repeat(np.cumsum(n_dups) - n_dups, n_dups)
    dups = _corrupt(rng, originals.iloc[source].reset_index(drop=True), max_corruptions)
    entity = np.concatenate([np.arange(n_entities), source])
    suffix = np.concatenate(
        [
            np.full(n_entities, "org", dtype=object),
            np.char.add("dup-", dup_number.astype(str)).astype(object),
        ]
    )
    records = pd.concat([originals, dups], ignore_index=True)
    records.insert(
        0, "id", np.char.add(np.char.add("rec-", entity.astype(str)), "-").astype(object) + suffix
    )
    order = rng.permutation(len(records))
    records = records.iloc[order].reset_index(drop=True)
    li, ri = within_groups(entity[order])
    ids = records["id"].to_numpy()
    matches = pd.DataFrame({"ltable_id": ids[li], "rtable_id": ids[ri]})
    return records, matches
