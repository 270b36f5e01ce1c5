"""Synthetic restaurant listings from several marketplaces, with known duplicates.

Each restaurant is listed on 1-4 marketplaces. Every listing is noisy: names gain or lose
"the", "&"/"and", suffixes and abbreviations and get typos; addresses are abbreviated or
lose their number; coordinates are moved tens to hundreds of metres; phones are missing or
formatted differently; cuisines are replaced by near synonyms. Restaurants cluster in cities
of very different sizes (Zipf) with a sparse countryside between them, and chains share names
across locations, so neither a name nor a place alone identifies a restaurant. Ids are opaque
integers. Generation is column-wise numpy / pandas: a million records take seconds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from blocking._arrays import within_groups

RESTAURANT_COLUMNS = [
    "id", "name", "address", "city", "phone", "cuisine", "lat", "lon", "marketplace",
]  # fmt: skip

MARKETPLACES = np.array(["ubereats", "doordash", "grubhub", "yelp", "tripadvisor", "opentable"])
LISTINGS_P = np.array([0.35, 0.3, 0.2, 0.15])  # 1, 2, 3 or 4 listings per restaurant

ADJECTIVES = """
golden red blue green silver little big happy lucky royal grand old new sunny crystal jade
black white rustic urban hidden secret famous original authentic spicy sweet smoky wild
twin iron copper velvet coastal harbor mountain valley garden village corner midtown uptown
noble humble brave gentle rising hungry bright fresh tasty tender savory crispy
""".split()

NOUNS = """
dragon lotus tiger phoenix panda bamboo palace garden kitchen table spoon fork plate oven
grill bistro tavern house lodge barn shack hut den nest pearl star moon sun river lake bay
harbor bridge mill anchor lantern olive lemon mango basil pepper saffron ginger sesame
fig cedar maple oak pine rose tulip orchid falcon eagle fox bear wolf owl rooster goat
""".split()

OWNERS = """
tony maria luigi rosa mario sal nick george frank joe jimmy lucy anna sam kim lee chen
wong patel singh garcia lopez martinez nguyen tran park kumar ali hassan omar yuki kenji
giovanni sofia pedro carmen diego elena ivan olga hans greta pierre marie ahmed fatima
""".split()

KINDS = """
pizzeria trattoria taqueria cantina diner cafe bakery grill steakhouse noodle_bar sushi_bar
ramen_house bbq burger_joint deli bistro brasserie kitchen eatery tavern pub chophouse
""".split()

CHAINS = """
burger_barn taco_town pizza_planet noodle_nation chicken_shack sub_station donut_depot
wok_express bagel_boys curry_corner salad_stop waffle_world grill_masters sushi_go
pasta_point
""".split()

CUISINES = {
    "italian": "pizza", "pizza": "italian", "mexican": "tex-mex", "chinese": "asian",
    "japanese": "sushi", "sushi": "japanese", "thai": "asian", "indian": "curry",
    "american": "burgers", "burgers": "american", "french": "european", "greek": "mediterranean",
    "mediterranean": "greek", "korean": "asian", "vietnamese": "asian", "bbq": "barbecue",
    "seafood": "fish", "steakhouse": "steak", "cafe": "coffee", "bakery": "desserts",
    "vegan": "vegetarian", "deli": "sandwiches", "spanish": "tapas", "middle eastern": "halal",
}  # fmt: skip

STREETS = """
main oak maple park pine cedar elm washington lake hill lincoln jackson church market
spring river broad center union franklin highland madison mill water chestnut walnut
sunset forest meadow ridge valley grove jefferson adams liberty harrison bay harbor
""".split()

STREET_TYPES = {
    "street": "st", "avenue": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
    "lane": "ln", "place": "pl", "court": "ct", "parkway": "pkwy", "highway": "hwy",
}  # fmt: skip

NAME_ABBREVIATIONS = {
    " and ": " & ", " restaurant": " rest.", " company": " co", " saint ": " st ",
    " kitchen": " kitch.", " house": " hse",
}  # fmt: skip

NAME_SUFFIXES = np.array(
    [" restaurant", " cafe", " bar & grill", " - downtown", " express", " kitchen", " llc"]
)

# the map: a box over the continental US; cities get Zipf-like sizes
LAT_RANGE, LON_RANGE = (25.0, 49.0), (-124.0, -67.0)
METRES_PER_DEGREE = 111_320.0


def _titled(values: np.ndarray) -> np.ndarray:
    return np.char.title(np.char.replace(values.astype(str), "_", " "))


def _restaurant_names(rng: np.random.Generator, n: int, chain_rate: float) -> np.ndarray:
    """One clean name per restaurant from five patterns; a share `chain_rate` are chains."""
    pick = lambda words: np.asarray(words)[rng.integers(0, len(words), n)]  # noqa: E731
    adj, noun, owner, kind = pick(ADJECTIVES), pick(NOUNS), pick(OWNERS), pick(KINDS)
    patterns = [
        np.char.add(np.char.add(adj, " "), noun),
        np.char.add(np.char.add(np.char.add("the ", adj), " "), noun),
        np.char.add(np.char.add(owner, "'s "), kind),
        np.char.add(np.char.add(noun, " and "), pick(NOUNS)),
        np.char.add(np.char.add(np.char.add(adj, " "), noun), np.char.add(" ", kind)),
    ]
    which = rng.integers(0, len(patterns), n)
    names = np.choose(which, patterns)
    chains = rng.random(n) < chain_rate
    names = np.where(chains, pick(CHAINS), names)
    return _titled(names)


def _typos(rng: np.random.Generator, values: np.ndarray, rate: float) -> np.ndarray:
    """One substitution, deletion or transposition in a share `rate` of strings, as array ops
    on the (n, width) matrix of Unicode code points."""
    values = values.astype(str)
    n, width = len(values), max(values.dtype.itemsize // 4, 2)
    codes = values.astype(f"U{width}").view(np.uint32).reshape(n, width).copy()
    length = np.char.str_len(values)
    hit = np.flatnonzero((rng.random(n) < rate) & (length >= 4))
    if len(hit) == 0:
        return values
    pos = 1 + (rng.random(len(hit)) * (length[hit] - 2)).astype(np.int64)  # keep first letter
    kind = rng.integers(0, 3, len(hit))
    rows = codes[hit]
    r = np.arange(len(hit))
    sub = kind == 0
    rows[r[sub], pos[sub]] = rng.integers(ord("a"), ord("z") + 1, int(sub.sum()))
    dele = kind == 1
    cols = np.arange(width)
    shifted = np.minimum(cols[None, :] + (cols[None, :] >= pos[dele, None]), width - 1)
    rows[dele] = np.take_along_axis(rows[dele], shifted, axis=1)
    rows[dele, -1] = 0
    swap = kind == 2
    a, b = rows[r[swap], pos[swap] - 1].copy(), rows[r[swap], pos[swap]].copy()
    rows[r[swap], pos[swap] - 1], rows[r[swap], pos[swap]] = b, a
    codes[hit] = rows
    return codes.view(f"U{width}").ravel()


def _replace_some(
    rng: np.random.Generator, s: pd.Series, mapping: dict[str, str], rate: float
) -> pd.Series:
    """Apply each replacement of `mapping` to a random share `rate` of the strings."""
    s = s.astype("string[pyarrow]")
    for old, new in mapping.items():
        hit = rng.random(len(s)) < rate
        s = s.where(~hit, s.str.replace(old, new, regex=False))
    return s.astype(object)


def _noisy_names(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    """The listing names: case, 'the', suffixes, '&'/'and', abbreviations and typos."""
    n = len(clean)
    s = pd.Series(np.char.lower(clean.astype(str)), dtype=object)
    has_the = s.str.startswith("the ")
    drop_the = has_the & (rng.random(n) < 0.4)
    s = s.where(~drop_the, s.str[4:])
    add_the = ~has_the & (rng.random(n) < 0.08)
    s = s.where(~add_the, "the " + s)
    suffix = rng.random(n) < 0.2
    s = s.where(~suffix, s + NAME_SUFFIXES[rng.integers(0, len(NAME_SUFFIXES), n)])
    s = _replace_some(rng, s, {" and ": " & ", " & ": " and "}, 0.4)
    s = _replace_some(rng, " " + s, NAME_ABBREVIATIONS, 0.3).str[1:]
    s = s.str.replace("'s ", "s ", regex=False).where(rng.random(n) < 0.15, s)
    out = _typos(rng, s.to_numpy().astype(str), rate=0.25)
    out = _typos(rng, out, rate=0.05)
    case = rng.random(n)
    return np.where(case < 0.5, np.char.title(out), np.where(case < 0.8, out, np.char.upper(out)))


def _cities(rng: np.random.Generator, n_cities: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """City centres (lat, lon), Zipf population shares and radii (km, larger for big cities)."""
    lat = rng.uniform(*LAT_RANGE, n_cities)
    lon = rng.uniform(*LON_RANGE, n_cities)
    share = 1.0 / np.arange(1, n_cities + 1)
    share /= share.sum()
    radius_km = 1.0 + 14.0 * np.sqrt(share / share[0])
    return np.stack([lat, lon], axis=1), share, radius_km


def _move(rng: np.random.Generator, lat: np.ndarray, lon: np.ndarray, metres: np.ndarray):
    """Move points by `metres` in random directions."""
    angle = rng.uniform(0, 2 * np.pi, len(lat))
    dlat = metres * np.sin(angle) / METRES_PER_DEGREE
    dlon = metres * np.cos(angle) / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
    return lat + dlat, lon + dlon


def _phones(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """Format 10-digit numbers in one of four styles per listing."""
    d = pd.Series(digits.astype(str))
    area, mid, last = d.str[:3], d.str[3:6], d.str[6:]
    styles = [
        "(" + area + ") " + mid + "-" + last,
        area + "-" + mid + "-" + last,
        "+1 " + area + " " + mid + " " + last,
        d,
    ]
    which = rng.integers(0, len(styles), len(d))
    return np.choose(which, [s.to_numpy().astype(str) for s in styles])


def make_restaurants(
    n_records: int = 10_000,
    seed: int = 0,
    n_cities: int | None = None,
    countryside: float = 0.1,
    chain_rate: float = 0.08,
    max_shift_m: float = 600.0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`n_records` restaurant listings (columns id, name, address, city, phone, cuisine, lat,
    lon, marketplace) and their true duplicate pairs DataFrame[ltable_id, rtable_id].

    Restaurants have 1-4 listings on distinct marketplaces. `n_cities` cities (default one per
    5,000 records, at least 20) hold all but a share `countryside` of the restaurants, which
    lie scattered over the map. Each listing's coordinates move from the restaurant's by a
    log-normal distance (median 35 m, at most `max_shift_m`). The same `seed` gives the same data.
    """
    if not isinstance(n_records, int | np.integer) or n_records < 2:
        raise ValueError(f"make_restaurants: n_records must be an integer >= 2, got {n_records!r}")
    if n_cities is None:
        n_cities = max(20, n_records // 5000)
    if not isinstance(n_cities, int | np.integer) or n_cities < 1:
        raise ValueError(f"make_restaurants: n_cities must be a positive integer, got {n_cities!r}")
    for name, value in (("countryside", countryside), ("chain_rate", chain_rate)):
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"make_restaurants: {name} must lie in [0, 1], got {value!r}")
    if not max_shift_m > 0:
        raise ValueError(f"make_restaurants: max_shift_m must be positive, got {max_shift_m!r}")
    rng = np.random.default_rng(seed)

    # restaurants and how many listings each gets, cut to exactly n_records listings
    n_rest = int(1.1 * n_records / (LISTINGS_P @ np.arange(1, 5))) + 10
    listings = rng.choice(np.arange(1, 5), size=n_rest, p=LISTINGS_P)
    total = np.cumsum(listings)
    n_rest = int(np.searchsorted(total, n_records)) + 1
    listings = listings[:n_rest]
    listings[-1] -= int(total[n_rest - 1] - n_records)

    # where the restaurants are
    centres, share, radius_km = _cities(rng, n_cities)
    city = rng.choice(n_cities, size=n_rest, p=share)
    rural = rng.random(n_rest) < countryside
    offset = rng.normal(size=(n_rest, 2)) * radius_km[city, None] * 1000.0 / 1.5
    lat = centres[city, 0] + offset[:, 0] / METRES_PER_DEGREE
    lon = centres[city, 1] + offset[:, 1] / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
    lat = np.where(rural, rng.uniform(*LAT_RANGE, n_rest), lat)
    lon = np.where(rural, rng.uniform(*LON_RANGE, n_rest), lon)
    city_names = np.char.add("city ", np.arange(n_cities).astype(str))
    # a rural restaurant gives the nearest city's name (rough, in degrees)
    gap = np.abs(lat[rural, None] - centres[None, :, 0])
    gap += np.abs(lon[rural, None] - centres[None, :, 1])
    city[rural] = np.argmin(gap, axis=1) if rural.any() else city[rural]
    town = _titled(np.char.add(np.char.add(np.asarray(STREETS)[city % len(STREETS)], "ville "),
                               city_names[city]))

    # the restaurant's own attributes
    name = _restaurant_names(rng, n_rest, chain_rate)
    number = rng.integers(1, 9999, n_rest).astype(str)
    street = np.asarray(STREETS)[rng.integers(0, len(STREETS), n_rest)]
    stype = np.asarray(list(STREET_TYPES))[rng.integers(0, len(STREET_TYPES), n_rest)]
    address = np.char.add(np.char.add(np.char.add(number, " "), np.char.add(street, " ")), stype)
    phone = rng.integers(2_000_000_000, 9_999_999_999, n_rest, dtype=np.int64)
    cuisine_keys = np.asarray(list(CUISINES))
    cuisine = cuisine_keys[rng.integers(0, len(cuisine_keys), n_rest)]

    # one row per listing, on distinct marketplaces
    r = np.repeat(np.arange(n_rest), listings)
    k = np.arange(len(r)) - np.repeat(np.cumsum(listings) - listings, listings)
    market_order = np.argsort(rng.random((n_rest, len(MARKETPLACES))), axis=1)
    market = MARKETPLACES[market_order[r, k]]
    n = len(r)

    shift = np.minimum(rng.lognormal(np.log(35.0), 0.9, n), max_shift_m)
    llat, llon = _move(rng, lat[r], lon[r], shift)

    addr = pd.Series(np.char.title(address[r]), dtype=object)
    long_types = {k.title(): v.title() for k, v in STREET_TYPES.items()}
    addr = _replace_some(rng, addr, {" " + k: " " + v for k, v in long_types.items()}, 0.4)
    addr = addr.where(rng.random(n) >= 0.1, addr.str.replace(r"^\d+ ", "", regex=True))
    addr = addr.where(rng.random(n) >= 0.1, addr + " Suite " + rng.integers(1, 400, n).astype(str))
    addr = pd.Series(_typos(rng, addr.to_numpy().astype(str), 0.1), dtype=object)
    addr = addr.where(rng.random(n) >= 0.08)

    listing_phone = phone[r].copy()
    moved = rng.random(n) < 0.04  # a new number on one marketplace
    listing_phone[moved] = rng.integers(2_000_000_000, 9_999_999_999, int(moved.sum()))
    phones = pd.Series(_phones(rng, listing_phone.astype(str)), dtype=object)
    phones = phones.where(rng.random(n) >= 0.3)

    cuis = pd.Series(cuisine[r], dtype=object)
    synonym = pd.Series(cuis.map(CUISINES), dtype=object)
    cuis = cuis.where(rng.random(n) >= 0.25, synonym).where(rng.random(n) >= 0.15)

    towns = pd.Series(town[r], dtype=object)
    towns = towns.where(rng.random(n) >= 0.1, towns.str.lower()).where(rng.random(n) >= 0.05)

    records = pd.DataFrame(
        {
            "name": _noisy_names(rng, name[r]),
            "address": addr,
            "city": towns,
            "phone": phones,
            "cuisine": cuis,
            "lat": np.round(llat, 6),
            "lon": np.round(llon, 6),
            "marketplace": market,
        }
    )
    order = rng.permutation(n)
    records = records.iloc[order].reset_index(drop=True)
    records.insert(0, "id", rng.permutation(n).astype(np.int64) + 1)
    li, ri = within_groups(r[order])
    ids = records["id"].to_numpy()
    matches = pd.DataFrame({"ltable_id": ids[li], "rtable_id": ids[ri]})
    return records, matches
