"""Renderer: determinism, ground truth agreeing with pixels, pose conventions."""

import numpy as np
import pytest
from synthetic_helpers import polygon_mask

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic import PARTS, Expression, HeadParams, Pose, render, render_batch, sample_params


def test_same_params_same_pixels_and_ground_truth():
    a, b = render(sample_params(7), 96), render(sample_params(7), 96)
    assert np.array_equal(a.image, b.image)
    assert np.array_equal(a.landmarks, b.landmarks)
    assert np.array_equal(a.masks, b.masks)
    c = render(sample_params(8), 96)
    assert np.abs(a.image.astype(int) - c.image.astype(int)).mean() > 5


def test_batch_equals_single_renders():
    batch = render_batch([1, 2, sample_params(3)], size=64)
    assert batch.images.shape == (3, 64, 64, 3) and batch.images.dtype == np.uint8
    assert batch.landmarks.shape == (3, 68, 2)
    assert batch.masks.shape == (3, len(PARTS), 64, 64)
    for i, s in enumerate((1, 2, 3)):
        assert np.array_equal(batch.images[i], render(sample_params(s), 64).image)
        assert np.allclose(batch.params[i], sample_params(s).to_vector())


def test_batch_with_worker_processes_gives_the_same_renders():
    serial = render_batch([4, 5, 6], size=48)
    parallel = render_batch([4, 5, 6], size=48, workers=2)
    assert np.array_equal(serial.images, parallel.images)
    assert np.array_equal(serial.landmarks, parallel.landmarks)


def test_bad_sizes_are_clear_errors():
    with pytest.raises(InvalidOptionError, match="at least 16"):
        render(HeadParams(), 8)
    with pytest.raises(InvalidOptionError, match="supersample"):
        render(HeadParams(), 64, supersample=0)
    with pytest.raises(InvalidOptionError, match="HeadParams or integer seeds"):
        render_batch(["a"])


def test_masks_partition_the_image(renders_128):
    for r in renders_128[:10]:
        assert r.masks.shape == (len(PARTS), 128, 128)
        assert np.allclose(r.masks.sum(axis=0), 1.0, atol=1e-5)
        assert np.array_equal(r.labels, r.masks.argmax(axis=0))
        for part in PARTS:
            if part != "body":
                assert r.mask(part).sum() > 3, part  # every part shows in a portrait
        # Corners are background (or shoulders at the bottom).
        assert r.labels[0, 0] == PARTS.index("background")


def test_background_pixels_have_the_background_colour():
    r = render(HeadParams(), 128)
    bg = r.mask("background") > 0.999
    top_row_colour = r.image[0, 0].astype(int)
    # A vertical gradient only: pixels of one background row share a colour.
    row = r.image[2][bg[2]].astype(int)
    assert np.abs(row - r.image[2, 0].astype(int)).max() <= 1
    assert np.abs(top_row_colour - r.image[0, -1].astype(int)).max() <= 1


def _eye_pixels(r, idx):
    poly = r.landmarks[idx]
    return polygon_mask(poly, r.image.shape[:2], dilate=1)


def test_eye_mask_lies_inside_the_eye_landmarks_and_holds_the_pupil(renders_128):
    for r in renders_128[:12]:
        eyes = r.mask("eyes")
        inside = _eye_pixels(r, slice(36, 42)) | _eye_pixels(r, slice(42, 48))
        # The eye landmarks' hexagons contain nearly all eye pixels ...
        assert eyes[inside].sum() > 0.9 * eyes.sum()
        # ... and the darkest eye pixel (the pupil) is dark and in the eye mask.
        for idx in (slice(36, 42), slice(42, 48)):
            region = _eye_pixels(r, idx) & (eyes > 0.5)
            if region.sum() < 3:  # eye closed or turned away
                continue
            lum = r.image.astype(float).mean(axis=2)
            assert lum[region].min() < 0.6 * np.median(lum[r.mask("face") > 0.99])


def test_mouth_landmarks_outline_the_lips(renders_128):
    for r in renders_128[:12]:
        mouth = r.mask("mouth")
        outer = polygon_mask(r.landmarks[48:60], mouth.shape)
        outer_d = polygon_mask(r.landmarks[48:60], mouth.shape, dilate=1)
        # The outer-lip polygon holds nearly all mouth pixels, and is mostly mouth.
        assert mouth[outer_d].sum() > 0.92 * mouth.sum()
        assert mouth[outer].mean() > 0.7
        # Lip pixels are redder (in chromaticity) than the skin.
        img = r.image.astype(float) + 1.0
        redness = img[..., 0] / img.sum(axis=2)
        lips = (mouth > 0.9) & outer
        skin = r.mask("face") > 0.99
        assert np.median(redness[lips]) > np.median(redness[skin]) + 0.02


def test_brow_and_nose_landmarks_sit_on_their_parts(renders_128):
    for r in renders_128[:12]:
        brow = r.mask("brows")
        pts = np.round(r.landmarks[17:27]).astype(int)
        hits = [brow[max(y - 1, 0) : y + 2, max(x - 1, 0) : x + 2].max() > 0.3 for x, y in pts]
        assert np.mean(hits) >= 0.8
        x, y = np.round(r.landmarks[30]).astype(int)  # nose tip
        assert r.mask("nose")[y, x] > 0.5


def test_jaw_landmarks_lie_on_the_face_outline():
    r = render(HeadParams(pose=Pose(yaw=15.0, roll=5.0)), 256)
    skin = (r.mask("face") + r.mask("nose") + r.mask("eyes") + r.mask("brows") + r.mask("mouth")) > 0.5
    # Points 0-2 and 14-16 meet the ears (skin too), so check the lower jaw.
    for x, y in np.round(r.landmarks[3:14]).astype(int):
        patch = skin[y - 3 : y + 4, x - 3 : x + 4]
        assert patch.any() and not patch.all(), (x, y)


def test_positive_yaw_moves_the_nose_right_with_foreshortening():
    front = render(HeadParams(), 256)
    turned = render(HeadParams(pose=Pose(yaw=30.0)), 256)
    back = render(HeadParams(pose=Pose(yaw=-30.0)), 256)
    eyes_mid = lambda r: 0.5 * (r.landmarks[39] + r.landmarks[42])  # noqa: E731
    assert turned.landmarks[30, 0] - eyes_mid(turned)[0] > 5
    assert back.landmarks[30, 0] - eyes_mid(back)[0] < -5
    assert abs(front.landmarks[30, 0] - eyes_mid(front)[0]) < 0.5
    # A real 3D turn: the eye turning away (the image-right one) gets narrower.
    width = lambda r, a, b: np.linalg.norm(r.landmarks[a] - r.landmarks[b])  # noqa: E731
    assert width(turned, 42, 45) < 0.85 * width(turned, 36, 39)
    assert abs(width(front, 42, 45) / width(front, 36, 39) - 1) < 0.02


def test_positive_pitch_lifts_the_nose_and_positive_roll_is_counter_clockwise():
    up = render(HeadParams(pose=Pose(pitch=15.0)), 256)
    down = render(HeadParams(pose=Pose(pitch=-15.0)), 256)
    front = render(HeadParams(), 256)
    nose_below_eyes = lambda r: r.landmarks[30, 1] - r.landmarks[36:48, 1].mean()  # noqa: E731
    assert nose_below_eyes(up) < nose_below_eyes(front) - 2 < nose_below_eyes(down) - 4
    for roll in (-15.0, 15.0):
        r = render(HeadParams(pose=Pose(roll=roll)), 256)
        d = r.landmarks[42:48].mean(axis=0) - r.landmarks[36:42].mean(axis=0)
        # Image y points down: counter-clockwise lifts the image-right eye.
        angle = np.degrees(np.arctan2(-d[1], d[0]))
        assert abs(angle - roll) < 1.0


def test_pose_agrees_with_solvepnp_estimate():
    pose_mod = pytest.importorskip("video2stylegan.faces.pose")
    for kw in ({"yaw": 20.0}, {"yaw": -20.0}, {"pitch": 15.0}, {"pitch": -15.0}, {"roll": 15.0}, {"roll": -15.0}):
        r = render(HeadParams(pose=Pose(**kw)), 256)
        est = pose_mod.head_pose(r.landmarks, r.image.shape[:2])
        (name, value), = kw.items()
        got = getattr(est, name)
        assert np.sign(got) == np.sign(value) and abs(got - value) < 6.0, (kw, est.angles)


def test_occlusion_hides_the_far_side_at_large_yaw():
    front = render(HeadParams(), 128)
    assert front.visible.all()
    turned = render(HeadParams(pose=Pose(yaw=60.0)), 128)
    # The head's curve hides the outer corner of the far (image-right) eye and
    # the end of its brow; the near eye and brow stay visible.
    assert not turned.visible[45] and not turned.visible[26]
    assert turned.visible[36:42].all() and turned.visible[17:22].all()


def test_expression_moves_the_right_landmarks():
    neutral = render(HeadParams(), 128)
    opened = render(HeadParams(expression=Expression(mouth_open=1.0)), 128)
    blink = render(HeadParams(expression=Expression(eye_open_left=0.0)), 128)
    raised = render(HeadParams(expression=Expression(brow_raise=1.0)), 128)
    gap = lambda r: r.landmarks[66, 1] - r.landmarks[62, 1]  # noqa: E731
    assert gap(neutral) < 0.3 and gap(opened) > 5
    assert opened.landmarks[8, 1] > neutral.landmarks[8, 1] + 3  # the jaw drops
    # The subject's left eye is on the image's right (42-47): it closes, the other does not.
    assert np.abs(blink.landmarks[43:45, 1] - blink.landmarks[[47, 46], 1]).max() < 0.3
    assert blink.mask("eyes")[:, 64:].sum() < 0.1 * blink.mask("eyes")[:, :64].sum()
    assert (raised.landmarks[17:27, 1] < neutral.landmarks[17:27, 1] - 1.5).all()
