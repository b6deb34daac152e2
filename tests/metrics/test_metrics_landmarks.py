"""dK, landmark distance and expression ratios on landmarks with known answers."""

import numpy as np
import pytest

from tests.metrics.conftest import DRIFT, SHIFT
from video2stylegan.errors import InvalidOptionError
from video2stylegan.metrics import (
    expression_errors,
    eye_openness,
    face_scale,
    keypoint_motion_distance,
    landmark_distance,
    landmark_jitter,
    mouth_opening,
)
from video2stylegan.synthetic import Expression, HeadParams, render


@pytest.fixture(scope="module")
def talking():
    """Exact landmarks of a synthetic head opening its mouth over 6 frames, (6, 68, 2)."""
    return np.stack(
        [render(HeadParams(expression=Expression(mouth_open=v)), 128, supersample=1).landmarks for v in np.linspace(0, 0.8, 6)]
    )


def test_identical_landmarks_give_zero(talking):
    assert np.array_equal(keypoint_motion_distance(talking, talking), np.zeros(5))
    assert np.abs(landmark_distance(talking, talking)).max() < 1e-12
    assert np.array_equal(landmark_distance(talking, talking, align=False), np.zeros(6))
    err = expression_errors(talking, talking)
    assert err["mouth_error"].max() == 0 and err["eye_error"].max() == 0


def test_face_scale_is_the_median_outer_eye_corner_distance(talking):
    expected = np.median(np.linalg.norm(talking[:, 45] - talking[:, 36], axis=-1))
    assert face_scale(talking) == pytest.approx(expected)
    assert 30 < expected < 60  # about a third of a 128 px FFHQ-like frame


def test_constant_shift_moves_nothing_but_the_unaligned_distance(talking):
    moved = talking + np.array([5.0, -2.0])
    s = face_scale(talking)
    assert keypoint_motion_distance(talking, moved) == pytest.approx(np.zeros(5), abs=1e-12)
    assert landmark_distance(talking, moved) == pytest.approx(np.zeros(6), abs=1e-9)
    assert landmark_distance(talking, moved, align=False) == pytest.approx(np.full(6, np.hypot(5, 2) / s))


def test_drift_gives_the_drift_per_frame_in_face_scales(talking):
    drift = 3.0
    moved = talking + drift * np.arange(6)[:, None, None] * np.array([1.0, 0.0])
    dk = keypoint_motion_distance(talking, moved)
    assert dk == pytest.approx(np.full(5, drift / face_scale(talking)))
    assert keypoint_motion_distance(talking, moved, scale=10.0) == pytest.approx(np.full(5, 0.3))
    assert keypoint_motion_distance(talking, moved, scale="image", driving_shape=(128, 128), result_shape=(128, 128)) == pytest.approx(
        np.full(5, drift / 128)
    )


def test_a_result_at_another_resolution_has_the_same_motion(talking):
    # A 2x larger, rotated and moved copy: the same motion in face units.
    a = np.deg2rad(10)
    rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    big = 2 * talking @ rot.T + 40
    assert keypoint_motion_distance(talking, big).max() > 1e-3  # rotation changes the direction of motion
    assert keypoint_motion_distance(talking, 2 * talking + 40) == pytest.approx(np.zeros(5), abs=1e-12)
    assert landmark_distance(talking, big) == pytest.approx(np.zeros(6), abs=1e-9)
    assert mouth_opening(big) == pytest.approx(mouth_opening(talking))
    assert eye_openness(big) == pytest.approx(eye_openness(talking))


def test_missing_motion_costs_the_driving_motion(talking):
    frozen = np.repeat(talking[:1], 6, axis=0)
    s = face_scale(talking)
    expected = np.linalg.norm(np.diff(talking, axis=0), axis=-1).mean(-1) / s
    assert keypoint_motion_distance(talking, frozen) == pytest.approx(expected)
    assert expected.min() > 0


def test_mouth_ratio_by_hand_and_on_renders(talking):
    lms = np.zeros((68, 2))
    lms[48], lms[54] = (0, 0), (40, 0)
    lms[[61, 62, 63]] = [(15, -3), (20, -3), (25, -3)]
    lms[[67, 66, 65]] = [(15, 5), (20, 5), (25, 5)]
    assert mouth_opening(lms) == pytest.approx([8 / 40])
    ratios = mouth_opening(talking)
    assert ratios[0] == pytest.approx(0, abs=1e-9)  # closed lips touch
    assert np.all(np.diff(ratios) > 0.02)  # opens steadily
    assert 0.2 < ratios[-1] < 0.4


def test_eye_aspect_ratio_by_hand_and_for_a_blink():
    lms = np.zeros((68, 2))
    for base, x0 in ((36, 0.0), (42, 50.0)):
        # p1..p6: corner, two upper points, corner, two lower points: 30 wide, 6 and 10 open.
        lms[base : base + 6] = [(x0, 0), (x0 + 10, -3), (x0 + 20, -5), (x0 + 30, 0), (x0 + 20, 5), (x0 + 10, 3)]
    assert eye_openness(lms) == pytest.approx([(6 + 10) / (2 * 30)])
    ears = [eye_openness(render(HeadParams(expression=Expression(eye_open_left=v, eye_open_right=v)), 128, supersample=1).landmarks)[0] for v in (0, 0.5, 1)]
    assert ears[0] == pytest.approx(0, abs=1e-9)
    assert ears[1] == pytest.approx(ears[2] / 2, rel=0.05)
    err = expression_errors(np.zeros((1, 68, 2)) + lms, lms)
    assert err["eye_error"][0] == 0


def test_common_prefix_and_bad_shapes(talking):
    assert keypoint_motion_distance(talking, talking[:4]).shape == (3,)
    assert landmark_distance(talking[:2], talking).shape == (2,)
    with pytest.raises(InvalidOptionError, match="shape"):
        keypoint_motion_distance(np.zeros((3, 5, 2)), talking)
    with pytest.raises(InvalidOptionError, match="scale"):
        keypoint_motion_distance(talking, talking, scale="eyes")
    with pytest.raises(InvalidOptionError, match="eye corners"):
        face_scale(np.zeros((2, 68, 2)))


def test_real_clip_against_itself_a_shifted_and_a_drifting_copy(tracked):
    _, drv = tracked["driving"]
    _, sh = tracked["shifted"]
    _, dr = tracked["drifting"]
    s = face_scale(drv.landmarks)
    assert keypoint_motion_distance(drv.landmarks, drv.landmarks).max() == 0
    # A constant shift: the unaligned distance is the shift (dlib re-detects the
    # face in every shifted frame, so up to about a pixel of landmark jitter).
    mean_move = (sh.landmarks - drv.landmarks).mean(axis=(0, 1))
    assert mean_move == pytest.approx(SHIFT, abs=1.0)
    assert landmark_distance(drv.landmarks, sh.landmarks, align=False).mean() * s == pytest.approx(np.hypot(*SHIFT), rel=0.15)
    # dK of a shift is landmark jitter only; a drift of DRIFT px per frame adds DRIFT / s.
    dk_shift = keypoint_motion_distance(drv.landmarks, sh.landmarks).mean()
    dk_drift = keypoint_motion_distance(drv.landmarks, dr.landmarks).mean()
    assert dk_shift < 0.3 * DRIFT / s
    assert dk_drift == pytest.approx(DRIFT / s, rel=0.25)
    assert landmark_distance(drv.landmarks, sh.landmarks).mean() < 0.02


def test_jitter_known_answers():
    base = np.random.default_rng(0).uniform(0, 100, (68, 2))
    linear = base[None] + np.arange(6)[:, None, None] * np.array([3.0, -1.0])
    j = landmark_jitter(linear, 10.0)
    assert np.isnan(j[0]) and np.isnan(j[-1]) and np.allclose(j[1:-1], 0, atol=1e-9)
    zigzag = base[None] + (np.arange(6) % 2)[:, None, None] * np.array([2.0, 0.0])
    np.testing.assert_allclose(landmark_jitter(zigzag, 10.0)[1:-1], 2 * 2.0 / 10.0)  # 2d per step, over scale
    assert np.isnan(landmark_jitter(linear[:2], 10.0)).all()  # no second difference in two frames
