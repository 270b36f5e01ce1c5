"""The loop's audit: pairs drawn at random into every batch, asked like the others, stored with
their inclusion probabilities, kept out of training, and read back on resume."""

import numpy as np
import pytest

from active import ActiveLoop, LabelStore, SimulatedOracle
from active.loop import LabelSnapshot


class ViewingOracle(SimulatedOracle):
    """Answers from the gold and keeps every view it was shown."""

    def __init__(self, labels):
        super().__init__(labels)
        self.views = []

    def ask(self, view):
        self.views.append(view)
        return super().ask(view)


@pytest.fixture(scope="module")
def make_loop(pool, lfs, fast_matcher):
    def make(store, oracle, audit=2):
        return ActiveLoop(pool, lfs, oracle=oracle, matcher=fast_matcher(), batch_size=5,
                          store=store, gold=pool["label"], seed=0, audit=audit)

    return make


@pytest.fixture(scope="module")
def audited(pool, make_loop, tmp_path_factory):
    path = tmp_path_factory.mktemp("audit") / "labels.sqlite"
    oracle = ViewingOracle(pool["label"])
    loop = make_loop(path, oracle)
    history = loop.run(15)
    return loop, history, oracle, path


def test_audit_answers_are_stored_with_their_inclusion_probabilities(audited, pool):
    loop, history, _, path = audited
    records = LabelStore(path).records()
    drawn = records[records["selector"] == "audit"]
    assert len(drawn) == 6  # 2 of each batch of 5
    assert drawn["inclusion_prob"].between(0, 1, inclusive="right").all()
    assert set(drawn["audit_frame"]) == {0, 5, 10}  # answers standing at each draw
    assert records.loc[records["selector"] != "audit", "inclusion_prob"].isna().all()
    truth = pool["label"].to_numpy()
    assert (truth[drawn["position"].astype(int)] == drawn["label"]).all()
    # kept out of training, counted by the estimate
    assert not set(drawn["position"].astype(int)) & set(loop.state.labels)
    assert len(loop.state.labels) == 9
    assert history["n_audit"].iloc[-1] == 6 and history["n_labels"].iloc[-1] == 15
    estimate = loop.f1_estimate()
    assert estimate.n_audit + estimate.n_certain == 15
    assert estimate.n_audit == int((drawn["inclusion_prob"] < 1).sum())


def test_audit_pairs_look_like_any_other_question(audited):
    loop, _, oracle, _ = audited
    audit = set(loop.log.audit)
    assert not any("audit" in v.reason or "random" in v.reason for v in oracle.views)
    asked = [v.position for v in oracle.views]
    places = [k % 5 for k, p in enumerate(asked) if p in audit]
    assert min(places) < 3  # mixed into the batch, not always its last two


def test_a_resumed_run_reads_the_audit_back(audited, pool, make_loop):
    loop, _, _, path = audited
    before = LabelSnapshot.of(loop.log)
    again = make_loop(path, SimulatedOracle(pool["label"]))
    after = LabelSnapshot.of(again.log)
    for name in ("positions", "labels", "inclusion_prob", "frame"):
        np.testing.assert_array_equal(getattr(before, name), getattr(after, name))
    history = again.run(20)
    assert history["n_audit"].iloc[-1] == 8
    assert set(loop.log.audit) < set(again.log.audit)
    assert not set(again.log.audit) & set(again.state.labels)


def test_audit_zero_asks_only_the_selector(pool, make_loop):
    loop = make_loop(None, SimulatedOracle(pool["label"]), audit=0)
    history = loop.run(10)
    assert not loop.log.audit and history["n_audit"].iloc[-1] == 0
    assert len(loop.state.labels) == 10


@pytest.mark.parametrize("bad", [-1, 1.5, True])
def test_bad_audit_is_refused(pool, lfs, bad):
    with pytest.raises(ValueError, match="audit"):
        ActiveLoop(pool, lfs, oracle=SimulatedOracle(pool["label"]), audit=bad)


def test_snapshot_counts_an_audit_frame_in_expert_labels():
    from active.store import AnswerLog

    keys = np.array([f"p{i}" for i in range(10)])
    log = AnswerLog(LabelStore(), keys)
    log.add(5, 1)
    log.add(7, None)  # unsure: no label, but it stood when the audit was drawn
    log.add(9, 0, selector="audit", inclusion_prob=0.2, audit_frame=2)
    log.add(3, 0)
    snapshot = LabelSnapshot.of(log)
    assert snapshot.positions.tolist() == [5, 9, 3]
    assert snapshot.frame.tolist() == [-1, 1, -1]
    assert snapshot.inclusion_prob.tolist() == [1.0, 0.2, 1.0]
    assert snapshot.training() == {5: 1, 3: 0}
    log.undo()
    log.undo()  # the audit answer is gone, and with it its probability
    assert not log.audit and LabelSnapshot.of(log).positions.tolist() == [5]
