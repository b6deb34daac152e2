"""``evaluate`` refuses a ``reenact --side-by-side`` result unless ``--panel`` picks the panel to score."""

from __future__ import annotations

import numpy as np
import pytest

from video2stylegan.cli.main import main
from video2stylegan.errors import InvalidOptionError
from video2stylegan.evaluation import evaluate_video, side_by_side_panel
from video2stylegan.io.video import write_video


def _panels(t=3, h=32, drive_w=58):
    """Frames laid out as reenact --side-by-side writes them: source (h x h) | driving | result (h x h)."""
    src = np.full((t, h, h, 3), 10, np.uint8)
    drv = np.full((t, h, drive_w, 3), 120, np.uint8)
    res = np.arange(t * h * h * 3, dtype=np.int64).reshape(t, h, h, 3).astype(np.uint8)
    return np.concatenate([src, drv, res], axis=2), src, drv, res


def test_each_panel_is_cut_out_exactly():
    frames, src, drv, res = _panels()
    assert np.array_equal(side_by_side_panel(frames, 1), src)
    assert np.array_equal(side_by_side_panel(frames, 2), drv)
    assert np.array_equal(side_by_side_panel(frames, 3), res)
    with pytest.raises(InvalidOptionError, match="too narrow"):
        side_by_side_panel(res, 3)


def test_a_side_by_side_array_is_refused_without_panel():
    frames, _, drv, _ = _panels()
    with pytest.raises(InvalidOptionError, match=r"122x32, 3\.8 times as wide as high.*--panel 3"):
        evaluate_video(frames, drv, learned=False, progress=False)


def test_the_command_refuses_a_side_by_side_file_and_a_panel_of_a_plain_one(tmp_path, capsys):
    frames, _, drv, res = _panels(h=64, drive_w=64)
    wide, plain = tmp_path / "wide.mp4", tmp_path / "plain.mp4"
    write_video(wide, frames, 25)
    write_video(plain, res, 25)
    rc = main(["evaluate", "--result", str(wide), "--driving", str(plain), "--no-learned", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "reenact --side-by-side" in err and "--panel 3" in err and "Traceback" not in err
    rc = main(["evaluate", "--result", str(plain), "--driving", str(plain), "--panel", "3", "--no-learned",
               "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "too narrow" in err and "drop --panel" in err
    with pytest.raises(SystemExit) as info:
        main(["evaluate", "--result", str(wide), "--driving", str(plain), "--panel", "4"])
    assert info.value.code == 2
