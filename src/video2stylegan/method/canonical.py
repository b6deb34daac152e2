"""Canonical transform of the reference (the paper's Eq. 4-6).

Input: per-frame :class:`~video2stylegan.faces.CanonicalParams` ``(tx, ty, r)``
of the driving (or co-driving) clip, as ``faces.canonical_params`` gives them:
the eye centre's offset from the FFHQ eye centre in fractions of the frame
(right / down positive) and the roll in radians (counter-clockwise as seen
positive). Output: one generator ``transform`` matrix per frame, ``[T, 3, 3]``,
for ``G.synthesis(ws, transform=...)`` / ``G.synthesis_from_styles``.

Steps:

1. **Smoothing** (:func:`~video2stylegan.faces.temporal.temporal_mean`): centred
   mean filter over ``kernel`` frames (odd, paper: 3 or more; 1 = off), ``r``
   unwrapped first. Edges: ``"shrink"`` (default) narrows the window
   symmetrically near the ends, so the first and last frames keep their values
   and a constant-speed motion passes without lag; ``"replicate"`` pads with
   copies of the end frames (a full window everywhere; the end frames are
   pulled towards their neighbours).
2. **Offsets** (:func:`canonical_offsets`): ``"relative"`` (default)
   ``d_j = p_j - p_0``, so frame 0 keeps the reference's placement and only
   the driving clip's motion is transferred; ``"absolute"``
   ``d_j = p_j - p_ref`` with ``p_ref`` the reference's own parameters in its
   generated (aligned) image, so the face lands where the driving frame has
   it. Angle differences are wrapped to (-pi, pi].
3. **Content motion** (:func:`content_motions`): the reference's face turns
   by ``d_r`` about its own eye centre ``e_ref`` (the FFHQ eye centre plus
   ``p_ref``'s offset) and its eye centre moves by ``(d_tx, d_ty)``:
   ``p -> R(d_r) (p - e_ref) + e_ref + d_t`` in the generator's coordinates
   (units of the image size, origin at the centre, y down).
4. **Generator transform** (:func:`canonical_transforms`): the inverse of that
   motion (the generator samples its Fourier features at ``transform @ p``).

**Feedback** (``drift``, **choice**, ``ReenactConfig.canonical_feedback``): the
other edits can move the face too. Eq. 7 turns the head, and a turned head's
eye centre moves sideways; the driving clip's eye-centre motion already holds
that shift, so the transform would apply it a second time. With ``drift``
(``(T, 3)``: where each frame's face is *before* the transform, minus where the
unedited reference's is, measured on renders by :func:`placement_drift`), the
offsets become ``d_j - drift_j`` and the turn is about the frame's own eye
centre ``e_ref + drift_j``, so every frame's eye centre and eye-to-mouth angle
land where the offsets say, whatever the edits did to them.

**Shot cuts** (``cuts``: the first frames of new shots, from
:func:`video2stylegan.faces.track_faces`): smoothing runs shot by shot, and the relative
offsets of each shot are measured from the shot's own first frame and continue from the offset
the previous shot ended on (:func:`reanchor_shots`), so a cut moves the portrait by nothing.
Absolute offsets are placements, not motions: they are smoothed by shot but not re-anchored.
:func:`transforms_for_config` honours the cuts unless ``ReenactConfig.cuts`` is ``"ignore"``,
which passes none (smoothing and offsets run through the cut, the single-shot behaviour).

Fractions of the driving frame are used directly as fractions of the square
generator image (the paper's reading); for a non-square driving frame ``tx``
is a fraction of its width and ``ty`` of its height.
"""

from __future__ import annotations

import numpy as np
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.canonical import FFHQ_EYE_CENTER
from video2stylegan.faces.shots import segments
from video2stylegan.faces.temporal import temporal_mean, wrap_angle
from video2stylegan.method.config import CUT_POLICIES
from video2stylegan.networks.transforms import content_transform

__all__ = [
    "as_params_array",
    "sequence_length",
    "match_length",
    "canonical_offsets",
    "content_motions",
    "canonical_transforms",
    "transforms_for_config",
    "placement_drift",
    "CUT_POLICIES",
    "reanchor_shots",
]


def reanchor_shots(values, cuts=(), *, angle_columns=()):
    """Per-frame ``values`` (array or tensor, frames first) with each shot after the first moved so
    that it starts where the previous shot ended: ``v'_j = v_j - v_a + v'_{a-1}`` for a shot
    starting at ``a``. Differences of the ``angle_columns`` (last axis) are wrapped to (-pi, pi]
    first. A relative motion read from the result never jumps at a cut."""
    out = values.clone() if torch.is_tensor(values) else np.array(values, np.float64, copy=True)
    for a, b in segments(len(out), cuts or ())[1:]:
        delta = out[a:b] - out[a]
        for c in angle_columns:
            delta[..., c] = wrap_angle(delta[..., c])
        out[a:b] = delta + out[a - 1]
    return out


def as_params_array(params) -> np.ndarray:
    """``(T, 3)`` float64 rows ``(tx, ty, r)`` from an array or a sequence of CanonicalParams / dicts."""
    if hasattr(params, "as_array") or isinstance(params, dict):
        params = [params]
    if isinstance(params, np.ndarray) or torch.is_tensor(params):
        arr = np.asarray(params, np.float64)
    else:
        rows = []
        for p in params:
            if hasattr(p, "as_array"):
                rows.append(p.as_array())
            elif isinstance(p, dict):
                rows.append([p["tx"], p["ty"], p["r"]])
            else:
                rows.append(p)
        arr = np.asarray(rows, np.float64)
    if arr.ndim == 1 and arr.shape == (3,):
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != 3 or len(arr) == 0:
        raise InvalidOptionError(f"canonical parameters must be (T, 3) rows of (tx, ty, r) with T >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise InvalidOptionError("canonical parameters contain NaN or infinite values")
    return arr


def _smoothed(params, kernel: int, edges: str, cuts) -> np.ndarray:
    """``(T, 3)`` canonical parameters smoothed shot by shot (step 1 of the module doc; ``r`` is unwrapped
    before the mean and wrapped to (-pi, pi] after)."""
    if isinstance(kernel, bool) or not isinstance(kernel, (int, np.integer)) or kernel < 1 or kernel % 2 == 0:
        raise InvalidOptionError(f"smoothing kernel must be an odd integer >= 1, got {kernel!r}")
    return temporal_mean(as_params_array(params), kernel, edges=edges, cuts=cuts, angle_columns=(2,))


def sequence_length(num_driving: int, num_codriving: int | None, policy: str = "loop") -> int:
    """Frames of the output when a co-driving clip of ``num_codriving`` frames is used.

    ``"loop"``: the driving clip sets the length and the co-driving clip repeats
    (it jumps back to its first frame at each wrap). ``"truncate"``: both are
    cut to the shorter one.
    """
    if policy not in ("loop", "truncate"):
        raise InvalidOptionError(f"co-driving length policy must be 'loop' or 'truncate', got {policy!r}")
    if num_driving < 1:
        raise InvalidOptionError(f"the driving clip has no frames ({num_driving})")
    if num_codriving is None:
        return int(num_driving)
    if num_codriving < 1:
        raise InvalidOptionError(f"the co-driving clip has no frames ({num_codriving})")
    return int(num_driving) if policy == "loop" else int(min(num_driving, num_codriving))


def match_length(seq, length: int, policy: str = "loop"):
    """``seq`` (array, tensor or list, frames first) brought to ``length`` frames: looped
    (index ``j % len(seq)``) or truncated. Truncating a clip shorter than ``length`` is an error."""
    n = len(seq)
    if n < 1:
        raise InvalidOptionError("cannot match the length of an empty sequence")
    if policy == "truncate":
        if n < length:
            raise InvalidOptionError(f"cannot truncate a {n}-frame sequence to {length} frames")
        return seq[:length]
    if policy != "loop":
        raise InvalidOptionError(f"length policy must be 'loop' or 'truncate', got {policy!r}")
    index = np.arange(length) % n
    if isinstance(seq, np.ndarray):
        return seq[index]
    if torch.is_tensor(seq):
        return seq[torch.as_tensor(index, device=seq.device)]
    return [seq[i] for i in index]


def canonical_offsets(
    params,
    *,
    mode: str = "relative",
    reference=None,
    kernel: int = 3,
    edges: str = "shrink",
    drift=None,
    cuts=(),
) -> np.ndarray:
    """``(T, 3)`` offsets ``(d_tx, d_ty, d_r)`` to apply to the reference, after smoothing.

    ``mode="relative"``: ``p_j - p_0`` (frame 0 unchanged). ``mode="absolute"``:
    ``p_j - reference`` (``reference``: the reference's own ``(tx, ty, r)`` in
    its generated image; default ``(0, 0, 0)``, an FFHQ-aligned face).
    ``drift``: ``(T, 3)`` placement change the edits already made (module doc),
    subtracted from the offsets. ``cuts``: the shot cuts to honour (module doc; none: one shot).
    """
    p = _smoothed(params, kernel, edges, cuts)
    if mode == "relative":
        p = reanchor_shots(p, cuts, angle_columns=(2,))
        anchor = p[0]
    elif mode == "absolute":
        anchor = np.zeros(3) if reference is None else as_params_array(reference)[0]
    else:
        raise InvalidOptionError(f"canonical mode must be 'relative' or 'absolute', got {mode!r}")
    d = p - anchor
    if drift is not None:
        d = d - _drift_array(drift, len(d))
    d[:, 2] = wrap_angle(d[:, 2])
    return d


def _drift_array(drift, length: int) -> np.ndarray:
    arr = as_params_array(drift)
    if len(arr) != length:
        raise InvalidOptionError(f"got {len(arr)} placement drifts for {length} frames")
    return arr


def content_motions(offsets, reference=None, dtype=torch.float32, drift=None) -> torch.Tensor:
    """``[T, 3, 3]`` forward content motions: turn by ``d_r`` about the reference's eye centre
    (moved by ``drift``, when given), then move that eye centre by ``(d_tx, d_ty)``
    (generator coordinates, see the module doc)."""
    d = as_params_array(offsets)
    ref = np.zeros(3) if reference is None else as_params_array(reference)[0]
    centre = np.repeat(ref[None], len(d), 0)
    if drift is not None:
        centre = centre + _drift_array(drift, len(d))
    # Eye centre of each frame's face in generator coordinates (origin at the image centre).
    ex = FFHQ_EYE_CENTER[0] + centre[:, 0] - 0.5
    ey = FFHQ_EYE_CENTER[1] + centre[:, 1] - 0.5
    to_origin = content_transform(torch.zeros(len(d), dtype=torch.float64), (torch.as_tensor(-ex), torch.as_tensor(-ey)))
    turn_and_place = content_transform(torch.as_tensor(d[:, 2]), (torch.as_tensor(ex + d[:, 0]), torch.as_tensor(ey + d[:, 1])))
    return (turn_and_place.double() @ to_origin.double()).to(dtype)


def canonical_transforms(
    params,
    *,
    mode: str = "relative",
    reference=None,
    kernel: int = 3,
    edges: str = "shrink",
    dtype=torch.float32,
    drift=None,
    cuts=(),
) -> torch.Tensor:
    """``[T, 3, 3]`` generator ``transform`` matrices (Eq. 6) from per-frame canonical
    parameters: smoothing, offsets, then the inverse of the content motion (``drift``:
    the feedback of the module doc; ``cuts``: the shot cuts to honour)."""
    offsets = canonical_offsets(params, mode=mode, reference=reference, kernel=kernel, edges=edges, drift=drift,
                                cuts=cuts)
    motion = content_motions(offsets, reference=reference, dtype=torch.float64, drift=drift)
    return torch.linalg.inv(motion).to(dtype)


def transforms_for_config(
    config,
    num_frames: int,
    driving_params=None,
    codriving_params=None,
    reference=None,
    dtype=torch.float32,
    drift=None,
    cuts=(),
) -> torch.Tensor | None:
    """The canonical transforms a :class:`~video2stylegan.method.config.ReenactConfig` asks
    for, ``num_frames`` of them (co-driving parameters looped or truncated per
    ``config.codriving_length``), or ``None`` when the source is ``"none"``. ``drift``:
    see :func:`canonical_transforms` (the caller decides, from ``config.canonical_feedback``).
    ``cuts``: the shot cuts of the clip the parameters come from (after looping, for a co-driving
    clip), honoured unless ``config.cuts`` is ``"ignore"``."""
    policy = getattr(config, "cuts", "reanchor")
    if policy not in CUT_POLICIES:
        raise InvalidOptionError(f"cut policy must be one of {CUT_POLICIES}, got {policy!r}")
    source = config.canonical_source
    if source == "none":
        return None
    params = driving_params if source == "driving" else codriving_params
    if params is None:
        raise InvalidOptionError(f"the canonical transform comes from the {source} clip, but no {source} parameters were given")
    params = as_params_array(params)
    if source == "co-driving":
        params = match_length(params, num_frames, config.codriving_length)
    elif len(params) != num_frames:
        raise InvalidOptionError(f"got {len(params)} driving canonical parameters for {num_frames} frames")
    return canonical_transforms(
        params,
        mode=config.canonical_mode,
        reference=reference,
        kernel=config.smoothing_kernel,
        edges=config.smoothing_edges,
        dtype=dtype,
        drift=drift,
        cuts=() if policy == "ignore" else cuts,
    )


def placement_drift(measured, reference, *, kernel: int = 3, edges: str = "shrink", cuts=()) -> np.ndarray:
    """``(T, 3)`` drift for the feedback of the module doc: the per-frame ``measured``
    ``(tx, ty, r)`` of the edited faces before the transform, smoothed like the driving
    parameters (``kernel``, ``edges``; the landmark detector's jitter would otherwise pass
    into the motion), minus the ``reference`` face's parameters measured the same way.
    Angles are wrapped to (-pi, pi]."""
    m = _smoothed(measured, kernel, edges, cuts)
    d = m - as_params_array(reference)[0]
    d[:, 2] = wrap_angle(d[:, 2])
    return d
