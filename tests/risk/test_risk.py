import numpy as np
import pandas as pd
import pytest
import torch
from scipy.stats import truncnorm
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score

from labeling_functions.featurizer import PairFeaturizer
from risk import (
    RiskModel,
    mine_rules,
    portfolio,
    truncated_normal_quantile,
    value_at_risk,
)
from risk.rules import _scan, activations


def identity(df):
    return df


def test_truncated_normal_quantile_matches_scipy():
    mean = torch.tensor([0.1, 0.5, 0.9, 0.3], dtype=torch.float64)
    std = torch.tensor([0.2, 0.05, 0.5, 1.5], dtype=torch.float64)
    for q in (0.1, 0.5, 0.9):
        got = truncated_normal_quantile(mean, std, q).numpy()
        m, s = mean.numpy(), std.numpy()
        want = truncnorm.ppf(q, (0 - m) / s, (1 - m) / s, loc=m, scale=s)
        np.testing.assert_allclose(got, want, atol=1e-7)


def test_value_at_risk_is_against_the_predicted_label():
    mean = torch.tensor([0.8, 0.6, 0.2, 0.4], dtype=torch.float64)
    std = torch.full((4,), 0.1, dtype=torch.float64)
    pred = torch.tensor([True, True, False, False])
    r = value_at_risk(mean, std, pred, 0.9).numpy()
    assert r[1] > r[0]  # a predicted match with lower expected probability is riskier
    assert r[3] > r[2]  # a predicted non-match with higher expected probability is riskier
    # a wider distribution is riskier for the same mean
    wide = value_at_risk(mean, std * 3, pred, 0.9).numpy()
    assert (wide > r).all()


def test_portfolio_weighted_mean_and_variance():
    active = torch.tensor([[1.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    w = torch.tensor([2.0, 1.0], dtype=torch.float64)
    mu = torch.tensor([0.1, 0.9], dtype=torch.float64)
    sig = torch.tensor([0.1, 0.2], dtype=torch.float64)
    one = torch.ones(2, dtype=torch.float64)
    mean, std = portfolio(active, w, mu, sig, one, torch.tensor([0.7, 0.7]), one * 0.3)
    assert mean[0].item() == pytest.approx((2 * 0.1 + 0.7) / 3)
    assert mean[1].item() == pytest.approx((2 * 0.1 + 0.9 + 0.7) / 4)
    assert std[1].item() ** 2 == pytest.approx((4 * 0.01 + 0.04 + 0.09) / 16, rel=1e-6)


def test_scan_finds_the_widest_pure_threshold():
    rng = np.random.default_rng(0)
    x = rng.random(200)
    target = (x < 0.3) | (rng.random(200) < 0.02)
    thr, support, hits = _scan(x[:, None], target.astype(int), 5, 0.95)
    # brute force over every candidate threshold
    best = max((t for t in x if (x <= t).sum() >= 5 and target[x <= t].mean() >= 0.95),
               key=lambda t: (x <= t).sum())
    assert thr[0] == best and support[0] == (x <= best).sum()
    assert hits[0] == target[x <= best].sum()


def test_mined_rules_one_and_two_conditions():
    rng = np.random.default_rng(1)
    n = 400
    F = pd.DataFrame({"a__jaccard": rng.random(n), "b__exact": rng.integers(0, 2, n) * 1.0,
                      "c__noise": rng.random(n)})
    F.loc[rng.random(n) < 0.1, "c__noise"] = np.nan
    y = ((F.a__jaccard > 0.6) & (F.b__exact == 1)).astype(int).to_numpy()
    rules = mine_rules(F, y, min_support=5, min_purity=0.95)
    texts = [r.text for r in rules]
    non = [r for r in rules if r.label == 0 and len(r.conditions) == 1]
    assert any(c.feature == "a__jaccard" and c.op == "<=" for r in non for c in r.conditions)
    both = [r for r in rules if r.label == 1 and
            {c.feature for c in r.conditions} == {"a__jaccard", "b__exact"}]
    assert both, texts  # matches need the conjunction of two conditions
    assert len(set(texts)) == len(texts)


def test_identical_features_give_one_rule():
    rng = np.random.default_rng(2)
    x = rng.random(300)
    F = pd.DataFrame({"f": x, "g": x})
    rules = mine_rules(F, (x > 0.5).astype(int), max_conditions=1)
    assert len([r for r in rules if r.label == 1]) == 1


def test_near_copy_rules_are_pruned():
    rng = np.random.default_rng(3)
    x = rng.random(400)
    near_copy = np.clip(x + rng.normal(0, 0.01, 400), 0, 1)  # agrees with x on ~97% of pairs
    F = pd.DataFrame({"f": x, "g": near_copy})
    y = (x > 0.5).astype(int)
    rules = mine_rules(F, y, max_conditions=1)
    assert len([r for r in rules if r.label == 1]) == 1
    both = mine_rules(F, y, max_conditions=1, max_overlap=1.0)
    assert {r.conditions[0].feature for r in both if r.label == 1} == {"f", "g"}


def synthetic(seed, n):
    """Two features; the matcher trusts `a` only, but pairs with b__exact == 0 are non-matches."""
    rng = np.random.default_rng(seed)
    F = pd.DataFrame({"a__sim": rng.random(n), "b__exact": (rng.random(n) < 0.7) * 1.0})
    y = ((F.a__sim > 0.5) & (F.b__exact == 1)).astype(int).to_numpy()
    p = np.clip(F.a__sim.to_numpy() + rng.normal(0, 0.1, n), 0, 1)
    return F, y, p


def test_risk_finds_mispredictions_better_than_uncertainty():
    F, y, p = synthetic(0, 300)
    rm = RiskModel(featurizer=identity, epochs=100, seed=0).fit(F, y, p)
    Ft, yt, pt = synthetic(1, 600)
    r = rm.risk(Ft, pt)
    wrong = (pt >= 0.5) != yt
    assert r.shape == (600,) and np.isfinite(r).all() and (r >= 0).all() and (r <= 1).all()
    assert roc_auc_score(wrong, r) > roc_auc_score(wrong, 1 - np.abs(2 * pt - 1)) + 0.05
    assert rm.loss_history_[-1] < rm.loss_history_[0]
    again = RiskModel(featurizer=identity, epochs=100, seed=0).fit(F, y, p).risk(Ft, pt)
    np.testing.assert_allclose(r, again)


def test_explain_names_the_rule_in_words():
    F, y, p = synthetic(0, 300)
    rm = RiskModel(featurizer=identity, epochs=50).fit(F, y, p)
    Ft, yt, pt = synthetic(1, 200)
    r = rm.risk(Ft, pt)
    i = int(np.argmax(np.where((pt >= 0.5) & (Ft.b__exact == 0), r, -1)))
    lines = rm.explain(i)
    assert lines[0].startswith("predicted match")
    text = "\n".join(lines)
    assert "b exact \u2264 0 -> non-match" in text and "of labelled non-matches" in text
    assert "mu=" in text and "sigma=" in text and "weight=" in text
    with pytest.raises(IndexError):
        rm.explain(10_000)


def test_lf_rules_use_label_model_precision_until_supported():
    n = 60
    rng = np.random.default_rng(3)
    y = (rng.random(n) < 0.3).astype(int)
    L = np.full((n, 2), -1)
    L[y == 0, 0] = 0  # LF 0 votes non-match on every non-match
    L[:, 1] = -1  # LF 1 never fires on the labelled pairs
    p = np.where(y == 1, 0.8, 0.3)
    p[:5] = 1 - p[:5]  # a few mistakes to rank

    class LF:
        def __init__(self, name, polarity):
            self.name, self.polarity = name, polarity

    lfs = [LF("years_differ", 0), LF("same_isbn", 1)]
    rm = RiskModel(lfs=lfs, max_conditions=0, epochs=30, min_support=5)
    rm.fit(None, y, p, L=L, lf_precision=[0.7, 0.95])
    table = rm.rule_table()
    assert table.loc[1, "mu"] == pytest.approx(0.95)  # no labelled support: the prior
    assert table.loc[0, "mu"] < 0.15  # well supported: close to the empirical 0 matches
    r = rm.risk(None, p, L=L)
    assert r.shape == (n,)
    assert any("years_differ -> non-match" in s for s in rm.explain(int(np.argmax(L[:, 0] == 0))))
    with pytest.raises(ValueError, match="columns"):
        rm.risk(None, p, L=L[:, :1])


def test_bad_input():
    F, y, p = synthetic(0, 50)
    rm = RiskModel(featurizer=identity, epochs=5)
    with pytest.raises(ValueError, match="0/1"):
        rm.fit(F, y + 2, p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        rm.fit(F, y, p + 2)
    with pytest.raises(ValueError, match="entries"):
        rm.fit(F, y, p[:10])
    with pytest.raises(ValueError, match="lf_precision"):
        rm.fit(F, y, p, L=np.full((50, 2), -1), lf_precision=[0.9])
    with pytest.raises(NotFittedError, match="fit"):
        RiskModel().risk(F, p)
    with pytest.raises(NotFittedError, match="fit"):
        RiskModel().explain(0)
    with pytest.raises(ValueError, match="confidence"):
        RiskModel(confidence=1.5).fit(F, y, p)
    with pytest.raises(ValueError, match="max_overlap"):
        RiskModel(max_overlap=0.0, featurizer=identity).fit(F, y, p)


@pytest.mark.parametrize("pairs_kind", ["none", "nothing_mined"])
def test_zero_rules_uses_the_matcher_feature_alone(pairs_kind):
    rng = np.random.default_rng(0)
    n = 200
    p = rng.random(n)
    y = (rng.random(n) < p).astype(int)
    if pairs_kind == "none":  # no LFs and no mining: no features at all
        rm, pairs = RiskModel(max_conditions=0, epochs=30), None
    else:  # a constant feature: nothing pure enough to mine
        rm, pairs = RiskModel(featurizer=identity, epochs=30), pd.DataFrame({"a__sim": np.ones(n)})
    rm.fit(pairs, y, p)
    assert rm.rules_ == []
    r = rm.risk(pairs, p)
    assert r.shape == (n,) and np.isfinite(r).all() and (r >= 0).all() and (r <= 1).all()
    # with the matcher feature alone, the least confident predictions are the riskiest
    confident = np.abs(2 * p - 1)
    assert r[confident < 0.2].mean() > r[confident > 0.8].mean()


def test_follows_the_estimator_contract_and_mines_record_level_rules():
    rng = np.random.default_rng(0)
    brands = np.array(["sony", "canon", "nikon", "apple", "lg"])
    n = 120
    y = (np.arange(n) % 2 == 0).astype(int)
    left = rng.choice(brands, n)
    right = np.where(y == 1, left, np.roll(left, 1))
    right = np.where((y == 0) & (right == left), "acer", right)
    # the brand sits in the title on the right side: only record-level views see it
    pairs = pd.DataFrame({"left_title": [f"{b} camera {i}" for i, b in enumerate(left)],
                          "left_brand": left,
                          "right_title": [f"camera {b} {i}" for i, b in enumerate(right)],
                          "right_brand": None})
    p = np.full(n, 0.6)
    before = (np.random.get_state()[1][:3].copy(),  # noqa: NPY002
              torch.random.get_rng_state().clone())
    rm = RiskModel(epochs=20, seed=0).fit(pairs, y, p)
    assert (np.random.get_state()[1][:3] == before[0]).all()  # noqa: NPY002
    assert torch.equal(torch.random.get_rng_state(), before[1])  # no global reseeding
    mined = {c.feature for r in rm.rules_ for c in r.conditions}
    assert any("record" in f for f in mined) and not any(f.startswith("brand__j") for f in mined)
    copy = clone(rm)
    assert copy.get_params() == rm.get_params() and not hasattr(copy, "rules_")
    shared = PairFeaturizer().fit(pairs)
    again = RiskModel(epochs=20, seed=0, featurizer=shared).fit(pairs, y, p)
    assert again.featurizer_ is shared
    np.testing.assert_allclose(again.risk(pairs, p), rm.risk(pairs, p))


def test_risk_reads_features_given_ahead_as_it_would_compute_them():
    F, y, p = synthetic(0, 200)
    rm = RiskModel(featurizer=identity, epochs=30, seed=0).fit(F, y, p)
    Ft, _, pt = synthetic(1, 50)
    np.testing.assert_array_equal(rm.risk(Ft, pt, features=identity(Ft)), rm.risk(Ft, pt))
    with pytest.raises(ValueError, match="features has 10 rows for 50 pairs"):
        rm.risk(Ft, pt, features=Ft.iloc[:10])


def test_fit_reads_features_given_ahead_as_it_would_compute_them():
    F, y, p = synthetic(0, 200)
    Ft, _, pt = synthetic(1, 50)
    plain = RiskModel(featurizer=identity, epochs=30, seed=0).fit(F, y, p)
    ahead = RiskModel(featurizer=identity, epochs=30, seed=0).fit(F, y, p, features=identity(F))
    assert [str(r) for r in ahead.rules_] == [str(r) for r in plain.rules_]
    np.testing.assert_array_equal(ahead.risk(Ft, pt), plain.risk(Ft, pt))
    with pytest.raises(ValueError, match="labelled pairs' rows"):
        RiskModel(featurizer=identity, epochs=3, seed=0).fit(F, y, p, features=F.iloc[:10])


def test_training_on_one_flat_tensor_equals_adam_on_each_parameter_group():
    F, y, p = synthetic(0, 120)
    rm = RiskModel(featurizer=identity, epochs=40, seed=0).fit(F, y, p)
    A = activations(rm.rules_, F, None, len(y))
    start = {
        "log_w": torch.zeros(len(rm.rules_), dtype=torch.float64),
        "log_sigma": torch.tensor(np.log(rm.rule_sigma0_)),
        "log_w_bin": torch.zeros(rm.n_bins, dtype=torch.float64),
        "log_sigma_bin": torch.full((rm.n_bins,), float(np.log(0.1)), dtype=torch.float64),
    }
    params = {k: v.clone().requires_grad_(True) for k, v in start.items()}
    wrong = (p >= 0.5) != y
    i, j = (torch.as_tensor(g.ravel()) for g in
            np.meshgrid(np.flatnonzero(wrong), np.flatnonzero(~wrong), indexing="ij"))
    opt = torch.optim.Adam(params.values(), lr=rm.lr)  # the default, per-group step
    At, pt = torch.as_tensor(A, dtype=torch.float64), torch.as_tensor(p)
    for _ in range(rm.epochs):
        opt.zero_grad()
        r = rm._forward(At, pt, {k: v.exp() for k, v in params.items()})[0]
        loss = torch.nn.functional.softplus(-(r[i] - r[j]) / rm.temperature).mean()
        reg = sum(((v - start[k]) ** 2).sum() for k, v in params.items())
        (loss + rm.l2 * reg).backward()
        opt.step()
    for k, v in params.items():
        np.testing.assert_allclose(rm.params_[k].numpy(), v.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
