"""Ray-cast rendering of a :class:`HeadModel` with exact landmarks and part masks.

Every pixel of a supersampled grid casts a perspective ray; each surface of the
head is an ellipsoid, intersected in closed form, and the nearest hit wins (so
occlusion, foreshortening and silhouettes are exact). Painted features are
looked up at the hit point's head-frame ``(x, y)``; shading is Lambert plus a
little Blinn-Phong from a light fixed in the camera frame. Downsampling the
grid by area averaging anti-aliases the image and turns the label map into
soft part masks.

Camera: pinhole at the origin looking down ``+z``, image ``x`` right and ``y``
down, pixel centres at integer coordinates (dlib's and OpenCV's convention).
The head sits 100 cm away; the focal length is chosen so that 26 cm at the
head (about FFHQ's crop) fill the image at ``scale = 1``.
"""

from __future__ import annotations

import functools
import multiprocessing
from dataclasses import dataclass

import cv2
import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic import head_model as hm
from video2stylegan.synthetic.params import HeadParams, Pose, sample_params

CAMERA_DISTANCE_CM = 100.0
_SCLERA = np.array([0.82, 0.79, 0.76])
_LASH = np.array([0.07, 0.05, 0.05])
_MOUTH_INSIDE = np.array([0.22, 0.07, 0.07])
_TEETH = np.array([0.90, 0.88, 0.80])
_SPECULAR = {"skin": (0.07, 18.0), "hair": (0.06, 12.0), "neck": (0.03, 10.0), "clothes": (0.02, 6.0)}


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Head-to-camera rotation ``Rz(roll) @ Rx(pitch) @ Ry(yaw)`` (degrees).

    With the head frame's face looking towards ``-z``: positive yaw moves the
    nose towards image ``+x`` (the subject turns to their own left), positive
    pitch moves it towards image ``-y`` (chin up, the head tilts back),
    positive roll turns the head counter-clockwise as seen in the image. These
    are the conventions of :mod:`video2stylegan.faces.pose`.
    """
    y, p, r = np.radians([yaw, -pitch, roll])
    ry = np.array([[np.cos(y), 0, -np.sin(y)], [0, 1, 0], [np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), np.sin(r), 0], [-np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return rz @ rx @ ry


@dataclass(frozen=True)
class Camera:
    """Pinhole camera and head placement for one pose at one image size."""

    size: int
    focal: float
    rotation: np.ndarray  # head frame -> camera
    translation: np.ndarray  # camera position of the pivot minus the pivot

    @classmethod
    def for_pose(cls, pose: Pose, size: int) -> "Camera":
        focal = pose.scale * size * CAMERA_DISTANCE_CM / hm.FRAME_SPAN_CM
        shift = np.array([pose.tx * size, pose.ty * size]) * CAMERA_DISTANCE_CM / focal
        t = np.array([shift[0], shift[1], CAMERA_DISTANCE_CM]) - hm.FRAME_CENTER
        return cls(size, focal, rotation_matrix(pose.yaw, pose.pitch, pose.roll), t)

    @property
    def principal(self) -> float:
        return (self.size - 1) / 2.0

    def head_to_camera(self, points: np.ndarray) -> np.ndarray:
        p = np.asarray(points, float)
        return (p - hm.PIVOT) @ self.rotation.T + hm.PIVOT + self.translation

    def body_to_camera(self, points: np.ndarray) -> np.ndarray:
        return np.asarray(points, float) + self.translation

    def project(self, camera_points: np.ndarray) -> np.ndarray:
        p = np.asarray(camera_points, float)
        return self.focal * p[..., :2] / p[..., 2:3] + self.principal

    def frame_ray(self, frame: str) -> tuple[np.ndarray, np.ndarray]:
        """Ray origin in ``frame`` and the matrix taking camera directions into it."""
        if frame == "head":
            origin = self.rotation.T @ (-(hm.PIVOT + self.translation)) + hm.PIVOT
            return origin, self.rotation.T
        return -self.translation, np.eye(3)


@dataclass
class Render:
    """One rendered image with its ground truth.

    ``image``: (H, W, 3) uint8 RGB. ``landmarks``: (68, 2) float64 pixel
    coordinates (x, y) in iBUG order. ``visible``: (68,) bool, False where a
    landmark is hidden by the head itself. ``masks``: (len(PARTS), H, W)
    float32 coverage of each part in ``head_model.PARTS`` order (sums to 1 per
    pixel). ``labels``: (H, W) uint8, the part covering most of each pixel.
    ``landmarks_3d``: (68, 3) camera-frame points in cm.
    """

    image: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray
    masks: np.ndarray
    labels: np.ndarray
    landmarks_3d: np.ndarray
    params: HeadParams

    def mask(self, part: str) -> np.ndarray:
        return self.masks[hm.PARTS.index(part)]


@functools.lru_cache(maxsize=8)
def _block_index(size: int, ss: int) -> np.ndarray:
    """For each supersampled ray (flattened), ``n_parts *`` the index of its output pixel."""
    rows = np.arange(size * ss) // ss
    idx = (rows[:, None] * size + rows[None, :]) * len(hm.PARTS)
    return idx.ravel().astype(np.int64)


_BLENDED = ("cranium", "jaw", "nose", "ala0", "ala1")


def _surface_normals(e: hm.Ellipsoid, local, cam: Camera, dx, dy, t) -> np.ndarray:
    """Unit camera-frame normals (3, k) of ``e`` where camera rays (dx, dy, 1) hit it at ``t``."""
    o, g = local
    q = o[:, None].astype(np.float32) + t[None] * (g[:, 0:1] * dx[None] + g[:, 1:2] * dy[None] + g[:, 2:3])
    m = e.rotation @ np.diag(1.0 / e.radii)
    if e.frame == "head":
        m = cam.rotation @ m
    nf = m.astype(np.float32) @ q
    return nf / np.linalg.norm(nf, axis=0, keepdims=True)


def _window(e: hm.Ellipsoid, cam: Camera, n: int, ss: int) -> tuple[int, int, int, int]:
    """Rows/cols of the supersampled grid that can see ellipsoid ``e``."""
    corners = np.array([[sx, sy, sz] for sx in (-1, 1) for sy in (-1, 1) for sz in (-1, 1)], float)
    pts = e.center + (corners * e.radii) @ e.rotation.T
    pts = cam.head_to_camera(pts) if e.frame == "head" else cam.body_to_camera(pts)
    if np.any(pts[:, 2] < 1.0):
        return 0, n, 0, n
    uv = cam.project(pts)
    lo = np.floor((uv.min(axis=0) + 0.5) * ss) - 1
    hi = np.ceil((uv.max(axis=0) + 0.5) * ss) + 2
    c0, r0 = np.clip(lo, 0, n).astype(int)
    c1, r1 = np.clip(hi, 0, n).astype(int)
    return int(r0), int(r1), int(c0), int(c1)


def _landmarks(model: hm.HeadModel, cam: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Camera-frame 3D points (68, 3), pixel positions (68, 2) of the landmarks,
    and the outward image directions (17, 2) of the jaw points."""
    head = model.landmarks_frontal()
    cand, outward = model.jaw_candidates()
    cc = cam.head_to_camera(cand)
    uv = cam.project(cc)
    c0 = cam.project(cam.head_to_camera(model.contour_center))
    dirs = cam.project(cam.head_to_camera(model.contour_center + outward)) - c0
    dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
    score = np.einsum("pkd,pd->pk", uv - c0, dirs)
    k = np.clip(np.argmax(score, axis=1), 1, score.shape[1] - 2)
    rows = np.arange(17)
    s_m, s_0, s_p = score[rows, k - 1], score[rows, k], score[rows, k + 1]
    denom = s_m - 2 * s_0 + s_p
    delta = np.where(np.abs(denom) > 1e-12, 0.5 * (s_m - s_p) / np.where(denom == 0, 1, denom), 0.0)
    delta = np.clip(delta, -1, 1)
    nb = np.where(delta >= 0, k + 1, k - 1)
    w = np.abs(delta)[:, None]
    cam_pts = cam.head_to_camera(head)
    cam_pts[:17] = (1 - w) * cc[rows, k] + w * cc[rows, nb]
    return cam_pts, cam.project(cam_pts), dirs


@dataclass
class _Rays:
    """The supersampled camera rays of one render: direction ``(dx, dy, 1)`` per pixel."""

    cam: Camera
    ss: int
    n: int
    dx: np.ndarray  # (1, n) per column
    dy: np.ndarray  # (n, 1) per row
    frames: dict  # frame name -> (ray origin in that frame, camera-to-frame matrix)

    @classmethod
    def for_camera(cls, cam: Camera, ss: int) -> "_Rays":
        n = cam.size * ss
        coords = ((np.arange(n, dtype=np.float32) + 0.5) / ss - 0.5 - cam.principal) / cam.focal
        frames = {f: cam.frame_ray(f) for f in ("head", "body")}
        return cls(cam, ss, n, coords[None, :], coords[:, None], frames)


@dataclass
class _Hits:
    """Nearest hit per ray: depth (camera z, inf on a miss) and surface index (-1)."""

    depth: np.ndarray
    which: np.ndarray
    windows: list  # per surface: rows/cols of rays that can see it
    local: list  # per surface: ray origin in its unit-sphere frame, and direction matrix
    blend_depth: dict  # depths of the blended skin surfaces (their own hits, not only wins)


def _cast(model: hm.HeadModel, rays: _Rays) -> _Hits:
    """Intersect every ray with every surface; keep the nearest hit."""
    n = rays.n
    depth = np.full((n, n), np.inf, dtype=np.float32)
    which = np.full((n, n), -1, dtype=np.int16)
    hits = _Hits(depth, which, [], [], {name: np.full((n, n), np.inf, dtype=np.float32) for name in _BLENDED})
    ho, ha = rays.frames["head"]
    for idx, e in enumerate(model.surfaces):
        origin_f, a_f = rays.frames[e.frame]
        m = e.local_matrix()
        o = m @ (origin_f - e.center)
        g = (m @ a_f).astype(np.float32)
        c = float(o @ o - 1.0)
        win = _window(e, rays.cam, n, rays.ss)
        hits.windows.append(win)
        hits.local.append((o, g))
        r0, r1, c0, c1 = win
        if r1 <= r0 or c1 <= c0:
            continue
        dx, dy = rays.dx[:, c0:c1], rays.dy[r0:r1]
        # Ray direction in the unit-sphere frame; solve |o + t d| = 1.
        px = g[0, 0] * dx + g[0, 1] * dy + g[0, 2]
        py = g[1, 0] * dx + g[1, 1] * dy + g[1, 2]
        pz = g[2, 0] * dx + g[2, 1] * dy + g[2, 2]
        a = px * px + py * py + pz * pz
        b = float(o[0]) * px + float(o[1]) * py + float(o[2]) * pz
        disc = b * b - a * c
        hit = disc > 0
        if not hit.any():
            continue
        root = np.sqrt(np.maximum(disc, 0))
        t = (-b - root) / a
        if e.clip is not None:
            # Clipped surfaces (hair): where the entry point is cut away the
            # ray may still meet the inside of the far side.
            t_out = (-b + root) / a
            hdx = ha[0, 0] * dx + ha[0, 1] * dy + ha[0, 2]
            hdy = ha[1, 0] * dx + ha[1, 1] * dy + ha[1, 2]
            hdz = ha[2, 0] * dx + ha[2, 1] * dy + ha[2, 2]
            keep_in = e.clip(ho[0] + t * hdx, ho[1] + t * hdy, ho[2] + t * hdz)
            keep_out = e.clip(ho[0] + t_out * hdx, ho[1] + t_out * hdy, ho[2] + t_out * hdz)
            t = np.where(keep_in, t, np.where(keep_out, t_out, np.inf))
        win_depth = depth[r0:r1, c0:c1]
        better = hit & (t > 0) & (t < win_depth)
        if e.name in hits.blend_depth:
            hits.blend_depth[e.name][r0:r1, c0:c1] = np.where(hit & (t > 0), t, np.inf)
        win_depth[better] = t[better]
        which[r0:r1, c0:c1][better] = idx
    return hits


def _normals(model: hm.HeadModel, rays: _Rays, hits: _Hits) -> np.ndarray:
    """Camera-frame unit normals (3, n, n) of the winning surfaces (zero on misses)."""
    n = rays.n
    normal = np.zeros((3, n, n), dtype=np.float32)
    for idx, e in enumerate(model.surfaces):
        r0, r1, c0, c1 = hits.windows[idx]
        if r1 <= r0 or c1 <= c0:
            continue
        sel = hits.which[r0:r1, c0:c1] == idx
        if not sel.any():
            continue
        rr, cc = np.nonzero(sel)
        rr, cc = rr + r0, cc + c0
        t = hits.depth[rr, cc]
        nf = _surface_normals(e, hits.local[idx], rays.cam, rays.dx[0, cc], rays.dy[rr, 0], t)
        if e.name in hits.blend_depth:
            # Near the lines where skin surfaces cross (skull, lower face,
            # nose), mix in the normals of the surfaces just behind, so the
            # union shades like one smooth surface.
            total = np.zeros(len(rr), dtype=np.float32)
            mixed = np.zeros_like(nf)
            for j, other in enumerate(model.surfaces):
                if other.name not in hits.blend_depth or j == idx:
                    continue
                other_t = hits.blend_depth[other.name][rr, cc]
                gap = other_t - t
                near = np.nonzero(gap < 2.5)[0]
                if near.size == 0:
                    continue
                no = _surface_normals(other, hits.local[j], rays.cam, rays.dx[0, cc[near]], rays.dy[rr[near], 0], other_t[near])
                w = (0.5 * np.exp(-gap[near] / 0.7)).astype(np.float32)
                total[near] += w
                mixed[:, near] += no * w
            scale = np.where(total > 0.5, 0.5 / np.maximum(total, 1e-6), 1.0)
            nf = nf * (1 - total * scale) + mixed * scale
            nf /= np.linalg.norm(nf, axis=0, keepdims=True)
        normal[:, rr, cc] = nf
    return normal


def _materials(model: hm.HeadModel, hpos: np.ndarray, kinds: np.ndarray):
    """Albedo (k, 3), part label (k,) and specular strength/exponent (k,) of hit points.

    ``hpos`` are their head-frame positions (3, k), ``kinds`` their surface indices.
    """
    k = kinds.size
    albedo = np.empty((k, 3), dtype=np.float32)
    spec_k = np.zeros(k, dtype=np.float32)
    spec_n = np.ones(k, dtype=np.float32)
    part_of = np.array([e.part for e in model.surfaces], dtype=np.uint8)
    lab = part_of[kinds]
    for idx, e in enumerate(model.surfaces):
        sel = kinds == idx
        if not sel.any():
            continue
        base = {"skin": model.skin, "hair": model.hair, "neck": model.skin * 0.92, "clothes": model.clothes}[e.material]
        albedo[sel] = base
        spec_k[sel], spec_n[sel] = _SPECULAR[e.material]
    names = [e.name for e in model.surfaces]
    face_sel = np.isin(kinds, [names.index("cranium"), names.index("jaw")]) & (hpos[2] < -3.0)
    nose_sel = np.isin(kinds, [i for i, nm in enumerate(names) if nm == "nose" or nm.startswith("ala")])
    _paint_face(model, hpos, face_sel, albedo, lab, spec_k, spec_n)
    _paint_nose(model, hpos, nose_sel, albedo)
    hair_sel = lab == hm.HAIR
    if hair_sel.any():
        hx, hy, hz = hpos[:, hair_sel]
        strands = 0.95 + 0.05 * np.sin(90.0 * np.arctan2(hx, hy + 4.0) + 3.0 * np.sin(0.9 * hz))
        albedo[hair_sel] *= strands[:, None].astype(np.float32)
    neck_sel = kinds == names.index("neck")
    if neck_sel.any():
        # The chin shades the top of the neck (head-frame y: below the chin is lighter).
        shade = 0.55 + 0.45 * np.clip((hpos[1, neck_sel] - model.nose_bottom - 7.0) / 5.0, 0, 1)
        albedo[neck_sel] *= shade[:, None].astype(np.float32)
    return albedo, lab, spec_k, spec_n


def _shade(identity, nrm: np.ndarray, albedo: np.ndarray, spec_k: np.ndarray, spec_n: np.ndarray) -> np.ndarray:
    """Colours (k, 3): Lambert from a light fixed in the camera frame, a fill light from the camera, Blinn-Phong."""
    az, el = np.radians([identity.light_azimuth, identity.light_elevation])
    light = np.array([np.sin(az) * np.cos(el), -np.sin(el), -np.cos(az) * np.cos(el)], dtype=np.float32)
    half = light + np.array([0, 0, -1], dtype=np.float32)
    half /= np.linalg.norm(half)
    diffuse = np.clip(light @ nrm, 0, None)
    fill = np.clip(-nrm[2], 0, None)
    spec = spec_k * np.clip(half @ nrm, 0, None) ** spec_n
    intensity = 0.36 + 0.52 * diffuse + 0.26 * fill
    return albedo * intensity[:, None] + spec[:, None]


def render_head(model: hm.HeadModel, pose: Pose, size: int = 128, supersample: int = 2) -> Render:
    """Render a built :class:`HeadModel` in ``pose``; see :func:`render`."""
    if size < 16:
        raise InvalidOptionError(f"render size must be at least 16 pixels, got {size}.")
    if supersample < 1:
        raise InvalidOptionError(f"supersample must be >= 1, got {supersample}.")
    cam = Camera.for_pose(pose, size)
    ss = int(supersample)
    rays = _Rays.for_camera(cam, ss)
    n = rays.n
    hits = _cast(model, rays)
    normal = _normals(model, rays, hits)

    # Head-frame positions of all hits, for painting.
    ho, ha = rays.frames["head"]
    rr, cc = np.nonzero(np.isfinite(hits.depth))
    t = hits.depth[rr, cc]
    dcam = np.stack([rays.dx[0, cc], rays.dy[rr, 0], np.ones_like(t)])
    hpos = ho[:, None].astype(np.float32) + t[None] * (ha.astype(np.float32) @ dcam)
    albedo, lab, spec_k, spec_n = _materials(model, hpos, hits.which[rr, cc])
    labels = np.zeros((n, n), dtype=np.uint8)
    labels[rr, cc] = lab
    color = _shade(model.identity, normal[:, rr, cc], albedo, spec_k, spec_n)

    img = np.empty((n, n, 3), dtype=np.float32)
    grad = (1.08 - 0.22 * np.linspace(0, 1, n, dtype=np.float32))[:, None, None]
    img[:] = grad * model.background.astype(np.float32)
    img[rr, cc] = color
    if ss > 1:
        img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
    image = np.clip(img * 255.0 + 0.5, 0, 255).astype(np.uint8)
    # Part coverage per output pixel: count the labels of its ss x ss rays.
    n_parts = len(hm.PARTS)
    counts = np.bincount((_block_index(size, ss) + labels.ravel()).ravel(), minlength=size * size * n_parts)
    masks = (counts.reshape(size, size, n_parts).transpose(2, 0, 1) / np.float32(ss * ss)).astype(np.float32)
    label_map = np.argmax(masks, axis=0).astype(np.uint8)

    lm3, lm2, jaw_out = _landmarks(model, cam)
    visible = _visibility(lm3, lm2, jaw_out, hits.depth, labels, ss)
    return Render(image, lm2, visible, masks, label_map, lm3, HeadParams(model.identity, model.expression, pose))


def _visibility(lm3, lm2, jaw_out, depth, labels, ss) -> np.ndarray:
    """Whether each landmark is seen: nothing lies in front of it along its ray.

    Jaw points sit on the silhouette, where rays just inside graze the face far
    in front of them: those are tested a pixel outside the outline instead,
    where only hair or the nose can hide them (the ears are beside them).
    """
    n = depth.shape[0]
    px = np.clip(np.round((lm2 + 0.5) * ss - 0.5).astype(int), 0, n - 1)
    visible = lm3[:, 2] <= depth[px[:, 1], px[:, 0]] + 0.35
    probe = np.clip(np.round((lm2[:17] + jaw_out + 0.5) * ss - 0.5).astype(int), 0, n - 1)
    in_front = depth[probe[:, 1], probe[:, 0]] < lm3[:17, 2] - 0.35
    hides = np.isin(labels[probe[:, 1], probe[:, 0]], [hm.HAIR, hm.NOSE])
    visible[:17] = ~(in_front & hides)
    return visible


@dataclass
class _SkinPixels:
    """The face-skin hit points being painted: head-frame ``x``, ``y``, and their colour, part label and
    specular strength/exponent (copies, written back by :func:`_paint_face`)."""

    x: np.ndarray
    y: np.ndarray
    col: np.ndarray
    part: np.ndarray
    spec_k: np.ndarray
    spec_n: np.ndarray


def _paint_face(model, hpos, sel, albedo, lab, spec_k, spec_n) -> None:
    """Eyes, brows, lips and eye-socket shadows on the skin pixels ``sel``."""
    ids = np.nonzero(sel)[0]
    if ids.size == 0:
        return
    px = _SkinPixels(hpos[0, ids], hpos[1, ids], albedo[ids], lab[ids], spec_k[ids], spec_n[ids])
    _paint_shadows(model, px, hpos[2, ids])
    _paint_brows(model, px)
    _paint_eyes(model, px)
    _paint_mouth(model, px)
    albedo[ids] = px.col
    lab[ids] = px.part
    spec_k[ids], spec_n[ids] = px.spec_k, px.spec_n


def _paint_shadows(model, px: _SkinPixels, z: np.ndarray) -> None:
    """Soft shadows in the eye sockets and under the nose, and fine hairs below the hairline."""
    x, y, col = px.x, px.y, px.col
    shade = np.ones_like(x)
    for eye in model.eyes:
        d2 = ((x - eye.cx) / 2.0) ** 2 + ((y + 0.25) / 1.35) ** 2
        shade -= 0.2 * np.exp(-d2)
    d2 = (x / 1.6) ** 2 + ((y - model.nose_bottom - 0.35) / 0.45) ** 2
    shade -= 0.12 * np.exp(-d2)
    col *= shade[:, None]
    # Fine hairs soften the hairline: skin just below it takes some hair colour.
    to_hairline = model.hair_limit(x, z) - y  # < 0 below the hairline
    fringe = np.nonzero(to_hairline > -0.7)[0]
    if fringe.size:
        alpha = 0.6 * np.clip(1 + to_hairline[fringe] / 0.7, 0, 1) ** 2
        col[fringe] = (1 - alpha[:, None]) * col[fringe] + alpha[:, None] * (0.85 * model.hair)


def _paint_brows(model, px: _SkinPixels) -> None:
    """Brows: hair-coloured bands, feathered at the ends and edges."""
    x, y, col = px.x, px.y, px.col
    for brow in model.brows:
        box = np.nonzero((np.abs(x - 0.5 * (brow.x_inner + brow.x_outer)) < 0.5 * abs(brow.x_outer - brow.x_inner) + 0.3) & (y > -5.0) & (y < -0.8))[0]
        if box.size == 0:
            continue
        b = brow.b(x[box])
        dist = np.abs(y[box] - brow.center(b)) / brow.half_thickness(b)
        ends = np.clip(np.minimum(b + 0.05, 1.04 - b) / 0.1, 0, 1)
        alpha = np.clip(1.6 - 1.6 * dist, 0, 0.9) * ends
        alpha *= 0.85 + 0.15 * np.sin(60.0 * x[box] + 20.0 * y[box])
        col[box] = (1 - alpha[:, None]) * col[box] + alpha[:, None] * model.brow
        px.part[box[alpha > 0.45]] = hm.BROWS


def _paint_eyes(model, px: _SkinPixels) -> None:
    """Eyes: lash line, eyeball (sclera, iris, pupil) between the lids."""
    x, y, col = px.x, px.y, px.col
    for eye in model.eyes:
        box = np.nonzero((np.abs(x - eye.cx) < eye.half_width * 1.15) & (np.abs(y) < 1.6))[0]
        if box.size == 0:
            continue
        xb, yb = x[box], y[box]
        s = eye.s(xb)
        up, lo = eye.upper(s), eye.lower(s)
        inside = (np.abs(s) < 1) & (yb > up) & (yb < lo)
        crease = np.exp(-(((yb - (eye.corner_line(s) - eye.h_up * 1.45)) / 0.16) ** 2)) * (np.abs(s) < 0.9)
        col[box] *= (1 - 0.12 * crease)[:, None]
        ins = box[inside]
        ix, iy = xb[inside] - eye.iris_center[0], yb[inside] - eye.iris_center[1]
        r = np.sqrt(ix * ix + iy * iy)
        top_shadow = np.clip((yb[inside] - up[inside]) / 0.35, 0, 1)
        c_eye = _SCLERA[None] * (0.72 + 0.28 * top_shadow)[:, None]
        iris = r < eye.iris_radius
        ring = np.clip((r - 0.65 * eye.iris_radius) / (0.35 * eye.iris_radius), 0, 1)
        c_iris = model.iris[None] * (1.0 - 0.45 * ring)[:, None] * (0.75 + 0.25 * top_shadow)[:, None]
        c_eye[iris] = c_iris[iris]
        c_eye[r < eye.pupil_radius] = 0.03
        col[ins] = c_eye
        px.part[ins] = hm.EYES
        px.spec_k[ins], px.spec_n[ins] = 0.35, 60.0
        # Upper lashes / lid margin: a dark line just above the upper lid
        # (the whole lid line when the eye is closed), a fainter lower one.
        width = 0.24 * (1.0 - 0.3 * np.abs(s))
        lash = (np.abs(s) < 1.08) & (yb <= up + 0.02) & (yb > up - width)
        col[box[lash]] = 0.14 * col[box[lash]] + _LASH
        low_lash = (np.abs(s) < 0.95) & (yb >= lo) & (yb < lo + 0.06)
        col[box[low_lash]] *= 0.7


def _paint_mouth(model, px: _SkinPixels) -> None:
    """Mouth: lips, and between them the mouth's inside with upper teeth."""
    x, y, col = px.x, px.y, px.col
    m = model.mouth
    box = np.nonzero((np.abs(x) < m.half_width * 1.05) & (y > m.y - 2.0) & (y < m.y + 3.0))[0]
    if box.size == 0:
        return
    xb, yb = x[box], y[box]
    s = m.s(xb)
    ok = np.abs(s) < 1
    uo, ui, li, lo = m.upper_outer(s), m.upper_inner(s), m.lower_inner(s), m.lower_outer(s)
    lips = ok & (yb > uo) & (yb < lo)
    inner = ok & (yb > ui) & (yb < li)
    lip_shade = np.where(yb < ui, 0.88, 1.0)
    col[box[lips]] = model.lip[None] * lip_shade[lips, None]
    teeth = inner & (yb < ui + np.minimum(0.45, 0.6 * (li - ui))) & (np.abs(s) < 0.8)
    col[box[inner]] = _MOUTH_INSIDE
    col[box[teeth]] = _TEETH
    line = ok & (np.abs(yb - 0.5 * (ui + li)) < 0.05 + 0.0 * s) & ~inner
    col[box[line]] *= 0.45
    px.part[box[lips | inner]] = hm.MOUTH
    px.spec_k[box[lips]], px.spec_n[box[lips]] = 0.14, 25.0


def _paint_nose(model, hpos, sel, albedo) -> None:
    """Dark nostrils on the underside of the nose."""
    ids = np.nonzero(sel)[0]
    if ids.size == 0:
        return
    x, y = hpos[0, ids], hpos[1, ids]
    for cx, cy, rx, ry in model.nostrils:
        d = ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2
        dark = np.clip(1.5 - d, 0, 1) * 0.85
        albedo[ids] *= (1 - dark)[:, None]


def render(params: HeadParams, size: int = 128, supersample: int = 2) -> Render:
    """Render ``params`` as a ``size`` x ``size`` RGB image with its ground truth.

    ``supersample`` rays per pixel side are averaged (2 is smooth enough for
    128-256 px; 1 is fastest, 3-4 for stills). Deterministic: the same params
    give the same pixels.
    """
    return render_head(hm.HeadModel(params.identity, params.expression), params.pose, size, supersample)


@dataclass
class RenderBatch:
    """Stacked renders: ``images`` (B, H, W, 3) uint8, ``landmarks`` (B, 68, 2),
    ``visible`` (B, 68), ``masks`` (B, P, H, W) float32, ``params`` (B, HeadParams.size())
    flat parameter vectors (see :meth:`HeadParams.to_vector`)."""

    images: np.ndarray
    landmarks: np.ndarray
    visible: np.ndarray
    masks: np.ndarray
    params: np.ndarray


def _render_seed(args) -> Render:
    seed, size, supersample, distribution = args
    return render(sample_params(seed, distribution), size, supersample)


def render_batch(
    items,
    size: int = 128,
    supersample: int = 2,
    workers: int = 0,
    pose_distribution: str = "natural",
) -> RenderBatch:
    """Render many heads: ``items`` are :class:`HeadParams` or integer seeds.

    A seed ``s`` renders ``sample_params(s, pose_distribution)``, so a batch of
    seeds is a reproducible random batch (a training data source). With
    ``workers > 1`` the renders are spread over that many processes; the
    result does not depend on ``workers``.
    """
    items = list(items)
    jobs = []
    for it in items:
        if isinstance(it, HeadParams):
            jobs.append(it)
        elif isinstance(it, (int, np.integer)):
            jobs.append((int(it), size, supersample, pose_distribution))
        else:
            raise InvalidOptionError(f"render_batch takes HeadParams or integer seeds, got {type(it).__name__}.")

    def one(job):
        return render(job, size, supersample) if isinstance(job, HeadParams) else _render_seed(job)

    if workers and workers > 1 and len(jobs) > 1:
        as_args = [(j, size, supersample) if isinstance(j, HeadParams) else j for j in jobs]
        with multiprocessing.get_context().Pool(workers) as pool:
            renders = pool.map(_render_job, as_args, chunksize=max(1, len(jobs) // (4 * workers)))
    else:
        renders = [one(j) for j in jobs]
    return RenderBatch(
        images=np.stack([r.image for r in renders]),
        landmarks=np.stack([r.landmarks for r in renders]),
        visible=np.stack([r.visible for r in renders]),
        masks=np.stack([r.masks for r in renders]),
        params=np.stack([r.params.to_vector() for r in renders]),
    )


def _render_job(job) -> Render:
    if isinstance(job[0], HeadParams):
        return render(job[0], job[1], job[2])
    return _render_seed(job)
