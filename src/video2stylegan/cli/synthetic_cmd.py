"""``synth-video``: render a synthetic talking-head clip with exact ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from video2stylegan.cli.options import FPS_RANGE_TEXT, fps_type
from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.outputs import check_output, check_outputs_differ


def register(subparsers) -> None:
    """Add the ``synth-video`` subcommand."""
    parser = subparsers.add_parser(
        "synth-video",
        help="render a synthetic talking-head clip (offline, with ground-truth landmarks)",
        description=(
            "Render a talking-head clip of a procedural person: speech-like mouth motion, blinks, "
            "head turns, nods and drift. The motion comes from --seed, the person from --identity-seed "
            "(default: --seed), so the same --seed with another --identity-seed is the exact ground "
            "truth of reenacting that person with the first clip."
        ),
    )
    parser.add_argument("--out", required=True, type=Path, help="MP4 file to write")
    parser.add_argument("--frames", type=int, default=100, help="number of frames (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the motion (and of the person by default)")
    parser.add_argument("--identity-seed", type=int, default=None, help="seed of the person rendered")
    parser.add_argument("--size", type=int, default=256, help="frame width and height in pixels (default 256)")
    parser.add_argument("--fps", type=fps_type, default=25.0, help=f"frames per second, {FPS_RANGE_TEXT} (default 25)")
    parser.add_argument("--head-motion", type=float, default=1.0, help="scale of head turns, nods and drift (0 = still)")
    parser.add_argument(
        "--ground-truth",
        type=Path,
        default=None,
        help="also save landmarks (T,68,2), visibility and per-frame parameters to this .npz",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from video2stylegan.synthetic.clips import synth_video

    if args.head_motion < 0:
        raise InvalidOptionError(f"--head-motion must be >= 0, got {args.head_motion}.")
    if args.ground_truth is not None and args.ground_truth.suffix != ".npz":
        raise InvalidOptionError(f"--ground-truth must name an .npz file, got {args.ground_truth}.")
    check_outputs_differ({"--out": args.out, "--ground-truth": args.ground_truth})
    check_output(args.out, what="--out")
    if args.ground_truth is not None:
        check_output(args.ground_truth, what="--ground-truth")
    synth_video(
        args.out,
        frames=args.frames,
        seed=args.seed,
        size=args.size,
        fps=args.fps,
        identity_seed=args.identity_seed,
        ground_truth=args.ground_truth,
        head_motion=args.head_motion,
    )
    print(f"wrote {args.out}")
