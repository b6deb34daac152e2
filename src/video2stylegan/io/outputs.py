"""Checks of an output path, made before any work, so that a run never writes over its own inputs.

Every command that writes calls :func:`check_output` first, with every path the run
reads. It refuses, with one line naming the option:

* a target that is one of the inputs, however it is spelled: a relative path, ``..``,
  a symbolic link (:meth:`pathlib.Path.resolve`) or a hard link (same device and inode);
* a target inside the installed package (its bundled demo clips, networks and pose
  regressor would be replaced in an editable install);
* an existing folder where a file is written, or an existing file where a folder is;
* a folder that does not exist (for a file) or cannot be created (for a folder), or
  that cannot be written: besides :func:`os.access`, which a root user always passes,
  a temporary file is created and removed in it, which fails on ``/proc`` even for root;
* with ``expected_bytes``, a disk with less free space than that.

The file itself is written later by :func:`video2stylegan.io.atomic.atomic_output`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

from video2stylegan.errors import OutputError

__all__ = ["PACKAGE_DIR", "check_output", "check_outputs_differ", "removed_on_failure"]

#: The installed package: nothing is ever written inside it.
PACKAGE_DIR = Path(__file__).resolve().parent.parent

KINDS = ("file", "dir")


def _real(path: Path) -> Path:
    """The absolute path with every symbolic link and ``..`` resolved (missing parts kept as spelled)."""
    return path.resolve()


def _same(a: Path, real_a: Path, b: Path, real_b: Path) -> bool:
    """Whether ``a`` and ``b`` name one file or folder: equal real paths, or (both existing) one inode."""
    if real_a == real_b:
        return True
    try:
        sa, sb = os.stat(a), os.stat(b)
    except (OSError, ValueError):
        return False
    return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)


def _named_paths(inputs) -> list[tuple[str, Path]]:
    """``(name, path)`` of the inputs that are paths (a mapping or pairs; ``None``, arrays and modules skipped)."""
    pairs = inputs.items() if isinstance(inputs, Mapping) else inputs
    named = []
    for name, value in pairs:
        if isinstance(value, (str, os.PathLike)) and os.fspath(value) != "":
            named.append((name, Path(value)))
    return named


def _content_clash(folder: Path, real_folder: Path, names: set, source: Path, real_source: Path) -> str | None:
    """Which of the files ``names`` to be written in ``folder`` is ``source``, if any.

    By real path first, then (the folder and the input existing) by inode among the folder's
    entries of those names, so a link to the input inside the folder counts too. One listing of
    the folder, whatever the number of names (``generate --seeds 0-99999``)."""
    if real_source.parent == real_folder and real_source.name in names:
        return real_source.name
    try:
        st = os.stat(source)
        entries = list(os.scandir(folder))
    except (OSError, ValueError):
        return None
    for entry in entries:
        if entry.name in names:
            try:
                found = entry.stat()  # follows a symbolic link to the file it names
            except OSError:
                continue
            if (found.st_dev, found.st_ino) == (st.st_dev, st.st_ino):
                return entry.name
    return None


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _nearest_existing(path: Path) -> Path:
    """``path`` or the closest of its ancestors that exists (``.`` for a relative path with none)."""
    for candidate in (path, *path.parents):
        if os.path.lexists(candidate):
            return candidate
    return Path(".")


def _probe_writable(folder: Path, what: str, path: Path) -> None:
    """Create and remove a temporary file in ``folder``; :class:`OutputError` when either fails."""
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{what} {path}: the folder {folder} is not writable; choose a folder you can write to.")
    try:
        fd, name = tempfile.mkstemp(prefix=".video2stylegan-probe-", dir=folder)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        raise OutputError(
            f"{what} {path}: the folder {folder} is not writable ({exc.strerror or exc}); "
            "choose a folder you can write to."
        ) from None


def _check_space(folder: Path, expected_bytes: int, what: str, path: Path) -> None:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return  # file systems that do not report their size: the write itself will tell
    if free < expected_bytes:
        raise OutputError(
            f"{what} {path}: only {free / 1e6:.1f} MB free in {folder}, about {expected_bytes / 1e6:.1f} MB "
            "needed; free some space or choose another folder."
        )


def check_output(
    path: str | os.PathLike,
    inputs: Mapping | Iterable[tuple[str, object]] = (),
    *,
    what: str = "--out",
    kind: str = "file",
    contents: Iterable[str] = (),
    expected_bytes: int | None = None,
) -> Path:
    """Refuse (with :class:`~video2stylegan.errors.OutputError`) an output path that would lose data or
    fail only after the work; return it as a :class:`~pathlib.Path` otherwise. Writes nothing that stays.

    ``inputs``: every path the run reads, as ``{name: path}`` or ``(name, path)`` pairs named
    as the user knows them (``"--driving"``); values that are not paths (``None``, an image
    array, a loaded network) are skipped. ``what``: the output's name in messages. ``kind``:
    ``"file"`` (its folder must exist) or ``"dir"`` (a folder, created later with its parents:
    the nearest existing one must be a writable folder). ``contents``: for a folder, the names
    of the files the run writes in it, each also checked against the inputs.
    ``expected_bytes``: refuse when the folder's disk has less free space.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if os.fspath(path) == "":
        raise OutputError(f"{what} is empty; give a {'file' if kind == 'file' else 'folder'} path.")
    path = Path(path)
    real = _real(path)
    noun = "file" if kind == "file" else "folder"

    names = set(contents) if kind == "dir" else set()
    for name, source in _named_paths(inputs):
        real_source = _real(source)
        clash = path if _same(path, real, source, real_source) else None
        if clash is None and names:
            inner = _content_clash(path, real, names, source, real_source)
            clash = None if inner is None else path / inner
        if clash is not None:
            kind_of = "folder" if source.is_dir() else "file"
            where = f"{what} {path}" if clash == path else f"{what} {path} (its {clash.name})"
            raise OutputError(
                f"{where} is the same {kind_of} as {name} {source}; writing there would replace that input, "
                f"so choose another {noun} for {what}."
            )

    if _inside(real, PACKAGE_DIR):
        raise OutputError(
            f"{what} {path} is inside the installed video2stylegan package ({PACKAGE_DIR}), whose files it needs; "
            f"write the {noun} somewhere else."
        )

    if kind == "file":
        if path.is_dir():
            raise OutputError(f"{what} {path} is an existing folder; give the path of a file to write.")
        folder = path.parent if str(path.parent) else Path(".")
        if not folder.exists():
            raise OutputError(f"{what} {path}: the folder {folder} does not exist; create it first.")
        if not folder.is_dir():
            raise OutputError(f"{what} {path}: {folder} is a file, not a folder; choose another path.")
    else:
        if path.exists() and not path.is_dir():
            raise OutputError(f"{what} {path} is an existing file, not a folder; give a folder path.")
        folder = _nearest_existing(path)
        if not folder.is_dir():
            raise OutputError(f"{what} {path} cannot be created: {folder} is a file, not a folder; "
                              "choose another path.")
        if names and path.is_dir():
            for entry in os.scandir(path):
                if entry.name in names and entry.is_dir():
                    raise OutputError(f"{what} {path}: {path / entry.name} is an existing folder where the file "
                                      f"{entry.name} is written; remove it or choose another {what}.")
    _probe_writable(folder, what, path)
    if expected_bytes is not None:
        _check_space(folder, int(expected_bytes), what, path)
    return path


def check_outputs_differ(outputs: Mapping) -> None:
    """Refuse two outputs of one run that name the same file (the second would replace the first).

    ``outputs``: ``{name: path}``; ``None`` values are skipped.
    """
    seen: list[tuple[str, Path, Path]] = []
    for name, value in _named_paths(outputs):
        real = _real(value)
        for other, path, real_other in seen:
            if _same(value, real, path, real_other):
                raise OutputError(
                    f"{name} {value} is the same file as {other} {path}; one would replace the other, "
                    f"so give {name} another path."
                )
        seen.append((name, value, real))


@contextlib.contextmanager
def removed_on_failure(folder: Path, names: Iterable[str] = ()):
    """Create ``folder`` (with its missing parents) for the block; if the block fails, remove what the run
    created: the folders it made, or, in a folder that existed, the entries ``names`` that did not."""
    folder = Path(folder)
    created = [f for f in (folder, *folder.parents) if not f.exists()]
    added = [] if created else [folder / name for name in names if not (folder / name).exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"cannot create output folder {folder} ({exc.strerror})") from None
    try:
        yield folder
    except BaseException:
        if created:
            shutil.rmtree(created[-1], ignore_errors=True)
        for item in added:
            if item.is_dir() and not item.is_symlink():
                shutil.rmtree(item, ignore_errors=True)
            else:
                item.unlink(missing_ok=True)
        raise
