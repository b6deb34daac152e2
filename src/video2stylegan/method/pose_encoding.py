"""Global pose encoding in masked W+ (Eq. 7; method.md, section 2).

Input: the reference code ``w_ref`` ``[num_ws, w_dim]``, per-frame target angles ``[T, 3]``
(yaw, pitch, roll) in **degrees**, and a differentiable pose regressor (images ``[N, 3, R, R]``
in ``[-1, 1]`` -> ``[N, 3]`` degrees, :class:`~video2stylegan.method.pose.PoseRegressor`).
Output (:class:`PoseEncodingResult`): one code per frame, ``[T, num_ws, w_dim]``, with the
regressor's readings before and after.

For each driving frame j, starting from ``w_ref``, only the ws listed in ``layers`` move
(default: the first 8, the first half on smaller networks,
:func:`video2stylegan.method.config.default_pose_layers`); every other ws stays ``w_ref``'s
exactly. The loss of a frame is

    loss_j(w) = sum_k a_k * (P_r(G(w))_k - target_jk)^2          (radians)
              + lambda_id * mean |w_l - w_ref_l|  over l in layers

with ``a = (2, 2, 2)`` for (yaw, pitch, roll) and ``lambda_id = 0.04`` (the paper's App. F).
The pose term converts both sides to radians first (in degrees a 10 degree error would cost
200 and the identity term, a mean absolute difference of order 0.1-1, would have no say);
``lambda_id`` weighs a *mean*, so it does not depend on ``w_dim`` or the number of moved ws.

Invariants: the optimisation runs on the generator it is given, which should be the original
network (the paper: optimising on the PTI-tuned one gives artefacts); render the result with
the tuned one. With ``warm_start`` frame j starts from frame j-1's solution (frame 0 from
``w_ref``) and a frame whose target equals the previous one (within ``reuse_tolerance_deg``)
reuses its solution; the identity term always pulls towards ``w_ref``, not towards the warm
start. Defaults: :data:`DEFAULT_STEPS` Adam steps per frame at :data:`DEFAULT_LR`; how they
were chosen and what the optimisation reaches is measured in ``benchmarks/RESULTS.md``
("Method on the ground-truth benchmark", "Method stages alone").
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.config import default_pose_layers

log = logging.getLogger(__name__)

#: Most Adam steps per frame.
DEFAULT_STEPS = 40
#: Adam learning rate (0.05 until measured on the ground-truth benchmark, benchmarks/RESULTS.md).
DEFAULT_LR = 0.02


@dataclass
class PoseEncodingResult:
    """The outcome of :func:`encode_pose` for ``T`` frames.

    ``ws`` ``[T, num_ws, w_dim]`` (only ``layers`` differ from ``w_ref``);
    ``angles_before`` / ``angles_after`` ``[T, 3]``: the regressor's (yaw,
    pitch, roll) in degrees of ``G(w_ref)`` and of ``G(ws[j])``; ``target``
    ``[T, 3]`` degrees; ``losses[j]``: frame j's loss at each iterate, the
    last one the result's (``steps[j] + 1`` values; empty for a reused frame); ``steps[j]``: the Adam steps frame j took;
    ``reused[j]``: frame j copied frame j-1's solution.
    """

    ws: torch.Tensor
    angles_before: torch.Tensor
    angles_after: torch.Tensor
    target: torch.Tensor
    layers: tuple[int, ...]
    losses: list[list[float]] = field(default_factory=list)
    steps: list[int] = field(default_factory=list)
    reused: list[bool] = field(default_factory=list)
    seconds: float = 0.0

    def error_before(self) -> torch.Tensor:
        """Mean absolute angle error (degrees) per angle of ``w_ref``, ``[3]``."""
        return (self.angles_before - self.target).abs().mean(0)

    def error_after(self) -> torch.Tensor:
        """Mean absolute angle error (degrees) per angle of the result, ``[3]``."""
        return (self.angles_after - self.target).abs().mean(0)


def pose_loss(
    angles_deg: torch.Tensor,
    target_deg: torch.Tensor,
    w_layers: torch.Tensor,
    ref_layers: torch.Tensor,
    angle_weights: Sequence[float] = (2.0, 2.0, 2.0),
    lambda_id: float = 0.04,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Eq. 7 for one or more frames: ``(total, pose term, identity term)``, each ``[N]``.

    ``angles_deg``/``target_deg`` ``[N, 3]`` degrees (compared in radians);
    ``w_layers``/``ref_layers`` ``[N, L, w_dim]``, the moved ws and their
    reference values (identity term: ``lambda_id`` times their mean absolute
    difference).
    """
    a = torch.as_tensor(angle_weights, dtype=angles_deg.dtype, device=angles_deg.device)
    diff = torch.deg2rad(angles_deg - target_deg)
    pose = (a * diff.square()).sum(-1)
    ident = lambda_id * (w_layers - ref_layers).abs().flatten(1).mean(1)
    return pose + ident, pose, ident


@dataclass(frozen=True)
class PoseEncodingSettings:
    """How :func:`encode_pose` optimises (defaults: the paper's weights, our measured steps and rate)."""

    #: ws indices moved; ``None``: the first 8, the first half on smaller networks
    #: (:func:`~video2stylegan.method.config.default_pose_layers`).
    layers: tuple | None = None
    #: Adam steps per frame at most.
    steps: int = DEFAULT_STEPS
    #: Adam learning rate (W+ units per step, roughly).
    lr: float = DEFAULT_LR
    #: Weights of the squared (yaw, pitch, roll) errors in radians (paper: 2 each).
    angle_weights: tuple = (2.0, 2.0, 2.0)
    #: Weight of the mean absolute difference of the moved ws from ``w_ref`` (paper: 0.04).
    lambda_id: float = 0.04
    #: Start frame j from frame j-1's solution (frame 0 from ``w_ref``) and reuse a repeated target's.
    warm_start: bool = True
    #: Degrees within which a target counts as the previous frame's (warm start only).
    reuse_tolerance_deg: float = 1e-3
    #: End a frame early once every angle is within this many degrees of its target; ``None``: never.
    stop_error_deg: float | None = None

    def __post_init__(self) -> None:
        if len(self.angle_weights) != 3:
            raise InvalidOptionError(f"angle_weights needs 3 values (yaw, pitch, roll), got {list(self.angle_weights)}")
        if self.steps < 0 or self.lr <= 0 or self.lambda_id < 0:
            raise InvalidOptionError(
                f"need steps >= 0, lr > 0 and lambda_id >= 0; got {self.steps}, {self.lr}, {self.lambda_id}")


def _check_layers(layers, num_ws: int) -> tuple[int, ...]:
    try:
        out = tuple(sorted(int(v) for v in layers))
    except (TypeError, ValueError):
        raise InvalidOptionError(f"layers must be a sequence of ws indices, got {layers!r}") from None
    if not out or len(set(out)) != len(out) or out[0] < 0 or out[-1] >= num_ws:
        raise InvalidOptionError(
            f"layers must be distinct ws indices in 0..{num_ws - 1}, got {list(layers)}"
        )
    return out


def _reference_and_targets(G, w_ref, target_angles) -> tuple[torch.Tensor, torch.Tensor]:
    """``w_ref`` as ``[num_ws, w_dim]`` and the targets as finite ``[T, 3]`` degrees on its device."""
    w_ref = torch.as_tensor(w_ref).detach()
    if w_ref.ndim == 3 and w_ref.shape[0] == 1:
        w_ref = w_ref[0]
    if w_ref.ndim != 2 or w_ref.shape[0] != G.num_ws:
        raise InvalidOptionError(
            f"w_ref must be [num_ws={G.num_ws}, w_dim] (one W+ code), got shape {tuple(w_ref.shape)}"
        )
    target = torch.as_tensor(target_angles, dtype=torch.float32).to(w_ref.device)
    if target.ndim == 1:
        target = target[None]
    if target.ndim != 2 or target.shape[1] != 3 or not torch.isfinite(target).all():
        raise InvalidOptionError(f"target_angles must be finite [T, 3] degrees, got shape {tuple(target.shape)}")
    return w_ref, target


class _MaskedCode:
    """``w_ref`` with only ``layers`` variable: builds the full code and reads its pose."""

    def __init__(self, G, w_ref: torch.Tensor, layers: tuple[int, ...], regressor):
        self.G, self.w_ref, self.regressor = G, w_ref, regressor
        self.idx = torch.tensor(layers, device=w_ref.device)
        self.ref_layers = w_ref[self.idx]

    def assemble(self, var: torch.Tensor) -> torch.Tensor:
        ws = self.w_ref.clone()
        ws[self.idx] = var
        return ws

    def read(self, var: torch.Tensor) -> torch.Tensor:
        return self.regressor(self.G.synthesis(self.assemble(var)[None]))[0].float()


def _encode_frame(code: _MaskedCode, start: torch.Tensor, target: torch.Tensor, s: PoseEncodingSettings):
    """Adam on one frame from ``start``: ``(moved ws, last angles, loss history, steps taken)``."""
    var = start.clone().requires_grad_(True)
    opt = torch.optim.Adam([var], lr=s.lr)
    history = []
    taken = 0
    for _ in range(int(s.steps) + 1):
        angles = code.read(var)
        total, _, _ = pose_loss(angles[None], target[None], var[None], code.ref_layers[None], s.angle_weights,
                                s.lambda_id)
        history.append(float(total.detach()))
        done = s.stop_error_deg is not None and float((angles.detach() - target).abs().max()) < s.stop_error_deg
        if done or taken == s.steps:
            break
        (grad,) = torch.autograd.grad(total.sum(), [var])
        var.grad = grad
        opt.step()
        taken += 1
    return var.detach(), angles.detach(), history, taken  # the last reading above is of this final var


def encode_pose(
    G,
    w_ref: torch.Tensor,
    target_angles,
    regressor: Callable[[torch.Tensor], torch.Tensor],
    settings: PoseEncodingSettings | None = None,
    *,
    progress: bool = True,
) -> PoseEncodingResult:
    """Eq. 7: move ``settings.layers`` of ``w_ref`` so that ``regressor(G(w))`` reads ``target_angles``,
    frame by frame.

    ``w_ref`` ``[num_ws, w_dim]`` (or ``[1, num_ws, w_dim]``); ``target_angles``
    ``[T, 3]`` (or ``[3]``) degrees, (yaw, pitch, roll); ``regressor``: images
    ``[N, 3, R, R]`` in ``[-1, 1]`` -> ``[N, 3]`` degrees, differentiable
    (e.g. :class:`video2stylegan.method.pose.PoseRegressor`). ``settings``: steps, rate, weights,
    warm start and early stop (default :class:`PoseEncodingSettings`); with ``stop_error_deg`` a
    warm-started frame that already matches takes no step. See the module doc for the loss, warm
    start and reuse.
    """
    s = PoseEncodingSettings() if settings is None else settings
    w_ref, target = _reference_and_targets(G, w_ref, target_angles)
    layers = _check_layers(default_pose_layers(G.num_ws) if s.layers is None else s.layers, G.num_ws)
    code = _MaskedCode(G, w_ref, layers, regressor)

    t0 = time.perf_counter()
    with torch.no_grad():
        before = code.read(code.ref_layers).detach()
    T = len(target)
    out_ws, after, losses, steps_used, reused = [], [], [], [], []
    start = code.ref_layers
    for j in tqdm(range(T), desc="pose encoding", unit="frame", disable=not progress, leave=False):
        if s.warm_start and j > 0 and (target[j] - target[j - 1]).abs().max() <= s.reuse_tolerance_deg:
            out_ws.append(out_ws[-1])
            after.append(after[-1])
            losses.append([])
            steps_used.append(0)
            reused.append(True)
            continue
        var, angles, history, taken = _encode_frame(code, start if s.warm_start else code.ref_layers, target[j], s)
        out_ws.append(code.assemble(var))
        after.append(angles)
        losses.append(history)
        steps_used.append(taken)
        reused.append(False)
        start = var
    result = PoseEncodingResult(
        ws=torch.stack(out_ws),
        angles_before=before[None].expand(T, 3).clone(),
        angles_after=torch.stack(after),
        target=target,
        layers=layers,
        losses=losses,
        steps=steps_used,
        reused=reused,
        seconds=time.perf_counter() - t0,
    )
    log.info(
        "pose encoding: %d frames, mean |error| (deg) %s -> %s in %.1f s",
        T,
        [round(v, 2) for v in result.error_before().tolist()],
        [round(v, 2) for v in result.error_after().tolist()],
        result.seconds,
    )
    return result
