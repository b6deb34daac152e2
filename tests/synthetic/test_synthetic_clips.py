"""Talking clips as MP4 with ground truth, and the synth-video command."""

import numpy as np
import pytest

from video2stylegan.cli.main import main
from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io.video import read_video
from video2stylegan.synthetic.clips import ClipTruth, identity_from_seed, synth_video
from video2stylegan.synthetic.params import Expression, HeadParams, Identity, Pose
from video2stylegan.synthetic.renderer import render


def test_synth_video_writes_frames_matching_the_truth(tmp_path):
    out, gt = tmp_path / "a.mp4", tmp_path / "a.npz"
    truth = synth_video(out, frames=6, seed=3, size=64, fps=20, ground_truth=gt)
    frames, fps = read_video(out)
    assert frames.shape == (6, 64, 64, 3) and fps == pytest.approx(20)
    loaded = ClipTruth.load(gt)
    assert loaded.landmarks.shape == (6, 68, 2) and loaded.visible.shape == (6, 68)
    assert loaded.params.shape == (6, HeadParams.size()) and loaded.fps == 20
    assert np.allclose(loaded.landmarks, truth.landmarks, atol=1e-3)
    # Frame 4 of the video is the render of its recorded parameters (up to H.264 loss).
    p = HeadParams.from_vector(loaded.params[4])
    assert p.identity == identity_from_seed(3)
    again = render(p, 64).image.astype(float)
    assert np.abs(frames[4].astype(float) - again).mean() < 4.0


def test_identity_seed_changes_the_person_not_the_motion(tmp_path):
    a = synth_video(tmp_path / "a.mp4", frames=4, seed=5, size=48)
    b = synth_video(tmp_path / "b.mp4", frames=4, seed=5, size=48, identity_seed=9)
    n_id = Identity.size()
    assert np.allclose(a.params[:, n_id:], b.params[:, n_id:])  # same expression and pose
    assert not np.allclose(a.params[:, :n_id], b.params[:, :n_id])  # another person
    fa, _ = read_video(tmp_path / "a.mp4")
    fb, _ = read_video(tmp_path / "b.mp4")
    assert np.abs(fa.astype(float) - fb.astype(float)).mean() > 10


def test_bad_options_are_clear_errors(tmp_path):
    with pytest.raises(InvalidOptionError, match="--frames"):
        synth_video(tmp_path / "x.mp4", frames=0)
    with pytest.raises(InvalidOptionError, match="--size"):
        synth_video(tmp_path / "x.mp4", frames=2, size=8)
    with pytest.raises(MediaError, match="does not exist"):
        synth_video(tmp_path / "x.mp4", frames=2, size=32, ground_truth=tmp_path / "no" / "t.npz")
    with pytest.raises(InvalidOptionError, match="fps must be between 0.1 and 240"):
        synth_video(tmp_path / "x.mp4", frames=2, size=32, fps=1e-300)
    with pytest.raises(InvalidOptionError, match=r"ground_truth .*x\.mp4 is the same file as out .*x\.mp4"):
        synth_video(tmp_path / "x.mp4", frames=2, size=32, ground_truth=tmp_path / "sub" / ".." / "x.mp4")
    assert list(tmp_path.iterdir()) == []


def test_cli_synth_video(tmp_path, capsys):
    out = tmp_path / "clip.mp4"
    rc = main(["synth-video", "--out", str(out), "--frames", "5", "--seed", "2", "--size", "64",
               "--fps", "10", "--identity-seed", "7", "--ground-truth", str(tmp_path / "clip.npz")])
    assert rc == 0 and out.is_file() and (tmp_path / "clip.npz").is_file()
    frames, fps = read_video(out)
    assert frames.shape == (5, 64, 64, 3) and fps == pytest.approx(10)
    assert main(["synth-video", "--out", str(out), "--ground-truth", str(tmp_path / "t.txt")]) == 1


@pytest.mark.parametrize("option, value, message", [
    ("--head-motion", "nan", "nan is not a finite number from 0 to 3"),
    ("--head-motion", "inf", "inf is not a finite number from 0 to 3"),
    ("--head-motion", "-0.5", "-0.5 is not a finite number from 0 to 3"),
    ("--head-motion", "3.01", "3.01 is not a finite number from 0 to 3"),
    ("--seed", "-1", "-1 is not a seed from 0 to 4294967295"),
    ("--seed", "4294967296", "4294967296 is not a seed from 0 to 4294967295"),
    ("--seed", "1.5", "expected an integer seed, got '1.5'"),
    ("--identity-seed", "-7", "-7 is not a seed from 0 to 4294967295"),
    ("--frames", "-1", "-1 is not an integer from 1 to 100000"),
    ("--frames", "0", "0 is not an integer from 1 to 100000"),
    ("--frames", "99999999999", "99999999999 is not an integer from 1 to 100000"),
    ("--size", "15", "15 is not an integer from 16 to 2048"),
    ("--size", "2049", "2049 is not an integer from 16 to 2048"),
    ("--size", "64.5", "expected an integer, got '64.5'"),
])
def test_cli_synth_video_refuses_bad_values_at_parse_time(tmp_path, capsys, option, value, message):
    # --head-motion nan wrote a clip of garbage poses; --seed -1 ended in numpy's traceback
    with pytest.raises(SystemExit) as info:
        main(["synth-video", "--out", str(tmp_path / "x.mp4"), "--frames", "2", "--size", "32", option, value])
    # nothing rendered: the parser refused it before the command ran
    err = capsys.readouterr().err
    assert info.value.code == 2 and f"argument {option}: {message}" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["x.avi", "x.mkv", "x", "x.mp4.png"])
def test_cli_synth_video_refuses_an_output_that_is_not_mp4(tmp_path, capsys, name):
    # "--out x.avi" wrote MP4 data under an .avi name
    rc = main(["synth-video", "--out", str(tmp_path / name), "--frames", "2", "--size", "32"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"--out must name an .mp4 file (the clip is written as MP4), got {tmp_path / name}." in err
    assert list(tmp_path.iterdir()) == []


def test_synth_video_edges_of_the_ranges_are_accepted_and_the_library_refuses_the_rest(tmp_path):
    from video2stylegan.synthetic import clips

    assert clips.HEAD_MOTION_RANGE == (0.0, 3.0) and clips.SEED_RANGE == (0, 4294967295)
    still = synth_video(tmp_path / "still.MP4", frames=3, seed=4294967295, size=32, head_motion=0.0)
    assert np.ptp(still.params[:, -6:], axis=0).max() == 0  # head_motion 0: the pose never moves
    wild = synth_video(tmp_path / "wild.mp4", frames=3, seed=0, size=32, head_motion=3.0, identity_seed=0)
    assert np.isfinite(wild.params).all()
    for kwargs, message in (({"head_motion": float("nan")}, "--head-motion must be a number from 0 to 3, got nan"),
                            ({"seed": -1}, r"--seed must be an integer from 0 to 2\*\*32 - 1, got -1"),
                            ({"identity_seed": 2**32}, "--identity-seed must be an integer"),
                            ({"out": tmp_path / "x.avi"}, "--out must name an .mp4 file")):
        with pytest.raises(InvalidOptionError, match=message):
            synth_video(**{"out": tmp_path / "x.mp4", "frames": 2, "size": 32, **kwargs})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["still.MP4", "wild.mp4"]


def test_talking_head_frames_are_still_detected(dlib_models):
    """A rendered clip is a usable driving video: dlib tracks it frame by frame."""
    from video2stylegan.synthetic.trajectory import talking_trajectory

    detector, _ = dlib_models
    tr = talking_trajectory(30, 25.0, seed=1)
    ident = identity_from_seed(1)
    found = sum(len(detector(render(tr.params(ident, i), 128).image, 1)) > 0 for i in range(0, 30, 3))
    assert found >= 9
    assert Expression.size() == tr.expression.shape[1] and Pose.size() == tr.pose.shape[1]
