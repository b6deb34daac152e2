"""Shared renders for the synthetic-head tests (rendered once per session)."""

import pytest

from video2stylegan.synthetic import render, sample_params

DETECTION_SEEDS = range(40)


@pytest.fixture(scope="session")
def renders_128():
    return [render(sample_params(s), 128) for s in DETECTION_SEEDS]


@pytest.fixture(scope="session")
def renders_256():
    return [render(sample_params(s), 256) for s in DETECTION_SEEDS]


@pytest.fixture(scope="session")
def dlib_models():
    dlib = pytest.importorskip("dlib")
    from video2stylegan.faces.models import LANDMARKS_68, dlib_model_path

    return dlib.get_frontal_face_detector(), dlib.shape_predictor(str(dlib_model_path(LANDMARKS_68)))
