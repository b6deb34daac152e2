"""The fuzz harness: one table row (:class:`Case`) per hostile input, run in-process through ``main()``.

Every case runs in a fresh workspace: ``in/`` holds copies of the pristine inputs (tiny networks, the
bundled demo media, a cache with one entry), ``out/`` is the empty output folder and the working directory
(so default outputs such as ``demo.mp4`` land there), and ``$VIDEO2STYLEGAN_CACHE`` points inside ``out/``.
A case may damage an input first (``mutate``), replace functions (``patches``: a write that fails with
ENOSPC), and name stages that must never be reached (``forbid``: loading a network, embedding, training...).

What a refused case must show (see docs/reliability.md):

* exit status 1 (our error), or 2 for an argparse usage error;
* exactly one stderr line containing ``error:``; it is the last non-empty line, it starts with
  ``video2stylegan <command>`` and names the offending option or file. Other stderr lines are tolerated
  (argparse's usage block, ``WARNING:`` log lines, progress bars), the error itself is never split;
* no ``Traceback`` anywhere in stderr;
* every input byte-for-byte unchanged and no file added beside the inputs;
* no file or folder added to the output folder (nor the cache inside it).
"""

from __future__ import annotations

import errno
import hashlib
import importlib
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

#: Stages too expensive for the fuzz suite, or that a refused case must not reach ("module:attribute").
LOAD = "video2stylegan.networks.loading:load_generator"
EMBED = ("video2stylegan.pipeline.run:embed_source", "video2stylegan.pipeline.run:embed_clip")
DOWNLOAD = "urllib.request:urlopen"
SYNTH = "video2stylegan.synthetic.clips:synth_video"
CALIBRATE = ("video2stylegan.method.local_channels:calibrate_local_channels",
             "video2stylegan.method.local_channels:calibrate_cached",
             "video2stylegan.method.pose:calibrate_pose_regressor")
EVALUATE = ("video2stylegan.evaluation.evaluate:evaluate_video", "video2stylegan.evaluation.suite:run_suite")
TRAIN = "video2stylegan.training.loop:train"
DETECT = "video2stylegan.faces.detection:detect_faces"
ALWAYS_FORBIDDEN = (DOWNLOAD,)


class ReachedForbiddenStage(AssertionError):
    """A refused case got as far as a stage it must be refused before (never caught by main())."""


@dataclass
class Case:
    """One hostile invocation and what it must lead to.

    ``argv``: the command line; ``{in}`` and ``{out}`` are replaced by the workspace's folders.
    ``exit``: 1 (our error) or 2 (argparse); a tuple allows either (a bad number may be refused at parse
    time or by the command). ``names``: strings the error line must contain (the
    option or the file's name). ``expect``: ``"refused"`` (the rules above) or ``"warned"`` (a
    documented warning-and-continue: ``check`` asserts what happened instead). ``changes``: inputs the
    case may change on purpose (a bad cache entry that ``--fix`` deletes). ``waits_for``: the other part
    of the issue whose fix this case needs (run as a strict xfail until it lands).
    """

    id: str
    argv: list[str]
    exit: int | tuple[int, ...] = 1
    names: tuple[str, ...] = ()
    mutate: Callable[[Path], None] | None = None
    forbid: tuple[str, ...] = ()
    patches: tuple[tuple[str, Callable], ...] = ()
    expect: str = "refused"
    check: Callable | None = None
    changes: tuple[str, ...] = ()
    waits_for: str | None = None
    command: str = field(init=False, default="")

    def __post_init__(self):
        self.command = self.argv[0]


# --------------------------------------------------------------------------- damaging files


def truncate(name: str, keep: float = 0.5):
    def mutate(folder: Path) -> None:
        p = folder / name
        data = p.read_bytes()
        p.write_bytes(data[: int(len(data) * keep)])
    return mutate


def flip(name: str, at: float | int = 0.5, mask: int = 0xFF):
    """Invert the bits of one byte (``at``: an offset, or a fraction of the length)."""
    def mutate(folder: Path) -> None:
        p = folder / name
        data = bytearray(p.read_bytes())
        i = int(len(data) * at) if isinstance(at, float) else at
        data[i] ^= mask
        p.write_bytes(bytes(data))
    return mutate


def empty(name: str):
    def mutate(folder: Path) -> None:
        (folder / name).write_bytes(b"")
    return mutate


def text(name: str):
    """A text file renamed to ``name``."""
    def mutate(folder: Path) -> None:
        (folder / name).write_text("These are meeting notes, not media or weights.\n" * 20)
    return mutate


def replace_with(name: str, other: str):
    def mutate(folder: Path) -> None:
        shutil.copyfile(folder / other, folder / name)
    return mutate


# --------------------------------------------------------------------------- failing writes


def failing_write(code: int = errno.ENOSPC, written: bytes = b"half a file"):
    """A replacement for a write function: writes part of the file it was given, then fails like a full
    disk (or a refused permission); the partial file must not outlive the error."""
    def fail(*args, **kwargs):
        for a in args:
            if isinstance(a, (str, os.PathLike)) and os.path.isdir(os.path.dirname(os.fspath(a)) or "."):
                with open(a, "wb") as f:
                    f.write(written)
                break
        raise OSError(code, os.strerror(code))
    return fail


def failing_method(code: int = errno.ENOSPC):
    """:func:`failing_write` for a method: of a path object (``Path.write_text``, ``Path.unlink``) or of an
    object whose first argument is the path (``Image.save``)."""
    inner = failing_write(code)

    def fail(self, *args, **kwargs):
        if isinstance(self, os.PathLike):  # Path.write_text/write_bytes: the path is the object itself
            with open(self, "wb") as f:
                f.write(b"half a file")
            raise OSError(code, os.strerror(code))
        inner(*args, **kwargs)
    return fail


def refusing(code: int = errno.EACCES):
    """A replacement that changes nothing and fails (``Path.unlink`` in a folder without permission)."""
    def fail(*args, **kwargs):
        raise OSError(code, os.strerror(code))
    return fail


# --------------------------------------------------------------------------- running a case


def file_hashes(folder: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every file under ``folder`` (folders as ``<dir>``)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        rel = str(p.relative_to(folder))
        out[rel] = hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "<dir>"
    return out


def resolve(spec: str):
    """``"module:attr"`` or ``"module:Class.method"`` as (object holding it, attribute name)."""
    module, attr = spec.split(":")
    owner = importlib.import_module(module)
    *path, attr = attr.split(".")
    for name in path:
        owner = getattr(owner, name)
    return owner, attr


@dataclass
class Result:
    code: int
    out: str
    err: str
    before: dict
    after: dict
    out_before: dict
    out_after: dict
    workspace: Path


def run_case(case: Case, workspace: Path, monkeypatch, capsys) -> Result:
    from video2stylegan.cli.main import main

    inputs, outputs = workspace / "in", workspace / "out"
    if case.mutate is not None:
        case.mutate(inputs)
    for spec in ALWAYS_FORBIDDEN + case.forbid:
        module, attr = resolve(spec)

        def forbidden(*args, _spec=spec, **kwargs):
            raise ReachedForbiddenStage(f"case {case.id} reached {_spec}; it must be refused before that")
        monkeypatch.setattr(module, attr, forbidden)
    for spec, replacement in case.patches:
        module, attr = resolve(spec)
        monkeypatch.setattr(module, attr, replacement)
    monkeypatch.chdir(outputs)
    monkeypatch.setenv("VIDEO2STYLEGAN_CACHE", str(outputs / "cache"))
    argv = [a.format(**{"in": inputs, "out": outputs}) for a in case.argv]
    before, out_before = file_hashes(inputs), file_hashes(outputs)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err, before, file_hashes(inputs), out_before, file_hashes(outputs),
                  workspace)


def error_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if "error:" in line]


def assert_refused(case: Case, r: Result) -> None:
    assert "Traceback" not in r.err, f"traceback in stderr:\n{r.err}"
    allowed = case.exit if isinstance(case.exit, tuple) else (case.exit,)
    assert r.code in allowed, f"exit {r.code}, expected {case.exit}; stderr:\n{r.err}\nstdout:\n{r.out}"
    errors = error_lines(r.err)
    assert len(errors) == 1, f"expected one error line, got {len(errors)}:\n{r.err}"
    lines = [line for line in r.err.splitlines() if line.strip()]
    assert lines[-1] == errors[0], f"the error is not the last line of stderr (split over lines?):\n{r.err}"
    assert errors[0].startswith(f"video2stylegan {case.command}"), errors[0]
    for name in case.names:
        name = name.format(**{"in": r.workspace / "in", "out": r.workspace / "out"})
        assert name in errors[0], f"the error does not name {name!r}: {errors[0]}"
    if case.check is not None:
        case.check(r)
    assert_inputs_unchanged(case, r)
    added = sorted(set(r.out_after) - set(r.out_before))
    assert not added, f"left in the output folder: {added}"


def assert_inputs_unchanged(case: Case, r: Result) -> None:
    before = {k: v for k, v in r.before.items() if not k.startswith(case.changes)} if case.changes else r.before
    after = {k: v for k, v in r.after.items() if not k.startswith(case.changes)} if case.changes else r.after
    changed = sorted(k for k in before if after.get(k) != before[k])
    added = sorted(set(after) - set(before))
    assert not changed, f"inputs changed: {changed}"
    assert not added, f"files added beside the inputs: {added}"
