"""Faces drawn in the tests, and image helpers (imported by the face tests)."""

import cv2
import numpy as np

# Geometry of the drawn face at size 400 (see draw_face): pixel positions.
DRAWN = {
    "left_eye": (155.0, 190.0),  # eye centres (image left / right)
    "right_eye": (245.0, 190.0),
    "eye_half_width": 20.0,
    "mouth_center": (200.0, 300.0),
    "mouth_half_width": 32.0,
    "chin": (200.0, 350.0),
}


def draw_face(size: int = 400, background=(190, 200, 215)) -> np.ndarray:
    """A shaded cartoon face that dlib's HOG detector accepts.

    Oval face with darkened edges, eye sockets, white eyes with iris and pupil,
    brows, nose shadows and red lips, on a flat background. Feature positions
    (for size 400) are in DRAWN and scale with ``size``.
    """
    s = size / 400.0
    yy, xx = np.mgrid[:size, :size].astype(np.float32) / s
    img = np.zeros((size, size, 3), np.float32) + np.array(background, np.float32)
    r = ((xx - 200) / 100) ** 2 + ((yy - 215) / 135) ** 2
    skin = np.array((225, 180, 150), np.float32)
    shade = np.clip(1.0 - 0.35 * r**2, 0.5, 1)[..., None]
    img = np.where((r < 1)[..., None], skin * shade, img)

    def shadow(cx, cy, sx, sy, amount):
        g = np.exp(-(((xx - cx) / sx) ** 2 + ((yy - cy) / sy) ** 2) / 2)[..., None]
        return 1 - amount * g

    for cx in (155, 245):
        img *= shadow(cx, 190, 30, 18, 0.35)
    img *= shadow(185, 240, 8, 25, 0.2) * shadow(215, 240, 8, 25, 0.2)
    img *= shadow(200, 268, 18, 6, 0.35) * shadow(200, 300, 40, 10, 0.3)
    img = np.clip(img, 0, 255).astype(np.uint8)

    def p(x, y):
        return int(round(x * s)), int(round(y * s))

    def n(v):
        return max(1, int(round(v * s)))

    cv2.ellipse(img, p(200, 115), (n(115), n(60)), 0, 180, 360, (60, 40, 30), -1, cv2.LINE_AA)
    for cx in (155, 245):
        cv2.ellipse(img, p(cx, 190), (n(20), n(9)), 0, 0, 360, (245, 245, 245), -1, cv2.LINE_AA)
        cv2.circle(img, p(cx, 190), n(8), (80, 55, 40), -1, cv2.LINE_AA)
        cv2.circle(img, p(cx, 190), n(3), (10, 10, 10), -1, cv2.LINE_AA)
        cv2.ellipse(img, p(cx, 166), (n(27), n(9)), 0, 190, 350, (70, 50, 40), n(6), cv2.LINE_AA)
    cv2.ellipse(img, p(200, 300), (n(32), n(10)), 0, 0, 360, (170, 80, 80), -1, cv2.LINE_AA)
    cv2.line(img, p(170, 300), p(230, 300), (110, 40, 40), n(2), cv2.LINE_AA)
    return cv2.GaussianBlur(img, (0, 0), 1.2 * s)


def rotate_image(image: np.ndarray, degrees: float, center=None) -> np.ndarray:
    """Rotate counter-clockwise as seen (OpenCV's positive angle), same size, edge-replicated."""
    h, w = image.shape[:2]
    c = ((w - 1) / 2, (h - 1) / 2) if center is None else center
    m = cv2.getRotationMatrix2D(c, degrees, 1.0)
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
