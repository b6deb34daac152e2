"""The ``evaluate`` subcommand: score a result video against its driving video."""

from __future__ import annotations

import argparse
from pathlib import Path

from video2stylegan.errors import InvalidOptionError, MediaError


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a reenacted video (any tool's) against its driving video and reference image",
        description=(
            "Compute dK, landmark distance, expression errors, ID (with --source), PSNR/SSIM "
            "(with --ground-truth), and LPIPS/FID/FVD where their pretrained weights are on disk. "
            "Prints a table; see docs/metrics.md for the definitions."
        ),
    )
    p.add_argument("--result", required=True, type=Path, help="the video to score")
    p.add_argument("--driving", required=True, type=Path, help="the driving video it was made from")
    p.add_argument("--source", type=Path, help="the reference portrait (enables ID and LPIPS to the reference)")
    p.add_argument("--ground-truth", type=Path, help="a video the result should reproduce (enables PSNR/SSIM)")
    p.add_argument("--json", type=Path, help="write the full report (summary, per-frame values, notes) as JSON")
    p.add_argument("--csv", type=Path, help="write the per-frame table as CSV")
    p.add_argument("--max-frames", type=int, help="use only the first N frames of each video")
    p.add_argument("--id-stride", type=int, default=1, help="compute ID every N frames (default 1: all)")
    p.add_argument("--smooth", type=int, default=1, help="smooth landmarks over N frames before dK (default 1: none; 3 removes most jitter)")
    p.add_argument("--no-learned", action="store_true", help="skip LPIPS, FID and FVD")
    p.add_argument("--detector", default="hog", choices=["hog", "cnn"], help="face detector (default hog)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    from video2stylegan.metrics import evaluate_video

    if args.max_frames is not None and args.max_frames < 2:
        raise InvalidOptionError("--max-frames must be at least 2 (motion needs two frames)")
    if args.id_stride < 1:
        raise InvalidOptionError("--id-stride must be at least 1")
    if args.smooth < 1:
        raise InvalidOptionError("--smooth must be at least 1 frame")
    for option, path in (("--json", args.json), ("--csv", args.csv)):
        if path is not None and not path.resolve().parent.is_dir():
            raise MediaError(f"{option}: the folder {path.parent} does not exist; create it first")
    report = evaluate_video(
        args.result,
        args.driving,
        args.source,
        ground_truth=args.ground_truth,
        max_frames=args.max_frames,
        learned=not args.no_learned,
        id_stride=args.id_stride,
        smooth=args.smooth,
        detector=args.detector,
        progress=not args.no_progress,
    )
    print(report.to_markdown())
    if args.json is not None:
        report.to_json(args.json)
        print(f"report written to {args.json}")
    if args.csv is not None:
        report.to_csv(args.csv)
        print(f"per-frame table written to {args.csv}")
