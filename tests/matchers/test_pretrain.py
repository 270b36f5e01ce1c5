"""Contrastive pretraining: augmentations, InfoNCE, the cached encoder and its bad inputs."""

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from blocking.files import save_model
from matchers.encoding import MARKER
from matchers.network import SequenceEncoder
from matchers.pretrain import (
    CACHE_KIND,
    PretrainSettings,
    _record_tokens,
    augment,
    distinct_records,
    info_nce,
    pretrain_encoder,
)
from tests.matchers.conftest import make_pairs

ATTRS = ["title", "brand", "price"]


@pytest.fixture(scope="module")
def pool():
    """300 pairs: about 600 distinct records, enough to pretrain on."""
    return make_pairs(300, seed=5)


def records_of(pairs):
    return distinct_records(pairs, ATTRS)


def test_distinct_records_are_serialized_sorted_and_order_free(pool):
    pairs, _ = pool
    texts = records_of(pairs)
    assert texts.is_unique and texts.is_monotonic_increasing
    assert texts.iloc[0].startswith(MARKER + "title ")
    assert f"{MARKER}brand" in texts.iloc[0] and f"{MARKER}price" in texts.iloc[0]
    shuffled = records_of(pairs.sample(frac=1.0, random_state=0))
    pd.testing.assert_series_equal(texts, shuffled)
    with pytest.raises(ValueError, match="brand"):
        distinct_records(pairs, ATTRS, records=pd.DataFrame({"title": ["a"], "price": [1]}))


def test_augment_keeps_attribute_names_and_is_seeded(pool):
    tokens = _record_tokens(records_of(pool[0]).iloc[:50])
    assert tokens.n_attributes == 3
    batch = np.arange(50)
    a, la = augment(tokens, batch, np.random.default_rng(0), max_tokens=64)
    b, lb = augment(tokens, batch, np.random.default_rng(0), max_tokens=64)
    c, _ = augment(tokens, batch, np.random.default_rng(1), max_tokens=64)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape[0] == 50 and np.all(la >= 3) and np.all(la <= tokens.count[batch])
    marker_ids = np.flatnonzero(np.char.startswith(tokens.vocab.astype(str), MARKER))
    for row, n in zip(a, la, strict=True):
        assert set(marker_ids) <= set(row[:n])  # every attribute name survives
        assert np.all(row[n:] == 0)
    short, ls = augment(tokens, batch, np.random.default_rng(0), max_tokens=4)
    assert short.shape[1] <= 4 and ls.max() <= 4


def test_augment_moves_and_deletes_tokens(pool):
    tokens = _record_tokens(records_of(pool[0]).iloc[:200])
    views, lengths = augment(tokens, np.arange(200), np.random.default_rng(3), max_tokens=64)
    original = [tokens.code[s : s + c] for s, c in zip(tokens.start, tokens.count, strict=True)]
    changed = [not np.array_equal(v[:n], o) for v, n, o in zip(views, lengths, original,
                                                                strict=True)]
    shorter = lengths < tokens.count[:200]
    assert np.mean(changed) > 0.5 and shorter.any()


def test_info_nce_prefers_aligned_views():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(32, 8, generator=g)
    aligned = info_nce(a, a + 0.01 * torch.randn(32, 8, generator=g), 0.1)
    shuffled = info_nce(a, a[torch.randperm(32, generator=g)], 0.1)
    assert aligned < 0.1 < shuffled


def test_pretraining_lowers_the_contrastive_loss(pool):
    encoder = SequenceEncoder(n_buckets=2**10, hash_dim=8, pretrained_dim=0, hidden=8)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        history = pretrain_encoder(
            encoder, records_of(pool[0]), 2**10, PretrainSettings(steps=40, batch_size=64)
        )
    assert [h["steps"] for h in history] == [9, 18, 27, 36, 40]  # 9 batches of 64 per pass
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]


def pretrained_rnn(small_rnn, cache, **kw):
    return small_rnn(pretrain=True, pretrain_steps=5, pretrain_cache=str(cache), **kw)


def encoder_state(m):
    return {k: v.clone() for k, v in m.network_.encoder.state_dict().items()}


def test_cache_is_reused_by_a_resumed_run(pool, small_rnn, tmp_path):
    pairs, y = pool
    first = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    assert first.pretraining_["status"] == "built" and first.pretraining_["records"] >= 256
    assert len(list(tmp_path.glob("*.model"))) == 1
    # same records in another order, a new process would do the same: the cache answers
    shuffled = pairs.sample(frac=1.0, random_state=1)
    second = pretrained_rnn(small_rnn, tmp_path, epochs=1)
    second.fit(shuffled, y[shuffled.index])
    assert second.pretraining_["status"] == "cached"
    assert second.pretraining_["fingerprint"] == first.pretraining_["fingerprint"]
    resumed = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    assert resumed.pretraining_["status"] == "cached"  # and the very same model as the first
    np.testing.assert_array_equal(resumed.match_proba(pairs), first.match_proba(pairs))
    other_seed = pretrained_rnn(small_rnn, tmp_path, epochs=1, seed=9).fit(pairs, y)
    assert other_seed.pretraining_["status"] == "built"


def test_pretrained_weights_reach_the_matcher(pool, small_rnn, tmp_path):
    pairs, y = pool
    cold = small_rnn(epochs=1).fit(pairs, y)
    warm = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    a, b = encoder_state(cold), encoder_state(warm)
    assert any(not torch.allclose(a[k], b[k]) for k in a)


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: p.write_bytes(b"not a model file"), "unreadable"),
        (lambda p: p.write_bytes(p.read_bytes()[:200]), "unreadable"),
        (lambda p: save_model({"fingerprint": "0" * 64, "state": {}}, p, kind=CACHE_KIND),
         "other records"),
        (lambda p: save_model({"x": 1}, p, kind="SimilarityMatcher"), "unreadable"),
    ],
)
def test_damaged_or_foreign_cache_is_rebuilt_with_a_message(
    pool, small_rnn, tmp_path, damage, reason
):
    pairs, y = pool
    pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    (path,) = tmp_path.glob("*.model")
    damage(path)
    with pytest.warns(UserWarning, match=f"pretraining cache .*{reason}"):
        m = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    assert m.pretraining_["status"] == "built"
    again = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    assert again.pretraining_["status"] == "cached"


def test_a_pool_too_small_to_pretrain_on_trains_without(train_pairs, small_rnn, tmp_path):
    pairs, y = train_pairs
    with pytest.warns(UserWarning, match="too few to pretrain"):
        m = pretrained_rnn(small_rnn, tmp_path).fit(pairs, y)
    assert m.pretraining_["status"] == "too_few"
    assert m.match_proba(pairs).shape == (len(pairs),)
    assert not list(tmp_path.iterdir())
    extra = make_pairs(200, seed=8)[0]
    records = pd.concat(
        [extra[[f"left_{a}" for a in ATTRS]].set_axis(ATTRS, axis=1),
         extra[[f"right_{a}" for a in ATTRS]].set_axis(ATTRS, axis=1)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y, records=records)
    assert m.pretraining_["status"] == "built"
    with pytest.raises(TypeError, match="records"):
        small_rnn().fit(pairs, y, records=records.to_numpy())


def test_every_member_has_its_own_pretraining(pool, small_rnn, tmp_path):
    pairs, y = pool
    m = pretrained_rnn(small_rnn, tmp_path, epochs=1, n_members=2).fit(pairs, y)
    assert len(list(tmp_path.glob("*.model"))) == 2
    a, b = (m.networks_[i].encoder.state_dict()["gru.weight_hh_l0"] for i in (0, 1))
    assert not torch.allclose(a, b)
    single = pretrained_rnn(small_rnn, tmp_path, epochs=1).fit(pairs, y)
    assert single.pretraining_["status"] == "cached"  # the first member's pretraining
