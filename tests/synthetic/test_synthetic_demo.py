"""The bundled demo pair is present, small, and in sync with the renderer."""

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.images import read_image
from video2stylegan.io.video import probe_video, read_video
from video2stylegan.synthetic import demo
from video2stylegan.synthetic.params import HeadParams, Identity
from video2stylegan.synthetic.renderer import render
from video2stylegan.synthetic.trajectory import Trajectory

FILES = ("source.png", "driving.mp4", "codriving.mp4", "truth.npz")


def test_demo_files_are_shipped_and_small():
    sizes = {name: (demo.DEMO_DIR / name).stat().st_size for name in FILES}
    assert sum(sizes.values()) < 400_000, sizes
    for name in ("driving.mp4", "codriving.mp4"):
        info = probe_video(demo.DEMO_DIR / name)
        assert (info.width, info.height) == (256, 256)
        assert info.num_frames == demo.DEMO_CLIP_FRAMES and info.fps == pytest.approx(25)
        assert 3.0 <= info.duration <= 5.0


def test_source_portrait_is_the_current_render():
    # Regenerate the demo (python -m video2stylegan.synthetic.demo) if the renderer changed.
    # (A tolerance of a level or two allows for float rounding on other CPUs.)
    png = read_image(demo.DEMO_DIR / "source.png").astype(int)
    fresh = render(demo.source_params(), 256, supersample=3).image.astype(int)
    diff = np.abs(png - fresh)
    assert diff.max() <= 2 and diff.mean() < 0.05


def test_clips_match_their_recorded_ground_truth():
    z = demo.load_demo_truth()
    actor = Identity.from_vector(z["driving_identity"])
    source = Identity.from_vector(z["source_identity"])
    assert actor != source
    for name in ("driving", "codriving"):
        traj = Trajectory(z[f"{name}_expression"], z[f"{name}_pose"], float(z["fps"]))
        frames, _ = read_video(demo.DEMO_DIR / f"{name}.mp4")
        for i in (0, 57):
            r = render(traj.params(actor, i), 256)
            assert np.abs(frames[i].astype(float) - r.image).mean() < 4.0
            assert np.allclose(r.landmarks, z[f"{name}_landmarks"][i], atol=1e-3)
    # The co-driving clip moves the head differently.
    assert np.abs(z["driving_pose"][:, 0] - z["codriving_pose"][:, 0]).mean() > 3.0


def test_ground_truth_of_reenactment_uses_source_identity_and_chosen_motion():
    z = demo.load_demo_truth()
    frames = demo.demo_ground_truth("codriving")
    first = next(frames)
    expected = HeadParams(
        Identity.from_vector(z["source_identity"]),
        Trajectory(z["driving_expression"], z["codriving_pose"], 25.0).expression_at(0),
        Trajectory(z["driving_expression"], z["codriving_pose"], 25.0).pose_at(0),
    )
    assert first.params == expected
    with pytest.raises(InvalidOptionError, match="pose_from"):
        next(demo.demo_ground_truth("sideways"))


def test_generate_demo_into_another_folder(tmp_path, monkeypatch):
    # A short version, to check the writer without re-rendering 200 frames.
    monkeypatch.setattr(demo, "DEMO_CLIP_FRAMES", 3)
    monkeypatch.setattr(demo, "DEMO_SIZE", 64)
    paths = demo.generate_demo(tmp_path / "demo")
    assert sorted(p.name for p in paths.values()) == sorted(FILES)
    z = demo.load_demo_truth(tmp_path / "demo")
    assert z["driving_landmarks"].shape == (3, 68, 2)
    frames, _ = read_video(paths["driving"])
    assert frames.shape == (3, 64, 64, 3)
