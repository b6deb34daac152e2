"""The one temporal smoother (centred mean with edge modes, shot by shot, angle columns) and the angle wrap."""

from __future__ import annotations

import math

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.temporal import temporal_mean, wrap_angle


def test_shrink_and_replicate_known_numbers():
    p = np.zeros((5, 3))
    p[:, 0] = [0.0, 3.0, 6.0, 0.0, 9.0]
    assert temporal_mean(p, 3)[:, 0].tolist() == pytest.approx([0.0, 3.0, 3.0, 5.0, 9.0])
    assert temporal_mean(p, 3, edges="replicate")[:, 0].tolist() == pytest.approx([1.0, 3.0, 3.0, 5.0, 6.0])
    assert temporal_mean(p, 5)[:, 0].tolist() == pytest.approx([0.0, 3.0, 3.6, 5.0, 9.0])
    # replicate over 5: padded 0 0 [0 3 6 0 9] 9 9
    assert temporal_mean(p, 5, edges="replicate")[:, 0].tolist() == pytest.approx([1.8, 1.8, 3.6, 5.4, 6.6])
    assert np.array_equal(temporal_mean(p, 1), p)
    # an even window spans the next odd one (w // 2 frames each side)
    assert np.array_equal(temporal_mean(p, 4), temporal_mean(p, 5))


def test_any_shape_after_the_frames_and_float64_out():
    x = np.arange(4 * 2 * 2, dtype=np.int32).reshape(4, 2, 2)
    out = temporal_mean(x, 3)
    assert out.dtype == np.float64 and out.shape == (4, 2, 2)
    np.testing.assert_array_equal(out[1], (x[0] + x[1] + x[2]) / 3)
    assert temporal_mean(np.zeros((0, 3)), 3).shape == (0, 3)


def test_constant_speed_passes_and_angles_average_across_pi():
    t = np.arange(7.0)
    p = np.stack([0.01 * t, -0.02 * t, 0.05 * t], 1)
    assert np.allclose(temporal_mean(p, 5, angle_columns=(2,)), p)
    r = np.array([[0, 0, math.pi - 0.1], [0, 0, -math.pi + 0.1], [0, 0, math.pi - 0.1]])
    out = temporal_mean(r, 3, angle_columns=(2,))[:, 2]
    assert abs(abs(out[1]) - (math.pi - 0.1 / 3)) < 1e-12  # not the naive mean near 0
    assert abs(temporal_mean(r, 3)[1, 2]) < 1.1  # without the angle column it is the naive mean
    with pytest.raises(InvalidOptionError, match="edges"):
        temporal_mean(p, 3, edges="wrap")
    with pytest.raises(InvalidOptionError, match="window"):
        temporal_mean(p, 0)


def test_cuts_split_the_clip():
    t = np.arange(20, dtype=np.float64)
    p = np.stack([0.01 * t, 0.002 * t], axis=1)
    p[10:] += [-0.3, 0.1]
    # a linear motion passes a shrinking centred mean unchanged, when no window straddles the cut
    np.testing.assert_allclose(temporal_mean(p, 5, cuts=[10]), p, atol=1e-12)
    assert np.abs(temporal_mean(p, 5) - p).max() > 0.05
    # each shot is smoothed as if alone, whatever the order or repetition of the cuts
    np.testing.assert_array_equal(temporal_mean(p, 3, cuts=[10, 10, 0, 25])[10:], temporal_mean(p[10:], 3))
    np.testing.assert_array_equal(temporal_mean(p, 3, cuts=None), temporal_mean(p, 3))


def test_each_shot_unwraps_its_own_angles():
    r = np.array([3.0, 3.1, -3.1, 0.5, 0.6, 0.7])[:, None]
    out = temporal_mean(r, 3, cuts=[3], angle_columns=(0,))[:, 0]
    assert out[1] == pytest.approx((3.0 + 3.1 + (2 * math.pi - 3.1)) / 3)  # -3.1 is 3.18 the short way
    np.testing.assert_allclose(out[3:], [0.5, 0.6, 0.7])


def test_wrap_angle_edges():
    assert wrap_angle(math.pi) == math.pi
    assert wrap_angle(-math.pi) == math.pi
    assert wrap_angle(3 * math.pi) == pytest.approx(math.pi)
    assert wrap_angle(0.25) == pytest.approx(0.25)
    x = np.linspace(-20, 20, 1001)
    w = wrap_angle(x)
    assert (w > -math.pi).all() and (w <= math.pi).all()
    np.testing.assert_allclose(np.cos(w), np.cos(x), atol=1e-12)
