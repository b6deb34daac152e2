"""Head pose (yaw, pitch, roll) from the 68 landmarks with ``cv2.solvePnP``.

The landmarks are matched to a 3D mean face of the same 68 points, seen by a
pinhole camera whose focal length is the image's longer side (a ~53 degree
field of view, typical for portraits and webcams) with the principal point at
the image centre and no lens distortion.

Sign conventions (degrees, 0 = looking straight at the camera, upright):

* **yaw** > 0: the head turns to *its own* left, i.e. the nose points to the
  image's right (for an unmirrored photo of a person facing the camera);
* **pitch** > 0: the head tilts up (chin up, nose points up in the image);
* **roll** > 0: the head tilts counter-clockwise *as seen in the image* (the
  top of the head moves to the image's left), the same sense as the canonical
  rotation ``r`` of :mod:`video2stylegan.faces.canonical`.

So mirroring an image negates yaw and roll, and rotating an image by +a
degrees counter-clockwise adds a to roll. Angles come from
``R = Rz(-roll) @ Ry(-yaw) @ Rx(-pitch)``, where ``R`` takes the model's axes
(x to the image's right, y down, z away from the camera) to the camera's.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from video2stylegan.errors import InvalidOptionError

# 3D mean face of the 68 iBUG points, in millimetres: x to the subject's left
# (the image's right), y down, z towards the viewer (the nose tip protrudes).
# The numbers are the 68-point 3D reference shape published with
# yinguobing/head-pose-estimation (MIT licence, file assets/model.txt), which
# is commonly attributed to the mean shape of OpenFace's 68-point in-the-wild
# point distribution model (T. Baltrusaitis et al., "OpenFace: an open source
# facial behavior analysis toolkit", WACV 2016). Rows: (x, y, z) of points i, i+1.
_MEAN_FACE_68 = np.array([
    (-73.393523, -29.801432, -47.667532),  (-72.775014, -10.949766, -45.909403),  # 0-1
    (-70.533638, 7.929818, -44.84258),  (-66.850058, 26.07428, -43.141114),  # 2-3
    (-59.790187, 42.56439, -38.635298),  (-48.368973, 56.48108, -30.750622),  # 4-5
    (-34.121101, 67.246992, -18.456453),  (-17.875411, 75.056892, -3.609035),  # 6-7
    (0.098749, 77.061286, 0.881698),  (17.477031, 74.758448, -5.181201),  # 8-9
    (32.648966, 66.929021, -19.176563),  (46.372358, 56.311389, -30.77057),  # 10-11
    (57.34348, 42.419126, -37.628629),  (64.388482, 25.45588, -40.886309),  # 12-13
    (68.212038, 6.990805, -42.281449),  (70.486405, -11.666193, -44.142567),  # 14-15
    (71.375822, -30.365191, -47.140426),  (-61.119406, -49.361602, -14.254422),  # 16-17
    (-51.287588, -58.769795, -7.268147),  (-37.8048, -61.996155, -0.442051),  # 18-19
    (-24.022754, -61.033399, 6.606501),  (-11.635713, -56.686759, 11.967398),  # 20-21
    (12.056636, -57.391033, 12.051204),  (25.106256, -61.902186, 7.315098),  # 22-23
    (38.338588, -62.777713, 1.022953),  (51.191007, -59.302347, -5.349435),  # 24-25
    (60.053851, -50.190255, -11.615746),  (0.65394, -42.19379, 13.380835),  # 26-27
    (0.804809, -30.993721, 21.150853),  (0.992204, -19.944596, 29.284036),  # 28-29
    (1.226783, -8.414541, 36.94806),  (-14.772472, 2.598255, 20.132003),  # 30-31
    (-7.180239, 4.751589, 23.536684),  (0.55592, 6.5629, 25.944448),  # 32-33
    (8.272499, 4.661005, 23.695741),  (15.214351, 2.643046, 20.858157),  # 34-35
    (-46.04729, -37.471411, -7.037989),  (-37.674688, -42.73051, -3.021217),  # 36-37
    (-27.883856, -42.711517, -1.353629),  (-19.648268, -36.754742, 0.111088),  # 38-39
    (-28.272965, -35.134493, 0.147273),  (-38.082418, -34.919043, -1.476612),  # 40-41
    (19.265868, -37.032306, 0.665746),  (27.894191, -43.342445, -0.24766),  # 42-43
    (37.437529, -43.110822, -1.696435),  (45.170805, -38.086515, -4.894163),  # 44-45
    (38.196454, -35.532024, -0.282961),  (28.764989, -35.484289, 1.172675),  # 46-47
    (-28.916267, 28.612716, 2.24031),  (-17.533194, 22.172187, 15.934335),  # 48-49
    (-6.68459, 19.029051, 22.611355),  (0.381001, 20.721118, 23.748437),  # 50-51
    (8.375443, 19.03546, 22.721995),  (18.876618, 22.394109, 15.610679),  # 52-53
    (28.794412, 28.079924, 3.217393),  (19.057574, 36.298248, 14.987997),  # 54-55
    (8.956375, 39.634575, 22.554245),  (0.381549, 40.395647, 23.591626),  # 56-57
    (-7.428895, 39.836405, 22.406106),  (-18.160634, 36.677899, 15.121907),  # 58-59
    (-24.37749, 28.677771, 4.785684),  (-6.897633, 25.475976, 20.893742),  # 60-61
    (0.340663, 26.014269, 22.220479),  (8.444722, 25.326198, 21.02552),  # 62-63
    (24.474473, 28.323008, 5.712776),  (8.449166, 30.596216, 20.671489),  # 64-65
    (0.205322, 31.408738, 21.90367),  (-7.198266, 30.844876, 20.328022),  # 66-67
], dtype=np.float64)

# The same model in the camera's handedness (z away from the camera), as used here.
MEAN_FACE_3D = _MEAN_FACE_68 * np.array([1.0, 1.0, -1.0])


@dataclass
class HeadPose:
    """A head pose: Euler angles in degrees and the raw PnP solution.

    ``rotation`` (3x3) and ``translation`` (3, millimetres) take model points
    to camera coordinates; ``error`` is the RMS reprojection error of the 68
    points in pixels (large values, above ~5 % of the face size, mean the
    landmarks fit the mean face poorly, e.g. a strong expression or bad
    landmarks).
    """

    yaw: float
    pitch: float
    roll: float
    rotation: np.ndarray
    translation: np.ndarray
    error: float

    def to_dict(self) -> dict:
        return {
            "yaw": round(float(self.yaw), 3),
            "pitch": round(float(self.pitch), 3),
            "roll": round(float(self.roll), 3),
            "reprojection_error_px": round(float(self.error), 3),
        }

    @property
    def angles(self) -> np.ndarray:
        """``(yaw, pitch, roll)`` in degrees."""
        return np.array([self.yaw, self.pitch, self.roll])


def camera_matrix(image_shape: tuple[int, int]) -> np.ndarray:
    """The pinhole intrinsics used for pose: focal = longer side, centre = image centre."""
    h, w = int(image_shape[0]), int(image_shape[1])
    f = float(max(h, w))
    return np.array([[f, 0.0, (w - 1) / 2.0], [0.0, f, (h - 1) / 2.0], [0.0, 0.0, 1.0]])


def rotation_to_euler(rotation: np.ndarray) -> tuple[float, float, float]:
    """``(yaw, pitch, roll)`` in degrees of a model-to-camera rotation (see module doc)."""
    r = np.asarray(rotation, np.float64)
    beta = np.arcsin(np.clip(-r[2, 0], -1.0, 1.0))
    alpha = np.arctan2(r[2, 1], r[2, 2])
    gamma = np.arctan2(r[1, 0], r[0, 0])
    return float(-np.degrees(beta)), float(-np.degrees(alpha)), float(-np.degrees(gamma))


def euler_to_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Inverse of :func:`rotation_to_euler` (angles in degrees)."""
    a, b, g = np.radians([-pitch, -yaw, -roll])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(g), -np.sin(g), 0], [np.sin(g), np.cos(g), 0], [0, 0, 1]])
    return rz @ ry @ rx


def head_pose(landmarks, image_shape: tuple[int, int]) -> HeadPose:
    """Estimate the head pose from ``(68, 2)`` landmarks (or a :class:`Face`) in an image of ``(H, W)``."""
    lm = getattr(landmarks, "landmarks", landmarks)
    lm = np.asarray(lm, np.float64)
    if lm.shape != (68, 2) or not np.isfinite(lm).all():
        raise InvalidOptionError(f"landmarks must be a finite (68, 2) array, got shape {lm.shape}")
    k = camera_matrix(image_shape)
    dist = np.zeros(5)
    obj = MEAN_FACE_3D.reshape(-1, 1, 3)
    img = lm.reshape(-1, 1, 2)
    ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_SQPNP)
    if not ok:  # pragma: no cover - SQPnP succeeds on 68 non-degenerate points
        ok, rvec, tvec = cv2.solvePnP(obj, img, k, dist, flags=cv2.SOLVEPNP_EPNP)
    rvec, tvec = cv2.solvePnPRefineLM(obj, img, k, dist, rvec, tvec)
    rot, _ = cv2.Rodrigues(rvec)
    proj, _ = cv2.projectPoints(obj, rvec, tvec, k, dist)
    err = float(np.sqrt(((proj.reshape(-1, 2) - lm) ** 2).sum(axis=1).mean()))
    yaw, pitch, roll = rotation_to_euler(rot)
    return HeadPose(yaw, pitch, roll, rot, tvec.reshape(3), err)
