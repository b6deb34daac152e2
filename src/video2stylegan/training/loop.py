"""Train a small StyleGAN3 on the procedural head renderer (``video2stylegan train-synthetic``).

The network is our own :class:`~video2stylegan.networks.stylegan3.Generator`
(mapping network, Fourier input, modulated alias-free layers), trained by
supervised distillation of the renderer: a latent ``z`` is drawn from
N(0, I) with one entry per renderer parameter, decoded into head parameters
(:func:`z_to_params`) and rendered; the generator learns ``G(z) ~= render``.
The decoding makes ``z ~ N(0, I)`` reproduce the parameter distribution of
:func:`~video2stylegan.synthetic.sample_params` (uniform fields through the
normal CDF, natural-pose angles as scaled normals), so sampling the trained
network draws heads the way the renderer's own sampler does.

The mapping network normalises ``z`` to the sphere of radius ``sqrt(z_dim)``
before anything else, so the image can only depend on the direction of ``z``;
:func:`z_to_params` therefore decodes the *normalised* ``z``, which keeps the
training target a function of what the network sees.

A run directory holds ``config.json``, ``log.jsonl`` (one JSON line per logged
step), ``grids/`` (sample grids: held-out renders above the EMA generator's
images for the same ``z``) and ``checkpoints/step-XXXXXXXX/`` with
``G.safetensors``, ``G_ema.safetensors`` and ``state.pt`` (optimiser state,
step and RNG state, plain tensors loadable with ``torch.load(weights_only=True)``).
``checkpoints/latest`` names the newest complete checkpoint. Training data are a
pure function of (seed, step), so resuming gives the same weights as an
uninterrupted run.
"""

from __future__ import annotations

import copy
import json
import math
import numbers
import shutil
import signal
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np
import torch

from video2stylegan.errors import CheckpointError, GenerationError, InvalidOptionError
from video2stylegan.io.atomic import atomic_output
from video2stylegan.io.outputs import check_output
from video2stylegan.networks.state import non_finite_tensors
from video2stylegan.synthetic.head_model import BROWS, EYES, MOUTH, NOSE
from video2stylegan.synthetic.params import NATURAL_POSE_SIGMA, Expression, HeadParams, Identity, Pose
from video2stylegan.synthetic.renderer import render

Z_DIM = HeadParams.size()
TRAIN_STREAM = 0
HELDOUT_STREAM = 1
# Eye openness is drawn uniformly in this sub-range by sample_params (closed eyes are blinks).
EYE_OPEN_RANGE = (0.55, 1.15)
_UNIT_EPS = 1e-6
LOSSES = ("l1+gradient", "l1+msssim", "l1")
# The parts dlib's detector and landmark predictor read; they cover a few per cent of a render.
FEATURE_PARTS = (EYES, BROWS, NOSE, MOUTH)
CHECKPOINT_KEEP = 2


# ---------------------------------------------------------------------------
# z <-> renderer parameters


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def _normal_ppf(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(np.clip(u, _UNIT_EPS, 1 - _UNIT_EPS))


def _field_kinds() -> list[tuple[str, tuple[float, float], str]]:
    """(name, (low, high) of the value, kind) per parameter; kind is 'uniform' or 'normal'."""
    kinds = []
    for block in (Identity, Expression, Pose):
        for name in block.names():
            lo, hi = block.SPEC[name]
            if name in ("eye_open_left", "eye_open_right"):
                kinds.append((name, EYE_OPEN_RANGE, "uniform"))
            elif name in NATURAL_POSE_SIGMA:
                kinds.append((name, (lo, hi), "normal"))
            else:
                kinds.append((name, (lo, hi), "uniform"))
    return kinds


_FIELDS = _field_kinds()


def normalize_z(z: np.ndarray) -> np.ndarray:
    """What the mapping network does first: scale each row to mean square 1."""
    z = np.asarray(z, dtype=np.float64)
    return z / np.sqrt(np.square(z).mean(axis=-1, keepdims=True) + 1e-8)


def z_to_params(z) -> HeadParams:
    """Head parameters that the trained generator renders for latent ``z`` (37 values).

    ``z`` is normalised as the mapping network does; each entry is then mapped
    through the normal CDF into its field's sampling range, except yaw, pitch
    and roll, which are ``z * sigma`` (the natural pose distribution), clipped.
    """
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    if z.size != Z_DIM:
        raise InvalidOptionError(f"z must have {Z_DIM} entries (one per renderer parameter), got {z.size}.")
    z = normalize_z(z)
    values = np.empty(Z_DIM)
    for i, (name, (lo, hi), kind) in enumerate(_FIELDS):
        if kind == "normal":
            values[i] = np.clip(z[i] * NATURAL_POSE_SIGMA[name], lo, hi)
        else:
            values[i] = lo + (hi - lo) * _normal_cdf(z[i])
    return HeadParams.from_vector(values)


def params_to_z(params: HeadParams) -> np.ndarray:
    """A latent whose entries encode ``params`` (the inverse of the per-field maps of :func:`z_to_params`).

    Exact inverse only when the result already has mean square 1; otherwise
    ``z_to_params(params_to_z(p))`` is ``p`` with the latent rescaled.
    """
    values = params.to_vector()
    z = np.empty(Z_DIM)
    for i, (name, (lo, hi), kind) in enumerate(_FIELDS):
        if kind == "normal":
            z[i] = values[i] / NATURAL_POSE_SIGMA[name]
        else:
            z[i] = _normal_ppf((values[i] - lo) / (hi - lo))
    return z


def sample_z(index: int, seed: int = 0, stream: int = TRAIN_STREAM) -> np.ndarray:
    """Latent number ``index`` of a stream (training or held-out): ``N(0, I)``, float64, deterministic."""
    rng = np.random.default_rng([int(seed), int(stream), int(index)])
    return rng.standard_normal(Z_DIM)


def sample_render(index: int, size: int, seed: int = 0, stream: int = TRAIN_STREAM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One latent of a stream: ``z`` float32 [37], its render float32 [3, size, size] in [-1, 1], and the
    render's facial-feature coverage [1, size, size] in [0, 1] (eyes, brows, nose, mouth)."""
    z = sample_z(index, seed, stream)
    result = render(z_to_params(z), size)
    image = result.image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    features = result.masks[list(FEATURE_PARTS)].sum(0, keepdims=True).clip(0, 1)
    return z.astype(np.float32), np.ascontiguousarray(image), features.astype(np.float32)


def sample_batch(indices, size: int, seed: int = 0, stream: int = TRAIN_STREAM, features: bool = False):
    """``(z [B, 37], images [B, 3, size, size])`` as tensors; with ``features=True`` also the coverage ``[B, 1, size, size]``."""
    samples = [sample_render(i, size, seed, stream) for i in indices]
    out = tuple(torch.from_numpy(np.stack([s[k] for s in samples])) for k in range(3))
    return out if features else out[:2]


class _BatchStream(torch.utils.data.IterableDataset):
    """Training batches from step ``start`` on: batch ``s`` holds latents ``s*batch .. s*batch+batch-1``."""

    def __init__(self, start: int, stop: int, batch: int, size: int, seed: int):
        super().__init__()
        self.start, self.stop, self.batch, self.size, self.seed = start, stop, batch, size, seed

    def __iter__(self):
        torch.set_num_threads(1)
        if torch.utils.data.get_worker_info() is not None:
            # Ctrl-C (and a SIGTERM sent to the whole process group, e.g. `pkill -f`, a service stop)
            # reaches the worker too: the trainer checkpoints, so the renderer must not die first.
            # DataLoader ends the worker itself when the trainer exits.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for step in range(self.start, self.stop):
            yield sample_batch(range(step * self.batch, (step + 1) * self.batch), self.size, self.seed, features=True)


# ---------------------------------------------------------------------------
# configuration


def _setting(default, help: str | None, low: float, high: float | None):
    """A field of :class:`TrainConfig` with its help (None: not a command-line option) and accepted range
    ``[low, high]`` (``high`` None: no upper end) in its metadata; the CLI is generated from it."""
    return field(default=default, metadata={"help": help, "range": (low, high)})


@dataclass
class TrainConfig:
    """Everything that determines a run (saved as ``config.json``; fixed for the life of the run).

    Numeric fields carry their help and accepted range in their metadata (``train-synthetic``'s
    options are generated from it); construction refuses non-finite values, values outside the
    range, and booleans or fractions where an integer is expected. The upper ends bound what a
    run allocates (images, channels, layers, held-out renders) to sizes a machine can hold.
    """

    # The settings of the shipped synthetic-heads-128 (run v4, docs/synthetic.md). Optimiser settings
    # chosen by benchmarks/trainer_settings.py: the mapping network needs the full learning rate
    # (a 0.1 multiplier, StyleGAN's GAN default, cost 0.9 dB at 300 steps); lr 0.015 beat 0.005 and
    # 0.03; at that rate Adam needs momentum (beta1 0, StyleGAN's GAN setting, cost 1.9 dB) and
    # w_dim 128 learnt 1.1 dB slower than 64. The 71 k network (channel_base 1024, channel_max 32)
    # is 2x cheaper per step but plateaued at 22.5 dB with 10 % dlib detection; 236 k with
    # part_weight 0.5 reached 93 % by step 4310.
    # Upper ends: the official StyleGAN3 sizes (1024 px, w_dim 512, channel_base 65536 and
    # channel_max 1024 of config R, 14 layers, 8 mapping layers at most in StyleGAN2) with room.
    resolution: int = _setting(128, "image size in pixels, a power of two", 16, 1024)
    w_dim: int = _setting(64, "width of W", 1, 1024)
    channel_base: int = _setting(2048, "channel budget of the synthesis network", 1, 65536)
    channel_max: int = _setting(64, "most channels of a synthesis layer", 1, 1024)
    num_layers: int = _setting(8, "synthesis layers; num_ws = num_layers + 2", 3, 20)
    mapping_layers: int = _setting(2, "layers of the mapping network", 1, 8)
    mapping_lr_multiplier: float = _setting(1.0, "learning-rate multiplier of the mapping network", 1e-4, 10.0)
    batch: int = _setting(8, "images per step", 1, 256)
    # The weights are stored at a scale of about 1 (equalised learning rate) and Adam moves each by about
    # lr a step: below 1e-8 that is under their float32 spacing (1.2e-7 at 1), nothing would move; above
    # 1 one step is as large as the weights themselves.
    lr: float = _setting(0.015, "Adam learning rate", 1e-8, 1.0)
    lr_warmup_steps: int = _setting(100, None, 0, None)
    lr_half_life_steps: int = _setting(20000, "steps over which the learning rate halves", 1, None)
    lr_min_fraction: float = _setting(0.05, None, 0.0, 1.0)
    betas: tuple = (0.9, 0.99)
    loss: str = field(default="l1+gradient",
                      metadata={"help": "distillation loss: l1+gradient, l1+msssim or l1"})
    # Weight of an extra L1 (values and finite differences) averaged over the facial-feature pixels
    # only, so that eyes, brows, nose and mouth count as much as their few per cent of the image
    # would not let them (0 = off). Run v4 with 0.5 drew eyes and mouths from step 1500 on; v3
    # without it (and with the smaller network) never did (docs/synthetic.md).
    part_weight: float = _setting(0.5, "weight of the extra L1 over eyes, brows, nose and mouth; 0 = off", 0.0, 10.0)
    # 0 makes G_ema a copy of G; at 1000 (a million images) it would barely move in any run this trainer makes.
    ema_kimg: float = _setting(2.0, "half-life of the EMA generator in thousands of images; 0 = no averaging",
                               0.0, 1000.0)
    ema_rampup: float = _setting(0.05, None, 0.0, 1.0)
    seed: int = _setting(0, "seed of the initial weights and of the training data", 0, 2**32 - 1)
    # Held-out renders are drawn once and kept (with their grid row) for the whole run.
    heldout: int = _setting(8, "held-out renders in the sample grids and the logged PSNR", 1, 64)
    # Start from another run's weights (its folder: the latest checkpoint; or one checkpoints/step-N
    # folder) instead of random ones; the architecture must match. Adam and the schedule start afresh.
    init_from: str | None = field(default=None, metadata={
        "help": "start from the weights of another run (folder), checkpoint (checkpoints/step-N) or "
                "exported network (.safetensors)"})

    def __post_init__(self):
        problems = []
        for f in fields(self):
            if "range" not in f.metadata:
                continue
            value, (low, high) = getattr(self, f.name), f.metadata["range"]
            integer = f.type in (int, "int")
            if isinstance(value, bool) or not isinstance(value, numbers.Integral if integer else numbers.Real):
                problems.append(f"{f.name} must be {'an integer' if integer else 'a number'}, got {value!r}")
            elif not math.isfinite(value) or value < low or (high is not None and value > high):
                where = f"from {low} to {high}" if high is not None else f"of at least {low}"
                problems.append(f"{f.name} must be {'an integer' if integer else 'a finite number'} {where}, got {value!r}")
            else:
                setattr(self, f.name, int(value) if integer else float(value))
        try:
            betas = tuple(float(b) for b in self.betas)
        except (TypeError, ValueError):
            betas = ()
        if len(betas) != 2 or not all(0 <= b < 1 for b in betas):  # (nan fails 0 <= b)
            problems.append(f"betas must be two numbers from 0 to below 1 (Adam's), got {self.betas!r}")
        else:
            self.betas = betas
        if isinstance(self.resolution, int) and self.resolution & (self.resolution - 1):
            problems.append(f"resolution must be a power of two >= 16, got {self.resolution}")
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        if problems:
            raise InvalidOptionError("invalid training config: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InvalidOptionError(f"unknown training config keys: {', '.join(unknown)}.")
        return cls(**d)

    def generator_kwargs(self) -> dict:
        return dict(
            z_dim=Z_DIM, c_dim=0, w_dim=self.w_dim, img_resolution=self.resolution, img_channels=3,
            channel_base=self.channel_base, channel_max=self.channel_max, num_layers=self.num_layers,
            mapping_kwargs=dict(num_layers=self.mapping_layers, lr_multiplier=self.mapping_lr_multiplier),
        )

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then exponential decay (half-life in steps) down to a floor."""
        warm = min(1.0, (step + 1) / max(self.lr_warmup_steps, 1))
        decay = max(self.lr_min_fraction, 0.5 ** (step / self.lr_half_life_steps))
        return self.lr * warm * decay

    def ema_beta(self, step: int) -> float:
        """Per-step EMA decay: half-life of ``ema_kimg`` thousand images, ramped up early in training."""
        nimg = self.ema_kimg * 1000
        if self.ema_rampup > 0:
            nimg = min(nimg, (step + 1) * self.batch * self.ema_rampup)
        return 0.5 ** (self.batch / max(nimg, 1e-8))


def build_generator(config: TrainConfig):
    from video2stylegan.networks.stylegan3 import Generator

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return Generator(**config.generator_kwargs())


# ---------------------------------------------------------------------------
# loss


def distillation_loss(
    x: torch.Tensor, y: torch.Tensor, kind: str, features: torch.Tensor | None = None, part_weight: float = 0.0
) -> tuple[torch.Tensor, dict]:
    """Mean loss over the batch and its parts (floats) for images in [-1, 1].

    ``features`` ``[B, 1, H, W]`` (coverage of eyes, brows, nose and mouth) with
    ``part_weight > 0`` adds ``part_weight`` times :func:`feature_l1`.
    """
    from video2stylegan.method.losses import gradient_pyramid_loss, ms_ssim

    l1 = (x - y).abs().flatten(1).mean(1).mean()
    parts = {"l1": l1}
    total = l1
    if kind == "l1+msssim":
        parts["msssim"] = ms_ssim(x, y).mean()
        total = total + (1 - parts["msssim"])
    elif kind == "l1+gradient":
        parts["gradient"] = gradient_pyramid_loss(x, y).mean()
        total = total + parts["gradient"]
    if part_weight > 0 and features is not None:
        parts["features"] = feature_l1(x, y, features)
        total = total + part_weight * parts["features"]
    parts = {k: float(v.detach()) for k, v in parts.items()}
    return total, parts


def feature_l1(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """L1 of the values plus L1 of the horizontal/vertical differences, each averaged over ``weight`` ``[B, 1, H, W]``.

    Per image, so a small eye counts as much as a large one; images without
    any weight contribute zero.
    """
    def weighted_mean(err: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return (err * w).flatten(1).sum(1) / (w.flatten(1).sum(1) * err.shape[1] + 1e-6)

    diff = x - y
    values = weighted_mean(diff.abs(), weight)
    dx = weighted_mean((diff[..., :, 1:] - diff[..., :, :-1]).abs(), torch.minimum(weight[..., :, 1:], weight[..., :, :-1]))
    dy = weighted_mean((diff[..., 1:, :] - diff[..., :-1, :]).abs(), torch.minimum(weight[..., 1:, :], weight[..., :-1, :]))
    return (values + dx + dy).mean()


# ---------------------------------------------------------------------------
# run directory and checkpoints


class Run:
    """Paths of a run directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    config = property(lambda self: self.root / "config.json")
    log = property(lambda self: self.root / "log.jsonl")
    grids = property(lambda self: self.root / "grids")
    checkpoints = property(lambda self: self.root / "checkpoints")
    latest_file = property(lambda self: self.root / "checkpoints" / "latest")

    def latest(self) -> Path | None:
        """The newest complete checkpoint directory, or None."""
        if not self.latest_file.is_file():
            return None
        path = self.checkpoints / self.latest_file.read_text().strip()
        if not (path / "state.pt").is_file():
            raise CheckpointError(
                f"{self.latest_file} points at {path}, which has no state.pt; the run directory is damaged "
                f"(point 'latest' at another checkpoints/step-* folder, or start a new --run)"
            )
        return path


def _write_text(path: Path, text: str) -> None:
    with atomic_output(path, what="file", error=CheckpointError) as tmp:
        tmp.write_text(text)


def _optimizer_tensors(opt):
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            yield f"optimizer.state[{index}].{key}", value


def _describe(names: list[str]) -> str:
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _latest_name(run: Run) -> str:
    """The checkpoint ``latest`` names (for messages), or a note that there is none yet."""
    try:
        return str(run.checkpoints / run.latest_file.read_text().strip())
    except OSError:
        return "none yet"


def save_checkpoint(run: Run, step: int, G, G_ema, opt) -> Path:
    """Write checkpoint ``step`` (a fresh folder), then point ``latest`` at it; keep the newest two.

    Refuses (:class:`GenerationError`, before touching the disk) when any weight, buffer or optimiser
    state holds nan or inf: a checkpoint is only ever written whole and finite, so the previous one
    stays the run's latest.
    """
    from video2stylegan.networks.checkpoint import save_generator

    bad = non_finite_tensors([*(("G." + k, v) for k, v in G.state_dict().items()),
                              *(("G_ema." + k, v) for k, v in G_ema.state_dict().items()),
                              *_optimizer_tensors(opt)])
    if bad:
        raise GenerationError(
            f"checkpoint step {step} of {run.root} not written: {_describe(bad)} hold nan or inf. The last good "
            f"checkpoint ({_latest_name(run)}) is kept; start a new run from it with --init-from and a smaller --lr."
        )
    folder = run.checkpoints / f"step-{step:08d}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    extra = {"step": step, "trainer": "video2stylegan.synthetic.training"}
    save_generator(G, folder / "G.safetensors", torch.float32, extra)
    save_generator(G_ema, folder / "G_ema.safetensors", torch.float32, extra)
    state = {"step": step, "optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state()}
    with atomic_output(folder / "state.pt", what="checkpoint", error=CheckpointError) as tmp:
        torch.save(state, tmp)
    _write_text(run.latest_file, folder.name + "\n")
    old = sorted(p for p in run.checkpoints.glob("step-*") if p.is_dir() and p != folder)
    for stale in old[: max(len(old) - (CHECKPOINT_KEEP - 1), 0)]:
        shutil.rmtree(stale, ignore_errors=True)
    return folder


def _load_weights(module, path: Path) -> None:
    from safetensors.torch import load_file

    try:
        state = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path}: cannot read the weights ({exc}); the checkpoint is damaged") from None
    try:
        missing, unexpected = module.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a tensor of another shape
        raise CheckpointError(f"{path}: does not match the run's config ({str(exc).splitlines()[-1].strip()})") from None
    if missing or unexpected:
        raise CheckpointError(f"{path}: does not match the run's config (missing {missing[:3]}, unexpected {unexpected[:3]})")


def load_checkpoint(folder: Path, G, G_ema, opt) -> int:
    """Restore G, G_ema, the optimiser and the RNG from a checkpoint folder; return its step."""
    _load_weights(G, folder / "G.safetensors")
    _load_weights(G_ema, folder / "G_ema.safetensors")
    try:
        state = torch.load(folder / "state.pt", map_location="cpu", weights_only=True)
        opt.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["torch_rng"])
        return int(state["step"])
    except (OSError, KeyError, RuntimeError, ValueError) as exc:
        raise CheckpointError(f"{folder / 'state.pt'}: cannot restore the training state ({exc})") from None


def init_checkpoint(path: str | Path) -> Path:
    """The checkpoint folder ``init_from`` names: a run folder's latest checkpoint, or a ``step-N``
    folder; or a network file (``.safetensors``, e.g. the shipped ``synthetic-heads-128`` exported by
    :func:`export_generator`), whose weights then start both the trained and the EMA generator."""
    path = Path(path)
    if path.suffix == ".safetensors" and path.is_file():
        return path
    if (path / "G.safetensors").is_file() and (path / "G_ema.safetensors").is_file():
        return path
    latest = Run(path).latest() if path.is_dir() else None
    if latest is None:
        raise CheckpointError(
            f"init_from {path}: neither a train-synthetic run folder with a checkpoint, a checkpoints/step-N folder, "
            "nor a .safetensors network file"
        )
    return latest


def read_run_config(run: Run) -> TrainConfig:
    try:
        return TrainConfig.from_dict(json.loads(run.config.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{run.config}: cannot read the run's config ({exc})") from None


# ---------------------------------------------------------------------------
# evaluation and grids


@torch.no_grad()
def heldout_set(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed held-out latents, their renders and feature coverage (disjoint stream from training)."""
    return sample_batch(range(config.heldout), config.resolution, config.seed, HELDOUT_STREAM, features=True)


@torch.no_grad()
def evaluate(G, z: torch.Tensor, targets: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Mean PSNR (dB) of ``G(z)`` against the renders, and the images."""
    from video2stylegan.method.losses import psnr

    G.eval()
    images = torch.cat([G(z[i : i + 4]) for i in range(0, len(z), 4)])
    return float(psnr(images.clamp(-1, 1), targets).mean()), images


def feature_psnr(images: torch.Tensor, targets: torch.Tensor, features: torch.Tensor) -> float:
    """Mean PSNR (dB) over the facial-feature pixels only (eyes, brows, nose, mouth)."""
    from video2stylegan.method.losses import psnr

    return float(psnr(images.clamp(-1, 1), targets, features).mean())


def write_grid(path: Path, targets: torch.Tensor, images: torch.Tensor) -> Path:
    """PNG with the renders in the top row and the generated images below."""
    from video2stylegan.io.images import write_image

    rows = []
    for row in (targets, images):
        row = ((row.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        rows.append(torch.cat(list(row.cpu()), dim=2))
    grid = torch.cat(rows, dim=1).permute(1, 2, 0).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, grid)


# ---------------------------------------------------------------------------
# training loop


@dataclass
class TrainResult:
    step: int
    stopped: bool  # True when interrupted (SIGTERM/SIGINT) before reaching ``steps``
    checkpoint: Path | None
    heldout_psnr: float | None


class _StopFlag:
    """Turns SIGTERM/SIGINT into a flag checked between steps (main thread only)."""

    def __init__(self, enabled: bool):
        self.set = False
        self._old = {}
        if enabled:
            for sig in (signal.SIGTERM, signal.SIGINT):
                try:
                    self._old[sig] = signal.signal(sig, self._handle)
                except ValueError:  # not the main thread
                    pass

    def _handle(self, signum, frame):
        self.set = True

    def restore(self):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def train_step(
    G, opt, z: torch.Tensor, images: torch.Tensor, config: TrainConfig, lr: float, features: torch.Tensor | None = None
) -> tuple[torch.Tensor, dict]:
    """One optimiser step of ``G`` towards the renders at learning rate ``lr``; returns the loss and its parts.

    ``features``: the renders' facial-feature coverage, used when ``config.part_weight > 0``.
    """
    for group in opt.param_groups:
        group["lr"] = lr
    G.train()
    ws = G.mapping(z, update_emas=True)
    loss, parts = distillation_loss(G.synthesis(ws, update_emas=True), images, config.loss, features, config.part_weight)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss, parts


def _diverged(run: Run, step: int, what: str, detail: str) -> None:
    """Stop training: step ``step`` (counted from 1, as in the log and checkpoint names) made ``what`` non-finite."""
    raise GenerationError(
        f"training of {run.root} stopped at step {step}: the {what} became nan or inf ({detail}). "
        f"Nothing of this step was written; the last good checkpoint ({_latest_name(run)}) is intact. Start a new "
        "run from it with --init-from and a smaller --lr (a resumed run keeps its config)."
    )


def train(
    run_dir: str | Path,
    steps: int,
    config: TrainConfig | None = None,
    resume: bool = False,
    workers: int = 1,
    log_every: int = 10,
    grid_every: int = 200,
    checkpoint_every: int = 500,
    checkpoint_minutes: float = 10.0,
    progress: bool = True,
    handle_signals: bool = True,
    device: str | torch.device = "cpu",
) -> TrainResult:
    """Train until ``steps`` steps are done (counted from the start of the run), checkpointing on the way.

    ``device`` runs the networks there (``"auto"``: CUDA when available);
    rendering stays on the CPU workers. Checkpoints do not depend on the
    device, so a run can move between CPU and GPU across resumes (the
    bit-exact resume guarantee holds on one device).

    A new run needs ``config`` (default :class:`TrainConfig`) and a run folder
    without checkpoints; ``resume=True`` continues from the latest checkpoint
    with the saved config (``config`` must then be None or equal to it).
    SIGTERM and Ctrl-C finish the current step, write a checkpoint and return.

    The first step whose loss, or after which any weight or buffer of G or G_ema, is nan or inf raises
    :class:`GenerationError` naming the step; nothing of that step is written, so the last checkpoint
    on disk stays the run's latest (checkpoints are checked again before they are written).
    """
    from tqdm import tqdm

    from video2stylegan.networks.loading import resolve_device

    run = Run(run_dir)
    device = resolve_device(device)
    if steps < 0:
        raise InvalidOptionError(f"steps must be >= 0, got {steps}.")
    for name, value in (("log_every", log_every), ("grid_every", grid_every), ("checkpoint_every", checkpoint_every)):
        if value < 1:
            raise InvalidOptionError(f"{name} must be at least 1, got {value}.")
    if workers < 0:
        raise InvalidOptionError(f"workers must be >= 0, got {workers}.")
    latest = run.latest() if run.root.exists() else None
    if resume:
        if latest is None:
            raise CheckpointError(f"cannot resume: {run.root} has no checkpoint (checkpoints/latest); start it without --resume")
        saved = read_run_config(run)
        if config is not None and config.to_dict() != saved.to_dict():
            raise InvalidOptionError(f"{run.root} was started with another config; resume it without changing the settings")
        config = saved
    else:
        if latest is not None:
            raise InvalidOptionError(f"{run.root} already holds checkpoints; pass --resume to continue it, or choose another --run folder")
        config = config or TrainConfig()
        run.root.mkdir(parents=True, exist_ok=True)
        _write_text(run.config, json.dumps(config.to_dict(), indent=2) + "\n")

    G = build_generator(config).to(device).train()
    G_ema = copy.deepcopy(G).eval().requires_grad_(False)
    opt = torch.optim.Adam(G.parameters(), lr=config.lr, betas=config.betas, eps=1e-8)
    step = load_checkpoint(latest, G, G_ema, opt) if resume else 0
    if not resume and config.init_from:
        source = init_checkpoint(config.init_from)
        if source.is_file():  # an exported network: its (EMA) weights start both
            _load_weights(G, source)
            _load_weights(G_ema, source)
        else:
            _load_weights(G, source / "G.safetensors")
            _load_weights(G_ema, source / "G_ema.safetensors")
    heldout_z, heldout_images, heldout_features = (t.to(device) for t in heldout_set(config))

    stream = _BatchStream(step, max(steps, step), config.batch, config.resolution, config.seed)
    loader = torch.utils.data.DataLoader(
        stream, batch_size=None, num_workers=workers, prefetch_factor=4 if workers else None,
        persistent_workers=False,
    )
    stop = _StopFlag(handle_signals)
    last_ckpt_time = time.monotonic()
    checkpoint = latest if resume else None
    psnr_value = None
    bar = tqdm(total=steps, initial=step, desc="train-synthetic", unit="step", disable=not progress, dynamic_ncols=True)
    t_last = time.monotonic()
    try:
        for z, images, features in loader:
            if stop.set:
                break
            z, images, features = (t.to(device, non_blocking=True) for t in (z, images, features))
            lr = config.lr_at(step)
            loss, parts = train_step(G, opt, z, images, config, lr, features)
            if not math.isfinite(loss.item()):
                _diverged(run, step + 1, "loss", ", ".join([f"{k} {v:g}" for k, v in parts.items()] + [f"lr {lr:g}"]))
            with torch.no_grad():
                beta = config.ema_beta(step)
                for p_ema, p in zip(G_ema.parameters(), G.parameters()):
                    p_ema.lerp_(p.detach(), 1 - beta)
                for b_ema, b in zip(G_ema.buffers(), G.buffers()):
                    b_ema.copy_(b)
            bad = non_finite_tensors([*(("G." + k, v) for k, v in G.named_parameters()),
                                      *(("G." + k, v) for k, v in G.named_buffers()),
                                      *(("G_ema." + k, v) for k, v in G_ema.named_parameters())])
            if bad:
                _diverged(run, step + 1, "weights", f"{_describe(bad)}; lr {lr:g}, EMA beta {beta:g}")
            step += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            record = None
            if step % log_every == 0 or step == steps:
                now = time.monotonic()
                record = {"step": step, "images": step * config.batch, "loss": loss.item(), **parts, "lr": lr,
                          "sec_per_step": (now - t_last) / log_every, "time": time.time()}
                t_last = now
            if step % grid_every == 0 or step == steps:
                psnr_value, generated = evaluate(G_ema, heldout_z, heldout_images)
                write_grid(run.grids / f"step-{step:08d}.png", heldout_images, generated)
                record = record or {"step": step, "time": time.time()}
                record["heldout_psnr_ema"] = psnr_value
                record["heldout_feature_psnr_ema"] = feature_psnr(generated, heldout_images, heldout_features)
            if record is not None:
                with open(run.log, "a") as handle:
                    handle.write(json.dumps(record) + "\n")
            due = step % checkpoint_every == 0 or time.monotonic() - last_ckpt_time > checkpoint_minutes * 60
            if due or step == steps:
                checkpoint = save_checkpoint(run, step, G, G_ema, opt)
                last_ckpt_time = time.monotonic()
            if stop.set:
                break
    finally:
        bar.close()
        stop.restore()
    stopped = step < steps
    if stopped and (checkpoint is None or checkpoint.name != f"step-{step:08d}"):
        checkpoint = save_checkpoint(run, step, G, G_ema, opt)
    return TrainResult(step=step, stopped=stopped, checkpoint=checkpoint, heldout_psnr=psnr_value)


# ---------------------------------------------------------------------------
# export


@torch.no_grad()
def compute_w_avg(G, samples: int = 10000, seed: int = 0) -> torch.Tensor:
    """Mean of ``mapping(z)`` over ``samples`` latents from N(0, I)."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    done = 0
    while done < samples:
        n = min(1000, samples - done)
        z = torch.randn(n, G.z_dim, generator=gen)
        total += G.mapping(z)[:, 0].double().sum(0)
        done += n
    return (total / samples).float()


def export_generator(run_dir: str | Path, out: str | Path, w_avg_samples: int = 10000, dtype: torch.dtype = torch.float16) -> Path:
    """Write the run's latest ``G_ema`` to ``out`` (``.safetensors``, float16 by default) with ``w_avg`` set."""
    from video2stylegan.networks.checkpoint import read_config, save_generator

    out = Path(out)
    if out.suffix != ".safetensors":
        raise InvalidOptionError(f"the exported network must be a .safetensors file, got {out}.")
    check_output(out, {"run_dir": run_dir}, what="out")
    run = Run(run_dir)
    latest = run.latest() if run.root.exists() else None
    if latest is None:
        raise CheckpointError(f"{run.root} has no checkpoint to export; train it first (video2stylegan train-synthetic --run {run.root})")
    config = read_run_config(run)
    G = build_generator(config).eval().requires_grad_(False)
    _load_weights(G, latest / "G_ema.safetensors")
    G.mapping.w_avg.copy_(compute_w_avg(G, w_avg_samples))
    step = read_config(latest / "G_ema.safetensors").get("extra", {}).get("step")
    extra = {"trained_by": "video2stylegan train-synthetic", "step": step, "training_config": config.to_dict(),
             "z_meaning": "z_to_params in video2stylegan.synthetic.training"}
    return save_generator(G, out, dtype, extra)

