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

from video2stylegan.method.losses import perceptual_loss, pixel_loss, psnr

log = logging.getLogger(__name__)


@dataclass
class PTIResult:
    """The tuned generator copy, and per-step history of the pivot loss and PSNR at the pivot."""

    G: torch.nn.Module
    loss_history: list[float] = field(default_factory=list)
    psnr_history: list[float] = field(default_factory=list)
    psnr_before: float = float("nan")
    psnr_after: float = float("nan")


def pivotal_tuning(
    G,
    w_pivot: torch.Tensor,
    target: torch.Tensor,
    steps: int = 350,
    lr: float = 3e-4,
    locality_weight: float = 0.1,
    locality_radius: float = 30.0,
    locality_every: int = 10,
    locality_samples: int = 1,
    perceptual_weight: float = 1.0,
    pixel_weight: float = 1.0,
    stop_psnr: float | None = None,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None,
    seed: int = 0,
    progress: bool = True,
    return_result: bool = False,
):
    """Fine-tune a deep copy of ``G``'s synthesis weights around ``w_pivot`` ``[1, num_ws, w_dim]``.

    ``target``: ``[1, 3, R, R]`` in [-1, 1]. Returns the tuned copy (eval
    mode, ``requires_grad`` off again), or a :class:`PTIResult` with
    ``return_result=True``. ``stop_psnr`` ends early once the pivot image
    reaches that PSNR. ``loss_fn`` defaults to :func:`perceptual_loss`.
    """
    device = G.w_avg.device
    w_pivot = w_pivot.detach().to(device=device, dtype=torch.float32)
    if w_pivot.ndim == 2:
        w_pivot = w_pivot[:, None].expand(-1, G.num_ws, -1)
    if w_pivot.shape[0] != 1:
        raise ValueError(f"pivotal_tuning tunes one pivot, got w_pivot of shape {list(w_pivot.shape)}")
    target = target.to(device=device, dtype=torch.float32)
    if target.ndim == 3:
        target = target[None]
    if loss_fn is None and (perceptual_weight > 0 or locality_weight > 0):
        loss_fn = perceptual_loss(device=device)

    G_orig = G
    G_pti = copy.deepcopy(G).eval()
    G_pti.requires_grad_(False)
    G_pti.synthesis.requires_grad_(True)
    params = [p for p in G_pti.synthesis.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    gen = torch.Generator(device="cpu").manual_seed(seed)

    def pivot_terms(img):
        loss = img.new_zeros(())
        if perceptual_weight > 0:
            loss = loss + perceptual_weight * loss_fn(img, target).sum()
        if pixel_weight > 0:
            loss = loss + pixel_weight * pixel_loss(img, target, "mse").sum()
        return loss

    result = PTIResult(G=G_pti)
    with torch.no_grad():
        result.psnr_before = float(psnr(G_orig.synthesis(w_pivot), target)[0])
    bar = tqdm(range(steps), desc="pivotal tuning", disable=not progress, leave=False)
    for step in bar:
        img = G_pti.synthesis(w_pivot)
        loss = pivot_terms(img)
        p = float(psnr(img.detach(), target)[0])
        if stop_psnr is not None and p >= stop_psnr:
            result.psnr_history.append(p)
            break
        if locality_weight > 0 and locality_every > 0 and step % locality_every == 0:
            w_r = _locality_codes(G_orig, w_pivot, locality_samples, locality_radius, gen)
            with torch.no_grad():
                ref = G_orig.synthesis(w_r)
            out = G_pti.synthesis(w_r)
            reg = pixel_loss(out, ref, "mse").sum()
            if loss_fn is not None:
                reg = reg + loss_fn(out, ref).sum()
            loss = loss + locality_weight * reg
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        result.loss_history.append(float(loss.detach()))
        result.psnr_history.append(p)
        bar.set_postfix(loss=f"{result.loss_history[-1]:.4f}", psnr=f"{p:.2f}")

    G_pti.requires_grad_(False)
    with torch.no_grad():
        result.psnr_after = float(psnr(G_pti.synthesis(w_pivot), target)[0])
    return result if return_result else G_pti


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


__all__ = ["PTIResult", "pivotal_tuning"]
