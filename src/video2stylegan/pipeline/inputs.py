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
import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from video2stylegan import faces
from video2stylegan.errors import MediaError, NoFaceError
from video2stylegan.faces.shots import segments
from video2stylegan.io.images import as_rgb_uint8, check_image, read_image
from video2stylegan.io.video import FrameSpool, check_video, iter_frames, probe_video
from video2stylegan.method.cache import file_sha256, source_id
from video2stylegan.networks.transforms import from_uint8_images
from video2stylegan.pipeline.output import fit_height

__all__ = ["AlignedCrops", "SourceFace", "DrivingClip", "Faces", "check_inputs", "load_source", "load_clip",
           "array_sha256", "tracked_face", "truncate_clip"]

log = logging.getLogger(__name__)


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


#: File suffixes taken for still images when given as a driving or co-driving clip.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def is_image_file(path) -> bool:
    """Whether ``path`` names a still image (by its suffix)."""
    return isinstance(path, (str, os.PathLike)) and Path(path).suffix.lower() in IMAGE_SUFFIXES


def check_inputs(source, driving, co_driving=None, *, max_frames: int | None = None, source_face=None,
                 detector: str = "hog", upsample: int | str = "auto") -> None:
    """Check every input file of a run in one pass, before anything slow (a network) is loaded.

    ``source``: an image file (decoded once: :func:`~video2stylegan.io.images.check_image`) or
    an array (checked when aligned); ``driving`` and ``co_driving``: video files, probed with
    :func:`~video2stylegan.io.video.check_video` (every packet read, only the first frame
    decoded); ``max_frames`` of the driving clip is all a truncated driving file must hold. A still
    image given as a clip is checked as an image and accepted as one frame, with a logged notice.
    Every bad input is reported, in one :class:`MediaError` whose line names each file and
    its role, so a run with a broken clip fails in seconds rather than after the network loaded.

    ``source_face`` (``"largest"`` or an index, ``--source-face``; ``None``: not checked) with
    ``detector`` and ``upsample``: once the files are sound, the portrait's faces are detected (once:
    :func:`load_source` with the same options reuses them) and a portrait without a face, or without
    the face of that index, fails here with :func:`load_source`'s :class:`NoFaceError` (how many faces
    were found, the valid indices), not after the network loaded.
    """
    problems = []
    checks = [(check_image, source, "source image", {})] if isinstance(source, (str, os.PathLike)) else []
    for clip, role, options in ((driving, "driving", {"max_frames": max_frames}), (co_driving, "co-driving", {})):
        if clip is None:
            continue
        if is_image_file(clip):
            # a still is a clip of one frame (FFmpeg reads it so); said once, since it brings no motion
            log.warning("--%s %s is an image: it is used as a clip of one frame (no motion to transfer); "
                        "give a video to reenact motion", role, clip)
            checks.append((check_image, clip, f"{role} image", {}))
        else:
            checks.append((check_video, clip, f"{role} video", options))
    for check, path, what, options in checks:
        try:
            check(path, what, **options)
        except MediaError as exc:
            problems.append(str(exc))
    if problems:
        raise MediaError(" | ".join(problems))
    if source_face is not None:
        image, name, digest = _read_portrait(source)
        _choose_source_face(_portrait_faces(image, digest, detector, upsample), source_face, name, upsample)


def _read_portrait(source) -> tuple[np.ndarray, str, str]:
    """``(image, name, sha256)`` of the portrait (a path or an RGB array)."""
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return read_image(path), str(path), file_sha256(path)
    image = as_rgb_uint8(source, "source image")
    return image, "array", array_sha256(image)


#: The portrait's faces last detected, keyed by ``(sha256, detector, upsample)``: :func:`check_inputs`
#: finds them before the network loads and :func:`load_source` takes them from here (one entry).
_PORTRAIT_FACES: dict[tuple, list] = {}


def _portrait_faces(image: np.ndarray, digest: str, detector: str, upsample) -> list[faces.Face]:
    """All faces of the portrait, largest first, detected once per image and options."""
    key = (digest, detector, str(upsample))
    found = _PORTRAIT_FACES.get(key)
    if found is None:
        found = faces.detect_faces(image, detector=detector, upsample=upsample)
        _PORTRAIT_FACES.clear()
        _PORTRAIT_FACES[key] = found
    return list(found)


def _choose_source_face(found: list, choose, name: str, upsample) -> faces.Face:
    """The portrait's face ``choose`` among ``found``, or :class:`NoFaceError` naming the portrait."""
    try:
        return faces.choose_face(found, choose, source=name, upsample=upsample, option="--source-face")
    except NoFaceError as exc:
        raise NoFaceError(f"source portrait: {exc}") from None


#: A source face whose landmarks come closer to the image border than this fraction of the face's size
#: (eye-to-mouth distance x 2) is taken to be cut by the border. Measured on ../shared/data/portraits:
#: obama_partial_face.jpg -0.06 (landmarks beyond the border), the eleven full faces 0.20 (tps__source.png,
#: a tight crop) to 1.03.
PARTIAL_FACE_MARGIN = 0.05
#: A source face crop (the FFHQ square in the photo) narrower than this fraction of the generator's
#: resolution is upscaled more than 4x to become the projection's target: warned as low resolution.
LOW_RESOLUTION_FRACTION = 0.25


#: What :func:`load_source` picks and finds by default: a portrait's id in the cache is its hash alone then.
_SOURCE_FACE_DEFAULTS = {"choose": "largest", "detector": "hog", "upsample": "auto"}


def load_source(source, resolution: int, *, choose: int | str = _SOURCE_FACE_DEFAULTS["choose"],
                detector: str = _SOURCE_FACE_DEFAULTS["detector"],
                upsample: int | str = _SOURCE_FACE_DEFAULTS["upsample"]) -> SourceFace:
    """Read and align the reference portrait (a path or an ``(H, W, 3)`` RGB array).

    ``choose``: which face when the portrait shows several, ``"largest"`` or an index (0 = largest;
    ``--source-face``); ``detector`` and ``upsample`` as in :func:`~video2stylegan.faces.detect_faces`.
    Logs a warning (one line each) when the portrait shows several faces (how many, which is used),
    when the face is cut by the image border (:data:`PARTIAL_FACE_MARGIN`) and when its crop is
    below :data:`LOW_RESOLUTION_FRACTION` of ``resolution``. Raises :class:`NoFaceError` naming the
    file when it shows no face (or not the chosen one), and :class:`MediaError` when it cannot be read.
    """
    image, name, digest = _read_portrait(source)
    found = _portrait_faces(image, digest, detector, upsample)
    face = _choose_source_face(found, choose, name, upsample)
    # the cache key names the face too (when not the defaults): another face of the same photo is another reference
    chosen = {"choose": choose, "detector": detector, "upsample": upsample}
    digest = source_id(digest, None if chosen == _SOURCE_FACE_DEFAULTS else chosen)
    if len(found) > 1:
        index = next(i for i, f in enumerate(found) if f is face)
        log.warning("the source portrait %s shows %d faces; using face %d (0 = largest, at x=%.0f, y=%.0f "
                    "px); pick another with --source-face 0 to %d", name, len(found), index, *face.center,
                    len(found) - 1)
    aligned = faces.align_face(image, face, resolution)
    _warn_partial_face(face, image.shape[:2], name)
    side = float(np.linalg.norm(aligned.quad[1] - aligned.quad[0]))
    if side < LOW_RESOLUTION_FRACTION * resolution:
        log.warning("the source face in %s is %.0f px across its crop, below a quarter of the network's %d px: "
                    "it is upscaled %.1fx and the result will be blurry; use a larger photo of the face",
                    name, side, resolution, resolution / side)
    return SourceFace(image=image, face=face, aligned=aligned, name=name, sha256=digest)


def face_border_margin(face: faces.Face, shape: tuple[int, int]) -> float:
    """Distance of the face's landmarks from the nearest image border, in units of the face's size
    (negative: landmarks beyond the border)."""
    h, w = shape
    lm = face.landmarks
    margin = min(lm[:, 0].min(), lm[:, 1].min(), w - 1 - lm[:, 0].max(), h - 1 - lm[:, 1].max())
    return float(margin / max(face.size, 1e-6))


def _warn_partial_face(face: faces.Face, shape: tuple[int, int], name: str) -> None:
    margin = face_border_margin(face, shape)
    if margin < PARTIAL_FACE_MARGIN:
        log.warning("the source face in %s is cut by the image border (its landmarks reach %.2f face sizes from "
                    "the edge): the missing part is invented by the network; use a photo showing the whole face",
                    name, margin)


class AlignedCrops:
    """A clip's aligned crops as a read-only sequence of :class:`~video2stylegan.faces.AlignedFace`,
    the images held in a :class:`~video2stylegan.io.video.FrameSpool` (on disk) and the geometry
    (matrix, quad, landmarks: a few hundred bytes a frame) in memory, so a long clip's crops do not
    fill the memory. ``crops[j]`` reads frame ``j``'s image back; ``crops[a:b]`` and ``crops[[j, k]]``
    are views sharing the spool; :meth:`images` reads a batch as one ``(n, R, R, 3)`` array."""

    def __init__(self, spool, geometry: list, slots: list[int]):
        self._spool, self._geometry, self._slots = spool, geometry, slots

    @classmethod
    def build(cls, aligned_faces, folder=None) -> "AlignedCrops":
        """Spool the images of ``aligned_faces`` (an iterable, consumed once)."""
        spool, geometry = FrameSpool(folder), []
        for a in aligned_faces:
            spool.append(a.image)
            geometry.append((a.matrix, a.quad, a.landmarks, a.source_shape))
        return cls(spool, geometry, list(range(len(geometry))))

    def __len__(self) -> int:
        return len(self._slots)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            slot = self._slots[index]
            matrix, quad, landmarks, source_shape = self._geometry[slot]
            return faces.AlignedFace(image=self._spool[slot], matrix=matrix, quad=quad, landmarks=landmarks,
                                     source_shape=source_shape)
        slots = self._slots[index] if isinstance(index, slice) else [self._slots[int(j)] for j in index]
        return AlignedCrops(self._spool, self._geometry, slots)

    def __iter__(self):
        for j in range(len(self)):
            yield self[j]

    def slot(self, j: int) -> int:
        """Which stored crop frame ``j`` shows (partial frames show a visible neighbour's)."""
        return self._slots[j]

    def images(self, indices=None) -> np.ndarray:
        """``(n, R, R, 3)`` uint8 crops of ``indices`` (default: all frames)."""
        picks = range(len(self)) if indices is None else indices
        return np.stack([self._spool[self._slots[j]] for j in picks])


#: Frames of the temporal mean over a clip's crop quads (:func:`load_clip`), against jitter of the landmarks.
CROP_SMOOTHING = 3


def tracked_face(tracking: faces.TrackOptions) -> dict | None:
    """What the cache keys say of how a clip's face was found: ``None`` for the defaults, else the face
    chosen and the detector's settings (another face, or other detector settings, give other crops).
    ``on_missing`` changes no crop it lets through, and ``recover`` was never in the keys."""
    default = faces.TrackOptions()
    if (tracking.choose, tracking.detector, tracking.upsample) == (default.choose, default.detector,
                                                                   default.upsample):
        return None
    return {"choose": tracking.choose, "detector": tracking.detector, "upsample": tracking.upsample}


@dataclass
class DrivingClip:
    """A driving (or co-driving) clip: ``frames``, the ``T`` uint8 previews ``(h, w, 3)`` (a
    :class:`~video2stylegan.io.video.FrameSpool` from :func:`load_clip`: on disk, read back per
    frame), ``fps``, the per-frame ``tracks`` (:class:`~video2stylegan.faces.VideoFaces`),
    ``aligned`` crops at the generator's resolution (:class:`AlignedCrops` from :func:`load_clip`,
    images on disk too; a list of :class:`~video2stylegan.faces.AlignedFace` works as well), and
    ``canonical`` ``(T, 3)`` parameters (module doc)."""

    frames: np.ndarray | FrameSpool
    fps: float
    tracks: faces.VideoFaces
    aligned: AlignedCrops
    canonical: np.ndarray
    name: str
    sha256: str
    audio_path: Path | None = None
    missing: list[int] = field(default_factory=list)
    #: first frames of new shots (:mod:`video2stylegan.faces.shots`)
    cuts: list[int] = field(default_factory=list)
    #: frames whose face leaves the picture (:attr:`~video2stylegan.faces.VideoFaces.partial`): their crop
    #: (image and geometry) is the nearest fully visible frame's, since images cannot be interpolated; their
    #: ``canonical`` parameters are interpolated between the fully visible frames around the stretch
    partial: list[int] = field(default_factory=list)
    #: how the face was found and followed (:func:`load_clip`'s ``tracking``; in the frames' cache keys)
    tracking: faces.TrackOptions = field(default_factory=lambda: faces.TrackOptions())
    #: frames of the temporal mean over the crops' quads (:func:`load_clip`'s ``smooth``; in the cache keys)
    smooth: int = CROP_SMOOTHING

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def aligned_images(self) -> np.ndarray:
        """``(T, R, R, 3)`` uint8 aligned crops (all in memory: for short clips)."""
        return self.crops()

    def crops(self, indices=None) -> np.ndarray:
        """``(n, R, R, 3)`` uint8 aligned crops of ``indices`` (default: all frames)."""
        if isinstance(self.aligned, AlignedCrops):
            return self.aligned.images(indices)
        picks = range(len(self.aligned)) if indices is None else indices
        return np.stack([self.aligned[i].image for i in picks])

    def targets(self, indices=None) -> torch.Tensor:
        """Aligned crops ``[T, 3, R, R]`` in [-1, 1] (all frames, or ``indices``; float32, 12 bytes a
        pixel: for a long clip ask for a batch at a time)."""
        return from_uint8_images(self.crops(indices))


def clip_canonical_params(aligned: list[faces.AlignedFace], landmarks: np.ndarray, cuts=()) -> np.ndarray:
    """``(T, 3)`` canonical parameters of every frame's landmarks, in the coordinates of the first
    crop of its shot (``cuts``: first frames of new shots; a close-up after a wide shot measures
    its motion against its own face size)."""
    rows = []
    for a, b in segments(len(landmarks), cuts):
        first = aligned[a]
        shape = first.image.shape[:2]
        rows += [faces.canonical_params(first.to_aligned(lm), shape).as_array() for lm in landmarks[a:b]]
    return np.stack(rows)


def _nearest_visible(partial: np.ndarray, cuts) -> np.ndarray:
    """For every frame, the nearest frame of its shot whose face is fully visible (itself when it is;
    itself too when its shot has none)."""
    index = np.arange(len(partial))
    for a, b in segments(len(partial), cuts):
        visible = np.flatnonzero(~partial[a:b]) + a
        if len(visible):
            for j in np.flatnonzero(partial[a:b]) + a:
                index[j] = visible[np.argmin(np.abs(visible - j))]
    return index


def load_clip(
    video,
    resolution: int,
    tracking: faces.TrackOptions = faces.TrackOptions(),
    *,
    max_frames: int | None = None,
    role: str = "driving",
    smooth: int = CROP_SMOOTHING,
    preview_height: int | None = None,
    progress: bool = True,
) -> DrivingClip:
    """Read a video file, track its face and align its frames at ``resolution``.

    Two streamed passes over the file (tracking, then alignment); the aligned
    crops and the previews go to temporary files as they are made
    (:class:`AlignedCrops`, :class:`~video2stylegan.io.video.FrameSpool`), so
    memory does not grow with the clip's length beyond its landmarks and
    geometry (about 2 KB a frame): ``frames`` of the result are the frames
    scaled to ``preview_height`` rows (default ``resolution``), for
    side-by-side output. ``tracking`` (:class:`~video2stylegan.faces.TrackOptions`): which face, the
    detector, and frames without a detectable face: landmarks interpolated from their neighbours
    (``on_missing="interpolate"``, logged) or the run fails (``"fail"``, :class:`NoFaceError` naming the
    frames). A clip in which no frame shows a face always fails. ``smooth``: frames of the temporal mean
    over the crops' quads. ``role`` only names the clip in messages.
    Partial frames (the face leaves the picture) show the nearest fully visible frame's crop, an
    image being what cannot be interpolated, and their canonical parameters run in a straight line
    between the fully visible frames around the stretch (:attr:`DrivingClip.partial`).
    """
    path = Path(video)
    info = probe_video(path)  # MediaError for missing / unreadable files
    if info.num_frames == 0:
        raise MediaError(f"the {role} video {path} has no frames that could be decoded")
    try:
        tracks = faces.track_faces(iter_frames(path, max_frames=max_frames), tracking, source=path,
                                   progress=progress, total=min(info.num_frames, max_frames or info.num_frames))
    except NoFaceError as exc:
        raise NoFaceError(f"{role} video: {exc}") from None
    # shot by shot, and partial faces replaced by their fully visible neighbours (faces.video)
    steady = tracks.steady_landmarks()
    quads = tracks.smooth(np.stack([faces.ffhq_quad(lm) for lm in steady]), smooth)
    previews = FrameSpool()

    def aligned_frames():
        for j, frame in enumerate(iter_frames(path, max_frames=len(tracks))):
            previews.append(fit_height(frame, preview_height or resolution))
            yield faces.align_face(frame, steady[j], resolution, quad=quads[j])

    aligned = AlignedCrops.build(aligned_frames())
    if len(aligned) != len(tracks):
        raise MediaError(f"the {role} video {path} gave {len(aligned)} frames on a second read, {len(tracks)} on the first")
    partial = tracks.partial if tracks.partial is not None else np.zeros(len(tracks), bool)
    # a partial frame's crop shows part of a face: an image cannot be interpolated, so it shows the nearest
    # fully visible frame's crop (with that crop's geometry); its placement goes in a straight line from the
    # last fully visible frame before the stretch to the first one after it (no jump where the nearest
    # visible frame switches sides)
    aligned = aligned[_nearest_visible(partial, tracks.cuts)]
    canonical = tracks.interpolate_partial(clip_canonical_params(aligned, steady, tracks.cuts), angle_columns=(2,))
    return DrivingClip(
        frames=previews,
        fps=float(info.fps),
        tracks=tracks,
        aligned=aligned,
        canonical=canonical,
        name=str(path),
        sha256=file_sha256(path),
        audio_path=path if info.has_audio else None,
        missing=list(tracks.missing),
        cuts=list(tracks.cuts),
        partial=tracks.partial_frames,
        tracking=tracking,
        smooth=smooth,
    )


def truncate_clip(clip: DrivingClip, length: int) -> DrivingClip:
    """The first ``length`` frames of ``clip`` (its tracks, crops, parameters and frame lists cut to them)."""
    missing = [i for i in clip.missing if i < length]
    cuts = [i for i in clip.cuts if i < length]
    t = clip.tracks
    tracks = replace(t, landmarks=t.landmarks[:length], boxes=t.boxes[:length], scores=t.scores[:length],
                     detected=t.detected[:length], missing=missing, cuts=cuts,
                     partial=None if t.partial is None else t.partial[:length])
    return replace(clip, frames=clip.frames[:length], tracks=tracks, aligned=clip.aligned[:length],
                   canonical=clip.canonical[:length], missing=missing, cuts=cuts,
                   partial=[i for i in clip.partial if i < length])


@dataclass(frozen=True, eq=False)  # holds arrays: compared by identity
class Faces:
    """The faces stage's result: the ``source`` portrait, the ``driving`` clip and the ``co_driving`` clip
    (``None`` when the configuration takes nothing from one), aligned at the generator's resolution."""

    source: SourceFace
    driving: DrivingClip
    co_driving: DrivingClip | None = None
