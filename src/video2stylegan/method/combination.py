"""Combination of the reference's and the driving frames' styles in S space (Eq. 1-3).

For each constrained layer ``l`` (ws indices, default 3..7) with selected
local channels ``P_l`` (eyes / nose / mouth, from the calibration) and the
other channels ``Q_l``:

* ``s_ref = A_l(w_ref[l])``, ``s_j = A_l(w_j[l])``, ``s_base = A_l(w_base_j[l])``;
* Eq. 1: ``s_local = alpha * s_anchor[P] + beta * s_j[P]``, ``s_anchor = s_ref``
  (``local_mode="absolute"``, the paper) or ``A_l(w_anchor[l])``, the first
  driving frame's styles (``local_mode="relative"``, **choice**: transfers the
  change of expression instead of the driver's eye / mouth appearance);
* Eq. 2: ``s_final[P] = s_local + gamma * s_base[P]``;
* Eq. 3: ``s_final[Q] = zeta * s_ref[Q] + (1 - zeta) * s_base[Q]``.

Every other layer takes the styles of ``w_ref_pose`` (the pose-edited
reference) on the pose layers (default ws 0..7) and of ``w_ref`` elsewhere.
Selected channels on a layer outside the constrained ones follow Eq. 1-2 with
that layer's style (``w_ref_pose``'s or ``w_ref``'s) as ``s_base``
(**choice**).

With the defaults ``alpha=-1, beta=1, gamma=1, zeta=0.5`` the selected
channels get ``s_base + (s_j - s_ref)`` and the rest the mean of the
reference's and the base's styles. ``alpha=1, beta=gamma=0, zeta=1`` with
``w_ref_pose = w_ref`` returns the reference's styles exactly (so does
``alpha=beta=gamma=0, zeta=1`` when no channel is selected).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Mapping

import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.config import DEFAULT_CONSTRAINED_LAYERS, LOCAL_MODES, ZETA_ANCHORS, default_pose_layers

__all__ = ["CombinationSettings", "normalize_channels", "combine_styles", "combine_styles_from_config"]


def _batch(w, name: str, num_ws: int, w_dim: int) -> torch.Tensor:
    if not torch.is_tensor(w):
        raise InvalidOptionError(f"{name} must be a tensor, got {type(w).__name__}")
    if w.ndim == 2:
        w = w.unsqueeze(0)
    if w.ndim != 3 or w.shape[1:] != (num_ws, w_dim):
        raise InvalidOptionError(f"{name} must be [{num_ws}, {w_dim}] or [N, {num_ws}, {w_dim}], got {list(w.shape)}")
    return w


def normalize_channels(G, channels: Mapping | None, sizes: Mapping[str, int] | None = None) -> "OrderedDict[str, torch.Tensor]":
    """Check a selection ``{layer: channel indices}`` against ``G`` (``sizes``: channels per
    layer, computed from ``G`` when not given) and return it keyed by layer name (keys
    may be names or ws indices) with sorted unique ``long`` indices."""
    names = list(G.style_names)
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    if not channels:
        return out
    for key, value in channels.items():
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < len(names):
                raise InvalidOptionError(f"local channels: ws index {key} out of range 0..{len(names) - 1}")
            name = names[key]
        elif key in names:
            name = key
        else:
            raise InvalidOptionError(f"local channels: unknown layer {key!r}; the network's layers are {names}")
        idx = torch.as_tensor(value).reshape(-1)
        if idx.numel() == 0:
            continue
        if idx.dtype == torch.bool or idx.is_floating_point():
            raise InvalidOptionError(f"local channels of {name} must be integer channel indices, got {idx.dtype}")
        if sizes is None:
            with torch.no_grad():
                probe = G.styles(G.w_avg.reshape(1, 1, -1).expand(1, G.num_ws, -1).float())
            sizes = {k: v.shape[1] for k, v in probe.items()}
        idx = torch.unique(idx.long())
        if int(idx.min()) < 0 or int(idx.max()) >= sizes[name]:
            raise InvalidOptionError(
                f"local channels of {name} must lie in 0..{sizes[name] - 1}, got {int(idx.min())}..{int(idx.max())}"
            )
        if name in out:
            idx = torch.unique(torch.cat([out[name], idx]))
        out[name] = idx
    return out


@dataclass(frozen=True)
class CombinationSettings:
    """The weights of Eq. 1-3 and where they act (defaults: the paper's, see the module doc)."""

    #: Eq. 1 weight of the anchor's styles on the selected channels.
    alpha: float = -1.0
    #: Eq. 1 weight of the driving frame's styles on the selected channels.
    beta: float = 1.0
    #: Eq. 2 weight of the base's styles on the selected channels.
    gamma: float = 1.0
    #: Eq. 3 share of the kept styles (see ``zeta_anchor``) on the other channels of the constrained layers.
    zeta: float = 0.5
    #: ws indices whose styles Eq. 1-3 combine.
    constrained_layers: tuple = DEFAULT_CONSTRAINED_LAYERS
    #: ws indices that take ``w_ref_pose``'s styles outside the constrained ones; ``None``: the network's
    #: default (:func:`~video2stylegan.method.config.default_pose_layers`).
    pose_layers: tuple | None = None
    #: Eq. 1's anchor: ``"absolute"`` (the reference's styles, paper) or ``"relative"`` (the first driving frame's).
    local_mode: str = "absolute"
    #: What Eq. 3's ``zeta`` keeps: ``"reference"`` (the unedited ``w_ref``'s styles, paper) or ``"posed"``
    #: (``w_ref_pose``'s, so the pose edit on the constrained layers is kept whole).
    zeta_anchor: str = "reference"

    def __post_init__(self) -> None:
        if self.zeta_anchor not in ZETA_ANCHORS:
            raise InvalidOptionError(
                f"zeta_anchor must be one of {', '.join(map(repr, ZETA_ANCHORS))}; got {self.zeta_anchor!r}")
        if self.local_mode not in LOCAL_MODES:
            raise InvalidOptionError(
                f"local_mode must be one of {', '.join(map(repr, LOCAL_MODES))}; got {self.local_mode!r}")
        for name in ("alpha", "beta", "gamma", "zeta"):
            value = getattr(self, name)
            if not torch.isfinite(torch.as_tensor(float(value))):
                raise InvalidOptionError(f"{name} must be finite, got {value!r}")

    @classmethod
    def from_config(cls, config, num_ws: int) -> "CombinationSettings":
        """The settings a :class:`~video2stylegan.method.config.ReenactConfig` asks for on a network with
        ``num_ws`` style vectors."""
        return cls(**config.combination_kwargs(num_ws))

    def layer_sets(self, num_ws: int) -> tuple[set[int], set[int]]:
        """``(constrained, pose)`` ws indices, checked against a network with ``num_ws`` style vectors."""
        constrained = {int(l) for l in self.constrained_layers}
        pose_layers = default_pose_layers(num_ws) if self.pose_layers is None else self.pose_layers
        pose = {int(l) for l in pose_layers}
        bad = sorted(l for l in constrained | pose if not 0 <= l < num_ws)
        if bad:
            raise InvalidOptionError(f"constrained / pose layers must lie in 0..{num_ws - 1}, got {bad}")
        return constrained, pose


def _frame_codes(w_ref, w_ref_pose, w_drive, w_base, num_ws: int, w_dim: int):
    """The codes of :func:`combine_styles` as batches, ``None`` resolved, the batch sizes checked."""
    w_drive = _batch(w_drive, "w_drive", num_ws, w_dim)
    n = w_drive.shape[0]
    w_ref = _batch(w_ref, "w_ref", num_ws, w_dim)
    if w_ref.shape[0] != 1:
        raise InvalidOptionError(f"w_ref must be a single code, got {w_ref.shape[0]}")
    w_ref_pose = w_ref if w_ref_pose is None else _batch(w_ref_pose, "w_ref_pose", num_ws, w_dim)
    w_base = w_ref_pose if w_base is None else _batch(w_base, "w_base", num_ws, w_dim)
    for name, w in (("w_ref_pose", w_ref_pose), ("w_base", w_base)):
        if w.shape[0] not in (1, n):
            raise InvalidOptionError(f"{name} must hold 1 or {n} codes (one per frame), got {w.shape[0]}")
    return w_ref, w_ref_pose, w_drive, w_base


def combine_styles(
    G,
    w_ref: torch.Tensor,
    w_ref_pose: torch.Tensor | None,
    w_drive: torch.Tensor,
    w_base: torch.Tensor | None,
    channels: Mapping | None = None,
    settings: CombinationSettings | None = None,
    *,
    w_anchor: torch.Tensor | None = None,
) -> "OrderedDict[str, torch.Tensor]":
    """Eq. 1-3 for a batch of driving frames; returns styles ``[N, C]`` per layer, ready for
    ``G.synthesis_from_styles``.

    ``w_ref``: ``[num_ws, w_dim]`` (or ``[1, ...]``); ``w_ref_pose``: the pose-edited
    reference, one (``[num_ws, w_dim]``) or one per frame (``[N, ...]``), ``None`` =
    ``w_ref``; ``w_drive``: the driving frames' codes ``[N, num_ws, w_dim]``;
    ``w_base``: Eq. 10's codes (one or per frame), ``None`` = ``w_ref_pose``;
    ``channels``: ``{layer name or ws index: channel indices}`` (``None``: no local
    channels); ``settings``: the weights, layers and modes (default :class:`CombinationSettings`);
    ``w_anchor``: the first driving frame's code for ``local_mode="relative"`` (default
    ``w_drive[0]``; pass it when processing a clip in chunks).
    """
    s = CombinationSettings() if settings is None else settings
    num_ws, w_dim = int(G.num_ws), int(G.w_dim)
    w_ref, w_ref_pose, w_drive, w_base = _frame_codes(w_ref, w_ref_pose, w_drive, w_base, num_ws, w_dim)
    n = w_drive.shape[0]
    constrained, pose = s.layer_sets(num_ws)
    s_ref = G.styles(w_ref)
    selected = normalize_channels(G, channels, {k: v.shape[1] for k, v in s_ref.items()})
    s_ref_pose = s_ref if w_ref_pose is w_ref else G.styles(w_ref_pose)
    s_base = s_ref_pose if w_base is w_ref_pose else G.styles(w_base)
    s_drive = G.styles(w_drive)
    if s.local_mode == "relative":
        anchor = w_drive[:1] if w_anchor is None else _batch(w_anchor, "w_anchor", num_ws, w_dim)
        if anchor.shape[0] != 1:
            raise InvalidOptionError(f"w_anchor must be a single code, got {anchor.shape[0]}")
        s_anchor = G.styles(anchor)
    else:
        s_anchor = s_ref

    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for index, name in enumerate(G.style_names):
        if index in constrained:
            base = s_base[name]
            kept = s_ref_pose[name] if s.zeta_anchor == "posed" else s_ref[name]
            rest = s.zeta * kept + (1.0 - s.zeta) * base  # Eq. 3
        else:
            base = s_ref_pose[name] if index in pose else s_ref[name]
            rest = base
        final = rest.expand(n, -1).clone()
        idx = selected.get(name)
        if idx is not None:
            local = s.alpha * s_anchor[name][:, idx] + s.beta * s_drive[name][:, idx]  # Eq. 1
            final[:, idx] = local + s.gamma * base.expand(n, -1)[:, idx]  # Eq. 2
        out[name] = final
    return out


def combine_styles_from_config(G, config, w_ref, w_ref_pose, w_drive, w_base, channels=None, w_anchor=None):
    """:func:`combine_styles` with the weights, layers and modes of a
    :class:`~video2stylegan.method.config.ReenactConfig`; ``config.use_local=False``
    drops the local channels, ``use_pose=False`` / ``use_residual=False`` ignore
    ``w_ref_pose`` / ``w_base``."""
    if config.method != "video2stylegan":
        raise InvalidOptionError("the S-space combination belongs to method 'video2stylegan', not the baseline")
    return combine_styles(
        G,
        w_ref,
        w_ref_pose if config.pose_source != "none" else None,
        w_drive,
        w_base if config.use_residual else None,
        channels if config.use_local else None,
        CombinationSettings.from_config(config, int(G.num_ws)),
        w_anchor=w_anchor,
    )
