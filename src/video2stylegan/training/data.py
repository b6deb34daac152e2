"""Training data: renders of seeded latents, made on the fly, batch by batch.

Every batch is a pure function of (seed, step): batch ``s`` holds the latents
``s*batch .. s*batch+batch-1`` of the training stream, so a resumed run sees
the very data an uninterrupted one would. The held-out set comes from a
disjoint stream.
"""

from __future__ import annotations

import signal

import numpy as np
import torch

from video2stylegan.synthetic.head_model import BROWS, EYES, MOUTH, NOSE
from video2stylegan.synthetic.renderer import render
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.latents import HELDOUT_STREAM, TRAIN_STREAM, sample_z, z_to_params

# The parts dlib's detector and landmark predictor read; they cover a few per cent of a render.
FEATURE_PARTS = (EYES, BROWS, NOSE, MOUTH)


def sample_render(index: int, size: int, seed: int = 0, stream: int = TRAIN_STREAM) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One latent of a stream: ``z`` float32 [37], its render float32 [3, size, size] in [-1, 1], and the
    render's facial-feature coverage [1, size, size] in [0, 1] (eyes, brows, nose, mouth)."""
    z = sample_z(index, seed, stream)
    result = render(z_to_params(z), size)
    image = result.image.transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    features = result.masks[list(FEATURE_PARTS)].sum(0, keepdims=True).clip(0, 1)
    return z.astype(np.float32), np.ascontiguousarray(image), features.astype(np.float32)


def sample_batch(indices, size: int, seed: int = 0, stream: int = TRAIN_STREAM, features: bool = False):
    """``(z [B, 37], images [B, 3, size, size])`` as tensors; with ``features=True`` also the coverage ``[B, 1, size, size]``."""
    samples = [sample_render(i, size, seed, stream) for i in indices]
    out = tuple(torch.from_numpy(np.stack([s[k] for s in samples])) for k in range(3))
    return out if features else out[:2]


@torch.no_grad()
def heldout_set(config: TrainConfig) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The fixed held-out latents, their renders and feature coverage (disjoint stream from training)."""
    return sample_batch(range(config.heldout), config.resolution, config.seed, HELDOUT_STREAM, features=True)


class BatchStream(torch.utils.data.IterableDataset):
    """Training batches from step ``start`` on: batch ``s`` holds latents ``s*batch .. s*batch+batch-1``."""

    def __init__(self, start: int, stop: int, batch: int, size: int, seed: int):
        super().__init__()
        self.start, self.stop, self.batch, self.size, self.seed = start, stop, batch, size, seed

    def __iter__(self):
        torch.set_num_threads(1)
        if torch.utils.data.get_worker_info() is not None:
            # Ctrl-C (and a SIGTERM sent to the whole process group, e.g. `pkill -f`, a service stop)
            # reaches the worker too: the trainer checkpoints, so the renderer must not die first.
            # DataLoader ends the worker itself when the trainer exits.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for step in range(self.start, self.stop):
            yield sample_batch(range(step * self.batch, (step + 1) * self.batch), self.size, self.seed, features=True)
