"""A rehearsal of a labelling session: any oracle driven by a stand-in loop on made-up pairs.

No pool, no model: for trying the labelling page (``python -m active.web.rehearsal``), for its
browser tests, its screenshots and its timings. The stand-in keeps the loop's side of the
oracle protocol: it alone writes answers (one JSON line per event, flushed and fsynced, so a kill
loses nothing), undo takes back the last stored answer across skips and restarts, skip moves on
without storing, quit stops.
"""

from __future__ import annotations

import argparse
import json
import math
import os
from pathlib import Path

import numpy as np

from active.oracles import Oracle, PairView, SessionProgress
from blocking.answers import Answer, to_answer

ATTRIBUTES = ("name", "address", "city", "phone")
_FIRST = ("Anna", "Bruno", "Chiara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas")
_LAST = ("Keller", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi", "Sato")
_STREETS = ("Main Street", "Harbour Road", "Linden Allee", "Rue des Fleurs", "Station Square")
_CITIES = ("Zurich", "Lyon", "Turin", "Graz", "Porto", "Ghent")
_REASONS = (
    "the matcher says match ({score:.2f}) but the labeling functions of bucket "
    "'name similar, phone differs' say non-match",
    "near the matcher's decision threshold ({score:.2f}): the risk rule 'uncertain score' fired",
    "drawn for the F1 audit sample (inclusion probability {prob:.2f})",
)


def rehearsal_pairs(n_pairs: int, seed: int = 0) -> list[tuple[dict, dict, float]]:
    """`n_pairs` made-up (left, right, score) records, about half true matches with typos."""
    rng = np.random.default_rng(seed)

    def person() -> dict:
        return {"name": f"{rng.choice(_FIRST)} {rng.choice(_LAST)}",
                "address": f"{int(rng.integers(1, 200))} {rng.choice(_STREETS)}",
                "city": str(rng.choice(_CITIES)),
                "phone": f"+41 {int(rng.integers(10, 99))} {int(rng.integers(100, 999))} "
                         f"{int(rng.integers(10, 99))} {int(rng.integers(10, 99))}"}

    pairs = []
    for _ in range(n_pairs):
        left = person()
        if rng.random() < 0.5:
            right = dict(left)
            first, last = left["name"].split(" ")
            right["name"] = f"{first[0]}. {last}" if rng.random() < 0.5 else f"{last}, {first}"
            right["address"] = left["address"].replace("Street", "St.").replace("Road", "Rd")
            if rng.random() < 0.3:
                right["phone"] = None
            score = float(rng.uniform(0.4, 0.9))
        else:
            right = person()
            right["city"] = left["city"] if rng.random() < 0.5 else right["city"]
            score = float(rng.uniform(0.1, 0.6))
        pairs.append((left, right, score))
    return pairs


class Rehearsal:
    """A stand-in labelling loop over `n_pairs` made-up pairs, asking `oracle` one at a time.

    `store` (a path, optional) keeps every answer as it is given and is read back on start, so
    a rehearsal killed mid-session resumes where it stopped.
    """

    def __init__(self, oracle: Oracle, n_pairs: int = 40, *, store: str | Path | None = None,
                 seed: int = 0) -> None:
        if n_pairs < 1:
            raise ValueError(f"Rehearsal: n_pairs must be at least 1, got {n_pairs}")
        self.oracle = oracle
        self.pairs = rehearsal_pairs(n_pairs, seed)
        self.store = Path(store) if store is not None else None
        self.stored: list[tuple[int, Answer]] = []
        self.n_this_session = 0
        if self.store is not None and self.store.exists():
            for line in self.store.read_text().splitlines():
                self._apply(json.loads(line))

    def _apply(self, event: dict) -> None:
        if "undo" in event:
            self.stored.pop()
        else:
            self.stored.append((int(event["position"]), Answer(event["answer"])))

    def _write(self, event: dict) -> None:
        self._apply(event)
        if self.store is not None:
            with self.store.open("a") as out:
                out.write(json.dumps(event) + "\n")
                out.flush()
                os.fsync(out.fileno())

    def progress(self, status: str = "") -> SessionProgress:
        """Where the rehearsal stands, with a made-up F1 estimate that narrows with labels."""
        counts = {answer: sum(a is answer for _, a in self.stored) for answer in Answer}
        n = len(self.stored)

        def f1(k: int) -> float:
            return 0.72 + 0.24 * (1 - math.exp(-k / 15))

        half = 0.3 / math.sqrt(n + 1)
        return SessionProgress(
            n_answers=n, budget=len(self.pairs), n_match=counts[Answer.MATCH],
            n_non_match=counts[Answer.NON_MATCH], n_unsure=counts[Answer.UNSURE],
            n_this_session=self.n_this_session, status=status,
            f1_estimate=(f1(n), max(f1(n) - half, 0.0), min(f1(n) + half, 1.0)),
            can_undo=n > 0, learning_curve=tuple((k, f1(k)) for k in range(0, n + 1, 5)),
        )

    def view(self, position: int) -> PairView:
        """The question about pair `position`."""
        left, right, score = self.pairs[position]
        reason = _REASONS[position % len(_REASONS)].format(score=score, prob=0.05 + score / 4)
        status = "rehearsal: made-up pairs, nothing is trained"
        return PairView(position=position, key=f"L{position:03d}|R{position:03d}",
                        attributes=ATTRIBUTES, left=left, right=right, reason=reason,
                        score=score, progress=self.progress(status))

    def run(self) -> list[tuple[int, Answer]]:
        """Ask until every pair is answered or skipped, or the oracle quits; the stored answers."""
        position = max((p for p, _ in self.stored), default=-1) + 1
        while position < len(self.pairs):
            answer = to_answer(self.oracle.ask(self.view(position)), "rehearsal oracle")
            if answer is Answer.QUIT:
                break
            if answer is Answer.UNDO:
                if self.stored:
                    position = self.stored[-1][0]
                    self._write({"undo": position})
                    self.n_this_session = max(self.n_this_session - 1, 0)
                continue
            if answer.is_stored:
                self._write({"position": position, "answer": answer.value})
                self.n_this_session += 1
            position += 1
        return list(self.stored)


def main(argv: list[str] | None = None) -> int:
    """Serve a rehearsal on the labelling page until it is finished or quit."""
    from active.web.server import WebOracle

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--store", help="JSON-lines file of answers, resumed if it exists")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--open", action="store_true", help="open the page in a browser")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    with WebOracle(port=args.port, open_browser=args.open, quiet=args.quiet) as oracle:
        stored = Rehearsal(oracle, args.pairs, store=args.store, seed=args.seed).run()
    if not args.quiet:
        print(f"rehearsal over: {len(stored)} answers stored")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
