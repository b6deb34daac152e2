"""Quality of a trained synthetic-heads StyleGAN3 (issue #4, part 3).

Measures the bar of the issue on a network file or on the latest checkpoint
of a ``train-synthetic`` run:

1. dlib (HOG) detection rate of random samples at truncation 0.7, beside the
   rate on the renderer's own images of the same latents;
2. PSNR of the mapping: G(z) against render(z_to_params(z)) for held-out z;
3. PSNR of W+ projection (``project_image``, weight-free loss) of held-out
   renders, after each of a few step counts.

Beside each PSNR, the PSNR over the eyes, brows, nose and mouth only (the
pixels dlib reads; they cover about 3 % of a render).

    python benchmarks/synthetic_network.py --run runs/synthetic-heads-128
    python benchmarks/synthetic_network.py --network synthetic-heads-128.safetensors --samples 200

Held-out latents come from the trainer's held-out stream (never trained on).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def load_network(args):
    from video2stylegan.networks.loading import load_generator
    from video2stylegan.training.export import export_generator

    if args.network:
        return load_generator(args.network)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_generator(args.run, Path(tmp) / "G.safetensors", w_avg_samples=5000, dtype=torch.float32)
        return load_generator(path)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    return ((images.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def detection_rate(G, samples: int, psi: float, seed: int) -> tuple[float, float]:
    """Fraction of samples (and of the renders of the same truncated params) where dlib finds a face."""
    from video2stylegan.faces.detection import detect_faces
    from video2stylegan.synthetic.renderer import render
    from video2stylegan.training.latents import z_to_params

    gen = torch.Generator().manual_seed(seed)
    z = torch.randn(samples, G.z_dim, generator=gen)
    found_g = found_r = 0
    with torch.no_grad():
        for i in range(0, samples, 8):
            images = to_uint8(G(z[i : i + 8], truncation_psi=psi))
            found_g += sum(1 for img in images if detect_faces(img))
    for i in range(samples):
        found_r += 1 if detect_faces(render(z_to_params(z[i].numpy()), G.img_resolution).image) else 0
    return found_g / samples, found_r / samples


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="train-synthetic run folder (its latest EMA generator)")
    src.add_argument("--network", help="network file or registry name")
    ap.add_argument("--samples", type=int, default=100, help="samples for the detection rate")
    ap.add_argument("--psi", type=float, default=0.7, help="truncation of the samples")
    ap.add_argument("--heldout", type=int, default=8, help="held-out renders to project")
    ap.add_argument("--steps", default="100,300", help="projection step counts (comma separated)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the training run (held-out stream)")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from video2stylegan.runtime import keep_freed_memory

    keep_freed_memory()  # as the command line does

    from video2stylegan.method.losses import tensor_psnr
    from video2stylegan.method.projection import ProjectionSettings, project_image
    from video2stylegan.training.data import sample_batch
    from video2stylegan.training.latents import HELDOUT_STREAM
    from video2stylegan.training.losses import feature_psnr

    G = load_network(args).eval()
    print(f"network: num_ws={G.num_ws} w_dim={G.w_dim} {G.img_resolution} px, "
          f"{sum(p.numel() for p in G.parameters()) / 1e6:.2f} M parameters")

    t = time.time()
    rate_g, rate_r = detection_rate(G, args.samples, args.psi, 1234)
    print(f"\n| samples (psi={args.psi}) | dlib detects a face | bar |")
    print("|---|---|---|")
    print(f"| generator, {args.samples} samples | {100 * rate_g:.1f} % | >= 90 % |")
    print(f"| renders of the same latents | {100 * rate_r:.1f} % | |")
    print(f"({time.time() - t:.0f} s)")

    # Held-out latents beyond the trainer's logged set, so they were never looked at either.
    z, targets, features = sample_batch(
        range(100, 100 + args.heldout), G.img_resolution, args.seed, HELDOUT_STREAM, features=True
    )
    with torch.no_grad():
        mapped = torch.cat([G(z[i : i + 4]) for i in range(0, len(z), 4)])
    print(f"\nmapping PSNR, G(z) vs render(z), {args.heldout} held-out latents: "
          f"{float(tensor_psnr(mapped.clamp(-1, 1), targets).mean()):.2f} dB "
          f"(features only: {feature_psnr(mapped, targets, features):.2f} dB)")

    print("\n| W+ projection steps | mean PSNR (dB) | min PSNR (dB) | features only (dB) | s per image | bar |")
    print("|---|---|---|---|---|---|")
    for steps in [int(s) for s in args.steps.split(",")]:
        t = time.time()
        settings = ProjectionSettings(steps=steps, perceptual="fallback")
        result = project_image(G, targets, settings, progress=False)
        with torch.no_grad():
            images = torch.cat([G.synthesis(result.ws[i : i + 4]) for i in range(0, len(z), 4)])
        values = tensor_psnr(images.clamp(-1, 1), targets)
        print(f"| {steps} | {float(values.mean()):.2f} | {float(values.min()):.2f} | "
              f"{feature_psnr(images, targets, features):.2f} | {(time.time() - t) / len(z):.1f} | >= 28 |")


if __name__ == "__main__":
    main()
