"""Per-frame face analysis of a clip, with frames that have no face filled in.

:func:`track_faces` runs detection + landmarks on every frame (one face per
frame, by default the one nearest the previous frame's face, so a second
person walking in does not steal the track), reports frames without a face and
either fills their landmarks by linear interpolation between the nearest
frames with a face (default) or fails with an error naming the frames.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from video2stylegan.errors import InvalidOptionError, NoFaceError
from video2stylegan.io.images import as_rgb_uint8
from video2stylegan.faces.detection import (
    Face,
    FaceChoice,
    _detect_auto,
    choose_face,
    detect_faces,
    landmarks_in_box,
    redetect_near,
)

log = logging.getLogger(__name__)

ON_MISSING = ("interpolate", "fail")


@dataclass
class VideoFaces:
    """One face per frame of a clip.

    ``landmarks``: ``(T, 68, 2)``; ``boxes``: ``(T, 4)``; ``scores``: ``(T,)``
    (``nan`` where interpolated); ``detected``: ``(T,)`` bool, False where the
    frame had no face and its values were interpolated; ``missing``: the
    indices of those frames; ``shape``: ``(H, W)`` of the frames.
    """

    landmarks: np.ndarray
    boxes: np.ndarray
    scores: np.ndarray
    detected: np.ndarray
    shape: tuple[int, int]
    source: str | None = None
    missing: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.landmarks)

    def face(self, index: int) -> Face:
        """Frame ``index``'s face as a :class:`Face`."""
        return Face(
            box=self.boxes[index],
            landmarks=self.landmarks[index],
            score=float(self.scores[index]),
            interpolated=not bool(self.detected[index]),
        )


def _interpolate(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Linearly fill rows of ``values`` where ``known`` is False (hold the ends)."""
    t = np.arange(len(values))
    flat = values.reshape(len(values), -1).copy()
    for j in range(flat.shape[1]):
        flat[~known, j] = np.interp(t[~known], t[known], flat[known, j])
    return flat.reshape(values.shape)


def track_faces(
    frames: Iterable[np.ndarray],
    *,
    choose: FaceChoice = "previous",
    detector: str = "hog",
    upsample: int | str = "auto",
    on_missing: str = "interpolate",
    source: str | os.PathLike | None = None,
    progress: bool = True,
    total: int | None = None,
    recover: bool = True,
) -> VideoFaces:
    """Detect one face and its landmarks in every frame.

    ``frames``: an iterable of ``(H, W, 3)`` RGB frames (a ``(T, H, W, 3)``
    array, a list, or :func:`video2stylegan.io.iter_frames`). ``choose``:
    ``"previous"`` (default: nearest to the previous frame's face; the first
    frame takes the largest), ``"largest"``, or an index. ``on_missing``:
    ``"interpolate"`` (frames without a face get landmarks interpolated from
    the nearest frames with one; logged as a warning) or ``"fail"``
    (:class:`NoFaceError` naming the frames). A clip where no frame has a face
    always fails. ``upsample="auto"`` applies :func:`detect_faces`' policy
    until the first face is found and then keeps that level for the clip.
    ``recover``: when a frame has no face, look again near the previous
    frame's face at a lowered threshold and neighbouring levels
    (:func:`~video2stylegan.faces.detection.redetect_near`) before calling it
    missing. ``source`` names the clip in messages. ``progress`` shows a tqdm bar.
    """
    if on_missing not in ON_MISSING:
        raise InvalidOptionError(f"on_missing must be one of {ON_MISSING}, got {on_missing!r}")
    from tqdm.auto import tqdm

    name = str(source) if source is not None else "the video"
    if total is None and hasattr(frames, "__len__"):
        total = len(frames)  # type: ignore[arg-type]
    faces: list[Face | None] = []
    previous: Face | None = None
    recovered = 0
    short: list[int] = []  # frames with faces, but fewer than an index ``choose`` needs
    most = 0  # the most faces found in one frame
    shape = None
    bar = tqdm(frames, total=total, desc="faces", unit="frame", disable=not progress, leave=False)
    for index, frame in enumerate(bar):
        frame = as_rgb_uint8(frame, f"frame {index} of {name}")
        if shape is None:
            shape = frame.shape[:2]
        if upsample == "auto":
            # Until a face is found, frames get the single-image policy; then
            # the clip keeps the level that found it (no per-frame retries,
            # which would make every faceless frame several times slower).
            boxes, level = _detect_auto(np.ascontiguousarray(frame), detector)
            found = [
                Face(box=b, landmarks=landmarks_in_box(frame, b), score=sc, detector=detector)
                for b, sc in boxes
            ]
            found.sort(key=lambda f: -f.area)
            if found:
                upsample = level
        else:
            found = detect_faces(frame, detector=detector, upsample=upsample)
        if not found and previous is not None and recover and upsample != "auto":
            boxes = redetect_near(frame, previous, detector, int(upsample))
            found = [
                Face(box=b, landmarks=landmarks_in_box(frame, b), score=sc, detector=detector)
                for b, sc in boxes
            ]
            recovered += bool(found)
        if not found:
            faces.append(None)
            continue
        most = max(most, len(found))
        if _is_index(choose) and not -len(found) <= choose < len(found):
            # An index beyond this frame's faces: the frame is treated as faceless, and the
            # messages below say that it had faces, just too few.
            short.append(index)
            faces.append(None)
            continue
        face = choose_face(found, choose, previous, source=name, frame=index)
        faces.append(face)
        previous = face
    if not faces:
        raise NoFaceError(f"{name} has no frames; give a video with at least one frame.")
    missing = [i for i, f in enumerate(faces) if f is None]
    if recovered:
        log.info("%s: %d frame(s) recovered by searching near the previous face", name, recovered)
    if len(missing) == len(faces) and short:
        raise NoFaceError(
            f"face index {choose} (--face) requested but at most {most} face(s) found in any of the "
            f"{len(faces)} frames of {name}; use an index from 0 to {most - 1} (0 = largest)."
        )
    if len(missing) == len(faces):
        raise NoFaceError(
            f"no face found in any of the {len(faces)} frames of {name}; use a clip where a face "
            "is visible and at least about 40 pixels wide, or try detector='cnn'."
        )
    if missing:
        listed = _ranges(missing)
        # frames that had faces, only fewer than the index asks for, are said to be so
        why = "" if not short else (
            f"; {len(short)} of them (frames {_ranges(short)}) show fewer than the {_needed(choose)} faces "
            f"face index {choose} (--face) needs"
        )
        if on_missing == "fail":
            raise NoFaceError(
                f"no face found in {len(missing)} of {len(faces)} frames of {name} (frames {listed}{why}); "
                "pass on_missing='interpolate' to fill them from neighbouring frames, or trim the clip."
            )
        log.warning(
            "%s: no face in %d of %d frames (frames %s%s); their landmarks are interpolated",
            name, len(missing), len(faces), listed, why,
        )
    known = np.array([f is not None for f in faces])
    lms = np.zeros((len(faces), 68, 2))
    boxes = np.zeros((len(faces), 4))
    scores = np.full(len(faces), np.nan)
    for i, f in enumerate(faces):
        if f is not None:
            lms[i], boxes[i], scores[i] = f.landmarks, f.box, f.score
    if missing:
        lms = _interpolate(lms, known)
        boxes = _interpolate(boxes, known)
    return VideoFaces(
        landmarks=lms,
        boxes=boxes,
        scores=scores,
        detected=known,
        shape=tuple(int(v) for v in shape),
        source=str(source) if source is not None else None,
        missing=missing,
    )


def _is_index(choose) -> bool:
    return isinstance(choose, (int, np.integer)) and not isinstance(choose, bool)


def _needed(index: int) -> int:
    """How many faces a frame must show for face ``index`` to exist (``-1``: one, ``2``: three)."""
    return -int(index) if index < 0 else int(index) + 1


def _ranges(indices: list[int], limit: int = 12) -> str:
    """``[1, 2, 3, 7]`` -> ``"1-3, 7"`` (shortened after ``limit`` groups)."""
    groups = []
    start = prev = indices[0]
    for i in indices[1:]:
        if i == prev + 1:
            prev = i
            continue
        groups.append((start, prev))
        start = prev = i
    groups.append((start, prev))
    text = [f"{a}" if a == b else f"{a}-{b}" for a, b in groups[:limit]]
    if len(groups) > limit:
        text.append(f"... ({len(groups) - limit} more)")
    return ", ".join(text)


def track_video(
    path: str | os.PathLike,
    *,
    max_frames: int | None = None,
    **kwargs,
) -> VideoFaces:
    """:func:`track_faces` over a video file (streamed; see that function for options)."""
    from video2stylegan.io.video import iter_frames, probe_video

    path = Path(path)
    info = probe_video(path)
    total = info.num_frames if max_frames is None else min(info.num_frames, max_frames)
    kwargs.setdefault("source", path)
    return track_faces(iter_frames(path, max_frames=max_frames), total=total, **kwargs)
