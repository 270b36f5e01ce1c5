"""Blocking, LF application and matcher scoring on a dask.distributed cluster give the same
results as on one machine."""

import numpy as np
import pandas as pd
import pytest

from blocking import (
    AttributeEquivalenceBlocker,
    SortedNeighbourhoodBlocker,
    TfidfKNNBlocker,
    TokenOverlapBlocker,
    UnionBlocker,
    join_pairs,
    large_person_blocker,
    prefix,
)
from blocking.base import Blocker
from blocking.distributed import DistributedBlocker, map_candidates
from labeling_functions import ABSTAIN, MATCH, NON_MATCH, apply_lfs, labeling_function
from matchers import RNNMatcher, SimilarityMatcher
from matchers.distributed import match_proba_distributed, score_candidates

pytest.importorskip("distributed")  # the `dask` extra

BLOCKERS = {
    "equivalence": AttributeEquivalenceBlocker("surname"),
    "equivalence_prefix_capped": AttributeEquivalenceBlocker(
        ["postcode", "surname"], key=prefix(2), max_block_size=4
    ),
    "sorted_neighbourhood": SortedNeighbourhoodBlocker(["surname", "given_name"], window=4),
    "tfidf_knn": TfidfKNNBlocker(
        ["given_name", "surname"], k=3, analyzer="char_wb", ngram_range=(2, 3), symmetric=True
    ),
    "token_overlap": TokenOverlapBlocker(["address_1", "suburb"], min_shared=1, k=5, chunk_size=7),
    "large_person_union": large_person_blocker(window=3),
}


class EvenIdBlocker(Blocker):
    """A user-defined blocker with no distributed plan: it must still give the same pairs."""

    def _positions(self, A, B):
        n = len(A)
        return np.arange(0, n - 1, 2), np.arange(1, n, 2)


@pytest.mark.parametrize("name", sorted(BLOCKERS))
@pytest.mark.parametrize("link", [False, True], ids=["dedup", "link"])
def test_distributed_blocking_equals_single_machine(client, records, name, link):
    recs, _ = records
    A, B = (recs.iloc[:130], recs.iloc[130:].reset_index(drop=True)) if link else (recs, None)
    blocker = BLOCKERS[name]
    expected = blocker.block(A, B)
    assert len(expected) > 0
    for n_tasks in (1, 3):
        got = DistributedBlocker(blocker, client=client, n_tasks=n_tasks).block(A, B)
        pd.testing.assert_frame_equal(got, expected)


def test_distributed_blocker_inside_a_union_and_custom_blockers(client, records):
    recs, _ = records
    plain = UnionBlocker([EvenIdBlocker(), SortedNeighbourhoodBlocker("date_of_birth", window=2)])
    mixed = UnionBlocker(
        [
            DistributedBlocker(EvenIdBlocker(), client=client),
            DistributedBlocker(SortedNeighbourhoodBlocker("date_of_birth", window=2)),
        ]
    )
    pd.testing.assert_frame_equal(mixed.block(recs), plain.block(recs))


def test_distributed_blocker_errors_are_clear(client, records):
    recs, _ = records
    with pytest.raises(TypeError, match="expected a Blocker"):
        DistributedBlocker("surname")
    with pytest.raises(ValueError, match="n_tasks must be a positive integer"):
        DistributedBlocker(AttributeEquivalenceBlocker("surname"), n_tasks=0)
    with pytest.raises(ValueError, match="no column 'surnme'"):
        DistributedBlocker(AttributeEquivalenceBlocker("surnme"), client=client).block(recs)
    with pytest.raises(TypeError, match="client must be a dask.distributed Client"):
        DistributedBlocker(AttributeEquivalenceBlocker("surname"), client="tcp://x").block(recs)


def test_no_client_is_a_clear_error(records, monkeypatch):
    import distributed

    def no_client():
        raise ValueError("No global client found and no address provided")

    monkeypatch.setattr(distributed, "get_client", no_client)
    recs, _ = records
    with pytest.raises(ValueError, match="no dask.distributed client; pass client=Client"):
        DistributedBlocker(AttributeEquivalenceBlocker("surname")).block(recs)


@pytest.fixture(scope="module")
def pairs(records):
    recs, matches = records
    cands = large_person_blocker(window=3).block(recs)
    return join_pairs(cands, recs, matches=matches)


@pytest.fixture(scope="module")
def matchers(pairs):
    from threadpoolctl import threadpool_limits

    y = pairs["label"].to_numpy()
    with threadpool_limits(1):  # OpenMP threads only slow tiny fits down on a busy machine
        similarity = SimilarityMatcher(seed=0, max_iter=15).fit(pairs, y)
        rnn = RNNMatcher(
            seed=0, epochs=1, hidden=8, mlp_hidden=8, hash_dim=8, n_buckets=512, batch_size=64
        ).fit(pairs, y)
    return {"similarity": similarity, "rnn": rnn}


@pytest.mark.parametrize("kind", ["similarity", "rnn"])
def test_distributed_scoring_equals_predict_proba(client, records, pairs, matchers, kind):
    import dask.dataframe as dd

    recs, _ = records
    matcher = matchers[kind]
    expected = matcher.match_proba(pairs)
    # the RNN batches pairs of similar length together: other batches, other float32 rounding
    tol = {"rtol": 0, "atol": 0} if kind == "similarity" else {"rtol": 0, "atol": 1e-6}
    cands = pairs[["ltable_id", "rtable_id"]]
    results = [
        match_proba_distributed(matcher, pairs, client=client, partition_rows=41),
        match_proba_distributed(matcher, dd.from_pandas(pairs, npartitions=4), client=client),
        score_candidates(matcher, cands, recs, client=client, chunk_rows=53),
        score_candidates(matcher, cands, recs, chunk_rows=53),  # local chunks, no cluster
    ]
    for got in results:
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, **tol)


def test_scoring_errors_are_clear(client, records, pairs, matchers):
    recs, _ = records
    with pytest.raises(TypeError, match="expected a fitted matcher"):
        match_proba_distributed(object(), pairs, client=client)
    with pytest.raises(TypeError, match="pandas or dask DataFrame"):
        match_proba_distributed(matchers["similarity"], [1, 2], client=client)
    with pytest.raises(ValueError, match="partition_rows must be a positive integer"):
        match_proba_distributed(matchers["similarity"], pairs, client=client, partition_rows=0)
    with pytest.raises(ValueError, match="columns ltable_id and rtable_id"):
        score_candidates(matchers["similarity"], pairs[["ltable_id"]], recs, client=client)
    no_candidates = pairs[["ltable_id", "rtable_id"]].iloc[:0]
    assert score_candidates(matchers["similarity"], no_candidates, recs).shape == (0,)
    bad = pd.DataFrame({"ltable_id": ["nobody"], "rtable_id": [recs["id"].iloc[0]]})
    with pytest.raises(ValueError, match="not ids of table A, e.g. \\['nobody'\\]"):
        score_candidates(matchers["similarity"], bad, recs, client=client)


# ---- LF application: apply_lfs(engine="dask") and per-chunk application on the cluster -------
@labeling_function(polarity=NON_MATCH)
def surname_initial_differs(x):
    left, right = x.left_surname, x.right_surname
    if isinstance(left, str) and isinstance(right, str) and left[:1] != right[:1]:
        return NON_MATCH
    return ABSTAIN


@labeling_function(polarity=MATCH)
def same_birth_date(x):
    same = isinstance(x.left_date_of_birth, str) and x.left_date_of_birth == x.right_date_of_birth
    return MATCH if same else ABSTAIN


@labeling_function(polarity=MATCH, vectorized=True)
def same_soc_sec_id(df):
    same = df["left_soc_sec_id"].notna() & (df["left_soc_sec_id"] == df["right_soc_sec_id"])
    return np.where(same, MATCH, ABSTAIN)


LFS = [surname_initial_differs, same_birth_date, same_soc_sec_id]


@pytest.fixture(scope="module")
def shuffled(pairs):
    """The pairs in another order with an unsorted, non-contiguous integer index."""
    out = pairs.sample(frac=1.0, random_state=1)
    out.index = np.random.default_rng(0).permutation(len(out)) * 7 + 3
    return out


def test_apply_lfs_dask_engine_equals_pandas_with_an_unsorted_index(client, shuffled):
    expected = apply_lfs(LFS, shuffled, engine="pandas")
    assert (expected != ABSTAIN).any(axis=0).all()  # every LF fires somewhere
    got = apply_lfs(LFS, shuffled, engine="dask", n_partitions=3)
    np.testing.assert_array_equal(got, expected)


def test_lfs_per_candidate_chunk_on_the_cluster_equal_one_pass(client, records, pairs):
    recs, _ = records
    expected = apply_lfs(LFS, pairs)
    cands = pairs[["ltable_id", "rtable_id"]]

    def votes(chunk):
        return apply_lfs(LFS, chunk, engine="pandas")

    got = map_candidates(votes, cands, recs, client=client, chunk_rows=37)
    np.testing.assert_array_equal(got, expected)
