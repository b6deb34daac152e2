"""Helpers shared by the synthetic-head tests."""

import numpy as np


def polygon_mask(points: np.ndarray, shape, dilate: int = 0) -> np.ndarray:
    """Boolean mask of a polygon given in pixel coordinates (optionally dilated by ``dilate`` px)."""
    import cv2

    m = np.zeros(shape, np.uint8)
    cv2.fillPoly(m, [np.round(points * 16).astype(np.int32)], 1, lineType=cv2.LINE_8, shift=4)
    if dilate:
        m = cv2.dilate(m, np.ones((2 * dilate + 1, 2 * dilate + 1), np.uint8))
    return m.astype(bool)
