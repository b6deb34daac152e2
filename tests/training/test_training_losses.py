"""The distillation loss: known answers, and that it teaches a generator."""

import numpy as np
import pytest
import torch
from training_helpers import TINY

from video2stylegan.training.checkpoints import build_generator
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.data import sample_batch
from video2stylegan.training.losses import distillation_loss, feature_l1


def test_distillation_loss_known_answers():
    x = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    for kind in ("l1+gradient", "l1+msssim", "l1"):
        total, parts = distillation_loss(x, x, kind)
        assert float(total) == pytest.approx(0.0, abs=1e-5), kind
    # A constant offset: L1 equals the offset, the gradient pyramid does not see it.
    total, parts = distillation_loss(x + 0.1, x, "l1+gradient")
    assert parts["l1"] == pytest.approx(0.1, abs=1e-5)
    assert parts["gradient"] == pytest.approx(0.0, abs=1e-5)
    assert float(total) == pytest.approx(0.1, abs=1e-5)


def test_feature_l1_averages_over_the_feature_pixels_only():
    y = torch.rand(2, 3, 32, 32) * 2 - 1
    weight = torch.zeros(2, 1, 32, 32)
    weight[0, :, 4:8, 4:12] = 1.0
    weight[1, :, 10:30, 2:30] = 1.0
    inside = y + 0.2 * weight
    # A constant error inside the features: the value term is the error whatever their area; the
    # differences across the border are not counted (both neighbours must be features).
    assert float(feature_l1(inside, y, weight)) == pytest.approx(0.2, abs=1e-4)
    # Errors outside the features do not count; identical images give zero.
    outside = y + 0.5 * (1 - weight)
    assert float(feature_l1(outside, y, weight)) == pytest.approx(0.0, abs=1e-6)
    assert float(feature_l1(y, y, weight)) == 0.0
    # No features at all: zero, not NaN.
    assert float(feature_l1(inside, y, torch.zeros_like(weight))) == 0.0
    total, parts = distillation_loss(inside, y, "l1", weight, part_weight=2.0)
    assert parts["features"] == pytest.approx(0.2, abs=1e-4)
    assert float(total) == pytest.approx(parts["l1"] + 0.4, abs=1e-4)
    assert "features" not in distillation_loss(inside, y, "l1", weight, part_weight=0.0)[1]


def test_loss_decreases_on_a_fixed_batch():
    config = TrainConfig(**TINY)
    G = build_generator(config).train()
    z, images = sample_batch(range(2), 32)
    opt = torch.optim.Adam(G.parameters(), lr=3e-3, betas=(0.0, 0.99))
    losses = []
    for _ in range(25):
        loss, parts = distillation_loss(G.synthesis(G.mapping(z, update_emas=True), update_emas=True), images, config.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert set(parts) == {"l1", "gradient"}
    assert np.mean(losses[-5:]) < 0.75 * np.mean(losses[:3])
