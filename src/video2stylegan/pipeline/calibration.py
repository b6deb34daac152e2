"""Per-network calibration: the pose regressor (Eq. 7's P_r) and the local channels (Eq. 8-9).

Both are cached per network (:func:`video2stylegan.method.cache.network_identity`)
under ``<cache>/calibration``; ``video2stylegan calibrate`` runs them ahead of
time, ``reenact`` runs whatever is missing.

Where the training images come from (``pose_source`` / ``local_source``):

* pose regressor: ``"generator"`` (the network's own samples labelled by dlib
  landmarks + PnP, the issue's recipe for FFHQ networks) or ``"renderer"``
  (synthetic heads with exact pose labels, right for networks trained on them);
  ``"auto"`` picks the renderer for networks of the synthetic world
  (:func:`~video2stylegan.networks.registry.is_synthetic_network`), else the generator.
* local channels: ``"generated"`` (the network's samples) or ``"projected"``
  (the run's projected driving frames with their landmarks; works on any
  network, cached per clip); ``"auto"`` tries generated samples and falls back
  to the projected frames, with a warning, when the network's samples show no
  faces that dlib can read.

``reenact``'s calibration stage is :func:`calibrate`: it takes :class:`CalibrationOptions` (for each
part, a source to calibrate from, or the value itself: a regressor, a channel table) and returns a
:class:`Calibration`, the values the method plan uses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import torch

from video2stylegan.errors import InvalidOptionError, MediaError, NoFaceError
from video2stylegan.io.atomic import atomic_output
from video2stylegan.method.cache import CacheFolder, no_face_note_path
from video2stylegan.method.config import ReenactConfig
# the modules, not their functions: a calibration is looked up when called, so a test that forbids
# calibrating (to show a run is refused before it) replaces it in one place
from video2stylegan.method import local_channels, pose
from video2stylegan.networks.registry import is_synthetic_network

log = logging.getLogger(__name__)

POSE_SOURCES = ("auto", "generator", "renderer")
LOCAL_SOURCES = ("auto", "generated", "projected")

#: The projected-frame calibration of the local channels measures at most this many driving frames,
#: spread evenly over the clip.
PROJECTED_SAMPLE = 32

__all__ = ["POSE_SOURCES", "LOCAL_SOURCES", "Calibration", "CalibrationOptions", "ProjectedFaces", "calibrate",
           "resolve_pose_source", "pose_regressor_for", "local_channels_for"]


def resolve_pose_source(choice: str, network_name: str | None) -> str:
    if choice not in POSE_SOURCES:
        raise InvalidOptionError(f"pose regressor source must be one of {', '.join(POSE_SOURCES)}, got {choice!r}")
    if choice != "auto":
        return choice
    return "renderer" if network_name is not None and is_synthetic_network(network_name) else "generator"


def _calibration_dir(cache_dir) -> Path:
    return CacheFolder(cache_dir).calibration


#: The regressor trained on synthetic renders ships with the package: it depends on the
#: renderer only, not on the network, and saves a new user minutes of rendering and training.
BUNDLED_RENDERER_REGRESSOR = Path(__file__).resolve().parent.parent / "assets" / "pose" / "renderer.safetensors"


def pose_regressor_for(G, network_id: str, cache_dir, *, source: str = "auto", network_name=None, progress=True):
    """The pose regressor for ``G``: the bundled renderer-trained one, or the network's own
    (cached per network; trained on first use)."""
    source = resolve_pose_source(source, network_name)
    if source == "renderer":
        if BUNDLED_RENDERER_REGRESSOR.is_file():
            return pose.load_pose_regressor(BUNDLED_RENDERER_REGRESSOR)
        return pose.calibrate_pose_regressor(None, _calibration_dir(cache_dir), "renderer", source="renderer",
                                             progress=progress)
    try:
        return pose.calibrate_pose_regressor(G, _calibration_dir(cache_dir), network_id, source=source,
                                             progress=progress)
    except NoFaceError as exc:
        raise NoFaceError(
            f"{exc} The pose regressor cannot be trained on this network's samples: run without pose "
            "(--no-pose) or train it on synthetic renders (--pose-regressor renderer)."
        ) from None


def _write_marker(path: Path, text: str) -> None:
    """Write the note that the network's samples showed no faces (so ``auto`` skips straight to projected
    frames) atomically; a cache folder that takes no file only costs the next run a retry."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(path, suffix=".txt", what="calibration note") as tmp:
            Path(tmp).write_text(text + "\n")
    except (OSError, MediaError) as exc:
        log.warning("cannot write to the cache folder %s (%s); the next run will try generated samples again",
                    path.parent, getattr(exc, "strerror", None) or exc)


@dataclass
class LocalChannelsResult:
    channels: dict
    calibration: object
    source: str


def local_channels_for(
    G,
    network_id: str,
    cache_dir,
    *,
    source: str = "auto",
    ws=None,
    landmarks=None,
    layers=None,
    progress: bool = True,
) -> LocalChannelsResult:
    """The selected eye / nose / mouth channels of ``G`` on ``layers`` (ws indices; default
    all) as ``{layer name: indices}``.

    ``ws`` / ``landmarks``: projected faces and their landmarks in generator
    pixels, used by ``source="projected"`` (and by ``"auto"`` as fallback);
    that calibration measures only ``layers``, the network-wide one all layers
    (the ``calibrate`` command reports them all).
    """
    if source not in LOCAL_SOURCES:
        raise InvalidOptionError(f"local calibration source must be one of {', '.join(LOCAL_SOURCES)}, got {source!r}")
    root = _calibration_dir(cache_dir)
    marker = no_face_note_path(root, network_id)
    if source == "generated" or (source == "auto" and not marker.is_file()):
        try:
            cal = local_channels.calibrate_cached(G, root, network_id, progress=progress)
            return LocalChannelsResult(cal.channels(layers=layers), cal, "generated")
        except NoFaceError as exc:
            if source == "generated" or ws is None:
                raise
            log.warning("local-channel calibration on generated samples failed (%s); using the projected frames", exc)
            _write_marker(marker, str(exc))
    if ws is None or landmarks is None:
        raise InvalidOptionError("local-channel calibration on projected faces needs their ws and landmarks")
    cal = local_channels.calibrate_cached(G, root, network_id, ws=ws, landmarks=landmarks, layers=layers,
                                          progress=progress)
    return LocalChannelsResult(cal.channels(), cal, "projected")


# --------------------------------------------------------------------------- the calibration stage


@dataclass(frozen=True)
class CalibrationOptions:
    """Where ``reenact``'s calibration comes from, checked on construction.

    ``pose_regressor``: one of :data:`POSE_SOURCES` (train or load one, :func:`pose_regressor_for`) or a
    regressor itself (a module mapping ``[N, 3, R, R]`` images in [-1, 1] to ``[N, 3]`` degrees (yaw,
    pitch, roll); its weights go into the cache key of the pose edit). ``local_channels``: one of
    :data:`LOCAL_SOURCES` (:func:`local_channels_for`) or the channels themselves, ``{layer name or ws
    index: channel indices}``.
    """

    pose_regressor: str | torch.nn.Module = "auto"
    local_channels: str | Mapping = "auto"

    def __post_init__(self) -> None:
        if isinstance(self.pose_regressor, str):
            if self.pose_regressor not in POSE_SOURCES:
                raise InvalidOptionError(f"pose regressor source must be one of {', '.join(POSE_SOURCES)}, "
                                         f"got {self.pose_regressor!r}")
        elif not isinstance(self.pose_regressor, torch.nn.Module):
            raise InvalidOptionError(f"pose_regressor must be one of {', '.join(POSE_SOURCES)} or a torch module, "
                                     f"got {type(self.pose_regressor).__name__}")
        if isinstance(self.local_channels, str):
            if self.local_channels not in LOCAL_SOURCES:
                raise InvalidOptionError(f"local calibration source must be one of {', '.join(LOCAL_SOURCES)}, "
                                         f"got {self.local_channels!r}")
        elif not isinstance(self.local_channels, Mapping):
            raise InvalidOptionError(f"local channels must be one of {', '.join(LOCAL_SOURCES)} or a mapping "
                                     f"{{layer: channel indices}}, got {type(self.local_channels).__name__}")


@dataclass(frozen=True, eq=False)  # holds tensors: compared by identity
class Calibration:
    """What the method uses of a network's calibration: the ``pose_regressor`` of Eq. 7 (on the network's
    device) and the ``local_channels`` of Eq. 1-2 (``{layer: channel indices}``); each ``None`` where the
    configuration does not use it."""

    pose_regressor: torch.nn.Module | None = None
    local_channels: Mapping | None = None

    @property
    def channel_count(self) -> int:
        """How many local channels, over all layers (0 without)."""
        return int(sum(len(v) for v in self.local_channels.values())) if self.local_channels else 0


@dataclass(frozen=True, eq=False)  # holds tensors: compared by identity
class ProjectedFaces:
    """The run's projected driving frames, which the local channels' ``projected`` calibration measures:
    their codes ``ws`` ``[T, num_ws, w_dim]`` and ``aligned`` crops (a sequence of
    :class:`~video2stylegan.faces.AlignedFace`, landmarks in generator pixels)."""

    ws: torch.Tensor
    aligned: object

    def sample(self, most: int = PROJECTED_SAMPLE) -> tuple[torch.Tensor, np.ndarray]:
        """``(ws, landmarks)`` of at most ``most`` frames spread evenly over the clip."""
        T = len(self.ws)
        pick = np.unique(np.linspace(0, T - 1, min(T, most)).round().astype(int))
        return self.ws[pick], np.stack([self.aligned[j].landmarks for j in pick])


def calibrate(network, cache_root, config: ReenactConfig, options: CalibrationOptions,
              projected: ProjectedFaces | None = None, progress: bool = True) -> Calibration:
    """The calibration ``config`` needs on ``network`` (a :class:`~video2stylegan.pipeline.network.Network`):
    the local channels of ``config.constrained_layers`` when it uses the local edit, then the pose
    regressor when it uses the pose edit, each taken from ``options`` when given there, else calibrated
    (cached under ``cache_root``; ``projected``: the frames of the projected-frame calibration)."""
    channels = None
    if config.method == "video2stylegan" and config.use_local:
        channels = options.local_channels
        if isinstance(channels, str):
            ws, landmarks = (None, None) if projected is None else projected.sample()
            channels = local_channels_for(network.G, network.id, cache_root, source=channels, ws=ws,
                                          landmarks=landmarks, layers=config.constrained_layers,
                                          progress=progress).channels
    regressor = None
    if config.pose_source != "none":
        regressor = options.pose_regressor
        if isinstance(regressor, str):
            regressor = pose_regressor_for(network.G, network.id, cache_root, source=regressor,
                                           network_name=network.name, progress=progress)
        regressor = regressor.to(network.device)
    return Calibration(regressor, channels)
