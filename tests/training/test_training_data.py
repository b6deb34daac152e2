"""Training batches and the held-out set: renders of seeded latents."""

import numpy as np
import pytest
import torch

from video2stylegan.synthetic.head_model import PARTS
from video2stylegan.synthetic.renderer import render
from video2stylegan.training.data import sample_batch
from video2stylegan.training.latents import sample_z, z_to_params


def test_training_and_heldout_streams_are_disjoint_and_deterministic():
    za, ia = sample_batch(range(3), 32, seed=0, stream=0)
    zb, ib = sample_batch(range(3), 32, seed=0, stream=0)
    zc, _ = sample_batch(range(3), 32, seed=0, stream=1)
    assert torch.equal(za, zb) and torch.equal(ia, ib)
    assert not torch.allclose(za, zc)
    assert ia.shape == (3, 3, 32, 32) and -1 <= ia.min() and ia.max() <= 1


def test_sample_batch_features_are_the_renders_feature_masks():
    z, images, features = sample_batch(range(2), 64, seed=3, features=True)
    assert features.shape == (2, 1, 64, 64)
    masks = render(z_to_params(sample_z(1, seed=3)), 64).masks
    expected = sum(masks[PARTS.index(name)] for name in ("eyes", "brows", "nose", "mouth"))
    np.testing.assert_allclose(features[1, 0].numpy(), expected.clip(0, 1), atol=1e-6)
    assert 0.005 < float(features.mean()) < 0.2
    assert torch.equal(sample_batch(range(2), 64, seed=3)[1], images)
