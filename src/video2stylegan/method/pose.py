"""A small differentiable head-pose regressor P_r (method.md, section 2).

The global pose encoding (Eq. 7, :mod:`.pose_encoding`) needs the pose of a
generated image as a differentiable function of its pixels. dlib's landmarks
followed by PnP (:func:`video2stylegan.faces.head_pose`) give a pose but no
gradient, so we distil them (or exact labels) into a small CNN:

* :class:`PoseRegressor` maps images ``[N, 3, R, R]`` in ``[-1, 1]`` (any
  ``R``; resized inside to ``input_size`` with an anti-aliased bilinear
  filter) to ``[N, 3]`` = (yaw, pitch, roll) in **degrees**, with the sign
  conventions of :mod:`video2stylegan.faces.pose` (+yaw: the nose moves to
  the image's right; +pitch: chin up; +roll: counter-clockwise in the image).
* Labelled training images come from one of two sources:
  :func:`generator_pose_samples` (samples of the network, labelled by dlib +
  PnP; for FFHQ-like networks) or :func:`renderer_pose_samples` (renders of
  :mod:`video2stylegan.synthetic` with their exact pose; for a network
  trained on those renders).
* :func:`train_pose_regressor` fits it (Adam, horizontal-flip augmentation,
  which negates yaw and roll) and reports the validation mean absolute error
  per angle; :func:`save_pose_regressor` / :func:`load_pose_regressor` store
  it as ``.safetensors`` with a JSON config in the metadata;
  :func:`calibrate_pose_regressor` does all of it once per network and
  caches the result.

Its accuracy against dlib + PnP on the synthetic renders is measured in
``benchmarks/RESULTS.md`` ("Method stages alone").
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from video2stylegan.errors import CheckpointError, InvalidOptionError, NoFaceError
from video2stylegan.faces import detect_faces, head_pose
from video2stylegan.method.cache import (
    BadEntry,
    discard_entry,
    network_identity,
    pose_regressor_path,
    read_tensor_entry,
    touch,
    write_tensor_entry,
)
from video2stylegan.networks.transforms import from_uint8_images, to_uint8_images
from video2stylegan.synthetic import render, sample_params

log = logging.getLogger(__name__)

CONFIG_KEY = "video2stylegan.pose_regressor"
FORMAT_VERSION = 1
SOURCES = ("generator", "renderer")
#: Calibration set sizes: renders are cheap (~40 ms at 128 px); samples of a 1024 px network on a CPU are not.
DEFAULT_SAMPLES = {"generator": 1000, "renderer": 2000}
ANGLE_NAMES = ("yaw", "pitch", "roll")


def resize_images(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``[N, C, H, W]`` to ``[N, C, size, size]`` (anti-aliased bilinear; identity if already that size)."""
    if images.ndim != 4:
        raise InvalidOptionError(f"images must be [N, C, H, W], got shape {tuple(images.shape)}")
    if images.shape[-2:] == (size, size):
        return images
    shrink = images.shape[-1] > size or images.shape[-2] > size
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=shrink)


class PoseRegressor(nn.Module):
    """Images ``[N, 3, R, R]`` in ``[-1, 1]`` -> ``[N, 3]`` (yaw, pitch, roll) in degrees.

    Four stride-2 3x3 convolutions (``width``, 2, 4, 4 x ``width`` channels,
    SiLU) on the image resized to ``input_size``, then global average pooling
    and two linear layers. The last layer predicts angles / ``angle_scale``.
    Differentiable with respect to the input; about 60k weights at width 16.
    """

    def __init__(self, input_size: int = 64, width: int = 16, angle_scale: float = 20.0):
        super().__init__()
        if input_size < 16 or input_size % 16:
            raise InvalidOptionError(f"input_size must be a multiple of 16 and at least 16, got {input_size}")
        if width < 1:
            raise InvalidOptionError(f"width must be at least 1, got {width}")
        self.input_size = int(input_size)
        self.width = int(width)
        self.angle_scale = float(angle_scale)
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        convs = []
        for cin, cout in zip(chans[:-1], chans[1:]):
            convs += [nn.Conv2d(cin, cout, 3, stride=2, padding=1), nn.SiLU()]
        self.features = nn.Sequential(*convs)
        # Keep a coarse layout (2x2) rather than pooling everything: pose is about where features sit.
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.head = nn.Sequential(nn.Linear(4 * chans[-1], 8 * width), nn.SiLU(), nn.Linear(8 * width, 3))

    def config(self) -> dict:
        """Constructor arguments (JSON-ready)."""
        return {"input_size": self.input_size, "width": self.width, "angle_scale": self.angle_scale}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise InvalidOptionError(f"PoseRegressor wants images [N, 3, H, W], got shape {tuple(images.shape)}")
        x = resize_images(images.float(), self.input_size)
        x = self.pool(self.features(x)).flatten(1)
        return self.head(x) * self.angle_scale


# --------------------------------------------------------------------------- samples


@dataclass
class PoseSamples:
    """Labelled images: ``images`` ``[N, 3, S, S]`` float in ``[-1, 1]``, ``angles`` ``[N, 3]`` degrees.

    ``tried`` counts the images drawn (some may have been skipped for want of a face).
    """

    images: torch.Tensor
    angles: torch.Tensor
    tried: int = 0
    info: dict = field(default_factory=dict)


@dataclass(frozen=True)
class PoseSampling:
    """Which samples of a network :func:`generator_pose_samples` draws, and how many must show a face."""

    #: Images drawn.
    n: int
    #: Truncation of their codes.
    truncation_psi: float = 0.7
    #: Seed of their ``z``.
    seed: int = 0
    #: Images synthesised at once.
    batch: int = 8
    #: Fewest share of the ``n`` images in which dlib must find a face.
    min_fraction: float = 0.25
    #: dlib detector (``"hog"`` or ``"cnn"``).
    detector: str = "hog"


@torch.no_grad()
def generator_pose_samples(G, sampling: PoseSampling, *, size: int = 64, progress: bool = False) -> PoseSamples:
    """Draw ``sampling.n`` images from ``G`` and label each with dlib + PnP (:func:`video2stylegan.faces.head_pose`).

    Images without a detected face are skipped. The kept images are stored
    resized to ``size`` (the regressor's input size). Raises
    :class:`NoFaceError` when fewer than ``sampling.min_fraction`` of the
    samples show a face dlib can read (a network that does not generate
    faces, e.g. an untrained one); when none of the first 64 does, it stops
    there instead of sampling all of them.
    """
    n, batch, truncation_psi = sampling.n, sampling.batch, sampling.truncation_psi
    if n < 1:
        raise InvalidOptionError(f"n must be at least 1, got {n}")
    device = G.w_avg.device if hasattr(G, "w_avg") else torch.device("cpu")
    gen = torch.Generator().manual_seed(int(sampling.seed))
    kept_images, kept_angles = [], []
    tried = 0
    with tqdm(total=n, desc="pose labels", unit="img", disable=not progress, leave=False) as bar:
        for start in range(0, n, batch):
            if tried >= 64 and not kept_angles:
                break  # no face in 64 samples: not a face network, do not spend minutes proving it
            m = min(batch, n - start)
            z = torch.randn(m, G.z_dim, generator=gen).to(device)
            img = G.synthesis(G.mapping(z, None, truncation_psi=truncation_psi))
            arr = to_uint8_images(img)
            for i in range(m):
                faces = detect_faces(arr[i], detector=sampling.detector)
                if faces:
                    pose = head_pose(faces[0], arr[i].shape)
                    kept_images.append(resize_images(img[i : i + 1].float().cpu(), size))
                    kept_angles.append(pose.angles)
            tried += m
            bar.update(m)
    found = len(kept_angles)
    if found < max(1, math.ceil(sampling.min_fraction * n)):
        raise NoFaceError(
            f"dlib found a face in only {found} of {tried} images sampled from the network "
            f"(truncation {truncation_psi}); it does not seem to generate faces dlib can read, so the pose "
            "regressor cannot be calibrated on it. Use a face network, or calibrate with source='renderer' "
            "for a network trained on the synthetic renders."
        )
    return PoseSamples(
        torch.cat(kept_images),
        torch.as_tensor(np.stack(kept_angles), dtype=torch.float32),
        tried=n,
        info={"source": "generator", "found": found, "tried": n, "truncation_psi": truncation_psi},
    )


def renderer_pose_samples(
    n: int, size: int = 128, seed: int = 0, *, out_size: int | None = 64, pose_distribution: str = "natural"
) -> PoseSamples:
    """``n`` synthetic renders (:mod:`video2stylegan.synthetic`, seeds ``seed .. seed+n-1``) at ``size`` px
    with their exact (yaw, pitch, roll) in degrees; images stored resized to ``out_size`` (None: ``size``)."""
    if n < 1:
        raise InvalidOptionError(f"n must be at least 1, got {n}")
    images, angles = [], []
    for s in range(int(seed), int(seed) + int(n)):
        params = sample_params(s, pose_distribution)
        r = render(params, size)
        x = from_uint8_images(r.image)
        images.append(resize_images(x, out_size) if out_size else x)
        p = params.pose
        angles.append((p.yaw, p.pitch, p.roll))
    return PoseSamples(
        torch.cat(images),
        torch.tensor(angles, dtype=torch.float32),
        tried=n,
        info={"source": "renderer", "render_size": size, "pose_distribution": pose_distribution},
    )


# --------------------------------------------------------------------------- training


def _mae(reg: PoseRegressor, images: torch.Tensor, angles: torch.Tensor, batch: int = 256) -> list[float]:
    errs = []
    with torch.no_grad():
        for s in range(0, len(images), batch):
            errs.append((reg(images[s : s + batch]) - angles[s : s + batch]).abs())
    return torch.cat(errs).mean(0).tolist()


@dataclass(frozen=True)
class PoseTraining:
    """How :func:`train_pose_regressor` fits a regressor (all of it goes into its report)."""

    #: Adam steps.
    steps: int = 1500
    #: Images per step.
    batch: int = 32
    #: Peak learning rate (cosine decay to 0 over the steps).
    lr: float = 2e-3
    #: Share of the samples held out for validation, in [0, 1).
    val_fraction: float = 0.15
    #: Seed of the split, the initial weights, the batches and the flips.
    seed: int = 0
    #: Mirror half of each batch (negating yaw and roll).
    flip: bool = True
    #: The regressor's input side in pixels (a multiple of 16).
    input_size: int = 64
    #: The regressor's first convolution's channels.
    width: int = 16


def _split(images: torch.Tensor, angles: torch.Tensor, t: PoseTraining, gen: torch.Generator):
    """Checked float inputs and a seeded ``(train indices, validation indices)`` split."""
    if images.ndim != 4 or images.shape[1] != 3 or angles.shape != (len(images), 3):
        raise InvalidOptionError(
            f"need images [N, 3, S, S] and angles [N, 3]; got {tuple(images.shape)} and {tuple(angles.shape)}"
        )
    if not 0.0 <= t.val_fraction < 1.0:
        raise InvalidOptionError(f"val_fraction must lie in [0, 1), got {t.val_fraction}")
    n = len(images)
    n_val = int(round(t.val_fraction * n))
    if n - n_val < 2:
        raise InvalidOptionError(f"too few samples to train a pose regressor: {n} (with {n_val} held out)")
    order = torch.randperm(n, generator=gen)
    return order[: n - n_val], order[n - n_val :]


def _fit(reg: PoseRegressor, x_tr: torch.Tensor, y_tr: torch.Tensor, t: PoseTraining, gen: torch.Generator,
         progress: bool) -> None:
    """Adam with a cosine decay and smooth-L1 on angles / ``angle_scale``, optionally mirrored batches."""
    opt = torch.optim.Adam(reg.parameters(), lr=t.lr)
    sign = torch.tensor([-1.0, 1.0, -1.0])  # mirroring negates yaw and roll
    reg.train()
    for step in tqdm(range(int(t.steps)), desc="pose regressor", disable=not progress, leave=False):
        for group in opt.param_groups:
            group["lr"] = t.lr * 0.5 * (1.0 + math.cos(math.pi * step / max(1, t.steps)))
        idx = torch.randint(0, len(x_tr), (min(t.batch, len(x_tr)),), generator=gen)
        xb, yb = x_tr[idx], y_tr[idx]
        if t.flip:
            m = torch.rand(len(idx), generator=gen) < 0.5
            xb = torch.where(m[:, None, None, None], xb.flip(-1), xb)
            yb = torch.where(m[:, None], yb * sign, yb)
        loss = F.smooth_l1_loss(reg(xb) / reg.angle_scale, yb / reg.angle_scale, beta=0.1)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    reg.eval().requires_grad_(False)


def train_pose_regressor(
    images: torch.Tensor, angles: torch.Tensor, training: PoseTraining | None = None, *, progress: bool = False
) -> tuple[PoseRegressor, dict]:
    """Fit a :class:`PoseRegressor` to ``images`` ``[N, 3, S, S]`` in ``[-1, 1]`` and ``angles`` ``[N, 3]`` (degrees).

    Adam with a cosine learning-rate decay, smooth-L1 loss on angles /
    ``angle_scale``; with ``training.flip`` half of each batch is mirrored (yaw and
    roll negated). The last ``training.val_fraction`` of a seeded shuffle is held out
    (``training``: default :class:`PoseTraining`). Returns ``(regressor in eval mode,
    report)``; ``report`` holds ``val_mae_deg`` / ``train_mae_deg`` (per angle, dict
    yaw/pitch/roll), ``val_mae_mean_deg``, the counts and the training time in seconds.
    """
    t = PoseTraining() if training is None else training
    images = torch.as_tensor(images).float()
    angles = torch.as_tensor(angles).float()
    gen = torch.Generator().manual_seed(int(t.seed))
    train_idx, val_idx = _split(images, angles, t, gen)
    images = resize_images(images, t.input_size)
    x_tr, y_tr = images[train_idx], angles[train_idx]

    torch.manual_seed(int(t.seed))
    reg = PoseRegressor(input_size=t.input_size, width=t.width)
    t0 = time.perf_counter()
    _fit(reg, x_tr, y_tr, t, gen, progress)
    seconds = time.perf_counter() - t0
    train_mae = _mae(reg, x_tr, y_tr)
    report = {
        "samples": len(images),
        "train": int(len(train_idx)),
        "val": int(len(val_idx)),
        "steps": int(t.steps),
        "batch": int(t.batch),
        "lr": float(t.lr),
        "flip": bool(t.flip),
        "seed": int(t.seed),
        "train_seconds": round(seconds, 2),
        "train_mae_deg": dict(zip(ANGLE_NAMES, (round(v, 4) for v in train_mae))),
    }
    if len(val_idx):
        val_mae = _mae(reg, images[val_idx], angles[val_idx])
        report["val_mae_deg"] = dict(zip(ANGLE_NAMES, (round(v, 4) for v in val_mae)))
        report["val_mae_mean_deg"] = round(float(np.mean(val_mae)), 4)
    return reg, report


# --------------------------------------------------------------------------- storage


def save_pose_regressor(reg: PoseRegressor, path: str | os.PathLike, report: dict | None = None) -> Path:
    """Write ``reg`` as ``.safetensors`` (atomically) with its config and ``report`` as JSON metadata, and
    the integrity record of :mod:`video2stylegan.method.cache` (a cache read checks it)."""
    config = {"class": "PoseRegressor", "format": FORMAT_VERSION, "init": reg.config(), "report": report or {}}
    tensors = {k: v.detach().cpu().contiguous() for k, v in reg.state_dict().items()}
    # with the cache's integrity record (checksum, dtypes, shapes), checked when the cache reads it
    return write_tensor_entry(path, tensors, {CONFIG_KEY: json.dumps(config)}, what="pose regressor",
                              error=CheckpointError)


def load_pose_regressor(path: str | os.PathLike, *, with_report: bool = False):
    """Load a regressor written by :func:`save_pose_regressor` (eval mode, no grad on weights).

    With ``with_report`` returns ``(regressor, report)``. Raises
    :class:`CheckpointError` for a missing or foreign file.
    """
    from safetensors import safe_open
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"pose regressor file {path} does not exist; run the calibration again")
    try:
        with safe_open(str(path), framework="pt") as handle:
            meta = handle.metadata() or {}
        config = json.loads(meta[CONFIG_KEY])
        reg = PoseRegressor(**config["init"])
        reg.load_state_dict(load_file(str(path)))
    except KeyError:
        raise CheckpointError(f"{path} has no '{CONFIG_KEY}' metadata: not a pose regressor file") from None
    except Exception as exc:  # safetensors / json / state-dict mismatches
        raise CheckpointError(
            f"{path} is not a readable pose regressor ({exc}); delete it and calibrate again"
        ) from None
    reg.eval().requires_grad_(False)
    return (reg, config.get("report", {})) if with_report else reg


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class CalibrationSettings:
    """Everything that decides a calibrated regressor (all of it goes into the cache key)."""

    source: str = "generator"
    samples: int = 2000
    steps: int = 1500
    batch: int = 32
    lr: float = 2e-3
    input_size: int = 64
    width: int = 16
    truncation_psi: float = 0.7  # generator source
    render_size: int = 128  # renderer source
    seed: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def training(self) -> PoseTraining:
        """The :class:`PoseTraining` these settings ask for."""
        return PoseTraining(steps=self.steps, batch=self.batch, lr=self.lr, seed=self.seed, input_size=self.input_size,
                            width=self.width)


def calibration_path(cache_dir: str | os.PathLike, network_id: str, settings: CalibrationSettings) -> Path:
    """``<cache_dir>/pose_regressor/<sha256 of network id + settings>.safetensors``
    (:func:`~video2stylegan.method.cache.pose_regressor_path`)."""
    return pose_regressor_path(cache_dir, network_id, settings, FORMAT_VERSION)


def calibrate_pose_regressor(
    G,
    cache_dir: str | os.PathLike,
    network_id: str | None = None,
    *,
    source: str = "generator",
    samples: int | None = None,
    progress: bool = True,
    force: bool = False,
    **settings,
) -> PoseRegressor:
    """The pose regressor of network ``G``: loaded from ``cache_dir`` when calibrated before, else trained and stored.

    ``source="generator"`` labels ``samples`` (default 1000) images of ``G``
    with dlib + PnP (FFHQ-like networks); ``"renderer"`` uses ``samples``
    (default 2000) synthetic renders with exact labels (networks trained on
    them; ``G`` is then not used and may be ``None`` when ``network_id`` is
    given). ``network_id`` defaults to
    :func:`video2stylegan.method.cache.network_identity` of ``G``. Further
    keywords are fields of :class:`CalibrationSettings`. ``force`` retrains
    and overwrites. The training report (validation MAE per angle) is
    logged and stored in the file's metadata.
    """
    if source not in SOURCES:
        raise InvalidOptionError(f"source must be one of {SOURCES}, got {source!r}")
    if samples is None:
        samples = DEFAULT_SAMPLES[source]
    try:
        cfg = CalibrationSettings(source=source, samples=int(samples), **settings)
    except TypeError as exc:
        raise InvalidOptionError(f"unknown pose calibration setting: {exc}") from None
    if G is None and (network_id is None or source == "generator"):
        raise InvalidOptionError(
            "calibrate_pose_regressor needs the generator G (for source='generator', and to identify "
            "the network when no network_id is given)"
        )
    if network_id is None:
        network_id = network_identity(G)
    path = calibration_path(cache_dir, network_id, cfg)
    if path.is_file() and not force:
        try:
            read_tensor_entry(path)  # readable, integrity record, checksum, finite weights
            reg = load_pose_regressor(path)  # shapes against the stored config
            log.info("pose regressor loaded from %s", path)
            touch(path)
            return reg
        except (BadEntry, CheckpointError) as exc:
            discard_entry(path, "pose regressor", str(exc), then="calibrating again")
    if source == "generator":
        sampling = PoseSampling(cfg.samples, cfg.truncation_psi, cfg.seed)
        data = generator_pose_samples(G, sampling, size=cfg.input_size, progress=progress)
    else:
        data = renderer_pose_samples(cfg.samples, cfg.render_size, cfg.seed, out_size=cfg.input_size)
    reg, report = train_pose_regressor(data.images, data.angles, cfg.training(), progress=progress)
    report.update({"data": data.info, "network": str(network_id), "settings": cfg.to_dict()})
    log.info("pose regressor calibrated: validation MAE (deg) %s", report.get("val_mae_deg"))
    try:
        save_pose_regressor(reg, path, report)
    except (OSError, CheckpointError) as exc:  # disk full, no permission: use it uncached
        log.warning("cannot write to the cache folder %s (%s); the pose regressor is used without being stored "
                    "and will be calibrated again next time: free space or fix the permissions there",
                    path.parent, getattr(exc, "strerror", None) or exc)
    return reg
