"""What the generator is trained and scored on: the distillation loss and held-out PSNR."""

from __future__ import annotations

import torch

from video2stylegan.method.losses import gradient_pyramid_loss, tensor_ms_ssim, tensor_psnr


def distillation_loss(
    x: torch.Tensor, y: torch.Tensor, kind: str, features: torch.Tensor | None = None, part_weight: float = 0.0
) -> tuple[torch.Tensor, dict]:
    """Mean loss over the batch and its parts (floats) for images in [-1, 1].

    ``features`` ``[B, 1, H, W]`` (coverage of eyes, brows, nose and mouth) with
    ``part_weight > 0`` adds ``part_weight`` times :func:`feature_l1`.
    """
    l1 = (x - y).abs().flatten(1).mean(1).mean()
    parts = {"l1": l1}
    total = l1
    if kind == "l1+msssim":
        parts["msssim"] = tensor_ms_ssim(x, y).mean()
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


@torch.no_grad()
def evaluate(G, z: torch.Tensor, targets: torch.Tensor) -> tuple[float, torch.Tensor]:
    """Mean PSNR (dB) of ``G(z)`` against the renders, and the images."""
    G.eval()
    images = torch.cat([G(z[i : i + 4]) for i in range(0, len(z), 4)])
    return float(tensor_psnr(images.clamp(-1, 1), targets).mean()), images


def feature_psnr(images: torch.Tensor, targets: torch.Tensor, features: torch.Tensor) -> float:
    """Mean PSNR (dB) over the facial-feature pixels only (eyes, brows, nose, mouth)."""
    return float(tensor_psnr(images.clamp(-1, 1), targets, features).mean())
