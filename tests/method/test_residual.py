"""Eq. 10 (residual motion in W+) and the paper's baseline, on small known tensors."""

from __future__ import annotations

import pytest
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.residual import baseline_codes, motion_deltas, residual_codes

NUM_WS, W_DIM = 16, 2


def codes(values):
    """[N, 16, 2] codes whose every entry of frame j is values[j] (plus the ws index / 100)."""
    v = torch.as_tensor(values, dtype=torch.float64).reshape(-1, 1, 1)
    return v + torch.arange(NUM_WS, dtype=torch.float64).reshape(1, -1, 1) / 100 + torch.zeros(1, 1, W_DIM)


REF = codes([10.0])[0]
DRIVE = codes([1.0, 3.0, 2.0, 7.0])


def test_accumulated_known_answer():
    out = residual_codes(REF, DRIVE)
    assert out.shape == (4, NUM_WS, W_DIM)
    # ws 3..7 move by w_j - w_0 = 0, 2, 1, 6; the others keep the reference.
    for j, d in enumerate([0.0, 2.0, 1.0, 6.0]):
        assert torch.allclose(out[j, 3:8], REF[3:8] + d)
        assert torch.equal(out[j, :3], REF[:3]) and torch.equal(out[j, 8:], REF[8:])
    assert out[3, 5, 0].item() == pytest.approx(10.05 + 6.0)


def test_frame_zero_is_the_reference():
    for form in ("accumulated", "literal"):
        assert torch.equal(residual_codes(REF, DRIVE, form=form)[0], REF)
        assert torch.equal(baseline_codes(REF, DRIVE, form=form)[0], REF)


def test_literal_form_known_answer():
    out = residual_codes(REF, DRIVE, form="literal")
    # w_{j-1} - w_j = 0, 1-3, 3-2, 2-7
    for j, d in enumerate([0.0, -2.0, 1.0, -5.0]):
        assert torch.allclose(out[j, 3:8], REF[3:8] + d)
        assert torch.equal(out[j, 8:], REF[8:])


def test_accumulated_is_the_telescoped_sum_of_consecutive_steps():
    steps = -motion_deltas(DRIVE, form="literal")  # w_j - w_{j-1}
    assert torch.allclose(motion_deltas(DRIVE), steps.cumsum(0))


def test_baseline_moves_every_layer():
    out = baseline_codes(REF, DRIVE)
    expected = torch.tensor([0.0, 2.0, 1.0, 6.0], dtype=torch.float64).reshape(4, 1, 1).expand(4, NUM_WS, W_DIM)
    assert torch.allclose(out - REF, expected)


def test_per_frame_pose_edited_reference():
    ref_pose = REF + torch.tensor([0.0, 0.5, -0.5, 1.0], dtype=torch.float64).reshape(4, 1, 1)
    out = residual_codes(ref_pose, DRIVE, layers=(4,))
    assert torch.allclose(out[:, 4, 0], torch.tensor([10.04, 12.54, 10.54, 17.04], dtype=torch.float64))
    assert torch.equal(out[:, 3], ref_pose[:, 3])


def test_linear_in_the_driving_codes():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(5, NUM_WS, W_DIM, generator=g), torch.randn(5, NUM_WS, W_DIM, generator=g)
    ref = torch.randn(NUM_WS, W_DIM, generator=g)
    for form in ("accumulated", "literal"):
        f = lambda w: residual_codes(ref, w, form=form) - ref  # noqa: E731
        assert torch.allclose(f(2.0 * a - 3.0 * b), 2.0 * f(a) - 3.0 * f(b), atol=1e-5)
    # and translating the whole clip changes nothing
    assert torch.allclose(residual_codes(ref, a + 4.0), residual_codes(ref, a), atol=1e-5)


def test_chunks_give_the_whole_clip():
    g = torch.Generator().manual_seed(1)
    w = torch.randn(6, NUM_WS, W_DIM, generator=g)
    ref = torch.randn(1, NUM_WS, W_DIM, generator=g)
    for form in ("accumulated", "literal"):
        whole = residual_codes(ref, w, form=form)
        tail = residual_codes(ref, w[3:], form=form, w_first=w[0], w_prev=w[2])
        assert torch.equal(tail, whole[3:])


def test_bad_arguments():
    with pytest.raises(InvalidOptionError, match="residual form"):
        residual_codes(REF, DRIVE, form="sum")
    with pytest.raises(InvalidOptionError, match="0..15"):
        residual_codes(REF, DRIVE, layers=(3, 16))
    with pytest.raises(InvalidOptionError, match="does not match"):
        residual_codes(REF[:8], DRIVE)
    with pytest.raises(InvalidOptionError, match="w_first"):
        residual_codes(REF, DRIVE, w_first=REF[:3])
