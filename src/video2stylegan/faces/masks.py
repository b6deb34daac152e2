"""Face part masks drawn from the 68 landmarks.

The paper selects "local" StyleGAN channels by their overlap with eye, nose
and mouth regions obtained from a BiSeNet face parser. We draw those regions
from the landmarks instead (no extra network, no extra weights to download,
and exactly the parts the method needs); the price is that the regions are
polygons rather than pixel-accurate segments, and hair/skin/neck are not
separated (they are "face" or "background").

Parts (iBUG indices):

* ``left_eye`` 36-41 and ``right_eye`` 42-47 (image left/right), each eye
  polygon dilated by ``eye_dilation`` of the eye's width (the 6 points sit on
  the lid margins, so the raw polygon misses lashes and lid);
* ``eyes``: both; ``left_brow`` 17-21, ``right_brow`` 22-26, ``brows``: both,
  each a band around the brow line, ``brow_thickness`` of the eye distance thick;
* ``nose``: convex hull of 27-35; ``mouth``: polygon of the outer lips 48-59;
* ``face``: convex hull of the jaw (0-16) and brows (17-26);
* ``background``: everything outside ``face``.
"""

from __future__ import annotations

from typing import Sequence

import cv2
import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.detection import BROW_LEFT, BROW_RIGHT, EYE_LEFT, EYE_RIGHT, MOUTH_OUTER, NOSE

PARTS = (
    "left_eye",
    "right_eye",
    "eyes",
    "left_brow",
    "right_brow",
    "brows",
    "nose",
    "mouth",
    "face",
    "background",
)

_SUB = 4  # fractional bits for sub-pixel polygon filling
_ONE = 1 << _SUB


def _fill(mask: np.ndarray, pts: np.ndarray, convex: bool = False) -> None:
    ipts = np.round(pts * _ONE).astype(np.int32)
    if convex:
        ipts = cv2.convexHull(ipts)
    cv2.fillPoly(mask, [ipts.reshape(-1, 1, 2)], 1, cv2.LINE_8, _SUB)


def _dilate(mask: np.ndarray, radius: float) -> np.ndarray:
    r = int(round(radius))
    if r < 1:
        return mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    return cv2.dilate(mask, kernel)


def _mask_size(image_shape: tuple[int, int], size) -> tuple[int, int]:
    """``(height, width)`` of the masks: the image's for ``None``, ``size x size`` for an int."""
    if size is None:
        h, w = int(image_shape[0]), int(image_shape[1])
    elif isinstance(size, (int, np.integer)):
        h = w = int(size)
    else:
        h, w = int(size[0]), int(size[1])
    if h < 1 or w < 1:
        raise InvalidOptionError(f"mask size must be positive, got {size}")
    return h, w


class _Canvas:
    """Polygons of landmark parts drawn at ``ss`` times the masks' ``(h, w)`` and reduced to them.

    Small masks (feature-map sizes) are drawn at a finer grid and reduced by area coverage (a pixel is
    in when at least half of it is), so their areas stay right instead of growing by the polygon's
    boundary pixels.
    """

    def __init__(self, lm: np.ndarray, image_shape: tuple[int, int], h: int, w: int):
        self.h, self.w = h, w
        self.ss = 4 if max(h, w) <= 256 else 2 if max(h, w) <= 1024 else 1
        self.H, self.W = h * self.ss, w * self.ss
        h0, w0 = int(image_shape[0]), int(image_shape[1])
        # Scale in corner coordinates so that the image's extent maps onto the mask's.
        self.pts = (lm + 0.5) * np.array([self.W / w0, self.H / h0]) - 0.5
        self.eye_dist = float(np.linalg.norm(self.pts[EYE_RIGHT].mean(0) - self.pts[EYE_LEFT].mean(0)))

    def reduce(self, m: np.ndarray) -> np.ndarray:
        if self.ss == 1:
            return m.astype(bool)
        cover = m.reshape(self.h, self.ss, self.w, self.ss).mean(axis=(1, 3))
        return cover >= 0.5

    def polygon(self, sl, convex: bool = False) -> np.ndarray:
        m = np.zeros((self.H, self.W), np.uint8)
        _fill(m, self.pts[sl], convex=convex)
        return self.reduce(m)

    def eye(self, sl, dilation: float) -> np.ndarray:
        """The eye's polygon dilated by ``dilation`` of its width."""
        m = np.zeros((self.H, self.W), np.uint8)
        _fill(m, self.pts[sl])
        width = float(np.linalg.norm(self.pts[sl][3] - self.pts[sl][0]))
        return self.reduce(_dilate(m, dilation * width))

    def brow(self, sl, thickness: float) -> np.ndarray:
        """A band along the brow line, ``thickness`` of the eye distance thick."""
        m = np.zeros((self.H, self.W), np.uint8)
        line = np.round(self.pts[sl] * _ONE).astype(np.int32).reshape(-1, 1, 2)
        thick = max(1, int(round(thickness * self.eye_dist)))
        cv2.polylines(m, [line], False, 1, thickness=thick, lineType=cv2.LINE_8, shift=_SUB)
        return self.reduce(m)


def part_masks(
    landmarks,
    image_shape: tuple[int, int],
    size: int | tuple[int, int] | None = None,
    parts: Sequence[str] = PARTS,
    *,
    eye_dilation: float = 0.1,
    brow_thickness: float = 0.12,
    as_tensor: bool = False,
):
    """Boolean masks of face parts, as a dict ``{part: mask}``.

    ``landmarks`` are ``(68, 2)`` pixels of an image of ``image_shape = (H, W)``.
    ``size`` is the mask resolution: ``None`` (same as the image), an int
    (square ``size x size``, e.g. a feature map of an aligned crop) or
    ``(height, width)``; landmarks are scaled to it. With ``as_tensor=True`` the
    values are ``torch.bool`` tensors instead of NumPy arrays.
    """
    lm = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise InvalidOptionError(f"landmarks must be a finite (68, 2) array, got shape {lm.shape}")
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise InvalidOptionError(f"unknown face part(s) {unknown}; choose from {PARTS}")
    canvas = _Canvas(lm, image_shape, *_mask_size(image_shape, size))
    need = set(parts)
    out: dict[str, np.ndarray] = {}
    if need & {"left_eye", "eyes"}:
        out["left_eye"] = canvas.eye(EYE_LEFT, eye_dilation)
    if need & {"right_eye", "eyes"}:
        out["right_eye"] = canvas.eye(EYE_RIGHT, eye_dilation)
    if "eyes" in need:
        out["eyes"] = out["left_eye"] | out["right_eye"]
    if need & {"left_brow", "brows"}:
        out["left_brow"] = canvas.brow(BROW_LEFT, brow_thickness)
    if need & {"right_brow", "brows"}:
        out["right_brow"] = canvas.brow(BROW_RIGHT, brow_thickness)
    if "brows" in need:
        out["brows"] = out["left_brow"] | out["right_brow"]
    if "nose" in need:
        out["nose"] = canvas.polygon(NOSE, convex=True)
    if "mouth" in need:
        out["mouth"] = canvas.polygon(MOUTH_OUTER)
    if need & {"face", "background"}:
        out["face"] = canvas.polygon(slice(0, 27), convex=True)
        out["background"] = ~out["face"]
    out = {p: out[p] for p in parts}
    if as_tensor:
        import torch

        return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in out.items()}
    return out


# Forehead height above the brows, as a fraction of the brow-to-chin distance,
# measured on the 12 real portraits of ../shared/data/portraits by walking up
# the face's midline from the brows until the colour leaves the skin (Lab
# distance > 20 from the skin just above the brows): hairline at 0.32-0.78,
# median 0.42 (lin-manuel-miranda 0.32, kit_harington_john1 0.36, obama 0.42,
# biden_biden2 0.78). 0.30 keeps the top of the mask on skin for all twelve,
# so a paste seam there crosses skin, not hair. (skimage's astronaut wears a
# fringe down to 0.10: there the top of the mask lies in hair.)
FOREHEAD = 0.30


def face_region_mask(
    landmarks,
    shape: tuple[int, int],
    *,
    forehead: float = FOREHEAD,
    grow: float = 0.0,
    feather: float = 0.0,
) -> np.ndarray:
    """Float mask ``(H, W)`` in ``[0, 1]`` of the face with its forehead, from 68 landmarks.

    The region is the convex hull of the jaw line (0-16), the brows (17-26) and
    the brows moved up by ``forehead`` of the face height (the distance from the
    chin, point 8, to the mean of the brows), along the chin-to-brows direction,
    so it tilts with the head. The 68 points stop at the brows; ``FOREHEAD``
    (0.30) is the measured forehead skin height, see above.

    ``grow`` dilates the hull by that fraction of the face height; ``feather``
    blurs its edge with a Gaussian of that fraction of the face height (sigma),
    so the 0.5 level stays on the (grown) hull. Both 0 gives an anti-aliased
    hard mask. ``shape`` is the image's ``(H, W)``.
    """
    lm = np.asarray(getattr(landmarks, "landmarks", landmarks), np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise InvalidOptionError(f"landmarks must be a finite (68, 2) array, got shape {lm.shape}")
    for name, value in (("forehead", forehead), ("grow", grow), ("feather", feather)):
        if not np.isfinite(value) or value < 0 or value > 2:
            raise InvalidOptionError(f"{name} must be between 0 and 2 (a fraction of the face height), got {value}")
    h, w = int(shape[0]), int(shape[1])
    brows = lm[17:27]
    up = brows.mean(0) - lm[8]
    height = float(np.hypot(*up))
    if height < 1e-6:
        raise InvalidOptionError("degenerate landmarks: the brows and the chin coincide")
    pts = np.concatenate([lm[0:17], brows, brows + forehead * up])
    hull = cv2.convexHull(np.round(pts * _ONE).astype(np.int32))
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, hull.reshape(-1, 2), 255, cv2.LINE_AA, _SUB)
    mask = mask.astype(np.float32) / 255.0
    r = int(round(grow * height))
    if r >= 1:
        mask = cv2.dilate(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    sigma = feather * height
    if sigma > 0.3:
        mask = cv2.GaussianBlur(mask, (0, 0), sigma)
    return np.clip(mask, 0.0, 1.0)
