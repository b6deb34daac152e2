"""``train-synthetic``: clean refusals, training and exporting from the command line."""

import pytest

from video2stylegan.cli.main import main


def test_cli_errors_are_clean(tmp_path, capsys):
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--resume"]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--resolution", "100"]) == 1
    assert "power of two" in capsys.readouterr().err
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--export", str(tmp_path / "x.safetensors")]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--resume", "--lr", "0.1"]) == 1
    assert "keeps its config" in capsys.readouterr().err


def test_cli_trains_and_exports(tmp_path, capsys):
    run = str(tmp_path / "r")
    args = ["--resolution", "32", "--w-dim", "16", "--channel-base", "256", "--channel-max", "16",
            "--num-layers", "4", "--batch", "2", "--heldout", "2"]
    assert main(["train-synthetic", "--run", run, "--steps", "2", "--workers", "0", "--no-progress", *args]) == 0
    assert "finished at step 2" in capsys.readouterr().out
    assert main(["train-synthetic", "--run", run, "--export", str(tmp_path / "n.safetensors")]) == 0
    assert (tmp_path / "n.safetensors").stat().st_size < 30e6


@pytest.mark.parametrize("option, value, message", [
    ("--ema-kimg", "nan", "argument --ema-kimg: nan is not a finite number from 0 to 1000"),
    ("--lr", "inf", "argument --lr: inf is not a finite number from 1e-08 to 1"),
    ("--part-weight", "-1", "argument --part-weight: -1 is not a finite number from 0 to 10"),
    ("--mapping-lr-multiplier", "nan", "argument --mapping-lr-multiplier: nan is not a finite number"),
    ("--checkpoint-minutes", "inf", "argument --checkpoint-minutes: inf is not a finite number from 0 to 1440"),
    ("--batch", "100000", "argument --batch: 100000 is not an integer from 1 to 256"),
    ("--resolution", "100000", "argument --resolution: 100000 is not an integer from 16 to 1024"),
    ("--workers", "1000", "argument --workers: 1000 is not an integer from 0 to 64"),
    ("--threads", "0", "argument --threads: 0 is not an integer from 1 to 256"),
    ("--steps", "0", "argument --steps: 0 is not an integer of at least 1"),
])
def test_cli_refuses_bad_numbers_before_creating_the_run(tmp_path, capsys, option, value, message):
    with pytest.raises(SystemExit) as info:
        main(["train-synthetic", "--run", str(tmp_path / "r"), option, value])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
