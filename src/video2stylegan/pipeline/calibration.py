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
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from video2stylegan.errors import InvalidOptionError, NoFaceError
from video2stylegan.networks.registry import is_synthetic_network

log = logging.getLogger(__name__)

POSE_SOURCES = ("auto", "generator", "renderer")
LOCAL_SOURCES = ("auto", "generated", "projected")

__all__ = ["POSE_SOURCES", "LOCAL_SOURCES", "resolve_pose_source", "pose_regressor_for", "local_channels_for"]


def resolve_pose_source(choice: str, network_name: str | None) -> str:
    if choice not in POSE_SOURCES:
        raise InvalidOptionError(f"pose regressor source must be one of {', '.join(POSE_SOURCES)}, got {choice!r}")
    if choice != "auto":
        return choice
    return "renderer" if network_name is not None and is_synthetic_network(network_name) else "generator"


def _calibration_dir(cache_dir) -> Path:
    return Path(cache_dir) / "calibration"


#: The regressor trained on synthetic renders ships with the package: it depends on the
#: renderer only, not on the network, and saves a new user minutes of rendering and training.
BUNDLED_RENDERER_REGRESSOR = Path(__file__).resolve().parent.parent / "assets" / "pose" / "renderer.safetensors"


def pose_regressor_for(G, network_id: str, cache_dir, *, source: str = "auto", network_name=None, progress=True):
    """The pose regressor for ``G``: the bundled renderer-trained one, or the network's own
    (cached per network; trained on first use)."""
    from video2stylegan.method.pose import calibrate_pose_regressor, load_pose_regressor

    source = resolve_pose_source(source, network_name)
    if source == "renderer":
        if BUNDLED_RENDERER_REGRESSOR.is_file():
            return load_pose_regressor(BUNDLED_RENDERER_REGRESSOR)
        return calibrate_pose_regressor(None, _calibration_dir(cache_dir), "renderer", source="renderer",
                                        progress=progress)
    try:
        return calibrate_pose_regressor(G, _calibration_dir(cache_dir), network_id, source=source, progress=progress)
    except NoFaceError as exc:
        raise NoFaceError(
            f"{exc} The pose regressor cannot be trained on this network's samples: run without pose "
            "(--no-pose) or train it on synthetic renders (--pose-regressor renderer)."
        ) from None


def _no_faces_marker(root: Path, network_id: str) -> Path:
    """A note that the network's samples showed no faces, so ``auto`` skips straight to projected frames."""
    import hashlib

    return root / "no_faces" / f"{hashlib.sha256(str(network_id).encode()).hexdigest()}.txt"


def _write_marker(path: Path, text: str) -> None:
    """Write the note atomically; a cache folder that takes no file only costs the next run a retry."""
    from video2stylegan.errors import MediaError
    from video2stylegan.io.atomic import atomic_output

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
    from video2stylegan.method.local_channels import calibrate_cached

    if source not in LOCAL_SOURCES:
        raise InvalidOptionError(f"local calibration source must be one of {', '.join(LOCAL_SOURCES)}, got {source!r}")
    root = _calibration_dir(cache_dir)
    marker = _no_faces_marker(root, network_id)
    if source == "generated" or (source == "auto" and not marker.is_file()):
        try:
            cal = calibrate_cached(G, root, network_id, progress=progress)
            return LocalChannelsResult(cal.channels(layers=layers), cal, "generated")
        except NoFaceError as exc:
            if source == "generated" or ws is None:
                raise
            log.warning("local-channel calibration on generated samples failed (%s); using the projected frames", exc)
            _write_marker(marker, str(exc))
    if ws is None or landmarks is None:
        raise InvalidOptionError("local-channel calibration on projected faces needs their ws and landmarks")
    cal = calibrate_cached(G, root, network_id, ws=ws, landmarks=landmarks, layers=layers, progress=progress)
    return LocalChannelsResult(cal.channels(), cal, "projected")
