"""Fill an array in a forked child process while this one goes on: two cores busy with no GIL
between them, the child reading this process's data without a copy (copy on write).

Linux only (fork, /proc). The child's memory is sampled from /proc/<pid>/smaps_rollup: its
private pages (what it wrote or copied), so that a run's memory counts the child too.
"""

from __future__ import annotations

import mmap
import multiprocessing
import resource
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np


def _private_mb(pid: int) -> float:
    """Private memory of a process in MB (0 when it is gone)."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0.0
    kb = sum(int(line.split()[1]) for line in text.splitlines()
             if line.startswith(("Private_Clean:", "Private_Dirty:")))
    return kb / 1024


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class ForkedFill:
    """`fill(out)` in a forked child, `out` a (rows, columns) float32 array shared with this
    process; `result()` waits for the child and returns (out, the child's CPU seconds, its
    peak private memory in MB)."""

    def __init__(self, fill: Callable[[np.ndarray], None], shape: tuple[int, int],
                 sample_every: float = 0.05):
        size = int(np.prod(shape)) * 4
        self._buffer = mmap.mmap(-1, max(size, 1))  # anonymous and shared: survives the fork
        self.out = np.frombuffer(self._buffer, dtype=np.float32, count=size // 4).reshape(shape)
        self._cpu_before = _children_cpu()
        self._process = multiprocessing.get_context("fork").Process(
            target=fill, args=(self.out,), daemon=True)
        self._process.start()
        self._peak = 0.0
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(sample_every,), daemon=True)
        self._sampler.start()

    def _sample(self, every: float) -> None:
        while True:
            self._peak = max(self._peak, _private_mb(self._process.pid))
            if self._done.wait(every):
                return

    def result(self) -> tuple[np.ndarray, float, float]:
        """Wait for the child; a RuntimeError if it failed."""
        self._process.join()
        self._done.set()
        self._sampler.join()
        if self._process.exitcode != 0:
            raise RuntimeError(f"the forked child filling the features exited with code "
                               f"{self._process.exitcode} (its traceback is above)")
        return self.out, _children_cpu() - self._cpu_before, self._peak
