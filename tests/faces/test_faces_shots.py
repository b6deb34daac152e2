"""Shot cuts, partial faces and identity in tracking, on stress clips built here from the synthetic head.

Cut detection measured (``find_cuts`` thresholds in faces/shots.py), cuts counted by eye for the
real clips (hamilton: a wide stage shot, a profile close-up from frame 20, a medium shot from 82,
the audience from 211); a found cut counts when within 1 frame of a true one:

| clip                                                      | true cuts       | found         | precision | recall |
|-----------------------------------------------------------|-----------------|---------------|-----------|--------|
| synthetic, 2 x 20 frames, same person, other motion       | 20              | 20            | 1         | 1      |
| synthetic, 2 x 20 frames, other person                    | 20              | 20            | 1         | 1      |
| synthetic, same clip jumping 8 frames back (frames 0-11, 4-19) | 12         | -             | -         | 0      |
| tps__driving.mp4 (169 frames)                             | none            | none          | -         | -      |
| tps__driving.mp4 0-79, 140-168, 20-59                     | 80, 109         | 80, 109       | 1         | 1      |
| hamilton clip (275 frames, stage footage)                 | 20, 82, 211     | 20, 82, 211   | 1         | 1      |
| tps 0-29, hamilton 0-29 (resized), tps 30-59              | 30, 50, 60      | 30, 50, 60    | 1         | 1      |

The jump back within one continuous synthetic clip is missed by design: the picture changes by
2x the largest in-shot change (0.0147 vs 0.007 grey difference), below the 3x spike a cut needs,
and the face moves 0.09 face sizes, inside the in-shot jitter (up to 0.21).
"""

import logging

import numpy as np
import pytest

from video2stylegan.faces import ffhq_quad, shots, track_faces
from video2stylegan.faces.temporal import temporal_mean, wrap_angle
from video2stylegan.faces.video import PARTIAL_MARGIN, outside_fraction
from video2stylegan.synthetic.clips import identity_from_seed, render_clip
from video2stylegan.synthetic.trajectory import talking_trajectory

SIZE = 96


def _clip(seed, frames, identity_seed=None, size=SIZE):
    identity = identity_from_seed(seed if identity_seed is None else identity_seed)
    renders = list(render_clip(identity, talking_trajectory(frames, 25.0, seed), size=size, supersample=1))
    return np.stack([r.image for r in renders]), np.stack([r.landmarks for r in renders])


def _centres(tracked, window=3):
    quads = np.stack([ffhq_quad(lm) for lm in tracked.landmarks])
    return tracked.smooth(quads, window).mean(axis=1)


@pytest.fixture(scope="module")
def two_people():
    a, _ = _clip(0, 10)
    b, _ = _clip(2, 10, identity_seed=5)
    return a, b


def test_cut_between_two_people_found_and_not_smoothed_across(two_people):
    a, b = two_people
    tracked = track_faces(np.concatenate([a, b]), upsample=1, progress=False)
    assert len(tracked.cuts) == 1 and abs(tracked.cuts[0] - 10) <= 1
    assert tracked.shots == [(0, tracked.cuts[0]), (tracked.cuts[0], 20)]
    # after the cut the crop's centre is that of tracking the second shot alone
    alone = track_faces(b, upsample=1, progress=False)
    after = _centres(tracked)[10:]
    np.testing.assert_allclose(after, _centres(alone), atol=0.5)
    # smoothing through the cut would have pulled frame 10's crop towards the first shot's face
    quads = np.stack([ffhq_quad(lm) for lm in tracked.landmarks])
    across = temporal_mean(quads, 3)[10].mean(axis=0)
    assert np.linalg.norm(across - _centres(alone)[0]) > 2.0


def test_cut_with_the_same_person_found():
    a, _ = _clip(0, 10)
    b, _ = _clip(1, 10, identity_seed=0)
    tracked = track_faces(np.concatenate([a, b]), upsample=1, progress=False)
    assert len(tracked.cuts) == 1 and abs(tracked.cuts[0] - 10) <= 1


def test_a_continuous_clip_has_no_cut():
    frames, _ = _clip(3, 20)
    assert track_faces(frames, upsample=1, progress=False).cuts == []


def test_find_cuts_needs_a_spike_not_a_fast_stretch():
    pixels = np.full(30, 0.005)
    hist = np.full(30, 0.02)
    pixels[10:16] = 0.06  # a fast pan: six frames of large change
    pixels[22] = 0.06  # one frame of the same change: a cut
    jumps = np.full(30, 0.05)
    jumps[22] = 0.5
    assert shots.find_cuts(hist, pixels, jumps) == [22]
    jumps[22] = 0.05  # the face stayed put: a flash, not a cut
    assert shots.find_cuts(hist, pixels, jumps) == []
    hist[22] = 0.8  # colours all changed: a cut whatever the face does
    assert shots.find_cuts(hist, pixels, jumps) == [22]


def test_missing_frames_are_filled_within_their_shot(two_people):
    a, b = two_people
    clip = np.concatenate([a, b])
    clip[10:12] = clip[0, 0, 0]  # the second shot's first two frames show no face
    tracked = track_faces(clip, upsample=1, progress=False)
    assert tracked.missing == [10, 11]
    assert tracked.cuts and 10 <= tracked.cuts[0] <= 12
    # held from the second shot's first face, not interpolated from the first shot's last
    np.testing.assert_allclose(tracked.landmarks[10], tracked.landmarks[12])


def test_a_face_sliding_out_of_frame_is_partial():
    frames, truth = _clip(0, 12, size=SIZE)
    shift = [0, 0, 0, 0, 20, 30, 38, 30, 20, 0, 0, 0]  # px to the left, and back
    slid = np.empty_like(frames)
    for i, s in enumerate(shift):
        slid[i] = frames[i, 0, 0]
        slid[i, :, : SIZE - s] = frames[i, :, s:]
    tracked = track_faces(slid, upsample=1, progress=False)
    outside = [outside_fraction(t - [s, 0], (SIZE, SIZE)) for t, s in zip(truth, shift)]
    flagged = tracked.partial_frames
    # the frames well out are flagged, the ones fully inside are not
    assert all(i in flagged for i, o in enumerate(outside) if o > 0.2)
    assert not any(i in flagged for i, o in enumerate(outside) if o == 0)
    assert tracked.cuts == []
    steady = tracked.steady_landmarks()
    for i in flagged:
        assert outside_fraction(steady[i], (SIZE, SIZE)) <= PARTIAL_MARGIN


def test_a_second_person_entering_does_not_take_the_track(caplog):
    small, _ = _clip(0, 8, size=64)
    big, _ = _clip(4, 8, identity_seed=7, size=96)
    frames = np.empty((8, 96, 192, 3), np.uint8)
    frames[:] = small[0, 0, 0]
    frames[:, 16:80, 4:68] = small
    frames[4:, :, 96:] = big[4:]  # a larger face enters on the right in frame 4
    with caplog.at_level(logging.WARNING, logger="video2stylegan.faces.video"):
        tracked = track_faces(frames, upsample=1, progress=False)
    assert tracked.most_faces == 2
    x = tracked.landmarks[:, :, 0].mean(axis=1)
    assert (x < 80).all(), x  # never the face on the right
    notices = [r for r in caplog.records if "faces in a frame" in r.getMessage()]
    assert len(notices) == 1 and "up to 2 faces" in notices[0].getMessage()
    assert tracked.cuts == []


def test_identity_not_position_decides_when_two_people_swap_places():
    a, _ = _clip(0, 8, size=80)
    b, _ = _clip(4, 8, identity_seed=7, size=80)
    frames = np.empty((8, 80, 160, 3), np.uint8)
    frames[:] = a[0, 0, 0]
    frames[:4, :, :80], frames[:4, :, 80:] = a[:4], b[:4]
    frames[4:, :, :80], frames[4:, :, 80:] = b[4:], a[4:]  # from frame 4 they have swapped places
    tracked = track_faces(frames, upsample=1, progress=False)
    x = tracked.landmarks[:, :, 0].mean(axis=1)
    # frame 0 follows the larger face (the second person, on the right); when the two swap places the
    # face nearest frame 3's is the other person, and the track goes with the person instead
    assert (x[:4] > 80).all() and (x[4:] < 80).all(), x


def test_frames_lost_past_the_border_are_partial_and_the_stretch_is_a_straight_line():
    shift = [0, 0, 0, 8, 16, 24, 32, 40, 46, 52, 46, 40, 32, 24, 16, 8, 0, 0]  # px to the left, and back
    frames, _ = _clip(0, len(shift), size=SIZE)
    slid = np.empty_like(frames)
    for i, s in enumerate(shift):
        slid[i] = frames[i, 0, 0]
        slid[i, :, : SIZE - s] = frames[i, :, s:]
    tracked = track_faces(slid, upsample=1, progress=False)
    assert tracked.cuts == []
    # dlib loses the face furthest out; those frames join the partial stretch (before, they were filled from
    # the partial frames' guessed landmarks and anchored the stretch there)
    # (measured: lost at 46 px and more out, frames 8-10; partial at 40 px, frames 7 and 11)
    assert tracked.missing == [8, 9, 10]
    stretch = tracked.partial_frames
    assert stretch == [7, 8, 9, 10, 11], stretch
    before, after = 6, 12
    steady = tracked.steady_landmarks()
    for i in stretch:
        w = (i - before) / (after - before)
        np.testing.assert_allclose(steady[i], (1 - w) * steady[before] + w * steady[after], atol=1e-9)


def test_interpolate_partial_known_answers():
    from video2stylegan.errors import InvalidOptionError
    from video2stylegan.faces import VideoFaces

    n = 12
    partial = np.zeros(n, bool)
    partial[[1, 2, 3, 5, 9, 10, 11]] = True  # shot 0-5: a stretch inside, one at the end; shot 6-11: at the end
    tracked = VideoFaces(landmarks=np.zeros((n, 68, 2)), boxes=np.zeros((n, 4)), scores=np.ones(n),
                         detected=np.ones(n, bool), shape=(96, 96), cuts=[6], partial=partial)
    values = np.arange(n, dtype=np.float64)[:, None] * [1.0, 0.0] + 100.0
    values[:, 1] = [3.0, 9, 9, 9, -3.0, 9, 0.5, 0.4, 0.3, 9, 9, 9]  # an angle: 3 rad to -3 rad is 0.28 rad the short way
    values[partial, 0] = -50.0  # what the partial frames measured: replaced
    out = tracked.interpolate_partial(values, angle_columns=(1,))
    visible = ~partial
    np.testing.assert_array_equal(out[visible], values[visible])  # untouched
    np.testing.assert_allclose(out[1:4, 0], [101, 102, 103])  # a straight line from frame 0 to frame 4
    assert out[5, 0] == values[4, 0]  # held at the shot's end: only the frame before exists
    np.testing.assert_allclose(out[9:, 0], values[8, 0])  # held from the second shot's last visible frame
    short = 2 * np.pi - 6.0  # the way round through pi
    expected = np.array([3.0 + short * k / 4 for k in (1, 2, 3)])
    np.testing.assert_allclose(out[1:4, 1], wrap_angle(expected))
    assert np.all(np.abs(out[1:4, 1]) > 3.0)  # never through 0
    np.testing.assert_allclose(out[9:, 1], 0.3)
    # a shot without any fully visible frame keeps its values; a track without partial frames, all of them
    everywhere = VideoFaces(landmarks=np.zeros((3, 68, 2)), boxes=np.zeros((3, 4)), scores=np.ones(3),
                            detected=np.ones(3, bool), shape=(96, 96), partial=np.ones(3, bool))
    np.testing.assert_array_equal(everywhere.interpolate_partial(np.arange(3.0)), np.arange(3.0))
    with pytest.raises(InvalidOptionError, match="got 4 rows of values for a track of 3 frames"):
        everywhere.interpolate_partial(np.zeros(4))
