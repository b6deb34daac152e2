"""Synthesis speed: our StyleGAN3 vs the textbook reference path, on the same weights.

Prints a Markdown table (seconds per call, best of --repeats, the two paths
interleaved so that background load hits both alike), the speed-up and the
largest output difference; then the convolution floor, and the memory a
forward+backward pass keeps for backward, ours vs the same layers with
autograd's own convolution nodes. With a CUDA GPU it also prints images/s of our
path at 256 and 1024 px (R config, random weights, batch 1 and 8, fp32/fp16).

    python benchmarks/synthesis.py            # CPU comparison, 128 px T config
    python benchmarks/synthesis.py --gpu      # + GPU throughput and memory tables
    python benchmarks/synthesis.py --gpu --skip-cpu   # the GPU tables alone (a short device check)
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.networks.reference_ops import autograd_convolutions, kept_for_backward, reference_synthesis  # noqa: E402
from video2stylegan.networks.registry import official_generator_kwargs  # noqa: E402
from video2stylegan.networks.stylegan3 import Generator  # noqa: E402

# The issue's yardstick: a 128x128 T model with about 1.4 M parameters.
CPU_CONFIG = dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=128, img_channels=3, channel_base=4096, channel_max=128)


def timed(fn, sync=lambda: None) -> float:
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def forward_backward(synthesize, ws):
    ws = ws.detach().clone().requires_grad_(True)
    synthesize(ws).square().mean().backward()
    return ws.grad


def compare_cpu(batches, repeats, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G = Generator(**CPU_CONFIG).eval().requires_grad_(False)
    n_params = sum(p.numel() for p in G.parameters())
    ours = lambda ws: G.synthesis(ws)  # noqa: E731
    ref = lambda ws: reference_synthesis(G, ws)  # noqa: E731
    print(f"CPU, {threads} threads, torch {torch.__version__}: 128x128 T config, {n_params / 1e6:.2f} M parameters, "
          f"best of {repeats}\n")
    print("| batch | pass | reference s | ours s | speed-up | max abs diff |")
    print("|---:|---|---:|---:|---:|---:|")
    for batch in batches:
        ws = G.mapping(torch.randn(batch, G.z_dim), truncation_psi=0.7)
        with torch.no_grad():
            diff = float((ours(ws) - ref(ws)).abs().max())
        for label, run in [("forward", lambda f: torch.no_grad()(f)(ws)), ("forward+backward (ws)", lambda f: forward_backward(f, ws))]:
            best = {"ref": float("inf"), "ours": float("inf")}
            for _ in range(repeats):
                for key, fn in (("ref", ref), ("ours", ours)):
                    best[key] = min(best[key], timed(lambda: run(fn)))
            print(f"| {batch} | {label} | {best['ref']:.3f} | {best['ours']:.3f} | {best['ref'] / best['ours']:.1f}x | {diff:.1e} |")


def convolution_floor(batches, repeats, threads):
    """Time the synthesis layers' convolutions alone, shapes as in the network (channels-last).

    Both paths run exactly these convolutions (at batch 1 the reference's grouped convolution is
    an ordinary one), so reference time / this time bounds the forward speed-up any rewrite of the
    rest (filtering, nonlinearity, modulation) can reach.
    """
    import torch.nn.functional as F

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G = Generator(**CPU_CONFIG).eval().requires_grad_(False)
    ref = lambda ws: reference_synthesis(G, ws)  # noqa: E731
    print("\nForward floor: the layers' convolutions alone (shared by both paths), best of", repeats, "\n")
    print("| batch | convolutions s | GFLOP | GFLOP/s | reference forward s | speed-up bound |")
    print("|---:|---:|---:|---:|---:|---:|")
    for batch in batches:
        shapes = []
        for name in G.synthesis.layer_names:
            layer = getattr(G.synthesis, name)
            k, size = layer.conv_kernel, int(layer.in_size[0])
            x = torch.randn(batch, layer.in_channels, size, size).contiguous(memory_format=torch.channels_last)
            w = torch.randn(layer.out_channels, layer.in_channels, k, k).contiguous(memory_format=torch.channels_last)
            shapes.append((x, w, k - 1))
        flop = sum(2 * x.shape[0] * (x.shape[2] + p) ** 2 * w.numel() for x, w, p in shapes) / 1e9

        def convs():
            with torch.no_grad():
                for x, w, p in shapes:
                    F.conv2d(x, w, padding=p)

        ws = G.mapping(torch.randn(batch, G.z_dim), truncation_psi=0.7)
        best_conv, best_ref = float("inf"), float("inf")
        for _ in range(repeats):
            best_conv = min(best_conv, timed(convs))
            best_ref = min(best_ref, timed(lambda: torch.no_grad()(ref)(ws)))
        print(f"| {batch} | {best_conv:.3f} | {flop:.2f} | {flop / best_conv:.0f} | {best_ref:.3f} | "
              f"{best_ref / best_conv:.1f}x |")


def saved_for_backward(G, ws) -> int:
    """Bytes autograd keeps for the backward pass of ``G.synthesis(ws)`` (on the ``meta`` device too)."""
    _, kept = kept_for_backward(G.synthesis, ws.detach().clone().requires_grad_(True))
    return sum(storage.nbytes() for storage in kept)


def official_shapes(resolution, config):
    """A random-weight generator built with the keywords NVIDIA's ``train.py`` passes for its FFHQ
    networks (T or R config, batch 32; at 1024 px those of the registry's ``stylegan3-{t,r}-ffhq-1024x1024``)."""
    return Generator(**official_generator_kwargs(config, resolution, batch=32))


@contextlib.contextmanager
def recomputing(G):
    """``G.synthesis.recompute_activations`` on for the duration."""
    G.synthesis.recompute_activations = True
    try:
        yield
    finally:
        G.synthesis.recompute_activations = False


def backward_memory(batches, repeats, threads):
    """Activations kept for backward (and the forward+backward time): autograd's convolution nodes,
    ours, and ours recomputing the upsampled activations in backward."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    G = Generator(**CPU_CONFIG).eval().requires_grad_(False)
    print("\nKept for backward (frozen weights, gradient w.r.t. ws): the same layers with autograd's convolution "
          f"nodes, ours, ours with recompute_activations; time best of {repeats}\n")
    print("| network | batch | autograd convs GB | ours GB | recomputing GB | autograd convs s | ours s | recomputing s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    modes = {"plain": lambda: autograd_convolutions(), "ours": contextlib.nullcontext, "recompute": lambda: recomputing(G)}

    def row(label, ws, times=None):
        kept = {}
        for key, mode in modes.items():
            with mode():
                kept[key] = saved_for_backward(G, ws) / 1e9
        seconds = [f"{times[k]:.3f}" for k in modes] if times else ["", "", ""]
        print(f"| {label} | {ws.shape[0]} | {kept['plain']:.2f} | {kept['ours']:.2f} ({kept['ours'] / kept['plain']:.2f}) | "
              f"{kept['recompute']:.2f} ({kept['recompute'] / kept['plain']:.2f}) | {' | '.join(seconds)} |")

    for batch in batches:
        ws = G.mapping(torch.randn(batch, G.z_dim), truncation_psi=0.7)
        best = dict.fromkeys(modes, float("inf"))
        for _ in range(repeats):
            for key, mode in modes.items():
                with mode():
                    best[key] = min(best[key], timed(lambda: forward_backward(G.synthesis, ws)))
        row("128 px T (above)", ws, best)
    # NVIDIA's FFHQ channel settings, on the meta device: memory only.
    for resolution, config in [(256, "R"), (1024, "T"), (1024, "R")]:
        G = official_shapes(resolution, config).eval().requires_grad_(False).to("meta")
        for batch in batches:
            row(f"{resolution} px {config}, FFHQ channels", torch.zeros(batch, G.num_ws, 512, device="meta"))


def gpu_throughput(repeats):
    device = torch.device("cuda")
    print(f"\nGPU: {torch.cuda.get_device_name(device)}, torch {torch.__version__}; R config, random weights\n")
    print("| resolution | batch | dtype | images/s |")
    print("|---:|---:|---|---:|")
    for resolution in (256, 1024):
        torch.manual_seed(0)
        G = official_shapes(resolution, "R").eval().requires_grad_(False).to(device)
        for batch in (1, 8):
            ws = G.mapping(torch.randn(batch, 512, device=device))
            for dtype in (torch.float32, torch.float16):
                def run():
                    with torch.no_grad(), torch.autocast("cuda", dtype=dtype, enabled=dtype == torch.float16):
                        G.synthesis(ws)
                run()
                best = min(timed(run, torch.cuda.synchronize) for _ in range(repeats))
                print(f"| {resolution} | {batch} | {str(dtype).split('.')[-1]} | {batch / best:.1f} |")
    print("\nForward+backward w.r.t. ws (a projection step), fp32, batch 1: peak GPU memory and time with "
          "autograd's convolution nodes, ours, ours with recompute_activations\n")
    print("| resolution | autograd convs GB | ours GB | recomputing GB | autograd convs s | ours s | recomputing s |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for resolution in (256, 1024):
        torch.manual_seed(0)
        G = official_shapes(resolution, "R").eval().requires_grad_(False).to(device)
        ws = G.mapping(torch.randn(1, 512, device=device))
        modes = {"plain": autograd_convolutions, "ours": contextlib.nullcontext, "recompute": lambda: recomputing(G)}
        cells = {}
        for key, mode in modes.items():
            with mode():
                forward_backward(G.synthesis, ws)
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats(device)
                seconds = min(timed(lambda: forward_backward(G.synthesis, ws), torch.cuda.synchronize)
                              for _ in range(repeats))
                cells[key] = (torch.cuda.max_memory_allocated(device) / 1e9, seconds)
        print(f"| {resolution} | " + " | ".join(f"{cells[k][0]:.2f}" for k in modes) + " | "
              + " | ".join(f"{cells[k][1]:.3f}" for k in modes) + " |")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", default="1,8", help="batch sizes for the CPU comparison")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--gpu", action="store_true", help="also measure GPU throughput and memory (needs CUDA)")
    parser.add_argument("--skip-cpu", action="store_true", help="only the GPU tables (with --gpu)")
    parser.add_argument("--default-malloc", action="store_true",
                        help="leave glibc's allocator as it is (the command line keeps freed memory; video2stylegan.runtime)")
    args = parser.parse_args()
    if not args.default_malloc:
        from video2stylegan.runtime import keep_freed_memory

        print(f"keep freed memory (as the command line does): {keep_freed_memory()}")
    batches = [int(b) for b in args.batches.split(",")]
    if not args.skip_cpu:
        compare_cpu(batches, args.repeats, args.threads)
        convolution_floor(batches, args.repeats, args.threads)
        backward_memory(batches, args.repeats, args.threads)
    if args.gpu:
        if not torch.cuda.is_available():
            sys.exit("--gpu: PyTorch sees no CUDA device here")
        gpu_throughput(args.repeats)


if __name__ == "__main__":
    main()
