"""Compute something in a forked child process while this one goes on: two cores busy with no
GIL between them, the child reading this process's data without a copy (copy on write).

Linux only (fork, /proc). The child's memory is sampled from /proc/<pid>/smaps_rollup: its
private pages (what it wrote or copied), so that a run's memory counts the child too. The
result comes back through a pipe, its arrays as raw buffers (pickle protocol 5, no extra copy
in the child); it should be compact, as it is held by the child until `result()` reads it.
"""

from __future__ import annotations

import multiprocessing
import pickle
import resource
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any


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


def _send(compute: Callable[[], Any], conn) -> None:
    buffers: list[pickle.PickleBuffer] = []
    head = pickle.dumps(compute(), protocol=5, buffer_callback=buffers.append)
    conn.send((head, len(buffers)))
    for buffer in buffers:
        conn.send_bytes(buffer.raw())
    conn.close()


class ForkedCall:
    """`compute()` in a forked child; `result()` waits for it and returns (its value, the
    child's CPU seconds, its peak private memory in MB)."""

    def __init__(self, compute: Callable[[], Any], sample_every: float = 0.05):
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        self._cpu_before = _children_cpu()
        self._process = context.Process(target=_send, args=(compute, send), daemon=True)
        self._process.start()
        send.close()  # only the child writes: a child that dies leaves this end at EOF
        self._peak = 0.0
        self._done = threading.Event()
        self._sampler = threading.Thread(target=self._sample, args=(sample_every,), daemon=True)
        self._sampler.start()

    def _sample(self, every: float) -> None:
        while True:
            self._peak = max(self._peak, _private_mb(self._process.pid))
            if self._done.wait(every):
                return

    def result(self) -> tuple[Any, float, float]:
        """Wait for the child's value; a RuntimeError if it failed."""
        try:
            head, n_buffers = self._receive.recv()
            value = pickle.loads(head, buffers=[self._receive.recv_bytes()
                                                for _ in range(n_buffers)])
        except EOFError:
            value = None
        finally:
            self._receive.close()
            self._process.join()
            self._done.set()
            self._sampler.join()
        if self._process.exitcode != 0:
            raise RuntimeError(f"the forked child exited with code {self._process.exitcode} "
                               "(its traceback is above)")
        return value, _children_cpu() - self._cpu_before, self._peak
