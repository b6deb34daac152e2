"""Identity metric ID: dlib descriptor distance of each result frame to the reference."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import Face, detect_face, face_descriptor, face_descriptors, identity_distance
from video2stylegan.faces.video import VideoFaces


def reference_descriptor(image: np.ndarray, face: Face | None = None, *, source: str | None = None) -> np.ndarray:
    """The 128-D descriptor of the reference portrait's (largest) face."""
    if face is None:
        face = detect_face(image, source=source)
    return face_descriptor(image, face)


def frame_descriptors(
    frames: Sequence[np.ndarray] | np.ndarray,
    faces: VideoFaces | Sequence[Face],
    *,
    progress: bool = True,
    batch: int = 8,
) -> np.ndarray:
    """The dlib descriptor of each frame's tracked face, ``(T, 128)``.

    ``faces``: a :class:`VideoFaces` or one :class:`Face` per frame; only the
    first ``min(len(frames), len(faces))`` frames are described.
    """
    face_list = [faces.face(i) for i in range(len(faces))] if isinstance(faces, VideoFaces) else list(faces)
    n = min(len(frames), len(face_list))
    out = np.zeros((n, 128))
    with tqdm(total=n, desc="identity", unit="frame", disable=not progress, leave=False) as bar:
        for start in range(0, n, batch):
            stop = min(n, start + batch)
            out[start:stop] = face_descriptors([frames[i] for i in range(start, stop)], face_list[start:stop])
            bar.update(stop - start)
    return out


def identity_distances(
    reference,
    frames: Sequence[np.ndarray] | np.ndarray,
    faces: VideoFaces | Sequence[Face],
    *,
    progress: bool = True,
    batch: int = 8,
) -> np.ndarray:
    """Per-frame ID: L2 distance between the reference descriptor and each
    frame's face descriptor (dlib ResNet, 128-D), ``(T,)``.

    ``reference``: a ``(128,)`` descriptor or an ``(H, W, 3)`` image (its
    largest face is used). ``faces``: the tracked faces of ``frames``
    (a :class:`VideoFaces` or one :class:`Face` per frame). The paper's ID is
    the mean of this array; below 0.6 dlib considers two faces the same person.
    """
    ref = np.asarray(reference)
    if ref.ndim == 3:
        ref = reference_descriptor(ref)
    if ref.shape != (128,):
        raise InvalidOptionError(f"reference must be a (128,) descriptor or an image, got shape {ref.shape}")
    return identity_distance(frame_descriptors(frames, faces, progress=progress, batch=batch), ref)
