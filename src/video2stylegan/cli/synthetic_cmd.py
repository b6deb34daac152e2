"""``synth-video``: render a synthetic talking-head clip with exact ground truth."""

from __future__ import annotations

import argparse
from pathlib import Path

from video2stylegan.cli.options import FPS_RANGE_TEXT, bounded_float, fps_type
from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.outputs import check_output, check_outputs_differ
from video2stylegan.synthetic import clips

# ``--head-motion`` takes synth_video's clips.HEAD_MOTION_RANGE: 0 is a still head, 1 the default talking
# motion (yaw about +-15 deg); by 3 the turns and nods spend most of the clip at the renderer's limits
# (yaw +-30 deg, pitch +-20 deg), where they are clipped. Seeds (clips.SEED_RANGE) are those numpy's
# generators take as one 32-bit word: 0 to 2**32 - 1.
#: ``--frames``: at most 100000 (over an hour at 25 fps; the ground truth is held in memory until written).
FRAMES_RANGE = (1, 100_000)
#: ``--size``: the renderer's 16 to 2048 px (:func:`video2stylegan.synthetic.clips.synth_video` checks it too).
SIZE_RANGE = (16, 2048)


def bounded_int(low: int, high: int):
    """An argparse type: an integer from ``low`` to ``high`` (the range in the refusal; state it in the help)."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not an integer from {low} to {high}")
        return value

    return parse


def seed_type(text: str) -> int:
    """``--seed`` / ``--identity-seed``: an integer from 0 to 2**32 - 1, refused at parse time (``-1`` made
    numpy raise a traceback after the parse)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None
    low, high = clips.SEED_RANGE
    if not low <= value <= high:
        raise argparse.ArgumentTypeError(f"{text} is not a seed from {low} to {high} (2**32 - 1)")
    return value


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
    parser.add_argument("--out", required=True, type=Path, help="MP4 file to write (its name must end in .mp4)")
    parser.add_argument("--frames", type=bounded_int(*FRAMES_RANGE), default=100,
                        help=f"number of frames, {FRAMES_RANGE[0]} to {FRAMES_RANGE[1]} (default 100)")
    parser.add_argument("--seed", type=seed_type, default=0,
                        help="seed of the motion (and of the person by default), 0 to 2**32-1 (default 0)")
    parser.add_argument("--identity-seed", type=seed_type, default=None,
                        help="seed of the person rendered, 0 to 2**32-1 (default: --seed)")
    parser.add_argument("--size", type=bounded_int(*SIZE_RANGE), default=256,
                        help=f"frame width and height in pixels, {SIZE_RANGE[0]} to {SIZE_RANGE[1]} (default 256)")
    parser.add_argument("--fps", type=fps_type, default=25.0, help=f"frames per second, {FPS_RANGE_TEXT} (default 25)")
    parser.add_argument(
        "--head-motion", type=bounded_float(*clips.HEAD_MOTION_RANGE), default=1.0,
        help=f"scale of head turns, nods and drift, {clips.HEAD_MOTION_RANGE[0]:g} (still) to "
             f"{clips.HEAD_MOTION_RANGE[1]:g} (default 1: turns of about 15 degrees; above 2 they reach the renderer's 30 degree limit)",
    )
    parser.add_argument(
        "--ground-truth",
        type=Path,
        default=None,
        help="also save landmarks (T,68,2), visibility and per-frame parameters to this .npz",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    if args.ground_truth is not None and args.ground_truth.suffix != ".npz":
        raise InvalidOptionError(f"--ground-truth must name an .npz file, got {args.ground_truth}.")
    check_outputs_differ({"--out": args.out, "--ground-truth": args.ground_truth})
    check_output(args.out, what="--out")
    if args.ground_truth is not None:
        check_output(args.ground_truth, what="--ground-truth")
    clips.synth_video(
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
