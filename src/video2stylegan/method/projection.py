"""Projection of images into StyleGAN3's W+ space by optimisation (method.md, section 0).

``project_image`` starts from ``w_avg`` (or from given ``init_ws``) and runs
Adam on all style vectors (W+; or on one shared w when ``w_plus=False``) to
minimise

    perceptual_weight * perceptual(G(ws), target)
  + pixel_weight * pixel(G(ws), target)            ("mse" or "l1")
  + identity_weight * identity(G(ws), target)      (optional, caller supplied)
  + w_reg_weight * mean ||ws - w_avg||^2           (optional)

with a learning-rate schedule ``lr * rampdown * rampup``: linear warm-up over
the first ``lr_rampup`` fraction of the steps and a cosine ramp-down over the
last ``lr_rampdown`` fraction (the schedule of the StyleGAN2/3 projectors).
StyleGAN3 has no per-layer noise inputs, so the projection is noise-free by
construction: the only variables are the ws. Optional exploration noise
added to the ws early on (``init_noise``, decaying to zero over
``noise_ramp`` of the run) is off by default.

Images of a batch are independent: each image's loss is its own and Adam
acts per element, so projecting N images at once equals N separate runs
(our synthesis normalises styles per sample, see docs/networks.md).

``project_frames`` projects a video's aligned frames as :class:`FramesSettings`
says. With ``warm_start`` (default) frame 0 gets ``first`` from ``w_avg`` and
each later chunk of ``batch`` frames starts from the solution of the frame
before it, with the much shorter ``later``; ``batch=1`` (default) is the strict
frame-by-frame chain. Without warm start every frame is a cold start with
``first``, ``batch`` frames at a time. A :class:`ClipCache` (a
:class:`~video2stylegan.method.cache.ProjectionCache` and the clip's keys)
makes reruns free. The frames come as one tensor or from a
:class:`FrameSource`, read one chunk at a time, so a long clip's frames need
not all be in memory.

Defaults: ``ProjectionSettings()`` is a cold start (300 steps at lr 0.1),
``ProjectionSettings.warm()`` a warm start (50 steps at lr 0.02); why, with the
measurements, in ``benchmarks/RESULTS.md`` ("Method stages alone").
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import math
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence, runtime_checkable

import torch
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.losses import perceptual_loss, pixel_loss, tensor_psnr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProjectionSettings:
    """Every knob of one projection run (all go into the cache key via :meth:`to_dict`)."""

    steps: int = 300
    lr: float = 0.1
    lr_rampup: float = 0.05  # fraction of steps with a linear warm-up
    lr_rampdown: float = 0.25  # fraction of steps with a cosine ramp-down to 0
    betas: tuple[float, float] = (0.9, 0.999)
    perceptual_weight: float = 1.0
    pixel_weight: float = 1.0
    pixel_kind: str = "mse"
    identity_weight: float = 0.0  # needs an identity_fn passed to project_image
    w_reg_weight: float = 0.0
    w_plus: bool = True  # optimise all num_ws vectors; False: one w broadcast
    noise_free: bool = True  # StyleGAN3 has no noise inputs; kept for the record / cache key
    init_noise: float = 0.0  # std of exploration noise on ws at step 0, relative to the w spread
    noise_ramp: float = 0.75  # fraction of steps over which that noise decays to 0
    stop_psnr: float | None = None  # stop early once every image reaches this PSNR (dB); ignored with init_noise
    perceptual: str = "auto"  # "auto": LPIPS if available offline, else fallback; "fallback": never LPIPS
    seed: int = 0

    @classmethod
    def warm(cls, **overrides) -> "ProjectionSettings":
        """Defaults for a warm-started frame (initialised from the previous frame's ws)."""
        base = dict(steps=50, lr=0.02, lr_rampup=0.1, lr_rampdown=0.5)
        base.update(overrides)
        return cls(**base)

    def replace(self, **changes) -> "ProjectionSettings":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["betas"] = list(self.betas)
        return d

    def lr_at(self, step: int) -> float:
        """Learning rate at ``step`` (0-based): warm-up, then cosine ramp-down over the last fraction."""
        t = step / max(self.steps, 1)
        ramp = 1.0 if self.lr_rampdown <= 0 else min(1.0, (1.0 - t) / self.lr_rampdown)
        ramp = 0.5 - 0.5 * math.cos(ramp * math.pi)
        if self.lr_rampup > 0:
            ramp *= min(1.0, (step + 1) / (self.lr_rampup * self.steps))
        return self.lr * ramp


@dataclass
class ProjectionResult:
    """``ws`` ``[N, num_ws, w_dim]`` (detached), final per-image ``psnr`` ``[N]``, mean loss per step,
    ``steps_run`` (optimiser steps actually taken), and ``steps_to_psnr`` per image: the first step
    count after which the image reached ``settings.stop_psnr`` (``-1`` if never or not set)."""

    ws: torch.Tensor
    psnr: torch.Tensor
    loss_history: list[float] = field(default_factory=list)
    psnr_history: list[float] = field(default_factory=list)
    steps_run: int = 0
    steps_to_psnr: list[int] = field(default_factory=list)


def _w_spread(G) -> float:
    """Typical per-coordinate std of mapped ws around w_avg (used to scale exploration noise)."""
    with torch.no_grad():
        gen = torch.Generator(device="cpu").manual_seed(123)
        z = torch.randn(256, G.z_dim, generator=gen).to(G.w_avg.device)
        c = None if not getattr(G, "c_dim", 0) else torch.zeros(256, G.c_dim, device=z.device)
        w = G.mapping(z, c)[:, 0]
        return float((w - G.w_avg).square().mean().sqrt())


def _start_codes(G, init_ws: torch.Tensor | None, n: int) -> torch.Tensor:
    """``[n, num_ws, w_dim]`` starting codes: ``w_avg``, or ``init_ws`` (W+ or W, one or ``n``)."""
    device = G.w_avg.device
    if init_ws is None:
        return G.w_avg.detach().to(torch.float32).reshape(1, 1, -1).expand(n, G.num_ws, -1)
    start = init_ws.detach().to(device=device, dtype=torch.float32)
    if start.ndim == 2:
        start = start[:, None].expand(-1, G.num_ws, -1)
    start = start.expand(n, -1, -1) if start.shape[0] == 1 else start
    if tuple(start.shape) != (n, G.num_ws, G.w_dim):
        raise ValueError(f"init_ws must be [N, {G.num_ws}, {G.w_dim}], got {list(init_ws.shape)}")
    return start


def _image_losses(img, target, codes, w_avg, s: ProjectionSettings, loss_fn, identity_fn) -> torch.Tensor:
    """The weighted loss of each image, ``[N]`` (the sum of the module doc's terms)."""
    n = target.shape[0]
    per_image = torch.zeros(n, device=target.device)
    if s.perceptual_weight > 0:
        per_image = per_image + s.perceptual_weight * loss_fn(img, target).reshape(n)
    if s.pixel_weight > 0:
        per_image = per_image + s.pixel_weight * pixel_loss(img, target, s.pixel_kind)
    if s.identity_weight > 0:
        per_image = per_image + s.identity_weight * identity_fn(img, target).reshape(n)
    if s.w_reg_weight > 0:
        per_image = per_image + s.w_reg_weight * (codes - w_avg).square().flatten(1).mean(1)
    return per_image


def _exploration(ws: torch.Tensor, step: int, spread: float, s: ProjectionSettings, gen: torch.Generator):
    """``ws`` plus the decaying exploration noise of step ``step`` (unchanged without noise)."""
    if spread > 0:
        frac = max(0.0, 1.0 - step / max(1.0, s.noise_ramp * s.steps))
        if frac > 0:
            noise = torch.randn(ws.shape, generator=gen).to(ws.device) * (s.init_noise * spread * frac**2)
            ws = ws + noise
    return ws


def _note_reached(reached: list[int], p: torch.Tensor, step: int, stop_psnr: float) -> None:
    """Mark the images whose PSNR ``p`` first reaches ``stop_psnr`` at ``step``."""
    for i in range(len(reached)):
        if reached[i] < 0 and float(p[i]) >= stop_psnr:
            reached[i] = step


def project_image(
    G,
    target: torch.Tensor,
    settings: ProjectionSettings | None = None,
    init_ws: torch.Tensor | None = None,
    progress: bool = True,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    identity_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    desc: str = "projecting",
) -> ProjectionResult:
    """Project ``target`` ``[N, 3, R, R]`` (in [-1, 1], R = G.img_resolution) into W+.

    ``init_ws``: ``[N or 1, num_ws, w_dim]`` start (default ``w_avg``); a 2-D
    ``[N or 1, w_dim]`` is read as W codes and broadcast to all layers.
    ``loss_fn``: perceptual loss ``(x, y) -> [N]`` (default :func:`perceptual_loss`
    per ``settings.perceptual``; pass one to reuse a loaded LPIPS).
    ``identity_fn``: ``(x, y) -> [N]``, used when ``settings.identity_weight > 0``.
    """
    s = settings or ProjectionSettings()
    device = G.w_avg.device
    target = target.to(device=device, dtype=torch.float32)
    if target.ndim == 3:
        target = target[None]
    n = target.shape[0]
    res = G.img_resolution
    if tuple(target.shape[1:]) != (G.img_channels, res, res):
        raise ValueError(f"target must be [N, {G.img_channels}, {res}, {res}], got {list(target.shape)}")
    if s.identity_weight > 0 and identity_fn is None:
        raise ValueError("settings.identity_weight > 0 needs an identity_fn")
    if loss_fn is None and s.perceptual_weight > 0:
        loss_fn = perceptual_loss(device=device, allow_lpips=(s.perceptual != "fallback"))

    w_avg = G.w_avg.detach().to(torch.float32)
    start = _start_codes(G, init_ws, n)
    var = (start if s.w_plus else start.mean(dim=1, keepdim=True)).clone().contiguous().requires_grad_(True)
    opt = torch.optim.Adam([var], lr=s.lr, betas=tuple(s.betas))
    gen = torch.Generator(device="cpu").manual_seed(s.seed)
    spread = _w_spread(G) if s.init_noise > 0 else 0.0

    def full(v: torch.Tensor) -> torch.Tensor:
        return v if s.w_plus else v.expand(-1, G.num_ws, -1)

    result = ProjectionResult(ws=start, psnr=torch.zeros(n), steps_to_psnr=[-1] * n)
    bar = tqdm(range(s.steps), desc=desc, disable=not progress, leave=False)
    for step in bar:
        # Reached-threshold check happens on the image of the current ws (before the step).
        for g in opt.param_groups:
            g["lr"] = s.lr_at(step)
        img = G.synthesis(_exploration(full(var), step, spread, s, gen))
        per_image = _image_losses(img, target, full(var), w_avg, s, loss_fn, identity_fn)
        with torch.no_grad():
            p = tensor_psnr(img.detach(), target) if spread == 0 else None
        if s.stop_psnr is not None and p is not None:
            _note_reached(result.steps_to_psnr, p, step, s.stop_psnr)
            if all(r >= 0 for r in result.steps_to_psnr):
                break
        opt.zero_grad(set_to_none=True)
        per_image.sum().backward()
        opt.step()
        result.steps_run += 1
        result.loss_history.append(float(per_image.detach().mean()))
        if p is not None:
            result.psnr_history.append(float(p.mean()))
            bar.set_postfix(loss=f"{result.loss_history[-1]:.4f}", psnr=f"{result.psnr_history[-1]:.2f}")

    with torch.no_grad():
        result.ws = full(var).detach().clone()
        final = tensor_psnr(G.synthesis(result.ws), target)
    if s.stop_psnr is not None:
        _note_reached(result.steps_to_psnr, final, result.steps_run, s.stop_psnr)
    result.psnr = final.cpu()
    return result


@dataclass
class FramesResult:
    """Per frame: ``ws`` ``[T, num_ws, w_dim]``, ``psnr`` ``[T]``, ``steps`` (optimiser steps spent,
    0 for cache hits) and ``cached`` flags."""

    ws: torch.Tensor
    psnr: torch.Tensor
    steps: list[int]
    cached: list[bool]

    @property
    def total_steps(self) -> int:
        return int(sum(self.steps))


@runtime_checkable
class FrameSource(Protocol):
    """Frames read on demand: ``len(source)`` frames; ``source.targets(indices)`` returns the frames
    ``indices`` (a list of frame indices, in that order) as ``[n, 3, R, R]`` in [-1, 1]. A
    :class:`~video2stylegan.pipeline.inputs.DrivingClip` is one (its aligned crops, spooled on disk)."""

    def __len__(self) -> int: ...

    def targets(self, indices: list[int]) -> torch.Tensor: ...


def frame_reader(frames) -> tuple[int, Callable[[list[int]], torch.Tensor]]:
    """``(T, read)`` for a tensor ``[T, 3, R, R]``, a sequence of ``[3, R, R]`` frames or a
    :class:`FrameSource`: ``read(indices)`` gives those frames as one ``[n, 3, R, R]`` tensor and holds
    no other frame (a tensor is indexed, so its chunks are exactly the rows it holds)."""
    if isinstance(frames, torch.Tensor):
        return frames.shape[0], lambda indices: frames[indices]
    if isinstance(frames, FrameSource):
        def read(indices):
            chunk = frames.targets(list(indices))
            if not isinstance(chunk, torch.Tensor) or chunk.ndim != 4 or chunk.shape[0] != len(indices):
                got = list(chunk.shape) if isinstance(chunk, torch.Tensor) else type(chunk).__name__
                raise InvalidOptionError(f"the frame source {type(frames).__name__} gave {got} for {len(indices)} "
                                         "frames; its targets(indices) must return one [n, 3, R, R] tensor")
            return chunk
        return len(frames), read
    if isinstance(frames, Sequence) or (hasattr(frames, "__len__") and hasattr(frames, "__getitem__")):
        return len(frames), lambda indices: torch.stack([torch.as_tensor(frames[j]) for j in indices])
    raise InvalidOptionError(f"frames must be a [T, 3, R, R] tensor, a sequence of [3, R, R] frames or a frame "
                             f"source with len() and targets(indices), got {type(frames).__name__}")


@dataclass(frozen=True)
class FramesSettings:
    """How :func:`project_frames` walks a clip. :meth:`to_dict` is the settings part of every frame's
    cache key: a warm-started frame depends on the whole chain."""

    #: The cold projections: frame 0 when warm-starting, every chunk otherwise.
    first: ProjectionSettings = field(default_factory=ProjectionSettings)
    #: The warm-started chunks (:meth:`ProjectionSettings.warm` by default).
    later: ProjectionSettings = field(default_factory=ProjectionSettings.warm)
    #: Start each chunk from the solution of the frame before it; ``False``: every chunk from ``w_avg``.
    warm_start: bool = True
    #: Frames optimised together (at least 1).
    batch: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "batch", max(1, int(self.batch)))

    def to_dict(self) -> dict:
        d = {"first": self.first.to_dict(), "warm_start": bool(self.warm_start), "batch": int(self.batch)}
        if self.warm_start:
            d["next"] = self.later.to_dict()
        return d

    def chunks(self, length: int, from_init: bool) -> list[tuple[int, int, ProjectionSettings, bool]]:
        """``(start, stop, settings, warm)`` of the chunks of a ``length``-frame clip; ``from_init``:
        the chain starts from a given code, so frame 0 is warm-started too."""
        step = self.batch
        if self.warm_start and from_init:
            return [(a, min(a + step, length), self.later, True) for a in range(0, length, step)]
        if self.warm_start:
            return [(0, 1, self.first, False)] + [(a, min(a + step, length), self.later, True)
                                                  for a in range(1, length, step)]
        return [(a, min(a + step, length), self.first, False) for a in range(0, length, step)]


@dataclass(frozen=True)
class ClipCache:
    """Where a clip's frames are cached: a :class:`~video2stylegan.method.cache.ProjectionCache`, the
    network's and the clip's identities, and the clip's frame index of the first frame given (keys use
    clip indices, so a chunk of a longer clip shares the clip's entries)."""

    cache: object
    network_id: str | None = None
    source_hash: str | None = None
    first_index: int = 0

    def __post_init__(self) -> None:
        if self.network_id is None or self.source_hash is None:
            raise ValueError("a cache needs network_id and source_hash")

    def lookup(self, j: int, key: dict):
        return self.cache.lookup(self.network_id, self.source_hash, self.first_index + j, key)

    def put(self, j: int, key: dict, ws, psnr: float) -> None:
        self.cache.put(self.network_id, self.source_hash, self.first_index + j, key, ws, psnr=psnr)


@dataclass
class _Frames:
    """What :func:`project_frames` has so far, per frame (a :class:`FramesResult` once complete)."""

    ws: list
    psnr: torch.Tensor
    steps: list[int]
    cached: list[bool]

    @classmethod
    def empty(cls, length: int) -> "_Frames":
        return cls([None] * length, torch.full((length,), float("nan")), [0] * length, [False] * length)


def _from_cache(out: _Frames, clip_cache: ClipCache | None, key: dict, frames: range, device) -> list[int]:
    """Fill ``out`` with the cached frames of ``frames``; returns the others."""
    todo = []
    for j in frames:
        hit = clip_cache.lookup(j, key) if clip_cache is not None else None
        if hit is not None:
            out.ws[j] = torch.as_tensor(hit.ws, dtype=torch.float32, device=device)
            out.psnr[j] = float("nan") if hit.psnr is None else hit.psnr
            out.cached[j] = True
        else:
            todo.append(j)
    return todo


def _measure_missing_psnr(G, out: _Frames, read, frames: range, device) -> None:
    """The PSNR of cached frames stored without it (reads only those frames)."""
    idx = [j for j in frames if out.cached[j] and torch.isnan(out.psnr[j])]
    if idx:
        with torch.no_grad():
            img = G.synthesis(torch.stack([out.ws[j] for j in idx]))
            out.psnr[idx] = tensor_psnr(img, read(idx).to(device=device, dtype=torch.float32)).cpu()


def _chain_start(G, init_ws: torch.Tensor | None, s: FramesSettings, key: dict) -> torch.Tensor | None:
    """``init_ws`` as one ``[num_ws, w_dim]`` code on ``G``'s device, recorded in the cache ``key``."""
    if init_ws is None:
        return None
    if not s.warm_start:
        raise ValueError("init_ws needs warm_start=True")
    init_ws = init_ws.detach().to(device=G.w_avg.device, dtype=torch.float32).reshape(G.num_ws, G.w_dim)
    key["init_ws_sha256"] = hashlib.sha256(init_ws.cpu().numpy().tobytes()).hexdigest()
    return init_ws


def project_frames(
    G,
    frames: torch.Tensor | Sequence[torch.Tensor] | FrameSource,
    settings: FramesSettings | None = None,
    *,
    cache: ClipCache | None = None,
    init_ws: torch.Tensor | None = None,
    loss_fn: Callable | None = None,
    identity_fn: Callable | None = None,
    progress: bool = True,
) -> FramesResult:
    """Project aligned frames ``[T, 3, R, R]`` (or a sequence of ``[3, R, R]``, or a :class:`FrameSource`)
    in [-1, 1] into W+.

    Only the frames of the chunk being optimised are read (plus those of cached entries stored without a
    PSNR, to measure it), so with a :class:`FrameSource` memory holds one chunk whatever the clip's
    length; cache hits read no frame. The result does not depend on how the frames are given.

    ``settings`` (default :class:`FramesSettings`): with ``warm_start``, frame 0 (cold,
    ``settings.first``), then chunks of ``batch`` frames each initialised from the ws of the frame
    just before the chunk (``settings.later``). Cold: chunks of ``batch`` frames from ``w_avg`` with
    ``settings.first``.

    With ``cache`` (a :class:`ClipCache`) each frame is looked up under (network, source, frame
    index, settings) first and stored after.

    ``init_ws`` (``[num_ws, w_dim]`` or ``[1, num_ws, w_dim]``, warm mode only):
    the chain's starting point, so frame 0 is warm-started from it with
    ``settings.later`` too (e.g. to continue a chain from an earlier solution).
    """
    s = FramesSettings() if settings is None else settings
    T, read = frame_reader(frames)
    device = G.w_avg.device
    key = s.to_dict()
    init_ws = _chain_start(G, init_ws, s, key)
    if loss_fn is None and (s.first.perceptual_weight > 0 or s.later.perceptual_weight > 0):
        loss_fn = perceptual_loss(device=device, allow_lpips=(s.first.perceptual != "fallback"))

    out = _Frames.empty(T)
    bar = tqdm(total=T, desc="projecting frames", unit="frame", disable=not progress)
    for a, b, chunk_settings, warm in s.chunks(T, init_ws is not None):
        if a >= T:
            break
        todo = _from_cache(out, cache, key, range(a, b), device)
        if todo:
            target = read(todo).to(device=device, dtype=torch.float32)
            init = (init_ws if a == 0 else out.ws[a - 1])[None] if warm else None
            r = project_image(G, target, chunk_settings, init_ws=init, progress=False, loss_fn=loss_fn,
                              identity_fn=identity_fn, desc=f"frames {a}-{b - 1}")
            for k, j in enumerate(todo):
                out.ws[j], out.psnr[j], out.steps[j] = r.ws[k], r.psnr[k], r.steps_run
                if cache is not None:
                    cache.put(j, key, r.ws[k].cpu().numpy(), psnr=float(r.psnr[k]))
        _measure_missing_psnr(G, out, read, range(a, b), device)
        bar.update(b - a)
        bar.set_postfix(psnr=f"{float(out.psnr[a:b].mean()):.2f}")
    bar.close()
    return FramesResult(ws=torch.stack(out.ws), psnr=out.psnr, steps=out.steps, cached=out.cached)


__all__ = ["ClipCache", "FrameSource", "FramesResult", "FramesSettings", "ProjectionResult", "ProjectionSettings",
           "project_frames", "project_image"]
