"""The reenactment's inputs: the source portrait and the driving clips, found and aligned.

:func:`load_source` reads a portrait (file or array), finds its face and crops
it the FFHQ way at the generator's resolution. :func:`load_clip` reads a video,
tracks one face through it, aligns every frame with temporally smoothed crops
and measures the canonical parameters ``(tx, ty, r)`` (Eq. 4-5) of every frame.

Canonical parameters of a clip are measured in the coordinates of the clip's
**first aligned crop** (**choice**): the paper measures them in the driving
frame itself, which ties the motion's size to how large the face is in that
video; in the crop's coordinates a turn of the head or a step sideways moves the
generated face by the same amount relative to its size, whatever the video's
framing. For a video that is already a face crop the two agree.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from video2stylegan import faces
from video2stylegan.errors import MediaError, NoFaceError
from video2stylegan.io.images import as_rgb_uint8, check_image, read_image
from video2stylegan.method.cache import file_sha256
from video2stylegan.networks.transforms import from_uint8_images

__all__ = ["SourceFace", "DrivingClip", "check_inputs", "load_source", "load_clip", "array_sha256"]


def array_sha256(array: np.ndarray) -> str:
    """Hex SHA-256 of an array's shape and bytes (the cache key of in-memory inputs)."""
    a = np.ascontiguousarray(array)
    h = hashlib.sha256(str((a.shape, a.dtype.str)).encode())
    h.update(a.tobytes())
    return h.hexdigest()


@dataclass
class SourceFace:
    """The reference portrait: full ``image``, its ``face``, the FFHQ crop ``aligned``
    (an :class:`~video2stylegan.faces.AlignedFace` at the generator's resolution),
    ``name`` (file name or ``"array"``) and ``sha256`` (cache key)."""

    image: np.ndarray
    face: faces.Face
    aligned: faces.AlignedFace
    name: str
    sha256: str

    @property
    def target(self) -> torch.Tensor:
        """The aligned crop as ``[1, 3, R, R]`` in [-1, 1]."""
        return from_uint8_images(self.aligned.image)

    @property
    def canonical(self) -> np.ndarray:
        """``(tx, ty, r)`` of the face in its own aligned crop (close to 0 by construction)."""
        return faces.canonical_params(self.aligned.landmarks, self.aligned.image.shape[:2]).as_array()


def check_inputs(source, driving, co_driving=None, *, max_frames: int | None = None) -> None:
    """Check every input file of a run in one pass, before anything slow (a network) is loaded.

    ``source``: an image file (decoded once: :func:`~video2stylegan.io.images.check_image`) or
    an array (checked when aligned); ``driving`` and ``co_driving``: video files, probed with
    :func:`~video2stylegan.io.video.check_video` (every packet read, only the first frame
    decoded); ``max_frames`` of the driving clip is all a truncated driving file must hold.
    Every bad input is reported, in one :class:`MediaError` whose line names each file and
    its role, so a run with a broken clip fails in seconds rather than after the network loaded.
    """
    from video2stylegan.io.video import check_video

    problems = []
    checks = [(check_image, source, "source image", {})] if isinstance(source, (str, os.PathLike)) else []
    checks += [(check_video, driving, "driving video", {"max_frames": max_frames})]
    if co_driving is not None:
        checks.append((check_video, co_driving, "co-driving video", {}))
    for check, path, what, options in checks:
        try:
            check(path, what, **options)
        except MediaError as exc:
            problems.append(str(exc))
    if problems:
        raise MediaError(" | ".join(problems))


def load_source(source, resolution: int, *, detector: str = "hog") -> SourceFace:
    """Read and align the reference portrait (a path or an ``(H, W, 3)`` RGB array).

    Raises :class:`NoFaceError` naming the file when it shows no face, and
    :class:`MediaError` when it cannot be read.
    """
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        image = read_image(path)
        name, digest = str(path), file_sha256(path)
    else:
        image = as_rgb_uint8(source, "source image")
        name, digest = "array", array_sha256(image)
    try:
        face = faces.detect_face(image, "largest", detector=detector, source=name)
    except NoFaceError as exc:
        raise NoFaceError(
            f"{exc} The source portrait must show one face, reasonably frontal and at least about 80 px wide."
        ) from None
    aligned = faces.align_face(image, face, resolution)
    return SourceFace(image=image, face=face, aligned=aligned, name=name, sha256=digest)


@dataclass
class DrivingClip:
    """A driving (or co-driving) clip: ``frames`` ``(T, h, w, 3)`` uint8 previews, ``fps``, the
    per-frame ``tracks`` (:class:`~video2stylegan.faces.VideoFaces`), ``aligned`` crops at
    the generator's resolution, and ``canonical`` ``(T, 3)`` parameters (module doc)."""

    frames: np.ndarray
    fps: float
    tracks: faces.VideoFaces
    aligned: list[faces.AlignedFace]
    canonical: np.ndarray
    name: str
    sha256: str
    audio_path: Path | None = None
    missing: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def aligned_images(self) -> np.ndarray:
        """``(T, R, R, 3)`` uint8 aligned crops."""
        return np.stack([a.image for a in self.aligned])

    def targets(self, indices=None) -> torch.Tensor:
        """Aligned crops ``[T, 3, R, R]`` in [-1, 1] (all frames, or ``indices``)."""
        crops = self.aligned if indices is None else [self.aligned[i] for i in indices]
        return from_uint8_images(np.stack([a.image for a in crops]))


def clip_canonical_params(aligned: list[faces.AlignedFace], landmarks: np.ndarray) -> np.ndarray:
    """``(T, 3)`` canonical parameters of every frame's landmarks, in the first crop's coordinates."""
    first = aligned[0]
    shape = first.image.shape[:2]
    return np.stack([faces.canonical_params(first.to_aligned(lm), shape).as_array() for lm in landmarks])


def load_clip(
    video,
    resolution: int,
    *,
    max_frames: int | None = None,
    role: str = "driving",
    on_missing: str = "interpolate",
    detector: str = "hog",
    smooth: int = 3,
    preview_height: int | None = None,
    progress: bool = True,
) -> DrivingClip:
    """Read a video file, track its face and align its frames at ``resolution``.

    Two streamed passes over the file (tracking, then alignment), so memory
    holds the aligned crops and small previews, never the full-size frames:
    ``frames`` of the result are the frames scaled to ``preview_height``
    rows (default ``resolution``), for side-by-side output.
    ``on_missing``: frames without a detectable face get landmarks interpolated
    from their neighbours (``"interpolate"``, logged) or fail the run
    (``"fail"``, :class:`NoFaceError` naming the frames). A clip in which no
    frame shows a face always fails. ``role`` only names the clip in messages.
    """
    from video2stylegan.io.video import iter_frames, probe_video
    from video2stylegan.pipeline.output import fit_height

    path = Path(video)
    info = probe_video(path)  # MediaError for missing / unreadable files
    if info.num_frames == 0:
        raise MediaError(f"the {role} video {path} has no frames that could be decoded")
    try:
        tracks = faces.track_faces(iter_frames(path, max_frames=max_frames), on_missing=on_missing,
                                   detector=detector, source=path, progress=progress,
                                   total=min(info.num_frames, max_frames or info.num_frames))
    except NoFaceError as exc:
        raise NoFaceError(f"{role} video: {exc}") from None
    quads = faces.smooth_quads(np.stack([faces.ffhq_quad(lm) for lm in tracks.landmarks]), smooth)
    aligned, previews = [], []
    for j, frame in enumerate(iter_frames(path, max_frames=len(tracks))):
        aligned.append(faces.align_face(frame, tracks.landmarks[j], resolution, quad=quads[j]))
        previews.append(fit_height(frame, preview_height or resolution))
    if len(aligned) != len(tracks):
        raise MediaError(f"the {role} video {path} gave {len(aligned)} frames on a second read, {len(tracks)} on the first")
    return DrivingClip(
        frames=np.stack(previews),
        fps=float(info.fps),
        tracks=tracks,
        aligned=aligned,
        canonical=clip_canonical_params(aligned, tracks.landmarks),
        name=str(path),
        sha256=file_sha256(path),
        audio_path=path if info.has_audio else None,
        missing=list(tracks.missing),
    )
