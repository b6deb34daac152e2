"""Clip values of per-frame scores: the mean over frames with a value, PSNR from the mean MSE."""

import numpy as np
import pytest

from video2stylegan.metrics import clip_mean, clip_psnr, clip_summary, psnr


def test_clip_psnr_is_the_psnr_of_the_mean_squared_error():
    # 20 dB is an MSE of 255^2 / 100, 40 dB one of 255^2 / 10^4: the clip's MSE is their mean
    assert clip_psnr([20.0, 40.0]) == pytest.approx(10 * np.log10(255**2 / ((255**2 / 100 + 255**2 / 1e4) / 2)))
    assert clip_psnr([20.0, 40.0]) == pytest.approx(22.967, abs=1e-3)  # not the mean of the dB, 30
    assert clip_psnr([25.0] * 4) == pytest.approx(25.0)
    # an identical frame (inf dB) adds an MSE of 0 instead of making the clip inf
    assert clip_psnr([np.inf, 20.0]) == pytest.approx(10 * np.log10(200.0))
    assert clip_psnr([np.inf, np.inf]) == np.inf
    assert np.isnan(clip_psnr([np.nan, np.nan])) and np.isnan(clip_psnr([]))
    assert clip_psnr([np.nan, 20.0, 40.0]) == clip_psnr([20.0, 40.0])  # frames without a value left out


def test_clip_psnr_equals_the_psnr_of_the_whole_clip():
    """For frames of one size the mean of the frames' MSE is the clip's MSE: the same number as
    PSNR over all pixels at once."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    b = np.clip(a.astype(int) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    b[0] = a[0]  # one identical frame
    whole = psnr(a.reshape(1, -1, 16, 3), b.reshape(1, -1, 16, 3))
    assert clip_psnr(psnr(a, b)) == pytest.approx(float(np.squeeze(whole)), rel=1e-12)


def test_clip_mean_and_summary():
    assert clip_mean([np.nan, 1.0, 2.0, 6.0]) == 3.0  # frame 0 of a transition metric has no value
    assert np.isnan(clip_mean([np.nan, np.nan]))
    s = clip_summary({"dK": [np.nan, 0.5, 1.5], "PSNR": [20.0, 40.0], "LMD": [np.nan]})
    assert list(s) == ["dK", "PSNR", "LMD"]  # the order of the per-frame table
    assert s["dK"] == 1.0 and s["PSNR"] == clip_psnr([20.0, 40.0]) and np.isnan(s["LMD"])
    # which columns hold dB is a choice: the same values summarised as plain means
    assert clip_summary({"PSNR": [20.0, 40.0]}, psnr=())["PSNR"] == 30.0
