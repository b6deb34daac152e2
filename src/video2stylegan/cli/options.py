"""Option types shared by several subcommands, and options generated from a dataclass field.

A setting is written once, as a dataclass field whose metadata holds its help and range::

    alpha: float = field(default=-1.0, metadata={"help": "...", "range": (-10, 10), "advised": (-2, 2)})

``range`` is what the field accepts (refused outside, at parse time here and by the
dataclass's own validation in the Python API); ``advised`` (optional) is the documented
range inside it, outside which the dataclass logs a warning. :func:`add_field_option`
turns such a field into an ``argparse`` option whose help states the range.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import MISSING, Field

from video2stylegan.errors import InvalidOptionError
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


def bounded_float(low: float, high: float):
    """An argparse type: a finite number in ``[low, high]`` (``nan``, ``inf`` and values outside refused at parse
    time, with the range in the message; state the range in the option's help too)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if not math.isfinite(value) or not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{text} is not a finite number from {low:g} to {high:g}")
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


def _number(value) -> str:
    """An integer in full (``4294967295``), a float short (``1e-08``, ``0.5``)."""
    return str(value) if isinstance(value, int) else f"{value:g}"


def range_text(low, high) -> str:
    """``"from 8 to 4096"``, or ``"of at least 1"`` without an upper end."""
    if high is None:
        return f"of at least {_number(low)}"
    return f"from {_number(low)} to {_number(high)}"


def _is_int_field(f: Field) -> bool:
    return f.type in (int, "int")


def field_type(f: Field):
    """The parse-time type of a field with a ``range`` in its metadata (its kind and range), else ``str``."""
    bounds = f.metadata.get("range")
    if bounds is None:
        return str
    return bounded_int(*bounds) if _is_int_field(f) else bounded_float(*bounds)


def field_help(f: Field) -> str:
    """The field's help with its range, its advised range and its default."""
    parts = [f.metadata["help"]]
    bounds, advised = f.metadata.get("range"), f.metadata.get("advised")
    if advised is not None:
        parts.append(f"{range_text(*advised).removeprefix('from ')}; "
                     f"{range_text(*bounds).removeprefix('from ')} accepted with a warning")
    elif bounds is not None:
        parts.append(range_text(*bounds).removeprefix("from ").removeprefix("of "))
    if f.default is not MISSING and f.default is not None:
        parts.append(f"default {_number(f.default) if isinstance(f.default, (int, float)) else f.default}")
    return f"{parts[0]} ({'; '.join(parts[1:])})" if len(parts) > 1 else parts[0]


def add_field_option(parser, f: Field, **kwargs) -> argparse.Action:
    """Add ``--field-name`` for dataclass field ``f`` (dest: the field's name; default None, so an unset
    option keeps the dataclass's default), typed and described by the field's metadata."""
    option = "--" + f.name.replace("_", "-")
    kwargs.setdefault("default", None)
    return parser.add_argument(option, dest=f.name, type=field_type(f), help=field_help(f), **kwargs)


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
    from video2stylegan.faces.detection import UPSAMPLE_MAX

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
    from video2stylegan.faces.detection import DETECTORS, SMALLEST_FACE_PX, UPSAMPLE_MAX

    parser.add_argument("--detector", choices=DETECTORS, default="hog",
                        help="dlib detector: hog (default, fast) or cnn (more robust to pose and blur, slow "
                             "without CUDA)")
    parser.add_argument("--upsample", default="auto", type=upsample_type,
                        help=f"times the detector doubles the image, 0 to {UPSAMPLE_MAX} or auto (default): each "
                             f"doubling finds faces half as small (about {SMALLEST_FACE_PX} px at 0) at 4x the "
                             "time and memory")
