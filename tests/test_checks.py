"""The uniform checks of settings (video2stylegan.checks): canonical values back, one message naming the setting,
nothing changed."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
import pytest

from video2stylegan.checks import (
    Kind,
    check_bool,
    check_choice,
    check_float,
    check_int,
    check_items,
    check_odd,
    check_power_of_two,
    check_settings,
    kind_of,
    option_name,
    range_text,
    setting,
)
from video2stylegan.errors import InvalidOptionError


def test_integers_are_integers_within_their_range():
    assert check_int("n", 3, 1, 5) == 3 and check_int("n", 5, 1, 5) == 5
    value = check_int("n", np.int64(4), 1, None)
    assert value == 4 and type(value) is int  # canonical: a Python int (JSON and cache keys)
    for bad, message in ((True, "n must be an integer, got True"), (2.0, "n must be an integer, got 2.0"),
                         ("3", "n must be an integer, got '3'"), (0, "n must be an integer from 1 to 5, got 0"),
                         (6, "n must be an integer from 1 to 5, got 6")):
        with pytest.raises(InvalidOptionError) as info:
            check_int("n", bad, 1, 5)
        assert str(info.value) == message
    with pytest.raises(InvalidOptionError, match="n must be an integer of at least 1, got -4"):
        check_int("n", -4, 1, None)


def test_numbers_are_finite_floats_within_their_range():
    value = check_float("x", 1, 0.0, 1.0)
    assert value == 1.0 and type(value) is float
    assert check_float("x", 1e-8, 1e-8, 1.0) == 1e-8
    for bad, message in ((math.nan, "x must be a finite number from 1e-08 to 1, got nan"),
                         (math.inf, "x must be a finite number from 1e-08 to 1, got inf"),
                         (1.5, "x must be a finite number from 1e-08 to 1, got 1.5"),
                         (0.0, "x must be a finite number from 1e-08 to 1, got 0.0"),
                         (False, "x must be a number, got False"), ("0.5", "x must be a number, got '0.5'")):
        with pytest.raises(InvalidOptionError) as info:
            check_float("x", bad, 1e-8, 1.0)
        assert str(info.value) == message


def test_switches_and_choices():
    assert check_bool("on", False) is False
    with pytest.raises(InvalidOptionError, match="on must be true or false, got 1"):
        check_bool("on", 1)
    assert check_choice("mode", "b", ("a", "b")) == "b"
    with pytest.raises(InvalidOptionError, match="mode must be one of 'a', 'b'; got 'c'"):
        check_choice("mode", "c", ("a", "b"))
    with pytest.raises(InvalidOptionError, match="mode must be one of 'a', 'b'; got \\['a'\\]"):
        check_choice("mode", ["a"], ("a", "b"))  # unhashable: refused with the message, not a TypeError


def test_sequences_of_numbers():
    assert check_items("ws", [7, 3.0, np.int64(4)], int, 0, 9) == (7, 3, 4)
    assert check_items("b", (0, 0.5), float, 0.0, 1.0, length=2) == (0.0, 0.5)
    for bad in ([2.5], [10], [-1], "0-7", 5, [], [True]):
        with pytest.raises(InvalidOptionError, match="ws must be"):
            check_items("ws", bad, int, 0, 9)
    with pytest.raises(InvalidOptionError, match=r"b must be 2 finite numbers from 0 to 1, got \(0.5,\)"):
        check_items("b", (0.5,), float, 0.0, 1.0, length=2)
    assert check_odd("k", 5) == 5 and check_power_of_two("r", 64) == 64
    with pytest.raises(InvalidOptionError, match="k must be odd, got 4"):
        check_odd("k", 4)
    with pytest.raises(InvalidOptionError, match="r must be a power of two, got 96"):
        check_power_of_two("r", 96)


@dataclass
class Example:
    size: int = setting(8, "size in pixels", range=(1, 64), check=check_power_of_two)
    share: float = setting(0.5, "a share", range=(0.0, 1.0))
    mode: str = setting("a", "a mode", choices=("a", "b"))
    use_extra: bool = setting(True, "the extra step", option="--no-extra")
    fast: bool = setting(False, "go fast")
    layers: tuple[int, ...] | None = setting(None, "layers", range=(0, 15))
    pair: tuple[float, float] = setting((0.0, 1.0), "a pair", range=(0.0, 1.0))
    path: str | None = setting(None, "a file")


def test_the_type_of_a_setting_comes_from_its_annotation():
    kinds = {f.name: kind_of(f) for f in fields(Example)}
    assert kinds == {"size": Kind(int), "share": Kind(float), "mode": Kind(str), "use_extra": Kind(bool),
                     "fast": Kind(bool), "layers": Kind(tuple, int, None, True), "pair": Kind(tuple, float, 2),
                     "path": Kind(str, optional=True)}
    assert [option_name(f) for f in fields(Example)] == [
        "--size", "--share", "--mode", "--no-extra", "--fast", "--layers", "--pair", "--path"]


def test_a_setting_needs_its_help_and_a_known_type():
    with pytest.raises(TypeError, match="help"):
        setting(1, "")

    @dataclass
    class Odd:
        items: list[int] = setting((1,), "a list")

    with pytest.raises(TypeError, match="list\\[int\\]"):
        kind_of(fields(Odd)[0])


def test_check_settings_names_every_bad_field_and_changes_nothing():
    example = Example(size=np.int64(16), share=1, layers=[3, 1])
    values = check_settings(example, "example")
    assert values == {"size": 16, "share": 1.0, "mode": "a", "use_extra": True, "fast": False, "layers": (3, 1),
                      "pair": (0.0, 1.0), "path": None}
    assert type(values["size"]) is int and type(values["share"]) is float
    assert type(example.size) is np.int64 and example.layers == [3, 1]  # the object itself is left as it is
    bad = Example(size=48, share=math.nan, mode="c", fast="yes", pair=(0.5,), path=3)
    with pytest.raises(InvalidOptionError) as info:
        check_settings(bad, "example")
    assert str(info.value) == (
        "invalid example: size must be a power of two, got 48; share must be a finite number from 0 to 1, got nan; "
        "mode must be one of 'a', 'b'; got 'c'; fast must be true or false, got 'yes'; "
        "pair must be 2 finite numbers from 0 to 1, got (0.5,); path must be text, got 3.")


def test_range_text():
    assert range_text(1, None) == "of at least 1"
    assert range_text(0, 2**32 - 1) == "from 0 to 4294967295"
    assert range_text(-10.0, 10.0) == "from -10 to 10" and range_text(1e-8, 1.0) == "from 1e-08 to 1"
