"""``train-synthetic``: train (or resume, or export) the small StyleGAN3 of the synthetic heads."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from video2stylegan.cli.options import add_field_options, bounded_float, bounded_int, field_values
from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.outputs import check_output
from video2stylegan.training import export, loop
from video2stylegan.training.config import TrainConfig


def register(subparsers) -> None:
    """Add the ``train-synthetic`` subcommand."""
    parser = subparsers.add_parser(
        "train-synthetic",
        help="train the small StyleGAN3 of the synthetic heads (resumable; --export writes the network)",
        description=(
            "Distil the procedural head renderer into a small StyleGAN3 (CPU or GPU): z has one entry per "
            "renderer parameter and the generator learns G(z) = render(params(z)). Checkpoints, a loss log "
            "(log.jsonl) and sample grids go to the --run folder. Stop it any time (Ctrl-C or SIGTERM write a "
            "checkpoint) and continue with --resume. --export writes the EMA generator as float16 .safetensors."
        ),
    )
    parser.add_argument("--run", required=True, type=Path, help="run folder (checkpoints, log, grids)")
    parser.add_argument("--steps", type=bounded_int(1), default=20000,
                        help="train until this many steps in total (default 20000)")
    parser.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    # each worker is a process with its own renderer and a queue of 4 batches
    parser.add_argument("--workers", type=bounded_int(0, 64), default=1,
                        help="DataLoader processes rendering the data, 0 (in-process) to 64 (default 1)")
    parser.add_argument("--log-every", type=bounded_int(1), default=10, help="steps between log lines (default 10)")
    parser.add_argument("--grid-every", type=bounded_int(1), default=200,
                        help="steps between sample grids (default 200)")
    parser.add_argument("--checkpoint-every", type=bounded_int(1), default=500,
                        help="steps between checkpoints (default 500)")
    parser.add_argument("--checkpoint-minutes", type=bounded_float(0, 1440), default=10.0,
                        help="also checkpoint after this many minutes, 0 (every step) to 1440 (default 10)")
    parser.add_argument("--threads", type=bounded_int(1, 256), default=1,
                        help="torch compute threads, 1 to 256 (default 1)")
    parser.add_argument("--device", default="cpu",
                        help="where the networks train: cpu (default), cuda, cuda:N or auto; renders stay on the CPU")
    parser.add_argument("--export", type=Path, default=None, metavar="OUT.safetensors",
                        help="do not train: write the run's EMA generator (float16, w_avg set) to this file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    # every TrainConfig field is an option, generated from the field (name, type, range, default, help)
    add_field_options(parser.add_argument_group("config of a new run (fixed afterwards)"), TrainConfig)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    overrides = field_values(args, TrainConfig)
    if args.export is not None:
        if overrides or args.resume:
            raise InvalidOptionError("--export only reads the run; do not combine it with --resume or config options.")
        check_output(args.export, {"--run": args.run}, what="--export")
        path = export.export_generator(args.run, args.export)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
        return
    if args.resume and overrides:
        names = ", ".join("--" + n.replace("_", "-") for n in overrides)
        raise InvalidOptionError(f"a resumed run keeps its config; drop {names} (or start a new --run).")
    # a new run in the very folder it starts from (--init-from) would write its checkpoints over that run's
    check_output(args.run, {"--init-from": args.init_from}, what="--run", kind="dir")
    config = None if args.resume else TrainConfig(**overrides)
    options = loop.TrainOptions(
        workers=args.workers, log_every=args.log_every, grid_every=args.grid_every,
        checkpoint_every=args.checkpoint_every, checkpoint_minutes=args.checkpoint_minutes,
        progress=not args.no_progress, device=args.device,
    )
    result = loop.train(args.run, args.steps, config, resume=args.resume, options=options)
    what = "stopped" if result.stopped else "finished"
    print(f"{what} at step {result.step}; checkpoint {result.checkpoint}")
    if result.stopped:
        print(f"continue with: video2stylegan train-synthetic --run {args.run} --resume --steps {args.steps}")
