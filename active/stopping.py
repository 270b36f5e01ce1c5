"""Stopping rules for a labelling session, read from text such as 'f1_interval<0.03'."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_INTERVAL = re.compile(r"^\s*f1_interval\s*<\s*([0-9.]+)\s*$")
_GAIN = re.compile(r"^\s*gain\s*<\s*([0-9.]+)\s+over\s+([0-9]+)\s+batch(?:es)?\s*$")


@dataclass(frozen=True)
class StopRule:
    """Stop when the estimated F1's 95% interval is narrower than `width`, or when the estimate
    gained less than `gain` over the last `batches` fitted rounds."""

    width: float | None = None
    gain: float | None = None
    batches: int = 3

    def reason(self, history: Sequence[dict]) -> str | None:
        """Why to stop now, in words, or None to go on (rounds without an estimate never stop)."""
        rows = [r for r in history if r.get("f1_estimate") is not None]
        if not rows:
            return None
        last = rows[-1]
        if self.width is not None and last["f1_high"] - last["f1_low"] < self.width:
            return (f"the estimated F1 is {last['f1_estimate']:.3f} with a 95% interval "
                    f"{last['f1_low']:.3f}-{last['f1_high']:.3f}, narrower than {self.width}")
        if self.gain is not None and len(rows) > self.batches:
            gained = last["f1_estimate"] - rows[-1 - self.batches]["f1_estimate"]
            if gained < self.gain:
                return (f"the estimated F1 gained {gained:+.4f} over the last {self.batches} "
                        f"batches, less than {self.gain}")
        return None


def parse_stop_rule(text: str) -> StopRule:
    """'f1_interval<0.03' or 'gain<0.005 over 3 batches' as a StopRule; a ValueError says the
    forms it accepts."""
    if isinstance(text, str):
        if match := _INTERVAL.match(text):
            width = float(match.group(1))
            if 0 < width <= 1:
                return StopRule(width=width)
        if match := _GAIN.match(text):
            gain, batches = float(match.group(1)), int(match.group(2))
            if batches >= 1:
                return StopRule(gain=gain, batches=batches)
    raise ValueError(
        f"stop rule {text!r} not understood; write 'f1_interval<0.03' (stop when the 95% "
        "interval of the estimated F1 is narrower than 0.03) or 'gain<0.005 over 3 batches'"
    )
