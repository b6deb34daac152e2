"""Fixtures of the fuzz suite (pristine inputs built once, a fresh workspace per case, a tiny full disk)
and the hook that prints the per-command results table (written to $FUZZ_TABLE when set)."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import numpy as np
import pytest
import torch


def _raw_safetensors(src: Path, dst: Path, edit) -> None:
    """Copy a network file with its tensors edited by ``edit(dict)``, keeping its metadata, bypassing the
    checks of ``save_generator`` (which refuses to write NaN weights)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(src), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    edit(tensors)
    save_file(tensors, str(dst), metadata=meta)


def _first_float(tensors: dict, ndim: int = 2) -> str:
    return next(k for k, t in tensors.items() if t.is_floating_point() and t.ndim >= ndim)


@pytest.fixture(scope="session")
def pristine(tmp_path_factory) -> Path:
    """Every input the cases damage, built once: tiny networks in both formats (sound, NaN weights, wrong
    shapes), the bundled demo media, and a cache holding one sound projection entry."""
    from tests.networks.conftest import make_generator
    from tests.networks.nvidia_snapshot import snapshot_bytes
    from tests.networks.test_official_pickle import small_nvidia_generator
    from video2stylegan.method.cache import ProjectionCache
    from video2stylegan.networks.checkpoint import save_generator
    from video2stylegan.pipeline.demo import demo_inputs

    root = tmp_path_factory.mktemp("pristine")
    with torch.random.fork_rng():
        save_generator(make_generator("T"), root / "net.safetensors")

        def nan(t):
            k = _first_float(t)
            t[k] = t[k].clone()
            t[k].view(-1)[0] = float("nan")

        def reshape(t):
            k = _first_float(t)
            t[k] = torch.zeros(t[k].shape[0] + 3, *t[k].shape[1:])

        _raw_safetensors(root / "net.safetensors", root / "nan.safetensors", nan)
        _raw_safetensors(root / "net.safetensors", root / "shape.safetensors", reshape)
        G, kwargs = small_nvidia_generator("T")
        (root / "net.pkl").write_bytes(snapshot_bytes(G, kwargs))
        other = dict(kwargs, channel_base=kwargs["channel_base"] * 2)  # the weights do not fit these kwargs
        (root / "shape.pkl").write_bytes(snapshot_bytes(G, other))
        with torch.no_grad():
            next(p for p in G.parameters() if p.ndim >= 2).view(-1)[0] = float("nan")
        (root / "nan.pkl").write_bytes(snapshot_bytes(G, kwargs))
    demo = demo_inputs(co_driving=True)
    for name, path in (("source.png", demo.source), ("driving.mp4", demo.driving),
                       ("codriving.mp4", demo.co_driving)):
        shutil.copyfile(path, root / name)
    cache = ProjectionCache(root / "cache" / "projections")
    entry = cache.put("net", "source", 0, {"steps": 1}, np.zeros((1, 8, 16), np.float32), psnr=20.0)
    assert entry is not None and entry.is_file()
    return root


@pytest.fixture
def workspace(pristine, tmp_path) -> Path:
    """``in/``: a copy of the pristine inputs (the projection entry renamed ``cache/entry.npz``'s shard
    is kept as written); ``out/``: the empty output folder."""
    shutil.copytree(pristine, tmp_path / "in")
    (tmp_path / "out").mkdir()
    return tmp_path


def cache_entry(folder: Path) -> Path:
    """The one projection entry of the workspace's cache."""
    (entry,) = (folder / "cache" / "projections").glob("??/*.npz")
    return entry


# --------------------------------------------------------------------------- a real full disk


@pytest.fixture
def full_disk(tmp_path):
    """A 256 KiB tmpfs mounted at a fresh folder (needs root and mount permission: skipped otherwise, with
    the reason); yields the folder and unmounts it afterwards."""
    if os.geteuid() != 0:
        pytest.skip("a real full disk needs a tmpfs mount, and mounting needs root (running as uid "
                    f"{os.geteuid()})")
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this machine")
    folder = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): "
                    "no real full-disk case on this machine")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True)


# --------------------------------------------------------------------------- the results table

_results: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)


def pytest_runtest_logreport(report):
    command = dict(report.user_properties).get("fuzz_command")
    if command is None:
        return
    if report.when == "call" or (report.when == "setup" and report.outcome != "passed"):
        outcome = "xfailed" if hasattr(report, "wasxfail") and report.skipped else report.outcome
        if hasattr(report, "wasxfail") and report.passed:
            outcome = "xpassed"
        _results[command][outcome] += 1


def results_table() -> str:
    columns = ["passed", "failed", "xfailed", "xpassed", "skipped"]
    lines = ["| command | cases | " + " | ".join(columns) + " |", "|---|---:|" + "---:|" * len(columns)]
    total = collections.Counter()
    for command in sorted(_results):
        c = _results[command]
        total.update(c)
        lines.append(f"| {command} | {sum(c.values())} | " + " | ".join(str(c[k]) for k in columns) + " |")
    lines.append(f"| **all** | {sum(total.values())} | " + " | ".join(str(total[k]) for k in columns) + " |")
    return "\n".join(lines)


def pytest_terminal_summary(terminalreporter):
    if not _results:
        return
    table = results_table()
    terminalreporter.write_sep("=", "fuzz cases per command")
    terminalreporter.write_line(table)
    target = os.environ.get("FUZZ_TABLE")
    if target:
        Path(target).write_text(table + "\n")
