"""Fixtures of the method tests: the small random R-config generator."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session")
def G_r128():
    """``random-r-128``: an untrained R-config network built locally (no download)."""
    from video2stylegan import load_generator

    return load_generator("random-r-128").eval().requires_grad_(False)


@pytest.fixture(scope="session")
def w_pair(G_r128):
    """Two mapped codes ``[2, num_ws, w_dim]`` of ``random-r-128`` (fixed seed)."""
    g = torch.Generator().manual_seed(5)
    with torch.no_grad():
        return G_r128.mapping(torch.randn(2, G_r128.z_dim, generator=g))


@pytest.fixture(scope="session")
def reference_render(G_r128, w_pair):
    """``G.synthesis(w_pair[:1])[0]``, the untransformed reference image ``[3, 128, 128]``."""
    with torch.no_grad():
        return G_r128.synthesis(w_pair[:1])[0]
