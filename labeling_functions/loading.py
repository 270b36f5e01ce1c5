"""Load a list of LFs from a Python file (the `lfs` list it defines), e.g. for the CLI."""

from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from blocking.validation import InputError, InputFileNotFoundError, InputIsADirectoryError
from labeling_functions.core import ExpertLF, as_expert_lf


class LFFileError(InputError):
    """An LF file could not be imported; the message names the file, the line and the fix."""


class LFFileEntryError(LFFileError, TypeError):
    """An entry of the LF file's list is not a labeling function."""


def _line_in(path: Path, err: BaseException) -> str:
    """', line N' of the deepest traceback frame inside the LF file, '' if none is."""
    target = str(path.resolve())
    line = None
    for frame in traceback.extract_tb(err.__traceback__):
        if str(Path(frame.filename).resolve()) == target:
            line = frame.lineno
    return f", line {line}" if line is not None else ""


def _import_error(path: Path, err: BaseException) -> LFFileError:
    where = f"LF file {str(path)!r}"
    if isinstance(err, SyntaxError):
        at = f", line {err.lineno}" if err.lineno else ""
        code = f": {err.text.strip()!r}" if err.text and err.text.strip() else ""
        return LFFileError(
            f"{where}{at}: {type(err).__name__}: {err.msg}{code}; fix the Python syntax"
        )
    line = _line_in(path, err)
    if isinstance(err, ImportError):
        return LFFileError(
            f"{where}{line}: an import failed: {err}; install the missing package, put the "
            "module beside the LF file, or remove the import"
        )
    if isinstance(err, SystemExit):
        return LFFileError(
            f"{where}{line}: called sys.exit({err.code!r}) while being imported; an LF file "
            "must only define LFs and the list of them, not run or stop a program"
        )
    return LFFileError(
        f"{where}{line}: raised {type(err).__name__} while being imported: {err}; fix the "
        "code at that line"
    )


def load_lfs(path: str | Path, name: str = "lfs") -> list[ExpertLF]:
    """Import the Python file at `path` and return its list `name` (default `lfs`) of LFs.

    Whatever goes wrong in the file (syntax, a failed import, sys.exit, any exception) is
    raised as an LFFileError naming the file and the line.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"LF file {str(path)!r} does not exist; check the path")
    if path.is_dir():
        raise InputIsADirectoryError(
            f"LF file {str(path)!r} is a folder; give the Python file that defines `{name}`"
        )
    if path.suffix != ".py":
        raise LFFileError(f"LF file {str(path)!r} must be a Python file (.py)")
    module_name = f"_riskweasul_lfs_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # so dataclasses / pickling inside the file work
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # as when running the file: it may import modules beside it
    try:
        spec.loader.exec_module(module)
    except (Exception, SystemExit) as err:  # a KeyboardInterrupt still stops the program
        sys.modules.pop(module_name, None)
        raise _import_error(path, err) from err
    finally:
        sys.path.remove(folder)
    if not hasattr(module, name):
        raise LFFileError(
            f"LF file {str(path)!r} defines no list named {name!r}; end it with "
            f"`{name} = [...]` listing the LFs"
        )
    lfs = getattr(module, name)
    if not isinstance(lfs, (list, tuple)) or not lfs:
        raise LFFileError(f"{name!r} in {str(path)!r} must be a non-empty list of LFs")
    out = []
    for i, lf in enumerate(lfs):
        try:
            out.append(as_expert_lf(lf))
        except TypeError as err:
            raise LFFileEntryError(
                f"LF file {str(path)!r}: entry {i} of {name!r}: {err}"
            ) from err
    return out
