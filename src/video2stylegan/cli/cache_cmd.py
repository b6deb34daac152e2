"""``cache {info,verify,clear}``: what the cache of projections, PTI and calibrations holds, whether its
entries pass their checks, and removing them.

The folder is the one ``reenact`` and ``calibrate`` use (``--cache DIR``, else
``$VIDEO2STYLEGAN_CACHE`` or ``~/.cache/video2stylegan``). Entries by kind
(:data:`KINDS`); downloaded networks (``networks/``) and other files there are
counted by ``info`` but never verified or removed here.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass
from pathlib import Path

from video2stylegan.errors import InvalidOptionError, Video2StyleGANError
from video2stylegan.method.cache import (
    CALIBRATION_FOLDER,
    LOCAL_CHANNELS_SUBFOLDER,
    NO_FACES_SUBFOLDER,
    POSE_REGRESSOR_SUBFOLDER,
    PROJECTIONS_FOLDER,
    PTI_FOLDER,
    verify_entry,
)
from video2stylegan.pipeline.options import default_cache_dir


@dataclass(frozen=True)
class Kind:
    """Entries under ``folder`` (relative to the cache folder) whose names match ``pattern``."""

    name: str
    folder: str
    pattern: str
    what: str
    checked: bool  # verify reads and checks them


#: Every kind of entry the cache holds, where (the folders of :mod:`video2stylegan.method.cache`), and what it is.
KINDS = (
    Kind("projections", PROJECTIONS_FOLDER, "??/*.npz", "W+ projections (sources, frames, pose-encoded codes)", True),
    Kind("pti", PTI_FOLDER, "*.safetensors", "PTI-tuned generators", True),
    Kind("pose-regressor", f"{CALIBRATION_FOLDER}/{POSE_REGRESSOR_SUBFOLDER}", "*.safetensors",
         "pose regressors (Eq. 7)", True),
    Kind("local-channels", f"{CALIBRATION_FOLDER}/{LOCAL_CHANNELS_SUBFOLDER}", "*.json",
         "local eye/nose/mouth channels (Eq. 8-9)", True),
    Kind("no-face-notes", f"{CALIBRATION_FOLDER}/{NO_FACES_SUBFOLDER}", "*.txt",
         "notes: this network's samples show no faces", False),
    Kind("partial", "", "", "temporary files of writes that were interrupted", False),
)
KIND_NAMES = tuple(k.name for k in KINDS)
MANAGED = (PROJECTIONS_FOLDER, CALIBRATION_FOLDER)  # the folders whose files are entries (or partial files)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "cache",
        help="size of the cache of projections, PTI and calibrations; verify or clear its entries",
        description="Inspect the cache that reenact and calibrate fill: 'info' counts entries and bytes per kind, "
                    "'verify' checks every entry (checksum, dtypes, shapes, finite values), 'clear' removes "
                    "entries by kind and age.",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="cache folder (default $VIDEO2STYLEGAN_CACHE or ~/.cache/video2stylegan)")
    kinds = argparse.ArgumentParser(add_help=False)
    kinds.add_argument("--kind", action="append", choices=KIND_NAMES, default=None, metavar="KIND",
                       help=f"only this kind of entry (repeatable): {', '.join(KIND_NAMES)}; default all")
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    info = sub.add_parser("info", parents=[common], help="entries and bytes per kind",
                          description="Print the number of entries and their size per kind.")
    info.set_defaults(func=run_info)
    verify = sub.add_parser("verify", parents=[common, kinds], help="check every entry; --fix deletes bad ones",
                            description="Read every entry and check it as a run would (readable, checksum, the "
                                        "dtypes and shapes it promises, finite values). Exits 1 when any is bad, "
                                        "unless --fix deleted them (runs recompute deleted entries).")
    verify.add_argument("--fix", action="store_true", help="delete the bad entries")
    verify.set_defaults(func=run_verify)
    clear = sub.add_parser("clear", parents=[common, kinds], help="remove entries by --kind and --older-than",
                           description="Remove entries (all kinds unless --kind is given), only those not written "
                                       "or used for DAYS days with --older-than, and print what was freed.")
    clear.add_argument("--older-than", type=float, default=None, metavar="DAYS",
                       help="only entries last written or used more than DAYS days ago")
    clear.set_defaults(func=run_clear)


# --------------------------------------------------------------------------- inventory


def cache_root(option) -> Path:
    """The cache folder as reenact resolves it; an existing non-folder is refused."""
    root = Path(option or default_cache_dir())
    if root.exists() and not root.is_dir():
        raise InvalidOptionError(f"cache folder {root} is a file, not a folder; pass the folder with --cache DIR")
    return root


def _is_partial(path: Path) -> bool:
    return path.name.startswith(".")


def entries(root: Path, kind: Kind) -> list[Path]:
    """The files of ``kind`` under ``root``, sorted."""
    if kind.name == "partial":
        found = [p for top in MANAGED for p in (root / top).rglob(".*") if p.is_file()]
    else:
        found = [p for p in (root / kind.folder).glob(kind.pattern) if p.is_file() and not _is_partial(p)]
    return sorted(found)


def _unmanaged(root: Path, known: set[Path]) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p not in known]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:  # removed meanwhile by a run
        return 0


def human(n: int) -> str:
    """``"12.3 MB (12345678 bytes)"``: decimal units, and the exact count."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit} ({n} bytes)"
    return f"{n} bytes"


def _selected(args) -> list[Kind]:
    names = args.kind or KIND_NAMES
    return [k for k in KINDS if k.name in names]


# --------------------------------------------------------------------------- actions


def run_info(args: argparse.Namespace) -> None:
    root = cache_root(args.cache)
    print(f"cache folder: {root}")
    if not root.exists():
        print("it does not exist yet: nothing is cached")
        return
    known: set[Path] = set()
    total_n = total_b = 0
    print(f"{'kind':<16}{'entries':>8}  size")
    for kind in KINDS:
        files = entries(root, kind)
        known.update(files)
        size = sum(_size(p) for p in files)
        total_n, total_b = total_n + len(files), total_b + size
        print(f"{kind.name:<16}{len(files):>8}  {human(size):<30}  {kind.what}")
    print(f"{'total':<16}{total_n:>8}  {human(total_b)}")
    other = _unmanaged(root, known)
    if other:
        print(f"not managed here (downloaded networks and other files): {len(other)} files, "
              f"{human(sum(_size(p) for p in other))}")


def run_verify(args: argparse.Namespace) -> None:
    root = cache_root(args.cache)
    checked, bad, freed = 0, [], 0
    for kind in _selected(args):
        if not kind.checked:
            continue
        for path in entries(root, kind):
            checked += 1
            reason = verify_entry(path)
            if reason is None:
                continue
            size = _size(path)
            bad.append(path)
            line = f"bad {kind.name} {path.relative_to(root)}: {reason}"
            if args.fix:
                try:
                    path.unlink(missing_ok=True)
                    freed += size
                    line += " (deleted)"
                except OSError as exc:
                    line += f" (cannot delete: {exc.strerror})"
            print(line)
    print(f"checked {checked} entries in {root}: {checked - len(bad)} good, {len(bad)} bad")
    if bad and args.fix:
        left = [p for p in bad if p.exists()]
        print(f"deleted {len(bad) - len(left)} bad entries, freed {human(freed)}; runs recompute them")
        if left:
            raise Video2StyleGANError(f"{len(left)} bad entries could not be deleted (listed above); "
                                      "check the permissions of the cache folder")
    elif bad:
        raise Video2StyleGANError(f"{len(bad)} of {checked} cache entries are bad (listed above); "
                                  "`video2stylegan cache verify --fix` deletes them and runs recompute them")


def run_clear(args: argparse.Namespace) -> None:
    days = args.older_than
    if days is not None and (not math.isfinite(days) or days < 0):
        raise InvalidOptionError(f"--older-than must be a number of days >= 0, got {days}")
    root = cache_root(args.cache)
    cutoff = None if days is None else time.time() - days * 86400.0
    total_n = total_b = 0
    failed = []
    for kind in _selected(args):
        n = b = 0
        for path in entries(root, kind):
            try:
                stat = path.stat()
                if cutoff is not None and stat.st_mtime >= cutoff:
                    continue
                path.unlink()
            except FileNotFoundError:  # removed meanwhile
                continue
            except OSError as exc:
                failed.append(f"{path}: {exc.strerror}")
                continue
            n, b = n + 1, b + stat.st_size
        if n:
            print(f"removed {n} {kind.name} entries, {human(b)}")
        total_n, total_b = total_n + n, total_b + b
    for top in MANAGED:  # shard folders left empty
        folder = root / top
        if folder.is_dir():
            for d in sorted((p for p in folder.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
                try:
                    d.rmdir()
                except OSError:  # not empty
                    pass
    age = "" if days is None else f" older than {days:g} days"
    print(f"freed {human(total_b)} in {total_n} entries{age} from {root}")
    if failed:
        raise Video2StyleGANError(f"{len(failed)} entries could not be removed (first: {failed[0]}); check the "
                                  "permissions of the cache folder")
