"""Canonical in-plane parameters of a face (the paper's Eq. 4-5).

From the 68 landmarks of an (unaligned) frame:

* eye centre ``e = (mean(points 36-41) + mean(points 42-47)) / 2``;
* ``v = mean(points 48-67) - e`` (eye centre to mouth centre);
* rotation ``r`` = signed angle from the image's downward axis to ``v``,
  ``r = atan2(v_x, v_y)`` in radians, **positive = counter-clockwise as seen in
  the image** (the face's top leans to the image's left, its chin to the right);
* translation ``t = e - e'``, with ``e'`` the eye centre of the canonical
  FFHQ-aligned frame, :data:`FFHQ_EYE_CENTER` = (0.5, 0.475) of the crop.

Units: ``tx`` is a fraction of the image *width* and ``ty`` of the image
*height*, measured in pixel-corner coordinates (the image spans [0, 1]; pixel
``i`` has its centre at ``(i + 0.5) / size``), positive = right / down. A face
aligned the FFHQ way has ``(tx, ty, r)`` close to ``(0, 0, 0)``.

Mapping to the generator (done by the method module, not here): StyleGAN3's
input ``transform`` is a 3x3 matrix acting on the Fourier-feature coordinates,
in which the image spans [-0.5, 0.5] in units of the image size. For a square
generator image, ``(tx, ty)`` is therefore directly a translation in those
units and ``r`` the rotation angle; the method module fixes the signs (the
matrix moves the sampling grid, so the content moves the opposite way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.detection import EYE_LEFT, EYE_RIGHT, MOUTH

# Eye positions of the FFHQ crop as fractions of its side, (x, y): the crop of
# the 68-point mean face (faces.pose.MEAN_FACE_3D seen frontally) made by
# faces.alignment.ffhq_quad, rounded to 3 decimals (a test recomputes them).
# Real faces land within about 1 % of these (FFHQ fixes the eye line's
# direction and the eye distance or eye-mouth distance, so the eye centre
# moves only with the face's proportions).
FFHQ_EYE_LEFT = (0.375, 0.475)
FFHQ_EYE_RIGHT = (0.625, 0.475)
FFHQ_EYE_CENTER = (0.5, 0.475)


@dataclass
class CanonicalParams:
    """``(tx, ty, r)``: eye-centre offset in image fractions and roll angle in radians."""

    tx: float
    ty: float
    r: float

    def as_array(self) -> np.ndarray:
        return np.array([self.tx, self.ty, self.r], dtype=np.float64)

    def to_dict(self) -> dict:
        return {"tx": round(float(self.tx), 6), "ty": round(float(self.ty), 6), "r": round(float(self.r), 6)}


def eye_center(landmarks) -> np.ndarray:
    """``e``: the mean of the two eyes' landmark means, ``(x, y)`` pixels."""
    lm = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64)
    return 0.5 * (lm[EYE_LEFT].mean(axis=0) + lm[EYE_RIGHT].mean(axis=0))


def canonical_params(landmarks, image_shape: tuple[int, int]) -> CanonicalParams:
    """The paper's ``(t_x, t_y, r)`` of a face in an image of ``(H, W)`` (see module doc)."""
    lm = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise InvalidOptionError(f"landmarks must be a finite (68, 2) array, got shape {lm.shape}")
    h, w = int(image_shape[0]), int(image_shape[1])
    if h < 1 or w < 1:
        raise InvalidOptionError(f"image_shape must be positive (H, W), got {image_shape}")
    e = eye_center(lm)
    v = lm[MOUTH].mean(axis=0) - e
    r = float(np.arctan2(v[0], v[1]))
    tx = (e[0] + 0.5) / w - FFHQ_EYE_CENTER[0]
    ty = (e[1] + 0.5) / h - FFHQ_EYE_CENTER[1]
    return CanonicalParams(float(tx), float(ty), r)
