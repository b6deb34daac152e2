"""Face detection, 68-point landmarks and the choice of one face among several.

Built on dlib: the HOG + linear SVM frontal detector (default, fast on CPU) or
the CNN "mmod" detector (more robust to pose and blur, slow without CUDA), and
the iBUG 68-point shape predictor. The dlib objects are loaded once per process
and cached.

Coordinates: landmarks and boxes are in pixels of the input image, ``(x, y)``
with ``x`` to the right and ``y`` down, integer values at pixel centres (the
convention of dlib and OpenCV). Landmark indices follow iBUG 300-W: jaw 0-16,
brows 17-26 (17-21 on the image's left), nose 27-35, eyes 36-41 (image
left) and 42-47 (image right), mouth 48-67 (outer lips 48-59, inner 60-67).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass, field
from typing import Sequence, Union

import numpy as np

from video2stylegan.errors import InvalidOptionError, NoFaceError
from video2stylegan.faces.models import CNN_DETECTOR, LANDMARKS_68, dlib_model_path
from video2stylegan.io.images import as_rgb_uint8

DETECTORS = ("hog", "cnn")
#: Width in pixels of the smallest face dlib's detectors find without upsampling; each doubling of the
#: image (``upsample``) halves it. The one place this threshold is stated: messages and help derive from it.
SMALLEST_FACE_PX = 80
#: Most doublings offered on the command line (``--upsample``): at 3 faces of about 10 px are found,
#: below what 68 landmarks can be placed on, and each doubling costs 4x time and memory (a 512 px image
#: at 3: 2 s and 0.3 GB peak with HOG; 50 ran a minute and then ran out of memory).
UPSAMPLE_MAX = 3

# Index ranges of the iBUG 68-point convention (Python slices).
JAW = slice(0, 17)
BROW_LEFT = slice(17, 22)  # on the image's left (the subject's right brow)
BROW_RIGHT = slice(22, 27)
NOSE = slice(27, 36)
EYE_LEFT = slice(36, 42)  # on the image's left (the subject's right eye)
EYE_RIGHT = slice(42, 48)
MOUTH_OUTER = slice(48, 60)
MOUTH = slice(48, 68)

# A face choice: "largest", "previous" (closest to a given previous face), or
# an index into the faces sorted by decreasing box area.
FaceChoice = Union[str, int]

_lock = threading.Lock()


@dataclass
class Face:
    """One detected face.

    ``box`` is ``(left, top, right, bottom)`` in pixels, ``landmarks`` a
    ``(68, 2)`` float array of ``(x, y)`` pixel positions, ``score`` the
    detector's confidence (HOG: SVM margin, about 0 to 3; CNN: mmod confidence),
    or ``nan`` for a face whose landmarks were interpolated rather than found.
    """

    box: np.ndarray
    landmarks: np.ndarray
    score: float = float("nan")
    detector: str = "hog"
    interpolated: bool = field(default=False)

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float64).reshape(4)
        self.landmarks = np.asarray(self.landmarks, dtype=np.float64).reshape(68, 2)

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))

    @property
    def center(self) -> np.ndarray:
        """Centre of the landmarks, ``(x, y)``."""
        return self.landmarks.mean(axis=0)

    @property
    def size(self) -> float:
        """A face scale in pixels: the distance from the eye centre to the mouth centre times 2."""
        eyes = 0.5 * (self.landmarks[EYE_LEFT].mean(0) + self.landmarks[EYE_RIGHT].mean(0))
        return float(2.0 * np.linalg.norm(self.landmarks[MOUTH].mean(0) - eyes))

    def to_dict(self) -> dict:
        return {
            "box": [round(float(v), 3) for v in self.box],
            "score": None if np.isnan(self.score) else round(float(self.score), 4),
            "detector": self.detector,
            "interpolated": bool(self.interpolated),
            "landmarks": [[round(float(x), 3), round(float(y), 3)] for x, y in self.landmarks],
        }


@functools.lru_cache(maxsize=None)
def _hog_detector():
    import dlib

    return dlib.get_frontal_face_detector()


@functools.lru_cache(maxsize=None)
def _cnn_detector():
    import dlib

    return dlib.cnn_face_detection_model_v1(str(dlib_model_path(CNN_DETECTOR)))


@functools.lru_cache(maxsize=None)
def _predictor_68():
    import dlib

    return dlib.shape_predictor(str(dlib_model_path(LANDMARKS_68)))


def _where(source: str | None, frame: int | None) -> str:
    if source is None and frame is None:
        return "the image"
    if frame is None:
        return str(source)
    if source is None:
        return f"frame {frame}"
    return f"{source}, frame {frame}"


def smallest_face(upsample: int | str = "auto") -> int:
    """About the narrowest face (px) found at ``upsample`` doublings (``"auto"``: at least one doubling in
    images up to 2048 px, see :func:`detect_faces`)."""
    level = 1 if upsample == "auto" else int(upsample)
    return max(1, SMALLEST_FACE_PX >> level)


def no_face_advice(upsample: int | str = "auto") -> str:
    """What to try when no face was found, in command-line spelling (``--upsample``, ``--detector``)."""
    level = 1 if upsample == "auto" else int(upsample)
    more = [f"--upsample {lv} (about {smallest_face(lv)} px)" for lv in range(level + 1, UPSAMPLE_MAX + 1)]
    return (
        f"faces narrower than about {smallest_face(upsample)} px are missed at --upsample {upsample}; "
        "use an image where one face is visible and larger, "
        + (f"try {' or '.join(more)}, " if more else "")
        + "or try --detector cnn."
    )


def _auto_upsample(image: np.ndarray) -> int:
    # dlib finds faces of at least SMALLEST_FACE_PX; one upsampling (x2)
    # reaches half that at 4x the time. Small images (where faces are small)
    # start with it; larger ones start without and retry with it if needed.
    return 1 if max(image.shape[:2]) <= 512 else 0


def _detect_auto(image: np.ndarray, detector: str) -> tuple[list, int]:
    """Detections with the "auto" upsampling policy, and the level that was used."""
    level = _auto_upsample(image)
    found = _detect_boxes(image, detector, level)
    if not found and max(image.shape[:2]) <= 2048:
        level += 1
        found = _detect_boxes(image, detector, level)
    return found, level


def _detect_boxes(
    image: np.ndarray, detector: str, upsample: int, threshold: float = 0.0
) -> list[tuple[np.ndarray, float]]:
    """Raw detections ``[(box, score), ...]`` of one detector at one upsampling level.

    ``threshold`` shifts the HOG detector's decision threshold (negative finds
    more, and more false faces); the CNN ignores it.
    """
    if detector == "hog":
        with _lock:
            rects, scores, _ = _hog_detector().run(image, upsample, threshold)
        return [
            (np.array([r.left(), r.top(), r.right(), r.bottom()], np.float64), float(s))
            for r, s in zip(rects, scores)
        ]
    with _lock:
        dets = _cnn_detector()(image, upsample)
    out = []
    for d in dets:
        r = d.rect
        out.append((np.array([r.left(), r.top(), r.right(), r.bottom()], np.float64), float(d.confidence)))
    return out


def redetect_near(
    image: np.ndarray, previous: Face, detector: str, level: int
) -> list[tuple[np.ndarray, float]]:
    """Look again for a face near ``previous`` after a miss (video frames).

    The HOG detector's margin hovers around its threshold for slightly turned or
    blurred faces, so a talking head is missed in a few frames. Knowing where
    the face was one frame ago, we search only a region of three times its box
    around it, at a lowered threshold (-0.4) and then at the neighbouring
    upsampling levels, and keep detections whose centre lies within half a box
    of the previous one. Returns boxes in full-image pixels.
    """
    h, w = image.shape[:2]
    l, t, r, b = previous.box
    bw, bh = r - l, b - t
    x0, y0 = int(max(0, np.floor(l - bw))), int(max(0, np.floor(t - bh)))
    x1, y1 = int(min(w, np.ceil(r + bw))), int(min(h, np.ceil(b + bh)))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return []
    region = np.ascontiguousarray(image[y0:y1, x0:x1])
    centre = np.array([(l + r) / 2, (t + b) / 2])
    attempts = [(level, -0.4)] if detector == "hog" else []
    attempts += [(lv, 0.0) for lv in (level + 1, level - 1) if 0 <= lv <= 2]
    for lv, thr in attempts:
        found = []
        for box, score in _detect_boxes(region, detector, lv, thr):
            box = box + np.array([x0, y0, x0, y0], np.float64)
            c = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
            if np.linalg.norm(c - centre) <= 0.5 * max(bw, bh):
                found.append((box, score))
        if found:
            return found
    return []


def landmarks_in_box(image: np.ndarray, box: Sequence[float]) -> np.ndarray:
    """The 68 landmarks of the face inside ``box`` (left, top, right, bottom), as ``(68, 2)``."""
    import dlib

    image = as_rgb_uint8(image)
    l, t, r, b = (int(round(v)) for v in box)
    with _lock:
        shape = _predictor_68()(image, dlib.rectangle(l, t, r, b))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def detect_faces(
    image: np.ndarray,
    detector: str = "hog",
    upsample: int | str = "auto",
) -> list[Face]:
    """All faces in an RGB image with their landmarks, largest box first.

    ``detector`` is ``"hog"`` (default) or ``"cnn"``. ``upsample`` is how many
    times dlib doubles the image before detecting (each doubling halves the
    smallest findable face, about :data:`SMALLEST_FACE_PX` at 0, and quadruples the time);
    ``"auto"`` uses 1 for images up to 512 px and 0 above, and retries once
    with one more doubling when nothing was found in an image up to 2048 px.
    """
    if detector not in DETECTORS:
        raise InvalidOptionError(f"detector must be one of {DETECTORS}, got {detector!r}")
    image = as_rgb_uint8(image)
    if upsample == "auto":
        found, _ = _detect_auto(image, detector)
    else:
        if not isinstance(upsample, (int, np.integer)) or upsample < 0:
            raise InvalidOptionError(f"upsample must be 'auto' or an integer >= 0, got {upsample!r}")
        found = _detect_boxes(image, detector, int(upsample))
    faces = [
        Face(box=box, landmarks=landmarks_in_box(image, box), score=score, detector=detector)
        for box, score in found
    ]
    faces.sort(key=lambda f: -f.area)
    return faces


def _box_iou(a: np.ndarray, b: np.ndarray) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def choose_face(
    faces: Sequence[Face],
    choose: FaceChoice = "largest",
    previous: Face | None = None,
    *,
    source: str | None = None,
    frame: int | None = None,
    upsample: int | str = "auto",
    option: str = "--face",
) -> Face:
    """Pick one face: the largest, the ``choose``-th largest, or the one nearest ``previous``.

    ``"previous"`` picks the face whose landmark centre is closest to the
    previous face's (ties broken by box overlap); without a previous face it
    falls back to the largest. Raises :class:`NoFaceError` naming ``source``
    (and ``frame``) when ``faces`` is empty or the index does not exist.
    ``upsample`` (the level the faces were searched at) and ``option`` (the
    command-line option that chose the index) only shape the messages.
    """
    where = _where(source, frame)
    if not faces:
        raise NoFaceError(f"no face found in {where}; {no_face_advice(upsample)}")
    if isinstance(choose, (int, np.integer)) and not isinstance(choose, bool):
        if not -len(faces) <= choose < len(faces):
            raise NoFaceError(
                f"face index {choose} ({option}) requested but only {len(faces)} face(s) found in {where}; "
                f"use an index from 0 to {len(faces) - 1} (0 = largest)."
            )
        return faces[int(choose)]
    if choose == "largest":
        return max(faces, key=lambda f: f.area)
    if choose == "previous":
        if previous is None:
            return max(faces, key=lambda f: f.area)
        return min(
            faces,
            key=lambda f: (
                float(np.linalg.norm(f.center - previous.center)) - 1e-3 * _box_iou(f.box, previous.box)
            ),
        )
    raise InvalidOptionError(
        f"face choice must be 'largest', 'previous' or an integer index, got {choose!r}"
    )


def detect_face(
    image: np.ndarray,
    choose: FaceChoice = "largest",
    *,
    detector: str = "hog",
    upsample: int | str = "auto",
    previous: Face | None = None,
    source: str | None = None,
    frame: int | None = None,
    option: str = "--face",
) -> Face:
    """Detect one face (see :func:`detect_faces` and :func:`choose_face`).

    ``source``, ``frame`` and ``option`` only make the error message say where
    no face was found and which option chose an index. Raises :class:`NoFaceError`
    when there is none.
    """
    faces = detect_faces(image, detector=detector, upsample=upsample)
    return choose_face(faces, choose, previous, source=source, frame=frame, upsample=upsample, option=option)
