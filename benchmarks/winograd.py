"""Would Winograd convolutions beat oneDNN's direct 3x3 convolutions here? (measured: barely; not used)

The CPU speed-up of our synthesis over the reference is bounded by the 3x3
convolutions both run (``benchmarks/synthesis.py``, convolution floor).
Winograd's F(4x4, 3x3) computes them with 4x fewer multiplications: the
input tiles and the weights are transformed, the products become 36 batched
matrix products over the channels, and the result tiles are transformed back.
This script times that, written in plain PyTorch (matrix products through
MKL), against ``F.conv2d`` plus the modulation and demodulation our layers
do, for every modulated convolution of the 128 px T benchmark network, and
prints the largest error against a float64 convolution.

    python benchmarks/winograd.py [--batch 1] [--repeats 7] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthesis import CPU_CONFIG  # noqa: E402

# F(4x4, 3x3) with the points 0, +-1, +-2 and infinity (Lavin and Gray 2016).
B_T = torch.tensor([[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]], dtype=torch.float64)
G_MAT = torch.tensor([[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6],
                      [1 / 24, 1 / 12, 1 / 6], [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]], dtype=torch.float64)
A_T = torch.tensor([[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]],
                   dtype=torch.float64)
TILE, WINDOW = 4, 6


def winograd_weight(weight):
    """[K, C, 3, 3] -> [36, C, K]: G g G^T for every (output, input) channel pair."""
    g = G_MAT.to(weight.dtype)
    return torch.einsum("ak,oikl,bl->abio", g, weight, g).reshape(WINDOW * WINDOW, weight.shape[1], weight.shape[0])


def winograd_modulated_conv(x, u, scale, dcoefs, bias):
    """conv(x * scale, w, padding=2) * dcoefs + bias for channels-last x, with u = winograd_weight(w)."""
    n, c, h, w = x.shape
    k = u.shape[-1]
    out_h, out_w = h + 2, w + 2
    tiles_h, tiles_w = -(-out_h // TILE), -(-out_w // TILE)
    padded = F.pad(x.permute(0, 2, 3, 1), (0, 0, 2, tiles_w * TILE - w, 2, tiles_h * TILE - h))
    tiles = padded.unfold(1, WINDOW, TILE).unfold(2, WINDOW, TILE)  # [N, tH, tW, C, 6, 6]
    tiles = tiles.permute(0, 4, 5, 1, 2, 3).reshape(n, WINDOW * WINDOW, -1)
    v = (torch.kron(B_T, B_T).to(x.dtype) @ tiles).view(n, WINDOW * WINDOW, tiles_h * tiles_w, c)
    # Modulation and demodulation scale the transformed weights, not the activations.
    m = v @ (u * scale.reshape(n, 1, c, 1) * dcoefs.reshape(n, 1, 1, k))
    y = (torch.kron(A_T, A_T).to(x.dtype) @ m.view(n, WINDOW * WINDOW, -1)).view(n, TILE, TILE, tiles_h, tiles_w, k)
    out = torch.empty(n, tiles_h * TILE, tiles_w * TILE, k, dtype=x.dtype)
    torch.add(y.permute(0, 3, 1, 4, 2, 5), bias, out=out.view(n, tiles_h, TILE, tiles_w, TILE, k))
    return out[:, :out_h, :out_w].permute(0, 3, 1, 2)


def direct_modulated_conv(x, weight, scale, dcoefs, bias):
    y = F.conv2d(x * scale[:, :, None, None], weight, padding=2)
    return torch.addcmul(bias[None, :, None, None], y, dcoefs[:, :, None, None])


def best_ms(fn, repeats):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    from video2stylegan.networks.stylegan3 import Generator

    torch.manual_seed(0)
    G = Generator(**CPU_CONFIG).eval().requires_grad_(False)
    print(f"128 px T config, batch {args.batch}, {args.threads} threads, best of {args.repeats}\n")
    print("| layer | in -> out channels | size | direct ms | Winograd ms | ratio | direct error | Winograd error |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    total_direct = total_winograd = total_best = 0.0
    for name in G.synthesis.layer_names:
        layer = getattr(G.synthesis, name)
        if layer.conv_kernel != 3:
            continue
        size, c, k = int(layer.in_size[0]), layer.in_channels, layer.out_channels
        x = torch.randn(args.batch, c, size, size).contiguous(memory_format=torch.channels_last)
        weight, _ = layer._prepared_weight()
        scale, dcoefs, bias = torch.rand(args.batch, c) + 0.5, torch.rand(args.batch, k) + 0.5, torch.randn(k)
        u = winograd_weight(weight.contiguous())
        exact = direct_modulated_conv(x.double(), weight.double(), scale.double(), dcoefs.double(), bias.double())
        err_direct = float((direct_modulated_conv(x, weight, scale, dcoefs, bias) - exact).abs().max())
        err_winograd = float((winograd_modulated_conv(x, u, scale, dcoefs, bias) - exact).abs().max())
        t_direct = best_ms(lambda: direct_modulated_conv(x, weight, scale, dcoefs, bias), args.repeats)
        t_winograd = best_ms(lambda: winograd_modulated_conv(x, u, scale, dcoefs, bias), args.repeats)
        total_direct, total_winograd = total_direct + t_direct, total_winograd + t_winograd
        total_best += min(t_direct, t_winograd)
        print(f"| {name} | {c} -> {k} | {size} | {t_direct:.1f} | {t_winograd:.1f} | {t_direct / t_winograd:.2f}x | "
              f"{err_direct:.1e} | {err_winograd:.1e} |")
    print(f"\nAll layers: direct {total_direct:.1f} ms, Winograd {total_winograd:.1f} ms; "
          f"the faster one per layer {total_best:.1f} ms ({total_direct / total_best:.2f}x)")


if __name__ == "__main__":
    main()
