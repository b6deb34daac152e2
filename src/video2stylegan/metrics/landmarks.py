"""Landmark metrics: keypoint motion distance dK, aligned per-frame landmark
distance, expression ratios (mouth opening, eye openness) and jitter.

Every function takes landmark arrays ``(T, 68, 2)`` in pixel coordinates of
their own video (iBUG order, as :mod:`video2stylegan.faces` returns them). Two
videos may have different resolutions: each is divided by its own face scale
(:func:`face_scale`) first, so distances are in units of that scale.
"""

from __future__ import annotations

import numpy as np

from video2stylegan.errors import InvalidOptionError

# iBUG indices.
LEFT_EYE = list(range(36, 42))  # image-left eye: outer corner 36, upper lid 37-38, inner 39, lower 40-41
RIGHT_EYE = list(range(42, 48))  # image-right eye: inner corner 42, upper lid 43-44, outer 45, lower 46-47
MOUTH_CORNERS = (48, 54)  # outer lip corners
INNER_UPPER_LIP = (61, 62, 63)
INNER_LOWER_LIP = (67, 66, 65)  # below 61, 62, 63 respectively

SCALES = ("face", "image")


def _as_landmarks(lms, what: str) -> np.ndarray:
    arr = np.asarray(lms, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[1:] != (68, 2):
        raise InvalidOptionError(f"{what}: expected landmarks of shape (T, 68, 2), got {arr.shape}")
    return arr


def interocular(lms) -> np.ndarray:
    """Distance between the outer eye corners (points 36 and 45) per frame, ``(T,)`` pixels."""
    arr = _as_landmarks(lms, "landmarks")
    return np.linalg.norm(arr[:, 45] - arr[:, 36], axis=-1)


def face_scale(lms) -> float:
    """The face size a clip's landmarks are divided by: the median over frames of
    the outer-eye-corner distance (points 36-45), in pixels.

    One number per clip (not per frame), so a face moving towards the camera
    still counts as motion; the median ignores a few bad frames.
    """
    d = interocular(lms)
    scale = float(np.median(d))
    if not scale > 0:
        raise InvalidOptionError("cannot measure the face size: the eye corners coincide in every frame")
    return scale


def _normalised(lms, scale: str | float, image_shape, what: str) -> np.ndarray:
    arr = _as_landmarks(lms, what)
    if isinstance(scale, str):
        if scale == "face":
            return arr / face_scale(arr)
        if scale == "image":
            if image_shape is None:
                raise InvalidOptionError(f"{what}: scale='image' needs the frame shape (H, W)")
            return arr / float(image_shape[1])
        raise InvalidOptionError(f"scale must be one of {SCALES} or a number of pixels, got {scale!r}")
    return arr / _pixel_scale(scale)


def _pixel_scale(scale) -> float:
    if isinstance(scale, str):
        raise InvalidOptionError(f"scale must be one of {SCALES} or a number of pixels, got {scale!r}")
    if not float(scale) > 0:
        raise InvalidOptionError(f"scale must be positive, got {scale}")
    return float(scale)


def _common(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(a), len(b))
    return a[:n], b[:n]


def keypoint_motion_distance(
    driving,
    result,
    *,
    scale: str | float = "face",
    driving_shape=None,
    result_shape=None,
) -> np.ndarray:
    """Per-transition keypoint motion distance (the paper's dK before averaging).

    For frames ``t = 0 .. T-2``: the displacement of each of the 68 landmarks
    from frame ``t`` to ``t+1`` in the driving clip and in the result, each
    divided by its clip's scale; the value is the mean over the 68 points of
    the L2 norm of the difference of the two displacements. Returns ``(T-1,)``
    (the common prefix of the two clips is used). ``scale``: ``"face"`` (each
    clip's :func:`face_scale`), ``"image"`` (each clip's frame width; pass
    ``driving_shape``/``result_shape``), or a number of pixels for both.
    """
    d = _normalised(driving, scale, driving_shape, "driving landmarks")
    r = _normalised(result, scale, result_shape, "result landmarks")
    d, r = _common(d, r)
    if len(d) < 2:
        return np.zeros(0)
    diff = np.diff(d, axis=0) - np.diff(r, axis=0)
    return np.linalg.norm(diff, axis=-1).mean(axis=-1)


def similarity_align(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``source`` points ``(N, 2)`` moved by the least-squares similarity transform
    (rotation, uniform scale, translation; Umeyama 1991) that best fits ``target``."""
    mu_s, mu_t = source.mean(0), target.mean(0)
    s, t = source - mu_s, target - mu_t
    var_s = (s**2).sum()
    if var_s == 0:
        return np.broadcast_to(mu_t, source.shape).copy()
    u, sig, vt = np.linalg.svd(t.T @ s)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1
    rot = u @ np.diag(d) @ vt
    c = (sig * d).sum() / var_s
    return c * s @ rot.T + mu_t


def landmark_distance(
    driving,
    result,
    *,
    align: bool = True,
    scale: str | float = "face",
    driving_shape=None,
    result_shape=None,
) -> np.ndarray:
    """Per-frame mean L2 distance between the 68 landmarks of the two clips, ``(T,)``.

    With ``align=True`` (default) the result's landmarks of each frame are first
    moved onto the driving ones by the best similarity transform
    (:func:`similarity_align`), so only the face *shape* (expression, and the
    part of head rotation a 2D similarity cannot undo) is compared; the
    distance is in units of the driving clip's scale. With ``align=False`` the
    points are compared as they are, both divided by the driving clip's scale
    (meaningful when both clips frame the face the same way, e.g. at the same
    resolution: a result shifted by ``s`` pixels gives ``s / scale``).
    """
    if align:
        d = _normalised(driving, scale, driving_shape, "driving landmarks")
        r = _normalised(result, scale, result_shape, "result landmarks")
        d, r = _common(d, r)
        r = np.stack([similarity_align(r[i], d[i]) for i in range(len(d))]) if len(d) else r
    else:
        # One divisor for both clips (the driving clip's), so a scale estimate
        # that differs slightly between the clips does not shift the points.
        d_px = _as_landmarks(driving, "driving landmarks")
        r_px = _as_landmarks(result, "result landmarks")
        if scale == "face":
            divisor = face_scale(d_px)
        elif scale == "image":
            if driving_shape is None:
                raise InvalidOptionError("scale='image' needs the frame shape (H, W)")
            divisor = float(driving_shape[1])
        else:
            divisor = _pixel_scale(scale)
        d, r = _common(d_px / divisor, r_px / divisor)
    return np.linalg.norm(d - r, axis=-1).mean(axis=-1)


def mouth_opening(lms) -> np.ndarray:
    """Inner-lip gap / mouth width per frame, ``(T,)``.

    Gap: the mean distance between the inner upper lip points 61, 62, 63 and
    the inner lower lip points 67, 66, 65 below them; width: the distance of
    the outer corners 48-54. 0 for closed lips, about 0.5 for a wide-open mouth.
    """
    arr = _as_landmarks(lms, "landmarks")
    gap = np.linalg.norm(arr[:, INNER_UPPER_LIP] - arr[:, INNER_LOWER_LIP], axis=-1).mean(-1)
    width = np.linalg.norm(arr[:, MOUTH_CORNERS[1]] - arr[:, MOUTH_CORNERS[0]], axis=-1)
    return gap / np.maximum(width, 1e-9)


def _ear(eye: np.ndarray) -> np.ndarray:
    # Soukupova & Cech 2016: (|p2-p6| + |p3-p5|) / (2 |p1-p4|), points p1..p6 = eye[0..5].
    v = np.linalg.norm(eye[:, 1] - eye[:, 5], axis=-1) + np.linalg.norm(eye[:, 2] - eye[:, 4], axis=-1)
    h = np.linalg.norm(eye[:, 0] - eye[:, 3], axis=-1)
    return v / np.maximum(2 * h, 1e-9)


def eye_openness(lms) -> np.ndarray:
    """Eye aspect ratio (Soukupova & Cech 2016) per frame, mean of both eyes, ``(T,)``.

    ``(|p2 - p6| + |p3 - p5|) / (2 |p1 - p4|)`` for each eye's six points;
    about 0.25-0.35 for an open eye, below about 0.15 for a closed one.
    """
    arr = _as_landmarks(lms, "landmarks")
    return (_ear(arr[:, LEFT_EYE]) + _ear(arr[:, RIGHT_EYE])) / 2


def expression_errors(driving, result) -> dict[str, np.ndarray]:
    """Per-frame absolute differences of the expression ratios (common prefix).

    Returns ``mouth_error`` and ``eye_error`` ``(T,)`` plus the ratios
    themselves (``driving_mouth``, ``result_mouth``, ``driving_eyes``,
    ``result_eyes``). The ratios are scale-free, so the clips' resolutions
    do not matter.
    """
    d, r = _common(_as_landmarks(driving, "driving landmarks"), _as_landmarks(result, "result landmarks"))
    dm, rm, de, re_ = mouth_opening(d), mouth_opening(r), eye_openness(d), eye_openness(r)
    return {
        "mouth_error": np.abs(dm - rm),
        "eye_error": np.abs(de - re_),
        "driving_mouth": dm,
        "result_mouth": rm,
        "driving_eyes": de,
        "result_eyes": re_,
    }


def landmark_jitter(landmarks, scale: float) -> np.ndarray:
    """Per frame ``mean_k |L[t+1,k] - 2 L[t,k] + L[t-1,k]| / scale`` (``nan`` at the first and last
    frame): 0 for landmarks moving at constant velocity, ``2 d / scale`` for points alternating
    between two positions ``d`` apart."""
    landmarks = np.asarray(landmarks, np.float64)
    out = np.full(len(landmarks), np.nan)
    if len(landmarks) >= 3:
        acc = landmarks[2:] - 2 * landmarks[1:-1] + landmarks[:-2]
        out[1:-1] = np.linalg.norm(acc, axis=-1).mean(axis=-1) / scale
    return out
