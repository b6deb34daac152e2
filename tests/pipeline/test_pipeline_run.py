"""End-to-end runs of ``reenact`` on the bundled demo clip with a tiny network."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from video2stylegan import reenact
from video2stylegan.cli.main import main
from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io.video import probe_video
from video2stylegan.networks.transforms import to_uint8_images


def test_writes_video_with_frame_count_fps_and_layout(tiny_G, demo_files, tiny_budget, tmp_path):
    out = tmp_path / "out.mp4"
    r = reenact(demo_files.source, demo_files.driving, network=tiny_G, out=out, embedding=tiny_budget,
                max_frames=5, fps=10, cache_dir=tmp_path / "cache", side_by_side=True, progress=False,
                use_pose=False, use_local=False)
    info = probe_video(out)
    assert info.num_frames == 5 and info.fps == pytest.approx(10)
    # source | driving (256 px square scaled to 64) | result, all 64 px high
    assert (info.width, info.height) == (3 * 64, 64)
    assert r.frames.shape == (5, 64, 64, 3) and r.frames.dtype == np.uint8
    assert set(r.timings) >= {"network", "faces", "embed source", "embed driving", "render", "write"}
    assert r.cache == {"hits": 0, "misses": 6, "pti_cached": False}  # the source + 5 frames


def test_rerun_with_other_weights_reuses_every_embedding(tiny_G, demo_files, tiny_budget, tmp_path):
    kwargs = dict(network=tiny_G, embedding=tiny_budget, max_frames=3, cache_dir=tmp_path, progress=False,
                  use_pose=False, use_local=False)
    first = reenact(demo_files.source, demo_files.driving, **kwargs)
    again = reenact(demo_files.source, demo_files.driving, **kwargs)
    assert again.cache == {"hits": 4, "misses": 0, "pti_cached": True}
    np.testing.assert_array_equal(first.frames, again.frames)
    other = reenact(demo_files.source, demo_files.driving, zeta=0.0, **kwargs)
    assert other.cache["misses"] == 0 and not np.array_equal(other.frames, first.frames)


def test_neutral_weights_return_the_reference_frame(tiny_G, demo_files, tiny_budget, tmp_path):
    """alpha = beta = gamma = 0, zeta = 1, no pose, no transform: every frame is G_pti(w_ref)."""
    r = reenact(demo_files.source, demo_files.driving, network=tiny_G, embedding=tiny_budget, max_frames=3,
                cache_dir=tmp_path, progress=False, alpha=0.0, beta=0.0, gamma=0.0, zeta=1.0, use_pose=False,
                use_canonical=False, use_local=False)
    # the driving codes really differ, so equality is the equations' doing
    assert float((r.driving_ws[1:] - r.driving_ws[:1]).abs().max()) > 1e-3
    from video2stylegan.pipeline.embedding import embed_source
    from video2stylegan.method.cache import ProjectionCache, network_identity

    ref = embed_source(tiny_G, r.source.target, r.source.sha256, tiny_budget,
                       cache=ProjectionCache(tmp_path / "projections"), network_id=network_identity(tiny_G),
                       progress=False)
    assert ref.cached_w and ref.cached_pti
    with torch.no_grad():
        img = ref.G_render.synthesis(ref.w_ref)
    expected = to_uint8_images(img)[0]
    for frame in r.frames:
        np.testing.assert_array_equal(frame, expected)


def test_baseline_follows_the_driving_codes(tiny_G, demo_files, tiny_budget, tmp_path):
    r = reenact(demo_files.source, demo_files.driving, network=tiny_G, embedding=tiny_budget, max_frames=3,
                cache_dir=tmp_path, progress=False, method="baseline")
    assert "calibrate" not in r.timings and "pose" not in r.timings
    # frame 0 of the baseline is the reference itself (w_ref + w_0 - w_0)
    assert r.frames.shape == (3, 64, 64, 3)
    assert np.abs(r.frames[2].astype(int) - r.frames[0]).mean() > 0.5


def test_canonical_transform_moves_the_output(tiny_G, demo_files, tiny_budget, tmp_path):
    kwargs = dict(network=tiny_G, embedding=tiny_budget, max_frames=12, cache_dir=tmp_path, progress=False,
                  use_pose=False, use_local=False, alpha=0.0, beta=0.0, gamma=0.0, zeta=1.0)
    still = reenact(demo_files.source, demo_files.driving, use_canonical=False, **kwargs)
    moved = reenact(demo_files.source, demo_files.driving, **kwargs)
    motion = np.abs(moved.driving.canonical - moved.driving.canonical[:1]).max(axis=0)
    assert motion[:2].max() > 0.002 or motion[2] > 0.005  # the demo clip's head does move
    np.testing.assert_array_equal(still.frames[0], still.frames[-1])
    assert np.abs(moved.frames[-1].astype(int) - still.frames[-1]).mean() > 1.0


def test_bad_inputs_fail_before_any_work(tiny_G, demo_files, tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        reenact(demo_files.source, demo_files.driving, network=tiny_G, out=tmp_path / "no" / "x.mp4")
    with pytest.raises(InvalidOptionError, match=r"\.mp4"):
        reenact(demo_files.source, demo_files.driving, network=tiny_G, out=tmp_path / "x.avi")
    with pytest.raises(InvalidOptionError, match="co-driving"):
        reenact(demo_files.source, demo_files.driving, network=tiny_G, pose_from="co-driving")
    with pytest.raises(InvalidOptionError, match="alpha"):
        reenact(demo_files.source, demo_files.driving, network=tiny_G, alpha=float("nan"))


def test_an_output_that_is_an_input_is_refused_before_the_faces_are_read(tiny_G, demo_files, tmp_path, monkeypatch):
    import os
    import shutil

    from video2stylegan.errors import OutputError

    def no_faces(*args, **kwargs):
        pytest.fail("the source was read although the output should have been refused first")

    monkeypatch.setattr("video2stylegan.pipeline.run.load_source", no_faces)
    driving = shutil.copyfile(demo_files.driving, tmp_path / "driving.mp4")
    os.link(driving, tmp_path / "same.mp4")
    before = (tmp_path / "driving.mp4").read_bytes()
    for out, name in ((driving, "driving"), (tmp_path / "same.mp4", "driving"), (demo_files.co_driving, "co_driving")):
        with pytest.raises(OutputError, match=rf"^out {out} is the same file as {name} "):
            reenact(demo_files.source, driving, co_driving=demo_files.co_driving, network=tiny_G, out=out)
    assert (tmp_path / "driving.mp4").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["driving.mp4", "same.mp4"]
    with pytest.raises(InvalidOptionError, match="fps must be between 0.1 and 240"):
        reenact(demo_files.source, driving, network=tiny_G, fps=1e11)


def test_low_memory_recomputes_activations_and_changes_nothing(tiny_G, demo_files, tiny_budget):
    kwargs = dict(network=tiny_G, embedding=tiny_budget, max_frames=2, cache_dir=False, progress=False,
                  use_pose=False, use_local=False)
    plain = reenact(demo_files.source, demo_files.driving, **kwargs)
    try:
        low = reenact(demo_files.source, demo_files.driving, low_memory=True, **kwargs)
        assert tiny_G.synthesis.recompute_activations
    finally:
        tiny_G.synthesis.recompute_activations = False
    np.testing.assert_array_equal(low.frames, plain.frames)


def _bad_inputs(folder, good_clip):
    """``{name: path}`` of inputs the tester gave: each unusable in its own way, none loads a network."""
    import av

    bad = {"missing": folder / "missing.mp4", "folder": folder / "clips"}
    bad["folder"].mkdir()
    bad["text"] = folder / "notes.mp4"
    bad["text"].write_text("not a video\n")
    bad["audio only"] = folder / "voice.mp4"
    with av.open(str(bad["audio only"]), "w") as c:
        s = c.add_stream("aac", rate=16000)
        for i in range(8):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    bad["zero frames"] = folder / "empty.mp4"
    with av.open(str(bad["zero frames"]), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        c.start_encoding()
    data = good_clip.read_bytes()  # its index (moov) is at the end, so a cut file has none
    bad["truncated"] = folder / "cut.mp4"
    bad["truncated"].write_bytes(data[: len(data) // 2])
    return bad


@pytest.mark.parametrize("role", ["--driving", "--co-driving", "--source"])
def test_every_bad_input_fails_in_one_line_before_the_network_loads(demo_files, tmp_path, monkeypatch, capsys, role):
    def no_network(*args, **kwargs):
        pytest.fail("the network was loaded before the inputs were checked")

    monkeypatch.setattr("video2stylegan.networks.loading.load_generator", no_network)
    bad = _bad_inputs(tmp_path, demo_files.driving)
    what = {"--driving": "driving video", "--co-driving": "co-driving video", "--source": "source image"}[role]
    expected = {
        "missing": "does not exist; check the path.",
        "folder": "is not a file (a directory?)",
        "text": "is not a" + (" video FFmpeg can read" if role != "--source" else "n image Pillow can read"),
        "audio only": "has no video track" if role != "--source" else "is not an image Pillow can read",
        "zero frames": "has no video track: it is empty (zero frames)" if role != "--source"
        else "is not an image Pillow can read",
        "truncated": "or it was cut short before its index was written" if role != "--source"
        else "is not an image Pillow can read",
    }
    for name, path in bad.items():
        args = {"--source": str(demo_files.source), "--driving": str(demo_files.driving),
                "--co-driving": str(demo_files.co_driving), "--out": str(tmp_path / "out.mp4"), role: str(path)}
        rc = main(["reenact", *[x for kv in args.items() for x in kv], "--quiet", "--no-cache"])
        err = capsys.readouterr().err
        assert rc == 1, name
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
        assert err.startswith(f"video2stylegan reenact: error: {what}: ") and str(path) in err, err
        assert expected[name] in err, (name, err)
    assert not (tmp_path / "out.mp4").exists()


def test_all_bad_inputs_are_named_at_once(demo_files, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("video2stylegan.networks.loading.load_generator", lambda *a, **k: pytest.fail("loaded"))
    bad = _bad_inputs(tmp_path, demo_files.driving)
    cut = tmp_path / "source.jpg"
    with open(demo_files.source, "rb") as f:  # a PNG cut in half: Pillow opens it, decoding runs out of data
        cut.write_bytes(f.read()[:2000])
    rc = main(["reenact", "--source", str(cut), "--driving", str(bad["truncated"]), "--co-driving",
               str(bad["audio only"]), "--out", str(tmp_path / "out.mp4"), "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1
    parts = err.removeprefix("video2stylegan reenact: error: ").split(" | ")
    assert [p.split(":")[0] for p in parts] == ["source image", "driving video", "co-driving video"]
    assert f"image {cut} could not be decoded" in parts[0] and "the file may be truncated" in parts[0]
    assert str(bad["truncated"]) in parts[1] and str(bad["audio only"]) in parts[2]


def _two_shot_clip(path):
    from video2stylegan.io.video import write_video
    from video2stylegan.synthetic.clips import identity_from_seed, render_clip
    from video2stylegan.synthetic.trajectory import talking_trajectory

    shots = [np.stack([r.image for r in render_clip(identity_from_seed(person), talking_trajectory(5, 25.0, seed),
                                                    size=96, supersample=1)]) for seed, person in ((0, 0), (2, 5))]
    write_video(path, np.concatenate(shots), 25.0, crf=12)
    return path


def test_a_cut_in_the_driving_clip_is_no_motion_of_the_portrait(tiny_G, demo_files, tiny_budget, tmp_path):
    driving = _two_shot_clip(tmp_path / "two_shots.mp4")
    kwargs = dict(network=tiny_G, embedding=tiny_budget, cache_dir=tmp_path, progress=False, method="baseline")
    anchored = reenact(demo_files.source, driving, **kwargs)
    assert len(anchored.cuts) == 1 and abs(anchored.cuts[0] - 5) <= 1
    cut = anchored.cuts[0]
    assert f"shot cuts in the driving clip at frame(s) {cut} (each shot re-anchored)" in anchored.summary()
    step = lambda r, j: np.abs(r.frames[j].astype(int) - r.frames[j - 1]).mean()  # noqa: E731
    # re-anchored, the first frame of the new shot continues the last of the old one exactly
    assert step(anchored, cut) == 0.0
    assert step(anchored, cut + 1) > 0.0  # and the new shot's own motion goes on
    ignored = reenact(demo_files.source, driving, cuts="ignore", **kwargs)
    # ignoring it, the cut passes into the portrait; the first shot is the same either way
    assert step(ignored, cut) > 1.0
    np.testing.assert_array_equal(ignored.frames[:cut], anchored.frames[:cut])


def test_pose_targets_reanchor_each_shot_and_loop_the_cuts():
    from video2stylegan.method.config import ReenactConfig
    from video2stylegan.pipeline.plan import looped_cuts, pose_targets

    angles = torch.tensor([[0.0, 0, 0], [2, 0, 0], [4, 0, 0], [30, 5, 0], [32, 5, 0], [34, 5, 0]])
    clip = type("Clip", (), {"cuts": [3], "partial": [], "targets": staticmethod(lambda idx: angles[list(idx)]),
                             "__len__": lambda self: 6})()
    ref = np.array([10.0, 0, 0])
    got = pose_targets(lambda x: x, clip, 6, ReenactConfig(smoothing_kernel=1), ref).numpy()
    # the yaw turns 2 degrees a frame in both shots; the cut's 26 degrees and 5 of pitch are not a turn
    np.testing.assert_allclose(got[:, 0], [10, 12, 14, 14, 16, 18])
    np.testing.assert_allclose(got[:, 1], 0.0)
    ignored = pose_targets(lambda x: x, clip, 6, ReenactConfig(smoothing_kernel=1, cuts="ignore"), ref).numpy()
    np.testing.assert_allclose(ignored[:, 0], [10, 12, 14, 40, 42, 44])
    assert looped_cuts([3], 6, 14, "loop") == [3, 9]
    assert looped_cuts([3], 6, 2, "truncate") == []


def test_spooled_frames_equal_kept_frames_and_the_same_video_is_written(tiny_G, demo_files, tiny_budget, tmp_path):
    from video2stylegan.io.video import FrameSpool, read_video

    kwargs = dict(network=tiny_G, embedding=tiny_budget, max_frames=4, cache_dir=tmp_path / "cache", progress=False,
                  use_pose=False, use_local=False, side_by_side=True, render_batch=3)
    kept = reenact(demo_files.source, demo_files.driving, out=tmp_path / "kept.mp4", keep_frames=True, **kwargs)
    spooled = reenact(demo_files.source, demo_files.driving, out=tmp_path / "spooled.mp4", keep_frames=False,
                      **kwargs)
    assert isinstance(kept.frames, np.ndarray) and isinstance(spooled.frames, FrameSpool)
    assert spooled.frames.shape == kept.frames.shape == (4, 64, 64, 3)
    np.testing.assert_array_equal(np.asarray(spooled.frames), kept.frames)
    np.testing.assert_array_equal(read_video(tmp_path / "spooled.mp4")[0], read_video(tmp_path / "kept.mp4")[0])
    assert "4 frames" in spooled.summary()


def test_local_channels_passed_in_are_used_without_calibrating(tiny_G, demo_files, tiny_budget, tmp_path):
    names = tiny_G.style_names
    channels = {names[3]: [0, 1], names[5]: [2]}  # two constrained layers (3-7)
    kwargs = dict(network=tiny_G, embedding=tiny_budget, max_frames=3, cache_dir=tmp_path, progress=False,
                  use_pose=False, use_canonical=False)
    given = reenact(demo_files.source, demo_files.driving, local_calibration=channels, **kwargs)
    assert given.local_channels == 3 and "calibrate" in given.timings
    assert not (tmp_path / "calibration").exists()  # nothing was calibrated
    # Eq. 1-2 act on exactly those channels: none at all is the run without the local edit
    none = reenact(demo_files.source, demo_files.driving, local_calibration={}, **kwargs)
    off = reenact(demo_files.source, demo_files.driving, use_local=False, **kwargs)
    np.testing.assert_array_equal(none.frames, off.frames)
    assert none.local_channels == 0
    # the driver's change since its first frame (local_mode relative) moves the later frames only: measured
    # 0.11 and 0.15 grey levels on average with these three channels of a 16-wide network
    np.testing.assert_array_equal(given.frames[0], off.frames[0])
    assert np.abs(given.frames[1:].astype(int) - off.frames[1:]).mean() > 0.05
