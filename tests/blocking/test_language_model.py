"""The `lm` extra: weight check, embedding cache and the embedding blocker (fake encoders where
the extra is not installed)."""

from __future__ import annotations

import hashlib
import pickle

import numpy as np
import pandas as pd
import pytest

from blocking import EmbeddingKNNBlocker
from blocking.language_model import (
    DIMENSION,
    MINILM_SHA256,
    SentenceEncoder,
    lm_available,
    verify_weights,
)


class CountingEncoder(SentenceEncoder):
    """A SentenceEncoder whose network is a hash of the text: counts what it had to encode."""

    encoded = 0

    def _encode(self, texts: list[str]) -> np.ndarray:
        CountingEncoder.encoded += len(texts)
        out = np.zeros((len(texts), DIMENSION), np.float32)
        for i, text in enumerate(texts):
            out[i, int(hashlib.md5(text.encode()).hexdigest(), 16) % DIMENSION] = 1.0
        return out


class LetterEncoder:
    """Unit vectors of letter counts: records sharing letters are near."""

    def encode(self, texts):
        out = np.zeros((len(texts), 26), np.float32)
        for i, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[i, ord(ch) - 97] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)


def test_verify_weights_refuses_another_file_naming_path_and_both_hashes(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"not the tested weights")
    found = hashlib.sha256(b"not the tested weights").hexdigest()
    with pytest.raises(ValueError) as err:
        verify_weights(tmp_path)
    message = str(err.value)
    assert str(tmp_path / "model.safetensors") in message
    assert found in message and MINILM_SHA256 in message


def test_verify_weights_accepts_the_expected_hash_and_reports_a_missing_file(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"abc")
    assert verify_weights(tmp_path, hashlib.sha256(b"abc").hexdigest()).name == "model.safetensors"
    with pytest.raises(FileNotFoundError, match="no weight file"):
        verify_weights(tmp_path / "elsewhere")


def test_a_wrong_weight_file_is_refused_before_loading(tmp_path):
    (tmp_path / "model.safetensors").write_bytes(b"foreign")
    with pytest.raises(ValueError, match="refusing the weight file"):
        SentenceEncoder(model_dir=tmp_path, progress=False).encode(["a record"])


def test_encoder_caches_per_text_list_and_rebuilds_a_corrupt_cache(tmp_path):
    encoder = CountingEncoder(cache_dir=tmp_path, progress=False)
    CountingEncoder.encoded = 0
    first = encoder.encode(["b", "a", "b"])
    assert CountingEncoder.encoded == 2  # each distinct text once
    np.testing.assert_array_equal(first[0], first[2])
    again = encoder.encode(["a", "b"])
    assert CountingEncoder.encoded == 2  # read from the cache
    np.testing.assert_array_equal(again, first[[1, 0]])
    (cached,) = tmp_path.glob("*.npy")
    cached.write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable"):
        rebuilt = encoder.encode(["a", "b"])
    assert CountingEncoder.encoded == 4
    np.testing.assert_array_equal(rebuilt, again)
    assert encoder.encode([]).shape == (0, DIMENSION)


def test_encoder_pickles_without_its_network():
    encoder = SentenceEncoder(progress=False)
    encoder._model = object()  # stands for a loaded network
    assert pickle.loads(pickle.dumps(encoder))._model is None


@pytest.mark.parametrize("bad", [{"batch_size": 0}, {"max_chars": "10"}])
def test_encoder_refuses_bad_settings(bad):
    with pytest.raises(ValueError, match="SentenceEncoder"):
        SentenceEncoder(**bad)


def test_embedding_blocker_keeps_nearest_neighbours_for_linkage_and_dedup():
    A = pd.DataFrame({"id": ["a1", "a2"], "name": ["abc", "xyz"]})
    B = pd.DataFrame({"id": ["b1", "b2", "b3"], "name": ["zyx", "cab", "qqq"]})
    pairs = EmbeddingKNNBlocker("name", k=1, encoder=LetterEncoder()).block(A, B)
    assert set(map(tuple, pairs.to_numpy())) == {("a1", "b2"), ("a2", "b1")}
    T = pd.DataFrame({"id": [1, 2, 3, 4], "name": ["abc", "qqq", "bca", "qqr"]})
    dedup = EmbeddingKNNBlocker("name", k=1, encoder=LetterEncoder()).block(T)
    assert set(map(tuple, dedup.to_numpy())) == {(1, 3), (2, 4)}


def test_embedding_blocker_refuses_a_bad_encoder():
    with pytest.raises(TypeError, match="encode"):
        EmbeddingKNNBlocker("name", encoder="minilm")

    class Short:
        def encode(self, texts):
            return np.ones((1, 4), np.float32)

    A = pd.DataFrame({"id": [1, 2], "name": ["a", "b"]})
    with pytest.raises(ValueError, match="one row per text"):
        EmbeddingKNNBlocker("name", encoder=Short()).block(A)


@pytest.mark.skipif(lm_available(), reason="the lm extra is installed")
def test_without_the_extra_the_encoder_says_how_to_install_it():
    with pytest.raises(ImportError, match=r"riskweasul\[lm\]"):
        SentenceEncoder(progress=False).encode(["a record"])


@pytest.mark.skipif(not lm_available(), reason="needs the lm extra")
def test_minilm_puts_a_paraphrase_nearer_than_an_unrelated_record():
    vectors = SentenceEncoder(progress=False, device="cpu").encode(
        ["apple iphone 12 smartphone 64gb black", "iphone 12 by apple, 64 gb, black",
         "stainless steel kitchen knife set"])
    assert vectors.shape == (3, DIMENSION)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2
