"""Paired per-frame differences between two results of the same clip, with a confidence interval.

Two variants scored on the same frames differ by ``d[t] = a[t] - b[t]``. Its
mean says which is better; whether that is more than noise needs an interval.
Consecutive frames are not independent (a turned head stays turned for a
while), so the interval comes from a **moving-block bootstrap**: resample the
sequence as whole runs of ``block`` consecutive frames, which keeps the
frame-to-frame correlation inside each run, and take the percentiles of the
resampled means.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from video2stylegan.errors import InvalidOptionError

__all__ = ["PairedDifference", "paired_difference"]


@dataclass(frozen=True)
class PairedDifference:
    """``mean`` of ``a - b`` over the ``frames`` where both are finite, and the
    ``level`` (e.g. 0.95) bootstrap interval ``[low, high]`` of that mean."""

    mean: float
    low: float
    high: float
    frames: int
    level: float

    @property
    def significant(self) -> bool:
        """The interval excludes 0."""
        return self.low > 0 or self.high < 0

    def format(self, decimals: int = 4) -> str:
        """``+0.0120 [+0.0030, +0.0210]*`` (``*`` when the interval excludes 0), ``n/a`` without frames."""
        if not np.isfinite(self.mean):
            return "n/a"
        star = "*" if self.significant else ""
        return f"{self.mean:+.{decimals}f} [{self.low:+.{decimals}f}, {self.high:+.{decimals}f}]{star}"


def paired_difference(
    a,
    b,
    *,
    block: int | None = None,
    resamples: int = 2000,
    level: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """Mean of ``a - b`` (two ``(T,)`` per-frame scores of the same frames) and its
    moving-block bootstrap interval.

    Frames where either score is ``nan`` or infinite are left out. ``block``
    consecutive frames are resampled together (default: the cube root of the
    number of frames left, rounded, the usual order for a mean: 3 for 24 frames,
    4 for 72); ``seed`` makes the interval reproducible. With fewer than 2 frames
    the interval is the mean itself.
    """
    a = np.asarray(a, np.float64).reshape(-1)
    b = np.asarray(b, np.float64).reshape(-1)
    if a.shape != b.shape:
        raise InvalidOptionError(f"paired scores need the same frames, got {a.size} and {b.size}")
    if block is not None and (isinstance(block, bool) or int(block) != block or block < 1):
        raise InvalidOptionError(f"block must be a positive integer number of frames, got {block!r}")
    if resamples < 1 or not 0 < level < 1:
        raise InvalidOptionError(f"need resamples >= 1 and 0 < level < 1, got {resamples} and {level}")
    d = a - b
    d = d[np.isfinite(d)]
    n = d.size
    if n == 0:
        nan = float("nan")
        return PairedDifference(nan, nan, nan, 0, level)
    mean = float(d.mean())
    if n < 2:
        return PairedDifference(mean, mean, mean, n, level)
    block = min(int(block) if block is not None else max(1, round(n ** (1 / 3))), n)
    starts_max = n - block + 1
    per_sample = -(-n // block)  # enough blocks to cover n frames; the tail is cut off
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, starts_max, size=(resamples, per_sample))
    idx = (starts[:, :, None] + np.arange(block)).reshape(resamples, -1)[:, :n]
    means = d[idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return PairedDifference(mean, float(low), float(high), n, level)
