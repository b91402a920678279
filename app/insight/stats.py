"""Small-sample-honest statistics: percentiles, summaries and a bootstrap of the median change."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Below these counts a figure is withheld rather than shown with false precision.
MIN_FOR_P90 = 10
MIN_FOR_COMPARISON = 5
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 12
_BOOTSTRAP_CHUNK = 100
NOT_ENOUGH = "not enough incidents to tell"


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    """A duration figure: how many were measured and how many were not recorded."""

    n: int
    not_recorded: int
    median: float | None
    p90: float | None
    mean: float | None
    values: tuple[float, ...]

    @property
    def mean_to_median(self) -> float | None:
        """How far a few long incidents pull the mean above the median."""
        if self.median is None or self.mean is None or self.median == 0:
            return None
        return self.mean / self.median


def summarize(values: Sequence[float], not_recorded: int = 0) -> Summary:
    n = len(values)
    return Summary(
        n=n,
        not_recorded=not_recorded,
        median=percentile(values, 50) if n else None,
        p90=percentile(values, 90) if n >= MIN_FOR_P90 else None,
        mean=sum(values) / n if n else None,
        values=tuple(values),
    )


@dataclass(frozen=True)
class Comparison:
    """The change in median from the previous period, with a bootstrap 95% interval."""

    previous_n: int
    current_n: int
    previous_median: float | None
    current_median: float | None
    change: float | None
    low: float | None
    high: float | None
    verdict: str


def compare_medians(previous: Sequence[float], current: Sequence[float]) -> Comparison:
    """Says "faster" or "slower" only when the whole 95% interval is on one side of zero."""
    p_med = percentile(previous, 50) if previous else None
    c_med = percentile(current, 50) if current else None
    if len(previous) < MIN_FOR_COMPARISON or len(current) < MIN_FOR_COMPARISON:
        change = None if p_med is None or c_med is None else c_med - p_med
        return Comparison(len(previous), len(current), p_med, c_med, change, None, None, NOT_ENOUGH)
    assert p_med is not None and c_med is not None
    low, high = bootstrap_interval(previous, current)
    if low > 0:
        verdict = "slower"
    elif high < 0:
        verdict = "faster"
    else:
        verdict = NOT_ENOUGH
    return Comparison(len(previous), len(current), p_med, c_med, c_med - p_med, low, high, verdict)


def bootstrap_interval(
    previous: Sequence[float], current: Sequence[float], resamples: int = BOOTSTRAP_RESAMPLES
) -> tuple[float, float]:
    """95% percentile interval of median(current) - median(previous), a fixed seed."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    before = np.asarray(previous, dtype=float)
    after = np.asarray(current, dtype=float)
    differences: list[np.ndarray] = []
    for start in range(0, resamples, _BOOTSTRAP_CHUNK):
        size = min(_BOOTSTRAP_CHUNK, resamples - start)
        b = np.median(rng.choice(before, size=(size, before.size)), axis=1)
        a = np.median(rng.choice(after, size=(size, after.size)), axis=1)
        differences.append(a - b)
    spread = np.concatenate(differences)
    low, high = np.percentile(spread, [2.5, 97.5])
    return float(low), float(high)
