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
    assert main(["synth-video", "--out", str(out), "--frames", "-1"]) == 1
    assert "--frames must be at least 1" in capsys.readouterr().err
    assert main(["synth-video", "--out", str(out), "--ground-truth", str(tmp_path / "t.txt")]) == 1


def test_talking_head_frames_are_still_detected(dlib_models):
    """A rendered clip is a usable driving video: dlib tracks it frame by frame."""
    from video2stylegan.synthetic.trajectory import talking_trajectory

    detector, _ = dlib_models
    tr = talking_trajectory(30, 25.0, seed=1)
    ident = identity_from_seed(1)
    found = sum(len(detector(render(tr.params(ident, i), 128).image, 1)) > 0 for i in range(0, 30, 3))
    assert found >= 9
    assert Expression.size() == tr.expression.shape[1] and Pose.size() == tr.pose.shape[1]
