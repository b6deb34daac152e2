"""Matrices for the generator's Fourier-feature ``transform`` (in-plane rotation and translation).

Coordinates: units of the image size, origin at the image centre, x to the
right, y down; the image spans [-0.5, 0.5] on both axes. The generator samples
its features at ``transform @ p`` for each output position ``p``, so the
matrix to pass is the *inverse* of the motion of the image content.
"""

from __future__ import annotations

import math

import torch


def content_transform(angle: float | torch.Tensor = 0.0, translate=(0.0, 0.0)) -> torch.Tensor:
    """Forward motion of the content: rotate by ``angle`` radians counter-clockwise (as seen
    on screen) about the centre, then shift by ``translate`` = (tx, ty) image units (right, down).

    Accepts scalars or 1-D tensors (a batch); returns [3, 3] or [N, 3, 3]. Differentiable.
    """
    angle = torch.as_tensor(angle, dtype=torch.float32)
    tx = torch.as_tensor(translate[0], dtype=torch.float32)
    ty = torch.as_tensor(translate[1], dtype=torch.float32)
    angle, tx, ty = torch.broadcast_tensors(angle, tx, ty)
    c, s = torch.cos(angle), torch.sin(angle)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    # With y pointing down, a counter-clockwise turn on screen is [[c, s], [-s, c]].
    rows = [c, s, tx, -s, c, ty, zero, zero, one]
    return torch.stack(rows, dim=-1).reshape(*angle.shape, 3, 3)


def make_transform(angle: float | torch.Tensor = 0.0, translate=(0.0, 0.0)) -> torch.Tensor:
    """The ``transform`` argument of ``G.synthesis`` that moves the output image as
    :func:`content_transform` describes (its inverse)."""
    return torch.linalg.inv(content_transform(angle, translate))


def make_transform_degrees(angle_deg: float = 0.0, translate=(0.0, 0.0)) -> torch.Tensor:
    """:func:`make_transform` with the angle in degrees."""
    return make_transform(math.radians(angle_deg), translate)


def to_uint8_images(img: torch.Tensor):
    """Generator output [N, 3, H, W] in about [-1, 1] -> uint8 numpy [N, H, W, 3]."""
    img = (img.detach().float().clamp(-1, 1) + 1) * 127.5
    return img.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
