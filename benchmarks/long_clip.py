"""Peak memory and wall time of ``reenact`` against the driving clip's length.

Run: ``python benchmarks/long_clip.py [--frames 50,200,800] [--project] [--device cuda]``.

The driving clip is the bundled demo clip (``assets/demo/driving.mp4``, 100
frames at 256 px) played forwards then backwards until it holds N frames (no
jump at the seams, so no shot cut is detected), written as an MP4. Each N runs
``video2stylegan.reenact`` in a fresh Python process on the bundled
``synthetic-heads-128`` network (128 px), no cache (``cache_dir=False``),
writing a side-by-side MP4 (``side_by_side=True``) on the CPU. To keep a run
within minutes on 2 shared CPU cores (one projection step of one 128-px frame
takes about 3 s there), the per-frame optimisations are off: the method runs
the canonical transform only (``use_local=False, use_residual=False,
use_pose=False, canonical_feedback=False``, so no driving frame is projected
and no Eq. 7 runs), and the source gets ``quality="draft"`` with
``source_steps=5, pti_steps=0``. What is left per frame is what a long clip
holds in memory: decoding, tracking and aligning every frame, rendering, the
side-by-side composition and the encoding. The child reports its peak
resident set (``VmHWM`` of ``/proc/self/status``, so the parent's memory is not
mixed in), its resident set after the imports (the floor every run shares) and
the wall time of the ``reenact`` call.

``--project`` also projects every driving frame (``embed driving``: the
baseline method, ``method="baseline"``, which needs the driving ws and skips
the calibration and Eq. 7; ``--first-frame-steps`` and ``--frame-steps``
steps, default 1 each), to measure what the projection holds per frame. On
the CPU that costs about 3 s a frame at 128 px, so it is meant for a GPU
(``--device cuda``); peak RSS is then the host's memory, where the driving
crops are read.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path


#: The method switches of the measured runs (module doc).
TRANSFORM_ONLY = dict(use_local=False, use_residual=False, use_pose=False, canonical_feedback=False)
#: ... and with ``--project``: every driving frame projected, rendered by the baseline (module doc).
PROJECT = dict(method="baseline", use_pose=False, canonical_feedback=False)


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def make_clip(out: Path, frames: int) -> Path:
    """The demo clip ping-ponged to ``frames`` frames."""
    from video2stylegan.io.video import iter_frames, write_video
    from video2stylegan.synthetic.demo import DEMO_DIR

    base = list(iter_frames(DEMO_DIR / "driving.mp4"))
    cycle = base + base[-2:0:-1]

    def frames_iter():
        for j in range(frames):
            yield cycle[j % len(cycle)]

    return write_video(out, frames_iter(), 25.0)


def child(frames: int, frame_steps: int, pose_steps: int, folder: Path, project: bool = False,
          first_frame_steps: int = 1, device: str = "cpu") -> dict:
    """One measured run (inside the fresh process)."""
    import torch

    import video2stylegan
    from video2stylegan.pipeline.embedding import EmbeddingOptions
    from video2stylegan.synthetic.demo import DEMO_DIR

    torch.set_num_threads(int(os.environ.get("BENCH_THREADS", "2")))
    clip = folder / f"driving_{frames}.mp4"  # made by the parent, so its decoding is not measured here
    floor_kb = _status_kb("VmRSS")
    embedding = EmbeddingOptions.preset("draft", frame_steps=frame_steps, pose_steps=pose_steps, source_steps=5,
                                        pti_steps=0, first_frame_steps=first_frame_steps)
    start = time.perf_counter()
    result = video2stylegan.reenact(DEMO_DIR / "source.png", clip, network="synthetic-heads-128",
                                    out=folder / f"out_{frames}.mp4", embedding=embedding, cache_dir=False,
                                    device=device, side_by_side=True, progress=False,
                                    **(PROJECT if project else TRANSFORM_ONLY))
    wall = time.perf_counter() - start
    return {"frames": frames, "peak_mb": _status_kb("VmHWM") / 1024, "floor_mb": floor_kb / 1024, "wall_s": wall,
            "timings": {k: round(v, 1) for k, v in result.timings.items()}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", default="50,200,800", help="comma-separated clip lengths (default 50,200,800)")
    parser.add_argument("--frame-steps", type=int, default=1, help="projection steps per driving frame (default 1)")
    parser.add_argument("--pose-steps", type=int, default=1, help="Eq. 7 steps per frame (default 1)")
    parser.add_argument("--first-frame-steps", type=int, default=1,
                        help="projection steps of the first driving frame (default 1; with --project)")
    parser.add_argument("--project", action="store_true",
                        help="also project every driving frame (baseline method; slow on the CPU, see the module doc)")
    parser.add_argument("--device", default="cpu", help="torch device of the runs (default cpu)")
    parser.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--folder", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print("RESULT " + json.dumps(child(args.child, args.frame_steps, args.pose_steps, Path(args.folder),
                                           args.project, args.first_frame_steps, args.device)))
        return
    lengths = [int(n) for n in args.frames.split(",") if n.strip()]
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
    switches = PROJECT if args.project else TRANSFORM_ONLY
    steps = (f", first_frame_steps={args.first_frame_steps}, frame_steps={args.frame_steps}" if args.project else "")
    print(f"# draft budget (source_steps=5, pti_steps=0{steps}), {switches}, 128 px, side by side, {args.device}")
    print(f"{'frames':>7} {'peak RSS MB':>12} {'floor MB':>9} {'above floor':>12} {'wall s':>8}  stages (s)")
    with tempfile.TemporaryDirectory(prefix="long-clip-") as tmp:
        rows = []
        for n in lengths:
            make_clip(Path(tmp) / f"driving_{n}.mp4", n)
            cmd = [sys.executable, __file__, "--child", str(n), "--folder", tmp, "--frame-steps", str(args.frame_steps),
                   "--pose-steps", str(args.pose_steps), "--first-frame-steps", str(args.first_frame_steps),
                   "--device", args.device] + (["--project"] if args.project else [])
            proc = subprocess.run(cmd, capture_output=True, text=True)
            line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
            if proc.returncode != 0 or line is None:
                print(f"{n:>7} failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
                continue
            r = json.loads(line[len("RESULT "):])
            rows.append(r)
            print(f"{n:>7} {r['peak_mb']:>12.0f} {r['floor_mb']:>9.0f} {r['peak_mb'] - r['floor_mb']:>12.0f} "
                  f"{r['wall_s']:>8.1f}  {r['timings']}", flush=True)
        if len(rows) > 1:
            growth = 100 * (rows[-1]["peak_mb"] / rows[0]["peak_mb"] - 1)
            print(f"# peak RSS growth from {rows[0]['frames']} to {rows[-1]['frames']} frames: {growth:+.1f} %")


if __name__ == "__main__":
    main()
