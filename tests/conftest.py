"""Fixtures shared by every test folder."""

from pathlib import Path

import pytest
import torch

# Real portraits and driving clips live beside the repository, never inside it.
SHARED_DATA = (Path(__file__).parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real test media; tests that need it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (expected <repo>/../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Every test on one torch thread: on a shared 2-core machine oversubscribed threads made
    optimisation steps many times slower, and one thread keeps the numbers reproducible."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="session")
def tiny_G():
    """An untrained 64 px R-config StyleGAN3 with 8 ws (0.1 s per optimisation step): the
    network of the pipeline and benchmark tests, where semantics are not under test."""
    from video2stylegan.networks.stylegan3 import Generator

    with torch.random.fork_rng():
        torch.manual_seed(0)
        G = Generator(z_dim=8, c_dim=0, w_dim=16, img_resolution=64, img_channels=3, channel_base=512,
                      channel_max=16, num_layers=6, conv_kernel=1, use_radial_filters=True)
    return G.eval().requires_grad_(False)
