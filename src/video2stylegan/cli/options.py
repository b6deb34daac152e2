"""Option types shared by several subcommands, and options generated from a dataclass field.

A setting is written once, as a dataclass field made by :func:`video2stylegan.checks.setting`, whose metadata
holds its help, choices and bounds::

    alpha: float = setting(-1.0, "...", range=(-10, 10), advised=(-2, 2))

:func:`add_field_option` turns such a field into an ``argparse`` option: its flag, type, choices and help
(with the range and the default) all come from the field, so nothing of the setting is restated here.
``range`` is what the field accepts (refused outside, at parse time here and by the dataclass's own
check in the Python API); ``advised`` (optional) is the documented range inside it, outside which the
dataclass logs a warning.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, Field, fields

from video2stylegan.checks import kind_of, number_text, option_name, range_text
from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.detection import DETECTORS, SMALLEST_FACE_PX, UPSAMPLE_MAX
from video2stylegan.io.video import FPS_RANGE, check_fps

#: ``"0.1 to 240"``: the range of ``--fps``, for the options' help.
FPS_RANGE_TEXT = f"{FPS_RANGE[0]:g} to {FPS_RANGE[1]:g}"


def fps_type(text: str) -> float:
    """``--fps``: a finite frame rate within :data:`~video2stylegan.io.video.FPS_RANGE`, refused at parse time
    (``inf``, ``1e308``, ``1e11`` or ``1e-300`` would otherwise fail only when the video is written)."""
    try:
        return check_fps(text, "--fps")
    except InvalidOptionError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def bounded_float(low: float, high: float | None = None):
    """An argparse type: a finite number in ``[low, high]`` (no upper end when ``high`` is None; ``nan``,
    ``inf`` and values outside refused at parse time, with the range in the message; state the range in the
    option's help too)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{text} is not a finite number {range_text(low, high)}")
        return value

    return parse


def bounded_int(low: int, high: int | None = None):
    """An argparse type: an integer in ``[low, high]`` (no upper end when ``high`` is None), refused at
    parse time with the range in the message. Limits that size allocations go here, so that an absurd
    value fails in milliseconds instead of after minutes or with an out-of-memory error."""

    def parse(text: str) -> int:
        shown = text if len(text) <= 30 else text[:27] + "..."
        try:
            value = int(text)
        except ValueError:
            if text.strip().lstrip("+-").isdigit():  # more digits than int() reads (4300): out of any range
                raise argparse.ArgumentTypeError(f"{shown} is not an integer {range_text(low, high)}") from None
            raise argparse.ArgumentTypeError(f"expected an integer, got {shown!r}") from None
        if value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"{shown} is not an integer {range_text(low, high)}")
        return value

    return parse


def field_type(f: Field):
    """The parse-time type of field ``f`` (of each item, for a tuple): an integer or a finite number within its
    ``range`` (refused at parse time with the range in the message), else the text as given."""
    kind = kind_of(f)
    number = kind.item if kind.base is tuple else kind.base
    bounds = f.metadata.get("range")
    if number is int:
        return bounded_int(*bounds) if bounds is not None else int
    if number is float:
        return bounded_float(*bounds) if bounds is not None else bounded_float(-math.inf, math.inf)
    return str


def _value_text(value) -> str:
    """A default as typed on the command line: ``-1``, ``0.5``, ``driving``, ``3 4 5 6 7``."""
    if isinstance(value, (tuple, list)):
        return " ".join(_value_text(v) for v in value)
    return number_text(value) if isinstance(value, (int, float)) else str(value)


def field_help(f: Field, default_text: str | None = None) -> str:
    """The field's help with its range (each item's, for a tuple), its advised range and its default
    (``default_text`` when given, else the field's ``default_text`` metadata, else its default value)."""
    kind, meta = kind_of(f), f.metadata
    parts = [meta["help"]]
    bounds, advised = meta.get("range"), meta.get("advised")
    each = "each " if kind.base is tuple else ""
    if advised is not None:
        parts.append(f"{range_text(*advised).removeprefix('from ')}; "
                     f"{range_text(*bounds).removeprefix('from ')} accepted with a warning")
    elif bounds is not None:
        parts.append(each + range_text(*bounds).removeprefix("from ").removeprefix("of "))
    default_text = default_text or meta.get("default_text")
    if kind.base is bool:
        parts.append("on by default; this switch turns it off" if f.default else
                     "off by default; this switch turns it on")
    elif default_text is not None:
        parts.append(f"default: {default_text}")
    elif f.default is not MISSING and f.default is not None:
        parts.append(f"default {_value_text(f.default)}")
    return f"{parts[0]} ({'; '.join(parts[1:])})" if len(parts) > 1 else parts[0]


def add_field_option(parser, f: Field, *, default_text: str | None = None, **kwargs) -> argparse.Action:
    """Add dataclass field ``f``'s option to ``parser`` (or an argument group); everything comes from the
    field (:mod:`video2stylegan.checks`):

    - the flag: ``--field-name``, or ``--no-field-name`` for a switch that is on by default, or the field's
      ``option`` metadata (``--no-canonical`` for ``use_canonical``);
    - a ``bool`` is a switch that stores the opposite of the field's default;
    - a text with ``choices`` takes one of them;
    - an ``int`` or ``float`` is refused at parse time outside its ``range`` (:func:`field_type`);
    - a tuple takes its items after the flag (``--constrained-layers 3 4 5``), each typed and bounded;
    - the help (:func:`field_help`) states the range and the default (``default_text`` overrides how the
      default reads, e.g. when a preset sets it).

    The option's dest is the field's name and its default None, so that an unset option keeps the
    dataclass's default (:func:`field_values` collects the options that were set). ``kwargs`` go to
    ``add_argument`` as they are."""
    kind = kind_of(f)
    kwargs.setdefault("default", None)
    kwargs.setdefault("help", field_help(f, default_text))
    if kind.base is bool:
        kwargs.setdefault("action", "store_const")
        kwargs.setdefault("const", not f.default)
    else:
        kwargs.setdefault("type", field_type(f))
        if "choices" in f.metadata:
            kwargs.setdefault("choices", f.metadata["choices"])
        if kind.base is tuple:
            kwargs.setdefault("nargs", kind.length or "+")
            kwargs.setdefault("metavar", "N" if kind.item is int else "X")
    return parser.add_argument(option_name(f), dest=f.name, **kwargs)


def add_field_options(parser, settings, *, default_text: str | None = None, skip=()) -> tuple[Field, ...]:
    """:func:`add_field_option` for every field of dataclass ``settings`` (but those named in ``skip``), in
    their order; returns the fields added."""
    added = tuple(f for f in fields(settings) if f.name not in skip)
    for f in added:
        add_field_option(parser, f, default_text=default_text)
    return added


def field_values(args: argparse.Namespace, settings) -> dict:
    """``{field name: value}`` of the options of dataclass ``settings`` that were set on the command line."""
    return {f.name: getattr(args, f.name) for f in fields(settings) if getattr(args, f.name, None) is not None}


def face_choice_type(text: str):
    """``--face``: "largest", "previous" or an integer index (0 = largest), checked at parse time."""
    if text in ("largest", "previous"):
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'largest', 'previous' or an integer, got {text!r}") from None


def face_index_type(text: str) -> int:
    """``--source-face``: "largest" or an integer index among the faces, largest first (0 = largest)."""
    if text == "largest":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected 'largest' or an integer face index (0 = largest), "
                                         f"got {text!r}") from None


def upsample_type(text: str):
    """``--upsample``: "auto" or an integer from 0 to ``UPSAMPLE_MAX``, refused at parse time."""
    if text == "auto":
        return "auto"
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= UPSAMPLE_MAX:
        raise argparse.ArgumentTypeError(f"expected 'auto' or an integer from 0 to {UPSAMPLE_MAX}, got {text!r}")
    return value


def add_detector_options(parser) -> None:
    """``--detector`` and ``--upsample``, the face detector's options (``faces``, ``reenact``)."""
    parser.add_argument("--detector", choices=DETECTORS, default="hog",
                        help="dlib detector: hog (default, fast) or cnn (more robust to pose and blur, slow "
                             "without CUDA)")
    parser.add_argument("--upsample", default="auto", type=upsample_type,
                        help=f"times the detector doubles the image, 0 to {UPSAMPLE_MAX} or auto (default): each "
                             f"doubling finds faces half as small (about {SMALLEST_FACE_PX} px at 0) at 4x the "
                             "time and memory")
