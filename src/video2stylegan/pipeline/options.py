"""The run's own settings: :class:`RunOptions` (where the output goes, how faces are found, memory, progress).

``reenact`` takes three settings objects besides its inputs: :class:`RunOptions` (this module, how the run
goes), :class:`~video2stylegan.method.config.ReenactConfig` (what the method does) and
:class:`~video2stylegan.pipeline.embedding.EmbeddingOptions` (the optimisation budgets). Each is frozen and
checks itself once, on construction; the stages read them and change nothing.

Each field is a :func:`~video2stylegan.checks.setting` whose help says what it sets. Several fields take
values the generated command line does not parse from a field's type alone (a path, ``False`` for no
cache, ``"largest"`` or an index): their options stay hand-written in ``cli/reenact_cmd.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from video2stylegan.checks import check_bool, check_int, check_text, setting
from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.detection import DETECTORS
from video2stylegan.faces.video import ON_MISSING, TrackOptions
from video2stylegan.io.video import check_fps
from video2stylegan.method.cache import CacheFolder
from video2stylegan.networks.registry import cache_dir as default_cache_dir

__all__ = ["RunOptions", "default_cache_dir"]


@dataclass(frozen=True)
class RunOptions:
    """How one ``reenact`` run goes: its output, the face finding, memory and progress (not the method)."""

    out: Path | None = setting(None, "the .mp4 to write; None: only return the frames (with cuts='split' the "
                               "name the shot files are named after)")
    fps: float | None = setting(None, "frame rate of the output, 0.1 to 240; with keep_audio it must be the "
                                "driving clip's", default_text="the driving clip's")
    max_frames: int | None = setting(None, "use at most this many driving frames", range=(1, None),
                                     default_text="all")
    device: str = setting("auto", "auto, cpu, cuda or cuda:N")
    cache_dir: Path | bool | None = setting(None, "folder of the projections, PTI and calibrations; False: "
                                            "store nothing", default_text="$VIDEO2STYLEGAN_CACHE or "
                                                                          "~/.cache/video2stylegan")
    paste_back: bool = setting(False, "paste the generated face back into the source photo")
    side_by_side: bool = setting(False, "write source | driving | result side by side")
    keep_audio: bool = setting(False, "copy the driving clip's audio into the output")
    on_missing_face: str = setting("interpolate", "driving frames without a detectable face: interpolate "
                                   "their landmarks from the neighbours, or fail the run", choices=ON_MISSING)
    face: int | str = setting("previous", "the face tracked in the driving (and co-driving) clip: previous, "
                              "largest or an index (0 = largest)")
    source_face: int | str = setting("largest", "the portrait's face: largest or an index (0 = largest)")
    detector: str = setting("hog", "the face detector, for the portrait and the clips", choices=DETECTORS)
    upsample: int | str = setting("auto", "times the detector doubles the image, an integer or auto")
    render_batch: int = setting(8, "frames rendered (and composed and encoded) at a time", range=(1, None))
    low_memory: bool = setting(False, "recompute activations in backward passes: about 0.4x the memory, "
                               "about 12 % more time on a CPU")
    keep_frames: bool | None = setting(None, "where the result's frames live: True in memory, False in a "
                                       "temporary file read back frame by frame",
                                       default_text="in memory without out or up to KEEP_FRAMES_BYTES, else a file")
    progress: bool = setting(True, "progress bars")

    def __post_init__(self) -> None:
        # checked once, here; a frozen dataclass stores the canonical values as part of construction
        for name, value in self._checked().items():
            object.__setattr__(self, name, value)
        # the clips' face options, built (and checked, by faces.TrackOptions: detector, on_missing) once
        object.__setattr__(self, "_tracking", TrackOptions(choose=self.face, detector=self.detector,
                                                           upsample=self.upsample, on_missing=self.on_missing_face))

    def _checked(self) -> dict:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.out is not None:
            values["out"] = Path(self.out)
            if values["out"].suffix.lower() != ".mp4":
                raise InvalidOptionError(f"the output must be an .mp4 file, got {self.out}")
        if self.max_frames is not None and (isinstance(self.max_frames, bool) or int(self.max_frames) < 1):
            raise InvalidOptionError(f"max_frames must be a positive integer, got {self.max_frames!r}")
        if self.max_frames is not None:
            values["max_frames"] = int(self.max_frames)
        if self.fps is not None:
            values["fps"] = check_fps(self.fps)
        if self.cache_dir is not None and self.cache_dir is not False:
            if not isinstance(self.cache_dir, (str, os.PathLike)):
                raise InvalidOptionError(f"cache_dir must be a folder, None (the default folder) or False (no "
                                         f"cache), got {self.cache_dir!r}")
            values["cache_dir"] = Path(self.cache_dir)
        for name in ("paste_back", "side_by_side", "keep_audio", "low_memory", "progress"):
            values[name] = check_bool(name, getattr(self, name))
        if self.keep_frames is not None:
            values["keep_frames"] = check_bool("keep_frames", self.keep_frames)
        values["render_batch"] = check_int("render_batch", self.render_batch, 1)
        values["device"] = check_text("device", self.device)
        return values

    @property
    def cache(self) -> CacheFolder | None:
        """The cache folder (``None`` with ``cache_dir=False``: nothing is stored)."""
        if self.cache_dir is False:
            return None
        return CacheFolder(self.cache_dir if self.cache_dir is not None else default_cache_dir())

    @property
    def tracking(self) -> TrackOptions:
        """How the clips' face is found and followed (:func:`~video2stylegan.pipeline.inputs.load_clip`)."""
        return self._tracking
