import numpy as np
import pytest
from face_drawing import draw_face, rotate_image

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import (
    FFHQ_EYE_LEFT,
    FFHQ_EYE_RIGHT,
    MEAN_FACE_3D,
    align_face,
    align_frames,
    blend_mask,
    detect_face,
    ffhq_quad,
    paste_back,
    quad_matrix,
    temporal_mean,
)


def _eye_fractions(aligned):
    """Eye centres of the aligned crop (found again by the detector) as fractions of its side."""
    found = detect_face(aligned.image)
    size = aligned.size
    return (found.landmarks[36:42].mean(0) + 0.5) / size, (found.landmarks[42:48].mean(0) + 0.5) / size


def _psnr_inside(a, b, mask):
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2)[mask].mean()
    return 10 * np.log10(255.0**2 / mse)


def test_canonical_eye_constants_come_from_the_mean_face():
    lm = MEAN_FACE_3D[:, :2] * 3.0 + 400.0  # frontal view of the 3D mean face
    m = quad_matrix(ffhq_quad(lm), 1000)
    for sl, expected in ((slice(36, 42), FFHQ_EYE_LEFT), (slice(42, 48), FFHQ_EYE_RIGHT)):
        eye = lm[sl].mean(0) @ m[:, :2].T + m[:, 2]
        np.testing.assert_allclose((eye + 0.5) / 1000, expected, atol=1.5e-3)


@pytest.mark.parametrize("size", [256, 1024])
def test_astronaut_eyes_at_ffhq_positions(astronaut, astronaut_face, size):
    al = align_face(astronaut, astronaut_face, size)
    assert al.image.shape == (size, size, 3) and al.image.dtype == np.uint8
    # Geometry: the landmarks mapped by the transform.
    left = (al.landmarks[36:42].mean(0) + 0.5) / size
    right = (al.landmarks[42:48].mean(0) + 0.5) / size
    assert np.abs(left - FFHQ_EYE_LEFT).max() < 0.02, left
    assert np.abs(right - FFHQ_EYE_RIGHT).max() < 0.02, right
    if size == 256:
        # Pixels: the detector run on the crop finds the eyes there too.
        left2, right2 = _eye_fractions(al)
        assert np.abs(left2 - FFHQ_EYE_LEFT).max() < 0.02
        assert np.abs(right2 - FFHQ_EYE_RIGHT).max() < 0.02


@pytest.mark.parametrize(
    "name",
    ["face_recognition__obama.jpg", "face_recognition__kit_harington_john2.jpeg", "tps__source.png"],
)
def test_real_portraits_align_to_ffhq_eyes(portrait, name):
    img = portrait(name)
    al = align_face(img, detect_face(img), 256)
    left, right = _eye_fractions(al)
    assert np.abs(left - FFHQ_EYE_LEFT).max() < 0.02, left
    assert np.abs(right - FFHQ_EYE_RIGHT).max() < 0.02, right


def test_rotated_drawn_face_is_straightened():
    img = rotate_image(draw_face(400), 20)
    al = align_face(img, detect_face(img), 256)
    left, right = _eye_fractions(al)
    assert abs(left[1] - right[1]) < 0.01  # eye line level again
    assert np.abs(left - FFHQ_EYE_LEFT).max() < 0.02
    assert np.abs(right - FFHQ_EYE_RIGHT).max() < 0.02


def test_transform_maps_quad_corners_and_inverts(astronaut, astronaut_face):
    al = align_face(astronaut, astronaut_face, 512)
    corners = al.to_aligned(al.quad)
    # Quad corners TL, BL, BR, TR land on the crop's outer pixel corners.
    np.testing.assert_allclose(corners, [[-0.5, -0.5], [-0.5, 511.5], [511.5, 511.5], [511.5, -0.5]], atol=1e-6)
    pts = np.random.default_rng(0).uniform(0, 512, (10, 2))
    np.testing.assert_allclose(al.to_original(al.to_aligned(pts)), pts, atol=1e-9)
    np.testing.assert_allclose(al.source_landmarks, astronaut_face.landmarks, atol=1e-9)
    # A known pixel: the crop centre shows the source pixel the inverse map points at.
    x, y = al.to_original([[255.5, 255.5]])[0]
    assert al.source_shape == (512, 512)
    assert np.abs(al.image[255:257, 255:257].mean((0, 1)) - astronaut[int(round(y)), int(round(x))]).max() < 25


@pytest.mark.parametrize("size", [512, 1024])
def test_paste_back_unchanged_crop_reproduces_the_frame(astronaut, astronaut_face, size):
    al = align_face(astronaut, astronaut_face, size)
    out = paste_back(astronaut, al.image, al)
    assert out.shape == astronaut.shape
    inside = blend_mask(al) > 0.99
    assert inside.sum() > 4000  # the whole face (~90 px wide), not a sliver
    psnr = _psnr_inside(out, astronaut, inside)
    assert psnr >= 35.0, psnr  # measured 40.5 dB at 1024
    # Outside the mask the original is untouched.
    outside = blend_mask(al) == 0
    assert np.array_equal(out[outside], astronaut[outside])


def test_paste_back_real_portrait_and_smaller_crop_input(portrait):
    img = portrait("face_recognition__obama.jpg")
    face = detect_face(img)
    al = align_face(img, face, 1024)
    inside = blend_mask(al) > 0.99
    assert _psnr_inside(paste_back(img, al.image, al), img, inside) >= 35.0  # measured 39.8
    # A generator output at another size (e.g. 512) is accepted and lands in place.
    half = align_face(img, face, 512).image
    assert _psnr_inside(paste_back(img, half, al), img, inside) >= 30.0


def test_paste_back_puts_an_edit_inside_the_face(astronaut, astronaut_face):
    al = align_face(astronaut, astronaut_face, 256)
    edit = np.zeros_like(al.image)
    edit[..., 1] = 255  # all green
    out = paste_back(astronaut, edit, al)
    nose = astronaut_face.landmarks[30].astype(int)
    assert tuple(out[nose[1], nose[0]]) == (0, 255, 0)
    far = (500, 500)
    assert tuple(out[far]) == tuple(astronaut[far])
    # The "crop" mode covers the square, the face mode only the face.
    square = blend_mask(al, mode="crop") > 0.99
    face = blend_mask(al, mode="face") > 0.99
    assert square.sum() > 1.5 * face.sum()
    with pytest.raises(InvalidOptionError):
        blend_mask(al, mode="ellipse")


def test_padding_fills_outside_the_image(portrait):
    img = portrait("face_recognition__obama_partial_face.jpg")
    face = detect_face(img)
    padded = align_face(img, face, 256).image
    black = align_face(img, face, 256, enable_padding=False).image
    # The quad leaves the image on the left: without padding that part is black.
    assert (black[:, :20] == 0).all(axis=-1).mean() > 0.5
    assert (padded[:, :20] == 0).all(axis=-1).mean() < 0.01


def test_smoothing_reduces_jitter_and_keeps_the_ends():
    rng = np.random.default_rng(1)
    base = MEAN_FACE_3D[:, :2] * 2.0 + 300.0
    t = 40
    clean = np.stack([base + [i * 0.5, 0] for i in range(t)])  # slow drift right
    noisy = clean + rng.normal(0, 1.5, clean.shape)
    quads = np.stack([ffhq_quad(lm) for lm in noisy])
    smooth = temporal_mean(quads, 5)
    clean_q = np.stack([ffhq_quad(lm) for lm in clean])
    err_raw = np.abs(quads - clean_q)[2:-2].mean()
    err_smooth = np.abs(smooth - clean_q)[2:-2].mean()
    assert err_smooth < 0.6 * err_raw
    np.testing.assert_array_equal(smooth[0], quads[0])
    np.testing.assert_array_equal(smooth[-1], quads[-1])
    # A linear drift passes through a centred mean unchanged (no lag).
    np.testing.assert_allclose(temporal_mean(clean, 5), clean, atol=1e-9)
    np.testing.assert_array_equal(temporal_mean(noisy, 1), noisy)
    with pytest.raises(InvalidOptionError):
        temporal_mean(quads, 0)


def test_align_frames_uses_smoothed_quads(astronaut, astronaut_face):
    frames = [astronaut] * 3
    lms = np.stack([astronaut_face.landmarks + d for d in ([0, 0], [3, 0], [0, 0])])
    out = align_frames(frames, lms, 128, smooth=3, supersample=1)
    q_mid = (ffhq_quad(lms[0]) * 2 + ffhq_quad(lms[1])) / 3
    np.testing.assert_allclose(out[1].quad, q_mid, atol=1e-9)
    with pytest.raises(InvalidOptionError):
        align_frames(frames, lms[:2], 128)


def test_bad_landmarks_are_refused(astronaut):
    with pytest.raises(InvalidOptionError, match="68, 2"):
        align_face(astronaut, np.zeros((5, 2)))
    with pytest.raises(InvalidOptionError, match="degenerate"):
        align_face(astronaut, np.zeros((68, 2)))
    with pytest.raises(InvalidOptionError, match="output_size"):
        align_face(astronaut, MEAN_FACE_3D[:, :2] + 256, output_size=4)


def test_supersample_auto_picks_by_direction(astronaut, astronaut_face):
    # The astronaut's crop square is ~174 px: a 512 crop enlarges it (auto = 1),
    # a 128 crop shrinks it (auto = 4).
    for size, level in ((512, 1), (128, 4)):
        auto = align_face(astronaut, astronaut_face, size).image
        explicit = align_face(astronaut, astronaut_face, size, supersample=level).image
        np.testing.assert_array_equal(auto, explicit)
    shrunk1 = align_face(astronaut, astronaut_face, 128, supersample=1).image
    assert not np.array_equal(shrunk1, align_face(astronaut, astronaut_face, 128).image)
    with pytest.raises(InvalidOptionError, match="supersample"):
        align_face(astronaut, astronaut_face, 128, supersample=0)
