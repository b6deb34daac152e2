"""Settings written once: a dataclass field that carries its help, choices and bounds, and the checks it gets.

A settings dataclass (:class:`~video2stylegan.method.config.ReenactConfig`,
:class:`~video2stylegan.pipeline.embedding.EmbeddingOptions`,
:class:`~video2stylegan.training.config.TrainConfig`) declares each field with :func:`setting`::

    alpha: float = setting(-1.0, "Eq. 1 weight of the reference's local styles", range=(-10, 10), advised=(-2, 2))

and checks itself once, in ``__post_init__``, with :func:`check_settings`, which reads the field's
type (``bool``, ``int``, ``float``, ``str``, ``tuple[int, ...]``, ``tuple[float, float]``, each
possibly ``| None``) and its metadata. The command line is generated from the same fields
(:func:`video2stylegan.cli.options.add_field_option`), so a name, default, help text or bound is
written in one place.

Metadata keys: ``help`` (what the setting does), ``choices`` (the values a text setting takes),
``range`` (``(low, high)``: what a number, or each item of a tuple, may be; ``high`` None for no upper
end), ``advised`` (the documented range inside ``range``; the dataclass warns outside it), ``check``
(one more ``check(name, value) -> value`` after the type, choices and range, for a rule such as "odd"),
``option`` (the command-line flag when it is not ``--field-name``, e.g. ``--no-canonical``) and
``default_text`` (how the default reads in the help when the value alone does not say it).

Every ``check_*`` function takes the setting's name and a value and returns the value in its canonical
form (a bool, an int, a float, a tuple), or raises :class:`InvalidOptionError` whose message names the
setting, its accepted values and the value given. None of them changes anything it is given.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import MISSING, Field, field, fields
from functools import lru_cache
from typing import NamedTuple

from video2stylegan.errors import InvalidOptionError


def setting(default=MISSING, help: str = "", *, choices: tuple | None = None, range: tuple | None = None,
            advised: tuple | None = None, check=None, option: str | None = None, default_text: str | None = None):
    """A dataclass field whose metadata holds its ``help`` and, where given, its ``choices``, accepted
    ``range``, ``advised`` range, extra ``check``, command-line ``option`` and ``default_text``."""
    if not help:
        raise TypeError("a setting needs its help text")
    metadata = {"help": help}
    for key, value in (("choices", choices), ("range", range), ("advised", advised), ("check", check),
                       ("option", option), ("default_text", default_text)):
        if value is not None:
            metadata[key] = tuple(value) if key in ("choices", "range", "advised") else value
    return field(default=default, metadata=metadata)


# ------------------------------------------------------------------------------------------ field types
class Kind(NamedTuple):
    """What a field's annotation says: ``base`` (bool, int, float, str or tuple), the ``item`` type of a
    tuple, its fixed ``length`` (None for ``tuple[X, ...]``), and whether None is ``optional``."""

    base: type
    item: type | None = None
    length: int | None = None
    optional: bool = False


#: The names a setting's annotation may use (fields are annotated with builtins only).
_TYPE_NAMES = {"bool": bool, "int": int, "float": float, "str": str, "tuple": tuple, "None": None}


@lru_cache(maxsize=None)
def _parse_kind(annotation: str) -> Kind:
    parts = [p.strip() for p in annotation.split("|")]
    optional = "None" in parts
    parts = [p for p in parts if p != "None"]
    if len(parts) != 1:
        raise TypeError(f"a setting's annotation must be one type, possibly '| None'; got {annotation!r}")
    text = parts[0]
    if text in _TYPE_NAMES and text != "None":
        return Kind(_TYPE_NAMES[text], optional=optional)
    if text.startswith("tuple[") and text.endswith("]"):
        items = [p.strip() for p in text[len("tuple["):-1].split(",")]
        if len(items) == 2 and items[1] == "...":
            length = None
        elif len(set(items)) == 1:
            length = len(items)
        else:
            raise TypeError(f"a setting's tuple must hold one type, got {annotation!r}")
        if items[0] not in ("int", "float"):
            raise TypeError(f"a setting's tuple holds int or float, got {annotation!r}")
        return Kind(tuple, _TYPE_NAMES[items[0]], length, optional)
    raise TypeError(f"a setting's annotation must use bool, int, float, str or tuple[...]; got {annotation!r}")


def kind_of(f: Field) -> Kind:
    """The :class:`Kind` of dataclass field ``f``, read from its annotation."""
    annotation = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
    return _parse_kind(annotation)


def option_name(f: Field) -> str:
    """The command-line flag of field ``f``: its ``option`` metadata, else ``--no-name`` for a switch that is
    on by default and ``--name`` otherwise (underscores become hyphens)."""
    if "option" in f.metadata:
        return f.metadata["option"]
    flag = f.name.replace("_", "-")
    return f"--no-{flag}" if kind_of(f).base is bool and f.default is True else f"--{flag}"


# ------------------------------------------------------------------------------------------- wording
def number_text(value) -> str:
    """An integer in full (``4294967295``), a float short (``1e-08``, ``0.5``, ``-10``)."""
    return str(value) if isinstance(value, numbers.Integral) else f"{value:g}"


def range_text(low, high) -> str:
    """``"from 8 to 4096"``, or ``"of at least 1"`` without an upper end."""
    if high is None:
        return f"of at least {number_text(low)}"
    return f"from {number_text(low)} to {number_text(high)}"


# -------------------------------------------------------------------------------------------- checks
def check_bool(name: str, value) -> bool:
    """``value`` must be True or False (not 1, not "yes")."""
    if not isinstance(value, bool):
        raise InvalidOptionError(f"{name} must be true or false, got {value!r}")
    return value


def check_choice(name: str, value, choices) -> str:
    """``value`` must be one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise InvalidOptionError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


def check_text(name: str, value) -> str:
    """``value`` must be a string."""
    if not isinstance(value, str):
        raise InvalidOptionError(f"{name} must be text, got {value!r}")
    return value


def check_int(name: str, value, low=None, high=None) -> int:
    """``value`` must be an integer (not a bool, not 2.0) from ``low`` to ``high`` (None: no end)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidOptionError(f"{name} must be an integer, got {value!r}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise InvalidOptionError(f"{name} must be an integer {range_text(low, high)}, got {value!r}")
    return int(value)


def check_float(name: str, value, low=None, high=None) -> float:
    """``value`` must be a finite number (not a bool, not a string) from ``low`` to ``high`` (None: no end)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidOptionError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or (low is not None and value < low) or (high is not None and value > high):
        where = f" {range_text(low, high)}" if low is not None else ""
        raise InvalidOptionError(f"{name} must be a finite number{where}, got {value!r}")
    return float(value)


def check_items(name: str, value, item: type, low=None, high=None, length: int | None = None) -> tuple:
    """``value`` must be a sequence (``length`` items when given, at least one otherwise) of integers
    (``item`` int; 3.0 counts as 3) or finite numbers (``item`` float), each from ``low`` to ``high``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise InvalidOptionError(f"{name} must be a sequence of {_items_text(item, low, high)}, got {value!r}")
    values = tuple(value)
    count = f"{length} " if length is not None else ""
    if (length is not None and len(values) != length) or not values:
        raise InvalidOptionError(f"{name} must be {count or 'a non-empty sequence of '}"
                                 f"{_items_text(item, low, high)}, got {value!r}")
    out = []
    for v in values:
        if item is int and isinstance(v, numbers.Real) and not isinstance(v, (bool, numbers.Integral)) \
                and math.isfinite(v) and float(v).is_integer():
            v = int(v)
        try:
            out.append(check_int(name, v, low, high) if item is int else check_float(name, v, low, high))
        except InvalidOptionError:
            raise InvalidOptionError(f"{name} must be {count or 'a sequence of '}{_items_text(item, low, high)}, "
                                     f"got {value!r}") from None
    return tuple(out)


def _items_text(item: type, low, high) -> str:
    what = "integers" if item is int else "finite numbers"
    return f"{what} {range_text(low, high)}" if low is not None else what


def check_distinct(name: str, value: tuple) -> tuple:
    """``value`` must not repeat an item; returned sorted."""
    if len(set(value)) != len(value):
        raise InvalidOptionError(f"{name} must not repeat an item, got {list(value)}")
    return tuple(sorted(value))


def check_odd(name: str, value: int) -> int:
    """``value`` must be odd."""
    if value % 2 == 0:
        raise InvalidOptionError(f"{name} must be odd, got {value!r}")
    return value


def check_power_of_two(name: str, value: int) -> int:
    """``value`` must be a power of two."""
    if value < 1 or value & (value - 1):
        raise InvalidOptionError(f"{name} must be a power of two, got {value!r}")
    return value


# ------------------------------------------------------------------------------------ whole dataclasses
def check_setting(f: Field, value):
    """``value`` checked as field ``f`` declares (type, choices, range, extra check); its canonical form."""
    kind, meta = kind_of(f), f.metadata
    if value is None and kind.optional:
        return None
    low, high = meta.get("range", (None, None))
    if kind.base is bool:
        value = check_bool(f.name, value)
    elif kind.base is int:
        value = check_int(f.name, value, low, high)
    elif kind.base is float:
        value = check_float(f.name, value, low, high)
    elif kind.base is tuple:
        value = check_items(f.name, value, kind.item, low, high, kind.length)
    elif "choices" in meta:
        value = check_choice(f.name, value, meta["choices"])
    else:
        value = check_text(f.name, value)
    if "check" in meta:
        value = meta["check"](f.name, value)
    return value


def check_settings(obj, what: str) -> dict:
    """Every field of dataclass instance ``obj`` checked (:func:`check_setting`); returns ``{name: canonical
    value}``, or raises one :class:`InvalidOptionError` listing each bad field (``what`` names the whole,
    e.g. "training config"). It reads ``obj`` and changes nothing."""
    values, problems = {}, []
    for f in fields(obj):
        try:
            values[f.name] = check_setting(f, getattr(obj, f.name))
        except InvalidOptionError as exc:
            problems.append(str(exc))
    if problems:
        raise InvalidOptionError(f"invalid {what}: " + "; ".join(problems) + ".")
    return values
