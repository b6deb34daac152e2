import numpy as np
import pytest
from face_drawing import DRAWN, draw_face

from video2stylegan.errors import InvalidOptionError, MediaError, NoFaceError
from video2stylegan.faces import Face, choose_face, detect_face, detect_faces

# Hand-read from skimage.data.astronaut() (512x512) on a 5x zoom with a
# 10-pixel grid: iris centres, nose tip, mouth corners, chin.
ASTRONAUT = {
    "left_eye": (203, 101),
    "right_eye": (246, 102),
    "nose_tip": (224, 127),
    "mouth_left": (203, 140),
    "mouth_right": (245, 140),
    "chin": (220, 179),
}


def test_astronaut_landmarks_on_hand_read_features(astronaut_face):
    lm = astronaut_face.landmarks
    assert lm.shape == (68, 2) and lm.dtype == np.float64
    got = {
        "left_eye": lm[36:42].mean(0),
        "right_eye": lm[42:48].mean(0),
        "nose_tip": lm[30],
        "mouth_left": lm[48],
        "mouth_right": lm[54],
        "chin": lm[8],
    }
    for name, expected in ASTRONAUT.items():
        err = np.linalg.norm(got[name] - np.array(expected))
        # The face is ~90 px wide: 4 px is ~4 % of it.
        assert err < 4.0, (name, got[name], expected)
    # iBUG order: jaw runs left to right, brows above the eyes, nose between.
    assert lm[0, 0] < lm[8, 0] < lm[16, 0]
    assert lm[17:22, 1].mean() < lm[36:42, 1].mean() - 5
    assert lm[22:27, 1].mean() < lm[42:48, 1].mean() - 5
    assert lm[36:42, 0].mean() < lm[27:36, 0].mean() < lm[42:48, 0].mean()


def test_astronaut_box_contains_the_face(astronaut_face):
    l, t, r, b = astronaut_face.box
    assert l < 203 < 246 < r and t < 101 < 140 < b
    assert astronaut_face.score > 0.5
    assert astronaut_face.detector == "hog"


def test_drawn_face_landmarks_on_drawn_features(drawn_face):
    lm = drawn_face.landmarks
    for side, sl in (("left_eye", slice(36, 42)), ("right_eye", slice(42, 48))):
        assert np.linalg.norm(lm[sl].mean(0) - DRAWN[side]) < 6, (side, lm[sl].mean(0))
        # Eye corners at the drawn eye's ends (x +- 20).
        width = lm[sl][3, 0] - lm[sl][0, 0]
        assert abs(width - 2 * DRAWN["eye_half_width"]) < 8
    mouth = 0.5 * (lm[48] + lm[54])
    assert np.linalg.norm(mouth - DRAWN["mouth_center"]) < 6
    mx, my = DRAWN["mouth_center"]
    half = DRAWN["mouth_half_width"]
    assert np.linalg.norm(lm[48] - (mx - half, my)) < 7  # measured 5 px (corners sit a bit outside)
    assert np.linalg.norm(lm[54] - (mx + half, my)) < 7
    assert np.linalg.norm(lm[8] - DRAWN["chin"]) < 8


def test_drawn_face_scales_with_the_image():
    small = detect_face(draw_face(200))
    big = detect_face(draw_face(800))
    ratio = np.linalg.norm(big.landmarks[45] - big.landmarks[36]) / np.linalg.norm(
        small.landmarks[45] - small.landmarks[36]
    )
    assert ratio == pytest.approx(4.0, rel=0.08)


def test_two_faces_largest_index_and_previous(portrait):
    img = portrait("face_recognition__two_people.jpg")
    faces = detect_faces(img)
    assert len(faces) == 2
    assert faces[0].area >= faces[1].area
    # Obama stands on the left half of the photo, Biden on the right.
    xs = sorted(f.center[0] for f in faces)
    assert xs[0] < img.shape[1] / 2 < xs[1]
    assert choose_face(faces, "largest") is faces[0]
    assert choose_face(faces, 1) is faces[1]
    assert choose_face(faces, -1) is faces[1]
    right = max(faces, key=lambda f: f.center[0])
    shifted = Face(box=right.box + 10, landmarks=right.landmarks + 10)
    assert choose_face(faces, "previous", previous=shifted) is right
    with pytest.raises(NoFaceError, match="index 2 .* 2 face"):
        choose_face(faces, 2, source="two_people.jpg")


def test_partial_face_at_the_border(portrait):
    img = portrait("face_recognition__obama_partial_face.jpg")
    face = detect_face(img)
    assert face.box[0] < 0  # the box leaves the image, landmarks still come
    assert np.isfinite(face.landmarks).all()


def test_no_face_error_names_the_file():
    blank = np.full((240, 320, 3), 128, np.uint8)
    with pytest.raises(NoFaceError, match="empty_wall.png"):
        detect_face(blank, source="empty_wall.png")
    with pytest.raises(NoFaceError, match="clip.mp4, frame 17"):
        detect_face(blank, source="clip.mp4", frame=17)
    assert detect_faces(blank) == []


def test_bad_options():
    img = draw_face(200)
    with pytest.raises(InvalidOptionError, match="detector"):
        detect_faces(img, detector="yolo")
    with pytest.raises(InvalidOptionError, match="upsample"):
        detect_faces(img, upsample=-1)
    with pytest.raises(InvalidOptionError, match="face choice"):
        choose_face([detect_face(img)], "smallest")
    with pytest.raises(InvalidOptionError, match="shape"):
        detect_faces(np.zeros((10, 10, 7), np.uint8))


def test_cnn_detector_finds_the_drawn_face():
    # The mmod CNN is slow on CPU; a small image keeps this quick.
    img = draw_face(200)
    faces = detect_faces(img, detector="cnn", upsample=0)
    assert len(faces) == 1 and faces[0].detector == "cnn"
    hog = detect_face(img)
    assert np.abs(faces[0].landmarks - hog.landmarks).mean() < 4


def test_non_image_file_and_huge_image(tmp_path):
    from PIL import Image

    from video2stylegan.io import read_image

    bad = tmp_path / "face.jpg"
    bad.write_bytes(b"GIF89a but not really")
    with pytest.raises(MediaError, match="face.jpg"):
        read_image(bad)
    # A 10000 x 10000 photo with a face: read downscaled to 4096, face found.
    face = Image.fromarray(draw_face(2000))
    canvas = Image.new("RGB", (10000, 10000), (190, 200, 215))
    canvas.paste(face, (4000, 4000))
    canvas.save(tmp_path / "huge.jpg", quality=80)
    del canvas
    img = read_image(tmp_path / "huge.jpg")
    assert img.shape == (4096, 4096, 3)
    found = detect_face(img[1500:2600, 1500:2600])  # the face region, for speed
    eye = found.landmarks[36:42].mean(0) + 1500
    expected = (4000 + np.array(DRAWN["left_eye"]) * 5) * 4096 / 10000
    assert np.linalg.norm(eye - expected) < 15
