"""Reading and writing videos with PyAV.

Frames travel as ``uint8`` RGB arrays, ``(H, W, 3)`` each or ``(T, H, W, 3)`` for
a whole clip. Videos are written as H.264 in MP4 (``yuv420p``, the format every
player accepts), atomically: the encoder writes to a hidden temporary file
beside the target, which is renamed over the target only once the file is
complete. An interrupted write therefore leaves no half file.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io.atomic import atomic_output
from video2stylegan.io.images import as_rgb_uint8

log = logging.getLogger(__name__)


#: The largest width or height of a video this package reads (8K); a larger one is refused by
#: :func:`check_video` before anything decodes it (one 16384-px RGB frame alone is 800 MB).
MAX_VIDEO_SIDE = 8192


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe_video` learns about a video from its container, its packets and its first frame.

    ``num_frames``: the count in the container's header (else the packets counted);
    ``stored_frames``: the video packets actually in the file (fewer than ``num_frames`` in a
    truncated file); ``min_fps`` / ``max_fps``: the rates of the longest and shortest gap
    between frame timestamps (``None`` when the file has no timestamps); ``first_frame_decodes``:
    whether the first frame could be decoded. ``fps`` is the stream's rate, or for a clip with
    a :attr:`variable_rate` the average over its timestamps (what the frames are played at).
    """

    width: int
    height: int
    fps: float
    num_frames: int
    has_audio: bool
    stored_frames: int = 0
    min_fps: float | None = None
    max_fps: float | None = None
    first_frame_decodes: bool = True

    @property
    def duration(self) -> float:
        """Length of the video track in seconds (``num_frames / fps``)."""
        return self.num_frames / self.fps if self.fps > 0 else 0.0

    @property
    def variable_rate(self) -> bool:
        """Whether the gaps between frames differ (see :func:`_frame_rates` for the tolerance)."""
        return self.min_fps is not None and self.max_fps is not None and self.min_fps != self.max_fps


def _swscale_flags():
    """Flags for decoding YUV to RGB: bicubic chroma upsampling, exact rounding.

    FFmpeg's default conversion upsamples chroma crudely and rounds fast; with these
    flags (and :func:`_rgb_to_i420` on the way in) a lossless write/read round trip
    stays below 0.8 grey levels of mean error (``tests/io/test_io_video.py``; the
    measured figures are in ``docs/faces.md``).
    """
    from av.video.reformatter import Interpolation as I

    return I.BICUBIC | I.ACCURATE_RND | I.FULL_CHR_H_INT | I.FULL_CHR_H_INP


def _open_input(path: Path):
    import av

    if not path.exists():
        raise MediaError(f"video file {path} does not exist; check the path.")
    if not path.is_file():
        raise MediaError(f"{path} is not a file (a directory?); give the path of a video file.")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as exc:
        raise MediaError(
            f"{path} is not a video FFmpeg can read ({exc.__class__.__name__}: {exc}), or it was cut short "
            "before its index was written; give a complete MP4, MOV, MKV, AVI or WebM file."
        ) from None
    if not container.streams.video:
        container.close()
        raise MediaError(
            f"{path} has no video track: it is empty (zero frames), an audio file or an image; "
            "give a video with at least one frame."
        )
    return container


def _stream_fps(stream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _display_turns(frame) -> int:
    """Quarter turns counter-clockwise that show ``frame`` upright (phone videos)."""
    angle = getattr(frame, "rotation", 0) or 0
    return int(round(angle / 90.0)) % 4


def _upright(arr: np.ndarray, turns: int) -> np.ndarray:
    return np.ascontiguousarray(np.rot90(arr, turns)) if turns else arr


def _frame_rates(pts: list[int], time_base) -> tuple[float, float, float] | None:
    """``(slowest, fastest, average)`` frame rate of a clip from its frames' timestamps, or ``None``.

    The slowest and fastest are one over the longest and shortest gap between consecutive
    (sorted) timestamps. Gaps that differ by at most 2 ticks of the time base or 5 % of the
    median gap count as equal (rounding: 29.97 fps in milliseconds is 33 and 34 ms, 60 fps
    16 and 17), and then both rates are the average. ``None`` below two distinct timestamps.
    """
    if len(pts) < 2 or not time_base:
        return None
    ticks = np.unique(np.asarray(pts, dtype=np.int64))
    if len(ticks) < 2:
        return None
    gaps = np.diff(ticks)
    seconds = float(time_base)
    average = len(gaps) / (float(ticks[-1] - ticks[0]) * seconds)
    if int(gaps.max() - gaps.min()) <= max(2.0, 0.05 * float(np.median(gaps))):
        return average, average, average
    return 1.0 / (float(gaps.max()) * seconds), 1.0 / (float(gaps.min()) * seconds), average


#: Files already warned about a variable frame rate in this process: (real path, size, mtime).
_warned_variable_rate: set = set()


def _warn_variable_rate(path: Path, info: VideoInfo) -> None:
    """Log once per file (and version of it) that its frame rate varies and the output evens it out."""
    try:
        st = path.stat()
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    except OSError:
        key = (str(path), None, None)
    if key in _warned_variable_rate:
        return
    _warned_variable_rate.add(key)
    log.warning(
        "video %s has a variable frame rate (%.3g to %.3g fps, %.3g on average): its frames are used one "
        "after another at the average %.3g fps, so slow and fast passages play evenly and the output "
        "lasts about as long; convert it to a constant rate first (ffmpeg -i IN -fps_mode cfr OUT) to keep "
        "its timing", path, info.min_fps, info.max_fps, info.fps, info.fps,
    )


def probe_video(path: str | os.PathLike) -> VideoInfo:
    """Size, frame rate, frame count and presence of audio of a video, and whether its rate varies.

    Reads the container's header and every video packet's timestamp (no decoding), then
    decodes the first frame (its display rotation gives the displayed width and height).
    The frame count comes from the header when it has one and otherwise from the packets.
    A clip whose frame timestamps are unevenly spaced (:attr:`VideoInfo.variable_rate`)
    gets the average rate over them as ``fps`` and a warning, logged once per file.
    Raises :class:`MediaError` for a missing or unreadable file or one with no frames.
    """
    path = Path(path)
    import av

    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        pts = []
        stored = 0
        num_frames = int(stream.frames or 0)
        try:
            for packet in container.demux(stream):
                if packet.size and packet.size > 0:
                    stored += 1
                    if packet.pts is not None:
                        pts.append(int(packet.pts))
        except av.FFmpegError as exc:
            # with a frame count in the header, the packets read so far are what the file holds
            # (check_video calls it truncated); without one nothing is known about the frames
            if num_frames <= 0:
                raise MediaError(f"video {path} could not be read ({exc}); the file may be damaged.") from None
        if num_frames <= 0:
            num_frames = stored
        width, height = int(stream.codec_context.width), int(stream.codec_context.height)
        first = None
        if num_frames > 0:
            # Width and height as displayed: a phone video stored landscape
            # with a 90-degree display rotation reads as portrait.
            container.seek(0)
            try:
                first = next(container.decode(stream), None)
            except av.FFmpegError:
                first = None
            if first is not None and _display_turns(first) % 2 == 1:
                width, height = height, width
        # a timestamp per packet, of every frame: a packet without one (raw H.264) leaves the rate
        # unknown, and so does a truncated file (the B-frames cut off leave false gaps)
        rates = _frame_rates(pts, stream.time_base) if len(pts) == stored >= num_frames else None
        variable = rates is not None and rates[0] != rates[1]
        info = VideoInfo(
            width=width,
            height=height,
            fps=rates[2] if variable else _stream_fps(stream),
            num_frames=num_frames,
            has_audio=bool(container.streams.audio),
            stored_frames=stored,
            min_fps=None if rates is None else rates[0],
            max_fps=None if rates is None else rates[1],
            first_frame_decodes=first is not None,
        )
    finally:
        container.close()
    if info.num_frames <= 0:
        raise MediaError(f"video {path} contains no frames; give a video with at least one frame.")
    if info.variable_rate:
        _warn_variable_rate(path, info)
    return info


def check_video(path: str | os.PathLike, what: str = "video", max_frames: int | None = None) -> VideoInfo:
    """:func:`probe_video`, and :class:`MediaError` (naming ``what`` and the file) unless the video can be used.

    On top of the probe's checks (a file, readable by FFmpeg, with a video track and a frame):
    the file holds the frames its header lists, or (a truncated file) more than ``max_frames``
    of them; the first frame decodes; width and height are from 1 to :data:`MAX_VIDEO_SIDE`.
    Cheap: the packets are read, only the first frame is decoded.
    """
    path = Path(path)
    try:
        info = probe_video(path)
    except MediaError as exc:
        raise MediaError(f"{what}: {exc}") from None
    if info.stored_frames < info.num_frames:
        usable = info.stored_frames - 1  # the last packet read may be the one the cut went through
        if max_frames is None or int(max_frames) > usable:
            fewer = f", or use at most {usable} frames" if usable > 0 else ""
            raise MediaError(f"{what}: {path} is truncated: its header lists {info.num_frames} frames but the file "
                             f"holds {info.stored_frames}; re-encode or trim it{fewer}.")
    if not info.first_frame_decodes:
        raise MediaError(f"{what}: the first frame of {path} could not be decoded; the file is damaged or its "
                         "codec is not supported; re-encode it (H.264 in MP4).")
    if not (1 <= info.width <= MAX_VIDEO_SIDE and 1 <= info.height <= MAX_VIDEO_SIDE):
        raise MediaError(f"{what}: {path} is {info.width}x{info.height} pixels; at most {MAX_VIDEO_SIDE} on a "
                         "side is read; scale it down first.")
    return info


def iter_frames(path: str | os.PathLike, max_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield the frames of a video one at a time as ``(H, W, 3)`` ``uint8`` RGB.

    A display rotation stored in the file (phone videos) is applied, so the
    frames come out as a player shows them.
    Stops after ``max_frames`` frames when given. The file is closed when the
    iterator is exhausted or garbage-collected. Raises :class:`MediaError`
    (naming the file and the frame) on unreadable input or when the video has
    no frame at all.
    """
    path = Path(path)
    if max_frames is not None and max_frames < 1:
        raise InvalidOptionError(f"max_frames must be at least 1, got {max_frames}")
    import av

    container = _open_input(path)
    count = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        flags = _swscale_flags()
        try:
            for frame in container.decode(stream):
                # Display rotation (phone videos) is applied, so frames come upright.
                yield _upright(frame.to_ndarray(format="rgb24", interpolation=flags), _display_turns(frame))
                count += 1
                if max_frames is not None and count >= max_frames:
                    return
        except av.FFmpegError as exc:
            if count == 0:
                raise MediaError(f"video {path} could not be decoded ({exc}); the file may be damaged.") from None
            raise MediaError(
                f"video {path} could not be decoded after frame {count - 1} ({exc}); "
                "the file may be truncated; re-encode it or pass max_frames."
            ) from None
        if count == 0:
            raise MediaError(f"video {path} contains no frames; give a video with at least one frame.")
    finally:
        container.close()


def read_video(path: str | os.PathLike, max_frames: int | None = None) -> tuple[np.ndarray, float]:
    """Read a whole video: returns ``(frames, fps)`` with frames ``(T, H, W, 3)`` uint8 RGB."""
    fps = probe_video(path).fps  # the average for a clip with a variable rate (logged)
    frames = list(iter_frames(path, max_frames=max_frames))
    return np.stack(frames, axis=0), fps


class FrameSpool:
    """A sequence of ``uint8`` frames kept in an anonymous temporary file instead of memory.

    A clip's per-frame images (aligned crops, previews, rendered frames) grow with its length: at
    1024 px one RGB frame is 3 MB, a ten-minute clip at 25 fps 47 GB per copy. A spool holds them on
    disk and reads one back when asked (plain reads, not a memory map, so frames read stay out of the
    process' resident set). :meth:`append` adds a frame (any shape; it is stored as ``uint8`` bytes);
    ``spool[j]`` reads frame ``j`` as a new array, ``spool[a:b]`` or ``spool[[j, k]]`` gives a view of
    those frames sharing the file, ``len`` and iteration work like a list's, and ``np.asarray(spool)``
    stacks every frame (for equal shapes). The file has no name (``tempfile.TemporaryFile`` in
    ``folder``, default the system's temporary folder) and disappears when the last view of it is
    released.
    """

    def __init__(self, folder: str | os.PathLike | None = None):
        self._file = tempfile.TemporaryFile(prefix="video2stylegan-frames-", dir=folder)
        self._entries: list[tuple[int, tuple[int, ...]]] = []  # (offset, shape) of each frame
        self._end = 0
        self._root = True  # only the spool that made the file appends to it

    def append(self, frame) -> None:
        if not self._root:
            raise TypeError("a view of a FrameSpool is read-only; append to the spool it came from")
        arr = np.ascontiguousarray(frame)
        if arr.dtype != np.uint8:
            raise InvalidOptionError(f"a FrameSpool holds uint8 frames, got {arr.dtype}")
        self._file.seek(self._end)
        self._file.write(memoryview(arr).cast("B"))
        self._entries.append((self._end, arr.shape))
        self._end += arr.nbytes

    def extend(self, frames) -> None:
        for frame in frames:
            self.append(frame)

    def __len__(self) -> int:
        return len(self._entries)

    def _read(self, entry) -> np.ndarray:
        offset, shape = entry
        out = np.empty(shape, np.uint8)
        self._file.seek(offset)
        if self._file.readinto(memoryview(out).cast("B")) != out.nbytes:
            raise MediaError("a frame of a temporary frame file could not be read back (was the file truncated?)")
        return out

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self._read(self._entries[index])
        view = FrameSpool.__new__(FrameSpool)
        view._file, view._end, view._root = self._file, self._end, False
        if isinstance(index, slice):
            view._entries = self._entries[index]
        else:
            view._entries = [self._entries[int(j)] for j in index]
        return view

    def __iter__(self) -> Iterator[np.ndarray]:
        for entry in self._entries:
            yield self._read(entry)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(T, *frame shape)`` when every frame has the first one's shape (``(0,)`` when empty)."""
        if not self._entries:
            return (0,)
        first = self._entries[0][1]
        if any(shape != first for _, shape in self._entries):
            raise ValueError("the frames of this FrameSpool differ in shape")
        return (len(self._entries), *first)

    dtype = np.dtype(np.uint8)

    def __array__(self, dtype=None, copy=None):
        out = np.empty(self.shape, np.uint8)
        for j, entry in enumerate(self._entries):
            out[j] = self._read(entry)
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"FrameSpool({len(self)} frames)"


#: Frame rates (frames per second) a video this package writes may be asked for: slower than 0.1 is a
#: slideshow of over ten seconds a frame, faster than 240 no player shows; outside, the encoder's time
#: base overflows (1e11) or rounds to zero (1e-300).
FPS_RANGE = (0.1, 240.0)


def check_fps(fps, what: str = "fps") -> float:
    """``fps`` as a float when it is a finite number within :data:`FPS_RANGE`, else :class:`InvalidOptionError`."""
    lo, hi = FPS_RANGE
    try:
        value = float(fps)
    except (TypeError, ValueError):
        raise InvalidOptionError(f"{what} must be a number of frames per second, got {fps!r}") from None
    if not lo <= value <= hi:  # also False for nan; inf is out of range
        raise InvalidOptionError(f"{what} must be between {lo:g} and {hi:g} frames per second, got {fps!r}")
    return value


def _as_fraction(fps) -> Fraction:
    try:
        rate = Fraction(fps).limit_denominator(10000)
    except (TypeError, ValueError, OverflowError):  # Fraction(inf) raises OverflowError
        raise InvalidOptionError(f"fps must be a positive number, got {fps!r}") from None
    if rate <= 0:
        raise InvalidOptionError(f"fps must be a positive number, got {fps!r}")
    if rate.numerator > 2**31 - 1:  # PyAV's rate is a C int: 1e11 overflowed with a traceback
        raise InvalidOptionError(f"fps {fps!r} is too large for an MP4 time base; use at most {FPS_RANGE[1]:g}")
    return rate


def _rgb_to_i420(rgb: np.ndarray) -> np.ndarray:
    """Convert an even-sized RGB frame to planar I420 (``yuv420p``), BT.601 limited range.

    Done here rather than by FFmpeg's default converter because H.264 decoders
    report the MPEG-2 chroma siting (chroma samples co-sited with the even luma
    columns, centred between rows) and convert back accordingly; FFmpeg's
    RGB->YUV path samples chroma at the centre instead, which shifts colour by
    half a pixel on every write/read cycle. Returns a ``(H * 3 / 2, W)`` array:
    the Y plane, then U, then V.
    """
    x = rgb.astype(np.float32)
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    y = 16.0 + 0.256788 * r + 0.504129 * g + 0.097906 * b
    cb = 128.0 - 0.148223 * r - 0.290993 * g + 0.439216 * b
    cr = 128.0 + 0.439216 * r - 0.367788 * g - 0.071427 * b

    def subsample(c: np.ndarray) -> np.ndarray:
        c = 0.5 * (c[0::2] + c[1::2])  # vertical: between the two rows
        left = np.concatenate([c[:, :1], c[:, 1:-1:2]], axis=1)  # column 2k-1 (edge at 0)
        return 0.25 * left + 0.5 * c[:, 0::2] + 0.25 * c[:, 1::2]  # [1 2 1] at column 2k

    h, w = y.shape
    out = np.empty((h * 3 // 2, w), np.uint8)
    out[:h] = np.clip(np.rint(y), 0, 255)
    u = np.clip(np.rint(subsample(cb)), 0, 255).astype(np.uint8)
    v = np.clip(np.rint(subsample(cr)), 0, 255).astype(np.uint8)
    out[h:] = np.concatenate([u.ravel(), v.ravel()]).reshape(h // 2, w)
    return out


def _pad_even(frame: np.ndarray) -> np.ndarray:
    """Replicate the last row/column so both sides are even (yuv420p needs it)."""
    h, w = frame.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return frame
    return np.pad(frame, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")


def _add_audio_stream(container, audio_from: Path):
    """Add an AAC stream matching ``audio_from``'s first audio track; return it.

    Streams must all exist before the first packet is muxed, so this runs
    before any video is encoded; :func:`_encode_audio` fills it at the end,
    when the video's duration is known.
    """
    src = _open_input(audio_from)
    try:
        if not src.streams.audio:
            raise MediaError(
                f"{audio_from} has no audio track to copy; drop audio_from or give a video with sound."
            )
        ctx = src.streams.audio[0].codec_context
        rate = int(ctx.sample_rate or 44100)
        layout = "mono" if (ctx.channels or 2) == 1 else "stereo"
    finally:
        src.close()
    out = container.add_stream("aac", rate=rate)
    out.codec_context.layout = layout
    out.codec_context.bit_rate = 160_000
    return out


def _encode_audio(container, out, audio_from: Path, duration: float, start: float = 0.0) -> None:
    """Encode ``audio_from``'s first audio track, trimmed to ``duration`` s, into ``out``.

    The audio keeps its timing relative to the source's first video frame, so
    frames rendered from that video's frames stay in sync with it: audio before
    that frame is dropped and a late-starting track is preceded by silence.
    ``start``: seconds after that frame where the copied audio begins (one shot of the clip).
    """
    import av

    src = _open_input(audio_from)
    try:
        a_in = src.streams.audio[0]
        v_in = src.streams.video[0]
        rate = out.codec_context.sample_rate
        layout = out.codec_context.layout.name
        ref_start = float(v_in.start_time * v_in.time_base) if v_in.start_time is not None else 0.0
        ref_start += float(start)
        resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate)
        total = int(round(duration * rate))
        written = 0

        def emit(samples: np.ndarray) -> None:
            nonlocal written
            samples = samples[:, : total - written]
            if samples.shape[1] == 0:
                return
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(samples, dtype=np.float32), format="fltp", layout=layout
            )
            frame.sample_rate = rate
            frame.pts = written
            frame.time_base = Fraction(1, rate)
            for packet in out.encode(frame):
                container.mux(packet)
            written += samples.shape[1]

        started = False
        for frame in src.decode(a_in):
            if written >= total:
                break
            for res in resampler.resample(frame):
                data = res.to_ndarray()
                if not started:
                    started = True
                    t0 = float(frame.pts * frame.time_base) - ref_start if frame.pts is not None else 0.0
                    offset = int(round(t0 * rate))
                    if offset > 0:  # audio starts after the first video frame
                        emit(np.zeros((data.shape[0], offset), np.float32))
                    elif offset < 0:  # audio starts before it: drop the lead-in
                        skip = min(-offset, data.shape[1])
                        data = data[:, skip:]
                        if skip < -offset:
                            started = False  # still inside the lead-in
                            continue
                emit(data)
        if written < total:
            for res in resampler.resample(None):
                emit(res.to_ndarray())
        for packet in out.encode(None):
            container.mux(packet)
    except av.FFmpegError as exc:
        raise MediaError(f"could not copy the audio of {audio_from} ({exc}).") from None
    finally:
        src.close()


def write_video(
    path: str | os.PathLike,
    frames_iterable: Iterable,
    fps: float,
    audio_from: str | os.PathLike | None = None,
    *,
    audio_start: float = 0.0,
    crf: int = 18,
    preset: str = "medium",
) -> Path:
    """Write frames as an H.264 MP4 (``yuv420p``) and return the path written.

    ``frames_iterable`` is a ``(T, H, W, 3)`` array or any iterable of
    ``(H, W, 3)`` RGB frames (``uint8``; floats in ``[0, 255]`` are rounded); it
    is consumed lazily, so a generator of any length works. Odd widths or
    heights are padded to even by repeating the last column/row. ``fps`` may be
    fractional (29.97). With ``audio_from``, that video's audio track is muxed
    in, re-encoded as AAC and trimmed to the new video's duration; ``audio_start`` (s): where in that
    track, after its first video frame, the copied audio begins (a later part of the clip).

    The file appears only when complete (written beside ``path`` under a
    temporary name, then renamed). Raises :class:`MediaError` when the folder is
    missing or not writable or there are no frames, and
    :class:`InvalidOptionError` for frames of inconsistent size or a bad fps.
    """
    import av

    path = Path(path)
    rate = _as_fraction(fps)
    if not 0 <= crf <= 51:
        raise InvalidOptionError(f"crf must be between 0 and 51, got {crf}")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"cannot write video {path}: folder {folder} does not exist; create it first.")
    audio_path = Path(audio_from) if audio_from is not None else None
    if audio_path is not None and not audio_path.is_file():
        raise MediaError(f"audio source {audio_path} does not exist; check the path or drop audio_from.")
    try:
        with atomic_output(path, suffix=".tmp.mp4", what="video") as tmp:
            container = av.open(str(tmp), mode="w", format="mp4")
            try:
                _encode_frames(container, frames_iterable, rate, crf, preset, audio_path, path, audio_start)
            finally:
                container.close()
    except av.FFmpegError as exc:
        raise MediaError(f"could not encode video {path}: {exc}") from None
    return path


def _encode_frames(container, frames_iterable, rate, crf, preset, audio_path, path, audio_start=0.0) -> int:
    """Encode the frames (and audio) into an open output container; returns the frame count."""
    import av

    count = 0
    stream = audio_stream = None
    size = None
    for index, frame in enumerate(frames_iterable):
        arr = as_rgb_uint8(frame, what=f"frame {index}")
        if size is None:
            size = arr.shape[:2]
            arr = _pad_even(arr)
            stream = container.add_stream("libx264", rate=rate)
            stream.width = arr.shape[1]
            stream.height = arr.shape[0]
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": str(int(crf)), "preset": preset}
            if audio_path is not None:
                audio_stream = _add_audio_stream(container, audio_path)
            if size != arr.shape[:2]:
                log.info(
                    "video %s: frame size %dx%d padded to even %dx%d for yuv420p",
                    path, size[1], size[0], arr.shape[1], arr.shape[0],
                )
        else:
            if arr.shape[:2] != size:
                raise InvalidOptionError(
                    f"frame {index} of video {path} is {arr.shape[1]}x{arr.shape[0]} but the "
                    f"first frame is {size[1]}x{size[0]}; all frames must have one size."
                )
            arr = _pad_even(arr)
        vframe = av.VideoFrame.from_ndarray(_rgb_to_i420(arr), format="yuv420p")
        vframe.pts = index
        vframe.time_base = 1 / rate
        for packet in stream.encode(vframe):
            container.mux(packet)
        count += 1
    if count == 0:
        raise MediaError(f"no frames to write to video {path}; give at least one frame.")
    for packet in stream.encode(None):
        container.mux(packet)
    if audio_path is not None:
        _encode_audio(container, audio_stream, audio_path, count / float(rate), audio_start)
    return count
