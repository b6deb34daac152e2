"""Pure scoring: arrays or tensors in, numbers out (see ``docs/metrics.md``).

Always available (no downloads): keypoint motion distance dK and per-frame
landmark distance, expression errors (mouth opening, eye openness), identity
distance ID (dlib), PSNR and SSIM. Needing pretrained weights (reported as
:class:`MetricUnavailable` with the reason when absent): LPIPS, FID, FVD.

Reading videos, tracking their faces and putting the scores of a result video
together is the next layer up, :mod:`video2stylegan.evaluation`
(``evaluate_video``, reports, the ground-truth suite).
"""

from video2stylegan.metrics.identity import identity_distances, reference_descriptor
from video2stylegan.metrics.image import psnr, ssim
from video2stylegan.metrics.landmarks import (
    expression_errors,
    eye_openness,
    face_scale,
    keypoint_motion_distance,
    landmark_distance,
    landmark_jitter,
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
from video2stylegan.metrics.summary import clip_mean, clip_psnr, clip_summary

__all__ = [
    "LPIPS",
    "MetricUnavailable",
    "clip_mean",
    "clip_psnr",
    "clip_summary",
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
    "landmark_jitter",
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
