"""The ground-truth benchmark: cases, variants, scores with known answers, and a quick
run on a tiny untrained network (files, CSV layout, the ground-truth row as the floor)."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.evaluation.suite import (
    CALIBRATION_FREE_VARIANTS,
    VARIANTS,
    CaseTruth,
    SuiteCase,
    default_suite,
    read_truth,
    render_case,
    run_suite,
    score_frames,
    suite_budget,
)
from video2stylegan.evaluation.suite_result import GROUND_TRUTH, METRIC_COLUMNS
from video2stylegan.method.config import ReenactConfig
from video2stylegan.metrics.identity import reference_descriptor
from video2stylegan.metrics.landmarks import mouth_opening
from video2stylegan.pipeline.embedding import EmbeddingOptions
from video2stylegan.synthetic.clips import identity_from_seed
from video2stylegan.synthetic.params import Expression, HeadParams, Pose
from video2stylegan.synthetic.renderer import render


@pytest.fixture(scope="module")
def suite_run(tmp_path_factory, tiny_G):
    """The quick suite on an untrained 64 px network with tiny budgets, plus a variant that cannot run."""
    G = tiny_G
    budget = EmbeddingOptions(source_steps=3, pti_steps=2, first_frame_steps=3, frame_steps=1, perceptual="fallback")
    variants = {**CALIBRATION_FREE_VARIANTS, "broken": {"method": "nonsense"}}
    out = tmp_path_factory.mktemp("suite")
    lines = []
    result = run_suite(G.eval().requires_grad_(False), default_suite(quick=True), variants, out, embedding=budget,
                       device="cpu", progress=False, echo=lines.append)
    return result, out, lines


@pytest.fixture(scope="module")
def small_case(tmp_path_factory):
    return render_case(SuiteCase("small", 7, 2, 101, frames=5, size=128), tmp_path_factory.mktemp("case"))


def test_default_and_quick_suites_are_fixed():
    quick = default_suite(quick=True)
    assert [(c.name, c.frames, c.size) for c in quick] == [("demo", 6, 128)]
    full = default_suite()
    assert [(c.frames, c.size) for c in full] == [(24, 256)] * 2
    assert len({(c.source_seed, c.driving_seed, c.motion_seed) for c in full}) == 2
    assert default_suite() == full  # same seeds every call
    np.testing.assert_array_equal(full[0].trajectory().expression, default_suite()[0].trajectory().expression)
    assert [c.frames for c in default_suite(frames=10, size=192)] == [10, 10]
    assert (suite_budget(), suite_budget(quick=True)) == ("fast", "draft")  # the demo's budget; CI's
    third = default_suite(cases=["pair-3"])
    assert [(c.name, c.source_seed, c.driving_seed, c.motion_seed, c.frames) for c in third] == [("pair-3", 5, 13, 404, 24)]
    assert [c.name for c in default_suite(cases=["pair-3", "demo"])] == ["demo", "pair-3"]  # the fixed order
    with pytest.raises(InvalidOptionError, match="pair-9.*the cases are: demo, pair-2, pair-3"):
        default_suite(cases=["pair-9"])
    with pytest.raises(InvalidOptionError, match="differ"):
        SuiteCase("x", 3, 3, 1)
    with pytest.raises(InvalidOptionError, match="at least 3 frames"):
        SuiteCase("x", 3, 4, 1, frames=2)


def test_variants_are_table5():
    def cfg(name):
        return ReenactConfig(**VARIANTS[name])

    assert cfg("baseline").method == "baseline"
    local = cfg("local only")
    assert (local.use_local, local.use_residual, local.use_pose, local.use_canonical) == (True, False, False, False)
    bl = cfg("baseline+local")
    assert (bl.use_local, bl.use_residual, bl.use_pose, bl.use_canonical) == (True, True, False, False)
    assert cfg("full") == ReenactConfig()
    assert not any("," in name for name in VARIANTS)  # --variants takes a comma-separated list
    for name in CALIBRATION_FREE_VARIANTS:
        c = cfg(name)
        assert c.method == "baseline" or not (c.use_pose or c.use_local)


def test_relative_truth_starts_at_the_portrait_and_moves_like_the_driver():
    case = default_suite()[0]
    assert case.truth == "relative"
    rel, drv = case.truth_trajectory(), case.trajectory()
    np.testing.assert_allclose(rel.pose[0], case.source_params().pose.to_vector())
    assert np.abs(drv.pose[0, :3]).max() > 1.0  # the driver does not start frontal
    np.testing.assert_allclose(rel.pose[:, :3] - rel.pose[:1, :3], drv.pose[:, :3] - drv.pose[:1, :3], atol=1e-9)
    absolute = default_suite(truth="absolute")[0]
    np.testing.assert_array_equal(absolute.truth_trajectory().pose, drv.pose)
    with pytest.raises(InvalidOptionError, match="truth must be one of"):
        SuiteCase("x", 3, 4, 1, truth="both")


def test_ground_truth_scores_as_the_floor_and_wrong_results_score_worse(small_case):
    d = small_case
    assert d.truth_frames.shape == (5, 128, 128, 3) and d.driving_frames.shape == (5, 128, 128, 3)
    assert not np.array_equal(d.truth_frames, d.driving_frames)  # two different people
    desc = reference_descriptor(d.source_image)
    reading = read_truth(d.truth_frames)
    assert reading.descriptors.shape == (5, 128) and reading.landmarks.shape == (5, 68, 2)
    truth = CaseTruth(d.truth_frames, d.truth_landmarks, d.driving_landmarks, d.truth_visible, desc, reading)
    exact = score_frames(d.truth_frames, truth)
    s = exact.summary()
    assert np.isinf(exact.per_frame["PSNR"]).all() and s["PSNR"] == float("inf")
    np.testing.assert_allclose(exact.per_frame["SSIM"], 1.0)
    assert s["landmark_error"] < 0.08  # dlib against the renderer's exact points: the floor
    assert s["ID"] < 0.45 and exact.missing_faces == 0
    np.testing.assert_allclose(exact.per_frame["ID_gt"], 0.0, atol=1e-9)  # found like a result: the same faces
    np.testing.assert_allclose(exact.per_frame["mouth_error"], 0.0, atol=1e-12)
    assert np.isnan(exact.per_frame["dK"][0]) and np.isfinite(exact.per_frame["dK"][1:]).all()
    # the suite's ground-truth row passes the reading it has already instead of reading the frames again
    given = score_frames(d.truth_frames, truth, reading=reading)
    for name, values in exact.per_frame.items():
        np.testing.assert_array_equal(given.per_frame[name], values, err_msg=name)

    # shifted 6 px right: the landmark error grows by about 6 px / eye distance
    no_id = CaseTruth(d.truth_frames, d.truth_landmarks, d.driving_landmarks, d.truth_visible)
    # (ID is not what these two test; skipping it saves time)
    shifted = np.roll(d.truth_frames, 6, axis=2)
    moved = score_frames(shifted, no_id).summary()
    assert np.isnan(moved["ID"])
    eye = float(np.median(np.linalg.norm(d.truth_landmarks[:, 45] - d.truth_landmarks[:, 36], axis=-1)))
    assert moved["landmark_error"] > s["landmark_error"] + 0.6 * 6 / eye
    assert moved["PSNR"] < 30 and moved["SSIM"] < 0.95
    # drifting 4 px right per frame: motion the driving clip does not have, so dK grows by about 4 px / eye
    drifting = np.stack([np.roll(f, 4 * t, axis=1) for t, f in enumerate(d.truth_frames)])
    drift = score_frames(drifting, no_id).summary()
    assert drift["dK"] > s["dK"] + 0.6 * 4 / eye
    # the driving person in place of the source: a larger identity distance
    other = score_frames(d.driving_frames, truth).summary()
    assert other["ID"] > s["ID"] + 0.1
    # ... also against the ground-truth frame, where the pose is the same: two people, not one
    assert other["ID_gt"] > 0.3


def test_score_frames_rejects_mismatched_shapes(small_case):
    d = small_case
    truth = CaseTruth(d.truth_frames, d.truth_landmarks, d.driving_landmarks)
    with pytest.raises(InvalidOptionError, match="shape"):
        score_frames(d.truth_frames[:, :64], truth)
    with pytest.raises(InvalidOptionError, match="one entry per result frame"):
        score_frames(d.truth_frames, CaseTruth(d.truth_frames, d.truth_landmarks[:4], d.driving_landmarks))


def test_quick_suite_writes_every_file(suite_run):
    result, out, lines = suite_run
    for name in ("results.csv", "frames.csv", "results.md", "report.html", "bars.png", "timing.png",
                 "curves_demo.png", "demo/source.png", "demo/driving.mp4", "demo/ground_truth.mp4",
                 "demo/baseline.mp4", "demo/full_without_pose_local.mp4"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "bars.png").read_bytes().startswith(b"\x89PNG")
    assert any("broken skipped" in line for line in lines)
    assert not [p.name for p in out.iterdir() if p.name.startswith("cache")]  # the run's own cache is removed


def test_quick_suite_csv_and_rows(suite_run):
    result, out, _ = suite_run
    with open(out / "results.csv") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header[:4] == ["case", "variant", "status", "frames"]
    assert header[4 : 4 + len(METRIC_COLUMNS)] == list(METRIC_COLUMNS) and header[-1] == "reason"
    assert {"s_per_frame_embed_source", "s_per_frame_render", "s_per_frame_total", "s_per_frame_score"} <= set(header)
    assert [r["variant"] for r in rows] == [GROUND_TRUTH, "baseline", "full without pose/local", "broken"]
    gt, base, full, broken = rows
    assert gt["PSNR"] == "inf" and float(gt["SSIM"]) == 1.0 and float(gt["landmark_error"]) < 0.08
    assert float(gt["ID_gt"]) == 0.0  # the truth is its own ID_gt reference
    assert broken["status"] == "skipped" and "method" in broken["reason"] and broken["PSNR"] == ""
    for r in (base, full):
        assert r["status"] == "ok" and r["frames"] == "6"
        assert 5 < float(r["PSNR"]) < 25  # an untrained network is far from the answer
        assert float(r["SSIM"]) < 0.9
        assert float(r["s_per_frame_total"]) > 0 and float(r["embed_psnr"]) > 5
    with open(out / "frames.csv") as f:
        per_frame = list(csv.DictReader(f))
    assert len(per_frame) == 3 * 6  # the skipped variant has no frames
    means = result.means()
    assert set(means) == {GROUND_TRUTH, "baseline", "full without pose/local"}
    assert means["baseline"]["PSNR"] == pytest.approx(float(base["PSNR"]), rel=1e-5)


def test_quick_suite_markdown_and_html(suite_run):
    result, out, _ = suite_run
    md = (out / "results.md").read_text()
    assert "| ground truth |" in md and "| baseline |" in md and "skipped: " in md
    html = (out / "report.html").read_text()
    # 3 plots + a strip of 6 sampled frames?  no: 4 rows x (reference, driving, 3 variants, ground truth)
    # with the skipped variant's cells empty
    assert html.count("data:image/png;base64,") == 3 + 4 * 5
    assert f"{result.row('demo', 'baseline')['PSNR']:.4g}" in html
    # paired differences to the baseline: one row per case and variant that ran, the skipped one left out
    diffs = result.differences()
    assert [(c, v) for c, v, _ in diffs] == [("demo", "full without pose/local")]
    psnr = diffs[0][2]["PSNR"]
    pf = result.per_frame
    expected = np.mean(pf[("demo", "full without pose/local")]["PSNR"] - pf[("demo", "baseline")]["PSNR"])
    assert psnr.mean == pytest.approx(expected) and psnr.low <= psnr.mean <= psnr.high and psnr.frames == 6
    assert "## Differences to the baseline" in md and psnr.format(2) in md and "Differences to the baseline" in html


def test_mouth_error_sees_the_mouth_but_not_the_position():
    """mouth_error: a closed mouth against an open-mouthed truth scores about the gap of the
    exact mouth ratios; the same mouth shifted scores 0 while the landmark error grows."""
    person = identity_from_seed(7)

    def clip(mouth_open):
        r = render(HeadParams(person, Expression(mouth_open=mouth_open), Pose()), 160, supersample=2)
        return np.stack([r.image] * 3), np.stack([r.landmarks] * 3)

    frames, lms = clip(0.8)
    closed, closed_lms = clip(0.0)
    truth = CaseTruth(frames, lms, lms, reading=read_truth(frames))
    exact = score_frames(frames, truth).summary()
    shifted = score_frames(np.roll(frames, 5, axis=2), truth).summary()
    assert shifted["mouth_error"] < 0.04 and shifted["landmark_error"] > exact["landmark_error"] + 0.03
    gap = float(np.abs(mouth_opening(lms) - mouth_opening(closed_lms)).mean())  # 0.26 exact
    wrong = score_frames(closed, truth).summary()
    assert gap > 0.2 and wrong["mouth_error"] == pytest.approx(gap, rel=0.3)
    assert np.isnan(score_frames(closed, CaseTruth(frames, lms, lms)).summary()["mouth_error"])  # no reading, no score
