import numpy as np
import pytest

from label_model import PenalizedLabelModel, VoteGroups


def test_without_cliques_layout_is_snorkels():
    groups = VoteGroups(3)
    assert groups.trivial and groups.d == 6
    L = np.array([[0, 1, -1], [1, -1, 0]])
    np.testing.assert_array_equal(
        groups.indicators(L), [[1, 0, 0, 1, 0, 0], [0, 1, 0, 0, 1, 0]]
    )


def test_clique_gets_one_column_per_joint_vote():
    groups = VoteGroups(3, [(1, 2)])
    assert groups.d == 2 + 8 and not groups.trivial
    L = np.array([[0, 1, 1], [1, -1, -1], [1, 0, 1]])
    ind = groups.indicators(L)
    assert ind[:, :2].tolist() == [[1, 0], [0, 1], [0, 1]]
    assert ind[0, 2:].sum() == 1 and ind[1, 2:].sum() == 0  # all-abstain has no column
    assert np.argmax(ind[0, 2:]) != np.argmax(ind[2, 2:])
    mask = groups.block_mask()
    assert not mask[2:, 2:].any() and mask[:2, 2:].all()
    # LF 1 votes 1 in the joint columns where its digit is 1
    assert groups.lf_vote_map[1, 1].sum() == 3 and groups.lf_vote_map[0, 0].tolist()[0] == 1


@pytest.mark.parametrize(
    ("cliques", "match"), [([(0,)], "2 to"), ([(0, 5)], "5"), ([(0, 1), (1, 2)], "disjoint")]
)
def test_bad_cliques_are_explained(cliques, match):
    with pytest.raises(ValueError, match=match):
        VoteGroups(4, cliques)


def two_feature_data(seed=0, n=4000):
    # LF 0 reads x2; LFs 1 and 2 both threshold x1 (dependent): the paper's synthetic set-up
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = np.where(y[:, None] == 1, [0.1, 1.3], [-0.8, -0.5]) + 0.5 * rng.standard_normal((n, 2))
    L = np.stack([X[:, 1] >= 0.4, X[:, 0] >= -0.3, X[:, 0] >= -1.0], axis=1).astype(int)
    return L, y


def test_clique_model_fits_and_absorbs_expert_labels():
    L, y = two_feature_data()
    lm = PenalizedLabelModel(seed=0, cliques=[(1, 2)], n_epochs=100, optimizer="adam")
    lm.fit(L)
    proba = lm.predict_proba(L)
    assert proba.shape == (len(y), 2) and np.allclose(proba.sum(1), 1)
    labels = {int(i): int(y[i]) for i in np.flatnonzero(L[:, 0] != L[:, 1])[:4]}
    lm.fit(L, labels)
    acc = ((lm.predict_proba(L)[:, 1] > 0.5) == y).mean()
    assert acc > 0.93  # the best any bucket rule can do here is about 0.96
    assert lm.lf_precision(L).shape == (3,)


def test_refit_on_a_changed_pool_recomputes_statistics():
    L, y = two_feature_data()
    lm = PenalizedLabelModel(seed=0, n_epochs=5).fit(L)
    O_first = lm.O.clone()
    L2 = L.copy()
    L2[: len(L) // 2, 0] = 1 - L2[: len(L) // 2, 0]
    lm.fit(L2)
    assert not np.allclose(lm.O.numpy(), O_first.numpy())
    lm.fit(L)
    np.testing.assert_allclose(lm.O.numpy(), O_first.numpy())
