"""Train a small StyleGAN3 on the procedural head renderer (``video2stylegan train-synthetic``).

The network is our own :class:`~video2stylegan.networks.stylegan3.Generator`
(mapping network, Fourier input, modulated alias-free layers), trained by
supervised distillation of the renderer: a latent ``z`` (one entry per renderer
parameter, :mod:`video2stylegan.training.latents`) is decoded into head
parameters and rendered; the generator learns ``G(z) ~= render``.

:func:`train` runs the loop: the run's settings are a :class:`TrainConfig`
(fixed for the life of the run), how this call runs them (workers, logging,
checkpoint intervals, device) a :class:`TrainOptions`; the run folder and its
checkpoints are described in :mod:`video2stylegan.training.checkpoints`.
Training data are a pure function of (seed, step), so resuming gives the same
weights as an uninterrupted run.
"""

from __future__ import annotations

import copy
import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from video2stylegan.errors import CheckpointError, GenerationError, InvalidOptionError
from video2stylegan.networks.loading import resolve_device
from video2stylegan.networks.state import non_finite_tensors
from video2stylegan.training.checkpoints import (
    Run,
    build_generator,
    describe_names,
    init_checkpoint,
    load_checkpoint,
    read_run_config,
    save_checkpoint,
    start_from,
    write_text,
)
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.data import BatchStream, heldout_set
from video2stylegan.training.figures import write_grid
from video2stylegan.training.losses import distillation_loss, evaluate, feature_psnr


@dataclass(frozen=True)
class TrainOptions:
    """How one call of :func:`train` runs (not part of the run: a resumed run may change them).

    ``workers``: DataLoader processes rendering the data (0: in this process); ``log_every``,
    ``grid_every``, ``checkpoint_every``: steps between log lines, sample grids and checkpoints;
    ``checkpoint_minutes``: also checkpoint after this long; ``progress``: a progress bar;
    ``handle_signals``: SIGTERM and Ctrl-C finish the step and checkpoint (main thread only);
    ``device``: where the networks run (``"auto"``: CUDA when available); renders stay on the CPU.
    """

    workers: int = 1
    log_every: int = 10
    grid_every: int = 200
    checkpoint_every: int = 500
    checkpoint_minutes: float = 10.0
    progress: bool = True
    handle_signals: bool = True
    device: str | torch.device = "cpu"

    def __post_init__(self):
        for name in ("log_every", "grid_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise InvalidOptionError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if self.workers < 0:
            raise InvalidOptionError(f"workers must be >= 0, got {self.workers}.")


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
        f"Nothing of this step was written; the last good checkpoint ({run.latest_name()}) is intact. Start a new "
        "run from it with --init-from and a smaller --lr (a resumed run keeps its config)."
    )


def _run_config(run: Run, config: TrainConfig | None, resume: bool, latest: Path | None) -> TrainConfig:
    """The config of the run: the saved one when resuming, else ``config`` (written as the run's ``config.json``)."""
    if resume:
        if latest is None:
            raise CheckpointError(f"cannot resume: {run.root} has no checkpoint (checkpoints/latest); start it without --resume")
        saved = read_run_config(run)
        if config is not None and config.to_dict() != saved.to_dict():
            raise InvalidOptionError(f"{run.root} was started with another config; resume it without changing the settings")
        return saved
    if latest is not None:
        raise InvalidOptionError(f"{run.root} already holds checkpoints; pass --resume to continue it, or choose another --run folder")
    config = config or TrainConfig()
    run.root.mkdir(parents=True, exist_ok=True)
    write_text(run.config, json.dumps(config.to_dict(), indent=2) + "\n")
    return config


class _Session:
    """One call of :func:`train`: the networks, the optimiser, the held-out set, and where the run stands."""

    def __init__(self, run: Run, config: TrainConfig, options: TrainOptions, steps: int, device: torch.device):
        self.run, self.config, self.options, self.steps, self.device = run, config, options, steps, device
        self.G = build_generator(config).to(device).train()
        self.G_ema = copy.deepcopy(self.G).eval().requires_grad_(False)
        self.opt = torch.optim.Adam(self.G.parameters(), lr=config.lr, betas=config.betas, eps=1e-8)
        self.step = 0
        self.checkpoint: Path | None = None
        self.psnr: float | None = None
        self.last_log_time = self.last_checkpoint_time = time.monotonic()

    def start(self, resume_from: Path | None) -> None:
        """Resume from a checkpoint, or start from ``config.init_from``'s weights where it names any."""
        if resume_from is not None:
            self.step = load_checkpoint(resume_from, self.G, self.G_ema, self.opt)
            self.checkpoint = resume_from
        elif self.config.init_from:
            start_from(init_checkpoint(self.config.init_from), self.G, self.G_ema)
        self.heldout = tuple(t.to(self.device) for t in heldout_set(self.config))

    def loader(self) -> torch.utils.data.DataLoader:
        stream = BatchStream(self.step, max(self.steps, self.step), self.config.batch, self.config.resolution,
                             self.config.seed)
        workers = self.options.workers
        return torch.utils.data.DataLoader(stream, batch_size=None, num_workers=workers,
                                           prefetch_factor=4 if workers else None, persistent_workers=False)

    def learn(self, z: torch.Tensor, images: torch.Tensor, features: torch.Tensor) -> tuple[torch.Tensor, dict, float]:
        """One step on a batch and the EMA update; nothing of a step that goes non-finite is kept on disk."""
        z, images, features = (t.to(self.device, non_blocking=True) for t in (z, images, features))
        lr = self.config.lr_at(self.step)
        loss, parts = train_step(self.G, self.opt, z, images, self.config, lr, features)
        if not math.isfinite(loss.item()):
            _diverged(self.run, self.step + 1, "loss", ", ".join([f"{k} {v:g}" for k, v in parts.items()] + [f"lr {lr:g}"]))
        with torch.no_grad():
            beta = self.config.ema_beta(self.step)
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.lerp_(p.detach(), 1 - beta)
            for b_ema, b in zip(self.G_ema.buffers(), self.G.buffers()):
                b_ema.copy_(b)
        bad = non_finite_tensors([*(("G." + k, v) for k, v in self.G.named_parameters()),
                                  *(("G." + k, v) for k, v in self.G.named_buffers()),
                                  *(("G_ema." + k, v) for k, v in self.G_ema.named_parameters())])
        if bad:
            _diverged(self.run, self.step + 1, "weights", f"{describe_names(bad)}; lr {lr:g}, EMA beta {beta:g}")
        self.step += 1
        return loss, parts, lr

    def record(self, loss: torch.Tensor, parts: dict, lr: float) -> None:
        """The log line of this step and the held-out grid and scores, where they are due."""
        step, steps, options = self.step, self.steps, self.options
        record = None
        if step % options.log_every == 0 or step == steps:
            now = time.monotonic()
            record = {"step": step, "images": step * self.config.batch, "loss": loss.item(), **parts, "lr": lr,
                      "sec_per_step": (now - self.last_log_time) / options.log_every, "time": time.time()}
            self.last_log_time = now
        if step % options.grid_every == 0 or step == steps:
            heldout_z, heldout_images, heldout_features = self.heldout
            self.psnr, generated = evaluate(self.G_ema, heldout_z, heldout_images)
            write_grid(self.run.grids / f"step-{step:08d}.png", heldout_images, generated)
            record = record or {"step": step, "time": time.time()}
            record["heldout_psnr_ema"] = self.psnr
            record["heldout_feature_psnr_ema"] = feature_psnr(generated, heldout_images, heldout_features)
        if record is not None:
            with open(self.run.log, "a") as handle:
                handle.write(json.dumps(record) + "\n")

    def save_if_due(self) -> None:
        options = self.options
        overdue = time.monotonic() - self.last_checkpoint_time > options.checkpoint_minutes * 60
        if self.step % options.checkpoint_every == 0 or overdue or self.step == self.steps:
            self.save()

    def save(self) -> None:
        self.checkpoint = save_checkpoint(self.run, self.step, self.G, self.G_ema, self.opt)
        self.last_checkpoint_time = time.monotonic()


def train(
    run_dir: str | Path,
    steps: int,
    config: TrainConfig | None = None,
    resume: bool = False,
    options: TrainOptions = TrainOptions(),
) -> TrainResult:
    """Train until ``steps`` steps are done (counted from the start of the run), checkpointing on the way.

    ``options.device`` runs the networks there; rendering stays on the CPU
    workers. Checkpoints do not depend on the device, so a run can move
    between CPU and GPU across resumes (the bit-exact resume guarantee holds
    on one device).

    A new run needs ``config`` (default :class:`TrainConfig`) and a run folder
    without checkpoints; ``resume=True`` continues from the latest checkpoint
    with the saved config (``config`` must then be None or equal to it).
    SIGTERM and Ctrl-C finish the current step, write a checkpoint and return.

    The first step whose loss, or after which any weight or buffer of G or G_ema, is nan or inf raises
    :class:`GenerationError` naming the step; nothing of that step is written, so the last checkpoint
    on disk stays the run's latest (checkpoints are checked again before they are written).
    """
    run = Run(run_dir)
    device = resolve_device(options.device)
    if steps < 0:
        raise InvalidOptionError(f"steps must be >= 0, got {steps}.")
    latest = run.latest() if run.root.exists() else None
    config = _run_config(run, config, resume, latest)
    session = _Session(run, config, options, steps, device)
    session.start(latest if resume else None)
    loader = session.loader()
    stop = _StopFlag(options.handle_signals)
    bar = tqdm(total=steps, initial=session.step, desc="train-synthetic", unit="step", disable=not options.progress,
               dynamic_ncols=True)
    try:
        for z, images, features in loader:
            if stop.set:
                break
            loss, parts, lr = session.learn(z, images, features)
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            session.record(loss, parts, lr)
            session.save_if_due()
            if stop.set:
                break
    finally:
        bar.close()
        stop.restore()
    stopped = session.step < steps
    if stopped and (session.checkpoint is None or session.checkpoint.name != f"step-{session.step:08d}"):
        session.save()
    return TrainResult(step=session.step, stopped=stopped, checkpoint=session.checkpoint, heldout_psnr=session.psnr)
