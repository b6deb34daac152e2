"""The info / generate / convert subcommands, run in-process through main()."""

import numpy as np
import pytest
import torch
from PIL import Image

from tests.networks.conftest import make_generator
from tests.networks.nvidia_snapshot import snapshot_bytes
from tests.networks.test_official_pickle import small_nvidia_generator
from video2stylegan.cli.main import main
from video2stylegan.networks.checkpoint import save_generator
from video2stylegan.networks.loading import load_generator


def test_generate_writes_one_png_per_seed_and_rotation_changes_them(tmp_path, capsys):
    net = save_generator(make_generator("R"), tmp_path / "g.safetensors")
    assert main(["generate", "--network", str(net), "--seeds", "0-2,5", "--outdir", str(tmp_path / "a"), "--device", "cpu"]) == 0
    files = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert files == ["seed0000.png", "seed0001.png", "seed0002.png", "seed0005.png"]
    img = np.asarray(Image.open(tmp_path / "a" / "seed0000.png"))
    assert img.shape == (64, 64, 3) and img.std() > 5
    assert main(["generate", "--network", str(net), "--seeds", "0", "--rotate", "90", "--outdir", str(tmp_path / "b")]) == 0
    rotated = np.asarray(Image.open(tmp_path / "b" / "seed0000.png")).astype(float)
    expected = np.rot90(img, k=1).astype(float)  # numpy rot90 k=1 is counter-clockwise
    centre = slice(16, 48)
    assert np.abs(rotated[centre, centre] - expected[centre, centre]).mean() < 2.0


def test_convert_round_trip_then_info(tmp_path, capsys):
    G, kwargs = small_nvidia_generator("R")
    pkl = tmp_path / "network-snapshot.pkl"
    pkl.write_bytes(snapshot_bytes(G, kwargs, generator_src="raise SystemExit", with_augment_pipe=True))
    out = tmp_path / "converted.safetensors"
    assert main(["convert", str(pkl), str(out)]) == 0
    converted = load_generator(out)
    ws = G.mapping(torch.randn(2, G.z_dim), truncation_psi=0.7)
    assert torch.equal(converted.synthesis(ws), G.synthesis(ws))
    assert converted.init_kwargs == load_generator(pkl).init_kwargs
    half = tmp_path / "half.safetensors"
    assert main(["convert", str(pkl), str(half), "--fp16"]) == 0
    assert (load_generator(half).synthesis(ws) - G.synthesis(ws)).abs().max() < 0.03  # measured 0.013 of 6.3
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "StyleGAN3-R  64x64" in text and "num_ws 16" in text and "L14_64_3" in text


def test_user_errors_print_one_line_and_exit_1(tmp_path, capsys):
    assert main(["generate", "--network", "no-such-net", "--outdir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "unknown network 'no-such-net'" in err and "Traceback" not in err
    net = save_generator(make_generator("T"), tmp_path / "g.safetensors")
    with pytest.raises(SystemExit) as info:  # a seed list is checked at parse time (exit 2)
        main(["generate", "--network", str(net), "--seeds", "3-1", "--outdir", str(tmp_path)])
    assert info.value.code == 2 and "runs backwards" in capsys.readouterr().err
    assert main(["info", str(tmp_path / "missing.pkl")]) == 1
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("argv, message", [
    (["--trunc", "nan"], "--trunc: nan is not a finite number from -2 to 2"),
    (["--trunc", "inf"], "--trunc: inf is not a finite number"),
    (["--rotate", "nan"], "--rotate: nan is not a finite number from -360 to 360"),
])
def test_non_finite_generate_options_are_parse_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        main(["generate", "--network", "random-t-128", "--seeds", "0", "--outdir", str(tmp_path / "out"), *argv])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_non_finite_translation_is_refused_before_rendering(tmp_path, capsys):
    assert main(["generate", "--network", "random-t-128", "--seeds", "0", "--translate", "nan,inf",
                 "--outdir", str(tmp_path / "out")]) == 1
    assert "--translate: 'nan,inf' must be two finite numbers" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.png"))
