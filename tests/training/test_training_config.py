"""TrainConfig: the settings of a run, their ranges, and the network they build."""

import pytest
from training_helpers import TINY

from video2stylegan.errors import InvalidOptionError
from video2stylegan.training.checkpoints import build_generator
from video2stylegan.training.config import TrainConfig


def test_config_rejects_bad_values():
    with pytest.raises(InvalidOptionError, match="power of two"):
        TrainConfig(resolution=100)
    with pytest.raises(InvalidOptionError, match="loss"):
        TrainConfig(loss="hinge")
    with pytest.raises(InvalidOptionError, match="part_weight"):
        TrainConfig(part_weight=-1.0)
    with pytest.raises(InvalidOptionError, match="unknown"):
        TrainConfig.from_dict({"resolution": 32, "colour": 1})
    assert TrainConfig.from_dict(TrainConfig(**TINY).to_dict()) == TrainConfig(**TINY)


def test_default_config_is_a_stylegan3_with_at_least_ten_ws():
    G = build_generator(TrainConfig())
    assert G.num_ws >= 10 and G.z_dim == 37 and G.c_dim == 0 and G.img_resolution == 128
    assert sum(p.numel() for p in G.parameters()) * 2 < 30e6  # float16 export fits the 30 MB budget


@pytest.mark.parametrize("key, value, message", [
    ("ema_kimg", float("nan"), "ema_kimg must be a finite number from 0 to 1000, got nan"),
    ("ema_kimg", -1.0, "ema_kimg must be a finite number from 0 to 1000, got -1.0"),
    ("lr", float("inf"), "lr must be a finite number from 1e-08 to 1, got inf"),
    ("lr", 0.0, "lr must be a finite number from 1e-08 to 1, got 0.0"),
    ("mapping_lr_multiplier", float("nan"), "mapping_lr_multiplier must be a finite number"),
    ("part_weight", float("-inf"), "part_weight must be a finite number from 0 to 10"),
    ("lr_min_fraction", 1.5, "lr_min_fraction must be a finite number from 0 to 1"),
    ("ema_rampup", float("nan"), "ema_rampup must be a finite number"),
    ("batch", 100_000, "batch must be an integer from 1 to 256, got 100000"),
    ("resolution", 4096, "resolution must be an integer from 16 to 1024, got 4096"),
    ("channel_base", 10**9, "channel_base must be an integer from 1 to 65536"),
    ("heldout", 1000, "heldout must be an integer from 1 to 64"),
    ("num_layers", 2, "num_layers must be an integer from 3 to 20"),
    ("seed", -1, "seed must be an integer from 0 to 4294967295"),
    ("batch", 2.5, "batch must be an integer, got 2.5"),
    ("w_dim", True, "w_dim must be an integer, got True"),
    ("lr", "0.01", "lr must be a number, got '0.01'"),
    ("betas", (0.9, 1.0), r"betas must be two numbers from 0 to below 1"),
    ("betas", (float("nan"), 0.99), r"betas must be 2 finite numbers from 0 to 1, got \(nan, 0.99\)"),
])
def test_config_refuses_non_finite_and_out_of_range_values(key, value, message):
    with pytest.raises(InvalidOptionError, match=message):
        TrainConfig(**{**TINY, key: value})


def test_config_keeps_the_ends_of_its_ranges():
    config = TrainConfig(**{**TINY, "lr": 1e-8, "ema_kimg": 0, "part_weight": 10, "seed": 2**32 - 1, "batch": 256})
    assert (config.lr, config.ema_kimg, config.part_weight, config.seed) == (1e-8, 0.0, 10.0, 2**32 - 1)
    assert isinstance(config.ema_kimg, float)
    assert config.ema_beta(0) == 0.0  # ema_kimg 0: G_ema is a copy of G
