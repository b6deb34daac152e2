import numpy as np
import pytest
import torch
from face_drawing import DRAWN

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import PARTS, part_masks


def test_drawn_face_parts_cover_the_drawn_features(drawn, drawn_face):
    m = part_masks(drawn_face, drawn.shape)
    assert set(m) == set(PARTS)
    assert all(v.shape == (400, 400) and v.dtype == bool for v in m.values())
    for side in ("left_eye", "right_eye"):
        x, y = (int(v) for v in DRAWN[side])
        assert m[side][y, x] and m["eyes"][y, x]
        assert not m["mouth"][y, x] and not m["nose"][y, x]
    mx, my = (int(v) for v in DRAWN["mouth_center"])
    assert m["mouth"][my, mx] and not m["eyes"][my, mx]
    # Brows lie above the eyes, the nose between eyes and mouth.
    assert np.nonzero(m["left_brow"])[0].mean() < np.nonzero(m["left_eye"])[0].mean()
    ny = np.nonzero(m["nose"])[0].mean()
    assert DRAWN["left_eye"][1] < ny < DRAWN["mouth_center"][1]
    # The drawn eye is 40 x 18 px: the (slightly dilated) mask covers it and not
    # much more (measured: 99 % of the eye, 58 % of the mask is eye).
    yy, xx = np.mgrid[:400, :400]
    drawn_eye = ((xx - 155) / 20.0) ** 2 + ((yy - 190) / 9.0) ** 2 <= 1
    overlap = (m["left_eye"] & drawn_eye).sum()
    assert overlap / drawn_eye.sum() > 0.9
    assert overlap / m["left_eye"].sum() > 0.5
    # Parts are inside the face; background is its complement.
    for part in ("eyes", "nose", "mouth"):
        assert (m[part] & m["face"]).sum() >= 0.95 * m[part].sum()
    assert np.array_equal(m["background"], ~m["face"])
    assert not (m["eyes"] & m["mouth"]).any() and not (m["nose"] & m["mouth"]).any()


def test_astronaut_parts_on_hand_read_features(astronaut, astronaut_face):
    m = part_masks(astronaut_face, astronaut.shape, parts=("eyes", "nose", "mouth", "face"))
    assert set(m) == {"eyes", "nose", "mouth", "face"}
    assert m["eyes"][101, 203] and m["eyes"][102, 246]  # iris centres
    assert m["nose"][125, 224]  # just above the nose tip
    assert m["mouth"][142, 224]  # the teeth
    assert not m["face"][300, 100] and m["face"][120, 224]


def test_masks_at_other_resolutions_and_as_tensors(drawn, drawn_face):
    full = part_masks(drawn_face, drawn.shape)
    small = part_masks(drawn_face, drawn.shape, size=100, as_tensor=True)
    assert isinstance(small["mouth"], torch.Tensor) and small["mouth"].dtype == torch.bool
    assert tuple(small["mouth"].shape) == (100, 100)
    for part in ("face", "mouth", "nose"):
        # Areas scale with the square of the resolution (1/16).
        ratio = small[part].sum().item() / full[part].sum()
        assert ratio == pytest.approx(1 / 16, rel=0.06), part  # measured within 4 %
    rect = part_masks(drawn_face, drawn.shape, size=(50, 80))
    assert rect["face"].shape == (50, 80)


def test_bad_inputs():
    with pytest.raises(InvalidOptionError, match="hair"):
        part_masks(np.zeros((68, 2)), (10, 10), parts=("hair",))
    with pytest.raises(InvalidOptionError):
        part_masks(np.zeros((67, 2)), (10, 10))


def test_face_region_mask_covers_the_landmarks_and_a_measured_forehead(astronaut, astronaut_face):
    from video2stylegan.faces import FOREHEAD, face_region_mask

    lm = astronaut_face.landmarks
    mask = face_region_mask(lm, astronaut.shape)
    assert mask.shape == (512, 512) and mask.dtype == np.float32
    # Every landmark is on or inside the region (those on the hull sit on its anti-aliased edge).
    assert all(mask[int(round(y)), int(round(x))] >= 0.4 for x, y in lm)
    inner = lm[27:68]  # nose, eyes, mouth: well inside
    assert all(mask[int(round(y)), int(round(x))] == 1.0 for x, y in inner)
    # The forehead: up from the brows by 0.2 of the face height is in, by 0.45 is out.
    brows, chin = lm[17:27].mean(0), lm[8]
    for t, expected in ((0.2, 1.0), (0.45, 0.0)):
        x, y = brows + t * (brows - chin)
        assert mask[int(round(y)), int(round(x))] == expected, t
    assert FOREHEAD == 0.30
    # The image corners (background) are out.
    assert mask[0, 0] == mask[0, -1] == mask[-1, 0] == mask[-1, -1] == 0.0
    # Feathering keeps the region's 0.5 level in place and only softens it.
    soft = face_region_mask(lm, astronaut.shape, feather=0.05)
    hard_area, soft_area = (mask >= 0.5).sum(), (soft >= 0.5).sum()
    assert abs(soft_area - hard_area) < 0.03 * hard_area
    assert ((soft > 0.02) & (soft < 0.98)).sum() > 5 * ((mask > 0.02) & (mask < 0.98)).sum()
    grown = face_region_mask(lm, astronaut.shape, grow=0.1)
    assert (grown >= 0.5).sum() > 1.2 * hard_area


def test_face_region_mask_rejects_bad_input():
    from video2stylegan.faces import face_region_mask

    with pytest.raises(InvalidOptionError):
        face_region_mask(np.zeros((5, 2)), (10, 10))
    lm = np.random.default_rng(0).uniform(10, 90, (68, 2))
    with pytest.raises(InvalidOptionError):
        face_region_mask(lm, (100, 100), forehead=-0.1)


def test_one_part_vocabulary_with_the_synthetic_world(drawn, drawn_face):
    from video2stylegan import synthetic

    # the facial features have the same names in the landmark masks and in the renderer's truth
    assert {"eyes", "brows", "nose", "mouth"} <= set(PARTS) & set(synthetic.PARTS)
    m = part_masks(drawn_face, drawn.shape, parts=("brows", "left_brow", "right_brow"))
    np.testing.assert_array_equal(m["brows"], m["left_brow"] | m["right_brow"])
    assert m["brows"].any()
    with pytest.raises(InvalidOptionError, match="eyebrows"):
        part_masks(drawn_face, drawn.shape, parts=("eyebrows",))
