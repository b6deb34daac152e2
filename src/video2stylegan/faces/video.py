"""Per-frame face analysis of a clip, with frames that have no face filled in.

:func:`track_faces` runs detection + landmarks on every frame (one face per
frame, by default the one nearest the previous frame's face, so a second
person walking in does not steal the track), reports frames without a face and
either fills their landmarks by linear interpolation between the nearest
frames with a face (default) or fails with an error naming the frames.

Real clips add three things (:mod:`video2stylegan.faces.shots`):

* **cuts**: the frames that start a new shot (picture change plus face jump,
  :func:`~video2stylegan.faces.shots.find_cuts`). Nothing is carried across a
  cut: missing frames are filled within their shot, and smoothing of the track
  (:meth:`VideoFaces.smooth`, :func:`~video2stylegan.faces.temporal.temporal_mean`) runs shot by shot.
* **partial** frames: the face's landmark box leaves the frame by more than
  :data:`PARTIAL_MARGIN` of its size; dlib still places 68 points, but those
  outside the picture are guesses. A run of frames without a face next to a
  partial frame is partial too (the face went on out of the picture).
  :meth:`VideoFaces.interpolate_partial` replaces any per-frame values of a
  partial stretch by a straight line from the last fully visible frame before
  it to the first one after it, within the shot (:meth:`VideoFaces.steady_landmarks`
  for the landmarks).
* **identity**: with several faces in a frame (``choose="previous"``), the one
  followed is the same person as the face followed so far (dlib's 128-D
  descriptor, :mod:`video2stylegan.faces.identity`), then the nearest in
  position; size never decides after the first frame. A clip with several
  faces logs one notice saying how many and which is followed.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Iterable

import numpy as np
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError, NoFaceError
from video2stylegan.io.images import as_rgb_uint8
from video2stylegan.io.video import iter_frames, probe_video
from video2stylegan.faces import shots
from video2stylegan.faces.detection import (
    DETECTORS,
    Face,
    FaceChoice,
    _auto_upsample,
    _detect_boxes,
    choose_face,
    detect_faces,
    landmarks_in_box,
    no_face_advice,
    redetect_near,
    smallest_face,
)
from video2stylegan.faces.identity import (
    SAME_PERSON_THRESHOLD,
    face_descriptor,
    face_descriptors,
    identity_distance,
)
from video2stylegan.faces.temporal import temporal_mean, wrap_angle

log = logging.getLogger(__name__)

ON_MISSING = ("interpolate", "fail")

#: A face whose detected landmark box reaches beyond the frame by more than this fraction of the box's
#: side is partial. Measured with two synthetic heads slid out of a 128 px frame in 6 px steps: dlib
#: pulls its points inside the picture (a box truly 0.21 outside is detected 0.06 outside), and the
#: landmark error (mean, in face sizes) stays at the in-frame 0.03-0.045 up to 0.026 detected outside,
#: then grows: 0.049 at 0.042, 0.066 at 0.059, 0.051 at 0.11 (against 0.030 in frame); not found past
#: 0.3 truly outside.
PARTIAL_MARGIN = 0.03
#: A lone face this many face sizes from the previous one, and not the same person, is not followed.
IDENTITY_CHECK_DISTANCE = 1.0
#: Weight of the position (in face sizes) against the identity distance when choosing among faces.
POSITION_WEIGHT = 0.1
#: With ``upsample="auto"``, a clip tracked at a raised upsampling level comes back down one level once the
#: face's box is this many times the smallest face the lower level finds (:func:`smallest_face`): a face
#: that only just fits the lower level stays at the raised one, so the level does not flip every frame.
#: Measured with the drawn face on a 640x600 canvas: at level 0 HOG finds its boxes down to 72-86 px
#: (by position) and misses those of 62 px; the level-1 boxes of the same faces are up to 14 % narrower.
UPSAMPLE_DOWN_HEADROOM = 1.5


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
    #: first frames of new shots (empty: one shot)
    cuts: list[int] = field(default_factory=list)
    #: ``(T,)`` bool, True where the face leaves the frame by more than :data:`PARTIAL_MARGIN`, and in the
    #: frames without a face next to those (the face has left the picture there)
    partial: np.ndarray | None = None
    #: the most faces found in one frame
    most_faces: int = 1

    def __len__(self) -> int:
        return len(self.landmarks)

    @property
    def partial_frames(self) -> list[int]:
        """Indices of the partial frames."""
        return [] if self.partial is None else [int(i) for i in np.flatnonzero(self.partial)]

    @property
    def shots(self) -> list[tuple[int, int]]:
        """``[(start, stop), ...]`` half-open frame ranges of the shots."""
        return shots.segments(len(self), self.cuts)

    def steady_landmarks(self) -> np.ndarray:
        """``(T, 68, 2)`` landmarks with partial frames replaced by interpolation between the
        fully visible frames of their shot (held at a shot's ends); unchanged where a shot has
        no fully visible frame (:meth:`interpolate_partial`)."""
        return self.interpolate_partial(self.landmarks)

    def interpolate_partial(self, values: np.ndarray, angle_columns=()) -> np.ndarray:
        """Per-frame ``values`` (frames first, any shape after) with the rows of the partial frames
        replaced: within each shot, a partial stretch goes linearly from the last fully visible frame
        before it to the first one after it (held where only one side exists); a shot without a fully
        visible frame keeps its values. ``angle_columns``: columns of 2-D ``values`` that are angles in
        radians, interpolated the short way round and returned in (-pi, pi]."""
        out = np.array(values, np.float64)
        if len(out) != len(self):
            raise InvalidOptionError(f"got {len(out)} rows of values for a track of {len(self)} frames")
        if self.partial is None or not self.partial.any():
            return out
        columns = list(angle_columns)
        for a, b in self.shots:
            visible = ~self.partial[a:b]
            if visible.any() and not visible.all():
                part = out[a:b].copy()
                if columns:
                    part[:, columns] = np.unwrap(part[:, columns], axis=0)
                part = _interpolate(part, visible)
                if columns:
                    part[:, columns] = wrap_angle(part[:, columns])
                out[a:b][~visible] = part[~visible]  # the visible rows stay exactly as they were
        return out

    def smooth(self, values: np.ndarray, window: int) -> np.ndarray:
        """Centred mean of per-frame ``values`` over ``window`` frames, shot by shot (:func:`temporal_mean`)."""
        return temporal_mean(values, window, cuts=self.cuts)

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


def outside_fraction(landmarks: np.ndarray, shape: tuple[int, int]) -> float:
    """How far the landmarks' bounding box reaches beyond the frame, in units of its side (0 inside)."""
    h, w = shape[:2]
    x0, y0 = landmarks.min(axis=0)
    x1, y1 = landmarks.max(axis=0)
    side = max(np.sqrt(max(x1 - x0, 1e-6) * max(y1 - y0, 1e-6)), 1e-6)
    beyond = max(0.0, -0.5 - x0, -0.5 - y0, x1 - (w - 0.5), y1 - (h - 0.5))
    return float(beyond / side)


class _Identity:
    """The followed person's descriptor, and the choice among several faces by identity then position."""

    def __init__(self):
        self._first: tuple[np.ndarray, Face] | None = None
        self._reference: np.ndarray | None = None

    def remember(self, frame: np.ndarray, face: Face) -> None:
        """Keep the first face followed (its descriptor is computed only once a choice needs it,
        so a clip with one face never loads the descriptor network)."""
        if self._first is None:
            self._first = (frame.copy(), face)

    @property
    def reference(self) -> np.ndarray:
        if self._reference is None:
            self._reference = face_descriptor(*self._first)
        return self._reference

    def distances(self, frame: np.ndarray, found: list[Face]) -> np.ndarray:
        vecs = face_descriptors([frame] * len(found), found)
        return np.asarray(identity_distance(vecs, self.reference[None]))

    def choose(self, frame: np.ndarray, found: list[Face], previous: Face, cut: bool) -> Face | None:
        """The face of the same person (position breaks ties); ``None`` for a lone face that is
        another person far from the previous one (the followed person left)."""
        shift = np.array([np.linalg.norm(f.center - previous.center) / max(previous.size, 1e-6) for f in found])
        if len(found) == 1 and (cut or shift[0] <= IDENTITY_CHECK_DISTANCE):
            return found[0]
        d = self.distances(frame, found)
        same = d < SAME_PERSON_THRESHOLD
        if not same.any():
            if len(found) == 1:
                return None
            return found[int(np.argmin(shift))]
        score = np.where(same, d + POSITION_WEIGHT * (0.0 if cut else 1.0) * shift, np.inf)
        return found[int(np.argmin(score))]


@dataclass(frozen=True)
class TrackOptions:
    """How :func:`track_faces` finds and follows the face (see there): ``choose``, ``detector``,
    ``upsample``, ``on_missing`` and ``recover``. The detector and ``on_missing`` are checked here."""

    choose: FaceChoice = "previous"
    detector: str = "hog"
    upsample: int | str = "auto"
    on_missing: str = "interpolate"
    recover: bool = True

    def __post_init__(self):
        if self.on_missing not in ON_MISSING:
            raise InvalidOptionError(f"on_missing must be one of {ON_MISSING}, got {self.on_missing!r}")
        if self.detector not in DETECTORS:
            raise InvalidOptionError(f"detector must be one of {DETECTORS}, got {self.detector!r}")


_TRACK_SETTINGS = tuple(f.name for f in fields(TrackOptions))


def track_faces(
    frames: Iterable[np.ndarray],
    options: TrackOptions | None = None,
    *,
    source: str | os.PathLike | None = None,
    progress: bool = True,
    total: int | None = None,
    **settings,
) -> VideoFaces:
    """Detect one face and its landmarks in every frame.

    ``frames``: an iterable of ``(H, W, 3)`` RGB frames (a ``(T, H, W, 3)``
    array, a list, or :func:`video2stylegan.io.iter_frames`). The options come as a
    :class:`TrackOptions`, or by name (``track_faces(frames, upsample=1)``; names given
    override ``options``' fields):

    ``choose``: ``"previous"`` (default: nearest to the previous frame's face; the first
    frame takes the largest), ``"largest"``, or an index. ``on_missing``:
    ``"interpolate"`` (frames without a face get landmarks interpolated from
    the nearest frames with one; logged as a warning) or ``"fail"``
    (:class:`NoFaceError` naming the frames). A clip where no frame has a face
    always fails. ``upsample="auto"``: the clip starts at :func:`detect_faces`' level for its frame
    size (1 up to 512 px, else 0) and, in a frame where the face is not found there (nor near the
    previous face), tries the level above (as far as that policy's retry: one more doubling, in frames
    up to 2048 px); when that finds the face the clip stays there, so a face that gets smaller stays
    tracked, and once the face's box is :data:`UPSAMPLE_DOWN_HEADROOM` times what the lower level
    finds it comes back down. A frame whose face is found at the current level costs one detection,
    as before; a frame without a face pays for every level, as the frames before the first face did.
    ``recover``: when a frame has no face, look again near the previous
    frame's face at a lowered threshold and neighbouring levels
    (:func:`~video2stylegan.faces.detection.redetect_near`) before calling it
    missing. ``source`` names the clip in messages. ``progress`` shows a tqdm bar
    (of ``total`` frames, by default ``len(frames)`` where there is one).
    With ``"previous"``, several faces in a frame are told apart by identity, then
    position (module doc). The result carries the shot ``cuts`` and the ``partial``
    frames; missing frames are filled within their shot.
    """
    unknown = sorted(set(settings) - set(_TRACK_SETTINGS))
    if unknown:
        raise TypeError(f"track_faces() got unexpected keyword argument(s) {unknown}; options are {_TRACK_SETTINGS}")
    options = replace(options if options is not None else TrackOptions(), **settings)
    name = str(source) if source is not None else "the video"
    if total is None and hasattr(frames, "__len__"):
        total = len(frames)  # type: ignore[arg-type]
    bar = tqdm(frames, total=total, desc="faces", unit="frame", disable=not progress, leave=False)
    found = _detect_clip(bar, options, name)
    missing = _check_missing(found, options, name)
    return _track_of(found, missing, options.choose, name, source)


class _Finder:
    """The faces of each frame: a full-frame detection, the search near the previous face after a miss,
    and with ``upsample="auto"`` the clip's upsampling level, raised where a face is found only above it
    and lowered once the followed face is large again (:func:`track_faces`)."""

    def __init__(self, options: TrackOptions):
        self.detector, self.upsample, self.recover = options.detector, options.upsample, options.recover
        self.auto = options.upsample == "auto"
        self.level = self.floor = self.top = None  # with "auto": the upsampling level of the next frame, and its range
        self.recovered = 0  # frames found only near the previous face

    def find(self, frame: np.ndarray, previous: Face | None) -> list[Face]:
        """The faces of ``frame``, largest first (empty: none at any level tried)."""
        if self.auto:
            if self.level is None:  # the single-image policy's levels, from the frame size (the same for every frame)
                self.floor = self.level = _auto_upsample(frame)
                self.top = self.floor + int(max(frame.shape[:2]) <= 2048)
            found = _faces_at(frame, self.detector, self.level)
        else:
            found = detect_faces(frame, detector=self.detector, upsample=self.upsample)
        if not found and previous is not None and self.recover:
            near = redetect_near(frame, previous, self.detector, self.level if self.auto else int(self.upsample))
            found = _faces_of(frame, near, self.detector)
            self.recovered += bool(found)
        if self.auto and not found:
            found = self._climb(frame)
        return found

    def _climb(self, frame: np.ndarray) -> list[Face]:
        """The face may have shrunk below this level's reach: the levels above, and the clip stays at the
        one that finds it; a frame without any face (every level tried, as the frames before the first
        face always were) leaves the level as it was."""
        start = self.level
        found: list[Face] = []
        while not found and self.level < self.top:
            self.level += 1
            found = _faces_at(frame, self.detector, self.level)
        self.level = self.level if found else start
        return found

    def followed(self, face: Face) -> None:
        """``face`` is followed in this frame: a face large again is found at the cheaper level."""
        if self.auto and self.level > self.floor and (
            face.box[2] - face.box[0] >= UPSAMPLE_DOWN_HEADROOM * smallest_face(self.level - 1)
        ):
            self.level -= 1


class _Follower:
    """The face followed in each frame (``choose``), and what the clip's messages say about the choice."""

    def __init__(self, choose: FaceChoice, name: str):
        self.choose, self.name = choose, name
        self.identity = _Identity()
        self.previous: Face | None = None
        self.most = 0  # the most faces found in one frame
        self.short: list[int] = []  # frames with faces, but fewer than an index ``choose`` needs
        self.several: list[int] = []  # frames with more than one face

    def pick(self, frame: np.ndarray, found: list[Face], index: int, possible_cut: bool) -> Face | None:
        """The face followed among ``found`` (not empty); ``None`` where none is (the frame counts as faceless)."""
        choose = self.choose
        self.most = max(self.most, len(found))
        if _is_index(choose) and not -len(found) <= choose < len(found):
            # An index beyond this frame's faces: the frame is treated as faceless, and the
            # messages say that it had faces, just too few.
            self.short.append(index)
            return None
        if len(found) > 1:
            self.several.append(index)
        if choose == "previous" and self.previous is not None:
            face = self.identity.choose(frame, found, self.previous, possible_cut)
            if face is None:
                return None
        else:
            face = choose_face(found, choose, self.previous, source=self.name, frame=index)
        if choose == "previous":
            self.identity.remember(frame, face)  # once: the first face followed is the person
        self.previous = face
        return face


class _PictureChanges:
    """How much the picture changes from frame to frame (:func:`shots.picture_change`), for the cuts."""

    def __init__(self):
        self.signature = None
        self.histogram: list[float] = [0.0]
        self.pixels: list[float] = [0.0]
        self.possible_cut = False

    def add(self, frame: np.ndarray) -> bool:
        """Note ``frame``'s change from the one before; whether the picture alone says a cut may be here
        (position then says nothing about who is who)."""
        current = shots.frame_signature(frame)
        if self.signature is not None:
            hc, pc = shots.picture_change(self.signature, current)
            self.histogram.append(hc)
            self.pixels.append(pc)
            self.possible_cut = hc >= shots.CUT_HISTOGRAM or pc >= shots.CUT_PIXELS
        self.signature = current
        return self.possible_cut


@dataclass
class _Found:
    """What the pass over the frames found: the face followed per frame (``None``: none), the frames'
    shape, the choice's record, the picture changes, and how many frames the search near the previous
    face recovered."""

    faces: list[Face | None]
    shape: tuple[int, int] | None
    follower: _Follower
    changes: _PictureChanges
    recovered: int


def _detect_clip(frames: Iterable[np.ndarray], options: TrackOptions, name: str) -> _Found:
    """One pass over the frames: find the faces, choose the one followed."""
    finder = _Finder(options)
    follower = _Follower(options.choose, name)
    changes = _PictureChanges()
    faces: list[Face | None] = []
    shape = None
    for index, frame in enumerate(frames):
        frame = as_rgb_uint8(frame, f"frame {index} of {name}")
        if shape is None:
            shape = frame.shape[:2]
        possible_cut = changes.add(frame)
        found = finder.find(frame, follower.previous)
        face = follower.pick(frame, found, index, possible_cut) if found else None
        if face is not None:
            finder.followed(face)
        faces.append(face)
    return _Found(faces, shape, follower, changes, finder.recovered)


def _check_missing(found: _Found, options: TrackOptions, name: str) -> list[int]:
    """The frames without a face; :class:`NoFaceError` for a clip without frames, without any face, or
    (``on_missing="fail"``) with frames without one, else a warning naming them."""
    faces, follower, choose = found.faces, found.follower, options.choose
    if not faces:
        raise NoFaceError(f"{name} has no frames; give a video with at least one frame.")
    missing = [i for i, f in enumerate(faces) if f is None]
    if found.recovered:
        log.info("%s: %d frame(s) recovered by searching near the previous face", name, found.recovered)
    if len(missing) == len(faces) and follower.short:
        raise NoFaceError(
            f"face index {choose} (--face) requested but at most {follower.most} face(s) found in any of the "
            f"{len(faces)} frames of {name}; use an index from 0 to {follower.most - 1} (0 = largest)."
        )
    if len(missing) == len(faces):
        raise NoFaceError(
            f"no face found in any of the {len(faces)} frames of {name}; "
            + no_face_advice(options.upsample).replace("use an image", "use a clip")
        )
    if missing:
        listed = _ranges(missing)
        short = follower.short
        # frames that had faces, only fewer than the index asks for, are said to be so
        why = "" if not short else (
            f"; {len(short)} of them (frames {_ranges(short)}) show fewer than the {_needed(choose)} faces "
            f"face index {choose} (--face) needs"
        )
        if options.on_missing == "fail":
            raise NoFaceError(
                f"no face found in {len(missing)} of {len(faces)} frames of {name} (frames {listed}{why}); "
                "use --missing-faces interpolate to fill them from neighbouring frames, or trim the clip."
            )
        log.warning(
            "%s: no face in %d of %d frames (frames %s%s); their landmarks are interpolated",
            name, len(missing), len(faces), listed, why,
        )
    return missing


def _track_of(found: _Found, missing: list[int], choose: FaceChoice, name: str, source) -> VideoFaces:
    """The :class:`VideoFaces` of the faces found: cuts, partial frames, missing frames filled per shot."""
    faces, shape = found.faces, found.shape
    known = np.array([f is not None for f in faces])
    lms = np.zeros((len(faces), 68, 2))
    boxes = np.zeros((len(faces), 4))
    scores = np.full(len(faces), np.nan)
    for i, f in enumerate(faces):
        if f is not None:
            lms[i], boxes[i], scores[i] = f.landmarks, f.box, f.score
    changes = found.changes
    cuts = shots.find_cuts(np.array(changes.histogram), np.array(changes.pixels), shots.face_jumps(lms, known))
    cuts = shots.bridge_gaps(cuts, lms, known)
    if cuts:
        log.info("%s: %d shot cut(s), at frame(s) %s; the track is smoothed shot by shot", name, len(cuts),
                 _ranges(cuts))
    partial = np.array([f is not None and outside_fraction(f.landmarks, shape) > PARTIAL_MARGIN for f in faces])
    partial = _lost_at_the_border(partial, known, cuts)
    if partial.any():
        log.info("%s: the face leaves the frame in %d frame(s) (%s); their values are interpolated between the "
                 "fully visible frames around them",
                 name, int(partial.sum()), _ranges([int(i) for i in np.flatnonzero(partial)]))
    _note_several(found, choose, name)
    if missing:
        # within its shot; a shot without any face (a black frame between shots) joins the next one
        for a, b in _fill_groups(shots.segments(len(faces), cuts), known):
            lms[a:b] = _interpolate(lms[a:b], known[a:b])
            boxes[a:b] = _interpolate(boxes[a:b], known[a:b])
    return VideoFaces(
        landmarks=lms,
        boxes=boxes,
        scores=scores,
        detected=known,
        shape=tuple(int(v) for v in shape),
        source=str(source) if source is not None else None,
        missing=missing,
        cuts=cuts,
        partial=partial,
        most_faces=max(found.follower.most, 1),
    )


def _note_several(found: _Found, choose: FaceChoice, name: str) -> None:
    """One warning for a clip with several faces in a frame (``choose="previous"``): which one is followed."""
    follower, faces = found.follower, found.faces
    if follower.several and choose == "previous":
        first = next(f for f in faces if f is not None)
        log.warning(
            "%s: up to %d faces in a frame (%d of %d frames show several); following one person, the face "
            "at x=%.0f, y=%.0f px in frame %d, by identity and position",
            name, follower.most, len(follower.several), len(faces), *first.center, faces.index(first),
        )


def _lost_at_the_border(partial: np.ndarray, known: np.ndarray, cuts) -> np.ndarray:
    """``partial`` with the frames without a face that follow or precede a partial frame in their shot
    (a run of them) marked partial too: the face left the picture there, and the landmarks they would
    be filled with come from the partial frames' guesses."""
    out = partial.copy()
    for a, b in shots.segments(len(partial), cuts):
        j = a
        while j < b:
            if known[j]:
                j += 1
                continue
            k = j
            while k < b and not known[k]:
                k += 1
            if (j > a and partial[j - 1]) or (k < b and partial[k]):
                out[j:k] = True
            j = k
    return out


def _faces_of(frame: np.ndarray, boxes, detector: str) -> list[Face]:
    """Faces with their landmarks from raw detections ``[(box, score), ...]``, largest box first."""
    found = [Face(box=b, landmarks=landmarks_in_box(frame, b), score=sc, detector=detector) for b, sc in boxes]
    found.sort(key=lambda f: -f.area)
    return found


def _faces_at(frame: np.ndarray, detector: str, level: int) -> list[Face]:
    """The faces of ``frame`` found at one upsampling ``level``, largest first."""
    return _faces_of(frame, _detect_boxes(np.ascontiguousarray(frame), detector, level), detector)


def _fill_groups(segments: list[tuple[int, int]], known: np.ndarray) -> list[tuple[int, int]]:
    """Shots merged so that each group has a frame with a face: a faceless shot joins the next
    (the last one, the previous)."""
    groups: list[list[int]] = []
    pending = None
    for a, b in segments:
        start = a if pending is None else pending
        if known[a:b].any():
            groups.append([start, b])
            pending = None
        else:
            pending = start
    if pending is not None:
        groups[-1][1] = len(known)
    return [tuple(g) for g in groups]


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
    path = Path(path)
    info = probe_video(path)
    total = info.num_frames if max_frames is None else min(info.num_frames, max_frames)
    kwargs.setdefault("source", path)
    return track_faces(iter_frames(path, max_frames=max_frames), total=total, **kwargs)
