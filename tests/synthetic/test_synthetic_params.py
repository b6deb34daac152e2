"""Parameters: flat vectors, ranges, seeded sampling."""

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic.params import (
    NATURAL_POSE_SIGMA,
    Expression,
    HeadParams,
    Identity,
    Pose,
    sample_params,
    sample_pose,
)


def test_vector_and_unit_round_trips():
    p = sample_params(3)
    v = p.to_vector()
    assert v.shape == (HeadParams.size(),) == (len(HeadParams.names()),)
    assert HeadParams.from_vector(v) == p
    u = p.to_unit()
    assert np.allclose(HeadParams.from_unit(u).to_vector(), v)
    # The unit vector of a sampled identity/expression lies in [0, 1].
    k = Identity.size() + Expression.size()
    assert np.all((u[:k] >= 0) & (u[:k] <= 1))


def test_names_match_vector_layout():
    p = HeadParams(pose=Pose(yaw=12.5))
    assert p.to_vector()[HeadParams.names().index("yaw")] == 12.5
    assert p.to_vector()[HeadParams.names().index("head_width")] == 1.0


def test_wrong_vector_length_is_a_clear_error():
    with pytest.raises(InvalidOptionError, match="needs 6 values"):
        Pose.from_vector([1.0, 2.0])
    with pytest.raises(InvalidOptionError, match="needs 37 values"):
        HeadParams.from_vector(np.zeros(5))


def test_sampling_is_deterministic_and_seed_dependent():
    assert sample_params(42) == sample_params(42)
    assert sample_params(42) != sample_params(43)
    a = np.random.default_rng(5)
    b = np.random.default_rng(5)
    assert sample_params(a) == sample_params(b)


def test_samples_stay_in_documented_ranges():
    vs = np.stack([sample_params(s).to_vector() for s in range(300)])
    lo = np.concatenate([c.bounds()[0] for c in (Identity, Expression, Pose)])
    hi = np.concatenate([c.bounds()[1] for c in (Identity, Expression, Pose)])
    assert np.all(vs >= lo - 1e-12) and np.all(vs <= hi + 1e-12)
    # Eyes are open in random samples (blinks come from trajectories).
    i = HeadParams.names().index("eye_open_left")
    assert vs[:, i].min() >= 0.55


def test_natural_pose_distribution_spread_and_uniform_option():
    rng = np.random.default_rng(0)
    natural = np.stack([sample_pose(rng).to_vector() for _ in range(2000)])
    uniform = np.stack([sample_pose(rng, "uniform").to_vector() for _ in range(2000)])
    for j, name in enumerate(("yaw", "pitch", "roll")):
        sd = natural[:, j].std()
        # Clipping at the range only trims the tails a little.
        assert 0.85 * NATURAL_POSE_SIGMA[name] < sd < 1.1 * NATURAL_POSE_SIGMA[name], (name, sd)
        lo, hi = Pose.SPEC[name]
        assert natural[:, j].min() >= lo and natural[:, j].max() <= hi
        # Uniform over [lo, hi] has sd (hi - lo) / sqrt(12).
        assert abs(uniform[:, j].std() - (hi - lo) / np.sqrt(12)) < 0.05 * (hi - lo)
    with pytest.raises(InvalidOptionError, match="natural"):
        sample_pose(rng, "gaussian")
