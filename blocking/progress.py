"""The one progress display of the project: a rich bar that a `progress=False` model never shows."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


def progress_bar(enabled: bool) -> Progress:
    """A rich progress bar (description, bar, k/n, elapsed time, a `status` field); a disabled
    bar prints nothing, so callers use it unconditionally."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[status]}"),
        disable=not enabled,
        transient=False,
    )
