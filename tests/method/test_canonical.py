"""Eq. 4-6: smoothing, relative / absolute offsets, and the generator transform's geometry."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.canonical import CanonicalParams, canonical_params, eye_center
from video2stylegan.faces.pose import MEAN_FACE_3D
from video2stylegan.method.canonical import (
    canonical_offsets,
    canonical_transforms,
    content_motions,
    match_length,
    sequence_length,
    transforms_for_config,
)
from video2stylegan.method.config import ReenactConfig

SIZE = 256


def rigid(points, angle, shift, center):
    """Turn ``points`` (pixels) by ``angle`` rad counter-clockwise as seen about ``center``, then shift."""
    c, s = math.cos(angle), math.sin(angle)
    rot = np.array([[c, s], [-s, c]])  # y down: counter-clockwise on screen
    return (points - center) @ rot.T + center + np.asarray(shift)


def reference_face():
    """Mean-face landmarks in a SIZE x SIZE image, slightly off the FFHQ placement and tilted."""
    lm = MEAN_FACE_3D[:, :2] * 0.8
    lm = lm - eye_center(lm) + np.array([0.5, 0.475]) * SIZE - 0.5 + np.array([6.0, -4.0])
    return rigid(lm, 0.08, (0, 0), eye_center(lm))


def to_generator(points, size=SIZE):
    """Pixel positions (centres at integers) -> generator coordinates (units of the image, centred)."""
    return (np.asarray(points) + 0.5) / size - 0.5


def apply(matrix, points):
    m = matrix.double().numpy()
    return points @ m[:2, :2].T + m[:2, 2]


# ----------------------------------------------------------------------------- smoothing


def test_offsets_are_smoothed_with_the_kernel_and_edges():
    p = np.zeros((5, 3))
    p[:, 0] = [0.0, 3.0, 6.0, 0.0, 9.0]
    # relative offsets of the smoothed parameters (faces.temporal.temporal_mean has the filter's own tests)
    assert canonical_offsets(p, kernel=3)[:, 0].tolist() == pytest.approx([0.0, 3.0, 3.0, 5.0, 9.0])
    assert canonical_offsets(p, kernel=3, edges="replicate")[:, 0].tolist() == pytest.approx([0.0, 2.0, 2.0, 4.0, 5.0])
    r = np.array([[0, 0, math.pi - 0.1], [0, 0, -math.pi + 0.1], [0, 0, math.pi - 0.1]])
    d = canonical_offsets(r, kernel=3, mode="absolute")[:, 2]
    assert abs(abs(d[1]) - (math.pi - 0.1 / 3)) < 1e-12  # the roll is averaged the short way round
    with pytest.raises(InvalidOptionError, match="odd"):
        canonical_offsets(p, kernel=4)
    with pytest.raises(InvalidOptionError, match="edges"):
        canonical_offsets(p, kernel=3, edges="wrap")


# ------------------------------------------------------------------------------- offsets


def test_relative_and_absolute_offsets():
    params = [CanonicalParams(0.1, 0.0, 0.2), CanonicalParams(0.2, -0.1, 0.1), CanonicalParams(0.4, 0.1, -3.1)]
    rel = canonical_offsets(params, kernel=1)
    assert np.allclose(rel[0], 0)
    assert np.allclose(rel[1], [0.1, -0.1, -0.1])
    assert rel[2, 2] == pytest.approx(-3.3 + 2 * math.pi)  # wrapped into (-pi, pi]
    ref = {"tx": 0.05, "ty": 0.02, "r": 0.0}
    ab = canonical_offsets(params, mode="absolute", reference=[ref], kernel=1)
    assert np.allclose(ab[:, :2], [[0.05, -0.02], [0.15, -0.12], [0.35, 0.08]])
    assert np.allclose(canonical_offsets(params, mode="absolute", kernel=1), [p.as_array() for p in params])
    with pytest.raises(InvalidOptionError, match="canonical mode"):
        canonical_offsets(params, mode="delta")


def test_sequence_lengths():
    assert sequence_length(10, None) == 10
    assert sequence_length(10, 4, "loop") == 10 and sequence_length(10, 4, "truncate") == 4
    assert sequence_length(3, 4, "truncate") == 3
    assert match_length(np.arange(3), 7).tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert match_length(torch.arange(5), 2, "truncate").tolist() == [0, 1]
    assert match_length(["a", "b"], 3) == ["a", "b", "a"]
    with pytest.raises(InvalidOptionError, match="truncate a 2-frame"):
        match_length(np.arange(2), 3, "truncate")


# ------------------------------------------------------------------------------ geometry


def test_identity_transform_without_motion():
    params = np.tile([0.03, -0.01, 0.2], (4, 1))
    assert torch.allclose(canonical_transforms(params), torch.eye(3).expand(4, 3, 3), atol=1e-6)


def test_absolute_mode_puts_the_reference_face_on_the_driving_face():
    ref = reference_face()
    p_ref = canonical_params(ref, (SIZE, SIZE))
    angles, shifts = [0.0, 0.3, -0.25, 0.1], [(0, 0), (20, -12), (-30, 8), (5, 25)]
    frames = [rigid(ref, a, s, eye_center(ref) + 17) for a, s in zip(angles, shifts)]
    params = [canonical_params(f, (SIZE, SIZE)) for f in frames]
    motion = content_motions(canonical_offsets(params, mode="absolute", reference=p_ref, kernel=1), p_ref)
    transforms = canonical_transforms(params, mode="absolute", reference=p_ref, kernel=1, dtype=torch.float64)
    worst = 0.0
    for j, frame in enumerate(frames):
        moved = apply(motion[j], to_generator(ref))
        worst = max(worst, np.linalg.norm(moved[36:48].mean(0) - to_generator(eye_center(frame))))
        # every landmark lands, not only the eye centre (the motion is rigid)
        assert np.allclose(moved, to_generator(frame), atol=1e-5)
        # the generator transform is the inverse: it sends the driving position back to the reference's
        assert np.allclose(apply(transforms[j], to_generator(frame)), to_generator(ref), atol=1e-5)
    assert worst < 1e-5  # in image widths; the brief's bound is 0.02


def test_relative_mode_transfers_the_eye_motion():
    ref = reference_face()
    p_ref = canonical_params(ref, (SIZE, SIZE))
    drive = MEAN_FACE_3D[:, :2] * 0.5 + np.array([90.0, 140.0])  # a different face, elsewhere
    frames = [rigid(drive, a, s, eye_center(drive)) for a, s in [(0.0, (0, 0)), (0.2, (12, -7)), (-0.1, (-9, 3))]]
    motion = content_motions(canonical_offsets([canonical_params(f, (SIZE, SIZE)) for f in frames], kernel=1), p_ref)
    e_ref = to_generator(eye_center(ref))
    for j, frame in enumerate(frames):
        moved_eye = apply(motion[j], e_ref[None])[0]
        expected = e_ref + to_generator(eye_center(frame)) - to_generator(eye_center(frames[0]))
        assert np.linalg.norm(moved_eye - expected) < 1e-6
    # the turn: the reference's eye-to-mouth vector rotates by the driver's angle (0.2 rad, counter-clockwise)
    v = (ref[48:68].mean(0) - eye_center(ref)) / SIZE
    moved_v = apply(motion[1], v[None] + e_ref)[0] - apply(motion[1], e_ref[None])[0]
    turn = math.atan2(moved_v[0], moved_v[1]) - math.atan2(v[0], v[1])
    assert turn == pytest.approx(0.2, abs=1e-6)


def test_config_sources():
    params = np.array([[0.0, 0.0, 0.0], [0.1, 0.0, 0.0], [0.2, 0.0, 0.0]])
    assert transforms_for_config(ReenactConfig(transform_from="none"), 3, params) is None
    assert transforms_for_config(ReenactConfig(use_canonical=False), 3, params) is None
    t = transforms_for_config(ReenactConfig(transform_from="co-driving", smoothing_kernel=1), 5, None, params[:2])
    # co-driving looped: offsets 0, 0.1, 0, 0.1, 0 -> transform translation is minus that
    assert (-t[:, 0, 2]).tolist() == pytest.approx([0.0, 0.1, 0.0, 0.1, 0.0], abs=1e-7)
    with pytest.raises(InvalidOptionError, match="co-driving parameters"):
        transforms_for_config(ReenactConfig(transform_from="co-driving"), 3, params)
    with pytest.raises(InvalidOptionError, match="3 driving canonical parameters for 4 frames"):
        transforms_for_config(ReenactConfig(), 4, params)


# ------------------------------------------------------------------- rendered, random-r-128


def _grey(img):
    return img[0].mean(0).double().numpy()


def _detail(grey):
    """High-pass, central 96 px: phase correlation then locks onto texture, not the border."""
    return (grey - cv2.GaussianBlur(grey, (0, 0), 2.0))[16:112, 16:112].copy()


def _shift(a, b):
    return cv2.phaseCorrelate(_detail(a), _detail(b), cv2.createHanningWindow((96, 96), cv2.CV_64F))


TURN = 0.15
RENDER_CASES = {
    # name: canonical params of (frame 0, frame j), mode
    "whole_pixels": ([[0.0, 0.0, 0.0], [8 / 128, -4 / 128, 0.0]], "relative"),
    "sub_pixel": ([[0.0, 0.0, 0.0], [0.05, -0.03, 0.0]], "relative"),
    "turn": ([[0.03, 0.02, TURN], [0.03, 0.02, TURN]], "absolute"),
    "opposite_turn": ([[0.03, 0.02, -TURN], [0.03, 0.02, -TURN]], "absolute"),
}


@pytest.fixture(scope="module")
def renders(G_r128, w_pair, reference_render):
    """The reference (no transform) and one frame per RENDER_CASES entry (one batched render)."""
    w = w_pair[:1]
    transforms = torch.stack(
        [canonical_transforms(np.array(p), mode=m, kernel=1)[1] for p, m in RENDER_CASES.values()]
    )
    with torch.no_grad():
        frames = G_r128.synthesis(w.expand(len(transforms), -1, -1), transform=transforms)
    return reference_render, dict(zip(RENDER_CASES, frames))


def test_rendered_whole_pixel_translation_is_exact(renders):
    """tx = 8 px right, ty = 4 px up on the 128 px output: the content is the reference's, moved."""
    base, frames = renders
    out = frames["whole_pixels"]
    moved, expected = out[:, 16:100, 24:112], base[:, 20:104, 16:104]  # out[y, x] = base[y + 4, x - 8]
    psnr = 10 * math.log10(4 / torch.mean((moved - expected) ** 2).item())
    wrong = 10 * math.log10(4 / torch.mean((moved - base[:, 12:96, 32:120]) ** 2).item())  # opposite signs
    assert psnr > 80 and wrong < 40, (psnr, wrong)  # measured 113 dB and 30 dB


def test_rendered_translation_matches_tx_times_width(renders):
    base, frames = renders
    size = base.shape[-1]
    (dx, dy), response = _shift(_grey(base[None]), _grey(frames["sub_pixel"][None]))
    error = math.hypot(dx - 0.05 * size, dy + 0.03 * size) / size
    assert response > 0.5
    assert error < 0.005, (dx, dy)  # measured 0.3 % of the width (phase correlation's sub-pixel bias)


def test_rendered_turn_about_the_eye_centre(renders):
    """Absolute mode, driving face at (+0.03, +0.02) turned 0.15 rad: undo the predicted turn
    about the predicted eye centre and the rest must be a pure shift by the eye's motion."""
    base, frames = renders
    size = base.shape[-1]
    e_ref = np.array([0.5, 0.475]) * size - 0.5
    e_pred = np.array([0.53, 0.495]) * size - 0.5
    undo = cv2.getRotationMatrix2D((float(e_pred[0]), float(e_pred[1])), -math.degrees(TURN), 1.0)
    results = {
        name: _shift(_grey(base[None]), cv2.warpAffine(_grey(frames[name][None]), undo, (size, size), flags=cv2.INTER_CUBIC))
        for name in ("turn", "opposite_turn")
    }
    (dx, dy), response = results["turn"]
    eye_error = np.linalg.norm(e_ref + (dx, dy) - e_pred) / size
    assert response > 0.5 and results["opposite_turn"][1] < 0.5  # measured 0.89; the opposite turn 0.35
    assert eye_error < 0.005, (dx, dy)  # measured 0.1 % of the width; the brief's bound is 2 %


# ------------------------------------------------------------------------------ feedback


def test_drift_feedback_puts_an_already_moved_face_where_the_offsets_say():
    """Edits moved frame j's face by drift_j (here: a known rigid motion); with the feedback the
    eye centre and the eye-to-mouth angle land at the reference's plus the driving offsets, as
    they do without any drift, and frames without drift are unchanged."""
    ref = reference_face()
    p_ref = canonical_params(ref, (SIZE, SIZE)).as_array()
    drive = MEAN_FACE_3D[:, :2] * 0.5 + np.array([90.0, 140.0])
    frames = [rigid(drive, a, s, eye_center(drive)) for a, s in [(0.0, (0, 0)), (0.15, (10, -6)), (-0.1, (-8, 4))]]
    params = [canonical_params(f, (SIZE, SIZE)) for f in frames]
    # what the edits did to each frame's face before the transform: none, a turn + shift, a shift
    edited = [ref, rigid(ref, 0.12, (7, 3), eye_center(ref)), rigid(ref, 0.0, (-5, 9), eye_center(ref))]
    drift = np.stack([canonical_params(f, (SIZE, SIZE)).as_array() for f in edited]) - p_ref
    assert np.abs(drift[1]).max() > 0.02  # a drift the test can see
    offsets = canonical_offsets(params, kernel=1, drift=drift)
    motion = content_motions(offsets, p_ref, drift=drift)
    plain = content_motions(canonical_offsets(params, kernel=1), p_ref)
    for j, face in enumerate(edited):
        moved = apply(motion[j], to_generator(face))
        want = apply(plain[j], to_generator(ref))  # where the unedited reference goes without feedback
        assert np.linalg.norm(moved[36:48].mean(0) - want[36:48].mean(0)) < 1e-6
        v = moved[48:68].mean(0) - moved[36:48].mean(0)
        v_want = want[48:68].mean(0) - want[36:48].mean(0)
        assert abs(math.atan2(v[0], v[1]) - math.atan2(v_want[0], v_want[1])) < 1e-6
    assert torch.allclose(motion[0], plain[0], atol=1e-7)
    with pytest.raises(InvalidOptionError, match="2 placement drifts for 3 frames"):
        canonical_offsets(params, drift=drift[:2])


def test_placement_drift_smooths_and_subtracts_the_reference():
    from video2stylegan.method.canonical import placement_drift

    measured = np.array([[0.0, 0.0, 3.1], [0.03, 0.0, -3.1], [0.0, 0.0, 3.1]])
    d = placement_drift(measured, [0.0, 0.0, 3.1], kernel=1)
    assert d[1].tolist() == pytest.approx([0.03, 0.0, 2 * math.pi - 6.2])  # the angle wraps across pi
    assert placement_drift(measured, [0.0, 0.0, 3.1], kernel=3)[1, 0] == pytest.approx(0.01)


def _two_shots():
    """A head drifting right and turning in shot 1 (frames 0-9), then a cut to a framing 0.3 to the
    left and 0.5 rad turned, where it drifts on at the same speed (frames 10-19)."""
    t = np.arange(20, dtype=np.float64)
    p = np.stack([0.01 * t, 0.002 * t, 0.01 * t], axis=1)
    p[10:] += [-0.3, 0.1, 0.5]
    return p


def test_reanchor_makes_a_cut_no_motion_and_keeps_each_shots_motion():
    from video2stylegan.method.canonical import canonical_offsets

    p = _two_shots()
    d = canonical_offsets(p, kernel=3, cuts=[10])
    steps = np.diff(d, axis=0)
    # across the cut the portrait does not move; inside the shots it moves at the clip's speed
    np.testing.assert_allclose(steps[9], 0.0, atol=1e-12)
    np.testing.assert_allclose(steps[10:], np.diff(p[10:], axis=0), atol=1e-12)
    np.testing.assert_allclose(steps[:9], np.diff(p[:10], axis=0), atol=1e-12)
    # without the cut its jump passes into the portrait (smoothed over three frames)
    ignored = canonical_offsets(p, kernel=3)
    assert abs(ignored[10, 0] - ignored[9, 0]) > 0.08  # 0.09: a third of the 0.3 jump, less the motion


def test_config_cut_policy_decides_which_cuts_the_transform_honours():
    p = _two_shots()
    with_cuts = canonical_transforms(p, cuts=[10])
    without = canonical_transforms(p)
    assert not torch.equal(with_cuts, without)
    for policy, expected in (("reanchor", with_cuts), ("split", with_cuts), ("ignore", without)):
        got = transforms_for_config(ReenactConfig(cuts=policy), len(p), p, cuts=[10])
        assert torch.equal(got, expected), policy


def test_absolute_offsets_are_smoothed_shot_by_shot():
    p = _two_shots()
    smoothed = canonical_offsets(p, kernel=5, mode="absolute", cuts=[10])
    # a linear motion passes a shrinking centred mean unchanged, when no window straddles the cut
    np.testing.assert_allclose(smoothed, p, atol=1e-12)
    assert np.abs(canonical_offsets(p, kernel=5, mode="absolute") - p).max() > 0.05


def test_reanchor_wraps_angles_and_works_on_tensors():
    from video2stylegan.method.canonical import reanchor_shots

    r = np.array([[3.1], [3.12], [-3.1], [-3.08]])  # the cut lands past +-pi
    out = reanchor_shots(r, [2], angle_columns=(0,))
    np.testing.assert_allclose(out[:, 0], [3.1, 3.12, 3.12, 3.14], atol=1e-12)
    w = torch.arange(12, dtype=torch.float32).reshape(4, 3)
    got = reanchor_shots(w, [1, 3])
    assert torch.equal(got[1], w[0]) and torch.equal(got[3], got[2])
    assert torch.equal(got[2] - got[1], w[2] - w[1])
