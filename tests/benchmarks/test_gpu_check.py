"""benchmarks/gpu_check.py: its dry run (every section on the CPU, tiny sizes) prints every table with
usable numbers, and a failing row or section makes the exit status non-zero."""

from __future__ import annotations

import importlib.util
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "benchmarks" / "gpu_check.py"
NETWORKS = ("64 px T (dry run)", "64 px R (dry run)")
PRESETS = ("best", "default", "fast", "draft")


def load_script():
    """The script as a module (registered under its name first: its dataclasses look themselves up there)."""
    if "gpu_check" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
        module = importlib.util.module_from_spec(spec)
        sys.modules["gpu_check"] = module
        spec.loader.exec_module(module)
    return sys.modules["gpu_check"]


def sections(text: str) -> dict[int, str]:
    """The text under each ``## N. title`` heading, by N."""
    parts = re.split(r"^## (\d)\. .*$", text, flags=re.M)
    return {int(number): body for number, body in zip(parts[1::2], parts[2::2])}


def table(body: str) -> list[dict[str, str]]:
    """The first Markdown table in ``body`` as one dict per row, keyed by the header's cells."""
    rows = [line for line in body.splitlines() if line.startswith("|")]
    cells = [[cell.strip() for cell in row.strip("|").split("|")] for row in rows]
    assert len(cells) >= 3 and set(cells[1][0]) <= set("-:"), f"no table in:\n{body}"
    return [dict(zip(cells[0], row, strict=True)) for row in cells[2:]]


def number(cell: str) -> float:
    value = float(cell)  # raises on "error: ...", "out of memory", "n/a"
    assert math.isfinite(value), cell
    return value


def positive(cell: str) -> float:
    value = number(cell)
    assert value > 0, cell
    return value


def demo_can_run() -> bool:
    if importlib.util.find_spec("dlib") is None or importlib.util.find_spec("av") is None:
        return False
    from video2stylegan.faces.models import LANDMARKS_68, dlib_model_path

    try:
        dlib_model_path(LANDMARKS_68)
    except Exception:
        return False
    return True


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    """One dry run as the docs give it, in a fresh process: (exit status, stdout, the --out file)."""
    out = tmp_path_factory.mktemp("gpu_check") / "gpu_check.md"
    paths = [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    done = subprocess.run([sys.executable, str(SCRIPT), "--dry-run", "--out", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, out.read_text() if out.is_file() else ""


def test_dry_run_succeeds_and_writes_what_it_prints(dry_run):
    status, stdout, written = dry_run
    assert status == 0, stdout[-3000:]
    assert written == stdout
    lines = stdout.splitlines()
    assert lines[0].startswith("# GPU check (dry run")
    assert re.match(r"torch \S+, CUDA \S+, cuDNN \S+, GPU none: CPU", lines[2])
    assert re.search(r"^Done in [0-9.]+ s, no failures\.$", stdout, flags=re.M)
    assert sorted(sections(stdout)) == [1, 2, 3, 4, 5]


def test_synthesis_throughput_rows(dry_run):
    rows = table(sections(dry_run[1])[1])
    assert [(r["network"], r["batch"], r["precision"]) for r in rows] == [
        (net, batch, precision) for net in NETWORKS for batch in ("1", "2") for precision in ("fp32", "tf32", "bf16")
    ]
    for r in rows:
        images_per_s, median = positive(r["images/s"]), positive(r["ms per batch (median)"])
        assert positive(r["ms (best)"]) <= median
        assert images_per_s == pytest.approx(int(r["batch"]) / (median / 1e3), rel=0.02)
        diff = number(r["max abs diff to fp32"])
        assert diff == 0 if r["precision"] != "bf16" else 0 < diff < 0.1  # TF32 changes nothing on a CPU


def test_backward_rows(dry_run):
    rows = table(sections(dry_run[1])[2])
    assert [(r["network"], r["mode"]) for r in rows] == [
        (net, mode) for net in NETWORKS for mode in ("ours", "recompute_activations (--low-memory)")
    ]
    for r in rows:
        assert positive(r["s (best)"]) <= positive(r["s (median)"])
        assert r["peak GB"] == r["peak above start GB"] == "n/a (CPU)"
    for plain, recomputing in zip(rows[::2], rows[1::2]):
        # the tiny networks keep a few tens of MB (printed to 0.001 GB)
        assert number(recomputing["kept for backward GB"]) < positive(plain["kept for backward GB"])


def test_step_rows(dry_run):
    body = sections(dry_run[1])[3]
    assert "Perceptual loss: " in body
    rows = table(body)
    steps = [("forward, no_grad (rendering)", "2"), ("W+ projection step", "1"), ("W+ projection step", "2"),
             ("W+ projection step, --low-memory", "2"), ("Eq. 7 pose step (encode_pose)", "1"),
             ("PTI step (pivotal_tuning)", "1")]
    assert [(r["network"], r["step"], r["batch"]) for r in rows] == [(net, *s) for net in NETWORKS for s in steps]
    for r in rows:
        per_step = positive(r["s per step"])
        assert positive(r["s per image"]) == pytest.approx(per_step / int(r["batch"]), abs=1e-4)


def test_preset_rows_follow_the_formula(dry_run):
    body = sections(dry_run[1])[4]
    assert "- a 100-frame clip (4 s at 25 fps): once + first + 99 x each later" in body
    rows = table(body)
    assert [(r["network"], r["--quality"]) for r in rows] == [(net, q) for net in NETWORKS for q in PRESETS]
    for r in rows:
        once, first, later = positive(r["once s"]), positive(r["first frame s"]), positive(r["each later frame s"])
        parts = [positive(p) for p in r["later frame: projection / Eq. 7 / render s"].split(" (")[0].split(" / ")]
        assert sum(parts) == pytest.approx(later, abs=2e-3)
        assert positive(r["100 frames min"]) == pytest.approx((once + first + 99 * later) / 60, abs=0.06)
    for net in NETWORKS:  # more steps cost more: the presets are ordered best > default > fast > draft
        later = [positive(r["each later frame s"]) for r in rows if r["network"] == net]
        assert later == sorted(later, reverse=True)


def test_demo_section(dry_run):
    body = sections(dry_run[1])[5]
    if not demo_can_run():
        assert body.strip().startswith("skipped: ")
        return
    rows = {r["stage"]: r["s"] for r in table(body)}
    for stage in ("network", "faces", "embed source", "embed driving", "render", "write"):
        assert number(rows[stage]) >= 0  # printed with one decimal: a short stage reads 0.0
    total = positive(rows["total (the summary's)"])
    assert positive(rows["process wall time (start-up, imports included)"]) >= total
    assert "time: " in body and "-> demo.mp4" in body


def test_demo_is_skipped_with_the_reason_where_its_modules_are_missing(capsys, monkeypatch):
    gpu_check = load_script()
    for module in ("dlib", "av", "face_recognition_models"):
        monkeypatch.setitem(sys.modules, module, None)  # importlib.util.find_spec then answers None
    assert gpu_check.main(["--dry-run", "--sections", "demo"]) == 0
    body = sections(capsys.readouterr().out)[5]
    assert body.strip().startswith("skipped: `dlib` (package dlib-bin: face detection and landmarks) is not "
                                   "installed; `av` (PyAV: video files) is not installed; dlib's landmark model is "
                                   "missing (the package 'face_recognition_models' is not installed")


def test_failures_make_the_exit_status_nonzero(capsys, monkeypatch):
    gpu_check = load_script()

    def broken(run):
        raise RuntimeError("planted")

    monkeypatch.setitem(gpu_check.SECTIONS, 2, ("Broken", broken))
    assert gpu_check.main(["--dry-run", "--sections", "2"]) == 1
    out = capsys.readouterr().out
    assert "section 2 stopped: error: RuntimeError: planted" in out
    assert "1 failure(s): section 2: error: RuntimeError: planted" in out


def test_results_that_are_no_failures():
    gpu_check = load_script()
    run = gpu_check.Run(gpu_check.Plan.make(True, None))
    assert run.row_error("row", RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")) == "out of memory"
    assert run.row_error("row", gpu_check.OverBudget("skipped: budget")) == "skipped: budget"
    assert run.failures == []
    assert run.row_error("row", ValueError("a | b")) == "error: ValueError: a / b"
    assert run.failures == ["row: error: ValueError: a | b"]


def test_spent_budget_skips_rows_without_failing(capsys):
    gpu_check = load_script()
    assert gpu_check.main(["--dry-run", "--budget", "0", "--sections", "synthesis,presets"]) == 0
    parts = sections(capsys.readouterr().out)
    assert {r["images/s"] for r in table(parts[1])} == {"skipped: the run's 0 s budget is spent"}
    not_measured = "n/a: section 3 measured no projection, pti, pose, render step here"
    assert {r["once s"] for r in table(parts[4])} == {not_measured}


@pytest.mark.parametrize("kind", ["T", "R"])
def test_the_gpu_networks_are_the_ffhq_networks(kind):
    from video2stylegan.networks.registry import NETWORKS

    G = load_script().official_shapes(1024, kind)
    assert G.init_kwargs == NETWORKS[f"stylegan3-{kind.lower()}-ffhq-1024x1024"].generator_kwargs


def test_sections_option():
    gpu_check = load_script()
    assert gpu_check.parse_sections("demo,1,3,1") == [1, 3, 5]
    with pytest.raises(Exception, match="unknown section"):
        gpu_check.parse_sections("6")
