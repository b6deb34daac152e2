"""Residual motion in W+ (the paper's Eq. 10) and the paper's W+ baseline.

Eq. 10 as printed, ``w_base = w_ref^p + (w_{j-1} - w_j)``, adds one
consecutive difference with a reversed sign. **Choice** (default,
``form="accumulated"``): the telescoped sum of the consecutive differences,

    w_base_j = w_ref^p_j + (w_j - w_0)        on the ws in ``layers`` (default 3..7),

so motion accumulates and frame 0 equals the (pose-edited) reference.
``form="literal"`` keeps the printed equation for the ablation (frame 0 uses
``w_{-1} = w_0``, i.e. no difference). On every other ws ``w_base`` is ``w_ref^p``.

The **baseline** (:func:`baseline_codes`): the same accumulated difference on
*all* ws of the reference, rendered directly (no S-space combination, no pose
edit, no canonical transform).

Shapes: codes are ``[N, num_ws, w_dim]`` (a batch of frames); a reference may
be ``[num_ws, w_dim]`` or ``[1, num_ws, w_dim]`` (broadcast) or ``[N, ...]``
(one per frame, e.g. the pose-edited reference). To process a clip in chunks
pass ``w_first`` (the clip's first code) and, for the literal form, ``w_prev``
(the code before the chunk's first frame).
"""

from __future__ import annotations

from typing import Sequence

import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.config import DEFAULT_CONSTRAINED_LAYERS, RESIDUAL_FORMS

__all__ = ["motion_deltas", "residual_codes", "baseline_codes"]


def _batch(w: torch.Tensor, name: str) -> torch.Tensor:
    if not torch.is_tensor(w):
        raise InvalidOptionError(f"{name} must be a tensor, got {type(w).__name__}")
    if w.ndim == 2:
        w = w.unsqueeze(0)
    if w.ndim != 3:
        raise InvalidOptionError(f"{name} must be [num_ws, w_dim] or [N, num_ws, w_dim], got {list(w.shape)}")
    return w


def _code(w, name: str, like: torch.Tensor) -> torch.Tensor:
    w = torch.as_tensor(w, dtype=like.dtype, device=like.device)
    if w.ndim == 3 and w.shape[0] == 1:
        w = w[0]
    if w.shape != like.shape[1:]:
        raise InvalidOptionError(f"{name} must have shape {list(like.shape[1:])}, got {list(w.shape)}")
    return w


def motion_deltas(
    w_drive: torch.Tensor,
    *,
    form: str = "accumulated",
    w_first: torch.Tensor | None = None,
    w_prev: torch.Tensor | None = None,
) -> torch.Tensor:
    """``[N, num_ws, w_dim]`` per-frame differences: ``w_j - w_0`` (accumulated) or
    ``w_{j-1} - w_j`` (literal, with ``w_{-1}`` = ``w_prev``, default ``w_0``)."""
    w = _batch(w_drive, "w_drive")
    if form == "accumulated":
        first = w[0] if w_first is None else _code(w_first, "w_first", w)
        return w - first
    if form == "literal":
        prev0 = w[0] if w_prev is None else _code(w_prev, "w_prev", w)
        previous = torch.cat([prev0.unsqueeze(0), w[:-1]], dim=0)
        return previous - w
    raise InvalidOptionError(f"residual form must be one of {', '.join(map(repr, RESIDUAL_FORMS))}; got {form!r}")


def _layer_mask(layers: Sequence[int] | None, num_ws: int, like: torch.Tensor) -> torch.Tensor:
    mask = torch.zeros(num_ws, 1, dtype=like.dtype, device=like.device)
    if layers is None:
        mask[:] = 1
        return mask
    layers = list(layers)
    bad = [l for l in layers if not 0 <= int(l) < num_ws]
    if bad:
        raise InvalidOptionError(f"residual layers must lie in 0..{num_ws - 1}, got {bad}")
    mask[[int(l) for l in layers]] = 1
    return mask


def residual_codes(
    w_ref_pose: torch.Tensor,
    w_drive: torch.Tensor,
    *,
    form: str = "accumulated",
    layers: Sequence[int] | None = DEFAULT_CONSTRAINED_LAYERS,
    w_first: torch.Tensor | None = None,
    w_prev: torch.Tensor | None = None,
) -> torch.Tensor:
    """Eq. 10: ``w_base`` ``[N, num_ws, w_dim]`` = ``w_ref_pose`` plus the driving motion on
    ``layers`` (ws indices; ``None`` = all), ``w_ref_pose`` elsewhere."""
    w = _batch(w_drive, "w_drive")
    ref = _batch(w_ref_pose, "w_ref_pose").to(w.dtype)
    if ref.shape[1:] != w.shape[1:] or ref.shape[0] not in (1, w.shape[0]):
        raise InvalidOptionError(
            f"w_ref_pose {list(ref.shape)} does not match w_drive {list(w.shape)} (need 1 or {w.shape[0]} codes)"
        )
    delta = motion_deltas(w, form=form, w_first=w_first, w_prev=w_prev)
    return ref + delta * _layer_mask(layers, w.shape[1], w)


def baseline_codes(
    w_ref: torch.Tensor,
    w_drive: torch.Tensor,
    *,
    form: str = "accumulated",
    w_first: torch.Tensor | None = None,
    w_prev: torch.Tensor | None = None,
) -> torch.Tensor:
    """The paper's baseline: ``w_ref + (w_j - w_0)`` on every ws (``form`` as in
    :func:`residual_codes`). Render the result with ``G.synthesis`` directly."""
    return residual_codes(w_ref, w_drive, form=form, layers=None, w_first=w_first, w_prev=w_prev)
