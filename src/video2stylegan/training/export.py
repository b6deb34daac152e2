"""Exporting a run: its EMA generator as the network file that ships (``train-synthetic --export``)."""

from __future__ import annotations

from pathlib import Path

import torch

from video2stylegan.errors import CheckpointError, InvalidOptionError
from video2stylegan.io.outputs import check_output
from video2stylegan.networks.checkpoint import read_config, save_generator
from video2stylegan.training.checkpoints import Run, build_generator, load_weights, read_run_config

#: Where an exported network's metadata says the meaning of its latents is defined.
Z_MEANING = "z_to_params in video2stylegan.training.latents"


@torch.no_grad()
def compute_w_avg(G, samples: int = 10000, seed: int = 0) -> torch.Tensor:
    """Mean of ``mapping(z)`` over ``samples`` latents from N(0, I)."""
    gen = torch.Generator().manual_seed(seed)
    total = torch.zeros(G.w_dim, dtype=torch.float64)
    done = 0
    while done < samples:
        n = min(1000, samples - done)
        z = torch.randn(n, G.z_dim, generator=gen)
        total += G.mapping(z)[:, 0].double().sum(0)
        done += n
    return (total / samples).float()


def export_generator(run_dir: str | Path, out: str | Path, w_avg_samples: int = 10000, dtype: torch.dtype = torch.float16) -> Path:
    """Write the run's latest ``G_ema`` to ``out`` (``.safetensors``, float16 by default) with ``w_avg`` set."""
    out = Path(out)
    if out.suffix != ".safetensors":
        raise InvalidOptionError(f"the exported network must be a .safetensors file, got {out}.")
    check_output(out, {"run_dir": run_dir}, what="out")
    run = Run(run_dir)
    latest = run.latest() if run.root.exists() else None
    if latest is None:
        raise CheckpointError(f"{run.root} has no checkpoint to export; train it first (video2stylegan train-synthetic --run {run.root})")
    config = read_run_config(run)
    G = build_generator(config).eval().requires_grad_(False)
    load_weights(G, latest / "G_ema.safetensors")
    G.mapping.w_avg.copy_(compute_w_avg(G, w_avg_samples))
    step = read_config(latest / "G_ema.safetensors").get("extra", {}).get("step")
    extra = {"trained_by": "video2stylegan train-synthetic", "step": step, "training_config": config.to_dict(),
             "z_meaning": Z_MEANING}
    return save_generator(G, out, dtype, extra)
