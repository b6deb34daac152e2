"""Turning generated crops into the frames of the output video.

:func:`compose_frames` yields the output frames lazily: the generated crop, or
the crop pasted back into the source photo (``paste_back``), optionally beside
the source and the driving frame (``side_by_side``: source | driving | result,
all scaled to the result's height).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from PIL import Image

from video2stylegan import faces

__all__ = ["compose_frames", "fit_height"]


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """Scale an ``(H, W, 3)`` uint8 image to ``height`` rows, keeping its aspect (even width)."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(2, int(round(w * height / h / 2)) * 2)
    resample = Image.Resampling.LANCZOS if height < h else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))


def compose_frames(
    results,
    *,
    source=None,
    driving=None,
    paste_back: bool = False,
    side_by_side: bool = False,
) -> Iterator[np.ndarray]:
    """Output frames from generated crops ``results`` (iterable of ``(R, R, 3)`` uint8).

    ``source``: the :class:`~video2stylegan.pipeline.inputs.SourceFace` (needed by
    ``paste_back`` and ``side_by_side``); ``driving``: the driving frames
    ``(T, H, W, 3)`` (needed by ``side_by_side``).
    """
    left = None
    for j, crop in enumerate(results):
        frame = crop
        if paste_back:
            frame = faces.paste_back(source.image, crop, source.aligned, mask="crop")
        if side_by_side:
            height = frame.shape[0]
            if left is None:
                ref = source.image if paste_back else source.aligned.image
                left = fit_height(ref, height)
            drive = fit_height(driving[min(j, len(driving) - 1)], height)
            frame = np.concatenate([left, drive, frame], axis=1)
        yield frame
