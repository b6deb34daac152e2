"""Paths of dlib's model files shipped by the `face_recognition_models` package.

That package's ``__init__`` imports ``pkg_resources``, which recent setuptools no
longer provides, so we never import it: we locate its folder with
``importlib.util.find_spec`` and read the files directly.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from video2stylegan.errors import CheckpointError

LANDMARKS_68 = "shape_predictor_68_face_landmarks.dat"
FACE_DESCRIPTOR = "dlib_face_recognition_resnet_model_v1.dat"
CNN_DETECTOR = "mmod_human_face_detector.dat"


def dlib_model_path(filename: str) -> Path:
    """Return the path of one of dlib's model files from `face_recognition_models`."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(
            "the package 'face_recognition_models' is not installed; it ships dlib's face "
            "models. Install it with `pip install face_recognition_models`."
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "models" / filename
    if not path.is_file():
        raise CheckpointError(
            f"dlib model file {path} is missing; reinstall with "
            "`pip install --force-reinstall face_recognition_models`."
        )
    return path
