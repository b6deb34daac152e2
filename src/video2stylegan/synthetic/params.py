"""Parameters of a synthetic head: identity, expression and head pose.

Each block is a frozen dataclass of plain floats, so that a render is fully
described by three small flat vectors. Every field has a documented range
(``SPEC``); :meth:`sample` draws uniformly inside it from a
``numpy.random.Generator``, and ``to_vector``/``from_vector`` and
``to_unit``/``from_unit`` convert to flat arrays (raw units, or each field
mapped to ``[0, 1]``), which is what a training data loader wants.

Conventions (see docs/synthetic.md):

* "left"/"right" are the subject's own: ``eye_open_left`` is the eye that
  appears on the image's right in a frontal render.
* ``yaw > 0``: the head turns to its own left, the nose moves to the image's right.
* ``pitch > 0``: the head tilts up (chin up), the nose tip moves up in the
  image (as in :mod:`video2stylegan.faces.pose`).
* ``roll > 0``: the head tilts counter-clockwise as seen in the image.
* ``tx, ty``: offset of the face centre from the image centre, as a fraction of
  the image size (``ty > 0`` moves the face down); ``scale``: face size
  relative to the default framing (about FFHQ's).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields, replace
from typing import ClassVar

import numpy as np

from video2stylegan.errors import InvalidOptionError


class _Block:
    """Shared conversions of a dataclass whose fields are floats with ranges."""

    # name -> (low, high) of uniform sampling; documented range of the field.
    SPEC: ClassVar[dict[str, tuple[float, float]]] = {}

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def size(cls) -> int:
        return len(fields(cls))

    @classmethod
    def bounds(cls) -> tuple[np.ndarray, np.ndarray]:
        lo = np.array([cls.SPEC[n][0] for n in cls.names()], dtype=np.float64)
        hi = np.array([cls.SPEC[n][1] for n in cls.names()], dtype=np.float64)
        return lo, hi

    def to_vector(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)

    @classmethod
    def from_vector(cls, vector) -> "_Block":
        v = np.asarray(vector, dtype=np.float64).reshape(-1)
        if v.size != cls.size():
            raise InvalidOptionError(
                f"{cls.__name__}.from_vector needs {cls.size()} values ({', '.join(cls.names())}), "
                f"got {v.size}."
            )
        return cls(*(float(x) for x in v))

    def to_unit(self) -> np.ndarray:
        lo, hi = self.bounds()
        return (self.to_vector() - lo) / (hi - lo)

    @classmethod
    def from_unit(cls, unit) -> "_Block":
        lo, hi = cls.bounds()
        return cls.from_vector(lo + np.asarray(unit, dtype=np.float64) * (hi - lo))

    @classmethod
    def sample(cls, rng: np.random.Generator) -> "_Block":
        return cls.from_unit(rng.random(cls.size()))

    def replace(self, **changes) -> "_Block":
        return replace(self, **changes)


@dataclass(frozen=True)
class Identity(_Block):
    """Who is rendered: head shape, colours, and the scene (light, background).

    Sizes are multipliers of an average head (1.0); colours are positions in
    small palettes (0..1); angles in degrees.
    """

    head_width: float = 1.0
    head_height: float = 1.0
    face_length: float = 1.0
    jaw_width: float = 1.0
    skin_tone: float = 0.3  # 0 light .. 1 dark
    skin_redness: float = 0.5
    hair_color: float = 0.3  # black, dark brown, brown, blonde, red, grey
    hair_length: float = 0.3  # < 0.4 short; longer hair falls beside the face
    hair_volume: float = 1.0  # thickness of the hair over the skull, cm
    hairline: float = 0.5  # 0 low forehead .. 1 high
    eye_size: float = 1.0
    eye_spacing: float = 1.0
    iris_color: float = 0.3  # dark brown, brown, hazel, green, blue, grey
    brow_thickness: float = 1.0
    brow_arch: float = 0.5
    nose_length: float = 1.0
    nose_width: float = 1.0
    mouth_width: float = 1.0
    lip_thickness: float = 1.0
    lip_color: float = 0.5  # 0 skin-like .. 1 red
    background_hue: float = 0.6
    background_saturation: float = 0.25
    background_value: float = 0.6
    clothes_hue: float = 0.1
    light_azimuth: float = -20.0  # degrees, > 0 light from the image's right
    light_elevation: float = 30.0  # degrees above the horizon

    SPEC: ClassVar[dict[str, tuple[float, float]]] = {
        "head_width": (0.92, 1.08),
        "head_height": (0.94, 1.06),
        "face_length": (0.92, 1.08),
        "jaw_width": (0.85, 1.08),
        "skin_tone": (0.0, 1.0),
        "skin_redness": (0.0, 1.0),
        "hair_color": (0.0, 1.0),
        "hair_length": (0.0, 1.0),
        "hair_volume": (0.5, 1.8),
        "hairline": (0.0, 1.0),
        "eye_size": (0.88, 1.12),
        "eye_spacing": (0.93, 1.07),
        "iris_color": (0.0, 1.0),
        "brow_thickness": (0.7, 1.4),
        "brow_arch": (0.0, 1.0),
        "nose_length": (0.88, 1.12),
        "nose_width": (0.85, 1.2),
        "mouth_width": (0.9, 1.1),
        "lip_thickness": (0.75, 1.3),
        "lip_color": (0.0, 1.0),
        "background_hue": (0.0, 1.0),
        "background_saturation": (0.0, 0.6),
        "background_value": (0.25, 0.95),
        "clothes_hue": (0.0, 1.0),
        "light_azimuth": (-35.0, 35.0),
        "light_elevation": (10.0, 50.0),
    }


@dataclass(frozen=True)
class Expression(_Block):
    """What the face does. 1.0 eye openness is a relaxed open eye, 0 a closed one."""

    eye_open_left: float = 1.0
    eye_open_right: float = 1.0
    mouth_open: float = 0.0  # 0 closed .. 1 wide open (jaw drops about 1.8 cm)
    smile: float = 0.0  # < 0 corners down, 1 broad smile
    brow_raise: float = 0.0  # < 0 frown, 1 raised

    SPEC: ClassVar[dict[str, tuple[float, float]]] = {
        "eye_open_left": (0.0, 1.2),
        "eye_open_right": (0.0, 1.2),
        "mouth_open": (0.0, 1.0),
        "smile": (-0.3, 1.0),
        "brow_raise": (-0.5, 1.0),
    }


@dataclass(frozen=True)
class Pose(_Block):
    """Head rotation (degrees, conventions in the module docstring) and framing."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0
    tx: float = 0.0
    ty: float = 0.0
    scale: float = 1.0

    SPEC: ClassVar[dict[str, tuple[float, float]]] = {
        "yaw": (-30.0, 30.0),
        "pitch": (-20.0, 20.0),
        "roll": (-20.0, 20.0),
        "tx": (-0.06, 0.06),
        "ty": (-0.06, 0.06),
        "scale": (0.9, 1.1),
    }


@dataclass(frozen=True)
class HeadParams:
    """Everything a render needs: identity, expression and pose."""

    identity: Identity = Identity()
    expression: Expression = Expression()
    pose: Pose = Pose()

    @staticmethod
    def size() -> int:
        return Identity.size() + Expression.size() + Pose.size()

    @staticmethod
    def names() -> tuple[str, ...]:
        """Names of the entries of :meth:`to_vector`, in order."""
        return Identity.names() + Expression.names() + Pose.names()

    def to_vector(self) -> np.ndarray:
        return np.concatenate([self.identity.to_vector(), self.expression.to_vector(), self.pose.to_vector()])

    @classmethod
    def from_vector(cls, vector) -> "HeadParams":
        v = np.asarray(vector, dtype=np.float64).reshape(-1)
        if v.size != cls.size():
            raise InvalidOptionError(f"HeadParams.from_vector needs {cls.size()} values, got {v.size}.")
        a, b = Identity.size(), Identity.size() + Expression.size()
        return cls(Identity.from_vector(v[:a]), Expression.from_vector(v[a:b]), Pose.from_vector(v[b:]))

    def to_unit(self) -> np.ndarray:
        return np.concatenate([self.identity.to_unit(), self.expression.to_unit(), self.pose.to_unit()])

    @classmethod
    def from_unit(cls, unit) -> "HeadParams":
        u = np.asarray(unit, dtype=np.float64).reshape(-1)
        a, b = Identity.size(), Identity.size() + Expression.size()
        return cls(Identity.from_unit(u[:a]), Expression.from_unit(u[a:b]), Pose.from_unit(u[b:]))


# Standard deviations (degrees) of the "natural" pose distribution: most
# portraits and talking-head frames are near frontal, with tails to the limits.
NATURAL_POSE_SIGMA = {"yaw": 12.0, "pitch": 8.0, "roll": 7.0}


def sample_pose(rng: np.random.Generator, distribution: str = "natural") -> Pose:
    """Draw a pose: ``"uniform"`` over ``Pose.SPEC``, or ``"natural"``.

    ``"natural"`` draws yaw, pitch and roll from normal distributions
    (``NATURAL_POSE_SIGMA``) clipped to the ranges of ``Pose.SPEC``; position
    and scale are uniform either way.
    """
    if distribution == "uniform":
        return Pose.sample(rng)
    if distribution != "natural":
        raise InvalidOptionError(f"pose distribution must be 'natural' or 'uniform', got {distribution!r}.")
    pose = Pose.sample(rng)
    angles = {}
    for name, sigma in NATURAL_POSE_SIGMA.items():
        lo, hi = Pose.SPEC[name]
        angles[name] = float(np.clip(rng.normal(0.0, sigma), lo, hi))
    return pose.replace(**angles)


def sample_params(seed: int | np.random.Generator, pose_distribution: str = "natural") -> HeadParams:
    """Draw identity, expression and pose from a seed.

    Identity and expression are uniform in their ranges (``SPEC``), except eye
    openness, drawn in [0.55, 1.15] (closed eyes are blinks, not the typical
    frame); the pose follows :func:`sample_pose`. Deterministic: the same
    integer seed gives the same parameters on every machine (numpy's PCG64).
    """
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(int(seed))
    identity = Identity.sample(rng)
    expression = Expression.sample(rng).replace(
        eye_open_left=float(0.55 + 0.6 * rng.random()),
        eye_open_right=float(0.55 + 0.6 * rng.random()),
    )
    pose = sample_pose(rng, pose_distribution)
    return HeadParams(identity, expression, pose)
