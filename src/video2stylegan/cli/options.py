"""Option types shared by several subcommands."""

from __future__ import annotations

import argparse

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
