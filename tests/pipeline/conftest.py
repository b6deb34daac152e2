"""Fixtures of the pipeline tests: a tiny generator, the bundled demo files, tiny budgets."""

from __future__ import annotations

import pytest
import torch

from video2stylegan.pipeline.embedding import EmbeddingOptions


@pytest.fixture(scope="session")
def tiny_G():
    """An untrained 64 px R-config StyleGAN3 with 8 ws (0.1 s per optimisation step)."""
    from video2stylegan.networks.stylegan3 import Generator

    with torch.random.fork_rng():
        torch.manual_seed(0)
        G = Generator(z_dim=8, c_dim=0, w_dim=16, img_resolution=64, img_channels=3, channel_base=512,
                      channel_max=16, num_layers=6, conv_kernel=1, use_radial_filters=True)
    return G.eval().requires_grad_(False)


@pytest.fixture(scope="session")
def demo_files():
    from video2stylegan.pipeline.demo import demo_inputs

    return demo_inputs(co_driving=True)


@pytest.fixture
def tiny_budget():
    return EmbeddingOptions(source_steps=3, pti_steps=2, first_frame_steps=3, frame_steps=1, perceptual="fallback")
