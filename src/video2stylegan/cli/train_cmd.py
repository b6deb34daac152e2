"""``train-synthetic``: train (or resume, or export) the small StyleGAN3 of the synthetic heads."""

from __future__ import annotations

import argparse
from pathlib import Path

from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.outputs import check_output

# Options that set the TrainConfig of a new run (None = the default of TrainConfig).
_CONFIG_OPTIONS = {
    "resolution": (int, "image size in pixels (power of two)"),
    "w_dim": (int, "width of W"),
    "channel_base": (int, "channel budget of the synthesis network"),
    "channel_max": (int, "most channels of a synthesis layer"),
    "num_layers": (int, "synthesis layers (num_ws = num_layers + 2)"),
    "mapping_layers": (int, "layers of the mapping network"),
    "mapping_lr_multiplier": (float, "learning-rate multiplier of the mapping network"),
    "batch": (int, "images per step"),
    "lr": (float, "Adam learning rate"),
    "lr_half_life_steps": (int, "steps over which the learning rate halves"),
    "loss": (str, "distillation loss: l1+gradient (default), l1+msssim or l1"),
    "part_weight": (float, "weight of the extra L1 over eyes, brows, nose and mouth (0 = off)"),
    "ema_kimg": (float, "half-life of the EMA generator in thousands of images"),
    "seed": (int, "seed of the initial weights and of the training data"),
    "heldout": (int, "held-out renders in the sample grids and the logged PSNR"),
    "init_from": (str, "start from the weights of another run (folder), checkpoint (checkpoints/step-N) or "
                           "exported network (.safetensors)"),
}


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
    parser.add_argument("--steps", type=int, default=20000, help="train until this many steps in total (default 20000)")
    parser.add_argument("--resume", action="store_true", help="continue the run from its latest checkpoint")
    parser.add_argument("--workers", type=int, default=1, help="DataLoader processes rendering the data (0 = in-process)")
    parser.add_argument("--log-every", type=int, default=10, help="steps between log lines")
    parser.add_argument("--grid-every", type=int, default=200, help="steps between sample grids")
    parser.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints")
    parser.add_argument("--checkpoint-minutes", type=float, default=10.0, help="also checkpoint after this many minutes")
    parser.add_argument("--threads", type=int, default=1, help="torch compute threads (default 1)")
    parser.add_argument("--device", default="cpu",
                        help="where the networks train: cpu (default), cuda, cuda:N or auto; renders stay on the CPU")
    parser.add_argument("--export", type=Path, default=None, metavar="OUT.safetensors",
                        help="do not train: write the run's EMA generator (float16, w_avg set) to this file")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    group = parser.add_argument_group("config of a new run (fixed afterwards; defaults in TrainConfig)")
    for name, (kind, text) in _CONFIG_OPTIONS.items():
        group.add_argument("--" + name.replace("_", "-"), dest=name, type=kind, default=None, help=text)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    import torch

    from video2stylegan.synthetic.training import TrainConfig, export_generator, train

    if args.threads < 1:
        raise InvalidOptionError(f"--threads must be at least 1, got {args.threads}.")
    torch.set_num_threads(args.threads)
    overrides = {name: getattr(args, name) for name in _CONFIG_OPTIONS if getattr(args, name) is not None}
    if args.export is not None:
        if overrides or args.resume:
            raise InvalidOptionError("--export only reads the run; do not combine it with --resume or config options.")
        check_output(args.export, {"--run": args.run}, what="--export")
        path = export_generator(args.run, args.export)
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")
        return
    if args.resume and overrides:
        names = ", ".join("--" + n.replace("_", "-") for n in overrides)
        raise InvalidOptionError(f"a resumed run keeps its config; drop {names} (or start a new --run).")
    # a new run in the very folder it starts from (--init-from) would write its checkpoints over that run's
    check_output(args.run, {"--init-from": args.init_from}, what="--run", kind="dir")
    config = None if args.resume else TrainConfig(**overrides)
    result = train(
        args.run, args.steps, config, resume=args.resume, workers=args.workers, log_every=args.log_every,
        grid_every=args.grid_every, checkpoint_every=args.checkpoint_every,
        checkpoint_minutes=args.checkpoint_minutes, progress=not args.no_progress, device=args.device,
    )
    what = "stopped" if result.stopped else "finished"
    print(f"{what} at step {result.step}; checkpoint {result.checkpoint}")
    if result.stopped:
        print(f"continue with: video2stylegan train-synthetic --run {args.run} --resume --steps {args.steps}")
