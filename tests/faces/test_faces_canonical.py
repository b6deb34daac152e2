import numpy as np
import pytest
from face_drawing import DRAWN, draw_face, rotate_image

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import (
    FFHQ_EYE_CENTER,
    MEAN_FACE_3D,
    align_face,
    canonical_params,
    detect_face,
    eye_center,
)


def _frontal(scale=2.0, offset=(300.0, 300.0)):
    return MEAN_FACE_3D[:, :2] * scale + np.array(offset)


def test_known_answer_on_drawn_face():
    img = draw_face(400)
    p = canonical_params(detect_face(img), img.shape)
    e = 0.5 * (np.array(DRAWN["left_eye"]) + DRAWN["right_eye"])
    assert p.tx == pytest.approx((e[0] + 0.5) / 400 - FFHQ_EYE_CENTER[0], abs=0.01)
    assert p.ty == pytest.approx((e[1] + 0.5) / 400 - FFHQ_EYE_CENTER[1], abs=0.01)
    assert abs(p.r) < np.radians(2)


def test_translation_is_in_image_fractions():
    lm = _frontal()
    shape = (600, 800)
    a = canonical_params(lm, shape)
    b = canonical_params(lm + [80.0, -30.0], shape)
    assert b.tx - a.tx == pytest.approx(80 / 800)  # fraction of the width
    assert b.ty - a.ty == pytest.approx(-30 / 600)  # fraction of the height, up = negative
    assert b.r == pytest.approx(a.r)


def test_rotation_sign_and_size():
    lm = _frontal()
    e = eye_center(lm)
    base = canonical_params(lm, (600, 600)).r
    for deg in (15, -30):
        t = np.radians(deg)
        # Counter-clockwise as seen on screen (y down) is (x, y) -> (x cos + y sin, -x sin + y cos).
        rot = np.array([[np.cos(t), np.sin(t)], [-np.sin(t), np.cos(t)]])
        p = canonical_params((lm - e) @ rot.T + e, (600, 600))
        assert np.degrees(p.r - base) == pytest.approx(deg, abs=1e-6)


def test_rotated_drawn_face_gives_the_rotation():
    img = draw_face(400)
    base = canonical_params(detect_face(img), img.shape).r
    rot = rotate_image(img, 20)
    r = canonical_params(detect_face(rot), rot.shape).r
    assert np.degrees(r - base) == pytest.approx(20, abs=2)


def test_ffhq_aligned_face_is_near_zero(astronaut, astronaut_face):
    al = align_face(astronaut, astronaut_face, 512)
    p = canonical_params(al.landmarks, (512, 512))
    assert abs(p.tx) < 0.01 and abs(p.ty) < 0.01
    assert abs(np.degrees(p.r)) < 3
    far = canonical_params(astronaut_face, astronaut.shape)
    assert abs(far.ty) > 0.2  # the astronaut's eyes sit high in the full photo


def test_bad_landmarks_are_refused():
    with pytest.raises(InvalidOptionError):
        canonical_params(np.zeros((3, 2)), (10, 10))
