import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.metrics.paired import paired_difference


def test_a_constant_difference_has_a_zero_width_interval():
    a = np.linspace(0.3, 0.5, 24)
    d = paired_difference(a, a - 0.02)
    assert d.mean == pytest.approx(0.02) and d.low == pytest.approx(0.02) and d.high == pytest.approx(0.02)
    assert d.frames == 24 and d.significant
    assert d.format() == "+0.0200 [+0.0200, +0.0200]*" and d.format(1) == "+0.0 [+0.0, +0.0]*"


def test_noise_around_zero_is_not_significant_and_a_clear_shift_is():
    rng = np.random.default_rng(1)
    b = rng.normal(0.4, 0.05, 48)
    same = paired_difference(b + rng.normal(0, 0.01, 48), b)
    assert same.low < 0 < same.high and not same.significant
    shifted = paired_difference(b + 0.03 + rng.normal(0, 0.01, 48), b)
    assert 0 < shifted.low < 0.03 < shifted.high and shifted.significant
    # for independent frames (blocks of 1) the half width is 1.96 sigma / sqrt(n), sigma = 0.01
    iid = paired_difference(b + 0.03 + rng.normal(0, 0.01, 48), b, block=1)
    assert (iid.high - iid.low) / 2 == pytest.approx(1.96 * 0.01 / np.sqrt(48), rel=0.2)


def test_blocks_widen_the_interval_of_correlated_frames():
    # a slow drift: neighbouring frames agree, so single frames overstate the evidence
    t = np.arange(48)
    d = 0.02 * np.sin(t / 6.0)
    one = paired_difference(d, np.zeros(48), block=1)
    six = paired_difference(d, np.zeros(48), block=6)
    assert (six.high - six.low) > 1.3 * (one.high - one.low)


def test_missing_frames_are_left_out_and_the_seed_makes_it_reproducible():
    a = np.array([0.1, np.nan, 0.3, 0.2, np.inf, 0.25])
    b = np.array([0.0, 0.1, 0.1, 0.1, 0.1, 0.05])
    d = paired_difference(a, b)
    assert d.frames == 4 and d.mean == pytest.approx(np.mean([0.1, 0.2, 0.1, 0.2]))
    assert paired_difference(a, b) == d
    empty = paired_difference([np.nan], [0.0])
    assert empty.frames == 0 and np.isnan(empty.mean) and empty.format() == "n/a"


def test_bad_arguments_are_named():
    with pytest.raises(InvalidOptionError, match="same frames"):
        paired_difference(np.zeros(3), np.zeros(4))
    with pytest.raises(InvalidOptionError, match="block"):
        paired_difference(np.zeros(3), np.zeros(3), block=0)
    with pytest.raises(InvalidOptionError, match="level"):
        paired_difference(np.zeros(3), np.zeros(3), level=1.5)
