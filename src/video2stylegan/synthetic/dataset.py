"""A map-style torch dataset of synthetic heads, for training on renders.

Item ``i`` is the render of ``sample_params(seed_offset + i)``: the dataset is
infinite in principle, fixed in content, needs no disk, and parallelises with
``DataLoader(num_workers=...)`` because every item is independent.
"""

from __future__ import annotations

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic.params import sample_params
from video2stylegan.synthetic.renderer import render


class SyntheticHeads:
    """``len`` renders of ``size`` px; items are dicts of torch tensors.

    ``image``: (3, H, W) float32 in [-1, 1] (StyleGAN's convention);
    ``params``: (37,) float32 unit vector (``HeadParams.to_unit``), a label for
    conditional training; ``landmarks``: (68, 2) float32 pixels; and with
    ``with_masks``, ``masks``: (8, H, W) float32. Implements the
    ``torch.utils.data.Dataset`` protocol (``__len__``, ``__getitem__``).
    """

    def __init__(
        self,
        length: int,
        size: int = 128,
        seed_offset: int = 0,
        supersample: int = 2,
        pose_distribution: str = "natural",
        with_masks: bool = False,
    ):
        if length < 1:
            raise InvalidOptionError(f"dataset length must be at least 1, got {length}.")
        self.length = int(length)
        self.size = int(size)
        self.seed_offset = int(seed_offset)
        self.supersample = int(supersample)
        self.pose_distribution = pose_distribution
        self.with_masks = with_masks

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: int) -> dict:
        import torch

        if not -self.length <= index < self.length:
            raise IndexError(f"index {index} out of range for {self.length} renders")
        index %= self.length
        params = sample_params(self.seed_offset + index, self.pose_distribution)
        r = render(params, self.size, self.supersample)
        image = torch.from_numpy(np.ascontiguousarray(r.image.transpose(2, 0, 1))).float() / 127.5 - 1.0
        item = {
            "image": image,
            "params": torch.from_numpy(params.to_unit().astype(np.float32)),
            "landmarks": torch.from_numpy(r.landmarks.astype(np.float32)),
        }
        if self.with_masks:
            item["masks"] = torch.from_numpy(r.masks)
        return item
