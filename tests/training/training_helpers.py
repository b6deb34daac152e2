"""What the trainer's tests share: a tiny network's config and quiet, in-process options."""

from video2stylegan.training.loop import TrainOptions

#: A 32 px network of 4 layers, trained two images a step: a step takes milliseconds.
TINY = dict(resolution=32, w_dim=16, channel_base=256, channel_max=16, num_layers=4, batch=2, heldout=2,
            lr_warmup_steps=1)
#: No worker processes, no progress bar, no signal handlers; a log line every step, a grid every two.
QUIET = TrainOptions(workers=0, log_every=1, grid_every=2, checkpoint_every=100, progress=False, handle_signals=False)


def snapshot(folder):
    """Bytes of every file of a checkpoint folder."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}
