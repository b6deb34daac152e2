"""Smooth talking-head trajectories: expression and pose over time.

A :class:`Trajectory` holds, for every frame, an :class:`Expression` vector and
a :class:`Pose` vector, independent of identity. Rendering the same trajectory
on two identities gives a driving clip and the exact ground truth of
reenacting the second identity with it.

:func:`talking_trajectory` makes one from a seed: speech-like mouth opening
(syllables at 3-6 Hz grouped in phrases separated by pauses), blinks (every
2-5 s, ~0.25 s long), slow smile and brow movements with emphasis, head turns,
nods and tilts, and a slow drift of the head in the frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic.params import Expression, HeadParams, Identity, Pose


@dataclass(frozen=True)
class Trajectory:
    """Per-frame expression (T, 5) and pose (T, 6) vectors at ``fps``."""

    expression: np.ndarray
    pose: np.ndarray
    fps: float

    def __post_init__(self):
        if self.expression.shape[1:] != (Expression.size(),) or self.pose.shape[1:] != (Pose.size(),):
            raise InvalidOptionError("trajectory arrays must be (T, 5) expressions and (T, 6) poses.")
        if len(self.expression) != len(self.pose):
            raise InvalidOptionError("trajectory expression and pose must have the same number of frames.")

    def __len__(self) -> int:
        return len(self.expression)

    @property
    def times(self) -> np.ndarray:
        return np.arange(len(self)) / self.fps

    def expression_at(self, i: int) -> Expression:
        return Expression.from_vector(self.expression[i])

    def pose_at(self, i: int) -> Pose:
        return Pose.from_vector(self.pose[i])

    def params(self, identity: Identity, i: int) -> HeadParams:
        """The parameters of frame ``i`` rendered on ``identity``."""
        return HeadParams(identity, self.expression_at(i), self.pose_at(i))

    def with_pose_of(self, other: "Trajectory") -> "Trajectory":
        """This trajectory's expressions with ``other``'s head motion (same length needed)."""
        if len(other) != len(self):
            raise InvalidOptionError(f"trajectories differ in length ({len(self)} vs {len(other)} frames).")
        return Trajectory(self.expression.copy(), other.pose.copy(), self.fps)

    def anchored_at(self, pose: Pose) -> "Trajectory":
        """The same head *motion* starting from ``pose``: frame ``j`` gets ``pose + (p_j - p_0)``
        for the angles and the position, ``pose.scale * s_j / s_0`` for the scale (clipped to
        ``Pose.SPEC``); expressions are unchanged.

        This is the exact answer of a reenactment that transfers the driver's motion since
        its first frame and keeps the portrait's own head pose at frame 0, which is what
        ``reenact`` does by default (``canonical_mode`` / ``pose_mode`` ``"relative"``) and
        what the baseline's W+ difference ``w_j - w_0`` does by construction.
        """
        moved = self.pose - self.pose[:1]
        anchor = pose.to_vector()
        out = anchor[None] + moved
        i = Pose.names().index("scale")
        out[:, i] = anchor[i] * self.pose[:, i] / self.pose[0, i]
        lo, hi = Pose.bounds()
        return Trajectory(self.expression.copy(), np.clip(out, lo, hi), self.fps)

    def column(self, name: str) -> np.ndarray:
        """One parameter over time, e.g. ``column("mouth_open")`` or ``column("yaw")``."""
        if name in Expression.names():
            return self.expression[:, Expression.names().index(name)]
        if name in Pose.names():
            return self.pose[:, Pose.names().index(name)]
        raise InvalidOptionError(f"unknown trajectory parameter {name!r}.")


def _smooth_noise(rng: np.random.Generator, t: np.ndarray, f_lo: float, f_hi: float, n: int = 6) -> np.ndarray:
    """Sum of ``n`` random sinusoids with frequencies in [f_lo, f_hi] Hz, about unit peak."""
    f = rng.uniform(f_lo, f_hi, n)
    phase = rng.uniform(0, 2 * np.pi, n)
    amp = rng.uniform(0.5, 1.0, n)
    x = np.sum(amp[:, None] * np.sin(2 * np.pi * f[:, None] * t[None] + phase[:, None]), axis=0)
    return x / np.sum(amp) * 1.6


def _speech_gate(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """1 while speaking, 0 in pauses, with 80 ms ramps: phrases of 1-3 s, pauses of 0.3-0.8 s."""
    gate = np.zeros_like(t)
    start = rng.uniform(0.0, 0.3)
    while start < t[-1] + 1e-9 if len(t) else False:
        end = start + rng.uniform(1.0, 3.0)
        gate = np.maximum(gate, np.clip(np.minimum(t - start, end - t) / 0.08, 0, 1))
        start = end + rng.uniform(0.3, 0.8)
    return gate


def _blinks(rng: np.random.Generator, t: np.ndarray) -> np.ndarray:
    """Eyelid closure in [0, 1] (1 = closed): a blink 0.4-1.6 s in, then every 2-5 s."""
    closure = np.zeros_like(t)
    tb = rng.uniform(0.4, 1.6)
    while len(t) and tb < t[-1] + 0.3:
        d = t - tb
        # Close in 80 ms, stay shut 40 ms (so every blink shows a closed frame at 25 fps), open in 170 ms.
        shape = np.where(d < 0, np.clip(1 + d / 0.08, 0, 1), np.clip(1 - (d - 0.04) / 0.17, 0, 1))
        closure = np.maximum(closure, shape)
        tb += rng.uniform(2.0, 5.0)
    return closure


def talking_trajectory(
    n_frames: int,
    fps: float = 25.0,
    seed: int = 0,
    head_motion: float = 1.0,
) -> Trajectory:
    """A smooth, speech-like trajectory of ``n_frames`` frames at ``fps``.

    Mouth: syllables at a rate drawn in 3.5-5.5 Hz (varying +-0.5 Hz), grouped in
    phrases; eyes: blinks; head: turns (yaw about +-15 deg), nods (pitch about
    +-8 deg, quicker nods while speaking), tilts (roll about +-6 deg) and a
    drift of a few percent of the frame, all scaled by ``head_motion``.
    Deterministic in ``seed``; independent of any identity.
    """
    if n_frames < 1:
        raise InvalidOptionError(f"a trajectory needs at least 1 frame, got {n_frames}.")
    if not fps > 0:
        raise InvalidOptionError(f"fps must be positive, got {fps}.")
    rng = np.random.default_rng([int(seed), 7])
    t = np.arange(n_frames) / float(fps)

    # Speech: syllable phase integrates a slowly varying rate.
    rate = rng.uniform(3.5, 5.5) + 0.5 * _smooth_noise(rng, t, 0.1, 0.4, 3)
    phase = 2 * np.pi * np.cumsum(rate) / fps + rng.uniform(0, 2 * np.pi)
    syllable = (0.5 - 0.5 * np.cos(phase)) ** 1.5
    loudness = np.clip(0.65 + 0.3 * _smooth_noise(rng, t, 0.2, 0.8, 4), 0.25, 1.0)
    gate = _speech_gate(rng, t)
    mouth = np.clip(0.08 + 0.72 * gate * loudness * syllable, 0, 1)

    closure = _blinks(rng, t)
    eye_base = 1.0 + 0.07 * _smooth_noise(rng, t, 0.05, 0.3, 3)
    eye_r = eye_base * (1 - closure)
    eye_l = eye_base * (1 - closure)
    smile = np.clip(0.25 + 0.3 * _smooth_noise(rng, t, 0.05, 0.25, 4), -0.2, 0.9)
    brow = np.clip(0.1 + 0.25 * _smooth_noise(rng, t, 0.1, 0.5, 4) + 0.15 * gate * loudness, -0.4, 0.9)
    expression = np.column_stack([eye_l, eye_r, mouth, smile, brow])

    m = float(head_motion)
    # Turns: a slow look from side to side (one swing in 2-5 s) plus wander.
    swing = np.sin(2 * np.pi * rng.uniform(0.1, 0.25) * t + rng.uniform(0, 2 * np.pi))
    yaw = m * (11.0 * swing + 7.0 * _smooth_noise(rng, t, 0.1, 0.5, 4))
    nods = 2.5 * np.sin(2 * np.pi * rng.uniform(1.2, 2.0) * t + rng.uniform(0, 6.3)) * gate
    pitch = m * (6.0 * _smooth_noise(rng, t, 0.05, 0.4, 4) + nods)
    roll = m * 6.0 * _smooth_noise(rng, t, 0.05, 0.3, 4)
    tx = m * 0.03 * _smooth_noise(rng, t, 0.03, 0.2, 3)
    ty = m * 0.02 * _smooth_noise(rng, t, 0.03, 0.2, 3)
    scale = 1.0 + m * 0.03 * _smooth_noise(rng, t, 0.03, 0.2, 3)
    pose = np.column_stack([yaw, pitch, roll, tx, ty, scale])
    lo, hi = Pose.bounds()
    pose = np.clip(pose, lo, hi)
    return Trajectory(expression, pose, float(fps))
