"""Ground-truth benchmark on the synthetic world: every Table 5 variant against the exact answer.

Run: ``python benchmarks/groundtruth.py [--quick] [--network NAME] [--out-dir DIR]
[--variants a,b] [--quality fast] [--frames N] [--threads N]``. Renders the seeded
cases of :func:`video2stylegan.metrics.suite.default_suite`, reenacts each with
every variant, prints the Markdown table and writes ``results.md``,
``results.csv``, ``frames.csv``, the plots and ``report.html`` into the output
folder. The same as ``video2stylegan evaluate --suite synthetic``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    import torch

    from video2stylegan.errors import Video2StyleGANError
    from video2stylegan.metrics.suite import VARIANTS, default_suite, run_suite, suite_budget

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="one case of 6 frames at 128 px, 'draft' budget")
    ap.add_argument("--network", help="registry name or file (default: synthetic-heads-128, else random-r-128)")
    ap.add_argument("--out-dir", type=Path, default=Path("benchmark-synthetic"))
    ap.add_argument("--variants", help=f"comma-separated subset of: {', '.join(VARIANTS)}")
    ap.add_argument("--quality", choices=["best", "default", "fast", "draft"], help="embedding budget (default fast; draft with --quick)")
    ap.add_argument("--cases", help="comma-separated case names (default demo,pair-2; also pair-3)")
    ap.add_argument("--frames", type=int, help="frames per case")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    from video2stylegan.runtime import keep_freed_memory

    keep_freed_memory()  # as the command line does
    variants = [v.strip() for v in args.variants.split(",")] if args.variants else None
    start = time.perf_counter()
    try:
        result = run_suite(args.network, default_suite(quick=args.quick, frames=args.frames,
                                         cases=[c.strip() for c in args.cases.split(",")] if args.cases else None), variants, args.out_dir,
                           embedding=args.quality or suite_budget(args.quick), device=args.device, progress=False, echo=print)
    except Video2StyleGANError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print()
    print(result.to_markdown())
    print(f"wall time {time.perf_counter() - start:.0f} s; files in {args.out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
