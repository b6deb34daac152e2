import numpy as np
import pytest
from face_drawing import DRAWN, draw_face

from video2stylegan.errors import InvalidOptionError, MediaError, NoFaceError
from video2stylegan.faces import FFHQ_EYE_LEFT, TrackOptions, align_frames, track_faces, track_video

BLANK = (190, 200, 215)


def _moving_clip(n=8, step=6, blank=()):
    """The drawn face sliding right by ``step`` px a frame on a 480x400 canvas."""
    face = draw_face(400)
    frames = []
    for i in range(n):
        canvas = np.empty((400, 480, 3), np.uint8)
        canvas[:] = BLANK
        if i not in blank:
            canvas[:, i * step : i * step + 400] = face
        frames.append(canvas)
    return np.stack(frames)


def test_missing_frames_are_reported_and_interpolated(caplog):
    clip = _moving_clip(blank=(3, 4))
    with caplog.at_level("WARNING"):
        # upsample=0: the face is large, and the drawn face is found at every
        # position at that level (at level 1 HOG misses one of them).
        tracked = track_faces(clip, upsample=0, progress=False, source="moving.mp4")
    assert tracked.missing == [3, 4]
    assert tracked.detected.tolist() == [True] * 3 + [False] * 2 + [True] * 3
    assert "moving.mp4" in caplog.text and "3-4" in caplog.text
    assert np.isnan(tracked.scores[3]) and tracked.face(3).interpolated
    # The face moves linearly, so interpolation lands where the face would be.
    for i in (3, 4):
        eye = tracked.landmarks[i, 36:42].mean(0)
        expected = np.array(DRAWN["left_eye"]) + [6 * i, 0]
        assert np.linalg.norm(eye - expected) < 6
    assert tracked.landmarks.shape == (8, 68, 2) and tracked.shape == (400, 480)


def test_missing_frames_can_fail_instead():
    clip = _moving_clip(n=5, blank=(1, 2, 4))
    with pytest.raises(NoFaceError, match=r"3 of 5 frames of clip.mp4 \(frames 1-2, 4\)") as info:
        track_faces(clip, upsample=0, on_missing="fail", progress=False, source="clip.mp4")
    assert "--missing-faces interpolate" in str(info.value) and "on_missing=" not in str(info.value)


def test_missing_at_the_ends_hold_the_nearest_face():
    tracked = track_faces(_moving_clip(n=4, blank=(0,)), upsample=0, progress=False)
    np.testing.assert_array_equal(tracked.landmarks[0], tracked.landmarks[1])


def test_options_as_one_object_or_by_name():
    clip = _moving_clip(n=5, blank=(2,))
    by_name = track_faces(clip, upsample=0, choose="largest", progress=False)
    as_object = track_faces(clip, TrackOptions(upsample=0, choose="largest"), progress=False)
    # a name given overrides the object's field: upsample=0 again, from an object saying 1
    overridden = track_faces(clip, TrackOptions(upsample=1, choose="largest"), upsample=0, progress=False)
    assert by_name.missing == as_object.missing == overridden.missing == [2]
    np.testing.assert_array_equal(by_name.landmarks, as_object.landmarks)
    np.testing.assert_array_equal(by_name.landmarks, overridden.landmarks)
    # the frame between two faces 12 px apart: its eye 6 px to the right of frame 1's
    eye = by_name.landmarks[:, 36:42].mean(1)
    np.testing.assert_allclose(eye[2] - eye[1], eye[3] - eye[2])
    assert abs((eye[2] - eye[1])[0] - 6) < 2
    with pytest.raises(InvalidOptionError, match="on_missing must be one of"):
        track_faces(clip, on_missing="skip", progress=False)
    with pytest.raises(InvalidOptionError, match="detector must be one of"):
        TrackOptions(detector="mtcnn")
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['upsampling'\]"):
        track_faces(clip, upsampling=0, progress=False)


def test_no_face_anywhere_is_an_error():
    clip = _moving_clip(n=3, blank=(0, 1, 2))
    with pytest.raises(NoFaceError, match="any of the 3 frames of empty.mp4") as info:
        track_faces(clip, upsample=0, progress=False, source="empty.mp4")
    # advice in command-line spelling, one threshold: 80 px at --upsample 0, and what the larger levels reach
    assert "faces narrower than about 80 px are missed at --upsample 0" in str(info.value)
    assert "--upsample 1 (about 40 px)" in str(info.value) and "--detector cnn" in str(info.value)
    assert "detector='cnn'" not in str(info.value)


def test_real_clip_track_and_align(shared_data):
    path = shared_data / "driving" / "tps__driving.mp4"
    tracked = track_video(path, max_frames=10, progress=False)
    assert len(tracked) == 10 and tracked.missing == []
    assert tracked.shape == (412, 410)
    # A talking head barely moves between frames at 25 fps.
    step = np.linalg.norm(np.diff(tracked.landmarks, axis=0), axis=-1).mean()
    assert step < 3.0, step
    from video2stylegan.io import read_video

    frames, _ = read_video(path, max_frames=10)
    aligned = align_frames(frames, tracked.landmarks, 128, smooth=3, supersample=1)
    eyes = np.stack([(a.landmarks[36:42].mean(0) + 0.5) / 128 for a in aligned])
    assert np.abs(eyes - FFHQ_EYE_LEFT).max() < 0.02
    # Smoothing over 3 frames halves the crop's frame-to-frame jitter
    # (mean |second difference| of the quad corners; 0.9 % -> 0.44 % of the
    # crop side over 80 frames).
    from video2stylegan.faces import ffhq_quad, temporal_mean

    raw = np.stack([ffhq_quad(lm) for lm in tracked.landmarks])
    smoothed = np.stack([a.quad for a in aligned])
    np.testing.assert_allclose(smoothed, temporal_mean(raw, 3))
    jitter_raw = np.abs(np.diff(raw, 2, axis=0)).mean()
    jitter_smooth = np.abs(np.diff(smoothed, 2, axis=0)).mean()
    assert jitter_smooth < 0.7 * jitter_raw, (jitter_raw, jitter_smooth)


def test_several_people_previous_keeps_one_track(shared_data):
    path = shared_data / "driving" / "face_recognition__short_hamilton_clip.mp4"
    tracked = track_video(path, max_frames=6, progress=False)
    centres = tracked.landmarks.mean(axis=1)
    jumps = np.linalg.norm(np.diff(centres, axis=0), axis=-1)
    assert jumps.max() < 20, jumps  # never hops to another person


def test_zero_frame_video_is_a_media_error(tmp_path):
    import av

    empty = tmp_path / "zero.mp4"
    with av.open(str(empty), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        c.start_encoding()
    with pytest.raises(MediaError, match="zero.mp4"):
        track_video(empty, progress=False)


def test_recovery_near_the_previous_face(shared_data):
    # In frame 22 of the TPS driving clip HOG's margin dips just below its
    # threshold (-0.18): a plain search misses it, the search near frame 21's
    # face at a lowered threshold finds it where the face is.
    from video2stylegan.io import read_video

    frames, _ = read_video(shared_data / "driving" / "tps__driving.mp4", max_frames=24)
    clip = frames[20:24]
    plain = track_faces(clip, upsample=1, recover=False, progress=False)
    assert plain.missing == [2]
    helped = track_faces(clip, upsample=1, progress=False)
    assert helped.missing == [] and helped.detected.all()
    assert helped.scores[2] < 0
    # The recovered landmarks sit between the neighbours' (the head moves little).
    mid = 0.5 * (helped.landmarks[1] + helped.landmarks[3])
    assert np.linalg.norm(helped.landmarks[2] - mid, axis=-1).mean() < 5


def _two_people(n=3, alone=()):
    """``n`` frames of two drawn faces side by side; in the frames ``alone`` only the left one."""
    face = draw_face(200)
    frames = np.empty((n, 220, 440, 3), np.uint8)
    frames[:] = BLANK
    frames[:, 10:210, 10:210] = face
    for i in range(n):
        if i not in alone:
            frames[i, 10:210, 230:430] = face
    return frames


def test_a_face_index_beyond_every_frame_says_how_many_faces_there_are():
    # Before, an index past the faces of every frame read "no face found in any of the 3 frames".
    with pytest.raises(NoFaceError, match=r"^face index 5 \(--face\) requested but at most 2 face\(s\) found in any "
                                          r"of the 3 frames of pair\.mp4; use an index from 0 to 1 \(0 = largest\)\.$"):
        track_faces(_two_people(), choose=5, upsample=0, progress=False, source="pair.mp4")
    with pytest.raises(NoFaceError, match=r"face index -3 \(--face\) requested but at most 2 face"):
        track_faces(_two_people(), choose=-3, upsample=0, progress=False, source="pair.mp4")
    # with no face anywhere the message stays "no face found"
    blank = np.full((3, 220, 440, 3), BLANK, np.uint8)
    with pytest.raises(NoFaceError, match="^no face found in any of the 3 frames of blank.mp4"):
        track_faces(blank, choose=5, upsample=0, progress=False, source="blank.mp4")


def test_frames_with_too_few_faces_for_the_index_are_named(caplog):
    frames = _two_people(n=4, alone=(1, 2))
    with caplog.at_level("WARNING"):
        tracked = track_faces(frames, choose=1, upsample=0, progress=False, source="pair.mp4")
    assert tracked.missing == [1, 2]
    assert "(frames 1-2; 2 of them (frames 1-2) show fewer than the 2 faces face index 1 (--face) needs)" in caplog.text
    assert tracked.detected.tolist() == [True, False, False, True]
    with pytest.raises(NoFaceError, match=r"2 of 4 frames of pair\.mp4 \(frames 1-2; 2 of them"):
        track_faces(frames, choose=1, upsample=0, on_missing="fail", progress=False, source="pair.mp4")


def _shrinking_clip(sizes, positions=None):
    """The drawn face at ``sizes`` px (one frame each, 0: no face) on a 640x600 canvas (above 512 px:
    ``upsample="auto"`` starts at level 0, where HOG finds boxes of about 80 px and wider), its top-left
    corner at ``positions`` (default ``(40, 40)``)."""
    frames = np.empty((len(sizes), 600, 640, 3), np.uint8)
    frames[:] = BLANK
    for i, size in enumerate(sizes):
        if size:
            x, y = (40, 40) if positions is None else positions[i]
            frames[i, y : y + size, x : x + size] = draw_face(size)
    return frames


def _levels_used(monkeypatch):
    """Record the upsampling level of every full-frame detection ``track_faces`` runs, frame by frame."""
    from video2stylegan.faces import video

    calls: list[tuple[tuple[int, int], int]] = []
    real = video._detect_boxes

    def spy(image, detector, upsample, threshold=0.0):
        calls.append((image.shape[:2], upsample))
        return real(image, detector, upsample, threshold)

    monkeypatch.setattr(video, "_detect_boxes", spy)
    return calls


def test_auto_upsampling_follows_a_face_that_shrinks_and_comes_back_down(monkeypatch):
    # HOG boxes at level 0: 149 px for the face drawn at 300 px, down to 72 px at 130; the face at 110 px
    # (a 62 px box at level 1) is missed at level 0
    sizes = [300, 260, 220, 180, 150, 130, 110, 90, 90, 130, 200, 300, 300]
    calls = _levels_used(monkeypatch)
    tracked = track_faces(_shrinking_clip(sizes), recover=False, progress=False)
    assert tracked.missing == []  # before, the clip kept level 0 and lost frames 6-8
    # the landmarks follow the face: the eye centre at the drawn face's, scaled with its size
    for i, size in enumerate(sizes):
        eye = tracked.landmarks[i, 36:42].mean(0)
        expected = 40 + np.array(DRAWN["left_eye"]) * size / 400
        assert np.linalg.norm(eye - expected) < 0.06 * size, (i, eye, expected)
    full = [level for shape, level in calls if shape == (600, 640)]
    # frames 0-5 one detection each at level 0 (the ordinary case costs what it did); frame 6 misses at 0
    # and is found at 1; frames 7-11 stay at 1: frame 10's face (200 px drawn) has an 89 px box, under
    # 1.5 x 80 px, frame 11's (300 px) a 155 px one: frame 12 is back at level 0
    assert full[:8] == [0, 0, 0, 0, 0, 0, 0, 1], full
    assert full[8:] == [1, 1, 1, 1, 1, 0], full


def test_auto_upsampling_finds_a_smaller_face_elsewhere_after_a_gap():
    # a wide shot after two blank frames: the face is 90 px drawn (about 45 px box) and far from where
    # it was, so the search near the previous face cannot help; the blank frames raised the level
    sizes = [300, 300, 0, 0, 90, 90, 90]
    positions = [(40, 40)] * 4 + [(500, 450)] * 3
    tracked = track_faces(_shrinking_clip(sizes, positions), progress=False)
    assert tracked.missing == [2, 3]
    centre = tracked.landmarks[4:].mean(axis=1)
    assert np.abs(centre - (500 + 45, 450 + 45)).max() < 15, centre
