"""The web labeller driven over HTTP against the real loop: every answer lands in the store,
an undo re-asks, and the loop stays the store's only writer."""

import re
import threading

import numpy as np
import pytest

from active import ActiveLoop, LabelStore
from blocking.pairs import pair_keys

httpx = pytest.importorskip("httpx")
pytest.importorskip("starlette")
pytest.importorskip("uvicorn")

DESK = re.compile(r'data-token="([^"]+)"\s+data-key="([^"]+)"')


def test_a_person_labels_in_the_browser_through_the_loop(pool, lfs, fast_matcher, tmp_path):
    from active.web import WebOracle

    gold = dict(zip(pair_keys(pool), pool["label"], strict=True))
    store_path = tmp_path / "labels.sqlite"
    with WebOracle(port=0, quiet=True) as oracle:
        loop = ActiveLoop(pool, lfs, oracle=oracle, matcher=fast_matcher(), batch_size=5,
                          store=store_path, background=True, seed=0)
        worker = threading.Thread(target=loop.run, args=(12,), daemon=True)
        worker.start()
        asked = []
        with httpx.Client(base_url=oracle.url, timeout=60) as client:
            while len(asked) < 40 and worker.is_alive():
                found = DESK.search(client.get("/question", params={"after": ""}).text)
                if found is None:
                    continue
                token, key = found.groups()
                answer = "undo" if len(asked) == 4 else (
                    "match" if gold[key] == 1 else "non-match")
                asked.append((key, answer))
                client.post("/answer", data={"token": token, "answer": answer},
                            headers={"x-labeller": "fetch"})
        worker.join(timeout=120)
    assert not worker.is_alive()
    stored = LabelStore(store_path).labels()
    assert len(stored) == 12 and len(asked) == 14  # 12 answers, 1 undo, 1 answer undone
    assert all(gold[k] == y for k, y in stored.items())
    assert asked[5][0] == asked[3][0]  # the undone pair is asked again
    assert np.isfinite(loop.predict_proba()).all()
