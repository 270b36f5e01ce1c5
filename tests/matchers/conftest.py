"""Tiny synthetic record pairs for the matcher tests (no shared data needed)."""

import numpy as np
import pandas as pd
import pytest

WORDS = (
    "apple sony canon nikon camera lens tripod case cable charger laptop phone tablet speaker "
    "wireless black white silver pro mini max ultra digital kit bag battery"
).split()


def make_pairs(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Half matches (same product, small noise) and half non-matches (different products)."""
    rng = np.random.default_rng(seed)
    rows, labels = [], []
    for i in range(n):
        title = " ".join(rng.choice(WORDS, size=5))
        model = f"x{rng.integers(100, 999)}"
        match = i % 2 == 0
        if match:
            other_title, other_model = title + " " + str(rng.choice(WORDS)), model
        else:
            other_title, other_model = (
                " ".join(rng.choice(WORDS, size=5)),
                f"y{rng.integers(100, 999)}",
            )
        price = float(rng.integers(10, 500))
        rows.append(
            {
                "id": i,
                "left_title": f"{title} {model}",
                "left_brand": rng.choice(WORDS) if i % 7 else np.nan,
                "left_price": price,
                "right_title": f"{other_title} {other_model}",
                "right_brand": rng.choice(WORDS),
                "right_price": price if match else float(rng.integers(10, 500)),
            }
        )
        labels.append(int(match))
    return pd.DataFrame(rows), np.array(labels)


@pytest.fixture(scope="session")
def train_pairs():
    return make_pairs(80, seed=1)


@pytest.fixture(scope="session")
def test_pairs():
    return make_pairs(40, seed=2)


@pytest.fixture(scope="session")
def large_pairs():
    """Above 5,000 pairs: 10,000 rows once soft labels enter each pair twice."""
    return make_pairs(5200, seed=3)


@pytest.fixture
def small_rnn():
    """Hyper-parameters that keep a fit to a fraction of a second."""
    from matchers import RNNMatcher

    def build(**kwargs):
        params = dict(
            hash_dim=8,
            n_buckets=2**10,
            hidden=8,
            mlp_hidden=16,
            epochs=3,
            warm_epochs=1,
            batch_size=16,
            lr=1e-2,
            embedding="hash",
        )
        params.update(kwargs)
        return RNNMatcher(**params)

    return build
