"""Pivotal tuning (PTI, Roich et al. 2022) for the reference image (method.md, section 0).

After projecting I_ref^c to the pivot ``w_pivot``, a *copy* of the generator
has its synthesis weights fine-tuned so that ``G_pti(w_pivot)`` reproduces
the target in detail, while a locality regulariser keeps ``G_pti`` equal to
the original ``G`` away from the pivot:

    loss = perceptual_weight * perceptual(G_pti(w_p), target) + pixel_weight * L2(G_pti(w_p), target)
         + locality_weight * [ L2(G_pti(w_r), G(w_r)) + perceptual(G_pti(w_r), G(w_r)) ]

with ``w_r = w_p + r * (w_z - w_p) / ||w_z - w_p||`` for ``w_z = mapping(z)``,
``z ~ N(0, I)``, and ``r = min(locality_radius, ||w_z - w_p||)`` (PTI's
interpolation with alpha = 30 on FFHQ; the cap keeps ``w_r`` between the
pivot and a real sample on small networks whose W space is smaller). The
regulariser is evaluated every ``locality_every`` steps on
``locality_samples`` codes. Only ``synthesis`` parameters are tuned; the
mapping network, ``w_avg`` and all buffers stay those of ``G``; the original
``G`` is never modified. Use ``G_pti`` for rendering only: every other
optimisation of the method runs on the original ``G``.
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field
from typing import Callable

import torch
from tqdm.auto import tqdm

from video2stylegan.method.losses import perceptual_loss, pixel_loss, tensor_psnr

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PTISettings:
    """Every knob of one pivotal tuning run (the loss of the module doc)."""

    #: Adam steps at most.
    steps: int = 350
    #: Adam learning rate on the synthesis weights.
    lr: float = 3e-4
    #: Weight of the locality regulariser (0: off).
    locality_weight: float = 0.1
    #: Largest W+ distance of a locality code from the pivot (PTI's alpha).
    locality_radius: float = 30.0
    #: The regulariser is evaluated every this many steps (0: never).
    locality_every: int = 10
    #: Locality codes drawn each time it is evaluated.
    locality_samples: int = 1
    #: Weight of the perceptual loss at the pivot.
    perceptual_weight: float = 1.0
    #: Weight of the mean squared error at the pivot.
    pixel_weight: float = 1.0
    #: End early once the pivot image reaches this PSNR (dB); ``None``: run every step.
    stop_psnr: float | None = None
    #: Seed of the locality codes.
    seed: int = 0


@dataclass
class PTIResult:
    """The tuned generator copy, and per-step history of the pivot loss and PSNR at the pivot."""

    G: torch.nn.Module
    loss_history: list[float] = field(default_factory=list)
    psnr_history: list[float] = field(default_factory=list)
    psnr_before: float = float("nan")
    psnr_after: float = float("nan")


def _pivot_and_target(G, w_pivot: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``[1, num_ws, w_dim]`` pivot and ``[1, 3, R, R]`` target on ``G``'s device, float32."""
    device = G.w_avg.device
    w_pivot = w_pivot.detach().to(device=device, dtype=torch.float32)
    if w_pivot.ndim == 2:
        w_pivot = w_pivot[:, None].expand(-1, G.num_ws, -1)
    if w_pivot.shape[0] != 1:
        raise ValueError(f"pivotal_tuning tunes one pivot, got w_pivot of shape {list(w_pivot.shape)}")
    target = target.to(device=device, dtype=torch.float32)
    if target.ndim == 3:
        target = target[None]
    return w_pivot, target


def _pivot_loss(img: torch.Tensor, target: torch.Tensor, s: PTISettings, loss_fn) -> torch.Tensor:
    """The pivot terms of the loss: weighted perceptual loss and mean squared error to the target."""
    loss = img.new_zeros(())
    if s.perceptual_weight > 0:
        loss = loss + s.perceptual_weight * loss_fn(img, target).sum()
    if s.pixel_weight > 0:
        loss = loss + s.pixel_weight * pixel_loss(img, target, "mse").sum()
    return loss


def _locality_loss(G_orig, G_pti, w_pivot: torch.Tensor, s: PTISettings, loss_fn, gen: torch.Generator):
    """The regulariser: ``G_pti`` against ``G_orig`` on codes near the pivot (unweighted)."""
    w_r = _locality_codes(G_orig, w_pivot, s.locality_samples, s.locality_radius, gen)
    with torch.no_grad():
        ref = G_orig.synthesis(w_r)
    out = G_pti.synthesis(w_r)
    reg = pixel_loss(out, ref, "mse").sum()
    if loss_fn is not None:
        reg = reg + loss_fn(out, ref).sum()
    return reg


def pivotal_tuning(
    G,
    w_pivot: torch.Tensor,
    target: torch.Tensor,
    settings: PTISettings | None = None,
    *,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    progress: bool = True,
) -> PTIResult:
    """Fine-tune a deep copy of ``G``'s synthesis weights around ``w_pivot`` ``[1, num_ws, w_dim]``.

    ``target``: ``[1, 3, R, R]`` in [-1, 1]. ``settings``: steps, rate, weights and early stop
    (default :class:`PTISettings`). Returns a :class:`PTIResult` whose ``G`` is the tuned copy
    (eval mode, ``requires_grad`` off again). ``loss_fn`` defaults to :func:`perceptual_loss`.
    """
    s = PTISettings() if settings is None else settings
    w_pivot, target = _pivot_and_target(G, w_pivot, target)
    if loss_fn is None and (s.perceptual_weight > 0 or s.locality_weight > 0):
        loss_fn = perceptual_loss(device=G.w_avg.device)

    G_orig = G
    G_pti = copy.deepcopy(G).eval()
    G_pti.requires_grad_(False)
    G_pti.synthesis.requires_grad_(True)
    params = [p for p in G_pti.synthesis.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=s.lr)
    gen = torch.Generator(device="cpu").manual_seed(s.seed)

    result = PTIResult(G=G_pti)
    with torch.no_grad():
        result.psnr_before = float(tensor_psnr(G_orig.synthesis(w_pivot), target)[0])
    bar = tqdm(range(s.steps), desc="pivotal tuning", disable=not progress, leave=False)
    for step in bar:
        img = G_pti.synthesis(w_pivot)
        loss = _pivot_loss(img, target, s, loss_fn)
        p = float(tensor_psnr(img.detach(), target)[0])
        if s.stop_psnr is not None and p >= s.stop_psnr:
            result.psnr_history.append(p)
            break
        if s.locality_weight > 0 and s.locality_every > 0 and step % s.locality_every == 0:
            loss = loss + s.locality_weight * _locality_loss(G_orig, G_pti, w_pivot, s, loss_fn, gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        result.loss_history.append(float(loss.detach()))
        result.psnr_history.append(p)
        bar.set_postfix(loss=f"{result.loss_history[-1]:.4f}", psnr=f"{p:.2f}")

    G_pti.requires_grad_(False)
    with torch.no_grad():
        result.psnr_after = float(tensor_psnr(G_pti.synthesis(w_pivot), target)[0])
    return result


def _locality_codes(G, w_pivot: torch.Tensor, n: int, radius: float, gen: torch.Generator) -> torch.Tensor:
    """``n`` W+ codes on the segment from the pivot towards random mapped ws, at most ``radius`` away."""
    device = w_pivot.device
    with torch.no_grad():
        z = torch.randn(n, G.z_dim, generator=gen).to(device)
        c = torch.zeros(n, G.c_dim, device=device) if getattr(G, "c_dim", 0) else None
        w_z = G.mapping(z, c)  # [n, num_ws, w_dim]
        d = w_z - w_pivot
        norm = d.flatten(1).norm(dim=1).clamp_min(1e-8).reshape(n, 1, 1)
        step = torch.clamp(norm, max=radius)
        return w_pivot + d / norm * step


__all__ = ["PTIResult", "PTISettings", "pivotal_tuning"]
