"""Atomic file output: write beside the target, then rename, so no half file is ever left."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from video2stylegan.errors import MediaError


def umask_mode() -> int:
    """The permission bits a plain ``open()`` would give a new file (0666 minus umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = ".tmp", what: str = "file", error: type[Exception] = MediaError):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on any error it is removed.

    Raises ``error`` (default :class:`MediaError`) naming the folder when no file can be created there.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        raise error(f"cannot write {what} {path}: folder {folder} is not writable ({exc.strerror}).") from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, umask_mode())  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
