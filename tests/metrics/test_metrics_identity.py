"""ID on the real portraits: the same person's other photo is closer than another person."""

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import SAME_PERSON_THRESHOLD, detect_face
from video2stylegan.io import read_image
from video2stylegan.metrics import identity_distances, reference_descriptor


@pytest.fixture(scope="module")
def portraits(shared_data):
    names = {"obama": "obama.jpg", "obama2": "obama2.jpg", "biden": "biden.jpg", "biden2": "biden_biden2.jpg"}
    out = {}
    for key, name in names.items():
        img = read_image(shared_data / "portraits" / f"face_recognition__{name}")
        out[key] = (img, detect_face(img))
    return out


def test_same_person_closer_than_a_different_person(portraits):
    obama, obama_face = portraits["obama"]
    others = ["obama2", "biden", "biden2"]
    ids = identity_distances(obama, [portraits[k][0] for k in others], [portraits[k][1] for k in others], progress=False)
    same, diff1, diff2 = ids
    assert same < SAME_PERSON_THRESHOLD < min(diff1, diff2)
    assert min(diff1, diff2) - same > 0.2
    # The reference itself: distance 0, and a precomputed descriptor gives the same numbers.
    ref = reference_descriptor(obama, obama_face)
    again = identity_distances(ref, [obama, portraits["biden"][0]], [obama_face, portraits["biden"][1]], progress=False)
    assert again[0] == pytest.approx(0, abs=1e-9)
    assert again[1] == pytest.approx(diff1)


def test_biden_pair_is_the_same_person(portraits):
    biden, _ = portraits["biden"]
    ids = identity_distances(biden, [portraits["biden2"][0], portraits["obama2"][0]], [portraits["biden2"][1], portraits["obama2"][1]], progress=False)
    assert ids[0] < SAME_PERSON_THRESHOLD < ids[1]


def test_bad_reference_is_a_clear_error(portraits):
    with pytest.raises(InvalidOptionError, match="128"):
        identity_distances(np.zeros(5), [portraits["obama"][0]], [portraits["obama"][1]], progress=False)
