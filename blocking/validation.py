"""Checks of user-given options and config files, run before any work starts.

Every check raises an `InputError` (a ValueError) whose message says what is wrong, where
(option, file, line, column) and what to do, so that a command line can print it as one line.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

# numpy's, scikit-learn's and torch's seeding all accept 0 <= seed < 2**32
MAX_SEED = 2**32 - 1
_INTEGER_TEXT = re.compile(r"[+-]?\d+")


class InputError(ValueError):
    """A user input is wrong; the message says what, where and what to do."""


class InputFileNotFoundError(InputError, FileNotFoundError):
    """A file the user named does not exist."""


class InputIsADirectoryError(InputError, IsADirectoryError):
    """A folder was given where a file is needed."""


Check = Callable[..., Any]


def _describe(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    return repr(value)


def _integer(value: Any, where: str, need: str, example: str) -> int:
    """`value` as an int: Python/numpy integers or their decimal text; bools and floats refused."""
    if isinstance(value, (bool, np.bool_)):
        raise InputError(
            f"{where}: expected {need}, got the boolean {_describe(value)}; give {example}"
        )
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value.strip()):
        return int(value.strip())
    if isinstance(value, (float, np.floating)) or (
        isinstance(value, str) and re.fullmatch(r"\s*[+-]?(\d+\.\d*|\.\d+|\d+e\d+)\s*", value)
    ):
        raise InputError(
            f"{where}: expected {need}, got {value!r}, which is not a whole number; give {example}"
        )
    raise InputError(f"{where}: expected {need}, got {_describe(value)}; give {example}")


def _at_least(value: Any, where: str, minimum: int, need: str) -> int:
    """`value` as an integer >= `minimum`; `need` says what the option counts."""
    n = _integer(value, where, need, f"{minimum} or more")
    if n < minimum:
        raise InputError(f"{where}: expected {need}, got {n}; give {minimum} or more")
    return n


def positive_int(value: Any, where: str) -> int:
    """`value` as an integer >= 1 (counts, sizes, budgets); `where` names the option/file."""
    return _at_least(value, where, 1, "a positive whole number (1, 2, 3, ...)")


def non_negative_int(value: Any, where: str) -> int:
    """`value` as an integer >= 0 (a budget of 0 labels means the LFs alone)."""
    return _at_least(value, where, 0, "a whole number (0, 1, 2, ...)")


def seed(value: Any, where: str = "--seed") -> int:
    """`value` as a random seed: a whole number 0 <= seed < 2**32."""
    need = f"a whole number from 0 to {MAX_SEED}"
    n = _integer(value, where, need, "e.g. 0")
    if not 0 <= n <= MAX_SEED:
        raise InputError(f"{where}: the seed must be {need}, got {n}; give e.g. 0")
    return n


MAX_THREADS = 1024


def thread_count(value: Any, where: str = "--threads") -> int:
    """`value` as a number of CPU threads, 1 to MAX_THREADS (more would only exhaust memory)."""
    n = _at_least(value, where, 1, "a number of threads (1, 2, ...)")
    if n > MAX_THREADS:
        raise InputError(
            f"{where}: {n} threads is more than any machine runs usefully (at most "
            f"{MAX_THREADS}); give the number of CPU cores to use, e.g. {os.cpu_count() or 1}"
        )
    return n


def port(value: Any, where: str = "--port") -> int:
    """`value` as a TCP port number, 1 to 65535."""
    n = _integer(value, where, "a port number from 1 to 65535", "e.g. 8765")
    if not 1 <= n <= 65535:
        raise InputError(f"{where}: a port number is 1 to 65535, got {n}; give e.g. 8765")
    return n


def fraction(value: Any, where: str) -> float:
    """`value` as a number from 0 to 1 (a share, a weight)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"{where}: expected a number from 0 to 1, got {_describe(value)}")
    if not 0.0 <= float(value) <= 1.0:  # NaN fails too
        raise InputError(f"{where}: expected a number from 0 to 1, got {value!r}")
    return float(value)


def non_negative(value: Any, where: str) -> float:
    """`value` as a finite number >= 0 (a scale, a width)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise InputError(f"{where}: expected a number >= 0, got {_describe(value)}")
    if not 0.0 <= float(value) < float("inf"):  # NaN fails too
        raise InputError(f"{where}: expected a finite number >= 0, got {value!r}")
    return float(value)


def boolean(value: Any, where: str) -> bool:
    """`value` as a bool; only true/false themselves are accepted (not 0/1 or "yes")."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise InputError(f"{where}: expected true or false, got {_describe(value)}")


def text(value: Any, where: str) -> str:
    """`value` as a non-empty string (a path, a name)."""
    if isinstance(value, str) and value.strip():
        return value
    raise InputError(f"{where}: expected a non-empty text value, got {_describe(value)}")


def one_of(*choices: str) -> Check:
    """A check accepting exactly one of `choices` (names of selectors, matchers, ...)."""

    def check(value: Any, where: str) -> str:
        if isinstance(value, str) and value in choices:
            return value
        close = difflib.get_close_matches(str(value), choices, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise InputError(
            f"{where}: expected one of {', '.join(choices)}, got {_describe(value)}{hint}"
        )

    return check


def _path(value: Any, where: str) -> Path:
    return Path(value) if isinstance(value, os.PathLike) else Path(text(value, where))


def input_file(value: Any, where: str, suffixes: tuple[str, ...] = ()) -> Path:
    """`value` as the path of an existing, readable, non-empty file (with one of `suffixes`)."""
    path = _path(value, where)
    if not path.exists():
        raise InputFileNotFoundError(f"{where}: no such file {str(path)!r}; check the path")
    if path.is_dir():
        raise InputIsADirectoryError(f"{where}: {str(path)!r} is a folder; give a file")
    if suffixes and path.suffix.lower() not in suffixes:
        raise InputError(
            f"{where}: {str(path)!r} is not a {' / '.join(suffixes)} file; give one of those"
        )
    if not os.access(path, os.R_OK):
        raise InputError(f"{where}: {str(path)!r} cannot be read (permissions); check its mode")
    if path.stat().st_size == 0:
        raise InputError(f"{where}: {str(path)!r} is empty (0 bytes)")
    return path


def output_folder(value: Any, where: str) -> Path:
    """`value` as a folder to write into: it exists as a writable folder or can be made."""
    path = _path(value, where)
    if path.exists() and not path.is_dir():
        raise InputError(
            f"{where}: {str(path)!r} exists and is a file, not a folder; give a folder path"
        )
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir() or not os.access(probe, os.W_OK | os.X_OK):
        raise InputError(f"{where}: cannot write into {str(probe)!r} (permissions)")
    return path


def check_options(
    values: Mapping[str, Any],
    checks: Mapping[str, Check],
    where: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """Each value checked by `checks[name]`, names normalised to snake_case; None skipped.

    Refuses unknown names and the same option spelt twice (`batch-size` and `batch_size`).
    `where(name)` says where a name came from (default: the command-line option `--name`).
    """
    where = where or (lambda name: "--" + name.replace("_", "-"))
    out: dict[str, Any] = {}
    spelling: dict[str, str] = {}
    for raw, value in values.items():
        name = str(raw).replace("-", "_")
        if name in spelling:
            raise InputError(
                f"{where(raw)}: the option {name!r} is given twice, as {spelling[name]!r} and "
                f"{raw!r} (at {where(spelling[name])}); keep one of them"
            )
        spelling[name] = str(raw)
        if name not in checks:
            close = difflib.get_close_matches(name, list(checks), n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise InputError(
                f"{where(raw)}: unknown option {raw!r}; {hint}known options: "
                f"{', '.join(sorted(checks))}"
            )
        if value is not None:
            out[name] = checks[name](value, where(raw))
    return out


def _key_position(source: str, key: str, toml: bool) -> tuple[int, int] | None:
    """(line, column) of `key` where it is defined in a config file's text, 1-based."""
    quoted = rf"[\"']?{re.escape(key)}[\"']?"
    pattern = rf"^\s*({quoted})\s*=" if toml else rf"(\"{re.escape(key)}\")\s*:"
    match = re.search(pattern, source, flags=re.MULTILINE)
    if match is None:
        return None
    start = match.start(1)
    line = source.count("\n", 0, start) + 1
    return line, start - (source.rfind("\n", 0, start) + 1) + 1


def _no_duplicate_keys(path: Path, source: str) -> Callable[[list], dict]:
    def hook(items: list) -> dict:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                lines = [m.start() for m in re.finditer(rf"\"{re.escape(key)}\"\s*:", source)]
                at = [source.count("\n", 0, s) + 1 for s in lines]
                raise InputError(
                    f"{path}: the key {key!r} appears twice (lines {at}); keep one of them"
                )
            seen[key] = value
        return seen

    return hook


def read_config(path: str | Path, checks: Mapping[str, Check]) -> dict[str, Any]:
    """The options in a JSON or TOML config file, each checked by `checks` (see check_options).

    Errors name the file, the line and column of the offending key, and the fix.
    """
    path = Path(path)
    if not path.exists():
        raise InputFileNotFoundError(f"{path}: no such config file; check the path")
    if path.is_dir():
        raise InputIsADirectoryError(f"{path}: is a folder; give a .toml or .json config file")
    try:
        source = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise InputError(
            f"{path}: byte {err.start} is not valid UTF-8; save the config file as UTF-8"
        ) from None
    toml = path.suffix.lower() == ".toml"
    try:
        if toml:
            import tomllib

            config = tomllib.loads(source)
        else:
            config = json.loads(source, object_pairs_hook=_no_duplicate_keys(path, source))
    except json.JSONDecodeError as err:
        raise InputError(
            f"{path}, line {err.lineno}, column {err.colno}: not valid JSON ({err.msg}); "
            "fix the file (or use a .toml file)"
        ) from None
    except ValueError as err:  # tomllib.TOMLDecodeError; its message holds line and column
        if isinstance(err, InputError):
            raise
        raise InputError(f"{path}: not valid TOML: {err}; fix the file") from None
    if not isinstance(config, dict):
        raise InputError(
            f"{path}: expected a table of options (key = value), got a {type(config).__name__}"
        )

    def where(key: str) -> str:
        pos = _key_position(source, key, toml)
        return f"{path}, line {pos[0]}, column {pos[1]} ({key})" if pos else f"{path} ({key})"

    return check_options(config, checks, where)
