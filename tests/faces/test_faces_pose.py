import cv2
import numpy as np
import pytest
from face_drawing import draw_face, rotate_image

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import (
    MEAN_FACE_3D,
    camera_matrix,
    detect_face,
    euler_to_rotation,
    head_pose,
    rotation_to_euler,
)


def _project(yaw, pitch, roll, shape=(480, 640), distance=700.0):
    r = euler_to_rotation(yaw, pitch, roll)
    rvec, _ = cv2.Rodrigues(r)
    pts, _ = cv2.projectPoints(MEAN_FACE_3D, rvec, np.array([0.0, 0.0, distance]), camera_matrix(shape), None)
    return pts.reshape(-1, 2)


@pytest.mark.parametrize("angles", [(0, 0, 0), (30, 0, 0), (0, -20, 0), (0, 0, 25), (-35, 15, -10)])
def test_exact_projection_round_trip(angles):
    pose = head_pose(_project(*angles), (480, 640))
    np.testing.assert_allclose(pose.angles, angles, atol=1e-3)
    assert pose.error < 1e-3


def test_sign_conventions_on_projected_model():
    front = _project(0, 0, 0)
    nose, bridge = 30, 27
    # yaw > 0: the head turns to its left, the nose tip moves to the image's right.
    turned = _project(25, 0, 0)
    assert turned[nose, 0] - turned[bridge, 0] > front[nose, 0] - front[bridge, 0] + 5
    # pitch > 0: chin up, the nose tip rises towards the eyes in the image.
    up = _project(0, 20, 0)
    assert up[nose, 1] - up[bridge, 1] < front[nose, 1] - front[bridge, 1] - 5
    # roll > 0: counter-clockwise as seen, the left eye (image left) drops below the right.
    rolled = _project(0, 0, 15)
    assert rolled[36:42, 1].mean() > rolled[42:48, 1].mean() + 5


def test_euler_helpers_are_inverse():
    for a in [(10, 20, 30), (-40, 5, -60)]:
        np.testing.assert_allclose(rotation_to_euler(euler_to_rotation(*a)), a, atol=1e-9)


def test_mirrored_photo_flips_yaw(portrait):
    img = portrait("face_recognition__kit_harington_john2.jpeg")  # head turned, yaw ~ -30
    pose = head_pose(detect_face(img), img.shape)
    mirror = np.ascontiguousarray(img[:, ::-1])
    mpose = head_pose(detect_face(mirror), mirror.shape)
    assert pose.yaw < -15 and mpose.yaw > 15
    assert mpose.yaw == pytest.approx(-pose.yaw, abs=6)
    assert mpose.roll == pytest.approx(-pose.roll, abs=4)
    assert mpose.pitch == pytest.approx(pose.pitch, abs=4)


def test_mirrored_astronaut_flips_yaw(astronaut, astronaut_face):
    pose = head_pose(astronaut_face, astronaut.shape)
    mirror = np.ascontiguousarray(astronaut[:, ::-1])
    mpose = head_pose(detect_face(mirror), mirror.shape)
    assert np.sign(pose.yaw) == -np.sign(mpose.yaw)
    assert abs(pose.yaw + mpose.yaw) < 4


@pytest.mark.parametrize("source", ["astronaut", "drawn"])
def test_rotating_the_image_by_15_degrees_changes_roll_by_15(source, astronaut):
    img = astronaut if source == "astronaut" else draw_face(400)
    face = detect_face(img)
    # Rotate about the face so it stays at the same place in the camera frame.
    centre = tuple(face.landmarks[27:36].mean(0))
    base = head_pose(face, img.shape)
    for deg in (15, -15):
        rot = rotate_image(img, deg, center=centre)
        pose = head_pose(detect_face(rot), rot.shape)
        assert pose.roll - base.roll == pytest.approx(deg, abs=2), (deg, base.roll, pose.roll)
        assert abs(pose.yaw - base.yaw) < 5


def test_bad_landmarks():
    with pytest.raises(InvalidOptionError):
        head_pose(np.zeros((5, 2)), (100, 100))
    with pytest.raises(InvalidOptionError):
        head_pose(np.full((68, 2), np.nan), (100, 100))
