"""Subcommands about networks: ``info``, ``generate``, ``convert``."""

from __future__ import annotations

import argparse
import math
import re
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from video2stylegan.cli.options import bounded_float, bounded_int
from video2stylegan.errors import InvalidOptionError
from video2stylegan.io import write_image
from video2stylegan.io.outputs import check_output, removed_on_failure
from video2stylegan.networks.checkpoint import save_generator
from video2stylegan.networks.loading import load_generator
from video2stylegan.networks.registry import NETWORKS, build_meta_network, cached_path
from video2stylegan.networks.transforms import make_transform_degrees, to_uint8_images


#: Largest seed: ``numpy.random.RandomState`` (which draws each seed's z) takes seeds up to 2**32 - 1.
SEED_MAX = 2**32 - 1
#: Most images one ``generate`` writes (twice the 50 000 an FID needs): the seed list is built in memory
#: and every image is written, so ``0-99999999999`` is refused before anything is allocated.
SEEDS_MAX_COUNT = 100_000
#: Most images per forward pass of ``generate``.
BATCH_RANGE = (1, 256)


def _seed_ranges(text: str) -> list[tuple[int, int]]:
    """``'0-3,7'`` -> ``[(0, 3), (7, 7)]``, each seed checked against :data:`SEED_MAX` and the count against
    :data:`SEEDS_MAX_COUNT` from the ranges' ends, without building the list."""
    ranges, count = [], 0
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise InvalidOptionError(f"--seeds: cannot read {part!r}; use numbers and ranges like 0-7,10")
        # (more digits than SEED_MAX has are past it; int() of thousands of digits would raise ValueError)
        if any(len(g.lstrip("0")) > len(str(SEED_MAX)) for g in match.groups() if g):
            raise InvalidOptionError(f"--seeds: {part[:30]!r} goes past the largest seed, {SEED_MAX} (2**32 - 1)")
        lo, hi = int(match.group(1)), int(match.group(2) or match.group(1))
        if hi < lo:
            raise InvalidOptionError(f"--seeds: range {part!r} runs backwards")
        if hi > SEED_MAX:
            raise InvalidOptionError(f"--seeds: {part!r} goes past the largest seed, {SEED_MAX} (2**32 - 1)")
        count += hi - lo + 1
        if count > SEEDS_MAX_COUNT:
            raise InvalidOptionError(
                f"--seeds: {text!r} asks for more than {SEEDS_MAX_COUNT} images; split it over several runs"
            )
        ranges.append((lo, hi))
    return ranges


def parse_seeds(text: str) -> list[int]:
    """'0-3,7' -> [0, 1, 2, 3, 7]; seeds 0 to :data:`SEED_MAX`, at most :data:`SEEDS_MAX_COUNT` of them."""
    return [seed for lo, hi in _seed_ranges(text) for seed in range(lo, hi + 1)]


def seeds_type(text: str) -> str:
    """``--seeds`` checked at parse time (syntax, largest seed, count); the text is kept for :func:`parse_seeds`."""
    try:
        _seed_ranges(text)
    except InvalidOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix("--seeds: ")) from None
    return text


def parse_pair(text: str, option: str, limit: float = 1.0) -> tuple[float, float]:
    try:
        x, y = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidOptionError(f"{option}: expected two numbers like 0.1,-0.05, got {text!r}") from None
    if not all(math.isfinite(v) and abs(v) <= limit for v in (x, y)):
        raise InvalidOptionError(f"{option}: {text!r} must be two finite numbers from {-limit:g} to {limit:g}")
    return x, y


def register(subparsers) -> None:
    p = subparsers.add_parser("info", help="describe a network: resolution, ws, layers, parameters")
    p.add_argument("network", help="registry name or path to a .pkl/.safetensors file")
    p.set_defaults(func=run_info)

    p = subparsers.add_parser("generate", help="render images from random seeds")
    p.add_argument("--network", required=True, help="registry name or path to a .pkl/.safetensors file")
    p.add_argument("--seeds", type=seeds_type, default="0-7",
                   help=f"seeds, e.g. 0-7,12 (default 0-7): each 0 to {SEED_MAX}, at most {SEEDS_MAX_COUNT} in all")
    p.add_argument("--trunc", type=bounded_float(-2, 2), default=0.7,
                   help="truncation psi, -2 to 2 (default 0.7; 1 = none)")
    p.add_argument("--rotate", type=bounded_float(-360, 360), default=0.0,
                   help="rotate the output by DEG degrees counter-clockwise, -360 to 360")
    p.add_argument("--translate", default="0,0", help="shift the output by X,Y image widths (right, down), each -1 to 1")
    p.add_argument("--outdir", required=True, type=Path, help="folder for seedNNNN.png files")
    p.add_argument("--batch", type=bounded_int(*BATCH_RANGE), default=4,
                   help=f"images per forward pass, {BATCH_RANGE[0]} to {BATCH_RANGE[1]} (default 4)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default auto)")
    p.set_defaults(func=run_generate)

    p = subparsers.add_parser("convert", help="convert an official .pkl to our pickle-free .safetensors")
    p.add_argument("source", help="registry name or path to an official .pkl")
    p.add_argument("target", type=Path, help="output .safetensors path")
    p.add_argument("--fp16", action="store_true", help="store weights as float16 (half the size)")
    p.set_defaults(func=run_convert)


def describe(G) -> str:
    n_params = sum(p.numel() for p in G.parameters())
    config = "R" if G.init_kwargs.get("conv_kernel", 3) == 1 else "T"
    lines = [
        f"StyleGAN3-{config}  {G.img_resolution}x{G.img_resolution}, {G.img_channels} channels",
        f"z_dim {G.z_dim}, w_dim {G.w_dim}, c_dim {G.c_dim}, num_ws {G.num_ws}, parameters {n_params:,}",
        f"mapping layers {G.mapping.num_layers}",
        "style  layer (size, channels)",
        f"  ws[0]  input  Fourier features {int(G.synthesis.input.size[0])}px x {G.synthesis.input.channels}",
    ]
    for i, name in enumerate(G.synthesis.layer_names, start=1):
        lines.append(f"  ws[{i}]  {name}  {getattr(G.synthesis, name).extra_repr()}")
    return "\n".join(lines)


def run_info(args: argparse.Namespace) -> None:
    spec = NETWORKS.get(args.network)
    if spec is not None and spec.generator_kwargs is not None and not Path(args.network).exists() \
            and not cached_path(spec).is_file():
        # An official network not downloaded yet: its architecture is known without the file.
        print(describe(build_meta_network(spec)))
        print(f"(not downloaded yet: {spec.url} is fetched on first use into {cached_path(spec)})")
        return
    print(describe(load_generator(args.network)))


def run_generate(args: argparse.Namespace) -> None:
    seeds = parse_seeds(args.seeds)
    if args.batch < 1:
        raise InvalidOptionError("--batch must be at least 1")
    transform = make_transform_degrees(args.rotate, parse_pair(args.translate, "--translate"))
    check_output(args.outdir, {"--network": args.network}, what="--outdir", kind="dir",
                 contents=[f"seed{s:04d}.png" for s in seeds])
    G = load_generator(args.network, device=args.device)
    device = G.w_avg.device
    with removed_on_failure(args.outdir, [f"seed{s:04d}.png" for s in seeds]), torch.no_grad(), \
            tqdm(total=len(seeds), desc="generating", unit="img") as bar:
        for start in range(0, len(seeds), args.batch):
            chunk = seeds[start : start + args.batch]
            z = torch.stack([torch.from_numpy(_seed_z(s, G.z_dim)) for s in chunk]).to(device)
            ws = G.mapping(z, truncation_psi=args.trunc)
            images = to_uint8_images(G.synthesis(ws, transform=transform.to(device)))
            for seed, image in zip(chunk, images):
                write_image(args.outdir / f"seed{seed:04d}.png", image)
            bar.update(len(chunk))
    print(f"wrote {len(seeds)} images to {args.outdir}")


def _seed_z(seed: int, z_dim: int):
    return np.random.RandomState(seed).randn(z_dim).astype(np.float32)


def _converted_size(args: argparse.Namespace) -> int | None:
    """A lower bound of the converted file's size: a quarter of the source file (an official snapshot holds
    G, D and G_ema, of which only G_ema is kept), an eighth in float16; ``None`` for a registry name."""
    source = Path(args.source)
    if not source.is_file():
        return None
    return source.stat().st_size // (8 if args.fp16 else 4)


def run_convert(args: argparse.Namespace) -> None:
    if args.target.suffix != ".safetensors":
        raise InvalidOptionError(f"convert: target {args.target} should end in .safetensors")
    check_output(args.target, {"source": args.source}, what="target", expected_bytes=_converted_size(args))
    G = load_generator(args.source)
    save_generator(G, args.target, dtype=torch.float16 if args.fp16 else torch.float32)
    print(f"wrote {args.target} ({args.target.stat().st_size / 1e6:.1f} MB)")
