"""Rendering talking clips with ground truth, and writing them as MP4."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.outputs import check_output, check_outputs_differ
from video2stylegan.io.video import check_fps, write_video
from video2stylegan.synthetic.params import HeadParams, Identity, sample_params
from video2stylegan.synthetic.renderer import Render, render
from video2stylegan.synthetic.trajectory import Trajectory, talking_trajectory

#: ``head_motion`` of :func:`synth_video`: 0 is a still head, 1 the default; by 3 the pose spends most of the
#: clip clipped at :meth:`Pose.bounds <video2stylegan.synthetic.params.Pose.bounds>`.
HEAD_MOTION_RANGE = (0.0, 3.0)
#: Seeds of :func:`synth_video`: one 32-bit word.
SEED_RANGE = (0, 2**32 - 1)


def identity_from_seed(seed: int) -> Identity:
    """The identity of ``sample_params(seed)``: one seed names one person everywhere."""
    return sample_params(int(seed)).identity


def render_clip(identity: Identity, trajectory: Trajectory, size: int = 256, supersample: int = 2) -> Iterator[Render]:
    """Render ``trajectory`` on ``identity`` frame by frame (lazily)."""
    for i in range(len(trajectory)):
        yield render(trajectory.params(identity, i), size, supersample)


@dataclass
class ClipTruth:
    """Ground truth of a rendered clip, as saved by :func:`write_clip`."""

    landmarks: np.ndarray  # (T, 68, 2) pixel coordinates
    visible: np.ndarray  # (T, 68) bool
    params: np.ndarray  # (T, HeadParams.size()) flat parameter vectors
    fps: float

    def save(self, path: str | os.PathLike) -> None:
        np.savez_compressed(
            path,
            landmarks=self.landmarks.astype(np.float32),
            visible=self.visible,
            params=self.params.astype(np.float64),
            fps=np.float64(self.fps),
            param_names=np.array(HeadParams.names()),
        )

    @classmethod
    def load(cls, path: str | os.PathLike) -> "ClipTruth":
        with np.load(path) as z:
            return cls(z["landmarks"], z["visible"], z["params"], float(z["fps"]))


def write_clip(
    out: str | os.PathLike,
    identity: Identity,
    trajectory: Trajectory,
    size: int = 256,
    supersample: int = 2,
    ground_truth: str | os.PathLike | None = None,
    crf: int = 18,
) -> ClipTruth:
    """Render ``trajectory`` on ``identity`` into the MP4 ``out``; return (and optionally save) the truth."""
    landmarks, visible, params = [], [], []

    def frames():
        for r in render_clip(identity, trajectory, size, supersample):
            landmarks.append(r.landmarks)
            visible.append(r.visible)
            params.append(r.params.to_vector())
            yield r.image

    write_video(Path(out), frames(), trajectory.fps, crf=crf)
    truth = ClipTruth(np.stack(landmarks), np.stack(visible), np.stack(params), trajectory.fps)
    if ground_truth is not None:
        truth.save(ground_truth)
    return truth


def synth_video(
    out: str | os.PathLike,
    frames: int = 100,
    seed: int = 0,
    size: int = 256,
    fps: float = 25.0,
    identity_seed: int | None = None,
    ground_truth: str | os.PathLike | None = None,
    head_motion: float = 1.0,
) -> ClipTruth:
    """What ``video2stylegan synth-video`` does.

    The trajectory comes from ``seed``; the person from ``identity_seed``
    (default: ``seed``). Two calls with the same ``seed`` and different
    ``identity_seed`` render the same motion on two people: a driving clip and
    the ground truth of reenacting the other person with it.

    ``out`` must end in ``.mp4`` (the clip is always H.264 in MP4; an ``.avi`` name held MP4 data),
    ``head_motion`` lie in :data:`HEAD_MOTION_RANGE` and the seeds in :data:`SEED_RANGE`; anything else
    is refused with :class:`InvalidOptionError` before a file is written.
    """
    if frames < 1:
        raise InvalidOptionError(f"--frames must be at least 1, got {frames}.")
    if not 16 <= size <= 2048:
        raise InvalidOptionError(f"--size must be between 16 and 2048 pixels, got {size}.")
    if Path(out).suffix.lower() != ".mp4":
        raise InvalidOptionError(f"--out must name an .mp4 file (the clip is written as MP4), got {out}.")
    low, high = HEAD_MOTION_RANGE
    if not low <= float(head_motion) <= high:  # False for nan too
        raise InvalidOptionError(f"--head-motion must be a number from {low:g} to {high:g}, got {head_motion!r}.")
    for name, value in (("--seed", seed), ("--identity-seed", identity_seed)):
        if value is not None and not SEED_RANGE[0] <= int(value) <= SEED_RANGE[1]:
            raise InvalidOptionError(f"{name} must be an integer from 0 to 2**32 - 1, got {value!r}.")
    fps = check_fps(fps, "fps")
    # before rendering: both files writable, and the second would not replace the first
    check_outputs_differ({"out": out, "ground_truth": ground_truth})
    check_output(out, what="out")
    if ground_truth is not None:
        check_output(ground_truth, what="ground_truth")
    trajectory = talking_trajectory(frames, fps, seed, head_motion)
    identity = identity_from_seed(seed if identity_seed is None else identity_seed)
    return write_clip(out, identity, trajectory, size, ground_truth=ground_truth)
