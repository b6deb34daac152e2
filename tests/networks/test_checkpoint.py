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


def test_non_finite_or_fp16_overflowing_weights_are_never_written(tmp_path):
    import pytest
    import torch

    from tests.networks.conftest import make_generator
    from video2stylegan.errors import CheckpointError
    from video2stylegan.networks.checkpoint import save_generator

    G = make_generator("T")
    with torch.no_grad():
        G.synthesis.input.weight[0, 0] = 1e6  # finite in float32, inf in float16
    save_generator(G, tmp_path / "ok.safetensors")
    with pytest.raises(CheckpointError, match="synthesis.input.weight has values beyond the range of torch.float16"):
        save_generator(G, tmp_path / "half.safetensors", dtype=torch.float16)
    with torch.no_grad():
        G.synthesis.input.weight[0, 0] = float("nan")
    with pytest.raises(CheckpointError, match="synthesis.input.weight holds non-finite values"):
        save_generator(G, tmp_path / "nan.safetensors")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ok.safetensors"]


def test_non_finite_images_are_refused_instead_of_turning_black():
    import pytest
    import torch

    from video2stylegan.errors import GenerationError
    from video2stylegan.networks.transforms import to_uint8_images

    img = torch.zeros(1, 3, 4, 4)
    assert to_uint8_images(img).shape == (1, 4, 4, 3)
    img[0, 1, 2, 3] = float("nan")
    with pytest.raises(GenerationError, match="1 non-finite pixel values"):
        to_uint8_images(img)


def test_a_folder_given_as_network_is_named_as_a_folder(tmp_path):
    import pytest

    from video2stylegan.errors import CheckpointError
    from video2stylegan.networks.loading import load_generator

    with pytest.raises(CheckpointError, match="is a folder, not a network file"):
        load_generator(tmp_path)
