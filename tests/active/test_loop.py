"""The combined loop: stores every answer before use, resumes, repeats with a seed, and
rejects nonsense from the oracle without losing what was stored."""

import numpy as np
import pandas as pd
import pytest

from active import ActiveLoop, LabelStore, SimulatedOracle
from active.clustering import cluster_records
from active.loop import calibrate_threshold


class CountingOracle(SimulatedOracle):
    def __init__(self, labels, fail_at=None):
        super().__init__(labels)
        self.asked = []
        self.fail_at = fail_at

    def __call__(self, i):
        self.asked.append(int(i))
        if self.fail_at is not None and len(self.asked) == self.fail_at:
            return "maybe"
        return super().__call__(i)


@pytest.fixture(scope="module")
def make_loop(pool, fast_matcher):
    def make(lfs, store, oracle, selector="hybrid", seed=0):
        return ActiveLoop(pool, lfs, oracle=oracle, selector=selector, matcher=fast_matcher(),
                          batch_size=5, store=store, gold=pool["label"], seed=seed)

    return make


@pytest.fixture(scope="module")
def first_run(pool, lfs, make_loop, tmp_path_factory):
    path = tmp_path_factory.mktemp("loop") / "labels.sqlite"
    oracle = CountingOracle(pool["label"])
    loop = make_loop(lfs, path, oracle)
    history = loop.run(10)
    return loop, history, oracle, path


def test_history_and_store_after_a_run(first_run, pool):
    loop, history, oracle, path = first_run
    assert list(history["n_labels"]) == [0, 5, 10]
    assert {"lm_f1", "matcher_f1", "t_matcher", "t_select", "selector"} <= set(history.columns)
    assert history["matcher_f1"].between(0, 1).all()
    records = LabelStore(path).records()
    assert len(records) == 10 == len(set(oracle.asked))
    assert records["matcher_proba"].notna().all()  # the score at selection is kept
    truth = pool["label"].to_numpy()
    assert all(truth[p] == y for p, y in zip(records["position"], records["label"], strict=True))
    assert set(np.unique(loop.predict())) <= {0, 1}
    assert loop.predict_proba(pool.iloc[:3]).shape == (3,)


def test_resume_uses_stored_labels_and_asks_only_new_pairs(first_run, pool, lfs, make_loop):
    _, _, first_oracle, path = first_run
    oracle = CountingOracle(pool["label"])
    loop = make_loop(lfs, path, oracle)
    loop.run(10)
    assert oracle.asked == []  # the budget is already met by the stored answers
    loop.run(15)
    assert len(oracle.asked) == 5 and not set(oracle.asked) & set(first_oracle.asked)
    assert len(LabelStore(path)) == 15


def test_same_seed_same_selections_and_metrics(first_run, pool, lfs, make_loop):
    loop, history, oracle, _ = first_run
    again = CountingOracle(pool["label"])
    history2 = make_loop(lfs, None, again).run(10)
    assert again.asked == oracle.asked
    np.testing.assert_allclose(history2["matcher_f1"], history["matcher_f1"])


def test_nonsense_answer_is_a_clear_error_and_keeps_earlier_labels(pool, lfs, make_loop):
    store = LabelStore()
    oracle = CountingOracle(pool["label"], fail_at=3)
    with pytest.raises(ValueError, match="oracle, pair .*answered 'maybe'"):
        make_loop(lfs, store, oracle, selector="random").run(5)
    assert len(store) == 2


def test_without_lfs_starts_at_random_and_weak_supervision_alone(pool, lfs, make_loop):
    history = make_loop(None, None, SimulatedOracle(pool["label"]), selector="entropy").run(10)
    assert history["selector"].iloc[0] == "random"  # nothing to be uncertain about yet
    weak = make_loop(lfs, None, CountingOracle(pool["label"]))
    assert len(weak.run(0)) == 1 and weak.matcher_proba is not None


def test_clusters_split_unique_and_duplicate_records(first_run, pool):
    loop = first_run[0]
    clusters = cluster_records(loop.pairs, loop.predict_proba(), 0.5)
    ids = set(pool["ltable_id"]) | set(pool["rtable_id"])
    assert set(clusters["record_id"]) == {str(i) for i in ids}
    predicted = pool[loop.predict(threshold=0.5) == 1]
    cluster_of = dict(zip(clusters["record_id"], clusters["cluster"], strict=True))
    assert all(cluster_of[str(a)] == cluster_of[str(b)]
               for a, b in zip(predicted["ltable_id"], predicted["rtable_id"], strict=True))
    sizes = clusters.groupby("cluster")["record_id"].count()
    assert (clusters["cluster_size"] == clusters["cluster"].map(sizes)).all()


def test_threshold_is_calibrated_on_the_stored_labels_only_when_asked(
    pool, lfs, fast_matcher, monkeypatch
):
    calls = []

    def fake(proba, labels):
        calls.append((np.asarray(proba), np.asarray(labels)))
        return 0.7

    monkeypatch.setattr("active.loop.calibrate_threshold", fake)
    truth = pool["label"].to_numpy()
    kwargs = dict(oracle=SimulatedOracle(truth), matcher=fast_matcher(), batch_size=10,
                  selector="random", seed=0)
    plain = ActiveLoop(pool, lfs, **kwargs)
    plain.run(20)
    assert plain.threshold == 0.5 and not calls
    calibrated = ActiveLoop(pool, lfs, calibrate=True, **kwargs)
    calibrated.run(20)
    assert calibrated.threshold == 0.7
    records = calibrated.store.records()
    records = records[records["selector"] != "audit"]  # the audit's labels never tune the output
    proba, labels = calls[-1]
    assert sorted(labels) == sorted(truth[records["position"]])
    assert sorted(proba) == sorted(records["matcher_proba"])


def test_calibrate_threshold():
    proba = np.array([0.1, 0.2, 0.3, 0.35, 0.4, 0.7, 0.8, 0.9, 0.95, 0.99, 0.32])
    labels = np.array([0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 0])
    assert calibrate_threshold(proba, labels, 10, 3) == pytest.approx(0.335)  # halfway cut
    assert calibrate_threshold(proba, labels) == 0.5  # too few labels
    assert calibrate_threshold(proba, labels, 10, 5) == 0.5  # too few non-matches
    assert calibrate_threshold(np.tile(proba, 3), np.tile(labels, 3)) == pytest.approx(0.335)


def test_hybrid_without_lfs_falls_back_to_risk_kmedoids(pool, make_loop):
    history = make_loop(None, None, SimulatedOracle(pool["label"])).run(15)
    chosen_by = history["selector"].dropna()
    assert chosen_by.iloc[0] == "random" and (chosen_by.iloc[1:] == "hybrid").any()
    hybrid_rows = history[history["selector"] == "hybrid"]
    assert (hybrid_rows["sel_n_maxkl"] == 0).all() and (hybrid_rows["sel_n_kmedoids"] > 0).all()


def test_rounds_read_the_pools_shared_features_computed_once(pool, lfs, make_loop, monkeypatch):
    from labeling_functions.featurizer import PairFeaturizer

    calls = []
    transform = PairFeaturizer.transform

    def counting(self, pairs):
        calls.append(len(pairs))
        return transform(self, pairs)

    loop = make_loop(lfs, None, SimulatedOracle(pool["label"]))
    loop.run(10)
    monkeypatch.setattr(PairFeaturizer, "transform", counting)
    state = loop.fit_round()
    during = list(calls)
    # the same scores and risks as reading the pool through the matcher and risk model
    np.testing.assert_array_equal(state.matcher_proba, loop.matcher.match_proba(loop.pairs))
    if state.risk_model is not None:
        again = state.risk_model.risk(loop.pairs, state.matcher_proba, L=loop.L)
        np.testing.assert_array_equal(state.risk, again)
    np.testing.assert_array_equal(state.embeddings,
                                  loop.matcher.embed(loop.pairs).astype(np.float32))
    # within the round, the matcher's fit, scores and embeddings and the risk model's fit read
    # the shared features: nothing is looked up in the featurizer again
    assert loop._pool_features is not None and during == []


def _moved_surname_pool() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Twelve person pairs, and the same with the first record's surname moved into its given
    name."""
    clean = pd.DataFrame({
        "left_given_name": ["anna marie", "john", "peter", "lisa"] * 3,
        "left_surname": ["smith", "brown", "jones", "white"] * 3,
        "right_given_name": ["anna marie", "jon", "pete", "lisa"] * 3,
        "right_surname": ["smith", "browne", "jones", "wite"] * 3,
    })
    dirty = clean.copy()
    dirty.loc[0, ["left_given_name", "left_surname"]] = ["anna marie smith", None]
    return clean, dirty


def test_the_loops_own_featurizer_puts_moved_values_back():
    """A pool whose titles carry their record's moved surname: the loop's shared featurizer
    compares the surnames as if they had stayed in place."""
    from labeling_functions.featurizer import PairFeaturizer
    from matchers import SimilarityMatcher

    clean, dirty = _moved_surname_pool()
    loop = ActiveLoop(dirty, None, oracle=SimulatedOracle(np.ones(len(dirty), int)),
                      matcher=SimilarityMatcher(seed=0, max_iter=5), seed=0)
    loop._share_featurizer()
    shared = loop.featurizer.transform(dirty.iloc[[0]])
    in_place = PairFeaturizer().fit(clean).transform(clean.iloc[[0]])
    assert shared["surname__jaro_winkler"].iloc[0] == pytest.approx(1.0)
    assert in_place["surname__jaro_winkler"].iloc[0] == pytest.approx(1.0)
    plain = PairFeaturizer().fit(dirty).transform(dirty.iloc[[0]])
    assert not plain["surname__jaro_winkler"].iloc[0] >= 0.99  # missing without the repair


def test_the_final_rnn_reads_side_features_through_the_loops_restored_featurizer():
    """The deep matcher trained after the loop gets the loop's featurizer, so a surname moved
    into the given name reaches its side features as if it had stayed in place."""
    from sklearn.base import clone

    from matchers import RNNMatcher, SimilarityMatcher

    clean, dirty = _moved_surname_pool()
    final = RNNMatcher(hash_dim=8, n_buckets=2**10, hidden=8, mlp_hidden=16, epochs=1,
                       warm_epochs=1, batch_size=16, embedding="hash", similarity=True, seed=0)
    loop = ActiveLoop(dirty, None, oracle=SimulatedOracle(np.ones(len(dirty), int)),
                      matcher=SimilarityMatcher(seed=0, max_iter=5), final_matcher=final, seed=0)
    loop._share_featurizer()
    final.fit(dirty, np.array([1, 0, 1, 0] * 3))
    assert final.featurizer_ is loop.featurizer
    column = final.side_columns_.index("surname__jaro_winkler")
    moved = final._side_features(dirty.iloc[[0]])[0, column]
    in_place = final._side_features(clean.iloc[[0]])[0, column]
    assert moved == pytest.approx(in_place)
    # the same record without the loop's featurizer: the surname is missing, not matched
    alone = clone(final).set_params(featurizer=None).fit(dirty, np.array([1, 0, 1, 0] * 3))
    column = alone.side_columns_.index("surname__jaro_winkler")
    assert alone._side_features(dirty.iloc[[0]])[0, column] != pytest.approx(
        alone._side_features(clean.iloc[[0]])[0, column])
