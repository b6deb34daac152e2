"""``reenact``'s face options reach the face detection, and --fps with --keep-audio is refused, all before
any embedding (the network is a stub: nothing is reenacted)."""

from __future__ import annotations

import numpy as np
import pytest

import video2stylegan.pipeline.run as run_module
from video2stylegan.cli.main import build_parser, main


class Stopped(Exception):
    """Raised where the test has seen what it needs, before the slow stages."""


@pytest.fixture
def media(shared_data, tmp_path):
    return {"two": str(shared_data / "portraits" / "face_recognition__two_people.jpg"),
            "obama": str(shared_data / "portraits" / "face_recognition__obama.jpg"),
            "driving": str(shared_data / "driving" / "tps__driving.mp4"),
            "out": str(tmp_path / "o.mp4")}


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the network must not be loaded")

    monkeypatch.setattr("video2stylegan.networks.loading.load_generator", refuse)


def test_fps_other_than_the_clips_with_keep_audio_is_refused_before_the_network(media, no_network, capsys):
    rc = main(["reenact", "--source", media["obama"], "--driving", media["driving"], "--out", media["out"],
               "--fps", "10", "--keep-audio", "--no-cache", "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "--fps 10 differs from the driving video's 25 fps" in err and "--keep-audio" in err


def test_face_options_reach_the_portrait_and_the_clip(media, tiny_G, monkeypatch):
    seen = {}
    real_source, real_clip = run_module.load_source, run_module.load_clip

    def spy_source(*args, **kwargs):
        seen["source"] = (kwargs, real_source(*args, **kwargs))
        return seen["source"][1]

    def spy_clip(*args, **kwargs):
        seen["clip"] = (kwargs, real_clip(*args, **kwargs))
        return seen["clip"][1]

    def stop(*args, **kwargs):
        raise Stopped

    monkeypatch.setattr("video2stylegan.networks.loading.load_generator", lambda *a, **k: tiny_G)
    monkeypatch.setattr(run_module, "load_source", spy_source)
    monkeypatch.setattr(run_module, "load_clip", spy_clip)
    monkeypatch.setattr(run_module, "embed_source", stop)
    argv = ["reenact", "--source", media["two"], "--driving", media["driving"], "--out", media["out"],
            "--max-frames", "2", "--no-cache", "--quiet", "--source-face", "1", "--face", "largest",
            "--detector", "hog", "--upsample", "1", "--fps", "25", "--keep-audio"]  # 25: the clip's own rate
    with pytest.raises(Stopped):
        main(argv)
    kwargs, src = seen["source"]
    assert (kwargs["choose"], kwargs["detector"], kwargs["upsample"]) == (1, "hog", 1)
    from video2stylegan.faces import detect_faces

    found = detect_faces(src.image, detector="hog", upsample=1)  # at this level the left person is index 1
    assert len(found) == 2
    assert np.allclose(src.face.center, found[1].center) and not np.allclose(src.face.center, found[0].center)
    _, clip = seen["clip"]
    assert (clip.tracking.choose, clip.tracking.detector, clip.tracking.upsample) == ("largest", "hog", 1)
    assert len(clip) == 2


@pytest.mark.parametrize("argv, message", [
    (["--face", "left"], "expected 'largest', 'previous' or an integer"),
    (["--source-face", "largest-ish"], "expected 'largest' or an integer face index"),
    (["--upsample", "4"], "from 0 to 3"),
    (["--detector", "mtcnn"], "invalid choice"),
])
def test_face_options_are_checked_at_parse_time(argv, message, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4", *argv])
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_a_face_index_the_clip_lacks_exits_1_naming_face(media, tiny_G, monkeypatch, capsys):
    monkeypatch.setattr("video2stylegan.networks.loading.load_generator", lambda *a, **k: tiny_G)
    rc = main(["reenact", "--source", media["obama"], "--driving", media["driving"], "--out", media["out"],
               "--max-frames", "2", "--no-cache", "--quiet", "--face", "1"])
    err = capsys.readouterr().err
    assert rc == 1 and "face index 1 (--face)" in err and "Traceback" not in err
