"""Matrices for the generator's Fourier-feature ``transform`` (in-plane rotation and translation).

Coordinates: units of the image size, origin at the image centre, x to the
right, y down; the image spans [-0.5, 0.5] on both axes. The generator samples
its features at ``transform @ p`` for each output position ``p``, so the
matrix to pass is the *inverse* of the motion of the image content.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from video2stylegan.errors import GenerationError, InvalidOptionError


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


def from_uint8_images(images) -> torch.Tensor:
    """uint8 images ``[N, H, W, 3]`` or one ``[H, W, 3]`` (array, list or tensor) -> float32
    ``[N, 3, H, W]`` in [-1, 1], the generator's range (inverse of :func:`to_uint8_images`)."""
    arr = np.stack(images) if isinstance(images, (list, tuple)) else np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise InvalidOptionError(f"expected uint8 images [N, H, W, 3], got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def to_uint8_images(img: torch.Tensor):
    """Generator output [N, 3, H, W] in about [-1, 1] -> uint8 numpy [N, H, W, 3].

    Non-finite pixels (which would silently become black) raise :class:`GenerationError`.
    """
    img = img.detach().float()
    if not bool(torch.isfinite(img).all()):
        bad = int((~torch.isfinite(img)).sum())
        raise GenerationError(
            f"the generator produced {bad} non-finite pixel values (NaN or inf) of {img.numel()}: its latent codes "
            "or weights are not finite; nothing was written"
        )
    img = (img.clamp(-1, 1) + 1) * 127.5
    return img.round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()
