"""Pictures of a network against the renderer: the training run's sample grids and the docs' figures.

``python -m video2stylegan.training.figures [FOLDER]`` writes the docs' images
(default ``docs/images``): ``synthetic_grid.png`` and ``synthetic_truth.png``
(renders only) and ``synthetic_network_grid.png`` (the bundled network).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from video2stylegan.io.images import write_image
from video2stylegan.networks.loading import load_generator
from video2stylegan.networks.registry import BUNDLED_NETWORK
from video2stylegan.networks.transforms import to_uint8_images
from video2stylegan.synthetic.demo import sample_grid
from video2stylegan.training.data import sample_batch
from video2stylegan.training.latents import HELDOUT_STREAM

DOCS_IMAGES = Path("docs/images")


def write_grid(path: Path, targets: torch.Tensor, images: torch.Tensor) -> Path:
    """PNG with the renders in the top row and the generated images below."""
    rows = []
    for row in (targets, images):
        row = ((row.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        rows.append(torch.cat(list(row.cpu()), dim=2))
    grid = torch.cat(rows, dim=1).permute(1, 2, 0).numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_image(path, grid)


def network_grid(G, count: int = 8, psi: float = 0.7, seed: int = 0) -> np.ndarray:
    """Three rows of ``count`` tiles (uint8 RGB): held-out renders, ``G(z)`` for the same latents,
    and random samples of ``G`` at truncation ``psi``."""
    z, renders = sample_batch(range(1000, 1000 + count), G.img_resolution, seed, HELDOUT_STREAM)
    random_z = torch.randn(count, G.z_dim, generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        rows = [renders, G(z), G(random_z, truncation_psi=psi)]
    return np.vstack([np.hstack(list(to_uint8_images(row))) for row in rows])


def write_docs_images(folder: str | Path = DOCS_IMAGES) -> list[Path]:
    """The docs' figures of the synthetic world and of the bundled network, written into ``folder``."""
    folder = Path(folder)
    return [
        write_image(folder / "synthetic_grid.png", sample_grid(range(16), 128)),
        write_image(folder / "synthetic_truth.png", sample_grid(range(4), 256, overlay=True)),
        write_image(folder / "synthetic_network_grid.png", network_grid(load_generator(BUNDLED_NETWORK))),
    ]


def main(argv: list[str] | None = None) -> int:
    """``python -m video2stylegan.training.figures [FOLDER]`` writes the docs' figures (default docs/images)."""
    argv = sys.argv[1:] if argv is None else argv
    for path in write_docs_images(argv[0] if argv else DOCS_IMAGES):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
