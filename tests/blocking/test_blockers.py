"""Blockers against brute-force references, plus the candidate-pair invariants (hypothesis)."""

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocking import (
    AttributeEquivalenceBlocker,
    SortedNeighbourhoodBlocker,
    TfidfKNNBlocker,
    TokenOverlapBlocker,
    UnionBlocker,
    prefix,
)

WORDS = ["ann", "anna", "bob", "bobby", "carl", "dan"]


def table(names, start=0):
    return pd.DataFrame({"id": [f"r{start + i}" for i in range(len(names))], "name": names})


def pair_set(cands):
    return set(zip(cands["ltable_id"], cands["rtable_id"], strict=True))


def blockers():
    return [
        AttributeEquivalenceBlocker("name"),
        AttributeEquivalenceBlocker("name", key=prefix(2)),
        SortedNeighbourhoodBlocker("name", window=3),
        TokenOverlapBlocker("name", min_shared=1),
        TfidfKNNBlocker("name", k=2, analyzer="char_wb", ngram_range=(2, 2)),
    ]


names = st.lists(
    st.one_of(st.none(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)),
    min_size=1,
    max_size=25,
)
filled = names.filter(lambda values: any(v is not None for v in values))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(names=names)
def test_dedup_pairs_are_ordered_unique_and_never_self(names):
    A = table(names)
    position = {rid: i for i, rid in enumerate(A["id"])}
    parts = []
    for blocker in blockers():
        if all(n is None for n in names):
            with pytest.raises(ValueError, match="hold no values"):
                blocker.block(A)
            continue
        cands = blocker.block(A)
        left = cands["ltable_id"].map(position).to_numpy()
        right = cands["rtable_id"].map(position).to_numpy()
        assert (left < right).all()
        assert not cands.duplicated().any()
        parts.append(blocker)
        union = UnionBlocker(parts).block(A)
        assert not union.duplicated().any()
        assert pair_set(union) == set().union(*(pair_set(b.block(A)) for b in parts))


@settings(max_examples=25, deadline=None)
@given(left=filled, right=filled)
def test_linkage_equivalence_matches_brute_force(left, right):
    A, B = table(left), table(right, start=100)
    cands = AttributeEquivalenceBlocker("name", key=prefix(3)).block(A, B)
    expected = {
        (a, b)
        for (a, x), (b, y) in itertools.product(
            zip(A.id, A.name, strict=True), zip(B.id, B.name, strict=True)
        )
        if x is not None and y is not None and x[:3] == y[:3]
    }
    assert pair_set(cands) == expected
    assert not cands.duplicated().any()


@settings(max_examples=25, deadline=None)
@given(names=filled)
def test_dedup_equivalence_and_token_overlap_match_brute_force(names):
    A = table(names)
    recs = list(zip(A.id, A.name, strict=True))
    same = {(a, b) for (a, x), (b, y) in itertools.combinations(recs, 2) if x and x == y}
    assert pair_set(AttributeEquivalenceBlocker("name").block(A)) == same
    if any(names):
        shared = {
            (a, b)
            for (a, x), (b, y) in itertools.combinations(recs, 2)
            if x and y and len(set(x.split()) & set(y.split())) >= 2
        }
        assert pair_set(TokenOverlapBlocker("name", min_shared=2).block(A)) == shared


def test_multi_column_key_needs_every_part():
    A = pd.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "first": ["ann", "ann", "ann", None],
            "last": ["lee", "lee", "li", "lee"],
        }
    )
    cands = AttributeEquivalenceBlocker(["first", "last"]).block(A)
    assert pair_set(cands) == {(1, 2)}
    big = AttributeEquivalenceBlocker("first", max_block_size=2).block(A)
    assert big.empty  # the 'ann' block has 3 records


def test_sorted_neighbourhood_window_and_linkage():
    A = table(["d", "a", "c", "b", None])
    cands = SortedNeighbourhoodBlocker("name", window=2).block(A)
    # sorted a(r1) b(r3) c(r2) d(r0); neighbours only, the missing key gets no pair
    assert pair_set(cands) == {("r1", "r3"), ("r2", "r3"), ("r0", "r2")}
    B = table(["aa", "cc"], start=10)
    link = SortedNeighbourhoodBlocker("name", window=2).block(A.dropna(), B)
    assert pair_set(link) == {("r1", "r10"), ("r3", "r10"), ("r2", "r11"), ("r0", "r11")}


def test_tfidf_knn_matches_dense_cosine_and_is_chunk_invariant():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(30)]
    A = table([" ".join(rng.choice(vocab, 4)) for _ in range(40)])
    B = table([" ".join(rng.choice(vocab, 4)) for _ in range(50)], start=100)
    blocker = TfidfKNNBlocker("name", k=3)
    cands = blocker.block(A, B)
    assert cands.groupby("ltable_id").size().max() <= 3
    chunked = TfidfKNNBlocker("name", k=3, chunk_size=7).block(A, B)
    pd.testing.assert_frame_equal(cands, chunked)
    # the top-1 partner of each left record is its dense-cosine argmax
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(token_pattern=r"(?u)\b\w+\b", sublinear_tf=True)
    vec.fit(pd.concat([A.name, B.name]))
    sim = (vec.transform(A.name) @ vec.transform(B.name).T).toarray()
    best = B.id.to_numpy()[sim.argmax(axis=1)]
    found = pair_set(cands)
    clear = np.sort(sim, axis=1)[:, -1] > np.sort(sim, axis=1)[:, -4] + 1e-6  # no tie at top-3
    assert all((a, b) in found for a, b, c in zip(A.id, best, clear, strict=True) if c)


def test_tfidf_finds_typo_duplicates_and_symmetric_adds_pairs():
    A = table(["jonathan smith", "mary jones", "peter brown"])
    B = table(["jonathon smith", "mary jone", "petr brown", "alice smith"], start=10)
    knn = TfidfKNNBlocker("name", k=1, analyzer="char_wb", ngram_range=(2, 3))
    assert pair_set(knn.block(A, B)) == {("r0", "r10"), ("r1", "r11"), ("r2", "r12")}
    sym = TfidfKNNBlocker("name", k=1, analyzer="char_wb", ngram_range=(2, 3), symmetric=True)
    assert pair_set(sym.block(A, B)) == pair_set(knn.block(A, B)) | {("r0", "r13")}


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: AttributeEquivalenceBlocker("nmae").block(table(["a"])), "no column 'nmae'"),
        (lambda: TfidfKNNBlocker("name", k=0), "k must be a positive integer"),
        (lambda: SortedNeighbourhoodBlocker("name", window=1), "window must be an integer >= 2"),
        (lambda: TokenOverlapBlocker("name").block(table([None, None])), "hold no values"),
        (lambda: AttributeEquivalenceBlocker("name").block(table([])), "table is empty"),
        (
            lambda: AttributeEquivalenceBlocker("name").block(
                pd.DataFrame({"id": [1, 1], "name": ["a", "b"]})
            ),
            "duplicate ids",
        ),
    ],
)
def test_bad_input_gives_a_clear_error(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_no_tokens_is_a_clear_error():
    with pytest.raises(ValueError, match=r"no usable tokens in column\(s\) \['name'\]"):
        TfidfKNNBlocker("name").block(table(["!", "?", None]))


@settings(max_examples=20, deadline=None)
@given(left=filled, right=filled)
def test_linkage_token_overlap_matches_brute_force_and_k_caps(left, right):
    A, B = table(left), table(right, start=100)
    if not (any(left) and any(right)):
        return
    shared = {
        (a, b)
        for (a, x), (b, y) in itertools.product(
            zip(A.id, A.name, strict=True), zip(B.id, B.name, strict=True)
        )
        if x and y and set(x.split()) & set(y.split())
    }
    assert pair_set(TokenOverlapBlocker("name", min_shared=1).block(A, B)) == shared
    capped = TokenOverlapBlocker("name", min_shared=1, k=1).block(A, B)
    assert capped["ltable_id"].value_counts().le(1).all()
    assert pair_set(capped) <= shared
