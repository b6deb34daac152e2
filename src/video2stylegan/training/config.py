"""The settings of a training run (:class:`TrainConfig`, saved as the run's ``config.json``)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from video2stylegan.checks import check_power_of_two, check_settings, setting
from video2stylegan.errors import InvalidOptionError
from video2stylegan.training.latents import Z_DIM

LOSSES = ("l1+gradient", "l1+msssim", "l1")


def _setting(default, help: str, low: float, high: float | None, **more):
    """A field of :class:`TrainConfig` with its help and accepted range ``[low, high]`` (``high`` None: no upper
    end) in its metadata (:func:`video2stylegan.checks.setting`); the CLI is generated from it."""
    return setting(default, help, range=(low, high), **more)


def _below_one(name: str, value: tuple) -> tuple:
    """Adam's betas: each below 1 (at 1 the moment estimates never forget)."""
    if any(v >= 1 for v in value):
        raise InvalidOptionError(f"{name} must be two numbers from 0 to below 1 (Adam's), got {value!r}")
    return value


@dataclass
class TrainConfig:
    """Everything that determines a run (saved as ``config.json``; fixed for the life of the run).

    Every field carries its help, choices and accepted range in its metadata (``train-synthetic``'s
    options are generated from it); construction checks every field once
    (:func:`video2stylegan.checks.check_settings`: non-finite values, values outside the range, and
    booleans or fractions where an integer is expected are refused, all bad fields named in one message)
    and stores the canonical values (ints, floats, a tuple). The upper ends bound what a run allocates
    (images, channels, layers, held-out renders) to sizes a machine can hold.
    """

    # The settings of the shipped synthetic-heads-128 (run v4, docs/synthetic.md). Optimiser settings
    # chosen by benchmarks/trainer_settings.py: the mapping network needs the full learning rate
    # (a 0.1 multiplier, StyleGAN's GAN default, cost 0.9 dB at 300 steps); lr 0.015 beat 0.005 and
    # 0.03; at that rate Adam needs momentum (beta1 0, StyleGAN's GAN setting, cost 1.9 dB) and
    # w_dim 128 learnt 1.1 dB slower than 64. The 71 k network (channel_base 1024, channel_max 32)
    # is 2x cheaper per step but plateaued at 22.5 dB with 10 % dlib detection; 236 k with
    # part_weight 0.5 reached 93 % by step 4310.
    # Upper ends: the official StyleGAN3 sizes (1024 px, w_dim 512, channel_base 65536 and
    # channel_max 1024 of config R, 14 layers, 8 mapping layers at most in StyleGAN2) with room.
    resolution: int = _setting(128, "image size in pixels, a power of two", 16, 1024, check=check_power_of_two)
    w_dim: int = _setting(64, "width of W", 1, 1024)
    channel_base: int = _setting(2048, "channel budget of the synthesis network", 1, 65536)
    channel_max: int = _setting(64, "most channels of a synthesis layer", 1, 1024)
    num_layers: int = _setting(8, "synthesis layers; num_ws = num_layers + 2", 3, 20)
    mapping_layers: int = _setting(2, "layers of the mapping network", 1, 8)
    mapping_lr_multiplier: float = _setting(1.0, "learning-rate multiplier of the mapping network", 1e-4, 10.0)
    batch: int = _setting(8, "images per step", 1, 256)
    # The weights are stored at a scale of about 1 (equalised learning rate) and Adam moves each by about
    # lr a step: below 1e-8 that is under their float32 spacing (1.2e-7 at 1), nothing would move; above
    # 1 one step is as large as the weights themselves.
    lr: float = _setting(0.015, "Adam learning rate", 1e-8, 1.0)
    lr_warmup_steps: int = _setting(100, "steps over which the learning rate rises linearly to --lr; 0 = none", 0,
                                    None)
    lr_half_life_steps: int = _setting(20000, "steps over which the learning rate halves", 1, None)
    lr_min_fraction: float = _setting(0.05, "floor of the learning-rate decay, a fraction of --lr", 0.0, 1.0)
    betas: tuple[float, float] = _setting((0.9, 0.99), "Adam's beta1 and beta2, 1 excluded", 0.0, 1.0,
                                          check=_below_one)
    loss: str = setting("l1+gradient", "distillation loss", choices=LOSSES)
    # Weight of an extra L1 (values and finite differences) averaged over the facial-feature pixels
    # only, so that eyes, brows, nose and mouth count as much as their few per cent of the image
    # would not let them (0 = off). Run v4 with 0.5 drew eyes and mouths from step 1500 on; v3
    # without it (and with the smaller network) never did (docs/synthetic.md).
    part_weight: float = _setting(0.5, "weight of the extra L1 over eyes, brows, nose and mouth; 0 = off", 0.0, 10.0)
    # 0 makes G_ema a copy of G; at 1000 (a million images) it would barely move in any run this trainer makes.
    ema_kimg: float = _setting(2.0, "half-life of the EMA generator in thousands of images; 0 = no averaging",
                               0.0, 1000.0)
    ema_rampup: float = _setting(0.05, "early in training the EMA half-life is at most this fraction of the images "
                                 "seen; 0 = no ramp-up", 0.0, 1.0)
    seed: int = _setting(0, "seed of the initial weights and of the training data", 0, 2**32 - 1)
    # Held-out renders are drawn once and kept (with their grid row) for the whole run.
    heldout: int = _setting(8, "held-out renders in the sample grids and the logged PSNR", 1, 64)
    # Start from another run's weights (its folder: the latest checkpoint; or one checkpoints/step-N
    # folder) instead of random ones; the architecture must match. Adam and the schedule start afresh.
    init_from: str | None = setting(None, "start from the weights of another run (folder), checkpoint "
                                    "(checkpoints/step-N) or exported network (.safetensors)")

    def __post_init__(self):
        # checked once; each value stored in its canonical form (ints, floats, a tuple) as part of construction
        for name, value in check_settings(self, "training config").items():
            setattr(self, name, value)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["betas"] = list(self.betas)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise InvalidOptionError(f"unknown training config keys: {', '.join(unknown)}.")
        return cls(**d)

    def generator_kwargs(self) -> dict:
        return dict(
            z_dim=Z_DIM, c_dim=0, w_dim=self.w_dim, img_resolution=self.resolution, img_channels=3,
            channel_base=self.channel_base, channel_max=self.channel_max, num_layers=self.num_layers,
            mapping_kwargs=dict(num_layers=self.mapping_layers, lr_multiplier=self.mapping_lr_multiplier),
        )

    def lr_at(self, step: int) -> float:
        """Linear warm-up, then exponential decay (half-life in steps) down to a floor."""
        warm = min(1.0, (step + 1) / max(self.lr_warmup_steps, 1))
        decay = max(self.lr_min_fraction, 0.5 ** (step / self.lr_half_life_steps))
        return self.lr * warm * decay

    def ema_beta(self, step: int) -> float:
        """Per-step EMA decay: half-life of ``ema_kimg`` thousand images, ramped up early in training."""
        nimg = self.ema_kimg * 1000
        if self.ema_rampup > 0:
            nimg = min(nimg, (step + 1) * self.batch * self.ema_rampup)
        return 0.5 ** (self.batch / max(nimg, 1e-8))
