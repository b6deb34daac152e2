"""Turning generated crops into the frames of the output video.

:func:`compose_frames` yields the output frames lazily: the generated crop, or
the crop pasted back into the source photo (``paste_back``), optionally beside
the source and the driving frame (``side_by_side``: source | driving | result,
all scaled to the result's height).

The paste-back keeps the photo's full resolution (only the crop is warped,
up or down, to the photo's pixels) and is seamless: the face region only,
colour-matched to the photo, Poisson-blended (:func:`video2stylegan.faces.paste_face`;
``blend`` picks another of :data:`video2stylegan.faces.BLENDS`, ``"square"``
the old whole-crop alpha paste).
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from PIL import Image

from video2stylegan import faces
from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.paste import DEFAULT_BLEND

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
    blend: str = DEFAULT_BLEND,
) -> Iterator[np.ndarray]:
    """Output frames from generated crops ``results`` (iterable of ``(R, R, 3)`` uint8).

    ``source``: the :class:`~video2stylegan.pipeline.inputs.SourceFace` (needed by
    ``paste_back`` and ``side_by_side``); ``driving``: the driving frames
    ``(T, H, W, 3)`` (needed by ``side_by_side``). ``blend``: how ``paste_back``
    blends, one of :data:`~video2stylegan.faces.BLENDS` or ``"square"``.
    """
    if paste_back and blend not in (*faces.BLENDS, "square"):
        raise InvalidOptionError(f"blend must be one of {(*faces.BLENDS, 'square')}, got {blend!r}")
    left = None
    mask = None
    for j, crop in enumerate(results):
        frame = crop
        if paste_back and blend == "square":
            frame = faces.paste_back(source.image, crop, source.aligned, mask="crop")
        elif paste_back:
            if mask is None:  # the same photo and alignment every frame: one mask
                mask = faces.blend_mask(source.aligned, source.image.shape[:2], mode="face")
            frame = faces.paste_face(source.image, crop, source.aligned, blend=blend, mask=mask)
        if side_by_side:
            height = frame.shape[0]
            if left is None:
                ref = source.image if paste_back else source.aligned.image
                left = fit_height(ref, height)
            drive = fit_height(driving[min(j, len(driving) - 1)], height)
            frame = np.concatenate([left, drive, frame], axis=1)
        yield frame
