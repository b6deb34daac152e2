import numpy as np
import pytest

from video2stylegan.faces import (
    SAME_PERSON_THRESHOLD,
    detect_face,
    face_descriptor,
    face_descriptors,
    identity_distance,
)

PAIRS = [
    ("face_recognition__obama.jpg", "face_recognition__obama2.jpg"),
    ("face_recognition__biden.jpg", "face_recognition__biden_biden2.jpg"),
    ("face_recognition__kit_harington_john1.jpeg", "face_recognition__kit_harington_john2.jpeg"),
    ("face_recognition__rose_leslie_img1.jpg", "face_recognition__rose_leslie_img2.jpg"),
]


@pytest.fixture(scope="module")
def descriptors(portrait):
    names = [n for pair in PAIRS for n in pair]
    images = [portrait(n) for n in names]
    faces = [detect_face(im) for im in images]
    return names, images, faces, face_descriptors(images, faces)


def test_same_person_close_different_people_far(descriptors):
    names, _, _, d = descriptors
    assert d.shape == (8, 128)
    dist = identity_distance(d[:, None], d[None])
    same = [dist[2 * i, 2 * i + 1] for i in range(4)]
    different = [dist[i, j] for i in range(8) for j in range(8) if i // 2 != j // 2]
    # Measured: same person 0.35-0.43, different people >= 0.76.
    assert max(same) < SAME_PERSON_THRESHOLD - 0.1, same
    assert min(different) > SAME_PERSON_THRESHOLD + 0.1, min(different)


def test_batch_matches_single_and_is_deterministic(descriptors):
    _, images, faces, d = descriptors
    single = face_descriptor(images[0], faces[0])
    np.testing.assert_allclose(single, d[0], atol=1e-6)
    np.testing.assert_allclose(face_descriptor(images[0], faces[0]), single)
    assert np.linalg.norm(single) == pytest.approx(np.linalg.norm(d[0]))


def test_descriptor_survives_resize_and_mirror(astronaut, astronaut_face):
    import cv2

    ref = face_descriptor(astronaut, astronaut_face)
    big = cv2.resize(astronaut, (768, 768), interpolation=cv2.INTER_CUBIC)
    mirrored = np.ascontiguousarray(astronaut[:, ::-1])
    for img in (big, mirrored):
        d = face_descriptor(img, detect_face(img))
        assert identity_distance(ref, d) < 0.3


def test_identity_distance_is_l2():
    a, b = np.zeros(128), np.zeros(128)
    b[:2] = (3.0, 4.0)
    assert identity_distance(a, b) == pytest.approx(5.0)
