"""A labelling session as a person lives it: undo across skips and sessions, skip, quit, the
background fit that never makes them wait, the final matcher, and stores of other tables."""

import numpy as np
import pytest

from active import ActiveLoop, LabelStore
from active.store import LabelStoreError
from blocking.answers import Answer


class Person:
    """Answers from the gold labels, except at the steps where `script` says otherwise."""

    def __init__(self, gold, script=None):
        self.gold, self.script, self.seen = np.asarray(gold), dict(script or {}), []

    def ask(self, view):
        self.seen.append(view)
        step = len(self.seen) - 1
        if step in self.script:
            return self.script[step]
        return int(self.gold[view.position])


@pytest.fixture
def make(pool, lfs, fast_matcher):
    def make(oracle, store=None, **kwargs):
        kwargs = {"batch_size": 5, "seed": 0, **kwargs}
        return ActiveLoop(pool, lfs, oracle=oracle, matcher=fast_matcher(), store=store,
                          **kwargs)

    return make


def test_undo_reaches_past_a_skip_and_reasks_the_pair(pool, make):
    gold = pool["label"].to_numpy()
    person = Person(gold, {1: Answer.SKIP, 2: Answer.UNDO})
    store = LabelStore()
    loop = make(person, store)
    loop.run(4)
    first, skipped = person.seen[0].position, person.seen[1].position
    assert person.seen[3].position == first  # undo skipped over the skip to the last answer
    assert skipped not in loop.answers()  # a skip is not an answer: not stored, not counted
    assert len(store) == 4 and "undo" in set(store.history()["kind"])
    assert all(gold[p] == y for p, y in loop.answers().items())


def test_undo_reaches_the_previous_session_and_counts_survive(pool, make, tmp_path):
    gold = pool["label"].to_numpy()
    path = tmp_path / "labels.sqlite"
    make(Person(gold), path).run(3)
    person = Person(gold, {0: Answer.UNDO, 1: 1 - int(gold[0])})
    loop = make(person, path)
    last = LabelStore(path).records()["position"].iloc[-1]
    loop.run(4)
    assert person.seen[1].position == last  # the earlier session's last answer, asked again
    assert person.seen[0].progress.n_answers == 3 and person.seen[0].progress.can_undo
    assert person.seen[0].progress.budget == 4
    assert loop.answers()[last] == 1 - int(gold[0])
    assert len(LabelStore(path)) == 4


def test_quit_keeps_every_answer_and_skips_the_final_matcher(pool, make, fast_matcher):
    gold = pool["label"].to_numpy()
    final = fast_matcher()
    loop = make(Person(gold, {3: Answer.QUIT}), final_matcher=final)
    loop.run(10)
    assert len(loop.answers()) == 3 and loop.final is None and not hasattr(final, "models_")


def test_background_fits_give_the_same_questions_whatever_the_timing(pool, make):
    gold = pool["label"].to_numpy()
    runs = []
    for _ in range(2):
        person = Person(gold)
        loop = make(person, background=True)
        history = loop.run(20)
        runs.append([v.position for v in person.seen])
    assert runs[0] == runs[1] and len(runs[0]) == 20
    assert history["n_labels"].iloc[-1] == 20 and "t_wait" in history
    # the first batch comes from the label model alone (no matcher score yet), the next ones
    # from fitted matchers one round behind
    assert person.seen[0].score is None and person.seen[-1].score is not None


def test_views_say_why_and_where_the_session_stands(pool, make):
    gold = pool["label"].to_numpy()
    person = Person(gold)
    statuses = []
    make(person, on_status=statuses.append).run(12)
    assert all(v.reason for v in person.seen)
    last = person.seen[-1].progress
    assert (last.n_answers, last.budget, last.n_this_session) == (11, 12, 11)
    assert last.n_match + last.n_non_match + last.n_unsure == 11
    assert any("labels" in s for s in statuses)


def test_final_matcher_is_compared_on_held_out_expert_labels(pool, make, fast_matcher):
    gold = pool["label"].to_numpy()
    loop = make(Person(gold), final_matcher=fast_matcher(), batch_size=10)
    loop.run(40)
    report = loop.final
    assert report["n_labels"] == 40 and 0 < report["n_holdout"] < 40
    assert report["chosen"] in ("final", "in_loop")
    if "final_f1" in report:
        assert 0 <= report["final_f1"] <= 1 and 0 <= report["in_loop_f1"] <= 1
    assert loop.predict_proba().shape == (len(pool),)


def test_a_store_of_other_tables_is_refused_before_any_work(pool, lfs, make, tmp_path):
    gold = pool["label"].to_numpy()
    path = tmp_path / "labels.sqlite"
    make(Person(gold), path).run(3)
    other = pool.copy()
    other["left_surname"] = "changed"
    with pytest.raises(LabelStoreError, match="other records"):
        ActiveLoop(other, lfs, oracle=Person(gold), store=path)


def test_final_pseudo_labels_are_confident_hard_and_never_on_expert_pairs(pool, make):
    from matchers import SimilarityMatcher

    class Recording(SimilarityMatcher):
        def fit(self, pairs, y, sample_weight=None):
            self.seen_ = (pairs.index.to_numpy(), np.asarray(y), np.asarray(sample_weight))
            return super().fit(pairs, y, sample_weight=sample_weight)

    gold = pool["label"].to_numpy()
    reports = {}
    for pseudo in (False, True):
        final = Recording(seed=0, max_iter=20, learning_rate=0.1)
        loop = make(Person(gold), final_matcher=final, batch_size=10, pseudo_threshold=0.9,
                    pseudo_weight=0.3)
        loop.run(30)
        reports[pseudo] = loop.finish(pseudo_labels=pseudo)
        rows, y, w = final.seen_
    report = reports[True]
    trained = report["n_labels"] - report["n_audit"] - report["n_holdout"]
    assert (w == loop.expert_weight).sum() == trained  # held-out and audit labels never train
    pseudo_rows = rows[w == 0.3]
    assert report["n_pseudo"] == pseudo_rows.size > 0
    assert set(np.unique(y[w == 0.3])) <= {0.0, 1.0}
    assert not set(pseudo_rows.tolist()) & set(loop.expert_labels())
    assert "n_pseudo" not in reports[False]


@pytest.mark.parametrize("background", [False, True])
def test_a_batch_of_skips_brings_no_refit(pool, make, background):
    gold = pool["label"].to_numpy()
    person = Person(gold, {k: Answer.SKIP for k in range(5, 10)})  # the second batch, all of it
    loop = make(person, background=background, audit=0)
    fits = []
    fit_round = loop.fit_round
    loop.fit_round = lambda *a, **k: fits.append(len(loop.answers())) or fit_round(*a, **k)
    loop.run(10)
    assert len(loop.answers()) == 10
    assert fits.count(5) == 1  # fitted once on the first batch's 5 answers, not again after
    assert len(person.seen) == 15 and len({v.position for v in person.seen}) == 15
