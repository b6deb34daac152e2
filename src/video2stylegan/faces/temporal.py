"""Temporal filtering of per-frame values: the one centred mean filter, and the one angle wrap.

:func:`temporal_mean` averages per-frame values over a centred window of frames. Input: an
array with frames first and any shape after (landmarks ``(T, 68, 2)``, crop squares ``(T, 4,
2)``, canonical parameters ``(T, 3)``, angles ``(T,)``); output: float64 of the same shape.
Invariants:

* a window of ``w`` frames spans ``w // 2`` frames on each side (an even ``w`` acts as
  ``w + 1``); ``w = 1`` returns the values unchanged;
* ``cuts`` (first frames of new shots, :mod:`video2stylegan.faces.shots`) split the clip: no
  frame is averaged with one across a cut, each shot's ends are ends;
* ``edges``: what happens within ``w // 2`` frames of an end. ``"shrink"`` narrows the window
  symmetrically, so the end frames keep their values and a constant-speed motion passes
  unchanged (no lag); ``"replicate"`` pads with copies of the end frames, a full window
  everywhere (the end frames are pulled towards their neighbours);
* ``angle_columns`` (last axis of a 2-D array) hold radians: each is unwrapped along the
  frames before the mean (shot by shot) and wrapped after, so angles near +-pi average the
  short way round.

:func:`wrap_angle` maps radians to (-pi, pi]: pi stays pi, -pi becomes pi.
"""

from __future__ import annotations

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.shots import segments

__all__ = ["EDGES", "temporal_mean", "wrap_angle"]

#: What the mean does near the ends of a shot (module doc).
EDGES = ("shrink", "replicate")


def wrap_angle(angle):
    """Radians (a number or an array) wrapped to (-pi, pi]."""
    return np.pi - np.mod(np.pi - angle, 2 * np.pi)


def _check(window, edges: str) -> int:
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1:
        raise InvalidOptionError(f"smoothing window must be an integer >= 1 frame, got {window!r}")
    if edges not in EDGES:
        raise InvalidOptionError(f"smoothing edges must be one of {', '.join(map(repr, EDGES))}, got {edges!r}")
    return int(window) // 2


def _shot_mean(x: np.ndarray, half: int, edges: str) -> np.ndarray:
    """The centred mean of one shot ``x`` (float64, frames first) over ``2 * half + 1`` frames."""
    n = len(x)
    if half == 0 or n < 2:
        return x.copy()
    if edges == "shrink":
        out = np.empty_like(x)
        for i in range(n):
            k = min(half, i, n - 1 - i)
            out[i] = x[i - k : i + k + 1].mean(axis=0)
        return out
    kernel = 2 * half + 1
    padded = np.concatenate([np.repeat(x[:1], half, 0), x, np.repeat(x[-1:], half, 0)])
    cums = np.concatenate([np.zeros((1,) + x.shape[1:]), np.cumsum(padded, axis=0)])
    return (cums[kernel:] - cums[:-kernel]) / kernel


def temporal_mean(values, window: int, *, edges: str = "shrink", cuts=(), angle_columns=()) -> np.ndarray:
    """Centred mean of per-frame ``values`` (frames first) over ``window`` frames, shot by shot
    (``cuts``), with the ``edges`` mode and the ``angle_columns`` of the module doc."""
    half = _check(window, edges)
    x = np.asarray(values, np.float64)
    out = np.empty_like(x)
    for a, b in segments(len(x), () if cuts is None else cuts):
        shot = x[a:b].copy()
        for c in angle_columns:
            shot[:, c] = np.unwrap(shot[:, c])
        mean = _shot_mean(shot, half, edges)
        for c in angle_columns:
            mean[:, c] = wrap_angle(mean[:, c])
        out[a:b] = mean
    return out
