"""Pictures of a network against the renderer: the run's sample grids and the docs' figures."""

import numpy as np
import torch

from video2stylegan.io.images import read_image
from video2stylegan.networks.loading import load_generator
from video2stylegan.networks.registry import BUNDLED_NETWORK
from video2stylegan.synthetic.demo import sample_grid
from video2stylegan.training import figures
from video2stylegan.training.checkpoints import build_generator
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.data import sample_batch
from video2stylegan.training.latents import HELDOUT_STREAM


def _uint8(images: torch.Tensor) -> np.ndarray:
    """``[B, 3, H, W]`` in [-1, 1] as ``[B, H, W, 3]`` uint8, rounded like the grids."""
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def test_network_grid_rows_are_renders_mapped_latents_and_samples():
    G = build_generator(TrainConfig(resolution=32, w_dim=16, channel_base=256, channel_max=16, num_layers=4)).eval()
    grid = figures.network_grid(G, count=3, psi=0.5)
    assert grid.shape == (96, 96, 3) and grid.dtype == np.uint8
    z, renders = sample_batch(range(1000, 1003), 32, 0, HELDOUT_STREAM)
    np.testing.assert_array_equal(grid[:32, 32:64], _uint8(renders[1:2])[0])
    with torch.no_grad():
        mapped = _uint8(G(z[2:3]))[0]
    np.testing.assert_array_equal(grid[32:64, 64:96], mapped)
    assert not np.array_equal(grid[32:64], grid[64:96])  # truncated random samples are other images


def test_write_grid_puts_the_renders_above_the_generated_images(tmp_path):
    targets = torch.linspace(-1, 1, 2 * 3 * 8 * 8).reshape(2, 3, 8, 8)
    images = -targets * 1.5  # partly outside [-1, 1]: clamped
    path = figures.write_grid(tmp_path / "grids" / "step-1.png", targets, images)
    grid = read_image(path)
    assert grid.shape == (16, 16, 3)
    np.testing.assert_array_equal(grid[:8, 8:], _uint8(targets)[1])
    np.testing.assert_array_equal(grid[8:, :8], _uint8(images)[0])
    assert grid[8:].min() == 0 and grid[8:].max() == 255  # the values beyond [-1, 1] clamped


def test_docs_figures_are_the_renders_and_the_bundled_network(tmp_path, capsys):
    assert figures.main([str(tmp_path)]) == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == ["synthetic_grid.png", "synthetic_network_grid.png", "synthetic_truth.png"]
    assert capsys.readouterr().out.count("wrote ") == 3
    np.testing.assert_array_equal(read_image(tmp_path / "synthetic_grid.png"), sample_grid(range(16), 128))
    network = read_image(tmp_path / "synthetic_network_grid.png")
    np.testing.assert_array_equal(network, figures.network_grid(load_generator(BUNDLED_NETWORK)))
    assert network.shape == (3 * 128, 8 * 128, 3)
