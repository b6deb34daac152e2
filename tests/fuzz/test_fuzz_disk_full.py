"""A real full disk (a 256 KiB tmpfs): the write fails with ENOSPC from the kernel, the command prints one
line naming the file, exits 1, and leaves nothing on that disk."""

from __future__ import annotations

import shutil

from tests.fuzz.harness import file_hashes


def _fill(folder) -> None:
    """Use up the tmpfs so that the next write of any size fails."""
    with open(folder / "ballast", "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError:
            pass


def test_convert_onto_a_full_disk_is_one_line_and_leaves_nothing(full_disk, pristine, tmp_path, capsys, request):
    from video2stylegan.cli.main import main

    request.node.user_properties.append(("fuzz_command", "convert"))
    source = tmp_path / "net.pkl"
    shutil.copyfile(pristine / "net.pkl", source)
    _fill(full_disk)
    before = file_hashes(full_disk)
    digest = file_hashes(tmp_path)["net.pkl"]
    target = full_disk / "net.safetensors"
    capsys.readouterr()
    code = main(["convert", str(source), str(target)])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("video2stylegan convert: error:"), err
    # refused by convert's free-space check before writing, or by the write itself: either way it says why
    assert str(target) in lines[0] and ("No space left on device" in lines[0] or "free" in lines[0]), lines[0]
    assert file_hashes(full_disk) == before  # no partial file, no temporary file
    assert file_hashes(tmp_path)["net.pkl"] == digest


def test_evaluate_report_onto_a_full_disk_leaves_no_tmp(full_disk, pristine, tmp_path, capsys, monkeypatch, request):
    """The JSON report of evaluate used to leave a 0-byte ``.tmp`` on a full disk."""
    import numpy as np

    from video2stylegan.cli.main import main
    from video2stylegan.evaluation import EvaluationReport, evaluate

    request.node.user_properties.append(("fuzz_command", "evaluate"))
    clip = tmp_path / "driving.mp4"
    shutil.copyfile(pristine / "driving.mp4", clip)
    report = EvaluationReport(summary={"dK": 0.5}, per_frame={"dK": np.array([0.5, 0.5])},
                              info={"frames": 2, "result_frames": 2, "driving_frames": 2})
    monkeypatch.setattr(evaluate, "evaluate_video", lambda *a, **k: report)  # the scores are not under test
    _fill(full_disk)
    before = file_hashes(full_disk)
    target = full_disk / "report.json"
    capsys.readouterr()
    code = main(["evaluate", "--result", str(clip), "--driving", str(clip), "--json", str(target)])
    err = capsys.readouterr().err
    assert code == 1, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and str(target) in lines[0] and "No space left on device" in lines[0], err
    assert file_hashes(full_disk) == before
