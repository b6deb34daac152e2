"""Every command that writes refuses, before any work, an output that is one of its inputs.

Each case runs ``main([...])`` in-process with the output spelled as an input (plainly, with
``..``, through a symbolic link, through a hard link) and checks: exit status 1, one line on
stderr naming both options and no traceback, every file of the test folder byte-identical and
none added, and nothing of the run started (the network loader, the face detector, the
evaluation and the renderers fail the test when called; the cache folder stays absent).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from video2stylegan.cli.main import main
from video2stylegan.io.outputs import PACKAGE_DIR

SPELLINGS = ("plain", "relative with ..", "symlink", "hard link")


def _forbid(monkeypatch, target: str, name: str) -> None:
    def called(*args, **kwargs):
        pytest.fail(f"{target}.{name} ran although the output should have been refused first")

    monkeypatch.setattr(f"{target}.{name}", called)


@pytest.fixture
def no_work(monkeypatch, tmp_path):
    """Every expensive entry point of the commands fails the test if reached; the cache is a fresh path."""
    for target, name in [
        ("video2stylegan.networks.loading", "load_generator"),
        ("video2stylegan.evaluation.evaluate", "evaluate_video"),
        ("video2stylegan.evaluation.suite", "run_suite"),
        ("video2stylegan.faces", "detect_face"),
        ("video2stylegan.faces", "track_video"),
        ("video2stylegan.synthetic.clips", "write_clip"),
        ("video2stylegan.training.export", "export_generator"),
        ("video2stylegan.training.loop", "train"),
    ]:
        _forbid(monkeypatch, target, name)
    cache = tmp_path / "cache"
    monkeypatch.setenv("VIDEO2STYLEGAN_CACHE", str(cache))
    yield
    assert not cache.exists(), "the run got as far as creating its cache"


@pytest.fixture
def files(tmp_path, monkeypatch) -> dict[str, Path]:
    """Copies of the demo inputs (never the package's own), a network file and a run folder, in tmp/in;
    the working folder is tmp/work."""
    from video2stylegan.pipeline.demo import demo_inputs

    demo_files = demo_inputs(co_driving=True)
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    paths = {"run": folder / "run.safetensors"}  # a train-synthetic run folder, named as --export needs
    paths["run"].mkdir()
    for key, source in (("source", demo_files.source), ("driving", demo_files.driving),
                        ("co-driving", demo_files.co_driving)):
        paths[key] = Path(shutil.copyfile(source, folder / source.name))
    paths["network"] = folder / "net.safetensors"
    paths["network"].write_bytes(b"weights " * 512)
    paths["figure"] = folder / "net.png"  # a network file named like a figure, for calibrate --figure
    paths["figure"].write_bytes(b"weights " * 512)
    (tmp_path / "links").mkdir()
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return paths


def spell(path: Path, spelling: str) -> str:
    """``path`` as the user might type it for an output, from the working folder tmp/work."""
    links = path.parent.parent / "links"
    if spelling == "plain":
        return str(path)
    if spelling == "relative with ..":
        return os.path.join("..", path.parent.name, "sub", "..", path.name)
    if spelling == "symlink":
        os.symlink(path, links / f"symlink-{path.name}")
        return str(links / f"symlink-{path.name}")
    if spelling == "hard link":
        os.link(path, links / f"hard-{path.name}")
        return str(links / f"hard-{path.name}")
    raise ValueError(spelling)


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under ``folder``: the SHA-256 of a file, the target of a link, or 'dir'."""
    state = {}
    for root, dirs, names in os.walk(folder):
        for name in dirs + names:
            path = Path(root) / name
            key = str(path.relative_to(folder))
            if path.is_symlink():
                state[key] = "-> " + os.readlink(path)
            elif path.is_dir():
                state[key] = "dir"
            else:
                state[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return state


def refused(argv: list, capsys, *names: str) -> str:
    """Run the command; assert exit 1 with one stderr line naming ``names`` and no traceback."""
    rc = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert rc == 1, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for name in names:
        assert name in lines[0], lines[0]
    return lines[0]


def _reenact(f, out, **over):
    argv = {"--source": f["source"], "--driving": f["driving"], "--co-driving": f["co-driving"],
            "--network": f["network"], "--out": out, **over}
    return ["reenact", *(x for kv in argv.items() for x in kv), "--no-cache", "--quiet"]


# command -> (argv from the input files and the output as spelled, the input written over, its option name,
# the output option's name)
CASES = {
    "reenact --out = --driving": (lambda f, o: _reenact(f, o), "driving", "--driving", "--out"),
    "reenact --out = --source": (lambda f, o: _reenact(f, o), "source", "--source", "--out"),
    "reenact --out = --co-driving": (lambda f, o: _reenact(f, o), "co-driving", "--co-driving", "--out"),
    "reenact --cache = --driving": (
        lambda f, o: [a for a in _reenact(f, f["driving"].parent / "o.mp4", **{"--cache": o}) if a != "--no-cache"],
        "driving", "--driving", "--cache"),
    "evaluate --json = --result": (
        lambda f, o: ["evaluate", "--result", f["co-driving"], "--driving", f["driving"], "--json", o],
        "co-driving", "--result", "--json"),
    "evaluate --html = --driving": (
        lambda f, o: ["evaluate", "--result", f["co-driving"], "--driving", f["driving"], "--html", o],
        "driving", "--driving", "--html"),
    "evaluate --csv = --source": (
        lambda f, o: ["evaluate", "--result", f["co-driving"], "--driving", f["driving"], "--source", f["source"],
                      "--csv", o],
        "source", "--source", "--csv"),
    "evaluate --suite --out-dir = --network": (
        lambda f, o: ["evaluate", "--suite", "synthetic", "--network", f["network"], "--out-dir", o],
        "network", "--network", "--out-dir"),
    "generate --outdir = --network": (
        lambda f, o: ["generate", "--network", f["network"], "--seeds", "0", "--outdir", o],
        "network", "--network", "--outdir"),
    "convert target = source": (lambda f, o: ["convert", f["network"], o], "network", "source", "target"),
    "faces --out = the input": (lambda f, o: ["faces", f["source"], "--out", o], "source", "the input", "--out"),
    "calibrate --figure = --network": (
        lambda f, o: ["calibrate", "--network", f["figure"], "--figure", o], "figure", "--network", "--figure"),
    "calibrate --cache = --network": (
        lambda f, o: ["calibrate", "--network", f["network"], "--cache", o], "network", "--network", "--cache"),
    "train-synthetic --export = --run": (
        lambda f, o: ["train-synthetic", "--run", f["run"], "--export", o], "run", "--run", "--export"),
    "train-synthetic --run = --init-from": (
        lambda f, o: ["train-synthetic", "--run", o, "--init-from", f["network"]], "network", "--init-from", "--run"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_an_output_that_is_an_input_is_refused_before_any_work(case, files, no_work, tmp_path, capsys):
    build, key, input_name, output_name = CASES[case]
    before = snapshot(tmp_path)
    line = refused(build(files, files[key]), capsys, input_name, output_name)
    assert "same file" in line or "same folder" in line
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("spelling", SPELLINGS)
@pytest.mark.parametrize("case", ["reenact --out = --driving", "evaluate --html = --driving",
                                  "generate --outdir = --network", "convert target = source"])
def test_every_spelling_of_the_input_is_refused(case, spelling, files, no_work, tmp_path, capsys):
    build, key, input_name, output_name = CASES[case]
    out = spell(files[key], spelling)
    before = snapshot(tmp_path)
    line = refused(build(files, out), capsys, input_name, output_name)
    assert line.count(out) >= 1  # the output as the user spelled it
    assert snapshot(tmp_path) == before


def test_the_bundled_demo_clip_is_refused_as_demo_output(no_work, tmp_path, capsys):
    demo = PACKAGE_DIR / "assets" / "demo"
    before = snapshot(demo)
    refused(["demo", "--out", demo / "driving.mp4", "--quiet"], capsys, "--out", "the bundled driving clip")
    os.symlink(demo / "driving.mp4", tmp_path / "demo-link.mp4")
    refused(["demo", "--out", tmp_path / "demo-link.mp4", "--quiet"], capsys, "the bundled driving clip")
    # without --co-driving the co-driving clip is no input of the run, but it is the package's
    line = refused(["demo", "--out", demo / "codriving.mp4", "--quiet"], capsys, "--out")
    assert "inside the installed video2stylegan package" in line
    refused(["demo", "--out", demo / "new.mp4", "--quiet"], capsys, "inside the installed video2stylegan package")
    assert snapshot(demo) == before


def test_two_reports_of_one_evaluation_must_differ(files, no_work, tmp_path, capsys):
    before = snapshot(tmp_path)
    refused(["evaluate", "--result", files["co-driving"], "--driving", files["driving"], "--json", "r.txt",
             "--csv", tmp_path / "work" / "r.txt"], capsys, "--csv", "--json", "one would replace the other")
    assert snapshot(tmp_path) == before


def test_synth_video_outputs_must_differ_and_stay_out_of_the_package(files, no_work, tmp_path, capsys):
    before = snapshot(tmp_path)
    refused(["synth-video", "--out", "t.npz", "--ground-truth", "./t.npz"], capsys, "--ground-truth", "--out")
    refused(["synth-video", "--out", PACKAGE_DIR / "assets" / "demo" / "x.mp4"], capsys,
            "--out", "inside the installed video2stylegan package")
    assert snapshot(tmp_path) == before


def test_faces_refuses_a_folder_whose_written_files_include_the_input(files, no_work, tmp_path, capsys):
    out = tmp_path / "faces-out"
    out.mkdir()
    clip = Path(shutil.copyfile(files["driving"], out / "aligned.mp4"))  # what a video's run writes first
    before = snapshot(tmp_path)
    refused(["faces", clip, "--out", out], capsys, "--out", "(its aligned.mp4)", "the input")
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("out, message", [
    ("/proc/x.mp4", "the folder /proc is not writable"),
    ("{tmp}", "is an existing folder; give the path of a file"),
    ("{tmp}/missing/o.mp4", "the folder {tmp}/missing does not exist"),
])
def test_an_unwritable_reenact_output_is_refused_before_the_network_loads(out, message, files, no_work, tmp_path,
                                                                          capsys):
    before = snapshot(tmp_path)
    refused(_reenact(files, out.format(tmp=tmp_path)), capsys, "--out", message.format(tmp=tmp_path))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("outdir, message", [
    ("/proc/seeds", "the folder /proc is not writable"),
    ("{tmp}/in/source.png", "is an existing file, not a folder"),
    ("{tmp}/in/source.png/seeds", "cannot be created: {tmp}/in/source.png is a file"),
])
def test_an_unusable_generate_outdir_is_refused_before_the_network_loads(outdir, message, files, no_work, tmp_path,
                                                                         capsys):
    before = snapshot(tmp_path)
    refused(["generate", "--network", files["network"], "--outdir", outdir.format(tmp=tmp_path)], capsys,
            "--outdir", message.format(tmp=tmp_path))
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize("command", [["reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4"],
                                     ["demo"], ["synth-video", "--out", "o.mp4"]])
@pytest.mark.parametrize("fps", ["inf", "1e308", "1e11", "1e-300", "nan", "0", "241"])
def test_fps_outside_its_range_is_a_parse_error(command, fps, no_work, capsys):
    with pytest.raises(SystemExit) as info:
        main([*command, "--fps", fps])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert f"--fps must be between 0.1 and 240 frames per second, got '{fps}'" in err and "Traceback" not in err


def test_fps_range_is_in_the_help(capsys):
    for command in ("reenact", "demo", "synth-video"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert "0.1 to 240" in capsys.readouterr().out
