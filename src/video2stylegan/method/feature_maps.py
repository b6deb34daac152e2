"""The measurement behind the local-channel calibration (Eq. 8-9): feature maps, masks, IoU.

Which feature map a style entry controls
    ``G.styles(ws)[name][:, c]`` (``name = G.style_names[i]``, ws index ``i``)
    scales *input* channel ``c`` of layer ``name``'s modulated convolution. The
    map it acts on is therefore layer ``name``'s input: the output of the
    previous layer, and for the first synthesis layer the output of the input
    layer (the Fourier features). The ``input`` entry (the 4-d affine of the
    Fourier features) has no channels and is never calibrated. Every channel
    index below is an index into ``G.styles(ws)[name]``'s second dimension.

Geometry
    A StyleGAN3 feature map of ``size`` pixels at ``sampling_rate`` samples per
    image width covers the image plus a margin of ``(size - sampling_rate) / 2``
    pixels on every side (10 on the official networks; none on the last two
    layers). :func:`style_feature_maps` crops that margin so a map covers
    exactly the image; bilinear resizing (``align_corners=False``) then maps the
    map's extent onto the image's.

Measurement, per calibrated layer and channel, over ``N`` faces
    1. min-max normalise the cropped map to [0, 1] (a constant map becomes 0),
    2. resize it bilinearly to ``size x size`` (the mask resolution),
    3. binarise: ``mask = map > threshold``,
    4. ``IoU+ = IoU(mask, part)`` and ``IoU- = IoU(mask, not part)``, where
       ``not part`` is everything in the image outside that part (background
       and the other parts); the part masks come from the 68 landmarks
       (:func:`video2stylegan.faces.part_masks`, **choice**: no face parser),
    5. average both over the faces (an IoU with an empty union counts 0).

Selection (Eq. 9)
    channel ``c`` of layer ``l`` belongs to part ``p`` when
    ``IoU+ >= t_fg`` and ``IoU- <= t_bg``. The paper prints ``IoU- >= t_bg``;
    we read it as "overlaps the rest of the image little" (**choice**, see
    ``shared/method.md``). Since the full IoU tables are kept,
    :meth:`~video2stylegan.method.local_channels.LocalChannels.with_thresholds` re-selects
    without measuring again.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from video2stylegan.errors import InvalidOptionError

__all__ = [
    "DEFAULT_T_FG",
    "DEFAULT_T_BG",
    "DEFAULT_THRESHOLD",
    "MapGeometry",
    "check_unit_interval",
    "feature_map_geometry",
    "image_ious",
    "normalized_feature_maps",
    "normalized_feature_masks",
    "part_iou",
    "resolve_layers",
    "select_channels",
    "style_feature_maps",
]

#: Eq. 9 thresholds: IoU+ >= t_fg and IoU- <= t_bg (see docs/method.md for how they were chosen).
DEFAULT_T_FG = 0.25
DEFAULT_T_BG = 0.05
#: Binarisation level of the min-max normalised maps.
DEFAULT_THRESHOLD = 0.5


# --------------------------------------------------------------------------- geometry


@dataclass(frozen=True)
class MapGeometry:
    """Where the map that layer ``layer``'s styles scale comes from.

    ``source``: the key of that map in ``G.synthesis(ws, return_features=True)[1]``
    (the previous layer, or ``"input"``); ``size``: its width in pixels;
    ``sampling_rate``: pixels per image width; ``margin``: pixels beyond the
    image on each side; ``channels``: its channel count (= the style's length).
    """

    layer: str
    source: str
    size: int
    sampling_rate: int
    margin: int
    channels: int


def _synthesis(G):
    return getattr(G, "synthesis", G)


def feature_map_geometry(G, layer: str | int) -> MapGeometry:
    """The :class:`MapGeometry` of the map controlled by ``layer``'s styles (a name of
    ``G.style_names`` or its ws index); the ``input`` entry has none."""
    names = list(G.style_names)
    name = _layer_name(names, layer)
    if name == names[0]:
        raise InvalidOptionError(
            f"layer {name!r} (ws 0) drives the Fourier features through a 4-d affine and has no "
            "channels to select; calibrate synthesis layers (ws 1..) instead"
        )
    index = names.index(name)
    mod = getattr(_synthesis(G), name)
    size = int(mod.in_size[0])
    rate = int(round(float(mod.in_sampling_rate)))
    if (size - rate) % 2 or size < rate:
        raise InvalidOptionError(f"layer {name}: input map of {size} px at {rate} px per image has no symmetric margin")
    return MapGeometry(name, names[index - 1], size, rate, (size - rate) // 2, int(mod.in_channels))


def _layer_name(names: Sequence[str], layer) -> str:
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if not 0 <= int(layer) < len(names):
            raise InvalidOptionError(f"ws index {layer} out of range 0..{len(names) - 1}")
        return names[int(layer)]
    if layer in names:
        return layer
    raise InvalidOptionError(f"unknown layer {layer!r}; the network's layers are {list(names)}")


def resolve_layers(G, layers) -> list[str]:
    names = list(G.style_names)
    if layers is None:
        return names[1:]
    if isinstance(layers, (str, int)):
        layers = [layers]
    out = []
    for layer in layers:
        name = _layer_name(names, layer)
        if name == names[0]:
            raise InvalidOptionError(
                f"layer {name!r} (ws 0) has no channels to select; calibrate synthesis layers (ws 1..{len(names) - 1})"
            )
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidOptionError("no layers to calibrate")
    return sorted(out, key=names.index)


def style_feature_maps(G, ws: torch.Tensor, layers=None, transform=None) -> "OrderedDict[str, torch.Tensor]":
    """The maps each layer's styles scale, margin cropped: ``{layer: [N, C, r, r]}``
    (``r`` = that map's sampling rate), for ``layers`` (names or ws indices; default
    every synthesis layer). ``transform``: as in ``G.synthesis``."""
    names = resolve_layers(G, layers)
    geoms = [feature_map_geometry(G, name) for name in names]
    with torch.no_grad():
        _, feats = G.synthesis(ws, transform=transform, return_features=True)
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for g in geoms:
        x = feats[g.source].float()
        m = g.margin
        out[g.layer] = x[..., m : x.shape[-2] - m, m : x.shape[-1] - m] if m else x
    return out


# --------------------------------------------------------------------------- Eq. 8


def _size2(size) -> tuple[int, int]:
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        h = w = int(size)
    else:
        try:
            h, w = (int(v) for v in size)
        except (TypeError, ValueError):
            raise InvalidOptionError(f"size must be an int or (height, width), got {size!r}") from None
    if h < 1 or w < 1:
        raise InvalidOptionError(f"size must be positive, got {size!r}")
    return h, w


def normalized_feature_maps(features: torch.Tensor, size, margin: int = 0) -> torch.Tensor:
    """Min-max normalised maps in [0, 1], resized bilinearly to ``size``.

    ``features``: ``[N, C, h, w]`` (or ``[C, h, w]``); ``margin`` pixels are cut
    from every side first (the part beyond the image). A constant map becomes
    all zeros. Returns float32 ``[N, C, H, W]`` (``size`` = int or ``(H, W)``).
    """
    x = torch.as_tensor(features)
    if x.ndim == 3:
        x = x.unsqueeze(0)
    if x.ndim != 4:
        raise InvalidOptionError(f"feature maps must be [N, C, h, w], got {list(x.shape)}")
    x = x.detach().float()
    margin = int(margin)
    if margin:
        if 2 * margin >= min(x.shape[-2:]):
            raise InvalidOptionError(f"margin {margin} leaves nothing of a {list(x.shape[-2:])} map")
        x = x[..., margin:-margin, margin:-margin]
    lo = x.amin(dim=(-2, -1), keepdim=True)
    span = x.amax(dim=(-2, -1), keepdim=True) - lo
    x = torch.where(span > 0, (x - lo) / torch.where(span > 0, span, torch.ones_like(span)), torch.zeros_like(x))
    h, w = _size2(size)
    if x.shape[-2:] != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)
    return x.clamp_(0.0, 1.0)


def normalized_feature_masks(features: torch.Tensor, size, threshold: float = DEFAULT_THRESHOLD, margin: int = 0) -> torch.Tensor:
    """Binary masks ``[N, C, H, W]`` (bool): :func:`normalized_feature_maps` ``> threshold``."""
    threshold = check_unit_interval("threshold", threshold, upper_open=True)
    return normalized_feature_maps(features, size, margin) > threshold


def check_unit_interval(name: str, value, upper_open: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{name} must be a number in [0, 1], got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(v) or v < 0 or v > 1 or (upper_open and v >= 1):
        rng = "[0, 1)" if upper_open else "[0, 1]"
        raise InvalidOptionError(f"{name} must lie in {rng}, got {value!r}")
    return v


def image_ious(masks: torch.Tensor, parts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image IoU+ and IoU- ``[N, C, P]`` of masks ``[N, C, H, W]`` against parts ``[N, P, H, W]``."""
    m = masks.flatten(2).bool()
    p = parts.flatten(2).bool()
    area = m.shape[-1]
    # Integer pixel counts (exact on every device, unlike a TF32 matmul), as float64.
    inter = torch.stack([(m & p[:, k : k + 1]).sum(-1) for k in range(p.shape[1])], dim=-1).double()  # [N, C, P]
    am = m.sum(-1, keepdim=True).double()  # [N, C, 1]
    ap = p.sum(-1).unsqueeze(1).double()  # [N, 1, P]
    union_pos = am + ap - inter
    inter_neg = am - inter
    union_neg = (area - ap) + inter  # |mask| + |rest| - |mask & rest|
    zero = torch.zeros_like(inter)
    iou_pos = torch.where(union_pos > 0, inter / union_pos.clamp_min(1), zero)
    iou_neg = torch.where(union_neg > 0, inter_neg / union_neg.clamp_min(1), zero)
    return iou_pos, iou_neg


def part_iou(masks: torch.Tensor, part_masks) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 8 averaged over images: ``(iou_pos, iou_neg)`` per channel.

    ``masks``: bool ``[N, C, H, W]`` (or ``[C, H, W]`` for one image);
    ``part_masks``: bool ``[H, W]`` (same part for every image) or ``[N, H, W]``
    (one part per image) -> results ``[C]``; or ``[N, P, H, W]`` (P parts) ->
    ``[C, P]``. ``iou_neg`` compares a mask with the image outside the part.
    """
    masks = torch.as_tensor(masks)
    if masks.ndim == 3:
        masks = masks.unsqueeze(0)
    if masks.ndim != 4:
        raise InvalidOptionError(f"masks must be [N, C, H, W], got {list(masks.shape)}")
    n, _, h, w = masks.shape
    parts = torch.as_tensor(part_masks)
    single = parts.ndim in (2, 3)
    if parts.ndim == 2:
        parts = parts.expand(n, h, w) if parts.shape == (h, w) else parts
    if parts.ndim == 3:
        parts = parts.unsqueeze(1)
    if parts.ndim != 4 or parts.shape[0] != n or parts.shape[-2:] != (h, w):
        raise InvalidOptionError(
            f"part masks {list(torch.as_tensor(part_masks).shape)} do not fit masks {list(masks.shape)}: "
            "give [H, W], [N, H, W] or [N, P, H, W] at the masks' resolution"
        )
    pos, neg = image_ious(masks.bool(), parts.bool())
    pos, neg = pos.mean(0), neg.mean(0)
    return (pos[:, 0], neg[:, 0]) if single else (pos, neg)


def select_channels(iou_pos, iou_neg, t_fg: float = DEFAULT_T_FG, t_bg: float = DEFAULT_T_BG) -> torch.Tensor:
    """Eq. 9 with our reading: indices (sorted ``long``) of the channels with
    ``iou_pos >= t_fg`` and ``iou_neg <= t_bg``."""
    pos = torch.as_tensor(iou_pos).reshape(-1)
    neg = torch.as_tensor(iou_neg).reshape(-1)
    if pos.shape != neg.shape:
        raise InvalidOptionError(f"IoU+ and IoU- must have one value per channel each, got {pos.numel()} and {neg.numel()}")
    pos = pos if pos.is_floating_point() else pos.double()
    neg = neg if neg.is_floating_point() else neg.double()
    # Compare in the tables' own precision, so a stored 0.05 equals a threshold of 0.05.
    keep = (pos >= torch.tensor(float(t_fg), dtype=pos.dtype)) & (neg <= torch.tensor(float(t_bg), dtype=neg.dtype))
    return torch.nonzero(keep).reshape(-1).long()
