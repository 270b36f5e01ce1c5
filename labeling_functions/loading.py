"""Load a list of LFs from a Python file (the `lfs` list it defines), e.g. for the CLI."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from labeling_functions.core import ExpertLF, as_expert_lf


def load_lfs(path: str | Path, name: str = "lfs") -> list[ExpertLF]:
    """Import the Python file at `path` and return its list `name` (default `lfs`) of LFs."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"LF file {str(path)!r} does not exist")
    if path.suffix != ".py":
        raise ValueError(f"LF file {str(path)!r} must be a Python file (.py)")
    module_name = f"_riskweasul_lfs_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so dataclasses / pickling inside the file work
    try:
        spec.loader.exec_module(module)
    except Exception:
        sys.modules.pop(module_name, None)
        raise
    if not hasattr(module, name):
        raise ValueError(f"LF file {str(path)!r} defines no list named {name!r}")
    lfs = getattr(module, name)
    if not isinstance(lfs, (list, tuple)) or not lfs:
        raise ValueError(f"{name!r} in {str(path)!r} must be a non-empty list of LFs")
    try:
        return [as_expert_lf(lf) for lf in lfs]
    except TypeError as err:
        raise TypeError(f"{str(path)!r}: {err}") from err
