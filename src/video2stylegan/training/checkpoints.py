"""A run folder and its checkpoints: the generator a config builds, saving, restoring, starting from another run.

A run folder holds ``config.json``, ``log.jsonl`` (one JSON line per logged
step), ``grids/`` (sample grids: held-out renders above the EMA generator's
images for the same ``z``) and ``checkpoints/step-XXXXXXXX/`` with
``G.safetensors``, ``G_ema.safetensors`` and ``state.pt`` (optimiser state,
step and RNG state, plain tensors loadable with ``torch.load(weights_only=True)``).
``checkpoints/latest`` names the newest complete checkpoint.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

from video2stylegan.errors import CheckpointError, GenerationError
from video2stylegan.io.atomic import atomic_output
from video2stylegan.networks.checkpoint import save_generator
from video2stylegan.networks.state import non_finite_tensors
from video2stylegan.networks.stylegan3 import Generator
from video2stylegan.training.config import TrainConfig

#: Checkpoints kept in a run folder (the newest ones).
CHECKPOINT_KEEP = 2
#: What a checkpoint's metadata names as the code that wrote it.
TRAINER = "video2stylegan.training"


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

    def latest_name(self) -> str:
        """The checkpoint ``latest`` names (for messages), or a note that there is none yet."""
        try:
            return str(self.checkpoints / self.latest_file.read_text().strip())
        except OSError:
            return "none yet"


def build_generator(config: TrainConfig) -> Generator:
    """The untrained generator of ``config``: the same weights for the same seed, the caller's RNG untouched."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        return Generator(**config.generator_kwargs())


def write_text(path: Path, text: str) -> None:
    """Write a small file of the run atomically."""
    with atomic_output(path, what="file", error=CheckpointError) as tmp:
        tmp.write_text(text)


def read_run_config(run: Run) -> TrainConfig:
    try:
        return TrainConfig.from_dict(json.loads(run.config.read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise CheckpointError(f"{run.config}: cannot read the run's config ({exc})") from None


def _optimizer_tensors(opt):
    for index, state in opt.state_dict()["state"].items():
        for key, value in state.items():
            yield f"optimizer.state[{index}].{key}", value


def describe_names(names: list[str]) -> str:
    """The first three names and how many more (for messages)."""
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def save_checkpoint(run: Run, step: int, G, G_ema, opt) -> Path:
    """Write checkpoint ``step`` (a fresh folder), then point ``latest`` at it; keep the newest two.

    Refuses (:class:`GenerationError`, before touching the disk) when any weight, buffer or optimiser
    state holds nan or inf: a checkpoint is only ever written whole and finite, so the previous one
    stays the run's latest.
    """
    bad = non_finite_tensors([*(("G." + k, v) for k, v in G.state_dict().items()),
                              *(("G_ema." + k, v) for k, v in G_ema.state_dict().items()),
                              *_optimizer_tensors(opt)])
    if bad:
        raise GenerationError(
            f"checkpoint step {step} of {run.root} not written: {describe_names(bad)} hold nan or inf. The last good "
            f"checkpoint ({run.latest_name()}) is kept; start a new run from it with --init-from and a smaller --lr."
        )
    folder = run.checkpoints / f"step-{step:08d}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    extra = {"step": step, "trainer": TRAINER}
    save_generator(G, folder / "G.safetensors", torch.float32, extra)
    save_generator(G_ema, folder / "G_ema.safetensors", torch.float32, extra)
    state = {"step": step, "optimizer": opt.state_dict(), "torch_rng": torch.get_rng_state()}
    with atomic_output(folder / "state.pt", what="checkpoint", error=CheckpointError) as tmp:
        torch.save(state, tmp)
    write_text(run.latest_file, folder.name + "\n")
    old = sorted(p for p in run.checkpoints.glob("step-*") if p.is_dir() and p != folder)
    for stale in old[: max(len(old) - (CHECKPOINT_KEEP - 1), 0)]:
        shutil.rmtree(stale, ignore_errors=True)
    return folder


def load_weights(module, path: Path) -> None:
    """Load the tensors of a ``.safetensors`` file into ``module``, which must match them exactly."""
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
    load_weights(G, folder / "G.safetensors")
    load_weights(G_ema, folder / "G_ema.safetensors")
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
    :func:`~video2stylegan.training.export.export_generator`), whose weights then start both the trained
    and the EMA generator."""
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


def start_from(source: Path, G, G_ema) -> None:
    """Load the weights :func:`init_checkpoint` found into both generators."""
    if source.is_file():  # an exported network: its (EMA) weights start both
        load_weights(G, source)
        load_weights(G_ema, source)
    else:
        load_weights(G, source / "G.safetensors")
        load_weights(G_ema, source / "G_ema.safetensors")
