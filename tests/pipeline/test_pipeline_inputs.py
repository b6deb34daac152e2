"""Inputs of the pipeline: faces found, clips aligned, bad media reported clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from video2stylegan import reenact
from video2stylegan.errors import MediaError, NoFaceError
from video2stylegan.faces import TrackOptions
from video2stylegan.io.video import read_video, write_video
from video2stylegan.pipeline.inputs import load_clip, load_source


@pytest.fixture(scope="module")
def demo_frames(demo_files):
    frames, fps = read_video(demo_files.driving, max_frames=8)
    return frames, fps


def test_source_is_aligned_at_the_generator_resolution(demo_files):
    src = load_source(demo_files.source, 64)
    assert src.aligned.image.shape == (64, 64, 3)
    assert src.target.shape == (1, 3, 64, 64) and -1.0 <= float(src.target.min()) < float(src.target.max()) <= 1.0
    # aligned the FFHQ way: eye centre at the canonical place, eyes level
    assert np.abs(src.canonical).max() < 0.03


def test_source_without_a_face_names_the_file(tmp_path):
    from video2stylegan.io.images import write_image

    path = write_image(tmp_path / "wall.png", np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(NoFaceError, match="wall.png") as info:
        load_source(path, 64)
    assert "one face" in str(info.value)


def test_clip_canonical_parameters_are_relative_to_the_first_crop(demo_files):
    clip = load_clip(demo_files.driving, 64, max_frames=8, progress=False)
    assert len(clip) == 8 and clip.fps == pytest.approx(25)
    assert clip.aligned_images.shape == (8, 64, 64, 3)
    assert np.abs(clip.canonical[0]).max() < 0.03  # the first crop is aligned on frame 0's face


def test_frames_without_a_face_are_interpolated_or_fail(demo_frames, tmp_path):
    frames, fps = demo_frames
    frames = frames.copy()
    frames[[3, 4]] = 90  # no face in frames 3 and 4
    path = write_video(tmp_path / "gaps.mp4", frames, fps)
    clip = load_clip(path, 64, progress=False)
    assert clip.missing == [3, 4]
    # interpolated landmarks lie between their neighbours'
    lm = clip.tracks.landmarks
    assert np.abs(lm[3] - 0.5 * (lm[2] + lm[5])).max() < np.abs(lm[5] - lm[2]).max() + 1.0
    with pytest.raises(NoFaceError, match="3-4"):
        load_clip(path, 64, TrackOptions(on_missing="fail"), progress=False)


def test_unreadable_and_faceless_videos(tmp_path, demo_files):
    bad = tmp_path / "broken.mp4"
    bad.write_text("not a video")
    with pytest.raises(MediaError, match="broken.mp4"):
        load_clip(bad, 64, progress=False)
    blank = write_video(tmp_path / "blank.mp4", np.full((3, 64, 64, 3), 40, np.uint8), 25)
    with pytest.raises(NoFaceError, match="driving"):
        load_clip(blank, 64, progress=False)
    with pytest.raises(MediaError, match="missing.mp4"):
        reenact(demo_files.source, tmp_path / "missing.mp4", network="random-r-128", cache_dir=False)


@pytest.mark.parametrize("policy, frames", [("loop", 6), ("truncate", 4)])
def test_codriving_length_policy(tiny_G, demo_files, demo_frames, tiny_budget, tmp_path, policy, frames):
    short = write_video(tmp_path / "short.mp4", demo_frames[0][:4], 25)
    r = reenact(demo_files.source, demo_files.driving, co_driving=short, network=tiny_G, embedding=tiny_budget,
                max_frames=6, cache_dir=tmp_path, progress=False, use_pose=False, use_local=False,
                transform_from="co-driving", codriving_length=policy)
    assert len(r.frames) == frames


def test_check_inputs_lets_a_truncated_clip_through_only_for_the_frames_it_holds(demo_files, demo_frames, tmp_path):
    import av

    from video2stylegan.pipeline.inputs import check_inputs

    # index first ("faststart"): the first 85 % of the file opens and lists all 8 frames
    whole = tmp_path / "whole.mp4"
    with av.open(str(whole), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 256, 256, "yuv420p"
        for i, frame in enumerate(demo_frames[0]):
            f = av.VideoFrame.from_ndarray(frame)
            f.pts = i
            for packet in s.encode(f):
                c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 85 // 100])
    from video2stylegan.io.video import probe_video

    held = probe_video(cut).stored_frames
    assert 2 < held < 8
    with pytest.raises(MediaError, match=rf"^driving video: {cut} is truncated: its header lists 8 frames but the "
                                         rf"file holds {held}; "):
        check_inputs(demo_files.source, cut)
    with pytest.raises(MediaError, match=rf"holds {held}; re-encode or trim it, or use at most {held - 1} frames\.$"):
        check_inputs(demo_files.source, cut, max_frames=held)  # the last packet read may be cut
    check_inputs(demo_files.source, cut, max_frames=held - 1)  # the frames asked for are all there
    check_inputs(demo_frames[0][0], whole, co_driving=whole)  # an array source is checked when it is aligned
    with pytest.raises(MediaError, match=rf"^co-driving video: {cut} is truncated"):
        check_inputs(demo_files.source, whole, co_driving=cut, max_frames=1)  # max_frames is the driving's


def _shot(seed, frames, identity_seed, size=96):
    from video2stylegan.synthetic.clips import identity_from_seed, render_clip
    from video2stylegan.synthetic.trajectory import talking_trajectory

    person = identity_from_seed(identity_seed)
    return np.stack([r.image for r in render_clip(person, talking_trajectory(frames, 25.0, seed), size=size,
                                                   supersample=1)])


def test_clip_with_a_cut_and_a_face_leaving_the_frame(tmp_path):
    first, second = _shot(0, 10, 0), _shot(2, 8, 5)
    for i, s in zip(range(2, 9), (10, 20, 30, 38, 30, 20, 10)):  # the face slides out to the left and back
        frame = first[i].copy()
        first[i] = frame[0, 0]
        first[i, :, : 96 - s] = frame[:, s:]
    path = tmp_path / "two_shots.mp4"
    write_video(path, np.concatenate([first, second]), 25.0, crf=12)
    clip = load_clip(path, 64, progress=False)
    assert len(clip.cuts) == 1 and abs(clip.cuts[0] - 10) <= 1
    assert clip.partial and set(clip.partial) <= set(range(3, 8))
    # each shot's canonical parameters are measured in its own first crop: both start near 0
    for start in (0, clip.cuts[0]):
        assert np.abs(clip.canonical[start, :2]).max() < 0.02
    # the partial frames hold a fully visible frame's crop, so the face in them stays whole
    visible = [k for k in range(10) if k not in clip.partial]
    for j in clip.partial:
        k = next(k for k in visible if clip.aligned.slot(j) == clip.aligned.slot(k))  # the same stored crop
        np.testing.assert_array_equal(clip.aligned[j].image, clip.aligned[k].image)
    # the crop after the cut is that of the second shot alone (no smoothing across the cut)
    write_video(tmp_path / "second.mp4", second, 25.0, crf=12)
    alone = load_clip(tmp_path / "second.mp4", 64, progress=False)
    # (within 2 px of a 90 px crop: the two encodings move the landmarks by up to 1.3 px)
    np.testing.assert_allclose(clip.aligned[10].quad, alone.aligned[0].quad, atol=2.0)
    from video2stylegan.faces import ffhq_quad
    from video2stylegan.faces.temporal import temporal_mean

    quads = np.stack([ffhq_quad(lm) for lm in clip.tracks.steady_landmarks()])
    through = temporal_mean(quads, 3)[10]  # what smoothing through the cut gives
    assert np.abs(through - alone.aligned[0].quad).max() > 4.0


def test_a_source_face_index_the_portrait_lacks_fails_before_the_network_loads(shared_data, tmp_path):
    portrait = shared_data / "portraits" / "face_recognition__two_people.jpg"
    driving = shared_data / "driving" / "tps__driving.mp4"
    nowhere = tmp_path / "no_such_network.pkl"  # loading it would fail with a CheckpointError
    with pytest.raises(NoFaceError, match=r"^source portrait: face index 2 \(--source-face\) requested but only 2 "
                                          r"face\(s\) found in .*two_people\.jpg; use an index from 0 to 1 "
                                          r"\(0 = largest\)\.$"):
        reenact(portrait, driving, network=nowhere, source_face=2, max_frames=2, cache_dir=False, progress=False)
    with pytest.raises(NoFaceError, match=r"face index -3 \(--source-face\).*only 2 face"):
        reenact(portrait, driving, network=nowhere, source_face=-3, max_frames=2, cache_dir=False, progress=False)
    # an index the portrait has goes on to the network, which is where this run fails
    from video2stylegan.errors import CheckpointError

    with pytest.raises(CheckpointError, match="no_such_network.pkl"):
        reenact(portrait, driving, network=nowhere, source_face=1, max_frames=2, cache_dir=False, progress=False)


def test_check_inputs_detects_the_portrait_once_and_refuses_a_faceless_one(shared_data, tmp_path):
    from video2stylegan.io.images import write_image
    from video2stylegan.pipeline import inputs

    portrait = shared_data / "portraits" / "face_recognition__two_people.jpg"
    driving = shared_data / "driving" / "tps__driving.mp4"
    inputs.check_inputs(portrait, driving, source_face=1)
    (found,) = inputs._PORTRAIT_FACES.values()
    assert len(found) == 2
    # load_source takes the faces check_inputs found: the very same face, not a second detection
    assert load_source(portrait, 64, choose=1).face is found[1]
    wall = write_image(tmp_path / "wall.png", np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(NoFaceError, match=r"^source portrait: no face found in .*wall\.png; "):
        inputs.check_inputs(wall, driving, source_face="largest")
    inputs.check_inputs(wall, driving)  # without source_face the faces are not looked at


def _out_and_back_clip(folder):
    """A clip whose face slides out to the left 6 px a frame and back, and comes back 14 px higher than it
    left, aligned at 64 px."""
    xs = [0, 0, 0, 6, 12, 18, 24, 30, 36, 42, 48, 42, 36, 30, 24, 18, 12, 6, 0, 0]
    ys = [0] * 9 + [4, 8, 12, 14] + [14] * 7
    frames = _shot(0, len(xs), 0)
    for i, (x, y) in enumerate(zip(xs, ys)):
        frame = frames[i].copy()
        frames[i] = frame[0, 0]
        frames[i, : 96 - y, : 96 - x] = frame[y:, x:]
    path = write_video(folder / "out_and_back.mp4", frames, 25.0, crf=12)
    return load_clip(path, 64, progress=False)


def _steps(values) -> np.ndarray:
    """Frame-to-frame change of per-frame values (Euclidean, over everything after the frame axis)."""
    values = np.asarray(values, np.float64)
    return np.linalg.norm(np.diff(values.reshape(len(values), -1), axis=0), axis=1)


def test_placement_goes_straight_across_a_partial_stretch(tmp_path):
    from video2stylegan.faces import FFHQ_EYE_CENTER
    from video2stylegan.method.canonical import canonical_offsets, content_motions

    clip = _out_and_back_clip(tmp_path)
    assert clip.cuts == []
    # measured: partial from 42 px out, lost at 48 px (frame 10), which joins the stretch
    assert clip.missing == [10] and clip.partial == [9, 10, 11]
    p = clip.canonical
    before, after = 8, 12
    # a straight line from the last fully visible frame to the first one after (the crop images hold)
    for j in clip.partial:
        w = (j - before) / (after - before)
        np.testing.assert_allclose(p[j], (1 - w) * p[before] + w * p[after], atol=1e-9)
    steps = np.linalg.norm(np.diff(p[:, :2], axis=0), axis=1)  # placement change into frame j + 1
    visible = np.ones(len(p), bool)
    visible[clip.partial] = False
    ordinary = steps[visible[1:] & visible[:-1]].max()  # 0.080 of the crop: the 6 px a frame of the slide
    across = steps[before:after]  # 0.042 each: the stretch's net motion spread over its four steps
    # the line's step is the face's mean speed while out of view, which the slide's own speed bounds (no margin
    # needed: the clip moves the face no faster out of view than in it); holding the nearest visible frame's
    # values would jump by the whole stretch's motion at its middle instead (0.167, 2.1x the ordinary)
    assert across.max() <= ordinary, (across, ordinary)
    assert np.linalg.norm(p[after, :2] - p[before, :2]) > 2 * ordinary
    # the generated face's eye centre (the reference's, moved as the transform moves it) stays inside the crop
    offsets = canonical_offsets(p, mode="relative", kernel=3, cuts=clip.cuts)
    motion = content_motions(offsets).double().numpy()
    eye = np.array([FFHQ_EYE_CENTER[0] - 0.5, FFHQ_EYE_CENTER[1] - 0.5, 1.0])  # generator coordinates
    moved = motion @ eye
    assert np.abs(moved[:, :2]).max() < 0.5, moved


def test_pose_targets_and_driving_codes_go_straight_across_a_partial_stretch(tmp_path, tiny_G):
    from video2stylegan.method.config import ReenactConfig
    from video2stylegan.method.pose import load_pose_regressor
    from video2stylegan.pipeline.calibration import BUNDLED_RENDERER_REGRESSOR
    from video2stylegan.pipeline.embedding import EmbeddingOptions, embed_clip
    from video2stylegan.pipeline.plan import driving_codes, pose_targets

    clip = _out_and_back_clip(tmp_path)
    before, after = 8, 12
    assert clip.partial == [9, 10, 11]  # between the fully visible frames 8 and 12
    visible = np.ones(len(clip), bool)
    visible[clip.partial] = False
    ordinary_pairs = visible[1:] & visible[:-1]
    reader = load_pose_regressor(BUNDLED_RENDERER_REGRESSOR)  # trained on these synthetic heads
    with torch.no_grad():
        raw = reader(clip.targets()).double().numpy()
    # unsmoothed targets: a straight line from frame 8's reading to frame 12's, the visible frames' as read
    line = pose_targets(reader, clip, len(clip), ReenactConfig(smoothing_kernel=1, pose_mode="absolute"),
                        np.zeros(3)).numpy()
    np.testing.assert_allclose(line[visible], raw[visible], atol=1e-5)
    for j in clip.partial:
        w = (j - before) / (after - before)
        np.testing.assert_allclose(line[j], (1 - w) * raw[before] + w * raw[after], atol=1e-5)
    # the reading alone holds each side's crop and turns by the whole stretch's 7.7 degrees in one frame;
    # the line takes 1.9 a step
    assert _steps(raw)[before:after].max() > 3.9 * _steps(line)[before:after].max()
    # the run's targets (relative, smoothed over 3 frames): no step across the stretch beyond the clip's
    # ordinary largest one (measured: 1.9 across, 3.8 ordinary, at the face nearing the border)
    targets = pose_targets(reader, clip, len(clip), ReenactConfig(), np.zeros(3)).numpy()
    across, ordinary = _steps(targets)[before:after], _steps(targets)[ordinary_pairs].max()
    assert across.max() <= ordinary, (across, ordinary)
    # the driving codes: projected, then the stretch in a straight line; the visible frames' codes untouched
    budget = EmbeddingOptions(first_frame_steps=3, frame_steps=1, perceptual="fallback")
    projected = embed_clip(tiny_G, clip, "out-and-back", budget, progress=False).ws
    codes = driving_codes(clip, projected)
    torch.testing.assert_close(codes[visible], projected[visible], rtol=0, atol=0)
    for j in clip.partial:
        w = (j - before) / (after - before)
        torch.testing.assert_close(codes[j], (1 - w) * projected[before] + w * projected[after])
    # (measured: 0.116 a step across, 0.212 ordinary: the tiny network's one warm step a frame)
    across, ordinary = _steps(codes)[before:after], _steps(codes)[ordinary_pairs].max()
    assert across.max() <= ordinary, (across, ordinary)
