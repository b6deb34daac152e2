"""Option types shared by several subcommands."""

from __future__ import annotations

import argparse
import math

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
