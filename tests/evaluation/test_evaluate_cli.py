"""The evaluate subcommand, run in-process through main()."""

import json

import pytest

from video2stylegan.cli.main import main


def test_evaluate_a_clip_against_itself(shared_data, tmp_path, capsys):
    clip = shared_data / "driving" / "tps__driving.mp4"
    args = ["evaluate", "--driving", str(clip), "--result", str(clip), "--max-frames", "3", "--no-progress"]
    assert main(args + ["--json", str(tmp_path / "r.json"), "--csv", str(tmp_path / "r.csv")]) == 0
    out = capsys.readouterr().out
    assert "| dK | 0 |" in out and "report written to" in out
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["summary"]["LMD"]["value"] == 0.0 and data["info"]["frames"] == 3
    assert len((tmp_path / "r.csv").read_text().splitlines()) == 4


def test_evaluate_user_errors_exit_1(shared_data, tmp_path, capsys):
    clip = shared_data / "driving" / "tps__driving.mp4"
    assert main(["evaluate", "--driving", str(clip), "--result", str(tmp_path / "none.mp4")]) == 1
    err = capsys.readouterr().err
    assert "none.mp4" in err and "Traceback" not in err
    assert main(["evaluate", "--driving", str(clip), "--result", str(clip), "--max-frames", "1"]) == 1
    assert "--max-frames" in capsys.readouterr().err
    assert main(["evaluate", "--driving", str(clip), "--result", str(clip), "--json", str(tmp_path / "no" / "r.json")]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_evaluate_html_report(shared_data, tmp_path, capsys):
    clip = shared_data / "driving" / "tps__driving.mp4"
    html_path = tmp_path / "r.html"
    args = ["evaluate", "--driving", str(clip), "--result", str(clip), "--max-frames", "3", "--no-progress",
            "--no-learned", "--html", str(html_path)]
    assert main(args) == 0
    assert "HTML report written to" in capsys.readouterr().out
    text = html_path.read_text()
    assert "<td>dK</td><td>0</td>" in text and "Frames compared: 3" in text
    # a strip of the 3 frames: driving and result columns (no --source, so no reference)
    assert text.count('src="data:image/png;base64,') == 3 * 2
    assert "http" not in text


def test_evaluate_suite_argument_errors(shared_data, tmp_path, capsys):
    clip = shared_data / "driving" / "tps__driving.mp4"
    assert main(["evaluate", "--driving", str(clip)]) == 1
    err = capsys.readouterr().err
    assert "--result" in err and "--suite synthetic" in err and "Traceback" not in err
    assert main(["evaluate", "--suite", "synthetic", "--result", str(clip), "--out-dir", str(tmp_path)]) == 1
    assert "--result" in capsys.readouterr().err
    assert main(["evaluate", "--suite", "synthetic", "--variants", "full,nope", "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "baseline" in err
    with pytest.raises(SystemExit) as info:  # frames per case are bounded at parse time (exit 2)
        main(["evaluate", "--suite", "synthetic", "--frames", "2", "--out-dir", str(tmp_path)])
    assert info.value.code == 2 and "--frames: 2 is not an integer from 3 to 300" in capsys.readouterr().err
    assert main(["evaluate", "--suite", "synthetic", "--cases", "demo,nope", "--out-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "nope" in err and "pair-3" in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []  # rejected before any work


def test_evaluate_suite_end_to_end_on_a_network_file(tmp_path, capsys, tiny_G):
    """--suite synthetic --quick with a tiny network saved to a file: tables printed, files written."""
    from video2stylegan.networks.checkpoint import save_generator

    net = save_generator(tiny_G, tmp_path / "tiny.safetensors")
    out = tmp_path / "bench"
    args = ["evaluate", "--suite", "synthetic", "--quick", "--frames", "3", "--network", str(net),
            "--variants", "baseline", "--out-dir", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "| ground truth |" in text and "| baseline |" in text and "tiny.safetensors" in text
    assert "source_steps 20, pti_steps 10," in text  # --quick runs the draft budget
    assert (out / "report.html").is_file() and (out / "demo" / "baseline.mp4").is_file()
    rows = (out / "results.csv").read_text().splitlines()
    assert len(rows) == 3 and rows[2].startswith("demo,baseline,ok,3,")
