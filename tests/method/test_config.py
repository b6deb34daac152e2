"""ReenactConfig: the paper's defaults, validation messages (checked once, nothing changed), JSON round trip."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.checks import kind_of
from video2stylegan.method.config import ReenactConfig, default_pose_layers, weight_fields


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
    with pytest.raises(InvalidOptionError, match=r"constrained_layers must be a sequence of integers from 0 to 9, "
                                                 r"got \(3, 14\) \(the network has 10 ws\)"):
        c.validate(num_ws=10)
    with pytest.raises(InvalidOptionError, match=r"pose_layers .* from 0 to 4, got \(0, 5\)"):
        ReenactConfig(constrained_layers=(1, 2), pose_layers=(5, 0)).validate(num_ws=5)


def test_validate_checks_a_changed_field_and_changes_nothing():
    c = ReenactConfig()
    c.constrained_layers = [7, 3]  # a list, unsorted: construction would have stored (3, 7)
    assert c.validate(num_ws=16) is c and c.constrained_layers == [7, 3]
    assert c.combination_kwargs(16)["constrained_layers"] == (3, 7) and c.constrained_layers == [7, 3]
    c.alpha = 10.5
    with pytest.raises(InvalidOptionError, match="alpha must be a finite number from -10 to 10, got 10.5"):
        c.validate()
    assert c.alpha == 10.5


def test_every_bad_field_is_named_in_one_message():
    with pytest.raises(InvalidOptionError) as info:
        ReenactConfig(method="fomm", zeta=2.0, smoothing_kernel=4, constrained_layers=(3, 3))
    assert str(info.value) == (
        "invalid method configuration: method must be one of 'video2stylegan', 'baseline'; got 'fomm'; "
        "zeta must be a finite number from 0 to 1, got 2.0; smoothing_kernel must be odd, got 4; "
        "constrained_layers must not repeat an item, got [3, 3].")


def test_every_field_carries_its_help_and_its_default_passes_its_own_checks():
    for f in fields(ReenactConfig):
        assert len(f.metadata["help"]) > 20, f.name
        if "choices" in f.metadata:
            assert f.default in f.metadata["choices"], f.name
        if "range" in f.metadata and f.default is not None:
            low, high = f.metadata["range"]
            values = f.default if kind_of(f).base is tuple else (f.default,)
            assert all(low <= v <= (high if high is not None else v) for v in values), f.name
    assert {f.name for f in fields(ReenactConfig) if "choices" in f.metadata} == {
        "method", "transform_from", "pose_from", "smoothing_edges", "canonical_mode", "pose_mode", "residual_form",
        "local_mode", "zeta_anchor", "codriving_length", "cuts"}


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


# ---------------------------------------------------------------- weight ranges (refuse or warn)

@pytest.mark.parametrize("field, value, message", [
    ("alpha", float("inf"), r"alpha must be a finite number from -10 to 10, got inf"),
    ("beta", float("-inf"), r"beta must be a finite number from -10 to 10, got -inf"),
    ("gamma", float("nan"), r"gamma must be a finite number from -10 to 10, got nan"),
    ("zeta", float("nan"), r"zeta must be a finite number from 0 to 1, got nan"),
    ("alpha", 10.5, r"alpha must be a finite number from -10 to 10, got 10.5"),
    ("beta", -1e300, r"beta .* got -1e\+300"),
    ("gamma", 11, r"gamma .* got 11"),
    ("zeta", 5, r"zeta must be a finite number from 0 to 1, got 5"),  # not a share of either style
    ("zeta", -0.01, r"zeta .* got -0.01"),
])
def test_weights_outside_their_accepted_range_are_refused(field, value, message):
    with pytest.raises(InvalidOptionError, match=message):
        ReenactConfig(**{field: value})


@pytest.mark.parametrize("field, value, documented", [
    ("alpha", -2.5, "-2 to 2"),
    ("alpha", 10.0, "-2 to 2"),
    ("beta", 3.0, "-2 to 2"),
    ("beta", -10.0, "-2 to 2"),
    ("gamma", -1.0, "0 to 2"),
    ("gamma", 2.5, "0 to 2"),
])
def test_extrapolated_weights_are_kept_with_one_warning(field, value, documented, caplog):
    with caplog.at_level("WARNING", logger="video2stylegan.method.config"):
        c = ReenactConfig(**{field: value})
        c.validate(num_ws=16)  # a later check (combination_kwargs runs one) does not warn again
        c.combination_kwargs(16)
    assert getattr(c, field) == value
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{field} (--{field}) = {value:g} is outside its documented range {documented}")


def test_weights_inside_the_documented_ranges_do_not_warn(caplog):
    with caplog.at_level("WARNING", logger="video2stylegan.method.config"):
        for values in (dict(alpha=-2, beta=2, gamma=0, zeta=0), dict(alpha=2, beta=-2, gamma=2, zeta=1),
                       dict(alpha=1, beta=0, gamma=0, zeta=1)):
            ReenactConfig(**values)
    assert caplog.records == []


def test_weight_fields_carry_help_and_ranges():
    meta = {f.name: dict(f.metadata) for f in weight_fields()}
    assert list(meta) == ["alpha", "beta", "gamma", "zeta"]
    assert meta["zeta"]["range"] == (0.0, 1.0) and "advised" not in meta["zeta"]
    assert meta["alpha"]["range"] == (-10.0, 10.0) and meta["alpha"]["advised"] == (-2.0, 2.0)
    assert meta["gamma"]["advised"] == (0.0, 2.0)
    assert all(m["help"].startswith("Eq. ") for m in meta.values())
