"""Paste-back: an (edited or generated) aligned crop back into the source photo.

Two levels:

* :func:`paste_back` warps the crop back with the exact inverse of the
  alignment and alpha-blends it with a feathered mask (:func:`blend_mask`:
  the face region, or the whole crop square). What goes in comes out: an
  unedited crop reproduces the photo, a green crop gives a green face.
* :func:`paste_face` is the seamless paste for generated faces: the face
  region only (:func:`~video2stylegan.faces.masks.face_region_mask`, with
  forehead), the generated face's colours matched to the photo's in that
  region (:func:`match_colour`), then a gradient-domain blend, ``"seamless"``
  (OpenCV's Poisson ``seamlessClone``) or ``"pyramid"`` (a feathered
  Laplacian-pyramid blend, Burt & Adelson 1983), or plain ``"alpha"``;
  ``"seamless"``, the default, has the lowest seam error.

:func:`seam_error` measures how visible the seam is (benchmarks/paste_back.py
compares the blends with it). Everything keeps the photo's full resolution:
only the crop is resampled.
"""

from __future__ import annotations

import cv2
import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.alignment import AlignedFace
from video2stylegan.faces.masks import face_region_mask
from video2stylegan.io.images import as_rgb_uint8

__all__ = [
    "BLENDS",
    "DEFAULT_BLEND",
    "blend_mask",
    "match_colour",
    "paste_back",
    "paste_face",
    "pyramid_blend",
    "seam_error",
]

BLENDS = ("seamless", "pyramid", "alpha")
# The blend with the lowest seam error on the real portraits of benchmarks/paste_back.py
# (benchmarks/RESULTS.md, "Paste-back seams"): seamlessClone 0.03 mean, 0.01 median;
# pyramid 0.15 / 0.07 (it cross-fades two faces' textures into a ghost band).
DEFAULT_BLEND = "seamless"


def _rescale(m: np.ndarray, k: float) -> np.ndarray:
    """The 2x3 map ``m`` followed by a scaling of the crop by ``k`` (pixel-centre convention)."""
    s = np.array([[k, 0, 0.5 * k - 0.5], [0, k, 0.5 * k - 0.5], [0, 0, 1]])
    return (s @ np.vstack([m, [0, 0, 1]]))[:2]


def _warp_to_frame(aligned_image: np.ndarray, alignment: AlignedFace, shape: tuple[int, int]) -> np.ndarray:
    """The crop warped into frame pixels ``(H, W, 3)`` uint8 (outside the crop: its edge, replicated)."""
    gen = as_rgb_uint8(aligned_image, "aligned image")
    h, w = shape
    if gen.shape[0] != gen.shape[1]:
        raise InvalidOptionError(f"the aligned image must be square, got {gen.shape[1]}x{gen.shape[0]}")
    m = alignment.matrix.copy()
    if gen.shape[0] != alignment.size:  # rescale the map to the given crop size
        m = _rescale(m, gen.shape[0] / alignment.size)
    scale = float(np.sqrt(abs(np.linalg.det(m[:, :2]))))  # crop px per frame px
    if scale > 2.0:
        # Area-prefilter the crop down to twice the frame's pixel density, then
        # let the bicubic warp do the last factor <= 2. This keeps a generated
        # crop's fine texture from aliasing; an unedited crop comes back at
        # about 40 dB PSNR (a full area prefilter to 1x costs ~5 dB of that).
        n = max(1, int(round(gen.shape[0] * 2.0 / scale)))
        k = n / gen.shape[0]
        gen = cv2.resize(gen, (n, n), interpolation=cv2.INTER_AREA)
        m = _rescale(m, k)
    return cv2.warpAffine(
        gen, m, (w, h), flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE
    )


def blend_mask(
    alignment: AlignedFace,
    shape: tuple[int, int] | None = None,
    mode: str = "face",
    feather: float = 0.04,
) -> np.ndarray:
    """The feathered ``(H, W)`` float mask used by :func:`paste_back`, in source pixels.

    ``mode="face"``: the face region with its forehead
    (:func:`~video2stylegan.faces.masks.face_region_mask`), grown by
    ``feather`` of the crop's side and blurred by as much, so the seam falls
    outside the face. ``mode="crop"``: the whole crop square with a feathered
    border. Either way it is zero outside the crop.
    """
    shape = alignment.source_shape if shape is None else tuple(shape[:2])
    size = alignment.size
    sigma_src = feather * size / alignment.scale  # feather width in source pixels

    # Where the crop has content, feathered inside its border.
    sq = np.zeros((size, size), np.float32)
    edge = max(1, int(round(2 * feather * size)))
    sq[edge:-edge, edge:-edge] = 1.0
    sq = cv2.GaussianBlur(sq, (0, 0), feather * size * 0.5 + 1e-3)
    valid = cv2.warpAffine(sq, alignment.matrix, (shape[1], shape[0]), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    if mode == "crop":
        return np.clip(valid, 0.0, 1.0)
    if mode != "face":
        raise InvalidOptionError(f"blend mask mode must be 'face' or 'crop', got {mode!r}")
    lm = alignment.source_landmarks
    height = float(np.hypot(*(lm[17:27].mean(0) - lm[8])))  # face height, source px
    frac = sigma_src / max(height, 1e-6)
    hull = face_region_mask(lm, shape, grow=min(frac, 2.0), feather=min(frac, 2.0))
    return np.clip(hull * valid, 0.0, 1.0)


def paste_back(
    frame: np.ndarray,
    aligned_image: np.ndarray,
    alignment: AlignedFace,
    mask: str | np.ndarray = "face",
    feather: float = 0.04,
) -> np.ndarray:
    """Put an (edited or generated) aligned face back into the full frame, by alpha blending.

    ``aligned_image`` is a crop in the geometry of ``alignment`` (any square
    size: it is rescaled to the alignment's size first). The crop is warped back
    with the inverse of the alignment (area-prefiltered when that shrinks it)
    and blended over ``frame`` with ``mask``: ``"face"`` (feathered face region,
    default), ``"crop"`` (feathered square), or a float array in crop
    coordinates (``(size, size)``, 1 = take the crop). Returns a new frame of
    ``frame``'s size. No colour matching: see :func:`paste_face` for that.
    """
    base = as_rgb_uint8(frame, "frame")
    h, w = base.shape[:2]
    warped = _warp_to_frame(aligned_image, alignment, (h, w))
    if isinstance(mask, str):
        alpha = blend_mask(alignment, (h, w), mode=mask, feather=feather)
    else:
        user = np.asarray(mask, np.float32)
        if user.ndim != 2 or user.shape[0] != user.shape[1]:
            raise InvalidOptionError(f"mask array must be a square (size, size) crop mask, got {user.shape}")
        um = alignment.matrix.copy()
        if user.shape[0] != alignment.size:
            um = _rescale(um, user.shape[0] / alignment.size)
        alpha = cv2.warpAffine(user, um, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
        alpha = np.clip(alpha, 0.0, 1.0)
    alpha = alpha[:, :, None]
    out = base.astype(np.float32) * (1.0 - alpha) + warped.astype(np.float32) * alpha
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def match_colour(image: np.ndarray, reference: np.ndarray, region: np.ndarray) -> np.ndarray:
    """``image`` with the colour statistics of ``reference`` inside ``region``, in CIELAB.

    Per channel of Lab (OpenCV's 8-bit Lab: L, a, b in 0-255), the values of
    ``image`` are shifted and scaled so that, over the pixels where ``region``
    is true, their mean and standard deviation become those of ``reference``
    there: ``(x - mean_i) * sd_r / sd_i + mean_r``. The scale is clamped to
    [0.5, 2] so a flat region cannot blow up the contrast. Applied to every
    pixel of ``image``; returns uint8 RGB of ``image``'s shape.
    """
    img = as_rgb_uint8(image, "image")
    ref = as_rgb_uint8(reference, "reference")
    sel = np.asarray(region, bool)
    if img.shape != ref.shape or sel.shape != img.shape[:2]:
        raise InvalidOptionError(f"image {img.shape}, reference {ref.shape} and region {sel.shape} must agree")
    if sel.sum() < 16:
        raise InvalidOptionError(f"the colour-matching region has {int(sel.sum())} pixels; it needs at least 16")
    lab_i = cv2.cvtColor(img, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab_r = cv2.cvtColor(ref, cv2.COLOR_RGB2LAB).astype(np.float32)
    vi, vr = lab_i[sel], lab_r[sel]
    mi, si = vi.mean(0), vi.std(0)
    mr, sr = vr.mean(0), vr.std(0)
    k = np.clip(sr / np.maximum(si, 1e-3), 0.5, 2.0)
    out = (lab_i - mi) * k + mr
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return cv2.cvtColor(out, cv2.COLOR_LAB2RGB)


def _pyramid_levels(shape: tuple[int, int], smallest: int = 8) -> int:
    n = 0
    h, w = shape
    while min(h, w) // 2 >= smallest and n < 8:
        h, w = (h + 1) // 2, (w + 1) // 2
        n += 1
    return n


def pyramid_blend(base: np.ndarray, overlay: np.ndarray, alpha: np.ndarray, levels: int | None = None) -> np.ndarray:
    """Laplacian-pyramid blend (Burt & Adelson 1983) of ``overlay`` over ``base`` with mask ``alpha``.

    Each band of the Laplacian pyramid of ``overlay - base`` is weighted by the
    Gaussian pyramid of ``alpha`` at that level and the weighted bands are
    collapsed and added to ``base``: fine detail switches over within the
    (feathered) mask edge, coarse colour over a wider zone. ``levels=None``:
    as many as halve the shorter side down to 8 px (at most 8). float32 in and out.
    """
    base = base.astype(np.float32)
    diff = overlay.astype(np.float32) - base
    a = alpha.astype(np.float32)
    n = _pyramid_levels(a.shape) if levels is None else int(levels)
    gs, ds = [a], [diff]
    for _ in range(n):
        gs.append(cv2.pyrDown(gs[-1]))
        ds.append(cv2.pyrDown(ds[-1]))
    out = ds[-1] * gs[-1][:, :, None]
    for lvl in range(n - 1, -1, -1):
        size = (ds[lvl].shape[1], ds[lvl].shape[0])
        band = ds[lvl] - cv2.pyrUp(ds[lvl + 1], dstsize=size)
        out = cv2.pyrUp(out, dstsize=size) + band * gs[lvl][:, :, None]
    return base + out


def _seamless(base: np.ndarray, overlay: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """OpenCV's Poisson clone of ``overlay`` into ``base`` where ``inside`` (same-size arrays, in place)."""
    m = inside.astype(np.uint8) * 255
    m[0, :] = m[-1, :] = m[:, 0] = m[:, -1] = 0  # OpenCV needs the boundary inside the image
    if m.max() == 0:
        return base.copy()
    x, y, w, h = cv2.boundingRect(m)
    # seamlessClone places the mask's bounding box with its centre at p,
    # top-left p - (w // 2, h // 2): this p puts it back exactly where it was.
    return cv2.seamlessClone(overlay, base, m, (x + w // 2, y + h // 2), cv2.NORMAL_CLONE)


def paste_face(
    frame: np.ndarray,
    aligned_image: np.ndarray,
    alignment: AlignedFace,
    *,
    blend: str = DEFAULT_BLEND,
    colour: bool = True,
    feather: float = 0.04,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Seamlessly paste a generated aligned face into the full-resolution ``frame``.

    The crop is warped back into the frame (:func:`paste_back`'s warp); the
    region is the face with forehead, grown and feathered by ``feather`` of the
    crop side (:func:`blend_mask`, ``mode="face"``). With ``colour`` the warped
    face's Lab mean/std inside the region are matched to the photo's there
    (:func:`match_colour`). ``blend``: ``"seamless"`` (default: OpenCV's
    Poisson ``seamlessClone`` inside the mask's 0.5 level, the lowest seam
    error in benchmarks/paste_back.py), ``"pyramid"`` (Laplacian pyramid with
    the feathered mask) or ``"alpha"`` (feathered cross-fade). Pixels outside the mask
    region (and its pyramid margin) are the frame's, unchanged. ``mask``: the
    frame-size ``blend_mask(alignment, frame.shape, "face", feather)``, when
    the caller pastes many crops into one photo and computes it once.
    """
    if blend not in BLENDS:
        raise InvalidOptionError(f"blend must be one of {BLENDS}, got {blend!r}")
    base = as_rgb_uint8(frame, "frame")
    h, w = base.shape[:2]
    if mask is None:
        alpha = blend_mask(alignment, (h, w), mode="face", feather=feather)
    else:
        alpha = np.asarray(mask, np.float32)
        if alpha.shape != (h, w):
            raise InvalidOptionError(f"mask must have the frame's shape {(h, w)}, got {alpha.shape}")
    ys, xs = np.nonzero(alpha > 1e-3)
    if len(ys) == 0:
        return base.copy()
    # Work in the mask's bounding box plus a margin: the coarse pyramid levels
    # reach that far, and the Poisson solve needs a ring of frame around the mask.
    margin = max(8, int(0.25 * max(ys.max() - ys.min(), xs.max() - xs.min())))
    y0, y1 = max(0, ys.min() - margin), min(h, ys.max() + 1 + margin)
    x0, x1 = max(0, xs.min() - margin), min(w, xs.max() + 1 + margin)
    roi = (slice(y0, y1), slice(x0, x1))
    a = alpha[roi]
    b = base[roi]
    g = _warp_to_frame(aligned_image, _shifted(alignment, x0, y0), (y1 - y0, x1 - x0))
    inside = a >= 0.5
    if colour and inside.sum() >= 16:
        g = match_colour(g, b, inside)
    if blend == "seamless":
        pasted = _seamless(b, g, inside)
    elif blend == "pyramid":
        pasted = np.clip(np.rint(pyramid_blend(b, g, a)), 0, 255).astype(np.uint8)
    else:
        mixed = b.astype(np.float32) * (1.0 - a[:, :, None]) + g.astype(np.float32) * a[:, :, None]
        pasted = np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
    out = base.copy()
    out[roi] = pasted
    return out


def _shifted(alignment: AlignedFace, x0: int, y0: int) -> AlignedFace:
    """The same alignment for the frame cropped at ``(x0, y0)``."""
    m = alignment.matrix.copy()
    m[:, 2] += m[:, :2] @ np.array([x0, y0], np.float64)
    return AlignedFace(
        image=alignment.image,
        matrix=m,
        quad=alignment.quad - np.array([x0, y0], np.float64),
        landmarks=alignment.landmarks,
        source_shape=alignment.source_shape,
    )


def _gradient(image: np.ndarray) -> np.ndarray:
    img = image.astype(np.float32)
    gx = cv2.Sobel(img, cv2.CV_32F, 1, 0, ksize=3) / 8.0
    gy = cv2.Sobel(img, cv2.CV_32F, 0, 1, ksize=3) / 8.0
    g2 = gx * gx + gy * gy
    return np.sqrt(g2.sum(axis=2) if g2.ndim == 3 else g2)


def seam_error(result: np.ndarray, photo: np.ndarray, mask: np.ndarray, *, width: int = 2, sigma: float = 2.0) -> float:
    """How far the paste's boundary departs from the photo's own texture there; 0 = no seam.

    Definition: the boundary is the 0.5 level of ``mask`` (``(H, W)`` float,
    1 = pasted); its band ``B`` is every pixel within ``width`` px of it
    (``dilate(M) & ~erode(M)`` of ``M = mask >= 0.5`` with a disc of radius
    ``width``), less the pixels within ``width + 1`` px of the image border,
    where a mask that leaves the image has no seam. ``g(I)`` is the gradient
    magnitude of the RGB image after a Gaussian blur of ``sigma`` px (so a
    colour step spread over a few pixels by feathering still counts, and
    single-pixel noise does not): ``sqrt(sum_c Gx_c^2 + Gy_c^2)`` with 3x3
    Sobel derivatives divided by 8 (grey levels per pixel). Then

        seam_error = | ln( mean_B g(result) / mean_B g(photo) ) |

    the mean gradient along the boundary in the result against the mean
    gradient of the photo itself along the same band, as a log ratio: a hard
    edge where the pasted face meets the photo makes the ratio > 1, a band
    where two unrelated textures are cross-faded (a ghost, smoother than the
    photo) makes it < 1; both are visible, so both count. 0.1 is a 10 %
    departure from the photo's own gradient level.
    """
    res = np.asarray(result)
    ph = np.asarray(photo)
    m = np.asarray(mask, np.float32)
    if res.shape != ph.shape or m.shape != ph.shape[:2]:
        raise InvalidOptionError(f"result {res.shape}, photo {ph.shape} and mask {m.shape} must agree")
    inside = (m >= 0.5).astype(np.uint8)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    band = (cv2.dilate(inside, k) > 0) & ~(cv2.erode(inside, k, borderType=cv2.BORDER_REPLICATE) > 0)
    e = width + 1
    band[:e, :] = band[-e:, :] = False
    band[:, :e] = band[:, -e:] = False
    if band.sum() == 0:
        raise InvalidOptionError("the mask has no boundary inside the image")
    ys, xs = np.nonzero(band)
    pad = int(np.ceil(3 * sigma)) + 2  # only the band's neighbourhood needs blurring
    roi = (slice(max(0, ys.min() - pad), ys.max() + 1 + pad), slice(max(0, xs.min() - pad), xs.max() + 1 + pad))

    def g(image: np.ndarray) -> np.ndarray:
        x = image[roi].astype(np.float32)
        if sigma > 0:
            x = cv2.GaussianBlur(x, (0, 0), sigma)
        return _gradient(x)[band[roi]]

    ref = float(g(ph).mean())
    return abs(float(np.log(max(float(g(res).mean()), 1e-6) / max(ref, 1e-6))))
