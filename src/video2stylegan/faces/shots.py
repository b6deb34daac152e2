"""Shot cuts in a clip: where the picture, and the face in it, jump from one frame to the next.

A cut is found from two kinds of evidence between frame ``i - 1`` and frame ``i``:

* **picture change** (:func:`frame_signature`, :func:`picture_change`): the total-variation
  distance of the two frames' colour histograms (8x8x8 RGB bins of a 64x64 thumbnail, 0 = same
  colours, 1 = no colour in common) and the mean absolute difference of 32x32 grey thumbnails
  (fraction of full scale);
* **face jump** (:func:`face_jumps`): how far the followed face's landmark centre moved, in
  units of its size, plus the change of its size (``|log(size ratio)|``) and of its shape (the
  landmarks' residual after a similarity fit, in units of the size).

Each signal is compared with its own neighbourhood (:func:`spike`): a cut is one frame whose
change stands far above the frames around it, while a fast pan or a quick head turn spreads over
several frames. :func:`find_cuts` combines them with the thresholds below, measured on
concatenated synthetic and real clips (docs: the table in the module's test file and the
commit message that set them).

A cut is reported as the index of the **first frame of the new shot**; frame 0 is never one.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "CUT_HISTOGRAM",
    "CUT_HISTOGRAM_ALONE",
    "CUT_PIXELS",
    "CUT_FACE_JUMP",
    "CUT_SPIKE",
    "frame_signature",
    "picture_change",
    "face_jumps",
    "spike",
    "find_cuts",
    "segments",
    "bridge_gaps",
]

#: Histogram distance above which two frames are a cut whatever the face does (when it is a spike).
CUT_HISTOGRAM_ALONE = 0.7
#: Histogram distance, or ...
CUT_HISTOGRAM = 0.15
#: ... grey thumbnail difference (fraction of full scale), that with a face jump makes a cut.
CUT_PIXELS = 0.02
#: Face jump (face sizes) that, with a picture change, makes a cut.
CUT_FACE_JUMP = 0.25
#: How many times its neighbours' median change (plus a floor) a frame's change must be.
CUT_SPIKE = 3.0

#: Longest stretch of faceless frames (a blank, a flash, an occlusion) that :func:`bridge_gaps` joins.
BRIDGE_FRAMES = 5

_THUMB = 64
_GREY = 32
_BINS = 8


def frame_signature(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(histogram, grey)`` of an RGB uint8 frame: its normalised ``8**3`` colour histogram
    and a ``32x32`` float grey thumbnail in [0, 1]."""
    small = cv2.resize(np.ascontiguousarray(frame), (_THUMB, _THUMB), interpolation=cv2.INTER_AREA)
    q = (small.astype(np.int32) * _BINS) // 256
    codes = (q[..., 0] * _BINS + q[..., 1]) * _BINS + q[..., 2]
    hist = np.bincount(codes.ravel(), minlength=_BINS**3).astype(np.float64)
    hist /= hist.sum()
    grey = cv2.resize(cv2.cvtColor(small, cv2.COLOR_RGB2GRAY), (_GREY, _GREY), interpolation=cv2.INTER_AREA)
    return hist, grey.astype(np.float64) / 255.0


def picture_change(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[float, float]:
    """``(histogram distance, grey difference)`` between two :func:`frame_signature` results."""
    return 0.5 * float(np.abs(a[0] - b[0]).sum()), float(np.abs(a[1] - b[1]).mean())


def _similarity_residual(p: np.ndarray, q: np.ndarray) -> float:
    """RMS distance of ``q`` from the best similarity transform of ``p``, in units of ``p``'s size."""
    pc, qc = p - p.mean(0), q - q.mean(0)
    sp = np.sqrt((pc**2).sum() / len(p))
    if sp < 1e-9:
        return 0.0
    # complex least squares: q ~ z p (z = scale * rotation)
    zp, zq = pc[:, 0] + 1j * pc[:, 1], qc[:, 0] + 1j * qc[:, 1]
    z = (np.conj(zp) @ zq) / (np.conj(zp) @ zp)
    return float(np.sqrt(np.mean(np.abs(zq - z * zp) ** 2)) / (abs(z) * sp))


def face_jumps(landmarks: np.ndarray, known: np.ndarray | None = None) -> np.ndarray:
    """``(T,)`` face jump into every frame from the one before (``nan`` at frame 0 and where
    either frame has no face): centre shift / size + ``|log size ratio|`` + shape residual."""
    lms = np.asarray(landmarks, np.float64)
    n = len(lms)
    known = np.ones(n, bool) if known is None else np.asarray(known, bool)
    out = np.full(n, np.nan)
    for i in range(1, n):
        if not (known[i] and known[i - 1]):
            continue
        a, b = lms[i - 1], lms[i]
        sa = np.sqrt(np.ptp(a[:, 0]) * np.ptp(a[:, 1])) + 1e-9
        sb = np.sqrt(np.ptp(b[:, 0]) * np.ptp(b[:, 1])) + 1e-9
        shift = np.linalg.norm(b.mean(0) - a.mean(0)) / sa
        out[i] = shift + abs(np.log(sb / sa)) + _similarity_residual(a, b)
    return out


def spike(values: np.ndarray, radius: int = 4, floor: float = 0.0) -> np.ndarray:
    """``(T,)`` each value divided by (the median of the values within ``radius`` frames on
    either side, itself excluded, plus ``floor``); ``nan`` values count as absent."""
    v = np.asarray(values, np.float64)
    out = np.full(len(v), np.nan)
    for i in range(len(v)):
        if not np.isfinite(v[i]):
            continue
        around = np.concatenate([v[max(0, i - radius) : i], v[i + 1 : i + 1 + radius]])
        around = around[np.isfinite(around)]
        base = float(np.median(around)) if len(around) else 0.0
        out[i] = v[i] / (base + floor + 1e-12)
    return out


def find_cuts(
    histogram: np.ndarray,
    pixels: np.ndarray,
    jumps: np.ndarray | None = None,
    *,
    min_shot: int = 2,
) -> list[int]:
    """Indices of the first frames of new shots, from the per-frame changes ``histogram`` and
    ``pixels`` (:func:`picture_change` into frame ``i`` from ``i - 1``; entry 0 unused) and the
    face ``jumps`` (:func:`face_jumps`; ``None`` or ``nan`` where unknown).

    Frame ``i`` starts a shot when its picture change is a spike (:data:`CUT_SPIKE` times its
    neighbours'), the picture changed enough (histogram distance :data:`CUT_HISTOGRAM` or grey
    difference :data:`CUT_PIXELS`) and the face jumped by :data:`CUT_FACE_JUMP` (a face unknown
    on either side counts as a jump), or when the histogram distance alone passes
    :data:`CUT_HISTOGRAM_ALONE`. A person walking into the picture changes it but does not move
    the face followed: no cut. Cuts closer than ``min_shot`` frames keep the stronger one.
    """
    hist = np.asarray(histogram, np.float64).copy()
    pix = np.asarray(pixels, np.float64).copy()
    n = len(hist)
    hist[:1] = np.nan
    pix[:1] = np.nan
    jump = np.full(n, np.nan) if jumps is None else np.asarray(jumps, np.float64)
    # floors: a still shot's changes are near 0, so a plain ratio would call noise a spike
    hs = spike(hist, floor=0.02)
    ps = spike(pix, floor=0.004)
    candidates = []
    for i in range(1, n):
        if not max(hs[i], ps[i]) >= CUT_SPIKE:
            continue
        changed = hist[i] >= CUT_HISTOGRAM or pix[i] >= CUT_PIXELS
        face = (not np.isfinite(jump[i])) or jump[i] >= CUT_FACE_JUMP
        if hist[i] >= CUT_HISTOGRAM_ALONE or (changed and face):
            candidates.append((i, hist[i] + pix[i]))
    cuts: list[int] = []
    for i, strength in candidates:
        if cuts and i - cuts[-1] < min_shot:
            if strength > _strength(hist, pix, cuts[-1]):
                cuts[-1] = i
            continue
        cuts.append(i)
    return cuts


def _strength(hist, pix, i):
    return hist[i] + pix[i]


def bridge_gaps(cuts, landmarks: np.ndarray, known: np.ndarray) -> list[int]:
    """``cuts`` without those that fall in or at the edge of a stretch of at most
    :data:`BRIDGE_FRAMES` frames without a face, when the face after the stretch continues the one
    before it (a jump below :data:`CUT_FACE_JUMP`): a blank or flashed frame, or a short occlusion,
    is not a change of shot. A longer faceless stretch is a cutaway and keeps its cuts."""
    known = np.asarray(known, bool)
    seen = np.flatnonzero(known)
    out: list[int] = []
    for c in sorted(int(c) for c in cuts):
        before, after = seen[seen < c], seen[seen >= c]
        if len(before) and len(after) and 1 < after[0] - before[-1] <= BRIDGE_FRAMES + 1:
            pair = np.stack([landmarks[before[-1]], landmarks[after[0]]])
            if face_jumps(pair)[1] < CUT_FACE_JUMP:
                continue
        out.append(c)
    return out


def segments(length: int, cuts) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` half-open frame ranges of the shots of a ``length``-frame clip."""
    edges = [0, *sorted(int(c) for c in cuts if 0 < int(c) < length), int(length)]
    return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
