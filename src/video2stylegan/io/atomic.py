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


def write_failure(error: type[Exception], what: str, path: Path, exc: OSError) -> Exception:
    """``error`` for an ``OSError`` that stopped the write of ``path``: what, where and what to do.

    When ``error`` is itself an ``OSError`` (the cache's internal write error), it keeps the errno and
    strerror of ``exc`` so callers that warn with ``exc.strerror`` still can; ``filename`` is the target.
    """
    reason = exc.strerror or str(exc) or type(exc).__name__
    if issubclass(error, OSError):
        return error(exc.errno, reason, str(path))
    return error(f"cannot write {what} {path}: {reason}; nothing was written (free space on that disk, "
                 "fix its permissions or choose another path)")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, suffix: str = ".tmp", what: str = "file", error: type[Exception] = MediaError):
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on any error it is removed.

    Raises ``error`` (default :class:`MediaError`) naming ``path`` when no file can be created in its
    folder, and when writing the temporary file or renaming it fails with an ``OSError`` (disk full,
    permission denied, read-only file system...). Any other exception passes through unchanged. In every
    failing case the temporary file is gone afterwards and ``path`` is as it was before.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=folder)
        os.close(fd)
    except OSError as exc:
        if issubclass(error, OSError):
            raise error(exc.errno, exc.strerror or str(exc), str(folder)) from None
        raise error(f"cannot write {what} {path}: folder {folder} is not writable ({exc.strerror}).") from None
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, umask_mode())  # mkstemp creates 0600 files
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        if isinstance(exc, error):  # already ours (a subclass of OSError the caller asked for)
            raise
        raise write_failure(error, what, path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """Remove the temporary file; a failure to do so must not hide the error that brought us here."""
    try:
        tmp.unlink(missing_ok=True)
    except OSError:
        pass
