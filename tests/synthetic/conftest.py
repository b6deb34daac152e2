"""Shared renders for the synthetic-head tests (rendered once per session)."""

import numpy as np
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


def polygon_mask(points: np.ndarray, shape, dilate: int = 0) -> np.ndarray:
    """Boolean mask of a polygon given in pixel coordinates (optionally dilated by ``dilate`` px)."""
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    if dilate:
        m = cv2.dilate(m, np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8))
    return m.astype(bool)
