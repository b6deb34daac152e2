"""Identity embedding: dlib's 128-D face descriptor and its distance.

The descriptor is dlib's ResNet face-recognition model (the one behind the
`face_recognition` package the paper uses for its ID metric). Two photos of the
same person are typically closer than 0.6 in L2 distance; dlib's own benchmark
threshold is 0.6.
"""

from __future__ import annotations

import functools
import threading
from typing import Sequence

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.detection import Face
from video2stylegan.faces.models import FACE_DESCRIPTOR, dlib_model_path
from video2stylegan.io.images import as_rgb_uint8

SAME_PERSON_THRESHOLD = 0.6

_lock = threading.Lock()


@functools.lru_cache(maxsize=None)
def _descriptor_model():
    import dlib

    return dlib.face_recognition_model_v1(str(dlib_model_path(FACE_DESCRIPTOR)))


def _shape(face: Face):
    import dlib

    l, t, r, b = (int(round(v)) for v in face.box)
    points = dlib.points()
    for x, y in face.landmarks:
        points.append(dlib.point(int(round(x)), int(round(y))))
    return dlib.full_object_detection(dlib.rectangle(l, t, r, b), points)


def face_descriptor(image: np.ndarray, face: Face, num_jitters: int = 0) -> np.ndarray:
    """The 128-D identity descriptor (float64, unit-free) of ``face`` in ``image``.

    dlib cuts a 150x150 chip aligned on the landmarks and runs its ResNet.
    ``num_jitters > 1`` averages over that many randomly jittered chips
    (slower, slightly more stable).
    """
    if num_jitters < 0:
        raise InvalidOptionError(f"num_jitters must be >= 0, got {num_jitters}")
    image = as_rgb_uint8(image)
    with _lock:
        vec = _descriptor_model().compute_face_descriptor(image, _shape(face), int(num_jitters))
    return np.array(vec, dtype=np.float64)


def face_descriptors(images: Sequence[np.ndarray], faces: Sequence[Face]) -> np.ndarray:
    """Descriptors of one face per image, as an ``(N, 128)`` array (one dlib batch)."""
    import dlib

    if len(images) != len(faces):
        raise InvalidOptionError(f"got {len(images)} images but {len(faces)} faces; give one face per image")
    if not images:
        return np.zeros((0, 128))
    arrays = [as_rgb_uint8(im) for im in images]
    batches = []
    for f in faces:
        shapes = dlib.full_object_detections()
        shapes.append(_shape(f))
        batches.append(shapes)
    with _lock:
        out = _descriptor_model().compute_face_descriptor(arrays, batches)
    return np.array([np.array(v[0]) for v in out], dtype=np.float64)


def identity_distance(a: np.ndarray, b: np.ndarray) -> float | np.ndarray:
    """L2 distance between descriptors (the paper's ID metric); broadcasts over leading axes."""
    return np.linalg.norm(np.asarray(a, np.float64) - np.asarray(b, np.float64), axis=-1)
