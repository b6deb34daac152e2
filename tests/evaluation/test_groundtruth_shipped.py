"""End to end on the shipped synthetic network: the full method against the baseline and the exact answer."""

import pytest

from video2stylegan.evaluation.suite import SuiteCase, run_suite
from video2stylegan.networks import registry
from video2stylegan.networks.registry import BUNDLED_NETWORK

SHIPPED = registry.BUNDLED_DIR / f"{BUNDLED_NETWORK}.safetensors"
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} is not shipped in this checkout")


def test_full_method_follows_the_ground_truth_better_than_the_baseline(tmp_path):
    """The demo pair, 24 frames at 128 px, ``draft`` budget (about 50 s on 2 cores).

    Measured 2026-11-30 on the v5 network: landmark error 0.069 (full) vs 0.100 (baseline),
    PSNR 21.7 vs 15.8 dB, identity distance 0.376 vs 0.375. On the v4 network: 0.062 vs
    0.107, where the previous defaults (no canonical feedback, absolute local mode) failed
    it with 0.091 and 17.6 dB. The identity
    margin is small on other cases (docs/metrics.md), so it is bounded, not ranked.
    """
    case = SuiteCase("demo", 7, 2, 101, frames=24, size=128)
    result = run_suite(BUNDLED_NETWORK, [case], ["baseline", "full"], tmp_path / "out", progress=False,
                       embedding="draft")
    base, full = result.row("demo", "baseline"), result.row("demo", "full")
    assert base["status"] == full["status"] == "ok"
    assert full["landmark_error"] < 0.75 * base["landmark_error"], (full["landmark_error"], base["landmark_error"])
    assert full["PSNR"] > base["PSNR"] + 3.0
    assert full["ID"] < base["ID"] + 0.02
    assert full["ID"] < 0.6  # dlib's "same person" threshold
