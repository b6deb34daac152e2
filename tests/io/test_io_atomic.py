"""atomic_output: a write that fails with an OSError (disk full, permission denied) becomes our error
naming the target, the temporary file is removed, and an existing target is left as it was."""

import errno
import os
from pathlib import Path

import pytest

from video2stylegan.errors import CheckpointError, MediaError, OutputError
from video2stylegan.io.atomic import atomic_output


def full_disk(tmp: Path) -> None:
    """What a write does on a full disk: part of the file is there, then ENOSPC."""
    tmp.write_bytes(b"half")
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("error", [MediaError, CheckpointError, OutputError])
def test_enospc_while_writing_is_our_error_naming_the_target(tmp_path, error):
    target = tmp_path / "out.bin"
    target.write_bytes(b"previous")
    with pytest.raises(error) as info:
        with atomic_output(target, what="network", error=error) as tmp:
            full_disk(tmp)
    message = str(info.value)
    assert str(target) in message and "No space left on device" in message and "network" in message
    assert "\n" not in message
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.bin"]  # no temporary file


def test_failed_rename_is_our_error_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "out.txt"

    def refuse(src, dst):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(dst))

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(MediaError, match="Permission denied") as info:
        with atomic_output(target) as tmp:
            tmp.write_text("text")
    assert str(target) in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_an_oserror_subclass_error_keeps_errno_and_names_the_target(tmp_path):
    class CacheWrite(OSError):
        pass

    target = tmp_path / "entry.npz"
    with pytest.raises(CacheWrite) as info:
        with atomic_output(target, error=CacheWrite) as tmp:
            full_disk(tmp)
    assert info.value.errno == errno.ENOSPC
    assert info.value.strerror == os.strerror(errno.ENOSPC)
    assert info.value.filename == str(target)
    assert list(tmp_path.iterdir()) == []


def test_other_exceptions_pass_through_and_still_remove_the_temporary_file(tmp_path):
    with pytest.raises(ValueError, match="not mine"):
        with atomic_output(tmp_path / "x.png") as tmp:
            tmp.write_bytes(b"partial")
            raise ValueError("not mine")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_folder_is_our_error_naming_the_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(CheckpointError, match="nowhere"):
        with atomic_output(missing / "x.safetensors", error=CheckpointError):
            pass


def test_success_replaces_the_target_with_umask_permissions(tmp_path):
    target = tmp_path / "ok.txt"
    with atomic_output(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new"
    assert list(tmp_path.iterdir()) == [target]
    mask = os.umask(0)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask
