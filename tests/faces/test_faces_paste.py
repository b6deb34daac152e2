"""Seamless paste-back (faces/paste.py) on real portraits: seam error, colour matching, resolution."""

import cv2
import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import (
    BLENDS,
    align_face,
    blend_mask,
    detect_face,
    match_colour,
    paste_back,
    paste_face,
    seam_error,
)

# A seam error of 0.08 is an 8 % departure of the boundary's gradient level from the
# photo's own there. On the astronaut with another face pasted in (her crop mirrored,
# colours drifted) the new paste measures 0.003 and the old whole-square paste 0.275;
# over the 16 real cases of benchmarks/paste_back.py the new default stays <= 0.10
# (median 0.01) while the square paste has median 0.16. 0.08 sits 25x above the one
# and 3.4x below the other, so either regression (a hard edge back, or the blend
# failing to follow the photo) crosses it.
SEAM_THRESHOLD = 0.08


def _drift(crop: np.ndarray) -> np.ndarray:
    """A generator's colour drift: warmer, brighter."""
    x = crop.astype(np.float32) * np.array([1.25, 1.0, 0.75], np.float32) + 20.0
    return np.clip(x, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def astro_aligned(astronaut, astronaut_face):
    return align_face(astronaut, astronaut_face, 256)


def test_new_paste_has_a_low_seam_error_and_the_square_paste_a_high_one(astronaut, astro_aligned):
    al = astro_aligned
    other = _drift(al.image[:, ::-1])  # another face: mirrored hair parting, other colours
    new = paste_face(astronaut, other, al)
    old = paste_back(astronaut, other, al, mask="crop")
    e_new = seam_error(new, astronaut, blend_mask(al, mode="face"))
    e_old = seam_error(old, astronaut, blend_mask(al, mode="crop"))
    assert e_new < SEAM_THRESHOLD < e_old, (e_new, e_old)  # measured 0.003 and 0.275


def test_new_paste_beats_the_square_on_two_real_people(portrait):
    photo = portrait("face_recognition__rose_leslie_img1.jpg")
    al = align_face(photo, detect_face(photo), 256)
    donor = portrait("face_recognition__obama2.jpg")
    gen = align_face(donor, detect_face(donor), 256).image
    e_new = seam_error(paste_face(photo, gen, al), photo, blend_mask(al, mode="face"))
    e_old = seam_error(paste_back(photo, gen, al, mask="crop"), photo, blend_mask(al, mode="crop"))
    assert e_new < SEAM_THRESHOLD < e_old, (e_new, e_old)  # measured 0.013 and 0.70


def test_seam_error_sees_a_hard_edge_and_not_the_photo_itself(astronaut):
    square = np.zeros(astronaut.shape[:2], np.float32)
    square[100:400, 150:350] = 1.0
    assert seam_error(astronaut, astronaut, square) == 0.0
    pasted = astronaut.copy()
    pasted[100:400, 150:350] = np.clip(pasted[100:400, 150:350].astype(int) + 40, 0, 255)
    assert seam_error(pasted, astronaut, square) > 0.3  # a 40-level step along the whole edge: 0.49
    with pytest.raises(InvalidOptionError):
        seam_error(astronaut, astronaut, np.ones(astronaut.shape[:2], np.float32))  # no boundary inside


def test_paste_mask_covers_the_landmark_hull_and_not_the_crop_corners(astronaut, astronaut_face, astro_aligned):
    mask = blend_mask(astro_aligned, mode="face")

    def hull(points):
        out = np.zeros(astronaut.shape[:2], np.uint8)
        cv2.fillConvexPoly(out, cv2.convexHull(np.round(points).astype(np.int32)), 1)
        return out.astype(bool)

    # The landmark hull is inside the mask's 0.5 level (where seamlessClone takes the crop;
    # the feathered edge reaches in to the jaw line: min 0.56 there), eyes-nose-mouth fully in.
    assert (mask[hull(astronaut_face.landmarks)] >= 0.5).all()
    assert (mask[hull(astronaut_face.landmarks[27:68])] > 0.99).all()
    # The crop's corners are background (hair, suit, wall): the old square pasted them, this does not.
    for x, y in np.round(astro_aligned.quad).astype(int):
        if 0 <= x < 512 and 0 <= y < 512:
            assert mask[y, x] == 0.0, (x, y)
    assert mask.sum() < 0.6 * blend_mask(astro_aligned, mode="crop").sum()  # measured 0.54


def test_colour_matching_moves_the_pasted_face_toward_the_photo(astronaut, astro_aligned):
    al = astro_aligned
    drifted = _drift(al.image)
    inside = blend_mask(al, mode="face") > 0.99
    photo_mean = astronaut[inside].astype(float).mean(0)
    raw = paste_face(astronaut, drifted, al, blend="alpha", colour=False)
    matched = paste_face(astronaut, drifted, al, blend="alpha", colour=True)
    off_raw = np.linalg.norm(raw[inside].astype(float).mean(0) - photo_mean)
    off_matched = np.linalg.norm(matched[inside].astype(float).mean(0) - photo_mean)
    assert off_raw > 20  # the drift is visible: measured 47.7 grey levels
    assert off_matched < 0.2 * off_raw, (off_raw, off_matched)  # measured 5.2


def test_match_colour_matches_lab_mean_and_spread_in_the_region(astronaut):
    region = np.zeros(astronaut.shape[:2], bool)
    region[150:350, 150:350] = True
    dark = (astronaut.astype(np.float32) * 0.6).astype(np.uint8)
    out = match_colour(dark, astronaut, region)
    lab_ref = cv2.cvtColor(astronaut, cv2.COLOR_RGB2LAB)[region].astype(float)
    lab_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[region].astype(float)
    np.testing.assert_allclose(lab_out.mean(0), lab_ref.mean(0), atol=2.0)
    np.testing.assert_allclose(lab_out.std(0), lab_ref.std(0), rtol=0.1)
    with pytest.raises(InvalidOptionError):
        match_colour(dark, astronaut, np.zeros_like(region))


@pytest.mark.parametrize("blend", BLENDS)
def test_unchanged_crop_comes_back_and_outside_is_untouched(astronaut, astro_aligned, blend):
    al = astro_aligned
    out = paste_face(astronaut, al.image, al, blend=blend)
    mask = blend_mask(al, mode="face")
    inside = mask > 0.99
    mse = ((out.astype(float) - astronaut.astype(float)) ** 2)[inside].mean()
    assert 10 * np.log10(255.0**2 / mse) > 30  # the crop is the photo: it lands in place
    # Far from the face (beyond the working margin) not one pixel changes.
    ys, xs = np.nonzero(mask > 1e-3)
    far = np.ones(mask.shape, bool)
    far[max(0, ys.min() - 80) : ys.max() + 80, max(0, xs.min() - 80) : xs.max() + 80] = False
    assert far.sum() > 0.3 * far.size
    assert np.array_equal(out[far], astronaut[far])


def test_paste_keeps_the_photo_full_resolution(astronaut, astronaut_face):
    big = cv2.resize(astronaut, (1536, 1536), interpolation=cv2.INTER_CUBIC)
    face_lm = astronaut_face.landmarks * 3.0 + 1.0  # pixel centres: (x + 0.5) * 3 - 0.5
    al = align_face(big, face_lm, 256)  # a generator crop 6x smaller than the photo
    out = paste_face(big, _drift(al.image), al)
    assert out.shape == big.shape
    # Untouched photo detail stays at full resolution: the top-left corner is the photo's.
    assert np.array_equal(out[:200, :200], big[:200, :200])


def test_paste_face_rejects_bad_options(astronaut, astro_aligned):
    with pytest.raises(InvalidOptionError):
        paste_face(astronaut, astro_aligned.image, astro_aligned, blend="poisson")
    with pytest.raises(InvalidOptionError):
        paste_face(astronaut, astro_aligned.image, astro_aligned, mask=np.ones((5, 5), np.float32))
