"""Repeatability: the same seed gives the same data, candidates, votes, label-model output and
matcher scores, whatever the number of Dask tasks."""

import numpy as np
import pandas as pd

from blocking import join_pairs, large_person_blocker, make_dirty_records
from blocking.distributed import DistributedBlocker
from labeling_functions import apply_lfs, similarity_below, values_equal


def test_same_seed_same_records_other_seed_other_records():
    a, ma = make_dirty_records(n_entities=60, seed=11)
    b, mb = make_dirty_records(n_entities=60, seed=11)
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(ma, mb)
    c, _ = make_dirty_records(n_entities=60, seed=12)
    assert not a.equals(c)


def test_distributed_pipeline_is_repeatable(client):
    from label_model import PenalizedLabelModel

    lfs = [
        values_equal("soc_sec_id", name="same_ssn"),
        similarity_below("surname", 0.6, metric="jaro_winkler", name="surname_differs"),
        similarity_below("date_of_birth", 0.6, metric="levenshtein", name="dob_differs"),
        similarity_below("given_name", 0.5, metric="jaro_winkler", name="given_differs"),
    ]
    runs = []
    for n_tasks in (2, 5):
        records, matches = make_dirty_records(n_entities=80, seed=3)
        cands = DistributedBlocker(large_person_blocker(window=3), client, n_tasks).block(records)
        pairs = join_pairs(cands, records, matches=matches)
        L = apply_lfs(lfs, pairs)
        expert = {int(i): int(pairs["label"].iloc[i]) for i in range(0, len(pairs), 25)}
        model = PenalizedLabelModel(seed=7, n_epochs=50).fit(L, expert_labels=expert)
        runs.append((cands, L, model.predict_proba(L)))
    (c1, L1, p1), (c2, L2, p2) = runs
    pd.testing.assert_frame_equal(c1, c2)
    np.testing.assert_array_equal(L1, L2)
    np.testing.assert_array_equal(p1, p2)
