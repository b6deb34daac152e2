"""Choosing the face on real media: --source-face / --face, detector options, and the warnings for silent
choices (several faces, a face cut by the border, a low-resolution face, an image as the driving clip)."""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest

from video2stylegan.errors import NoFaceError
from video2stylegan.faces import TrackOptions
from video2stylegan.io.images import read_image
from video2stylegan.pipeline.inputs import check_inputs, load_clip, load_source

LOGGER = "video2stylegan.pipeline.inputs"


def _warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


@pytest.fixture(scope="module")
def two_people(shared_data):
    return shared_data / "portraits" / "face_recognition__two_people.jpg"


def test_source_face_index_picks_the_other_person_and_a_notice_says_which(two_people, caplog):
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        first = load_source(two_people, 64)
    notice = [w for w in _warnings(caplog) if "2 faces" in w]
    assert len(notice) == 1 and "using face 0" in notice[0] and "--source-face 0 to 1" in notice[0]
    second = load_source(two_people, 64, choose=1)
    # the crops' centres in the photo: the two people stand about 550 px apart (x 320 and 870 in a 1126 px photo)
    x0, x1 = first.aligned.quad.mean(axis=0)[0], second.aligned.quad.mean(axis=0)[0]
    assert abs(x1 - x0) > 400
    assert second.sha256 != first.sha256  # another face of the same photo is another cached reference
    with pytest.raises(NoFaceError, match=r"face index 2 \(--source-face\).*only 2 face"):
        load_source(two_people, 64, choose=2)


def test_a_face_cut_by_the_border_is_warned_and_a_whole_one_is_not(shared_data, caplog):
    portraits = shared_data / "portraits"
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_source(portraits / "face_recognition__obama.jpg", 64)
    assert not [w for w in _warnings(caplog) if "border" in w]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_source(portraits / "face_recognition__obama_partial_face.jpg", 64)
    assert [w for w in _warnings(caplog) if "cut by the image border" in w]


def test_a_low_resolution_source_face_is_warned(shared_data, caplog):
    image = read_image(shared_data / "portraits" / "face_recognition__obama.jpg")  # its crop is about 416 px
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_source(image, 1024)
    assert not [w for w in _warnings(caplog) if "quarter" in w]
    small = cv2.resize(image, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)  # crop about 166 px
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        load_source(small, 1024)
    low = [w for w in _warnings(caplog) if "quarter" in w]
    assert len(low) == 1 and "1024 px" in low[0]


def test_a_small_face_fails_with_one_threshold_in_command_line_spelling(shared_data):
    image = read_image(shared_data / "portraits" / "face_recognition__obama.jpg")
    face = cv2.resize(image, None, fx=26 / 258, fy=26 / 258, interpolation=cv2.INTER_AREA)  # a 26 px face box
    canvas = np.full((900, 900, 3), 128, np.uint8)  # above 512 px: auto starts without upsampling
    canvas[400:400 + face.shape[0], 400:400 + face.shape[1]] = face
    with pytest.raises(NoFaceError) as info:
        load_source(canvas, 64)
    text = str(info.value)
    assert "about 40 px" in text and "80" not in text and "pixels" not in text
    assert "--upsample 2" in text and "--detector cnn" in text
    assert "detector=" not in text and "on_missing" not in text
    found = load_source(canvas, 64, upsample=2)  # the advice works
    assert 400 <= found.face.center[0] <= 400 + face.shape[1]


def test_an_image_as_driving_clip_is_one_frame_with_a_notice(shared_data, caplog):
    portrait = shared_data / "portraits" / "face_recognition__obama.jpg"
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        check_inputs(portrait, portrait)
    notice = [w for w in _warnings(caplog) if "is an image" in w]
    assert len(notice) == 1 and notice[0].startswith("--driving") and "one frame" in notice[0]
    clip = load_clip(portrait, 64, progress=False)
    assert len(clip) == 1


def test_a_face_index_missing_from_the_driving_clip_names_face(shared_data):
    with pytest.raises(NoFaceError, match=r"face index 1 \(--face\)"):
        load_clip(shared_data / "driving" / "tps__driving.mp4", 64, TrackOptions(choose=1), max_frames=2,
                  progress=False)
