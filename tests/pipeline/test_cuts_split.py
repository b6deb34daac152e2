"""``reenact(cuts="split")`` / ``--cuts split``: one output video per shot of the driving clip (issue #17)."""

from __future__ import annotations

import os
import shutil
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from video2stylegan import reenact
from video2stylegan.cli.main import main
from video2stylegan.errors import MediaError, OutputError
from video2stylegan.io.video import probe_video, read_video, write_video
from video2stylegan.pipeline.output import shot_paths

RATE = 44100
LOW, HIGH = 440.0, 1000.0  # the tone of the first and of the second shot (Hz)


def _tone_track(path: Path, frames: int, switch_frame: int) -> Path:
    """A 25 fps video of grey frames whose sound is a LOW tone up to ``switch_frame``, a HIGH tone after."""
    with av.open(str(path), "w", format="mp4") as c:
        video = c.add_stream("libx264", rate=25)
        video.width = video.height = 16
        video.pix_fmt = "yuv420p"
        audio = c.add_stream("aac", rate=RATE)
        audio.codec_context.layout = "mono"
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), 128, np.uint8), format="rgb24")
            frame.pts = i
            for packet in video.encode(frame):
                c.mux(packet)
        for packet in video.encode(None):
            c.mux(packet)
        t = np.arange(frames * RATE // 25) / RATE
        wave = (0.5 * np.sin(2 * np.pi * np.where(t < switch_frame / 25, LOW, HIGH) * t)).astype(np.float32)
        for k in range(0, len(wave), 1024):
            chunk = av.AudioFrame.from_ndarray(wave[None, k:k + 1024], format="flt", layout="mono")
            chunk.sample_rate, chunk.pts, chunk.time_base = RATE, k, Fraction(1, RATE)
            for packet in audio.encode(chunk):
                c.mux(packet)
        for packet in audio.encode(None):
            c.mux(packet)
    return path


def _two_shot_clip(folder: Path, name: str = "two_shots.mp4") -> Path:
    """10 frames at 25 fps, two synthetic people of 5 frames each, with the tone track's sound."""
    from video2stylegan.synthetic.clips import identity_from_seed, render_clip
    from video2stylegan.synthetic.trajectory import talking_trajectory

    shots = [np.stack([r.image for r in render_clip(identity_from_seed(person), talking_trajectory(5, 25.0, seed),
                                                    size=96, supersample=1)]) for seed, person in ((0, 0), (2, 5))]
    tone = _tone_track(folder / "tone.mp4", 10, 5)
    path = write_video(folder / name, np.concatenate(shots), 25.0, audio_from=tone, crf=12)
    tone.unlink()
    return path


def _sound(path: Path) -> tuple[float, float]:
    """(seconds, dominant frequency in Hz) of a video's audio track."""
    with av.open(str(path)) as c:
        x = np.concatenate([f.to_ndarray()[0] for f in c.decode(c.streams.audio[0])])
        rate = c.streams.audio[0].codec_context.sample_rate
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return len(x) / rate, float(np.fft.rfftfreq(len(x), 1 / rate)[spectrum.argmax()])


@pytest.fixture
def recorded(monkeypatch):
    """Every frame handed to the encoder, per file written, in the order written (before H.264 touches it)."""
    import video2stylegan.pipeline.output as output

    calls = []
    real = output.write_video

    def recording(path, frames, fps, **kwargs):
        seen = []
        calls.append(seen)

        def tee():
            for frame in frames:
                seen.append(np.array(frame, copy=True))
                yield frame

        return real(path, tee(), fps, **kwargs)

    monkeypatch.setattr(output, "write_video", recording)
    return calls


def _kwargs(tiny_G, tiny_budget, cache):
    return dict(network=tiny_G, embedding=tiny_budget, cache_dir=cache, progress=False, method="baseline")


def test_shot_names_are_numbered_from_one_with_at_least_two_digits():
    assert [p.name for p in shot_paths(Path("out/result.mp4"), 2)] == ["result.shot01.mp4", "result.shot02.mp4"]
    assert shot_paths("a.b.mp4", 1) == [Path("a.b.shot01.mp4")]
    names = [p.name for p in shot_paths("r.mp4", 100)]
    assert names[0] == "r.shot001.mp4" and names[-1] == "r.shot100.mp4" and len(set(names)) == 100
    assert shot_paths("r.mp4", 99)[-1].name == "r.shot99.mp4"
    assert all(p.parent == Path("out") for p in shot_paths("out/result.mp4", 3))


def test_split_writes_each_shot_with_the_frames_layout_and_sound_of_the_single_output(
        tiny_G, demo_files, tiny_budget, tmp_path, recorded):
    clips, outs = tmp_path / "clips", tmp_path / "outs"
    clips.mkdir(), outs.mkdir()
    driving = _two_shot_clip(clips)
    kwargs = dict(_kwargs(tiny_G, tiny_budget, tmp_path / "cache"), paste_back=True, side_by_side=True,
                  keep_audio=True)
    single = reenact(demo_files.source, driving, out=outs / "single.mp4", **kwargs)
    split = reenact(demo_files.source, driving, out=outs / "result.mp4", cuts="split", **kwargs)
    assert single.outputs == [outs / "single.mp4"]
    assert len(split.cuts) == 1 and abs(split.cuts[0] - 5) <= 1 and split.cuts == single.cuts
    cut, T = split.cuts[0], len(single.frames)
    assert T == 10
    files = [outs / "result.shot01.mp4", outs / "result.shot02.mp4"]
    assert split.outputs == files and split.out == outs / "result.mp4"
    # nothing else was left behind: no result.mp4, no temporary file
    assert sorted(p.name for p in outs.iterdir()) == ["result.shot01.mp4", "result.shot02.mp4", "single.mp4"]

    # the encoder got exactly the single output's frames, shot by shot, bitwise
    assert len(recorded) == 3 and [len(r) for r in recorded] == [T, cut, T - cut]
    np.testing.assert_array_equal(np.stack(recorded[1]), np.stack(recorded[0][:cut]))
    np.testing.assert_array_equal(np.stack(recorded[2]), np.stack(recorded[0][cut:]))
    np.testing.assert_array_equal(split.frames, single.frames)  # the crops too: split re-anchors like reanchor

    # decoded: the frame counts add up to the clip's, each file has the single output's layout
    info = [probe_video(p) for p in (outs / "single.mp4", *files)]
    assert [i.num_frames for i in info] == [T, cut, T - cut]
    assert len({(i.width, i.height) for i in info}) == 1
    whole = read_video(outs / "single.mp4")[0].astype(int)
    decoded = np.concatenate([read_video(p)[0] for p in files]).astype(int)
    # H.264 starts each file on a key frame, so the decoded pixels differ a little from the single file's
    # (measured 0.81 to 1.09 grey levels per frame); each frame is still nearer its own frame of the
    # single file than the frames beside it (measured 1.24 to 1.74)
    gap = lambda j, k: np.abs(decoded[j] - whole[k]).mean()  # noqa: E731
    for j in range(T):
        assert gap(j, j) < 1.2, (j, gap(j, j))
        assert all(gap(j, j) < gap(j, k) for k in (j - 1, j + 1) if 0 <= k < T), j

    # each file has its own shot's sound: the low tone, then the high one, each as long as its frames
    for path, frames, tone in ((files[0], cut, LOW), (files[1], T - cut, HIGH)):
        seconds, pitch = _sound(path)
        assert abs(seconds - frames / 25) < 0.03, (path.name, seconds)
        assert abs(pitch - tone) < 20, (path.name, pitch)

    text = split.summary()
    assert f"{T} frames at 25 fps -> 2 file(s), one per shot:" in text
    assert f"{files[0]} (frames 0-{cut - 1}, {cut} frames)" in text
    assert f"{files[1]} (frames {cut}-{T - 1}, {T - cut} frames)" in text
    assert f"at frame(s) {cut} (each shot re-anchored and written to its own file)" in text


def test_a_clip_without_cuts_is_one_shot_file(tiny_G, demo_files, tiny_budget, tmp_path):
    r = reenact(demo_files.source, demo_files.driving, out=tmp_path / "result.mp4", cuts="split", max_frames=3,
                **_kwargs(tiny_G, tiny_budget, tmp_path / "cache"))
    assert r.cuts == [] and r.outputs == [tmp_path / "result.shot01.mp4"]
    assert probe_video(r.outputs[0]).num_frames == 3 and not (tmp_path / "result.mp4").exists()
    assert f"no shot cuts in the driving clip: the whole clip is one shot, written to {r.outputs[0]}" in r.summary()


class Reached(Exception):
    """Raised where a run would start reading faces or loading a network: the output checks passed."""


def test_a_shot_name_that_is_an_input_is_refused_before_any_work(tiny_G, demo_files, tmp_path, monkeypatch, capsys):
    def no_faces(*args, **kwargs):
        raise Reached

    monkeypatch.setattr("video2stylegan.pipeline.run.load_source", no_faces)
    monkeypatch.setattr("video2stylegan.networks.loading.load_generator", no_faces)
    # the driving clip itself is named like the second shot file, then a link to it like the first
    driving = shutil.copyfile(demo_files.driving, tmp_path / "result.shot02.mp4")
    before = driving.read_bytes()
    with pytest.raises(OutputError, match=rf"^out {tmp_path / 'result.shot02.mp4'} is the same file as driving "
                                          r".*\(--cuts split writes one file per shot, named after out result\.mp4"):
        reenact(demo_files.source, driving, network=tiny_G, out=tmp_path / "result.mp4", cuts="split")
    moved = driving.rename(tmp_path / "driving.mp4")
    os.symlink(moved, tmp_path / "result.shot01.mp4")
    with pytest.raises(OutputError, match=rf"^out {tmp_path / 'result.shot01.mp4'} is the same file as driving"):
        reenact(demo_files.source, moved, network=tiny_G, out=tmp_path / "result.mp4", cuts="split")
    rc = main(["reenact", "--source", str(demo_files.source), "--driving", str(moved), "--out",
               str(tmp_path / "result.mp4"), "--cuts", "split", "--no-cache", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 1 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"video2stylegan reenact: error: --out {tmp_path / 'result.shot01.mp4'} is the same file "
                          f"as --driving {moved}")
    # without split the same names are no outputs: the check does not refuse them
    with pytest.raises(Reached):
        reenact(demo_files.source, moved, network=tiny_G, out=tmp_path / "result.mp4")
    assert moved.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["driving.mp4", "result.shot01.mp4"]


def test_a_folder_where_a_shot_file_goes_is_refused_before_the_embedding(tiny_G, demo_files, tiny_budget, tmp_path,
                                                                         monkeypatch):
    monkeypatch.setattr("video2stylegan.pipeline.run.embed_source", lambda *a, **k: pytest.fail("embedded"))
    (tmp_path / "result.shot01.mp4").mkdir()
    with pytest.raises(OutputError, match=rf"^out {tmp_path / 'result.shot01.mp4'} is an existing folder"):
        reenact(demo_files.source, demo_files.driving, out=tmp_path / "result.mp4", cuts="split", max_frames=2,
                **_kwargs(tiny_G, tiny_budget, False))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["result.shot01.mp4"]


def test_a_failure_in_the_second_shot_leaves_no_shot_file(tiny_G, demo_files, tiny_budget, tmp_path, monkeypatch):
    import video2stylegan.pipeline.output as output

    clips, outs = tmp_path / "clips", tmp_path / "outs"
    clips.mkdir(), outs.mkdir()
    driving = _two_shot_clip(clips)
    (outs / "result.shot01.mp4").write_bytes(b"an earlier run's first shot")
    real = output.write_video
    started = []

    def disk_full_in_shot_two(path, frames, fps, **kwargs):
        started.append(path)
        if len(started) < 2:
            return real(path, frames, fps, **kwargs)

        def two_then_full():  # the disk fills up after two frames of the second shot
            for j, frame in enumerate(frames):
                if j == 2:
                    raise OSError(28, "No space left on device")
                yield frame

        return real(path, two_then_full(), fps, **kwargs)

    monkeypatch.setattr(output, "write_video", disk_full_in_shot_two)
    with pytest.raises(MediaError, match="No space left on device"):
        reenact(demo_files.source, driving, out=outs / "result.mp4", cuts="split",
                **_kwargs(tiny_G, tiny_budget, tmp_path / "cache"))
    assert len(started) == 2
    # the first shot was encoded in full, yet neither it nor a temporary file is left, and the older
    # file of that name keeps its contents
    assert sorted(p.name for p in outs.iterdir()) == ["result.shot01.mp4"]
    assert (outs / "result.shot01.mp4").read_bytes() == b"an earlier run's first shot"


def test_split_is_a_choice_of_the_command_line_and_its_help_names_the_files(capsys):
    from video2stylegan.cli.main import build_parser

    args = build_parser().parse_args(["reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4",
                                      "--cuts", "split"])
    assert args.cuts == "split"
    with pytest.raises(SystemExit):
        main(["reenact", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--cuts {reanchor,ignore,split}" in text
    assert "--out result.mp4 writes result.shot01.mp4, result.shot02.mp4, ..." in text


def test_the_full_method_re_anchors_under_split_as_under_reanchor(tiny_G, demo_files, tiny_budget, tmp_path):
    import torch

    from video2stylegan.method.config import ReenactConfig
    from video2stylegan.pipeline.plan import pose_targets

    # the canonical transform and the residuals of the full method (pose and local channels need calibration)
    driving = _two_shot_clip(tmp_path)
    kwargs = dict(network=tiny_G, embedding=tiny_budget, cache_dir=tmp_path / "cache", progress=False,
                  use_pose=False, use_local=False)
    anchored = reenact(demo_files.source, driving, **kwargs)
    split = reenact(demo_files.source, driving, cuts="split", **kwargs)
    ignored = reenact(demo_files.source, driving, cuts="ignore", **kwargs)
    assert split.outputs == [] and split.cuts == anchored.cuts and len(split.cuts) == 1
    np.testing.assert_array_equal(split.frames, anchored.frames)
    assert not np.array_equal(ignored.frames, anchored.frames)
    # the Eq. 7 targets: each shot's turn from its own first frame
    angles = torch.tensor([[0.0, 0, 0], [2, 0, 0], [4, 0, 0], [30, 5, 0], [32, 5, 0], [34, 5, 0]])
    clip = type("Clip", (), {"cuts": [3], "partial": [], "targets": staticmethod(lambda idx: angles[list(idx)]),
                             "__len__": lambda self: 6})()
    got = pose_targets(lambda x: x, clip, 6, ReenactConfig(smoothing_kernel=1, cuts="split"), np.zeros(3)).numpy()
    np.testing.assert_allclose(got[:, 0], [0, 2, 4, 4, 6, 8])
