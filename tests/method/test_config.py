"""ReenactConfig: the paper's defaults, validation messages, JSON round trip."""

from __future__ import annotations

import json

import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.config import ReenactConfig, default_pose_layers


def test_defaults_are_the_papers_and_the_measured_choices():
    c = ReenactConfig()
    assert (c.alpha, c.beta, c.gamma, c.zeta) == (-1.0, 1.0, 1.0, 0.5)
    assert c.constrained_layers == (3, 4, 5, 6, 7)
    assert c.resolved_pose_layers(16) == (0, 1, 2, 3, 4, 5, 6, 7)
    assert (c.method, c.canonical_mode, c.residual_form, c.local_mode) == (
        "video2stylegan", "relative", "accumulated", "relative")
    assert c.canonical_feedback and c.zeta_anchor == "reference"
    assert (c.transform_from, c.pose_from, c.codriving_length) == ("driving", "driving", "loop")
    assert c.smoothing_kernel == 3 and c.smoothing_edges == "shrink"
    assert c.use_canonical and c.use_pose and c.use_local and c.use_residual


def test_pose_layers_first_half_on_smaller_networks():
    assert default_pose_layers(16) == tuple(range(8))
    assert default_pose_layers(10) == tuple(range(5))
    assert ReenactConfig(pose_layers=[2, 0]).resolved_pose_layers(16) == (0, 2)


@pytest.mark.parametrize(
    "field, value",
    [
        ("method", "fomm"),
        ("alpha", float("nan")),
        ("zeta", "0.5"),
        ("beta", True),
        ("use_pose", 1),
        ("transform_from", "reference"),
        ("pose_from", "codriving"),
        ("smoothing_kernel", 4),
        ("smoothing_kernel", 0),
        ("smoothing_edges", "wrap"),
        ("canonical_mode", "relativ"),
        ("residual_form", "sum"),
        ("constrained_layers", []),
        ("constrained_layers", [3, 3]),
        ("constrained_layers", [-1]),
        ("constrained_layers", [2.5]),
        ("pose_layers", "0-7"),
        ("local_mode", "delta"),
        ("zeta_anchor", "pose"),
        ("canonical_feedback", "yes"),
        ("codriving_length", "pad"),
    ],
)
def test_invalid_values_name_the_field(field, value):
    with pytest.raises(InvalidOptionError, match=field):
        ReenactConfig(**{field: value})


def test_layers_checked_against_the_network():
    c = ReenactConfig(constrained_layers=(3, 14))
    c.validate()
    with pytest.raises(InvalidOptionError, match=r"0\.\.9"):
        c.validate(num_ws=10)


def test_dict_round_trip_through_json():
    c = ReenactConfig(alpha=-0.5, zeta=1, local_mode="relative", transform_from="co-driving",
                      constrained_layers=[7, 3, 4], pose_layers=(0, 1, 2, 3), codriving_length="truncate")
    d = c.to_dict()
    assert d["constrained_layers"] == [3, 4, 7] and d["zeta"] == 1.0 and isinstance(d["zeta"], float)
    back = ReenactConfig.from_dict(json.loads(json.dumps(d)))
    assert back == c
    assert back.pose_layers == (0, 1, 2, 3)


def test_from_dict_refuses_unknown_keys():
    with pytest.raises(InvalidOptionError, match="unknown method option.*'gama'"):
        ReenactConfig.from_dict({"gama": 1.0})
    with pytest.raises(InvalidOptionError, match="mapping"):
        ReenactConfig.from_dict([("alpha", 1.0)])


def test_sources_follow_the_switches():
    assert ReenactConfig().canonical_source == "driving"
    assert ReenactConfig(use_canonical=False).canonical_source == "none"
    assert ReenactConfig(method="baseline").canonical_source == "none"
    assert ReenactConfig(method="baseline").pose_source == "none"
    c = ReenactConfig(pose_from="co-driving")
    assert c.pose_source == "co-driving" and c.needs_codriving
    assert not ReenactConfig(pose_from="co-driving", use_pose=False).needs_codriving


def test_combination_kwargs():
    kw = ReenactConfig(gamma=2, constrained_layers=(4, 5)).combination_kwargs(16)
    assert kw == dict(alpha=-1.0, beta=1.0, gamma=2.0, zeta=0.5, constrained_layers=(4, 5),
                      pose_layers=tuple(range(8)), local_mode="relative", zeta_anchor="reference")
