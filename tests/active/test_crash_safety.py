"""SIGKILL a labelling process at random moments: every acknowledged label survives and a
restarted run continues without asking any stored pair again."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from active.store import LabelStore

REPO = Path(__file__).resolve().parents[2]
N_PAIRS = 60

CHILD = """
import sys
import numpy as np
from active.base import PoolState
from active.oracles import SimulatedOracle
from active.selectors import RandomSelector
from active.store import LabelStore

path, n = sys.argv[1], int(sys.argv[2])
store = LabelStore(path)
oracle = SimulatedOracle((np.arange(n) % 3 == 0).astype(int))
selector = RandomSelector(seed=len(store))
while True:
    labels = {int(k): v for k, v in store.labels().items()}
    chosen = selector.select(PoolState(L=np.zeros((n, 0)), expert_labels=labels), 5)
    if chosen.size == 0:
        break
    for i in chosen.tolist():
        store.add(str(i), oracle(i), selector="random")
        print(f"ack {i}", flush=True)
print("done", flush=True)
"""


def _run_child(script: Path, db: Path, kill_after: int | None, rng) -> tuple[list[int], bool]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), str(db), str(N_PAIRS)],
                            stdout=subprocess.PIPE, text=True, env=env)
    acked, done = [], False
    for line in proc.stdout:
        if line.startswith("ack"):
            acked.append(int(line.split()[1]))
        done = line.strip() == "done"
        if kill_after is not None and len(acked) >= kill_after:
            time.sleep(float(rng.uniform(0, 0.01)))  # land anywhere, mid-commit included
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=30)
    proc.stdout.close()
    return acked, done


def test_sigkill_loses_no_acknowledged_label_and_run_continues(tmp_path):
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    db = tmp_path / "labels.sqlite"
    rng = np.random.default_rng(0)
    all_acked: list[int] = []
    for _ in range(2):
        acked, done = _run_child(script, db, int(rng.integers(1, 15)), rng)
        assert not done
        all_acked += acked
        with LabelStore(db) as store:  # after every kill: every acknowledged label is there
            labels = store.labels()
        assert {str(i) for i in all_acked} <= set(labels)
    acked, done = _run_child(script, db, None, rng)
    assert done
    with LabelStore(db) as store:
        labels = store.labels()
        history = store.history()
    truth = {str(i): int(i % 3 == 0) for i in range(N_PAIRS)}
    assert labels == truth
    # resumed runs never re-ask a stored pair: one label record per pair in the whole log
    assert len(history) == N_PAIRS
