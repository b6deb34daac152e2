"""Exporting a run's EMA generator as a network file."""

import pytest
import torch
from safetensors import safe_open
from training_helpers import QUIET, TINY

from video2stylegan.errors import CheckpointError, InvalidOptionError
from video2stylegan.io.outputs import PACKAGE_DIR
from video2stylegan.networks.loading import load_generator
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.export import compute_w_avg, export_generator
from video2stylegan.training.loop import train


def test_export_is_float16_with_w_avg_and_loads(tmp_path):
    config = TrainConfig(**TINY)
    train(tmp_path / "r", 2, config, options=QUIET)
    out = export_generator(tmp_path / "r", tmp_path / "net.safetensors", w_avg_samples=2000)
    with safe_open(str(out), framework="pt") as handle:
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys() if handle.get_tensor(k).is_floating_point()}
    assert dtypes == {torch.float16}
    G = load_generator(out)
    assert G.num_ws == config.num_layers + 2 and G.z_dim == 37
    expected = compute_w_avg(G, 2000)
    torch.testing.assert_close(G.w_avg, expected, atol=2e-3, rtol=2e-3)
    assert G.w_avg.abs().max() > 1e-3  # set, not the zero-initialised buffer
    with pytest.raises(InvalidOptionError, match="safetensors"):
        export_generator(tmp_path / "r", tmp_path / "net.pkl")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        export_generator(tmp_path / "none", tmp_path / "x.safetensors")
    shipped = sorted(p.name for p in (PACKAGE_DIR / "assets" / "networks").iterdir())
    with pytest.raises(InvalidOptionError, match="is inside the installed video2stylegan package"):
        export_generator(tmp_path / "r", PACKAGE_DIR / "assets" / "networks" / "new.safetensors")
    assert sorted(p.name for p in (PACKAGE_DIR / "assets" / "networks").iterdir()) == shipped
    (tmp_path / "r.safetensors").mkdir()
    with pytest.raises(InvalidOptionError, match=r"out .*r\.safetensors is the same folder as run_dir"):
        export_generator(tmp_path / "r.safetensors", tmp_path / "r.safetensors")
