"""Evaluation metrics for reenacted videos (see ``docs/metrics.md``).

Always available (no downloads): keypoint motion distance dK and per-frame
landmark distance, expression errors (mouth opening, eye openness), identity
distance ID (dlib), PSNR and SSIM. Needing pretrained weights (reported as
:class:`MetricUnavailable` with the reason when absent): LPIPS, FID, FVD.

    from video2stylegan.metrics import evaluate_video
    report = evaluate_video("result.mp4", "driving.mp4", source="portrait.jpg")
    print(report.to_markdown()); report.to_json("scores.json")
"""

from video2stylegan.metrics.evaluate import METRICS, EvaluationReport, evaluate_video
from video2stylegan.metrics.identity import identity_distances, reference_descriptor
from video2stylegan.metrics.image import psnr, ssim
from video2stylegan.metrics.landmarks import (
    expression_errors,
    eye_openness,
    face_scale,
    keypoint_motion_distance,
    landmark_distance,
    mouth_opening,
    similarity_align,
)
from video2stylegan.metrics.learned import (
    LPIPS,
    MetricUnavailable,
    fid,
    fid_from_features,
    frechet_distance,
    fvd,
    gaussian_stats,
    load_i3d,
    load_inception,
    load_lpips,
    video_clips,
)

__all__ = [
    "EvaluationReport",
    "LPIPS",
    "METRICS",
    "MetricUnavailable",
    "evaluate_video",
    "expression_errors",
    "eye_openness",
    "face_scale",
    "fid",
    "fid_from_features",
    "frechet_distance",
    "fvd",
    "gaussian_stats",
    "identity_distances",
    "keypoint_motion_distance",
    "landmark_distance",
    "load_i3d",
    "load_inception",
    "load_lpips",
    "mouth_opening",
    "psnr",
    "reference_descriptor",
    "similarity_align",
    "ssim",
    "video_clips",
]
