"""Small random generators shared by the network tests."""

from __future__ import annotations

import pytest
import torch

from video2stylegan.networks.stylegan3 import Generator

SMALL = dict(z_dim=32, c_dim=0, w_dim=32, img_resolution=64, img_channels=3, channel_base=1024, channel_max=32)
R_CONFIG = dict(conv_kernel=1, use_radial_filters=True)


def make_generator(config: str = "T", seed: int = 0, **overrides) -> Generator:
    torch.manual_seed(seed)
    kwargs = dict(SMALL, **(R_CONFIG if config == "R" else {}))
    kwargs.update(overrides)
    G = Generator(**kwargs).eval().requires_grad_(False)
    with torch.no_grad():  # a non-zero w_avg and non-trivial magnitudes, as in a trained network
        G.mapping.w_avg.copy_(torch.randn(G.w_dim) * 0.5)
        for name in G.synthesis.layer_names:
            getattr(G.synthesis, name).magnitude_ema.fill_(0.8)
    return G


@pytest.fixture(scope="module")
def G_t() -> Generator:
    return make_generator("T")


@pytest.fixture(scope="module")
def G_r() -> Generator:
    return make_generator("R")
