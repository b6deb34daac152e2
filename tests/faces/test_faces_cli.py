import json

import numpy as np
import pytest
from face_drawing import draw_face

from video2stylegan.cli.main import main
from video2stylegan.io import probe_video, read_image, write_image, write_video


def test_faces_on_an_image(tmp_path, astronaut):
    src = write_image(tmp_path / "astronaut.png", astronaut)
    out = tmp_path / "out"
    assert main(["faces", str(src), "--out", str(out), "--size", "256"]) == 0
    aligned = read_image(out / "aligned.png")
    assert aligned.shape == (256, 256, 3)
    overlay = read_image(out / "landmarks.png")
    assert overlay.shape == astronaut.shape and not np.array_equal(overlay, astronaut)
    data = json.loads((out / "faces.json").read_text())
    assert data["kind"] == "image" and len(data["faces"]) == 1
    face = data["faces"][0]
    assert len(face["landmarks"]) == 68
    assert abs(face["landmarks"][30][0] - 224) < 4  # nose tip, hand-read
    assert set(face["pose"]) >= {"yaw", "pitch", "roll"}
    assert set(face["canonical"]) == {"tx", "ty", "r"}
    assert np.array(face["alignment"]["matrix"]).shape == (2, 3)


def test_faces_on_a_video_with_a_faceless_frame(tmp_path):
    face = draw_face(200)
    frames = [face.copy() for _ in range(5)]
    frames[2][:] = 128
    src = write_video(tmp_path / "clip.mp4", frames, 10)
    out = tmp_path / "out"
    rc = main(["faces", str(src), "--out", str(out), "--size", "64", "--frames", "--no-progress"])
    assert rc == 0
    data = json.loads((out / "faces.json").read_text())
    assert data["missing_frames"] == [2] and data["num_frames"] == 5
    assert data["cuts"] == [] and data["partial_frames"] == []  # a blank frame is not a change of shot
    assert [f["interpolated"] for f in data["faces"]] == [False, False, True, False, False]
    assert probe_video(out / "aligned.mp4").num_frames == 5
    assert probe_video(out / "landmarks.mp4").num_frames == 5
    assert len(list((out / "aligned").glob("*.png"))) == 5
    out2 = tmp_path / "out2"
    rc = main(["faces", str(src), "--out", str(out2), "--on-missing", "fail", "--no-progress"])
    assert rc == 1


def test_bad_inputs_exit_1_with_a_message(tmp_path, capsys):
    notes = tmp_path / "notes.png"
    notes.write_text("not an image")
    assert main(["faces", str(notes), "--out", str(tmp_path / "o")]) == 1
    assert "notes.png" in capsys.readouterr().err
    blank = write_image(tmp_path / "wall.png", np.full((100, 100, 3), 90, np.uint8))
    assert main(["faces", str(blank), "--out", str(tmp_path / "o")]) == 1
    assert "no face found in" in capsys.readouterr().err
    assert main(["faces", str(tmp_path / "missing.jpg"), "--out", str(tmp_path / "o")]) == 1
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # --face is checked at parse time
        main(["faces", str(blank), "--out", str(tmp_path / "o"), "--face", "left"])
    assert info.value.code == 2
    assert "argument --face: expected 'largest', 'previous' or an integer, got 'left'" in capsys.readouterr().err



def test_a_face_index_past_the_faces_says_how_many_were_found(tmp_path, capsys):
    # the tester's "--face 99" read "no face found" on a clip that shows a face
    face = draw_face(200)
    image = write_image(tmp_path / "one.png", face)
    clip = write_video(tmp_path / "one.mp4", [face] * 3, 10)
    expected = {
        image: f"face index 99 (--face) requested but only 1 face(s) found in {image}; ",
        clip: f"face index 99 (--face) requested but at most 1 face(s) found in any of the 3 frames of {clip}; ",
    }
    for path, message in expected.items():
        rc = main(["faces", str(path), "--out", str(tmp_path / "o"), "--face", "99", "--no-progress"])
        err = capsys.readouterr().err
        assert rc == 1 and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert message + "use an index from 0 to 0 (0 = largest)." in err
    assert not (tmp_path / "o" / "faces.json").exists()


def test_a_failed_run_leaves_nothing_behind(tmp_path, capsys, monkeypatch):
    """The output folder (and its new parents) a failing run created are removed again; in a folder that
    existed, only the files the run added go, the user's own stay."""
    import video2stylegan.cli.faces_cmd as faces_cmd

    blank = write_image(tmp_path / "wall.png", np.full((100, 100, 3), 90, np.uint8))
    out = tmp_path / "new" / "faces"
    assert main(["faces", str(blank), "--out", str(out)]) == 1
    assert "no face found in" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "notes.txt").write_text("mine")
    face = write_image(tmp_path / "face.png", draw_face(200))
    run_image = faces_cmd._run_image

    def crops_then_a_full_disk(args, path, out):
        run_image(args, path, out)
        assert sorted(p.name for p in out.iterdir()) == ["aligned.png", "landmarks.png", "notes.txt"]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(faces_cmd, "_run_image", crops_then_a_full_disk)
    assert main(["faces", str(face), "--out", str(kept)]) == 1
    assert "No space left on device" in capsys.readouterr().err
    assert sorted(p.name for p in kept.iterdir()) == ["notes.txt"]


def test_faces_json_lists_cuts_and_partial_frames(tmp_path):
    from video2stylegan.synthetic.clips import identity_from_seed, render_clip
    from video2stylegan.synthetic.trajectory import talking_trajectory

    def shot(seed, person):
        return [r.image for r in render_clip(identity_from_seed(person), talking_trajectory(5, 25.0, seed), size=96,
                                             supersample=1)]

    frames = shot(0, 0) + shot(2, 5)
    slid = frames[7].copy()
    frames[7] = np.empty_like(slid)
    frames[7][:] = slid[0, 0]
    frames[7][:, 32:] = slid[:, :64]  # in the second shot the face leaves the picture for a frame
    src = write_video(tmp_path / "clip.mp4", frames, 25)
    out = tmp_path / "out"
    assert main(["faces", str(src), "--out", str(out), "--size", "64", "--no-progress"]) == 0
    data = json.loads((out / "faces.json").read_text())
    assert data["cuts"] and abs(data["cuts"][0] - 5) <= 1
    assert 7 in data["partial_frames"] and set(data["partial_frames"]) <= {7}


def test_missing_faces_is_spelled_as_in_reenact_and_the_old_spelling_still_works():
    from video2stylegan.cli.main import build_parser

    for spelling in ("--missing-faces", "--on-missing"):
        args = build_parser().parse_args(["faces", "clip.mp4", "--out", "o", spelling, "fail"])
        assert args.on_missing == "fail"
