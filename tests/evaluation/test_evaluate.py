"""evaluate_video on the real clip: itself, a shifted copy, other lengths, reports."""

import json

import numpy as np
import pytest

from tests.evaluation.conftest import DRIFT, SHIFT
from video2stylegan.errors import InvalidOptionError
from video2stylegan.evaluation import evaluate_video
from video2stylegan.metrics import LPIPS, MetricUnavailable, face_scale


def mean_colour(images):
    return np.asarray(images, np.float64).mean(axis=tuple(range(1, np.ndim(images) - 1)))


def identity_lpips():
    return LPIPS(features=lambda x: [x])


def test_a_video_against_itself_scores_perfectly(tracked):
    frames, faces = tracked["driving"]
    report = evaluate_video(
        frames, frames, ground_truth=frames, result_faces=faces, driving_faces=faces,
        lpips_model=identity_lpips(), fid_extractor=mean_colour, progress=False,
    )
    s = report.summary
    for name in ("dK", "dK_image", "LMD", "mouth_error", "eye_error"):
        assert s[name] == 0.0, name
    assert s["LMD_aligned"] < 1e-12
    assert s["PSNR"] == np.inf and s["SSIM"] == pytest.approx(1.0)
    assert s["FID"] == pytest.approx(0, abs=1e-6)
    assert s["LPIPS_temporal"] > 0  # the clip moves
    assert s["LPIPS_temporal_driving"] == s["LPIPS_temporal"]
    step = frames[2:3].astype(np.float64) / 127.5 - 1, frames[1:2].astype(np.float64) / 127.5 - 1
    unit = [f / np.linalg.norm(f, axis=-1, keepdims=True) for f in step]
    assert report.per_frame["LPIPS_temporal"][2] == pytest.approx(((unit[0] - unit[1]) ** 2).sum(-1).mean(), rel=1e-4)
    assert "LPIPS" not in s and "ID" not in s  # no reference image given
    np.testing.assert_allclose(report.per_frame["ID_gt"], 0.0, atol=1e-9)  # each frame is its own ground truth
    assert isinstance(s["FVD"], MetricUnavailable) and "windows" in s["FVD"].reason
    assert np.isnan(report.per_frame["dK"][0]) and len(report.per_frame["dK"]) == len(frames)
    assert report.info["frames"] == len(frames) and report.notes == []


def test_a_shifted_copy_gives_the_shift(tracked):
    frames, faces = tracked["driving"]
    moved, moved_faces = tracked["shifted"]
    report = evaluate_video(moved, frames, result_faces=moved_faces, driving_faces=faces, learned=False, progress=False)
    s = face_scale(faces.landmarks)
    assert report.summary["LMD"] * s == pytest.approx(np.hypot(*SHIFT), rel=0.15)
    assert report.summary["LMD_aligned"] < 0.02
    assert report.summary["dK"] < 0.03
    assert isinstance(report.summary["FID"], MetricUnavailable) and "disabled" in report.summary["FID"].reason


def test_smoothing_lowers_the_jitter_of_a_shifted_copy_but_keeps_a_drift(tracked):
    frames, faces = tracked["driving"]
    kw = dict(driving_faces=faces, learned=False, progress=False)
    raw = evaluate_video(tracked["shifted"][0], frames, result_faces=tracked["shifted"][1], **kw)
    smooth = evaluate_video(tracked["shifted"][0], frames, result_faces=tracked["shifted"][1], smooth=3, **kw)
    drift = evaluate_video(tracked["drifting"][0], frames, result_faces=tracked["drifting"][1], smooth=3, **kw)
    assert smooth.summary["dK"] < 0.6 * raw.summary["dK"]
    assert smooth.summary["LMD"] == raw.summary["LMD"]  # smoothing is for dK only
    assert drift.summary["dK"] == pytest.approx(DRIFT / face_scale(faces.landmarks), rel=0.25)
    assert any("smoothed over 3 frames" in n for n in smooth.notes)


def test_identity_against_the_source_and_another_person(tracked, shared_data):
    frames, faces = tracked["driving"]
    own = evaluate_video(frames[:3], frames[:3], frames[0], result_faces=faces, driving_faces=faces, learned=False, progress=False)
    other = evaluate_video(
        frames[:3], frames[:3], shared_data / "portraits" / "face_recognition__obama.jpg",
        result_faces=faces, driving_faces=faces, learned=False, progress=False, id_stride=2,
    )
    assert own.per_frame["ID"][0] == pytest.approx(0, abs=1e-9)
    assert own.summary["ID"] < 0.3
    assert other.summary["ID"] > 0.6
    assert np.isnan(other.per_frame["ID"][1]) and any("every 2th" in n for n in other.notes)


def test_identity_to_the_ground_truth_frames(tracked, shared_data):
    """ID_gt (AED-like): small against the same person shifted, large against someone else."""
    from video2stylegan.io import read_image

    frames, faces = tracked["driving"]
    shifted, shifted_faces = tracked["shifted"]
    kw = dict(result_faces=faces, driving_faces=faces, learned=False, progress=False)
    same = evaluate_video(frames[:3], frames[:3], ground_truth=shifted[:3], ground_truth_faces=shifted_faces, **kw)
    assert same.summary["ID_gt"] < 0.2
    obama = read_image(shared_data / "portraits" / "face_recognition__obama.jpg")
    other = evaluate_video(frames[:3], frames[:3], ground_truth=np.stack([obama] * 3), id_stride=2, **kw)
    assert other.summary["ID_gt"] > 0.6 and np.isnan(other.per_frame["ID_gt"][1])


def test_different_lengths_compare_the_common_prefix_and_say_so(tracked):
    frames, faces = tracked["driving"]
    report = evaluate_video(frames[:5], frames, result_faces=faces, driving_faces=faces, learned=False, progress=False)
    assert report.info["frames"] == 5 and len(report.per_frame["LMD_aligned"]) == 5
    assert any("first 5 frames" in n for n in report.notes)


def test_missing_faces_are_counted(tracked):
    frames, faces = tracked["driving"]
    blanked = frames.copy()
    blanked[2] = 0
    report = evaluate_video(blanked[:4], frames[:4], driving_faces=faces, learned=False, progress=False)
    assert report.info["result_missing_faces"] == 1
    assert any("1 of 4 result frames had no detected face" in n for n in report.notes)
    assert np.isfinite(report.per_frame["LMD_aligned"]).all()


def test_report_formats(tracked, tmp_path):
    frames, faces = tracked["driving"]
    report = evaluate_video(frames[:4], frames[:4], result_faces=faces, driving_faces=faces, progress=False)
    data = json.loads(report.to_json(tmp_path / "r.json"))
    assert data == json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["dK"] == {"available": True, "value": 0.0, "unit": "face scale", "better": "lower"}
    fvd = data["summary"]["FVD"]
    assert fvd["available"] is False and "value" not in fvd and fvd["reason"]
    assert data["per_frame"]["dK"][0] is None and len(data["per_frame"]["dK"]) == 4
    rows = report.to_csv(tmp_path / "r.csv").splitlines()
    assert rows[0].startswith("frame,dK,dK_image,LMD_aligned") and len(rows) == 5
    assert rows[1].split(",")[1] == "" and rows[2].split(",")[1] == "0"
    md = report.to_markdown()
    assert "| dK | 0 | face scale |" in md and "unavailable:" in md


def test_bad_inputs_are_clear_errors(tracked):
    frames, _ = tracked["driving"]
    with pytest.raises(InvalidOptionError, match="uint8"):
        evaluate_video(frames.astype(np.float32), frames, progress=False)
    with pytest.raises(InvalidOptionError, match="smooth"):
        evaluate_video(frames, frames, smooth=0, progress=False)
    with pytest.raises(InvalidOptionError, match="id_stride"):
        evaluate_video(frames, frames, id_stride=0, progress=False)


def test_clip_psnr_comes_from_the_mean_squared_error():
    grey = np.full((4, 16, 16, 3), 100, np.uint8)
    noisy = grey.copy()
    noisy[1:] += 10  # frame 0 identical (inf dB), frames 1-3 off by 10 everywhere
    faces = _fake_faces(4)
    report = evaluate_video(noisy, grey, ground_truth=grey, result_faces=faces, driving_faces=faces, learned=False, progress=False)
    assert report.per_frame["PSNR"][0] == np.inf
    assert report.summary["PSNR"] == pytest.approx(10 * np.log10(255**2 / (0.75 * 100)))
    assert report.summary["SSIM"] < 1
    assert "ID_gt" not in report.summary and any("no face found in the ground truth" in n for n in report.notes)


def _fake_faces(n):
    """Landmarks of one synthetic render, repeated: lets evaluate_video run without face detection."""
    from video2stylegan.faces import VideoFaces
    from video2stylegan.synthetic import HeadParams, render

    lms = np.repeat(render(HeadParams(), 16, supersample=1).landmarks[None], n, axis=0)
    return VideoFaces(landmarks=lms, boxes=np.zeros((n, 4)), scores=np.ones(n), detected=np.ones(n, bool), shape=(16, 16))


def test_a_result_at_twice_the_resolution_has_the_same_motion(tracked):
    import cv2

    frames, faces = tracked["driving"]
    big = np.stack([cv2.resize(f, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) for f in frames[:4]])
    report = evaluate_video(big, frames[:4], ground_truth=frames[:4], driving_faces=faces, learned=False, progress=False)
    s = report.summary
    assert "LMD" not in s  # unaligned positions are not comparable across sizes
    assert s["dK"] < 0.02 and s["LMD_aligned"] < 0.02
    assert report.info["result_face_scale_px"] == pytest.approx(2 * report.info["driving_face_scale_px"], rel=0.03)
    assert s["PSNR"] > 30 and any("ground truth resized" in n for n in report.notes)
