"""Ground-truth benchmark on the synthetic world: every Table 5 variant against the exact answer.

Run: ``python benchmarks/groundtruth.py [--threads N] [evaluate --suite options]``,
e.g. ``--quick``, ``--network NAME``, ``--out-dir DIR``, ``--variants a,b``,
``--cases demo,pair-3``, ``--quality fast``, ``--frames N``. This is
``video2stylegan evaluate --suite synthetic`` (which takes the same options and
documents them in its ``--help``) with a fixed thread count, no progress bars
and the wall time at the end: it renders the seeded cases of
:func:`video2stylegan.evaluation.suite.default_suite`, reenacts each with every
variant, prints the Markdown table and writes ``results.md``, ``results.csv``,
``frames.csv``, the plots and ``report.html`` into the output folder.
"""

from __future__ import annotations

import argparse
import time


def main(argv=None) -> int:
    import torch

    from video2stylegan.cli.main import main as cli_main

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args, suite_options = ap.parse_known_args(argv)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    status = cli_main(["evaluate", "--suite", "synthetic", "--no-progress", *suite_options])
    print(f"wall time {time.perf_counter() - start:.0f} s")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
