"""Which optimiser settings make the synthetic-heads StyleGAN3 learn fastest (issue #4, part 3).

A short, fair race between training settings: every variant starts from the
same initial weights, sees the same pre-rendered training images in the same
order (``--images`` renders, reused once exhausted) and is scored on the same
held-out renders (PSNR of the raw generator, not the EMA copy) every
``--every`` steps. It trains exactly like ``train-synthetic`` (mapping +
synthesis with ``update_emas``, the run's loss, Adam) but without the
worker, checkpoints or EMA, so that only the settings differ.

    python benchmarks/trainer_settings.py                      # the default race, one thread per variant
    python benchmarks/trainer_settings.py --variants lr=0.015 lr=0.015,mapping_lr_multiplier=1.0 --steps 300

A variant is ``key=value`` pairs joined by commas; keys are TrainConfig fields
(``lr``, ``batch``, ``mapping_lr_multiplier``, ``w_dim``, ...) plus ``beta1``.
Prints one Markdown row per variant with the held-out PSNR at each checkpoint.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

DEFAULT_VARIANTS = (
    "lr=0.005,beta1=0.0,mapping_lr_multiplier=0.1",
    "lr=0.005,beta1=0.9,mapping_lr_multiplier=0.1",
    "lr=0.015,beta1=0.9,mapping_lr_multiplier=0.1",
    "lr=0.03,beta1=0.9,mapping_lr_multiplier=0.1",
    "lr=0.015,beta1=0.9,mapping_lr_multiplier=1.0",
    "lr=0.015,beta1=0.9,mapping_lr_multiplier=3.0",
    "lr=0.015,beta1=0.0,mapping_lr_multiplier=1.0",
    "lr=0.015,beta1=0.9,mapping_lr_multiplier=1.0,w_dim=128",
)
# 71 k parameters (8 channels in the last layers), w_dim 64; 50-step warm-up, then a constant learning rate.
BASE = dict(channel_base=1024, channel_max=32, w_dim=64, lr_warmup_steps=50, lr_half_life_steps=10**9)


def parse_variant(text: str) -> dict:
    out = {}
    for item in filter(None, text.split(",")):
        key, _, value = item.partition("=")
        out[key.strip()] = json.loads(value)
    return out


def render_set(count: int, resolution: int, stream: int) -> tuple[torch.Tensor, torch.Tensor]:
    from video2stylegan.training.data import sample_batch

    return sample_batch(range(count), resolution, stream=stream)


def race(variant: dict, data, steps: int, every: int, seed: int) -> list[float]:
    from video2stylegan.training.checkpoints import build_generator
    from video2stylegan.training.config import TrainConfig
    from video2stylegan.training.loop import train_step
    from video2stylegan.training.losses import evaluate

    settings = dict(BASE, **variant)
    beta1 = settings.pop("beta1", None)
    config = TrainConfig(**settings)
    beta1 = config.betas[0] if beta1 is None else float(beta1)
    torch.manual_seed(seed)
    G = build_generator(config)
    opt = torch.optim.Adam(G.parameters(), lr=config.lr, betas=(beta1, config.betas[1]))
    z, images, hz, himages = data
    scores = []
    for step in range(steps):
        idx = torch.arange(step * config.batch, (step + 1) * config.batch) % len(z)
        train_step(G, opt, z[idx], images[idx], config, config.lr_at(step))
        if (step + 1) % every == 0:
            scores.append(evaluate(G, hz, himages)[0])
    return scores


def main() -> None:
    from video2stylegan.training.latents import HELDOUT_STREAM, TRAIN_STREAM

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS))
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--images", type=int, default=2048, help="pre-rendered training images")
    ap.add_argument("--heldout", type=int, default=64)
    ap.add_argument("--resolution", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from video2stylegan.runtime import keep_freed_memory

    keep_freed_memory()  # as the command line does
    t0 = time.perf_counter()
    data = (*render_set(args.images, args.resolution, TRAIN_STREAM),
            *render_set(args.heldout, args.resolution, HELDOUT_STREAM))
    print(f"rendered {args.images} + {args.heldout} images in {time.perf_counter() - t0:.0f} s; base {BASE}\n")
    marks = list(range(args.every, args.steps + 1, args.every))
    print("| variant | " + " | ".join(f"dB @{m}" for m in marks) + " | s/step |")
    print("|---|" + "---:|" * (len(marks) + 1))
    for text in args.variants:
        start = time.perf_counter()
        scores = race(parse_variant(text), data, args.steps, args.every, args.seed)
        per_step = (time.perf_counter() - start) / max(args.steps, 1)
        print(f"| {text} | " + " | ".join(f"{s:.2f}" for s in scores) + f" | {per_step:.2f} |", flush=True)


if __name__ == "__main__":
    main()
