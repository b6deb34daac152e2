"""Our .safetensors format: exact round trip, float16 option, clear errors."""

import pytest
import torch

from tests.networks.conftest import make_generator
from video2stylegan.errors import CheckpointError
from video2stylegan.networks.checkpoint import read_config, save_generator
from video2stylegan.networks.loading import load_generator


def test_float32_round_trip_is_exact(tmp_path):
    G = make_generator("R", seed=3)
    path = save_generator(G, tmp_path / "g.safetensors")
    assert read_config(path)["init_kwargs"]["conv_kernel"] == 1
    loaded = load_generator(path)
    ws = G.mapping(torch.randn(2, G.z_dim))
    assert torch.equal(loaded.synthesis(ws), G.synthesis(ws))
    assert not list(tmp_path.glob("*.partial"))


def test_float16_halves_the_file_and_stays_close(tmp_path):
    G = make_generator("T", seed=3)
    full = save_generator(G, tmp_path / "f32.safetensors")
    half = save_generator(G, tmp_path / "f16.safetensors", dtype=torch.float16)
    assert half.stat().st_size < 0.6 * full.stat().st_size
    ws = G.mapping(torch.randn(2, G.z_dim))
    diff = (load_generator(half).synthesis(ws) - G.synthesis(ws)).abs().max()
    assert float(diff) < 0.02


def test_files_without_our_config_or_cut_short_are_refused(tmp_path):
    from safetensors.torch import save_file

    foreign = tmp_path / "foreign.safetensors"
    save_file({"x": torch.zeros(2)}, str(foreign))
    with pytest.raises(CheckpointError, match="not a video2stylegan network"):
        load_generator(foreign)
    G = make_generator("T")
    path = save_generator(G, tmp_path / "g.safetensors")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    with pytest.raises(CheckpointError, match="g.safetensors"):
        load_generator(path)
