"""Median and spread of repeated samples."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Summary:
    """Seconds. The spread is the interquartile range (p25-p75)."""

    median: float
    p25: float
    p75: float
    runs: int

    @property
    def iqr(self) -> float:
        return self.p75 - self.p25

    def ms(self) -> str:
        """'12.3 ms (IQR 11.9-12.8)'."""
        return f"{self.median * 1000:.1f} ms (IQR {self.p25 * 1000:.1f}-{self.p75 * 1000:.1f})"

    def to_json(self) -> dict[str, float | int]:
        return {**asdict(self), "iqr": self.iqr}


def summarize(samples: Sequence[float]) -> Summary:
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    if len(ordered) < 4:
        return Summary(statistics.median(ordered), ordered[0], ordered[-1], len(ordered))
    p25, _, p75 = statistics.quantiles(ordered, n=4, method="inclusive")
    return Summary(statistics.median(ordered), p25, p75, len(ordered))


def ratio(value: Summary, floor: Summary) -> float:
    return value.median / floor.median
