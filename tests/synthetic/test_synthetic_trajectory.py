"""Talking trajectories: speech rhythm, blinks, smooth head motion."""

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic.params import Identity, Pose
from video2stylegan.synthetic.trajectory import Trajectory, talking_trajectory


def test_deterministic_in_seed():
    a, b = talking_trajectory(50, 25, seed=3), talking_trajectory(50, 25, seed=3)
    assert np.array_equal(a.expression, b.expression) and np.array_equal(a.pose, b.pose)
    c = talking_trajectory(50, 25, seed=4)
    assert not np.allclose(a.pose, c.pose)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_mouth_moves_at_syllable_rate(seed):
    tr = talking_trajectory(250, 25.0, seed)  # 10 s
    m = tr.column("mouth_open")
    spectrum = np.abs(np.fft.rfft(m - m.mean())) ** 2
    freqs = np.fft.rfftfreq(len(m), 1 / 25.0)
    assert 3.0 <= freqs[np.argmax(spectrum)] <= 6.0
    assert m.min() >= 0 and 0.4 < m.max() <= 1.0
    # Phrases and pauses: the mouth rests (near closed) for a while somewhere.
    assert (m < 0.1).mean() > 0.1


def test_blinks_close_the_eyes_briefly_and_together():
    tr = talking_trajectory(125, 25.0, seed=5)  # 5 s
    left, right = tr.column("eye_open_left"), tr.column("eye_open_right")
    closed = left < 0.1
    assert closed.any()  # at least one blink in 5 s ...
    assert closed.mean() < 0.1  # ... but eyes are open nearly all the time
    assert np.array_equal(left, right)
    # Each closure is short (< 0.2 s = 5 frames).
    runs = np.diff(np.flatnonzero(np.diff(np.r_[0, closed.astype(int), 0])))[::2]
    assert runs.max() <= 5


def test_head_motion_is_smooth_bounded_and_scalable():
    tr = talking_trajectory(250, 25.0, seed=6)
    lo, hi = Pose.bounds()
    assert np.all(tr.pose >= lo) and np.all(tr.pose <= hi)
    yaw = tr.column("yaw")
    assert np.ptp(yaw) > 10  # the head turns ...
    assert np.abs(np.diff(yaw)).max() < 2.0  # ... smoothly (deg per frame at 25 fps)
    assert np.abs(np.diff(tr.column("pitch"))).max() < 2.0
    still = talking_trajectory(250, 25.0, seed=6, head_motion=0.0)
    assert np.allclose(still.pose[:, :5], 0) and np.allclose(still.pose[:, 5], 1)
    # Same speech whatever the head does.
    assert np.array_equal(still.expression, tr.expression)


def test_recombining_and_frame_access():
    a, b = talking_trajectory(20, 25, 1), talking_trajectory(20, 25, 2)
    mixed = a.with_pose_of(b)
    assert np.array_equal(mixed.expression, a.expression) and np.array_equal(mixed.pose, b.pose)
    p = a.params(Identity(), 7)
    assert p.expression.mouth_open == a.column("mouth_open")[7]
    assert p.pose.yaw == a.column("yaw")[7]
    assert np.allclose(a.times[:3], [0, 0.04, 0.08])
    with pytest.raises(InvalidOptionError, match="differ in length"):
        a.with_pose_of(talking_trajectory(10, 25, 2))
    with pytest.raises(InvalidOptionError, match="at least 1 frame"):
        talking_trajectory(0)
    with pytest.raises(InvalidOptionError, match="unknown trajectory parameter"):
        a.column("nose")
    with pytest.raises(InvalidOptionError):
        Trajectory(np.zeros((3, 4)), np.zeros((3, 6)), 25.0)


def test_anchored_at_keeps_the_motion_and_starts_from_the_pose():
    from video2stylegan.synthetic.params import Pose

    traj = talking_trajectory(30, seed=5)
    start = Pose(yaw=4.0, pitch=-2.0, roll=1.0, tx=0.01, ty=-0.01, scale=1.02)
    moved = traj.anchored_at(start)
    assert np.allclose(moved.pose[0], start.to_vector())
    assert np.array_equal(moved.expression, traj.expression)
    # angles and position: the same change since frame 0 (where no bound clips it); scale: the same ratio
    lo, hi = Pose.bounds()
    inside = (moved.pose > lo + 1e-9) & (moved.pose < hi - 1e-9)
    diff_in = (moved.pose - moved.pose[:1])[:, :5]
    diff_out = (traj.pose - traj.pose[:1])[:, :5]
    assert np.allclose(diff_in[inside[:, :5]], diff_out[inside[:, :5]])
    assert np.allclose(moved.pose[:, 5] / 1.02, traj.pose[:, 5] / traj.pose[0, 5])
    assert np.abs(diff_out).max() > 1.0  # the clip does move
