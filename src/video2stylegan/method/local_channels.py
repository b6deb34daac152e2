"""Local facial feature calibration (Eq. 8-9, Sec. 3.3.3, App. C): which S-space
channels act on the eyes, the nose and the mouth.

The measurement itself (which map a style channel controls, the margin crop,
min-max normalisation, thresholding, IoU+ / IoU-, Eq. 9's selection) lives in
:mod:`video2stylegan.method.feature_maps`. This module runs it over a set of
faces (the network's samples, or given projected faces with their landmarks),
keeps the result as :class:`LocalChannels` (JSON, cached per network and
settings), and draws the paper's Fig. 7. Since the full IoU tables are kept,
:meth:`LocalChannels.with_thresholds` re-selects without measuring again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Mapping

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError, NoFaceError, Video2StyleGANError
from video2stylegan.faces import PARTS, detect_face, part_masks
from video2stylegan.io.atomic import atomic_output
from video2stylegan.io.images import write_image
from video2stylegan.method.cache import (
    BadEntry,
    discard_entry,
    local_channels_path,
    network_identity,
    read_json_entry,
    touch,
    write_json_entry,
)
from video2stylegan.method.feature_maps import (  # noqa: F401  (re-exported: the calibration's public API)
    DEFAULT_T_BG,
    DEFAULT_T_FG,
    DEFAULT_THRESHOLD,
    MapGeometry,
    check_unit_interval,
    feature_map_geometry,
    image_ious,
    normalized_feature_maps,
    normalized_feature_masks,
    part_iou,
    resolve_layers,
    select_channels,
    style_feature_maps,
)
from video2stylegan.networks.transforms import to_uint8_images

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_PARTS",
    "DEFAULT_T_FG",
    "DEFAULT_T_BG",
    "DEFAULT_THRESHOLD",
    "LOCAL_CHANNELS_FORMAT",
    "FigureLayout",
    "LocalChannelSettings",
    "LocalChannels",
    "MapGeometry",
    "calibrate_cached",
    "calibrate_local_channels",
    "feature_map_geometry",
    "normalized_feature_maps",
    "normalized_feature_masks",
    "part_iou",
    "save_feature_maps",
    "select_channels",
    "style_feature_maps",
]

#: Parts the method edits locally.
DEFAULT_PARTS = ("eyes", "nose", "mouth")
#: Largest mask resolution used by default (smaller networks use their own resolution).
DEFAULT_MAX_SIZE = 256
#: Bump when the JSON layout or the meaning of its numbers changes.
LOCAL_CHANNELS_FORMAT = 1


# --------------------------------------------------------------------------- result


def _float_list(values) -> list[float]:
    return [round(float(v), 6) for v in torch.as_tensor(values).reshape(-1).tolist()]


@dataclass
class LocalChannels:
    """A calibration: IoU tables and the channels Eq. 9 selects per part and layer.

    ``iou_pos[part][layer]`` / ``iou_neg[part][layer]``: one mean IoU per channel
    of that layer's styles (``G.styles(ws)[layer]``'s second dimension);
    ``layer_index[layer]``: its ws index; ``n_images``: faces measured;
    ``settings``: how the measurement was made (for the cache).
    """

    network: str
    parts: tuple
    layers: tuple
    layer_index: dict
    iou_pos: dict
    iou_neg: dict
    t_fg: float = DEFAULT_T_FG
    t_bg: float = DEFAULT_T_BG
    threshold: float = DEFAULT_THRESHOLD
    size: int = 0
    n_images: int = 0
    settings: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.parts = tuple(self.parts)
        self.layers = tuple(self.layers)
        self.t_fg = check_unit_interval("t_fg", self.t_fg)
        self.t_bg = check_unit_interval("t_bg", self.t_bg)
        for table in ("iou_pos", "iou_neg"):
            tab = getattr(self, table)
            for part in self.parts:
                if part not in tab or any(layer not in tab[part] for layer in self.layers):
                    raise InvalidOptionError(f"local channels: {table} lacks part {part!r} or one of its layers")
        for layer in self.layers:
            if layer not in self.layer_index:
                raise InvalidOptionError(f"local channels: layer {layer!r} has no ws index")
        self._selected = {
            part: OrderedDict(
                (layer, select_channels(self.iou_pos[part][layer], self.iou_neg[part][layer], self.t_fg, self.t_bg))
                for layer in self.layers
            )
            for part in self.parts
        }

    # ----------------------------------------------------------- selection
    def with_thresholds(self, t_fg: float | None = None, t_bg: float | None = None) -> "LocalChannels":
        """The same measurement selected with other thresholds (no recomputation)."""
        return LocalChannels(
            self.network, self.parts, self.layers, dict(self.layer_index), self.iou_pos, self.iou_neg,
            self.t_fg if t_fg is None else t_fg, self.t_bg if t_bg is None else t_bg,
            self.threshold, self.size, self.n_images, dict(self.settings),
        )

    def _check_parts(self, parts) -> tuple[str, ...]:
        if parts is None:
            return self.parts
        if isinstance(parts, str):
            parts = (parts,)
        bad = [p for p in parts if p not in self.parts]
        if bad:
            raise InvalidOptionError(f"parts {bad} were not calibrated; this calibration has {list(self.parts)}")
        return tuple(parts)

    def _check_layers(self, layers) -> list[str]:
        if layers is None:
            return list(self.layers)
        if isinstance(layers, (str, int)):
            layers = [layers]
        by_index = {i: name for name, i in self.layer_index.items()}
        out = []
        for layer in layers:
            if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
                name = by_index.get(int(layer))
                if name is None:
                    continue  # a ws index without calibrated channels (e.g. 0, the input layer)
            elif layer in self.layer_index:
                name = layer
            else:
                raise InvalidOptionError(f"unknown layer {layer!r}; calibrated layers are {list(self.layers)}")
            out.append(name)
        return out

    def selected(self, part: str) -> "OrderedDict[str, torch.Tensor]":
        """``{layer: channel indices}`` selected for one part (empty layers included)."""
        (part,) = self._check_parts(part)
        return OrderedDict((k, v.clone()) for k, v in self._selected[part].items())

    def channels(self, parts=None, layers=None) -> "OrderedDict[str, torch.Tensor]":
        """Union over ``parts`` (default all) of the selected channels, ``{layer name:
        sorted unique LongTensor}``, in ws order, layers without channels left out;
        ``layers`` (names or ws indices, e.g. ``config.constrained_layers``)
        restricts it. The form ``combine_styles(..., channels=...)`` takes."""
        parts = self._check_parts(parts)
        keep = set(self._check_layers(layers))
        out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
        for layer in self.layers:
            if layer not in keep:
                continue
            idx = torch.unique(torch.cat([self._selected[p][layer] for p in parts]))
            if idx.numel():
                out[layer] = idx.long()
        return out

    def count(self, part: str, layers=None) -> int:
        """Number of channels selected for ``part`` (over ``layers``, default all)."""
        (part,) = self._check_parts(part)
        return sum(int(self._selected[part][l].numel()) for l in self._check_layers(layers))

    def mean_iou(self, part: str, layers=None) -> tuple[float, float]:
        """Mean ``(IoU+, IoU-)`` of the channels selected for ``part``; NaN when none is."""
        (part,) = self._check_parts(part)
        pos, neg = [], []
        for layer in self._check_layers(layers):
            idx = self._selected[part][layer]
            pos += [self.iou_pos[part][layer][i] for i in idx.tolist()]
            neg += [self.iou_neg[part][layer][i] for i in idx.tolist()]
        if not pos:
            return float("nan"), float("nan")
        return float(np.mean(pos)), float(np.mean(neg))

    def best(self, part: str, k: int = 8, selected_only: bool = True) -> list[tuple[str, int, float]]:
        """The ``k`` channels with the highest IoU+ for ``part``: ``(layer, channel, IoU+)``."""
        (part,) = self._check_parts(part)
        rows = []
        for layer in self.layers:
            table = self.iou_pos[part][layer]
            idx = self._selected[part][layer].tolist() if selected_only else range(len(table))
            rows += [(layer, int(i), float(table[i])) for i in idx]
        rows.sort(key=lambda r: (-r[2], self.layer_index[r[0]], r[1]))
        return rows[: int(k)]

    def summary(self) -> str:
        """A text table: channels selected per part and layer, with their mean IoU+."""

        def cell(part, layers):
            c = self.count(part, layers)
            return f"{c:>5} ({self.mean_iou(part, layers)[0]:.2f})" if c else f"{0:>5}       "

        lines = [
            f"local channels of {self.network[:24]}: {self.n_images} faces, masks {self.size} px, "
            f"threshold {self.threshold:g}, selected when IoU+ >= {self.t_fg:g} and IoU- <= {self.t_bg:g}",
            f"{'ws':>3}  {'layer':<14}{'ch':>5}" + "".join(f"{p:>14}" for p in self.parts) + f"{'union':>8}",
        ]
        for layer in self.layers:
            n_ch = len(self.iou_pos[self.parts[0]][layer]) if self.parts else 0
            union = self.channels(layers=[layer]).get(layer)
            lines.append(
                f"{self.layer_index[layer]:>3}  {layer:<14}{n_ch:>5}"
                + "".join(f"{cell(p, [layer]):>14}" for p in self.parts)
                + f"{0 if union is None else union.numel():>8}"
            )
        total = sum(v.numel() for v in self.channels().values())
        lines.append(f"{'':>3}  {'all':<14}{'':>5}" + "".join(f"{cell(p, None):>14}" for p in self.parts) + f"{total:>8}")
        lines.append("cells: channels selected (their mean IoU+)")
        return "\n".join(lines)

    # ----------------------------------------------------------------- JSON
    def to_dict(self) -> dict:
        """JSON-ready dict; ``selected`` is included for readers, recomputed on load."""
        return {
            "format": LOCAL_CHANNELS_FORMAT,
            "network": self.network,
            "parts": list(self.parts),
            "layers": list(self.layers),
            "layer_index": {k: int(v) for k, v in self.layer_index.items()},
            "t_fg": self.t_fg,
            "t_bg": self.t_bg,
            "threshold": self.threshold,
            "size": int(self.size),
            "n_images": int(self.n_images),
            "settings": self.settings,
            "selected": {p: {l: v.tolist() for l, v in self._selected[p].items() if v.numel()} for p in self.parts},
            "iou_pos": {p: {l: _float_list(self.iou_pos[p][l]) for l in self.layers} for p in self.parts},
            "iou_neg": {p: {l: _float_list(self.iou_neg[p][l]) for l in self.layers} for p in self.parts},
        }

    @classmethod
    def from_dict(cls, data: Mapping) -> "LocalChannels":
        if not isinstance(data, Mapping) or data.get("format") != LOCAL_CHANNELS_FORMAT:
            got = data.get("format") if isinstance(data, Mapping) else type(data).__name__
            raise Video2StyleGANError(
                f"not a local-channel calibration of format {LOCAL_CHANNELS_FORMAT} (got {got!r}); calibrate again"
            )
        try:
            return cls(
                network=str(data["network"]),
                parts=tuple(data["parts"]),
                layers=tuple(data["layers"]),
                layer_index={str(k): int(v) for k, v in data["layer_index"].items()},
                iou_pos={p: {l: [float(x) for x in v] for l, v in t.items()} for p, t in data["iou_pos"].items()},
                iou_neg={p: {l: [float(x) for x in v] for l, v in t.items()} for p, t in data["iou_neg"].items()},
                t_fg=data["t_fg"],
                t_bg=data["t_bg"],
                threshold=float(data["threshold"]),
                size=int(data["size"]),
                n_images=int(data["n_images"]),
                settings=dict(data.get("settings") or {}),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise Video2StyleGANError(f"local-channel calibration is incomplete or malformed ({exc!r}); calibrate again") from None

    def to_json(self, path: str | os.PathLike) -> Path:
        """Write atomically (a temporary file beside ``path``, then renamed); returns the path."""
        path = Path(path)
        text = _json_text(self.to_dict())
        with atomic_output(path, suffix=".json", what="local-channel calibration") as tmp:
            tmp.write_text(text + "\n")
        return path

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> "LocalChannels":
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except OSError as exc:
            raise Video2StyleGANError(f"cannot read local-channel calibration {path}: {exc.strerror}") from None
        except ValueError as exc:
            raise Video2StyleGANError(f"local-channel calibration {path} is not valid JSON ({exc}); calibrate again") from None
        try:
            return cls.from_dict(data)
        except Video2StyleGANError as exc:
            raise Video2StyleGANError(f"{path}: {exc}") from None


def _json_text(obj, indent: int = 0) -> str:
    """JSON with one dict entry per line and every list on one line (a table per layer)."""
    if isinstance(obj, dict) and obj:
        pad = " " * (indent + 1)
        items = [f"{pad}{json.dumps(str(k))}: {_json_text(v, indent + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    return json.dumps(obj, separators=(", ", ": "), allow_nan=False)


# --------------------------------------------------------------------------- calibration


def _check_parts(parts) -> tuple[str, ...]:
    if isinstance(parts, str):
        parts = (parts,)
    parts = tuple(parts)
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise InvalidOptionError(f"unknown face part(s) {bad or parts}; choose from {PARTS}")
    if len(set(parts)) != len(parts):
        raise InvalidOptionError(f"parts must not repeat, got {list(parts)}")
    return parts


def _codes(G, ws) -> torch.Tensor:
    ws = torch.as_tensor(ws)
    if ws.ndim == 2:
        ws = ws.unsqueeze(0)
    shape = (int(G.num_ws), int(G.w_dim))
    if ws.ndim != 3 or tuple(ws.shape[1:]) != shape or ws.shape[0] < 1:
        raise InvalidOptionError(f"ws must be [N, {shape[0]}, {shape[1]}] (N >= 1), got {list(ws.shape)}")
    if not torch.isfinite(ws).all():
        raise InvalidOptionError("ws must be finite")
    return ws.detach()


def _landmark_array(landmarks, n: int, resolution: int) -> np.ndarray:
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim == 2:
        lm = lm[None]
    if lm.shape != (n, 68, 2) or not np.isfinite(lm).all():
        raise InvalidOptionError(
            f"landmarks must be finite [N, 68, 2] pixels of the {resolution} px generator images, one set per code "
            f"(N = {n}), got shape {lm.shape}"
        )
    return lm


@dataclass(frozen=True)
class LocalChannelSettings:
    """How a calibration measures and selects (:func:`calibrate_local_channels`). Every field but
    ``t_fg`` / ``t_bg`` changes the IoU tables and so goes into the cache key; those two only re-select."""

    #: Faces sampled from the network when no codes are given.
    n: int = 32
    #: Truncation of the sampled faces' codes.
    truncation_psi: float = 0.7
    #: Seed of the sampled faces' ``z``.
    seed: int = 0
    #: Binarisation level of the min-max normalised maps, in [0, 1).
    threshold: float = DEFAULT_THRESHOLD
    #: Mask resolution in pixels; ``None``: ``min(256, G.img_resolution)``.
    size: int | None = None
    #: Face parts measured (names of :data:`video2stylegan.faces.PARTS`).
    parts: tuple = DEFAULT_PARTS
    #: Layers measured, names or ws indices; ``None``: every synthesis layer (ws 1..num_ws-1).
    layers: tuple | None = None
    #: Face detector for images without given landmarks (``"hog"`` or ``"cnn"``).
    detector: str = "hog"
    #: Fewest faces that must be measured; ``None``: all given landmarks, else half the images.
    min_faces: int | None = None
    #: Eq. 9: a channel is selected when its IoU+ is at least this ...
    t_fg: float = DEFAULT_T_FG
    #: ... and its IoU- at most this.
    t_bg: float = DEFAULT_T_BG


@dataclass(frozen=True)
class _Measurement:
    """The checked inputs of one calibration: given codes and landmarks (or ``None``), the number of
    faces, mask size, parts, layer names, fewest faces, threshold and the cache key's settings."""

    ws: torch.Tensor | None
    landmarks: np.ndarray | None
    count: int
    size: int
    parts: tuple
    names: list
    min_faces: int
    threshold: float
    key: dict


def _key_settings(ws, landmarks, m: _Measurement, s: LocalChannelSettings) -> dict:
    """Everything that changes the IoU tables (not the selection thresholds)."""
    out = {
        "threshold": float(m.threshold),
        "size": int(m.size),
        "parts": list(m.parts),
        "layers": list(m.names),
        "detector": str(s.detector),
    }
    if ws is None:
        out.update(source="samples", n=int(m.count), truncation_psi=float(s.truncation_psi), seed=int(s.seed),
                   min_faces=int(m.min_faces))
    else:
        h = hashlib.sha256(ws.to("cpu", torch.float32).contiguous().numpy().tobytes())
        if landmarks is not None:
            h.update(b"|landmarks|" + np.ascontiguousarray(landmarks, np.float64).tobytes())
        else:
            out.update(min_faces=int(m.min_faces))
        out.update(source="codes:" + h.hexdigest(), n=int(ws.shape[0]))
    return out


def _face_count(G, s: LocalChannelSettings, ws, landmarks):
    """``(ws or None, landmarks or None, number of faces)``, checked."""
    if ws is None:
        if landmarks is not None:
            raise InvalidOptionError("landmarks were given without their ws codes; pass both, or neither to sample faces")
        n = s.n
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise InvalidOptionError(f"n (faces to sample) must be a positive integer, got {n!r}")
        return None, None, int(n)
    ws = _codes(G, ws)
    count = int(ws.shape[0])
    if landmarks is not None:
        landmarks = _landmark_array(landmarks, count, int(G.img_resolution))
    return ws, landmarks, count


def _prepare(G, s: LocalChannelSettings, ws, landmarks) -> _Measurement:
    """Check the settings and the given faces against ``G``."""
    threshold = check_unit_interval("threshold", s.threshold, upper_open=True)
    parts = _check_parts(s.parts)
    names = resolve_layers(G, s.layers)
    size = min(DEFAULT_MAX_SIZE, int(G.img_resolution)) if s.size is None else s.size
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise InvalidOptionError(f"size (the mask resolution) must be an integer >= 8, got {size!r}")
    ws, landmarks, count = _face_count(G, s, ws, landmarks)
    min_faces = s.min_faces
    if min_faces is None:
        min_faces = count if landmarks is not None else max(1, (count + 1) // 2)
    if isinstance(min_faces, bool) or not isinstance(min_faces, (int, np.integer)) or not 1 <= min_faces <= count:
        raise InvalidOptionError(f"min_faces must be an integer in 1..{count}, got {min_faces!r}")
    m = _Measurement(ws, landmarks, count, int(size), parts, names, int(min_faces), threshold, {})
    return dataclasses.replace(m, key=_key_settings(ws, landmarks, m, s))


def _sum_ious(G, ws: torch.Tensor, m: _Measurement, detector: str, progress: bool):
    """IoU+ and IoU- summed over the faces, per layer ``[channels, parts]`` float64, with the indices
    of the images skipped for want of a face: ``(sum_pos, sum_neg, used, skipped)``."""
    geoms = [feature_map_geometry(G, name) for name in m.names]
    device = G.w_avg.device
    resolution = int(G.img_resolution)
    sum_pos = {g.layer: torch.zeros(g.channels, len(m.parts), dtype=torch.float64) for g in geoms}
    sum_neg = {g.layer: torch.zeros(g.channels, len(m.parts), dtype=torch.float64) for g in geoms}
    used, skipped = 0, []
    for i in tqdm(range(m.count), desc="calibrating local channels", unit="face", disable=not progress, leave=False):
        with torch.no_grad():
            img, feats = G.synthesis(ws[i : i + 1], return_features=True)
        if m.landmarks is not None:
            lm = m.landmarks[i]
        else:
            try:
                lm = detect_face(to_uint8_images(img)[0], detector=detector, source="generated face", frame=i).landmarks
            except NoFaceError:
                skipped.append(i)
                continue
        pm = part_masks(lm, (resolution, resolution), size=m.size, parts=m.parts, as_tensor=True)
        pm = torch.stack([pm[p] for p in m.parts]).unsqueeze(0).to(device)
        for g in geoms:
            with torch.no_grad():
                masks = normalized_feature_masks(feats[g.source], m.size, m.threshold, g.margin)
                pos, neg = image_ious(masks, pm)
            sum_pos[g.layer] += pos[0].double().cpu()
            sum_neg[g.layer] += neg[0].double().cpu()
        used += 1
        del feats
    return sum_pos, sum_neg, used, skipped


def calibrate_local_channels(
    G,
    settings: LocalChannelSettings | None = None,
    *,
    ws=None,
    landmarks=None,
    network_id: str | None = None,
    progress: bool = True,
) -> LocalChannels:
    """Measure Eq. 8 for every channel of ``settings.layers`` and select with Eq. 9.

    Faces: ``settings.n`` samples of ``G`` (``z`` from ``settings.seed``, ``settings.truncation_psi``)
    whose landmarks :func:`video2stylegan.faces.detect_face` finds; or given codes ``ws``
    ``[N, num_ws, w_dim]`` (e.g. projected faces) with their ``landmarks`` ``[N, 68, 2]`` in
    generator-image pixels (detected when omitted). Images without a face are skipped; fewer than
    ``settings.min_faces`` raises :class:`NoFaceError`. ``settings``: default
    :class:`LocalChannelSettings`. ``network_id`` defaults to
    :func:`video2stylegan.method.cache.network_identity`.
    """
    s = LocalChannelSettings() if settings is None else settings
    m = _prepare(G, s, ws, landmarks)
    if network_id is None:
        network_id = network_identity(G)
    ws = m.ws
    if ws is None:
        gen = torch.Generator().manual_seed(int(s.seed))
        z = torch.randn(m.count, int(G.z_dim), generator=gen)
        with torch.no_grad():
            ws = G.mapping(z.to(G.w_avg.device), None, truncation_psi=float(s.truncation_psi))
    sum_pos, sum_neg, used, skipped = _sum_ious(G, ws.to(G.w_avg.device, torch.float32), m, s.detector, progress)
    if used < m.min_faces:
        raise NoFaceError(
            f"local-channel calibration found a face in only {used} of {m.count} images (needs {m.min_faces}); "
            "the network may not generate faces the detector recognises: pass ws and landmarks of projected "
            "faces, raise n, or lower min_faces"
        )
    if skipped:
        log.info("local-channel calibration: no face in %d of %d images (skipped: %s)", len(skipped), m.count,
                 skipped[:20])
    key = dict(m.key, skipped=len(skipped))
    index = {name: list(G.style_names).index(name) for name in m.names}
    iou_pos = {p: {l: _float_list(sum_pos[l][:, k] / used) for l in m.names} for k, p in enumerate(m.parts)}
    iou_neg = {p: {l: _float_list(sum_neg[l][:, k] / used) for l in m.names} for k, p in enumerate(m.parts)}
    return LocalChannels(network_id, m.parts, tuple(m.names), index, iou_pos, iou_neg, s.t_fg, s.t_bg, m.threshold,
                         m.size, used, key)


#: Keywords of :func:`calibrate_cached` besides the fields of :class:`LocalChannelSettings`.
_CACHED_EXTRAS = ("ws", "landmarks", "progress")


def calibrate_cached(G, cache_dir: str | os.PathLike, network_id: str | None = None, **settings) -> LocalChannels:
    """:func:`calibrate_local_channels` through a JSON cache under ``cache_dir/local_channels/``.

    ``settings``: fields of :class:`LocalChannelSettings`, and ``ws``, ``landmarks``, ``progress``
    as :func:`calibrate_local_channels` takes them. The file name is a hash of the network identity
    and of every measurement setting (faces, threshold, mask size, parts, layers); ``t_fg`` /
    ``t_bg`` only re-select, so changing them reuses the entry. The entry carries the cache's
    integrity record (:func:`video2stylegan.method.cache.seal_json`); one that is unreadable, fails
    its checksum, has none (earlier versions) or does not match its key is deleted with a warning,
    recomputed and written again.
    """
    known = {f.name for f in fields(LocalChannelSettings)} | set(_CACHED_EXTRAS)
    unknown = sorted(set(settings) - known)
    if unknown:
        raise InvalidOptionError(f"unknown calibration setting(s) {unknown}; known: {sorted(known)}")
    ws, landmarks = settings.pop("ws", None), settings.pop("landmarks", None)
    progress = settings.pop("progress", True)
    s = LocalChannelSettings(**settings)
    check_unit_interval("t_fg", s.t_fg)
    check_unit_interval("t_bg", s.t_bg)
    expected = _prepare(G, s, ws, landmarks).key
    if network_id is None:
        network_id = network_identity(G)
    path = local_channels_path(cache_dir, network_id, expected, LOCAL_CHANNELS_FORMAT)
    if path.is_file():
        try:
            found = LocalChannels.from_dict(read_json_entry(path))  # readable, integrity record, checksum
            stored = {k: v for k, v in found.settings.items() if k != "skipped"}
            if found.network == network_id and stored == expected:
                log.info("local channels from cache %s", path)
                touch(path)
                return found.with_thresholds(s.t_fg, s.t_bg)
            reason = "its network or settings do not match its key"
        except (BadEntry, Video2StyleGANError) as exc:
            reason = str(exc)
        discard_entry(path, "local-channel", reason)
    result = calibrate_local_channels(G, s, ws=ws, landmarks=landmarks, network_id=network_id, progress=progress)
    try:
        write_json_entry(path, result.to_dict(), what="local-channel calibration", to_text=_json_text)
    except OSError as exc:  # disk full, no permission: use it uncached
        log.warning("cannot write to the cache folder %s (%s); the local channels are used without being stored "
                    "and will be calibrated again next time: free space or fix the permissions there",
                    path.parent, exc.strerror or exc)
    return result


# --------------------------------------------------------------------------- figure


@dataclass(frozen=True)
class FigureLayout:
    """What :func:`save_feature_maps` draws: how many maps per part, which parts, how large."""

    #: Selected channels shown per part (those with the highest IoU+).
    per_part: int = 8
    #: Rows of the figure; ``None``: every calibrated part.
    parts: tuple | None = None
    #: Side of each cell in pixels; ``None``: ``min(256, G.img_resolution)``.
    cell: int | None = None


def save_feature_maps(
    G,
    ws,
    local_channels: LocalChannels,
    out_path: str | os.PathLike,
    layout: FigureLayout | None = None,
    *,
    transform=None,
    landmarks=None,
) -> list[tuple[str, str, int]]:
    """A Fig. 7-like PNG: one row per part, the image then the normalised maps
    (grey, before thresholding) of the ``layout.per_part`` selected channels with the
    highest IoU+, each resized to ``layout.cell`` px; empty cells stay dark blue.
    ``ws``: one code ``[num_ws, w_dim]`` (of a batch, the first); ``transform``: the
    generator transform of the render; ``landmarks`` (68, 2) in generator pixels, when
    given, tint the row's part red on the image. Returns the ``(part, layer, channel)``
    of every map shown, row by row.
    """
    layout = FigureLayout() if layout is None else layout
    per_part, parts, cell = layout.per_part, layout.parts, layout.cell
    ws = _codes(G, ws)[:1].to(G.w_avg.device, torch.float32)
    parts = local_channels._check_parts(parts)
    names = list(G.style_names)
    for layer, idx in local_channels.layer_index.items():
        if idx >= len(names) or names[idx] != layer:
            raise InvalidOptionError(f"the calibration's layer {layer!r} (ws {idx}) is not in this network; was it made for another one?")
    if isinstance(per_part, bool) or not isinstance(per_part, (int, np.integer)) or per_part < 1:
        raise InvalidOptionError(f"per_part must be a positive integer, got {per_part!r}")
    resolution = int(G.img_resolution)
    cell = min(DEFAULT_MAX_SIZE, resolution) if cell is None else int(cell)
    if cell < 8:
        raise InvalidOptionError(f"cell must be at least 8 px, got {cell}")
    with torch.no_grad():
        img, feats = G.synthesis(ws, transform=transform, return_features=True)
        img = F.interpolate(img.float(), size=(cell, cell), mode="area" if cell < resolution else "bilinear",
                            **({} if cell < resolution else {"align_corners": False}))
    image = to_uint8_images(img)[0]
    gap = 2
    rows, shown = len(parts), []
    grid = np.zeros((rows * cell + (rows - 1) * gap, (per_part + 1) * cell + per_part * gap, 3), np.uint8)
    grid[:] = (255, 255, 255)
    tint = None
    if landmarks is not None:
        tint = part_masks(_landmark_array(landmarks, 1, resolution)[0], (resolution, resolution), size=cell, parts=parts)
    for r, part in enumerate(parts):
        y = r * (cell + gap)
        shown_image = image.copy()
        if tint is not None:
            m = tint[part]
            shown_image[m] = (0.55 * shown_image[m] + 0.45 * np.array([255, 0, 0])).round().astype(np.uint8)
        grid[y : y + cell, :cell] = shown_image
        picks = local_channels.best(part, int(per_part), selected_only=True)
        for k in range(int(per_part)):
            x = (k + 1) * (cell + gap)
            if k >= len(picks):
                grid[y : y + cell, x : x + cell] = (20, 24, 48)
                continue
            layer, channel, _ = picks[k]
            g = feature_map_geometry(G, layer)
            m = normalized_feature_maps(feats[g.source][:, channel : channel + 1], cell, g.margin)[0, 0]
            grid[y : y + cell, x : x + cell] = (m.cpu().numpy() * 255).round().astype(np.uint8)[:, :, None]
            shown.append((part, layer, channel))
    write_image(out_path, grid)
    return shown
