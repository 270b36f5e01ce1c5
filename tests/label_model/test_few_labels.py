"""Regression: a handful of expert labels must not make the label model much worse than none
(the README example's pool fell from F1 0.73 to 0.35 after 10 labels with the summed penalty)."""

import numpy as np
import torch
from sklearn.metrics import f1_score

from label_model import PenalizedLabelModel

# the README example's pool in miniature: (votes of 3 one-sided LFs, bucket size, matches)
BUCKETS = [
    ((-1, -1, -1), 35, 4), ((0, -1, -1), 651, 0), ((-1, 1, -1), 89, 89), ((0, 1, -1), 3, 3),
    ((-1, -1, 1), 45, 29), ((0, -1, 1), 253, 1), ((-1, 1, 1), 257, 257), ((0, 1, 1), 27, 27),
]


def pool():
    L = np.concatenate([np.tile(v, (n, 1)) for v, n, _ in BUCKETS]).astype(np.int8)
    y = np.concatenate([np.r_[np.ones(k, int), np.zeros(n - k, int)] for _, n, k in BUCKETS])
    return L, y


def scores(model, L, y):
    pred = (model.predict_proba(L)[:, 1] > 0.5).astype(int)
    return float((pred == y).mean()), float(f1_score(y, pred))


def test_few_labels_do_not_wreck_the_label_model():
    L, y = pool()
    start = np.cumsum([0] + [n for _, n, _ in BUCKETS])
    # ten non-matches as maxKL picked them: five in one bucket, one from the minority of a
    # mostly-match bucket, four in another bucket
    rows = [*range(start[1], start[1] + 5), start[4] + 40, *range(start[5] + 10, start[5] + 14)]
    labels = {int(r): int(y[r]) for r in rows}
    assert set(labels.values()) == {0}
    lm = PenalizedLabelModel(seed=0).fit(L)
    acc0, f10 = scores(lm, L, y)
    before = lm.predict_proba(L)[rows, 1]
    lm.fit(L, labels)
    acc, f1 = scores(lm, L, y)
    assert acc >= acc0 - 0.02
    assert f1 >= f10 - 0.05
    # every labelled row is pulled towards its label (the one in a bucket of mostly matches,
    # voted on by one match LF alone, no further than P = 0.5: the LF keeps its direction)
    assert np.all(lm.predict_proba(L)[rows, 1] < before)


def test_auto_strength_is_shared_out_over_the_labels():
    L, y = pool()
    lm = PenalizedLabelModel(seed=0).fit(L)
    lm.set_params(n_epochs=1).fit(L, {0: int(y[0]), 1: int(y[1]), 2: int(y[2]), 3: int(y[3])})
    assert lm.curvature_ > 0
    assert lm.penalty_ == lm.curvature_ / 4


def test_labels_against_one_bucket_do_not_flip_the_model():
    L, y = pool()
    start = np.cumsum([0] + [n for _, n, _ in BUCKETS])
    # two non-matches from the minority of the bucket where only the third LF votes match:
    # with the uniform prior the label-swapped solution fits them as well as the true one
    labels = {int(start[4] + 29 + k): 0 for k in range(2)}
    assert all(y[r] == 0 for r in labels)
    f1_before = scores(PenalizedLabelModel(seed=0).fit(L), L, y)[1]
    kept = PenalizedLabelModel(seed=0).fit(L).fit(L, labels)
    free = PenalizedLabelModel(seed=0, lf_direction=False).fit(L).fit(L, labels)
    assert scores(kept, L, y)[1] >= f1_before
    assert scores(free, L, y)[1] < f1_before - 0.2  # the collapse the constraint prevents
    mu = kept.mu.detach().numpy()
    vote = kept.groups_.column_vote
    cols = np.flatnonzero(vote >= 0)
    assert np.all(mu[cols, vote[cols]] >= mu[cols, 1 - vote[cols]] - 1e-6)


def test_direction_projection_averages_only_the_flipped_columns():
    L, _ = pool()
    lm = PenalizedLabelModel(seed=0).fit(L)
    vote = lm.groups_.column_vote
    cols = np.flatnonzero(vote >= 0)
    mu = lm.mu.detach().numpy().copy()
    flip, stay = cols[0], cols[1]
    mu[flip, vote[flip]], mu[flip, 1 - vote[flip]] = 0.2, 0.6  # points the wrong way
    mu[stay, vote[stay]], mu[stay, 1 - vote[stay]] = 0.7, 0.1
    lm.mu.data.copy_(torch.from_numpy(mu))
    lm._project_direction()
    after = lm.mu.detach().numpy()
    np.testing.assert_allclose(after[flip], [0.4, 0.4])
    np.testing.assert_allclose(after[stay, [vote[stay], 1 - vote[stay]]], [0.7, 0.1])
    untouched = np.setdiff1d(np.arange(len(mu)), [flip, stay])
    np.testing.assert_array_equal(after[untouched], mu[untouched])
