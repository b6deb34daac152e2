"""The ``evaluate`` subcommand: score a result video against its driving video, or
run the ground-truth benchmark on the synthetic world (``--suite synthetic``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from video2stylegan.cli.options import bounded_int
from video2stylegan.errors import InvalidOptionError
# The two entry points are called through their modules (evaluate.evaluate_video, suite.run_suite) so that
# tests can stand in for them where they are defined.
from video2stylegan.evaluation import evaluate, suite
from video2stylegan.evaluation.report import clip_strip, evaluation_tables, write_html_report
from video2stylegan.io import read_image, read_video
from video2stylegan.io.outputs import check_output, check_outputs_differ

#: The files ``--suite`` writes at the top of ``--out-dir`` (cases and plots go in their own names beside them).
SUITE_FILES = ("results.md", "results.csv", "frames.csv", "report.html")
#: Frames per case of ``--suite``: 3 (jitter needs three) to 300, twelve times the default 24. A case's
#: driving and ground-truth clips are rendered into memory and every frame is reenacted by each variant,
#: so the count sizes both memory and time.
SUITE_FRAMES_RANGE = (3, 300)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="score a reenacted video (any tool's) against its driving video and reference image",
        description=(
            "Compute dK, landmark distance, expression errors, ID (with --source), PSNR/SSIM "
            "(with --ground-truth), and LPIPS/FID/FVD where their pretrained weights are on disk. "
            "Prints a table; see docs/metrics.md for the definitions. With --suite synthetic, runs the "
            "ground-truth benchmark instead (no --result/--driving): renders seeded source/driving pairs "
            "and their exact answer, reenacts them with each method variant and writes tables, plots and "
            "an HTML report into --out-dir."
        ),
    )
    p.add_argument("--result", type=Path, help="the video to score (required unless --suite)")
    p.add_argument("--driving", type=Path, help="the driving video it was made from (required unless --suite)")
    p.add_argument("--source", type=Path, help="the reference portrait (enables ID and LPIPS to the reference)")
    p.add_argument("--ground-truth", type=Path, help="a video the result should reproduce (enables PSNR/SSIM)")
    p.add_argument("--json", type=Path, help="write the full report (summary, per-frame values, notes) as JSON")
    p.add_argument("--csv", type=Path, help="write the per-frame table as CSV")
    p.add_argument("--html", type=Path, help="write a single-file HTML report (table and a strip of frames)")
    p.add_argument("--max-frames", type=int, help="use only the first N frames of each video")
    p.add_argument("--id-stride", type=int, default=1, help="compute ID every N frames (default 1: all)")
    p.add_argument("--smooth", type=int, default=1, help="smooth landmarks over N frames before dK (default 1: none; 3 removes most jitter)")
    p.add_argument("--no-learned", action="store_true", help="skip LPIPS, FID and FVD")
    p.add_argument("--detector", default="hog", choices=["hog", "cnn"], help="face detector (default hog)")
    p.add_argument("--panel", type=bounded_int(1, 3), default=None,
                   help="score one panel of a reenact --side-by-side result: 1 source, 2 driving, 3 result "
                        "(required for a result at least twice as wide as high)")
    p.add_argument("--no-progress", action="store_true", help="hide progress bars")
    g = p.add_argument_group("ground-truth benchmark (--suite)")
    g.add_argument("--suite", choices=["synthetic"], help="run the benchmark on the synthetic world instead")
    g.add_argument("--quick", action="store_true", help="CI size: one case of 6 frames at 128 px, 'draft' budget")
    g.add_argument("--network", help="generator: registry name or file (default: synthetic-heads-128 when "
                   "registered, else the untrained random-r-128)")
    g.add_argument("--out-dir", type=Path, default=Path("benchmark-synthetic"),
                   help="folder for the rendered cases, results and report (default ./benchmark-synthetic)")
    g.add_argument("--variants", help="comma-separated variant names (default: all; see docs/metrics.md)")
    g.add_argument("--quality", choices=["best", "default", "fast", "draft"],
                   help="embedding budget (default: fast, the demo's; draft with --quick)")
    g.add_argument("--cases", help="comma-separated case names (default: demo,pair-2; also pair-3)")
    g.add_argument("--frames", type=bounded_int(*SUITE_FRAMES_RANGE),
                   help=f"frames per case, {SUITE_FRAMES_RANGE[0]} to {SUITE_FRAMES_RANGE[1]} (default 24, or 6 with --quick)")
    g.add_argument("--truth-motion", choices=("relative", "absolute"), default="relative",
                   help="the ground truth's head: the driver's motion since its first frame from the portrait's "
                        "pose (default; what reenact's relative modes transfer) or the driver's own poses")
    g.add_argument("--device", default="auto", help="torch device (default auto)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    if args.suite is not None:
        run_suite_command(args)
        return
    missing = [o for o, v in (("--result", args.result), ("--driving", args.driving)) if v is None]
    if missing:
        raise InvalidOptionError(f"evaluate needs {' and '.join(missing)} (or --suite synthetic for the benchmark)")
    if args.max_frames is not None and args.max_frames < 2:
        raise InvalidOptionError("--max-frames must be at least 2 (motion needs two frames)")
    if args.id_stride < 1:
        raise InvalidOptionError("--id-stride must be at least 1")
    if args.smooth < 1:
        raise InvalidOptionError("--smooth must be at least 1 frame")
    # before any frame is read: a report path that is one of the videos (or another report) would replace it
    inputs = {"--result": args.result, "--driving": args.driving, "--source": args.source,
              "--ground-truth": args.ground_truth}
    outputs = {"--json": args.json, "--csv": args.csv, "--html": args.html}
    check_outputs_differ(outputs)
    for option, path in outputs.items():
        if path is not None:
            check_output(path, inputs, what=option)
    report = evaluate.evaluate_video(
        args.result,
        args.driving,
        args.source,
        ground_truth=args.ground_truth,
        max_frames=args.max_frames,
        learned=not args.no_learned,
        id_stride=args.id_stride,
        smooth=args.smooth,
        detector=args.detector,
        panel=args.panel,
        progress=not args.no_progress,
    )
    print(report.to_markdown())
    if args.json is not None:
        report.to_json(args.json)
        print(f"report written to {args.json}")
    if args.csv is not None:
        report.to_csv(args.csv)
        print(f"per-frame table written to {args.csv}")
    if args.html is not None:
        write_evaluation_html(args.html, report, args.result, args.driving, args.source, args.ground_truth,
                              args.max_frames, panel=args.panel)
        print(f"HTML report written to {args.html}")


def write_evaluation_html(path, report, result, driving, source=None, ground_truth=None, max_frames=None,
                          panel=None) -> None:
    """The single-run report: the score table and a strip of reference/driving/result(/ground truth) frames
    (of a side-by-side result, the ``panel`` that was scored)."""
    n = report.info.get("frames") or max_frames
    clips = {"driving": read_video(driving, max_frames=n)[0], "result": read_video(result, max_frames=n)[0]}
    if panel is not None:
        clips["result"] = evaluate.side_by_side_panel(clips["result"], panel)
    if ground_truth is not None:
        clips["ground truth"] = read_video(ground_truth, max_frames=n)[0]
    reference = read_image(source) if source is not None else None
    strip = clip_strip("frames", clips, count=4, height=160, reference=reference)
    write_html_report(path, f"Evaluation of {Path(result).name}", evaluation_tables(report), (), [strip])


def run_suite_command(args: argparse.Namespace) -> None:
    """``evaluate --suite synthetic``: run the benchmark and print its Markdown table."""
    single = [o for o, v in (("--result", args.result), ("--driving", args.driving), ("--json", args.json),
                             ("--csv", args.csv), ("--html", args.html), ("--panel", args.panel)) if v is not None]
    if single:
        raise InvalidOptionError(f"{', '.join(single)} apply to one video, not to --suite (its files go to --out-dir)")
    if args.frames is not None and args.frames < 3:
        raise InvalidOptionError("--frames must be at least 3 (jitter needs three frames)")
    check_output(args.out_dir, {"--network": args.network}, what="--out-dir", kind="dir", contents=SUITE_FILES)
    variants = None
    if args.variants:
        variants = _names(args.variants)
        unknown = [v for v in variants if v not in suite.VARIANTS]
        if unknown:
            raise InvalidOptionError(
                f"--variants: unknown {', '.join(unknown)}; choose from: {', '.join(suite.VARIANTS)}")
    result = suite.run_suite(
        args.network,
        suite.default_suite(quick=args.quick, frames=args.frames, truth=args.truth_motion, cases=_names(args.cases)),
        variants,
        args.out_dir,
        embedding=args.quality or suite.suite_budget(args.quick),
        device=args.device,
        progress=not args.no_progress,
        echo=print,
    )
    print(result.to_markdown())
    for name in ("results.md", "results.csv", "report.html"):
        print(f"{name}: {result.paths[name]}")


def _names(text: str | None) -> list[str] | None:
    """A comma-separated option as a list of names (``None`` when not given)."""
    return None if text is None else [v.strip() for v in text.split(",") if v.strip()]
