import os

import av
import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io import iter_frames, probe_video, read_video, write_video
from video2stylegan.io.video import FPS_RANGE, check_fps


def _clip(t=12, h=64, w=96):
    """A smooth moving pattern (H.264 keeps smooth content nearly exact)."""
    yy, xx = np.mgrid[:h, :w].astype(np.float32)
    frames = []
    for i in range(t):
        r = 128 + 100 * np.sin((xx + 3 * i) / 12)
        g = 128 + 100 * np.cos((yy - 2 * i) / 10)
        b = 128 + 60 * np.sin((xx + yy) / 20)
        frames.append(np.stack([r, g, b], -1))
    return np.clip(frames, 0, 255).astype(np.uint8)


def test_round_trip_keeps_count_fps_size_and_pixels(tmp_path):
    clip = _clip()
    out = write_video(tmp_path / "c.mp4", clip, 25)
    info = probe_video(out)
    assert (info.width, info.height, info.num_frames, info.has_audio) == (96, 64, 12, False)
    assert info.fps == pytest.approx(25)
    frames, fps = read_video(out)
    assert frames.shape == clip.shape and frames.dtype == np.uint8
    assert fps == pytest.approx(25)
    err = np.abs(frames.astype(int) - clip).mean()
    assert err < 2.0, err
    # Only the finished file remains: the temporary file was renamed.
    assert os.listdir(tmp_path) == ["c.mp4"]
    with av.open(str(out)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.codec_context.pix_fmt == "yuv420p"


def test_lossless_round_trip_has_only_colour_conversion_error(tmp_path):
    # crf=0 is lossless H.264: what remains is RGB->YUV420->RGB, which must not
    # shift chroma (measured 0.44 mean; FFmpeg's default path gives about 2.3).
    clip = _clip(t=2)
    frames, _ = read_video(write_video(tmp_path / "l.mp4", clip, 25, crf=0))
    assert np.abs(frames.astype(int) - clip).mean() < 0.8


def test_generator_input_fractional_fps_and_max_frames(tmp_path):
    clip = _clip(t=10)
    out = write_video(tmp_path / "g.mp4", (f for f in clip), 29.97)
    assert probe_video(out).fps == pytest.approx(29.97, abs=1e-3)
    frames, _ = read_video(out, max_frames=4)
    assert frames.shape[0] == 4
    assert sum(1 for _ in iter_frames(out)) == 10


def test_odd_size_is_padded_to_even(tmp_path):
    clip = _clip(t=3, h=63, w=95)
    out = write_video(tmp_path / "odd.mp4", clip, 10)
    frames, _ = read_video(out)
    assert frames.shape == (3, 64, 96, 3)
    assert np.abs(frames[:, :63, :95].astype(int) - clip).mean() < 2.0


def test_audio_is_muxed_and_trimmed(tmp_path, shared_data):
    src = shared_data / "driving" / "tps__driving.mp4"
    assert probe_video(src).has_audio
    clip = _clip(t=30, h=32, w=32)
    out = write_video(tmp_path / "a.mp4", clip, 25, audio_from=src)
    info = probe_video(out)
    assert info.has_audio and info.num_frames == 30
    with av.open(str(out)) as c:
        a = c.streams.audio[0]
        samples = sum(f.samples for f in c.decode(a))
        rate = a.codec_context.sample_rate
    # 30 frames at 25 fps = 1.2 s; the AAC decoder may add its priming frame.
    assert rate == 44100
    assert abs(samples / rate - 1.2) < 0.03, samples / rate
    # The copied sound is not silence.
    with av.open(str(out)) as c:
        energy = max(np.abs(f.to_ndarray()).max() for f in c.decode(c.streams.audio[0]))
    assert energy > 0.01


def test_audio_source_without_audio_is_refused(tmp_path):
    silent = write_video(tmp_path / "silent.mp4", _clip(t=2), 25)
    with pytest.raises(MediaError, match="no audio"):
        write_video(tmp_path / "x.mp4", _clip(t=2), 25, audio_from=silent)
    assert not (tmp_path / "x.mp4").exists()
    assert sorted(os.listdir(tmp_path)) == ["silent.mp4"]


def test_unreadable_missing_and_zero_frame_videos(tmp_path):
    with pytest.raises(MediaError, match="missing.mp4"):
        read_video(tmp_path / "missing.mp4")
    bad = tmp_path / "junk.mp4"
    bad.write_bytes(b"\x00" * 1000)
    with pytest.raises(MediaError, match="junk.mp4"):
        probe_video(bad)
    # A real MP4 container with a video stream but no frames at all.
    empty = tmp_path / "empty.mp4"
    with av.open(str(empty), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 64, "yuv420p"
        c.start_encoding()
    assert empty.stat().st_size > 0
    for fn in (read_video, probe_video):
        with pytest.raises(MediaError, match="empty.mp4.*zero frames"):
            fn(empty)


def test_write_errors_leave_no_file(tmp_path):
    with pytest.raises(MediaError, match="no frames"):
        write_video(tmp_path / "none.mp4", [], 25)
    with pytest.raises(MediaError, match="does not exist"):
        write_video(tmp_path / "nodir" / "x.mp4", _clip(t=2), 25)
    frames = [_clip(t=1)[0], _clip(t=1, h=32, w=32)[0]]
    with pytest.raises(InvalidOptionError, match="frame 1"):
        write_video(tmp_path / "mixed.mp4", frames, 25)
    with pytest.raises(InvalidOptionError, match="fps"):
        write_video(tmp_path / "f.mp4", _clip(t=1), 0)
    assert os.listdir(tmp_path) == []


def test_interrupted_write_leaves_no_half_file(tmp_path):
    target = tmp_path / "out.mp4"
    write_video(target, _clip(t=2), 25)
    before = target.read_bytes()

    def frames():
        yield from _clip(t=5)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_video(target, frames(), 25)
    # The earlier complete file is untouched and no temporary file remains.
    assert target.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.mp4"]


@pytest.mark.parametrize("fps", ["inf", "-inf", "nan", "1e308", "1e11", "1e-300", "0", "-25", "240.5", "0.09", "fast"])
def test_frame_rates_outside_the_range_are_refused(fps):
    with pytest.raises(InvalidOptionError, match=r"--fps must be (between 0\.1 and 240|a number)"):
        check_fps(fps, "--fps")


def test_frame_rates_in_the_range_are_kept():
    assert [check_fps(v) for v in ("0.1", 29.97, "240", 25)] == [0.1, 29.97, 240.0, 25.0]
    assert FPS_RANGE == (0.1, 240.0)


def test_huge_fps_at_write_is_an_option_error_not_an_overflow(tmp_path):
    # Fraction(inf) and a rate past a C int (1e11) raised OverflowError, a traceback
    with pytest.raises(InvalidOptionError, match="fps must be a positive number, got inf"):
        write_video(tmp_path / "x.mp4", _clip(t=1), float("inf"))
    with pytest.raises(InvalidOptionError, match="fps 100000000000.0 is too large for an MP4 time base"):
        write_video(tmp_path / "x.mp4", _clip(t=1), 1e11)
    assert list(tmp_path.iterdir()) == []
    assert probe_video(write_video(tmp_path / "y.mp4", _clip(t=2), 2**31 - 1)).num_frames == 2  # the largest C int


def test_unwritable_folder(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:
        # root ignores permission bits: simulate the refusal the OS would give.
        import tempfile

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    folder.chmod(0o500)
    try:
        with pytest.raises(MediaError, match="ro.*not writable"):
            write_video(folder / "x.mp4", _clip(t=1), 25)
    finally:
        folder.chmod(0o700)


def test_display_rotation_is_applied(tmp_path):
    # A phone-style file: stored 64x32 landscape, displayed rotated 90 degrees
    # counter-clockwise. The white block in the stored top-left corner must
    # come out at the bottom-left of a 32x64 portrait frame.
    stored = np.zeros((32, 64, 3), np.uint8)
    stored[:8, :8] = 255
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=10)
        s.width, s.height, s.pix_fmt = 64, 32, "yuv420p"
        s.set_display_rotation(90)
        for i in range(2):
            frame = av.VideoFrame.from_ndarray(stored)
            frame.pts = i
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    info = probe_video(path)
    assert (info.width, info.height, info.num_frames) == (32, 64, 2)
    frames, _ = read_video(path)
    assert frames.shape == (2, 64, 32, 3)
    assert frames[0, -4, 4].min() > 200  # bottom-left is white
    assert frames[0, 4, 4].max() < 60  # top-left is black


def _write_with_pts(path, pts, rate=20, time_base=None, options=None, size=(32, 32)):
    """A clip whose frame ``i`` has timestamp ``pts[i]`` in ``time_base`` (default 1/rate), written by PyAV."""
    from fractions import Fraction

    tb = time_base or Fraction(1, rate)
    frames = _clip(t=len(pts), h=size[0], w=size[1])
    with av.open(str(path), "w", options=options or {}) as c:
        s = c.add_stream("libx264", rate=rate)
        s.width, s.height, s.pix_fmt = size[1], size[0], "yuv420p"
        s.time_base = tb
        for t, f in zip(pts, frames):
            frame = av.VideoFrame.from_ndarray(f)
            frame.pts, frame.time_base = t, tb
            for packet in s.encode(frame):
                c.mux(packet)
        for packet in s.encode(None):
            c.mux(packet)
    return path


def test_a_variable_frame_rate_is_reported_once_and_played_at_its_average(tmp_path, caplog):
    # six frames 1/20 s apart, then six 1/10 s apart: 11 gaps over 0.85 s
    path = _write_with_pts(tmp_path / "vfr.mp4", [0, 1, 2, 3, 4, 5, 7, 9, 11, 13, 15, 17])
    with caplog.at_level("WARNING", logger="video2stylegan.io.video"):
        info = probe_video(path)
        frames, fps = read_video(path)
        probe_video(path)
    assert info.variable_rate and (info.min_fps, info.max_fps) == (pytest.approx(10), pytest.approx(20))
    assert info.fps == pytest.approx(11 / 0.85) and fps == info.fps  # the container's own average said 15
    assert frames.shape[0] == 12 == info.num_frames == info.stored_frames
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"video {path} has a variable frame rate (10 to 20 fps, 12.9 on average): its "
                                  "frames are used one after another at the average 12.9 fps")


def test_constant_rates_and_timestamp_rounding_are_not_variable(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="video2stylegan.io.video"):
        ntsc = probe_video(write_video(tmp_path / "ntsc.mp4", _clip(t=6), 29.97))
        # Matroska stores milliseconds: 60 fps frames land 17, 16, 17, ... ms apart
        mkv = probe_video(_write_with_pts(tmp_path / "sixty.mkv", range(8), rate=60))
    assert not ntsc.variable_rate and ntsc.fps == pytest.approx(29.97, abs=1e-3)
    assert ntsc.min_fps == ntsc.max_fps == pytest.approx(29.97, abs=1e-3)
    assert not mkv.variable_rate and mkv.fps == pytest.approx(60)
    assert mkv.min_fps == pytest.approx(7 / 0.117)  # the average over the rounded stamps, 0 to 117 ms
    assert caplog.records == []


def test_check_video_refuses_truncated_undecodable_and_oversized_videos(tmp_path):
    from video2stylegan.io.video import MAX_VIDEO_SIDE, check_video

    # moov first ("faststart"), so the first 80 % of the file still opens: its header lists 30 frames
    whole = _write_with_pts(tmp_path / "whole.mp4", range(30), options={"movflags": "faststart"}, size=(64, 64))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 4 // 5])
    info = probe_video(cut)
    assert info.num_frames == 30 and 10 < info.stored_frames < 30 and info.first_frame_decodes
    assert info.min_fps is None and not info.variable_rate  # the cut-off B-frames are no uneven rate
    with pytest.raises(MediaError, match=rf"^driving video: {cut} is truncated: its header lists 30 frames but the "
                                         rf"file holds {info.stored_frames}; re-encode or trim it"):
        check_video(cut, "driving video")
    assert check_video(cut, "driving video", max_frames=info.stored_frames - 1).num_frames == 30  # those are there
    assert check_video(whole).stored_frames == 30

    # every byte of the frames zeroed: the container opens, no frame decodes
    blank = bytearray(write_video(tmp_path / "z.mp4", _clip(t=3), 25).read_bytes())
    at = blank.find(b"mdat")
    size = int.from_bytes(blank[at - 4: at], "big")
    blank[at + 4: at - 4 + size] = bytes(size - 8)
    (tmp_path / "zeroed.mp4").write_bytes(blank)
    with pytest.raises(MediaError, match=r"^co-driving video: the first frame of .*zeroed.mp4 could not be decoded"):
        check_video(tmp_path / "zeroed.mp4", "co-driving video")

    wide = _write_with_pts(tmp_path / "wide.mp4", [0], size=(16, MAX_VIDEO_SIDE + 2))
    with pytest.raises(MediaError, match=r"wide.mp4 is 8194x16 pixels; at most 8192 on a side is read"):
        check_video(wide)


def test_frame_spool_reads_back_what_was_appended(tmp_path):
    from video2stylegan.io.video import FrameSpool

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (6, 8, 3), dtype=np.uint8) for _ in range(5)]
    spool = FrameSpool(tmp_path)
    spool.extend(frames)
    assert len(spool) == 5 and spool.shape == (5, 6, 8, 3) and spool.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(spool), np.stack(frames))
    np.testing.assert_array_equal(spool[3], frames[3])
    view = spool[1:4]
    assert len(view) == 3 and [f.tolist() for f in view] == [f.tolist() for f in frames[1:4]]
    np.testing.assert_array_equal(spool[[4, 0, 4]][2], frames[4])
    spool[0][:] = 0  # a frame read back is a copy: the stored one is unchanged
    np.testing.assert_array_equal(spool[0], frames[0])
    with pytest.raises(TypeError):
        view.append(frames[0])
    with pytest.raises(InvalidOptionError):
        spool.append(frames[0].astype(np.float32))
    assert list(tmp_path.iterdir()) == []  # the file has no name in the folder
