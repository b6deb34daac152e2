"""The 3D head: surfaces, painted features and the 68 landmarks, in a head frame.

The head frame is in centimetres: ``x`` towards the image's right in a frontal
view (the subject's left), ``y`` down, ``z`` away from the camera (the face
looks towards ``-z``). The origin is the centre of the skull; the eyes lie on
``y = 0``.

Surfaces are ellipsoids (skull, lower face, nose, nostril wings, ears, a hair
shell, long hair, neck, shoulders), which a ray caster can intersect exactly.
Eyes, brows, lips and nostrils are *painted* on the skin: they are curves in
the frontal ``(x, y)`` coordinates of the head frame, shared by the renderer
(which colours the pixels) and by the landmarks (which sample the same curves),
so the two agree by construction. Depth of a landmark is the front-most skin
surface at its ``(x, y)``; the jaw line (points 0-16) is found per view on the
silhouette of the lower face, as annotators do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from video2stylegan.synthetic.params import Expression, Identity

# Part labels of the renderer's label map and masks.
PARTS = ("background", "face", "hair", "eyes", "brows", "nose", "mouth", "body")
BACKGROUND, FACE, HAIR, EYES, BROWS, NOSE, MOUTH, BODY = range(len(PARTS))

# Pivot of head rotations (top of the neck), head frame.
PIVOT = np.array([0.0, 4.0, 1.0])
# Point of the head frame placed at the image centre at zero pose (FFHQ-like
# framing: a little below the eyes), and the height in cm the image spans.
FRAME_CENTER = np.array([0.0, 0.8, 0.0])
FRAME_SPAN_CM = 28.0

_SKIN_PALETTE = np.array(
    [[0.98, 0.84, 0.74], [0.90, 0.70, 0.57], [0.76, 0.54, 0.40], [0.55, 0.36, 0.24], [0.36, 0.22, 0.14]]
)
_HAIR_PALETTE = np.array(
    [[0.05, 0.04, 0.04], [0.20, 0.12, 0.07], [0.42, 0.27, 0.15], [0.80, 0.66, 0.42], [0.58, 0.23, 0.10], [0.62, 0.62, 0.62]]
)
_IRIS_PALETTE = np.array(
    [[0.22, 0.12, 0.06], [0.40, 0.24, 0.11], [0.44, 0.38, 0.17], [0.30, 0.45, 0.28], [0.30, 0.47, 0.68], [0.50, 0.56, 0.62]]
)


def palette(colors: np.ndarray, t: float) -> np.ndarray:
    """Colour at position ``t`` in [0, 1] along a piecewise-linear palette."""
    t = float(np.clip(t, 0.0, 1.0)) * (len(colors) - 1)
    i = min(int(t), len(colors) - 2)
    w = t - i
    return (1 - w) * colors[i] + w * colors[i + 1]


def hsv_to_rgb(h: float, s: float, v: float) -> np.ndarray:
    k = (np.array([5.0, 3.0, 1.0]) + h * 6.0) % 6.0
    return v - v * s * np.clip(np.minimum(k, 4.0 - k), 0.0, 1.0)


def rot_x(deg: float) -> np.ndarray:
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


@dataclass
class Ellipsoid:
    """An ellipsoid ``|diag(1/radii) rotation^T (p - center)| = 1`` in a frame.

    ``frame`` is ``"head"`` (moves with the head) or ``"body"`` (neck and
    shoulders: translated with the head but not rotated). ``clip`` keeps only
    the surface points (head frame, arrays x, y, z) for which it returns True;
    where the entry point is clipped the ray may still hit the far side.
    """

    name: str
    center: np.ndarray
    radii: np.ndarray
    part: int
    material: str
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    frame: str = "head"
    clip: Callable | None = None

    def local_matrix(self) -> np.ndarray:
        """Matrix mapping frame offsets ``p - center`` into the unit sphere."""
        return np.diag(1.0 / self.radii) @ self.rotation.T

    def ray_hits(self, origin: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Entry and exit parameters of rays ``origin + t * direction`` (NaN on a miss)."""
        m = self.local_matrix()
        o = (np.asarray(origin, float) - self.center) @ m.T
        d = np.asarray(direction, float) @ m.T
        a = np.sum(d * d, axis=-1)
        b = np.sum(o * d, axis=-1)
        c = np.sum(o * o, axis=-1) - 1.0
        disc = b * b - a * c
        root = np.sqrt(np.where(disc >= 0, disc, np.nan))
        return (-b - root) / a, (-b + root) / a


class EyeShape:
    """Lid curves, iris and pupil of one eye in frontal head coordinates."""

    def __init__(self, cx: float, outer_sign: float, size: float, openness: float):
        self.cx, self.cy = cx, 0.0
        self.outer_sign = outer_sign  # +1: the outer corner is at larger x
        self.half_width = 1.5 * size
        self.h_up = 0.66 * size
        self.h_lo = 0.40 * size
        self.openness = float(np.clip(openness, 0.0, 1.3))
        self.iris_radius = 0.66 * size
        self.pupil_radius = 0.29 * size
        self.iris_center = (cx, 0.04 * size)

    def s(self, x):
        return (np.asarray(x, float) - self.cx) / self.half_width

    def corner_line(self, s):
        # The outer corner sits a little higher than the inner one.
        return self.cy - 0.10 * self.outer_sign * s + 0.02

    def lower(self, s):
        s = np.clip(s, -1, 1)
        return self.corner_line(s) + self.h_lo * (1 - s * s) ** 0.85 * (1 + 0.12 * self.outer_sign * s)

    def upper(self, s):
        s = np.clip(s, -1, 1)
        opened = self.corner_line(s) - self.h_up * (1 - s * s) ** 0.7 * (1 - 0.15 * self.outer_sign * s)
        low = self.lower(s)
        return low + (opened - low) * self.openness

    def corners(self) -> tuple[np.ndarray, np.ndarray]:
        """(outer, inner) corner points."""
        o = self.outer_sign
        return (
            np.array([self.cx + o * self.half_width, float(self.corner_line(o))]),
            np.array([self.cx - o * self.half_width, float(self.corner_line(-o))]),
        )


class BrowShape:
    """Centre line and thickness of one eyebrow; ``b`` runs 0 (inner) .. 1 (outer)."""

    def __init__(self, side: float, spacing: float, thickness: float, arch: float, raise_: float):
        self.side = side  # -1: image-left brow (the subject's right)
        self.x_inner = side * (1.05 + 3.0 * (spacing - 1.0))
        self.x_outer = side * 5.2 * spacing
        self.thickness = thickness
        self.arch = arch
        self.raise_ = raise_

    def b(self, x):
        return (np.asarray(x, float) - self.x_inner) / (self.x_outer - self.x_inner)

    def center(self, b):
        b = np.clip(b, 0, 1)
        frown = max(0.0, -self.raise_)
        base = -1.75 - 0.7 * self.raise_ + 0.35 * frown * (1 - b)
        return base - (0.15 + 0.35 * self.arch) * np.sin(np.pi * b**0.75) + 0.25 * b

    def half_thickness(self, b):
        b = np.clip(b, 0, 1)
        return 0.5 * self.thickness * (0.85 - 0.45 * b)


class MouthShape:
    """Lip curves of the mouth; ``s`` runs -1 (image-left corner) .. 1."""

    def __init__(self, y: float, width: float, lip: float, opening: float, smile: float):
        self.y = y
        self.half_width = 2.45 * width * (1 + 0.1 * smile)
        self.upper_thick = 0.72 * lip
        self.lower_thick = 0.95 * lip
        self.opening = float(np.clip(opening, 0, 1.2))
        self.smile = smile

    def s(self, x):
        return np.asarray(x, float) / self.half_width

    def gap(self, s):
        s = np.clip(s, -1, 1)
        return 1.9 * self.opening * (1 - s * s) ** 0.6

    def base(self, s):
        return self.y - 0.38 * self.smile * s * s + 0.05

    def upper_inner(self, s):
        return self.base(s) - 0.2 * self.gap(s)

    def lower_inner(self, s):
        return self.base(s) + 0.8 * self.gap(s)

    def upper_outer(self, s):
        s = np.clip(s, -1, 1)
        bow = 1 - 0.22 * np.exp(-((s / 0.14) ** 2))
        return self.upper_inner(s) - self.upper_thick * np.sqrt(1 - s * s) * bow

    def lower_outer(self, s):
        s = np.clip(s, -1, 1)
        return self.lower_inner(s) + self.lower_thick * (1 - s * s) ** 0.6


class HeadModel:
    """Geometry, colours and landmarks of one identity with one expression."""

    def __init__(self, identity: Identity, expression: Expression):
        self.identity, self.expression = identity, expression
        self.jaw_drop = 1.5 * float(np.clip(expression.mouth_open, 0, 1.2))
        self._colours()
        nose = self._surfaces()
        self._features(nose)
        self.contour_center = np.array([0.0, 2.0, -1.0])
        self._jaw_phis = self._jaw_angles()

    def _colours(self) -> None:
        """Albedos, linear-ish RGB in [0, 1]: skin, hair, brows, iris, lips, background, clothes."""
        idn = self.identity
        skin = palette(_SKIN_PALETTE, idn.skin_tone)
        skin = skin * (1 + 0.08 * (idn.skin_redness - 0.5) * np.array([1.0, -0.6, -0.8]))
        self.skin = np.clip(skin, 0, 1)
        self.hair = palette(_HAIR_PALETTE, idn.hair_color)
        self.brow = np.minimum(self.hair * 0.75, self.skin * 0.45) if idn.hair_color < 0.9 else self.hair * 0.6
        self.iris = palette(_IRIS_PALETTE, idn.iris_color)
        lip_plain = self.skin * np.array([0.86, 0.60, 0.60])
        self.lip = (1 - idn.lip_color) * lip_plain + idn.lip_color * np.array([0.66, 0.24, 0.27]) * (
            0.55 + 0.45 * self.skin.mean() / 0.8
        )
        self.background = hsv_to_rgb(idn.background_hue, idn.background_saturation, idn.background_value)
        self.clothes = hsv_to_rgb(idn.clothes_hue, 0.45, 0.25 + 0.4 * ((idn.clothes_hue * 7.3) % 1.0))

    def _surfaces(self) -> Ellipsoid:
        """The ellipsoids (``surfaces``, ``skin_surfaces``, ``face_surfaces``) and the hair's limits; returns
        the nose, which the painted features are placed on."""
        idn = self.identity
        hw, fl = idn.head_width, idn.face_length
        cranium = Ellipsoid("cranium", np.array([0.0, -1.5, 0.8]), np.array([7.3 * hw, 10.4 * idn.head_height, 9.8]), FACE, "skin")
        jaw = Ellipsoid(
            "jaw",
            np.array([0.0, 3.0 + 0.5 * self.jaw_drop, -1.8]),
            np.array([6.65 * idn.jaw_width * hw, 8.2 * fl + 0.5 * self.jaw_drop, 7.0]),
            FACE,
            "skin",
            rot_x(-10.0),  # chin forward: the jaw line's lowest point lies in front of the neck
        )
        nl, nw = idn.nose_length, idn.nose_width
        nose = Ellipsoid("nose", np.array([0.0, 2.45 * nl, -8.1]), np.array([0.68 * nw, 2.55 * nl, 1.75]), NOSE, "skin", rot_x(-24.0))
        wings = [
            Ellipsoid(f"ala{i}", np.array([sx * 0.85 * nw, 4.0 * nl, -8.45]), np.array([0.5 * nw, 0.5, 0.72]), NOSE, "skin")
            for i, sx in enumerate((-1.0, 1.0))
        ]
        ears = [
            Ellipsoid(f"ear{i}", np.array([sx * 7.15 * hw, 1.4, 1.4]), np.array([0.8, 2.6, 1.5]), FACE, "skin")
            for i, sx in enumerate((-1.0, 1.0))
        ]
        self.skin_surfaces = [cranium, jaw, nose] + wings
        self.face_surfaces = [cranium, jaw]
        vol = idn.hair_volume
        hair_shell = Ellipsoid(
            "hair",
            cranium.center + np.array([0.0, -0.35 * vol, 0.25 * vol]),
            cranium.radii + vol * np.array([1.0, 1.05, 1.1]),
            HAIR,
            "hair",
            clip=self._hair_clip,
        )
        self.hairline_y = -6.2 - 2.0 * idn.hairline
        self.hair_side_y = -0.4 + 12.0 * max(0.0, idn.hair_length - 0.25)
        surfaces = [cranium, jaw, nose, *wings, *ears, hair_shell]
        if idn.hair_length > 0.4:
            length = idn.hair_length
            surfaces.append(
                Ellipsoid(
                    "long_hair",
                    np.array([0.0, 3.0 + 5.0 * length, 3.2]),
                    np.array([7.6 * hw + 0.9 * vol, 9.0 + 9.0 * length, 6.2]),
                    HAIR,
                    "hair",
                    clip=lambda x, y, z: (z > -0.8) & (y > -8.0),
                )
            )
        surfaces.append(Ellipsoid("neck", np.array([0.0, 13.0, 2.2]), np.array([5.0, 9.0, 4.8]), BODY, "neck", frame="body"))
        surfaces.append(Ellipsoid("torso", np.array([0.0, 27.5, 3.5]), np.array([19.0, 9.0, 10.0]), BODY, "clothes", frame="body"))
        self.surfaces = surfaces
        return nose

    def _features(self, nose: Ellipsoid) -> None:
        """The painted eyes, brows, mouth and nostrils, and the nose's lowest and front points."""
        idn, ex = self.identity, self.expression
        nw, fl = idn.nose_width, idn.face_length
        es, ez = idn.eye_spacing, idn.eye_size
        smile_squint = 1.0 - 0.18 * max(0.0, ex.smile)
        raise_open = 1.0 + 0.12 * ex.brow_raise
        # Index 0: image-left eye (the subject's right eye), 1: image-right.
        self.eyes = [
            EyeShape(-3.15 * es, -1.0, ez, ex.eye_open_right * smile_squint * raise_open),
            EyeShape(3.15 * es, 1.0, ez, ex.eye_open_left * smile_squint * raise_open),
        ]
        self.brows = [BrowShape(side, es, idn.brow_thickness, idn.brow_arch, ex.brow_raise) for side in (-1.0, 1.0)]
        self.nose_bottom = self._lowest_point(nose)
        self.nose_tip = self._front_point(nose)
        mouth_y = self.nose_bottom + 1.85 * fl
        self.mouth = MouthShape(mouth_y, idn.mouth_width, idn.lip_thickness, ex.mouth_open, ex.smile)
        self.nostrils = [(sx * 0.52 * nw, self.nose_bottom - 0.22, 0.36 * nw, 0.2) for sx in (-1.0, 1.0)]

    # ------------------------------------------------------------------ helpers
    def hair_limit(self, x, z):
        """Head-frame y above which (smaller y) the hair covers the skull at ``(x, z)``.

        A hairline on the forehead, and behind the temples a length-dependent level.
        """
        front = self.hairline_y + 0.9 * np.maximum(np.abs(x) - 3.0, 0.0)
        w = np.clip((z + 5.5) / 4.0, 0.0, 1.0)
        return (1 - w) * front + w * self.hair_side_y

    def _hair_clip(self, x, y, z):
        return y < self.hair_limit(x, z)

    @staticmethod
    def _lowest_point(e: Ellipsoid) -> float:
        return float(e.center[1] + np.sqrt(np.sum((e.rotation[1] * e.radii) ** 2)))

    @staticmethod
    def _front_point(e: Ellipsoid) -> np.ndarray:
        v = -(e.rotation[2] * e.radii)
        v = v / np.linalg.norm(v)
        return e.center + e.rotation @ (e.radii * v)

    def front_depth(self, xy: np.ndarray, surfaces=None) -> np.ndarray:
        """Head-frame z of the front-most skin surface at frontal points ``xy`` (N, 2)."""
        xy = np.asarray(xy, float).reshape(-1, 2)
        origin = np.column_stack([xy, np.full(len(xy), -100.0)])
        direction = np.array([0.0, 0.0, 1.0])
        best = np.full(len(xy), np.inf)
        for e in surfaces or self.skin_surfaces:
            t_in, _ = e.ray_hits(origin, direction)
            best = np.fmin(best, t_in)
        return best - 100.0

    def _contour_candidates(self, phis: np.ndarray, n_psi: int = 76) -> np.ndarray:
        """Points of the lower-face surface on meridians through the contour centre.

        For each angle ``phi`` (0 = straight down towards the chin, +90 deg =
        towards the image's right) returns ``n_psi`` points going from behind the
        frontal silhouette round to the front; shape (len(phis), n_psi, 3).
        """
        psi = np.radians(np.linspace(-70.0, 80.0, n_psi))
        ph = np.radians(np.asarray(phis, float))[:, None]
        u = np.stack(
            [np.sin(ph) * np.cos(psi), np.cos(ph) * np.cos(psi), -np.ones_like(ph) * np.sin(psi)], axis=-1
        )
        origin = np.broadcast_to(self.contour_center, u.shape)
        r = np.zeros(u.shape[:-1])
        for e in self.face_surfaces:
            _, t_out = e.ray_hits(origin, u)
            r = np.fmax(r, t_out)
        return self.contour_center + r[..., None] * u

    def _jaw_angles(self) -> np.ndarray:
        """17 meridian angles spaced evenly along the frontal jaw line."""
        phis = np.linspace(-103.0, 103.0, 70)
        cand = self._contour_candidates(phis)
        out = np.stack([np.sin(np.radians(phis)), np.cos(np.radians(phis))], axis=-1)
        score = np.einsum("pkd,pd->pk", cand[..., :2], out)
        pts = cand[np.arange(len(phis)), np.argmax(score, axis=1), :2]
        arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))])
        return np.interp(np.linspace(0, arc[-1], 17), arc, phis)

    def jaw_candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Candidate points (17, K, 3) of the jaw landmarks and their outward directions (17, 3).

        The renderer projects them and keeps, for each landmark, the candidate
        lying farthest out in the image: the silhouette.
        """
        ph = np.radians(self._jaw_phis)
        outward = np.stack([np.sin(ph), np.cos(ph), np.zeros_like(ph)], axis=-1)
        return self._contour_candidates(self._jaw_phis), outward

    def landmarks_frontal(self) -> np.ndarray:
        """Head-frame 3D points of landmarks 17-67 (rows 0-16, the jaw, are NaN).

        The jaw line depends on the view; see :meth:`jaw_candidates`.
        """
        pts = np.full((68, 2), np.nan)
        # Brows: 17-21 image-left brow from its outer end inwards, 22-26 inner to outer.
        for brow, idx, order in ((self.brows[0], range(17, 22), (1.0, 0.0)), (self.brows[1], range(22, 27), (0.0, 1.0))):
            bs = np.linspace(order[0], order[1], 5) * 0.94 + 0.03
            xs = brow.x_inner + bs * (brow.x_outer - brow.x_inner)
            ys = brow.center(bs) - 0.35 * brow.half_thickness(bs)
            pts[list(idx)] = np.column_stack([xs, ys])
        # Nose ridge 27-30 from between the eyes down to the tip.
        top = np.array([0.0, -0.35])
        tip = self.nose_tip[:2]
        for k, i in enumerate(range(27, 31)):
            pts[i] = top + (tip - top) * k / 3.0
        pts[27, 0] = pts[28, 0] = pts[29, 0] = 0.0
        # Nose base 31-35, image left to right.
        nb = self.nose_bottom
        nw = self.identity.nose_width
        pts[31:36] = [[-1.12 * nw, nb - 0.35], [-0.55 * nw, nb - 0.05], [0.0, nb + 0.02], [0.55 * nw, nb - 0.05], [1.12 * nw, nb - 0.35]]
        # Eyes: 36-41 image-left eye (outer corner, upper lid, inner corner, lower lid).
        for eye, base in ((self.eyes[0], 36), (self.eyes[1], 42)):
            outer, inner = eye.corners()
            if base == 36:  # outer corner at small x
                first, s_up, last, s_lo = outer, (-1 / 3, 1 / 3), inner, (1 / 3, -1 / 3)
            else:  # 42: inner corner first
                first, s_up, last, s_lo = inner, (-1 / 3, 1 / 3), outer, (1 / 3, -1 / 3)
            pts[base] = first
            pts[base + 1] = [eye.cx + s_up[0] * eye.half_width, eye.upper(s_up[0])]
            pts[base + 2] = [eye.cx + s_up[1] * eye.half_width, eye.upper(s_up[1])]
            pts[base + 3] = last
            pts[base + 4] = [eye.cx + s_lo[0] * eye.half_width, eye.lower(s_lo[0])]
            pts[base + 5] = [eye.cx + s_lo[1] * eye.half_width, eye.lower(s_lo[1])]
        # Mouth.
        m = self.mouth
        hwm = m.half_width

        def at(s, curve):
            return [s * hwm, float(curve(s))]

        pts[48] = [-hwm, float(m.base(-1.0))]
        for i, s in zip(range(49, 54), (-0.62, -0.27, 0.0, 0.27, 0.62)):
            pts[i] = at(s, m.upper_outer)
        pts[54] = [hwm, float(m.base(1.0))]
        for i, s in zip(range(55, 60), (0.62, 0.3, 0.0, -0.3, -0.62)):
            pts[i] = at(s, m.lower_outer)
        pts[60] = [-0.9 * hwm, float(m.base(-0.9))]
        for i, s in zip(range(61, 64), (-0.45, 0.0, 0.45)):
            pts[i] = at(s, m.upper_inner)
        pts[64] = [0.9 * hwm, float(m.base(0.9))]
        for i, s in zip(range(65, 68), (0.45, 0.0, -0.45)):
            pts[i] = at(s, m.lower_inner)

        out = np.full((68, 3), np.nan)
        out[17:, :2] = pts[17:]
        out[17:, 2] = self.front_depth(pts[17:])
        # The nose tip is the tip itself (front_depth there is the same point).
        out[30] = self.nose_tip
        return out
