"""One number per clip from per-frame scores, the same for every scoring path.

:func:`clip_summary` is what ``evaluate_video`` and the ground-truth suite both report:
the mean over the frames that have a value (``nan`` marks a frame without one, such as
frame 0 of a transition metric), except for PSNR, whose clip value comes from the mean
squared error over the frames (:func:`clip_psnr`) so that one identical frame
(``inf`` dB) does not make the whole clip ``inf``.
"""

from __future__ import annotations

from typing import Collection, Mapping

import numpy as np

from video2stylegan.metrics.image import DATA_RANGE

__all__ = ["clip_mean", "clip_psnr", "clip_summary"]


def _present(values) -> np.ndarray:
    v = np.asarray(values, np.float64).reshape(-1)
    return v[~np.isnan(v)]


def clip_mean(values) -> float:
    """The mean of the per-frame ``values`` that are not ``nan`` (``nan`` when none is)."""
    v = _present(values)
    return float(v.mean()) if len(v) else float("nan")


def clip_psnr(db, data_range: float = DATA_RANGE) -> float:
    """A clip's PSNR from its frames' PSNR in dB (``nan`` frames left out): ``10 log10(range^2 / MSE)``
    with the MSE averaged over the frames. ``inf`` when every frame is identical, ``nan`` when no
    frame has a value. Frames of 20 and 40 dB give 22.97 dB (from the mean MSE), not their mean 30."""
    v = _present(db)
    if not len(v):
        return float("nan")
    mse = float(np.mean(data_range**2 / 10 ** (v / 10)))
    return float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))


def clip_summary(per_frame: Mapping[str, object], psnr: Collection[str] = ("PSNR",)) -> dict[str, float]:
    """Name -> clip value of each per-frame array in ``per_frame`` (in its order): :func:`clip_psnr`
    for the names in ``psnr`` (per-frame dB), :func:`clip_mean` for the others."""
    return {name: clip_psnr(values) if name in psnr else clip_mean(values) for name, values in per_frame.items()}
