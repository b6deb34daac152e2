"""Turning generated crops into the frames of the output video.

:func:`compose_frames` yields the output frames lazily: the generated crop, or
the crop pasted back into the source photo (``paste_back``), optionally beside
the source and the driving frame (``side_by_side``: source | driving | result,
all scaled to the result's height).

The paste-back keeps the photo's full resolution (only the crop is warped,
up or down, to the photo's pixels) and is seamless: the face region only,
colour-matched to the photo, Poisson-blended (:func:`video2stylegan.faces.paste_face`;
``blend`` picks another of :data:`video2stylegan.faces.BLENDS`, ``"square"``
the old whole-crop alpha paste).

:func:`write_output` encodes them: one video, or with ``--cuts split`` one video per shot of the
driving clip (:func:`shot_paths` names them after the output: ``result.shot01.mp4``, ...). The shot
files appear together or not at all: each is written under a temporary name beside its target
(:func:`video2stylegan.io.atomic.atomic_output`) and renamed only once every shot is encoded; a
failure removes the temporary files and any shot file the run had created
(:func:`video2stylegan.io.outputs.removed_on_failure`). :func:`check_shot_outputs` refuses, before
any work, shot names that would replace an input of the run.
"""

from __future__ import annotations

import os
import re
from contextlib import ExitStack
from itertools import islice
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image

from video2stylegan import faces
from video2stylegan.errors import InvalidOptionError, OutputError
from video2stylegan.faces.paste import DEFAULT_BLEND
from video2stylegan.io.atomic import atomic_output
from video2stylegan.io.outputs import check_output, removed_on_failure
from video2stylegan.io.video import write_video

__all__ = ["check_shot_outputs", "compose_frames", "fit_height", "shot_paths", "write_output"]


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """Scale an ``(H, W, 3)`` uint8 image to ``height`` rows, keeping its aspect (even width)."""
    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(2, int(round(w * height / h / 2)) * 2)
    resample = Image.Resampling.LANCZOS if height < h else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))


def compose_frames(
    results,
    *,
    source=None,
    driving=None,
    paste_back: bool = False,
    side_by_side: bool = False,
    blend: str = DEFAULT_BLEND,
) -> Iterator[np.ndarray]:
    """Output frames from generated crops ``results`` (iterable of ``(R, R, 3)`` uint8).

    ``source``: the :class:`~video2stylegan.pipeline.inputs.SourceFace` (needed by
    ``paste_back`` and ``side_by_side``); ``driving``: the driving frames
    ``(T, H, W, 3)`` (needed by ``side_by_side``). ``blend``: how ``paste_back``
    blends, one of :data:`~video2stylegan.faces.BLENDS` or ``"square"``.
    """
    if paste_back and blend not in (*faces.BLENDS, "square"):
        raise InvalidOptionError(f"blend must be one of {(*faces.BLENDS, 'square')}, got {blend!r}")
    left = None
    mask = None
    for j, crop in enumerate(results):
        frame = crop
        if paste_back and blend == "square":
            frame = faces.paste_back(source.image, crop, source.aligned, mask="crop")
        elif paste_back:
            if mask is None:  # the same photo and alignment every frame: one mask
                mask = faces.blend_mask(source.aligned, source.image.shape[:2], mode="face")
            frame = faces.paste_face(source.image, crop, source.aligned, blend=blend, mask=mask)
        if side_by_side:
            height = frame.shape[0]
            if left is None:
                ref = source.image if paste_back else source.aligned.image
                left = fit_height(ref, height)
            drive = fit_height(driving[min(j, len(driving) - 1)], height)
            frame = np.concatenate([left, drive, frame], axis=1)
        yield frame


def shot_paths(out, count: int) -> list[Path]:
    """The files of ``count`` shots written for the output ``out``: ``result.mp4`` ->
    ``result.shot01.mp4``, ``result.shot02.mp4``, ... numbered from 1, zero-padded to the width of
    ``count`` and at least two digits (``result.shot001.mp4`` from 100 shots on)."""
    out = Path(out)
    if isinstance(count, bool) or int(count) < 1:
        raise ValueError(f"count must be a positive number of shots, got {count!r}")
    width = max(2, len(str(int(count))))
    return [out.with_name(f"{out.stem}.shot{k:0{width}d}{out.suffix}") for k in range(1, int(count) + 1)]


def _shot_name_pattern(out: Path) -> re.Pattern:
    """The names :func:`shot_paths` can give for ``out``, whatever the number of shots."""
    return re.compile(rf"{re.escape(out.stem)}\.shot\d{{2,}}{re.escape(out.suffix)}")


def check_shot_outputs(out, inputs, *, what: str = "--out", count: int | None = None) -> list[Path]:
    """Refuse (:class:`~video2stylegan.errors.OutputError`) shot files of ``out`` that would replace one of
    ``inputs`` (see :func:`video2stylegan.io.outputs.check_output`) or cannot be written.

    ``count``: the number of shots, when known; its :func:`shot_paths` are checked and returned. Before
    the clip is read the count is not known (``None``): every existing file in ``out``'s folder with a
    shot file's name, for any count, is checked against ``inputs`` (an input can only be replaced through
    a name that exists: the input itself, or a link to it), and nothing is returned.
    """
    out = Path(out)
    note = f" (--cuts split writes one file per shot, named after {what} {out.name}: {shot_paths(out, 1)[0].name}, ...)"
    if count is not None:
        candidates = shot_paths(out, count)
    else:
        folder = out.parent if str(out.parent) else Path(".")
        pattern = _shot_name_pattern(out)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            entries = []  # the folder's own problems are check_output's to report, for out itself
        candidates = [folder / e.name for e in entries if pattern.fullmatch(e.name) and not e.is_dir()]
    for path in candidates:
        try:
            check_output(path, inputs, what=what)
        except OutputError as exc:
            raise OutputError(f"{exc}{note}") from None
    return candidates if count is not None else []


def write_output(out, frames, fps: float, *, shots=None, audio_from=None) -> list[Path]:
    """Encode the output ``frames`` (an iterable of ``(H, W, 3)`` uint8, consumed lazily) and return the
    files written.

    ``shots``: ``None`` writes the one video ``out``. Otherwise the ``(start, stop)`` frame ranges of the
    shots, in order and back to back from frame 0 (:func:`video2stylegan.faces.shots.segments`):
    each shot's frames go to its own video, named by :func:`shot_paths`, all renamed into place
    together once every shot is encoded; a failure leaves none of them (nor their temporary files),
    and shot files that existed before keep their contents. ``audio_from``: a video whose audio is
    muxed in (:func:`video2stylegan.io.video.write_video`); each shot file gets the audio of its own
    frames, from ``start / fps`` seconds on.
    """
    out = Path(out)
    if shots is None:
        return [write_video(out, frames, fps, audio_from=audio_from)]
    shots = [(int(a), int(b)) for a, b in shots]
    if not shots or shots[0][0] != 0 or any(b <= a for a, b in shots) \
            or any(b != c for (_, b), (c, _) in zip(shots, shots[1:])):
        raise ValueError(f"shots must be non-empty frame ranges back to back from frame 0, got {shots}")
    paths = shot_paths(out, len(shots))
    frames = iter(frames)
    folder = out.parent if str(out.parent) else Path(".")
    # outer: removes the shot files this call created if anything below fails, renaming included;
    # inner: one temporary file per shot, renamed into place only when the stack closes without error
    with removed_on_failure(folder, [p.name for p in paths]), ExitStack() as stack:
        temporary = [stack.enter_context(atomic_output(p, suffix=".tmp.mp4", what="video")) for p in paths]
        for tmp, (a, b) in zip(temporary, shots):
            write_video(tmp, islice(frames, b - a), fps, audio_from=audio_from, audio_start=a / float(fps))
    return paths
