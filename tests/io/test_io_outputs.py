"""check_output: every way an output path can name an input, the package, or an unwritable place is refused."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from video2stylegan.errors import InvalidOptionError, MediaError, OutputError
from video2stylegan.io.outputs import PACKAGE_DIR, check_output, check_outputs_differ


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def clip(tmp_path) -> Path:
    """An input file of the run: 4 KB of distinct bytes."""
    path = tmp_path / "driving.mp4"
    path.write_bytes(bytes(range(256)) * 16)
    return path


def _spellings(clip: Path, monkeypatch) -> dict[str, Path]:
    (clip.parent / "sub").mkdir()
    os.symlink(clip, clip.parent / "link.mp4")
    os.link(clip, clip.parent / "hard.mp4")
    os.symlink(clip.parent, clip.parent / "folder-link")
    monkeypatch.chdir(clip.parent / "sub")
    return {
        "plain": clip,
        "relative with ..": Path("..") / "sub" / ".." / clip.name,
        "symlink": clip.parent / "link.mp4",
        "hard link": clip.parent / "hard.mp4",
        "symlinked folder": clip.parent / "folder-link" / clip.name,
    }


@pytest.mark.parametrize("spelling", ["plain", "relative with ..", "symlink", "hard link", "symlinked folder"])
def test_an_input_is_refused_however_it_is_spelled(clip, monkeypatch, spelling):
    target = _spellings(clip, monkeypatch)[spelling]
    before, listing = _digest(clip), sorted(os.listdir(clip.parent))
    with pytest.raises(OutputError) as info:
        check_output(target, {"--source": clip.parent / "face.png", "--driving": clip}, what="--out")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"--out {target} is the same file as --driving {clip};")
    assert _digest(clip) == before and sorted(os.listdir(clip.parent)) == listing  # no probe file left behind


def test_an_input_given_through_a_link_is_found_from_its_real_path(clip, tmp_path):
    os.symlink(clip, tmp_path / "alias.mp4")
    with pytest.raises(OutputError, match="same file as --co-driving .*alias.mp4"):
        check_output(clip, [("--co-driving", tmp_path / "alias.mp4")])


def test_a_new_file_beside_the_inputs_is_allowed_and_nothing_is_left(clip, tmp_path):
    listing = sorted(os.listdir(tmp_path))
    out = check_output(str(tmp_path / "result.mp4"), {"--driving": clip, "--source": None, "--network": object()})
    assert out == tmp_path / "result.mp4" and isinstance(out, Path)
    assert sorted(os.listdir(tmp_path)) == listing


def test_an_existing_output_that_is_no_input_may_be_replaced(clip, tmp_path):
    old = tmp_path / "old-result.mp4"
    old.write_bytes(b"previous run")
    assert check_output(old, {"--driving": clip}) == old
    assert old.read_bytes() == b"previous run"


def test_the_installed_package_is_refused():
    assets = PACKAGE_DIR / "assets" / "demo"
    listing = sorted(os.listdir(assets))
    with pytest.raises(OutputError, match=r"--out .*new\.mp4 is inside the installed video2stylegan package"):
        check_output(assets / "new.mp4")
    with pytest.raises(OutputError, match="inside the installed video2stylegan package"):
        check_output(PACKAGE_DIR / "results", what="--outdir", kind="dir")
    assert sorted(os.listdir(assets)) == listing


def test_the_package_is_refused_through_a_link(tmp_path):
    os.symlink(PACKAGE_DIR / "assets", tmp_path / "assets")
    with pytest.raises(OutputError, match="inside the installed video2stylegan package"):
        check_output(tmp_path / "assets" / "demo" / "driving.mp4", what="--out")


def test_a_folder_where_a_file_is_written_and_a_file_where_a_folder_is(clip, tmp_path):
    with pytest.raises(OutputError, match=r"--out .* is an existing folder; give the path of a file"):
        check_output(tmp_path, what="--out")
    with pytest.raises(OutputError, match=r"--outdir .*driving\.mp4 is an existing file, not a folder"):
        check_output(clip, what="--outdir", kind="dir")
    with pytest.raises(OutputError, match=r"--outdir .* cannot be created: .*driving\.mp4 is a file"):
        check_output(clip / "frames" / "more", what="--outdir", kind="dir")
    with pytest.raises(OutputError, match=r"--out .*: .*driving\.mp4 is a file, not a folder"):
        check_output(clip / "x.mp4", what="--out")


def test_a_missing_folder_is_refused_for_a_file_but_created_later_for_a_folder(tmp_path):
    with pytest.raises(OutputError, match=r"--json .*: the folder .*missing does not exist; create it first"):
        check_output(tmp_path / "missing" / "r.json", what="--json")
    assert check_output(tmp_path / "a" / "b" / "c", what="--outdir", kind="dir") == tmp_path / "a" / "b" / "c"
    assert not (tmp_path / "a").exists()  # checked, not created


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where no file can be created")
def test_a_folder_that_refuses_new_files_is_refused_even_for_root():
    # os.access says /proc is writable for root; only trying to create a file tells
    with pytest.raises(OutputError, match=r"--out /proc/x\.mp4: the folder /proc is not writable"):
        check_output("/proc/x.mp4", what="--out")
    with pytest.raises(OutputError, match=r"--outdir /proc/new/seeds: the folder /proc is not writable"):
        check_output("/proc/new/seeds", what="--outdir", kind="dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores permission bits; the /proc test covers the refusal")
def test_a_read_only_folder_is_refused(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(OutputError, match=r"the folder .*ro is not writable"):
            check_output(folder / "x.mp4")
        with pytest.raises(OutputError, match=r"the folder .*ro is not writable"):
            check_output(folder / "new" / "deeper", what="--outdir", kind="dir")
    finally:
        folder.chmod(0o700)


def test_free_space_is_checked_against_the_expected_size(tmp_path):
    free = shutil.disk_usage(tmp_path).free
    need = free + 10**12  # a terabyte more than there is
    with pytest.raises(OutputError, match=rf"MB free in {tmp_path}, about {need / 1e6:.1f} MB needed"):
        check_output(tmp_path / "big.safetensors", what="target", expected_bytes=need)
    assert check_output(tmp_path / "small.safetensors", expected_bytes=1024) == tmp_path / "small.safetensors"


def test_the_files_a_folder_receives_are_checked_against_the_inputs(clip, tmp_path):
    outdir = tmp_path / "images"
    outdir.mkdir()
    # the input itself is one of the names written into the folder
    with pytest.raises(OutputError, match=r"--outdir .* \(its driving\.mp4\) is the same file as --network"):
        check_output(tmp_path, {"--network": clip}, what="--outdir", kind="dir", contents=["driving.mp4"])
    # a hard link and a symbolic link to the input under names the run writes
    os.link(clip, outdir / "seed0003.png")
    os.symlink(clip, outdir / "seed0007.png")
    names = [f"seed{s:04d}.png" for s in range(10)]
    with pytest.raises(OutputError, match=r"\(its seed000[37]\.png\) is the same file as --network"):
        check_output(outdir, {"--network": clip}, what="--outdir", kind="dir", contents=names)
    (outdir / "seed0003.png").unlink()
    (outdir / "seed0007.png").unlink()
    assert check_output(outdir, {"--network": clip}, what="--outdir", kind="dir", contents=names) == outdir
    (outdir / "seed0001.png").mkdir()
    with pytest.raises(OutputError, match=r"seed0001\.png is an existing folder where the file seed0001\.png"):
        check_output(outdir, {"--network": clip}, what="--outdir", kind="dir", contents=names)


def test_a_folder_output_that_is_an_input_folder_is_refused(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(OutputError, match=r"--run .*run is the same folder as --init-from .*run"):
        check_output(run, {"--init-from": tmp_path / "." / "run"}, what="--run", kind="dir")


def test_two_outputs_of_one_run_must_differ(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OutputError, match=r"--csv r\.txt is the same file as --json .*r\.txt"):
        check_outputs_differ({"--json": tmp_path / "r.txt", "--csv": "r.txt", "--html": None})
    check_outputs_differ({"--json": "r.json", "--csv": "r.csv", "--html": None})
    assert sorted(os.listdir(tmp_path)) == []


def test_output_errors_are_option_and_media_errors(tmp_path):
    # callers that caught MediaError for a missing folder before these checks existed still catch it
    for kind in (InvalidOptionError, MediaError):
        with pytest.raises(kind):
            check_output(tmp_path / "missing" / "x.mp4")
    with pytest.raises(OutputError, match="--out is empty"):
        check_output("")
    with pytest.raises(ValueError, match="kind must be one of"):
        check_output(tmp_path / "x", kind="folder")


def test_removed_on_failure_takes_back_only_what_the_run_created(tmp_path):
    from video2stylegan.io.outputs import removed_on_failure

    with pytest.raises(RuntimeError), removed_on_failure(tmp_path / "new" / "deep", ["a.png"]) as folder:
        (folder / "a.png").write_bytes(b"x")
        raise RuntimeError("write failed")
    assert not (tmp_path / "new").exists()  # the folders it made are gone
    existing = tmp_path / "kept"
    existing.mkdir()
    (existing / "old.png").write_bytes(b"old")
    (existing / "b.png").write_bytes(b"previous result")
    with pytest.raises(RuntimeError), removed_on_failure(existing, ["a.png", "b.png"]) as folder:
        (folder / "a.png").write_bytes(b"x")
        (folder / "b.png").write_bytes(b"overwritten")
        raise RuntimeError("write failed")
    assert sorted(p.name for p in existing.iterdir()) == ["b.png", "old.png"]  # a.png was new: removed
    with removed_on_failure(existing, ["c.png"]) as folder:  # success keeps everything
        (folder / "c.png").write_bytes(b"x")
    assert (existing / "c.png").exists()
