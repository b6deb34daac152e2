"""Speed and dlib agreement of the synthetic head renderer.

Run: ``python benchmarks/renderer.py [--renders N] [--workers W] [--seed-start S]``.

Prints renders per second (and per minute) at 128 and 256 px, in one process
and with ``W`` worker processes (``render_batch(..., workers=W)``); then, over
``N`` seeded random renders (``sample_params(S..S+N-1)``, natural pose
distribution, and the uniform pose box), dlib's HOG detection
rate (one upsampling, as ``faces.detection`` uses at these sizes) and the
68-point predictor's normalised mean error against the renderer's ground
truth (mean point distance / outer-eye-corner distance, 300W's convention).
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np


def _throughput(size: int, n: int, workers: int) -> float:
    from video2stylegan.synthetic import render_batch

    render_batch(range(2), size)  # warm-up
    start = time.perf_counter()
    render_batch(range(10_000, 10_000 + n), size, workers=workers)
    return n / (time.perf_counter() - start)


def _agreement(size: int, seeds, distribution: str) -> tuple[float, np.ndarray]:
    import dlib

    from video2stylegan.faces.models import LANDMARKS_68, dlib_model_path
    from video2stylegan.synthetic import render, sample_params

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(str(dlib_model_path(LANDMARKS_68)))
    found, nme = 0, []
    for s in seeds:
        r = render(sample_params(s, distribution), size)
        dets = detector(r.image, 1)
        if not dets:
            continue
        found += 1
        shape = predictor(r.image, max(dets, key=lambda d: d.area()))
        pred = np.array([[p.x, p.y] for p in shape.parts()], float)
        iod = np.linalg.norm(r.landmarks[36] - r.landmarks[45])
        nme.append(np.linalg.norm(pred - r.landmarks, axis=1).mean() / iod)
    return found / len(seeds), np.array(nme)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=200, help="renders for the dlib check (default 200)")
    parser.add_argument("--speed-renders", type=int, default=60, help="renders per speed measurement")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--seed-start", type=int, default=1000)
    args = parser.parse_args()

    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print("size  workers  renders/s  renders/min")
    for size in (128, 256):
        n = args.speed_renders if size == 128 else max(10, args.speed_renders // 3)
        for workers in sorted({1, args.workers}):
            rate = _throughput(size, n, workers)
            print(f"{size:4d}  {workers:7d}  {rate:9.1f}  {60 * rate:11.0f}")

    seeds = range(args.seed_start, args.seed_start + args.renders)
    print(f"\ndlib on {args.renders} renders (seeds {seeds.start}..{seeds.stop - 1})")
    print("size  poses     detected  NME mean  NME median  NME p90")
    for size, dist in ((128, "natural"), (256, "natural"), (128, "uniform"), (256, "uniform")):
        rate, nme = _agreement(size, seeds, dist)
        print(
            f"{size:4d}  {dist:8s}  {rate:8.1%}  {nme.mean():8.4f}  {np.median(nme):10.4f}  {np.percentile(nme, 90):7.4f}"
        )


if __name__ == "__main__":
    main()
