"""Files the project writes: atomic replacement, and one model-file format with a checked header.

A model file is a header line (magic, then JSON: kind, the pickled object's class, format,
riskweasul version) followed by a pickle. `load_model` reads and checks the header before
unpickling anything, so a file of the wrong kind, a truncated file or a stranger's file is
refused with a message, never half-read; the unpickled object must be of the header's class.
Pickles run code when loaded: load only model files you or your colleagues wrote.
"""

from __future__ import annotations

import json
import os
import pickle
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from sklearn.exceptions import NotFittedError

MAGIC = b"RISKWEASUL-MODEL "
FORMAT = 1


class StaleModelError(ValueError):
    """A model file this version can no longer use as it was fitted (raised while unpickling)."""


def _version() -> str:
    try:
        return metadata.version("riskweasul")
    except metadata.PackageNotFoundError:  # running from a source tree that was not installed
        return "unknown"


def atomic_write(path: str | os.PathLike, data: bytes | str) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename, so a
    kill mid-write leaves either the old file or the new one, never half of one."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder; give a file name to write")
    if not path.parent.exists():
        raise FileNotFoundError(
            f"cannot write {path}: the folder {path.parent} does not exist; create it first"
        )
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(obj: Any, path: str | os.PathLike, kind: str) -> None:
    """Write `obj` as a model file of `kind` (e.g. "SimilarityMatcher"), atomically."""
    header = json.dumps({"kind": kind, "class": type(obj).__name__, "format": FORMAT,
                         "riskweasul": _version()})
    try:
        payload = pickle.dumps(obj, protocol=5)
    except (pickle.PicklingError, AttributeError, TypeError) as exc:
        raise ValueError(
            f"cannot save this {kind} to {path}: part of it cannot be pickled ({exc}). Functions "
            "a model holds must be defined at module level (not lambdas or local functions)."
        ) from None
    atomic_write(path, MAGIC + header.encode() + b"\n" + payload)


def read_header(path: str | os.PathLike, where: str = "load") -> tuple[dict, bytes]:
    """The checked header of a model file and its payload; a ValueError says what is wrong."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{where}: no file at {path}")
    if path.is_dir():
        raise IsADirectoryError(f"{where}: {path} is a folder, not a model file")
    blob = path.read_bytes()
    if not blob.startswith(MAGIC):
        raise ValueError(
            f"{where}: {path} is not a riskweasul model file (no header; it is empty, truncated "
            "or was written by another program). Save models with their own save method."
        )
    line, _, payload = blob[len(MAGIC):].partition(b"\n")
    try:
        header = json.loads(line)
    except ValueError:
        raise ValueError(f"{where}: {path} has a damaged header; write the model again") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(
            f"{where}: {path} has model-file format {header!r}; this riskweasul reads format "
            f"{FORMAT}. Save the model again with this version."
        )
    return header, payload


def load_model(path: str | os.PathLike, kind: str | tuple[str, ...], where: str = "load") -> Any:
    """Read a model file of `kind` (one name or several) written by `save_model`."""
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    header, payload = read_header(path, where)
    if header.get("kind") not in kinds:
        raise ValueError(
            f"{where}: {path} holds a {header.get('kind')}, not a {' or '.join(kinds)}; "
            f"load it with {header.get('kind')}.load"
        )
    try:
        obj = pickle.loads(payload)
    except StaleModelError as exc:
        raise ValueError(f"{where}: {path}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a damaged file
        raise ValueError(
            f"{where}: {path} is damaged or truncated ({type(exc).__name__}); write the model again"
        ) from None
    expected = header.get("class", header.get("kind"))  # files before "class": kind = class
    if type(obj).__name__ != expected:  # a header pasted onto another pickle
        raise ValueError(
            f"{where}: {path} says it holds a {expected} but holds a "
            f"{type(obj).__name__}; the file was not written by riskweasul. Write the model again"
        )
    return obj


class ModelFile:
    """Mixin giving a model `save(path)` and `Class.load(path)` in the one model-file format,
    with the class name as the file's kind; `_fitted_attribute` names what `fit` sets."""

    _fitted_attribute: str

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted model to one model file (atomically, with a checked header)."""
        name = type(self).__name__
        if not hasattr(self, self._fitted_attribute):
            raise NotFittedError(f"{name}.save: the model is not fitted; call fit first")
        save_model(self, path, kind=name)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Any:
        """Read a model written by `save`; a file of another kind or a damaged one is refused
        before anything is unpickled. Load only files you trust."""
        return load_model(path, kind=cls.__name__, where=f"{cls.__name__}.load")
