"""The one command for a lent GPU machine: speed and memory of the 1024 px networks and the method's steps.

    PYTHONPATH=src python3 benchmarks/gpu_check.py --out $OUT/gpu_check.md   # on the GPU: 4-7 min (estimated)
    python benchmarks/gpu_check.py --dry-run                # every section on the CPU, tiny sizes, < 1 min
    python benchmarks/gpu_check.py --sections 1,3 --budget 200   # some sections, a shorter time limit

Prints Markdown (paste it into benchmarks/RESULTS.md under the card's name),
each line flushed as it is made, and writes the same lines to ``--out`` as it
goes, so a run cut short still leaves what it measured. Sections:

1. synthesis images/s of FFHQ-shaped 1024 px T and R networks (random weights,
   NVIDIA ``train.py``'s constructor keywords), batch 1 and 8, fp32 / TF32 /
   bf16 autocast;
2. forward+backward w.r.t. ws (frozen generator, the projection case): peak GPU
   memory and time, with and without ``recompute_activations`` (``--low-memory``);
3. one step of each optimisation the method runs, timed through the project's
   own functions (``project_image``, ``encode_pose``, ``pivotal_tuning``) with the
   perceptual loss the projection really uses there: the time of a run of
   ``1 + k`` steps minus that of a run of 1 step, over ``k``;
4. per-frame cost of each ``--quality`` preset, extrapolated from section 3 (the
   formula is printed with the table);
5. the bundled demo (``video2stylegan demo``) on the device, with its stage times.

Sections 2-5 run with PyTorch's default precision flags (the pipeline sets
none); section 1 sets them per row and restores them. A failing row prints its
error in the table and the script goes on; the exit status is 1 when any row
or section failed (a skipped section, a row over ``--budget`` or an
out-of-memory row is no failure: they are results). ``--dry-run`` runs every
section on the CPU with tiny networks and budgets: the CI test
(tests/benchmarks/test_gpu_check.py) runs it, so its numbers mean nothing.

Section 5 needs what the lent machine lacks: ``dlib`` (package ``dlib-bin``),
dlib's 68-landmark model (package ``face_recognition_models``, which exists
only as a 100 MB source archive) and ``av`` (PyAV) for video files; without
them it prints the reason and is skipped. Carrying them does not fit one call
(at most 64 MiB travel): the av wheel is 35.8 MB, dlib-bin 4.2 MB, the
landmark model 99.7 MB (31.8 MB with xz -6), the repository 3.5 MB. An
untested two-call recipe, for a machine kept warm between the calls (what is
written under /tmp stays while it is held; it goes back 30 s after a call):

    # here, once (Python 3.12 and x86-64 there):
    printf '/.demo-a/\\n/.demo-b/\\n' >> .git/info/exclude; mkdir -p .demo-a .demo-b
    python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \\
        --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 -d .demo-b av==18.1.0 dlib-bin==20.0.1.post1
    xz -6 -c .venv/lib/python3.11/site-packages/face_recognition_models/models/shape_predictor_68_face_landmarks.dat \\
        > .demo-a/shape_predictor_68_face_landmarks.dat.xz
    # call 1, carry [".demo-a"]: a stand-in face_recognition_models package holding the one model file
    m=/tmp/site/face_recognition_models; mkdir -p $m/models && touch $m/__init__.py &&
        python3 -c "import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], 'wb'))" \\
        .demo-a/shape_predictor_68_face_landmarks.dat.xz $m/models/shape_predictor_68_face_landmarks.dat
    # call 2 at once, carry [".demo-b"]:
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .demo-b/*.whl &&
        PYTHONPATH=/tmp/site:src python3 benchmarks/gpu_check.py --out $OUT/gpu_check.md

(video2stylegan.faces.models finds the model through the package's folder and
never imports the package, so the stand-in suffices; the demo's HOG face
detector is built into dlib.)
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gc
import importlib.util
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT / "benchmarks", ROOT, ROOT / "src"):  # synthesis.py's helpers, tests/, the package
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import torch  # noqa: E402

from synthesis import forward_backward, official_shapes, recomputing, saved_for_backward, timed  # noqa: E402
from video2stylegan.method.losses import perceptual_loss  # noqa: E402
from video2stylegan.networks.stylegan3 import Generator  # noqa: E402

SECTION_NAMES = {1: "synthesis", 2: "backward", 3: "steps", 4: "presets", 5: "demo"}
NETWORKS = ("T", "R")
PRECISIONS = ("fp32", "tf32", "bf16")

#: The dry run's stand-ins for the 1024 px networks: same configs (T; R with 1x1 convolutions and
#: radial filters), 64 px, 8 ws, a few dozen channels (about 0.05 s a forward on 2 CPU cores).
TINY = {
    "T": dict(channel_base=1024, channel_max=32),
    "R": dict(channel_base=2048, channel_max=64, conv_kernel=1, use_radial_filters=True),
}


@dataclass
class Plan:
    """Sizes and repeat counts of one run: the real one, or the dry run's."""

    dry_run: bool
    device: torch.device
    batches: tuple[int, ...]  # section 1
    frame_batch: int  # the pipeline's --frame-batch on a GPU
    warmup: int
    repeats: int
    projection_extra: int  # k of the (1 + k) - 1 step differences
    projection_batch_extra: int
    projection_repeats: int  # runs of each length at batch 1 (projection, Eq. 7)
    batch_repeats: int  # runs of each length at the frame batch and for PTI
    pose_extra: int
    pti_extra: int  # 10 covers one locality step of PTI's every-10th
    budget_s: float
    demo_args: tuple[str, ...]

    @classmethod
    def make(cls, dry_run: bool, budget_s: float | None) -> "Plan":
        if dry_run:
            return cls(dry_run=True, device=torch.device("cpu"), batches=(1, 2), frame_batch=2, warmup=1, repeats=2,
                       projection_extra=2, projection_batch_extra=1, projection_repeats=2, batch_repeats=2,
                       pose_extra=2, pti_extra=2, budget_s=math.inf if budget_s is None else budget_s,
                       demo_args=("--quality", "draft", "--max-frames", "2", "--source-steps", "1",
                                  "--pti-steps", "1", "--frame-steps", "1", "--pose-steps", "1"))
        return cls(dry_run=False, device=torch.device("cuda"), batches=(1, 8), frame_batch=8, warmup=2, repeats=5,
                   projection_extra=5, projection_batch_extra=3, projection_repeats=2, batch_repeats=1,
                   pose_extra=5, pti_extra=10, budget_s=420.0 if budget_s is None else budget_s, demo_args=())


class Skipped(Exception):
    """A row left out for a reason that is a result, not a failure (a missing earlier measurement)."""


class OverBudget(Skipped):
    """The run's --budget is spent: the row is skipped, not failed."""


@dataclass
class Run:
    """Output, failures, the time budget and what sections hand on to later ones."""

    plan: Plan
    out: object = None  # an open file or None
    started: float = field(default_factory=time.perf_counter)
    failures: list[str] = field(default_factory=list)
    step_times: dict = field(default_factory=dict)  # network -> {step name: seconds per step}

    def line(self, text: str = "") -> None:
        print(text, flush=True)
        if self.out is not None:
            self.out.write(text + "\n")
            self.out.flush()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def check_budget(self) -> None:
        if self.elapsed() > self.plan.budget_s:
            raise OverBudget(f"skipped: the run's {self.plan.budget_s:.0f} s budget is spent")

    def row_error(self, what: str, exc: BaseException) -> str:
        """The table cell for a failed row; out-of-memory and budget skips are results, not failures."""
        if isinstance(exc, Skipped):
            return str(exc)
        if is_out_of_memory(exc):
            free_memory()
            return "out of memory"
        message = f"error: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")
        self.failures.append(f"{what}: {message}")
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
        return message.replace("|", "/")

    @property
    def sync(self):
        return torch.cuda.synchronize if self.plan.device.type == "cuda" else (lambda: None)


# ---------------------------------------------------------------- helpers


def is_out_of_memory(exc: BaseException) -> bool:
    return isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in str(exc).lower()


def free_memory() -> None:
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class Memory:
    """Peak device memory around a measurement; every figure is None on the CPU."""

    def __init__(self, device: torch.device):
        self.cuda = device.type == "cuda"

    def start(self) -> int | None:
        if not self.cuda:
            return None
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        return torch.cuda.memory_allocated()

    def peak(self) -> int | None:
        if not self.cuda:
            return None
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated()


def gb(value: float | None) -> str:
    return "n/a (CPU)" if value is None else f"{value / 1e9:.2f}"


def repeated(fn, sync, warmup: int, repeats: int) -> tuple[float, float]:
    """(median, best) seconds of ``repeats`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    sync()
    times = [timed(fn, sync) for _ in range(repeats)]
    return statistics.median(times), min(times)


def per_step(run_steps, extra: int, repeats: int) -> tuple[float, str]:
    """Seconds per step of ``run_steps(n)`` (which runs n steps and returns its seconds), and a note.

    The best time of 1 + ``extra`` steps minus the best time of 1 step, over ``extra``: the
    difference takes out what a run does once (setup, final evaluation, a PTI copy of the
    generator). Where noise swallows the difference (a loaded machine), the longer run's time over
    its step count instead, an upper bound, and the note says so.
    """
    run_steps(1)  # warm-up: kernels, the allocator's first blocks
    short, long = math.inf, math.inf
    for _ in range(repeats):  # interleaved, so that drift hits both alike
        short = min(short, run_steps(1))
        long = min(long, run_steps(1 + extra))
    seconds = (long - short) / extra
    if seconds > 0:
        return seconds, ""
    return long / (1 + extra), (f"; timing noise ({1 + extra} steps {long:.3f} s, 1 step {short:.3f} s): "
                                f"t({1 + extra} steps) / {1 + extra} instead, an upper bound")


def network(kind: str, plan: Plan) -> tuple[torch.nn.Module, str]:
    """A random-weight generator on the plan's device, eval mode, frozen, and its label."""
    torch.manual_seed(0)
    if plan.dry_run:
        G = Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=64, img_channels=3, num_layers=6,
                      mapping_kwargs={"num_layers": 2}, magnitude_ema_beta=0.5 ** (32 / 20000), **TINY[kind])
        label = f"64 px {kind} (dry run)"
    else:
        G = official_shapes(1024, kind)
        label = f"1024 px {kind}"
    return G.eval().requires_grad_(False).to(plan.device), label


def codes(G, batch: int, seed: int = 1) -> torch.Tensor:
    """``batch`` mapped W+ codes at truncation 0.7 (fixed seed, made on the CPU so devices agree)."""
    z = torch.randn(batch, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(G.w_avg.device)
    with torch.no_grad():
        return G.mapping(z, None, truncation_psi=0.7)


@contextlib.contextmanager
def precision(name: str, device: torch.device):
    """fp32 (TF32 off), tf32 (matmul and cuDNN TF32 on) or bf16 (autocast, TF32 off); flags restored after."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = name == "tf32"
    try:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=name == "bf16"):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def precision_flags() -> str:
    return (f"torch.backends.cuda.matmul.allow_tf32={torch.backends.cuda.matmul.allow_tf32}, "
            f"torch.backends.cudnn.allow_tf32={torch.backends.cudnn.allow_tf32}")


# ---------------------------------------------------------------- header


def header(run: Run) -> None:
    plan = run.plan
    commit = "unknown"
    with contextlib.suppress(Exception):
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                                timeout=10).stdout.strip() or "unknown"
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    if plan.device.type == "cuda":
        props = torch.cuda.get_device_properties(plan.device)
        card = f"{props.name} ({props.total_memory / 2**30:.1f} GiB, {props.multi_processor_count} SMs)"
        run.line(f"# GPU check: {props.name}")
    else:
        card = (f"none: CPU, {os.cpu_count()} cores ({platform.processor() or platform.machine()}), "
                f"{torch.get_num_threads()} torch thread(s)")
        run.line("# GPU check (dry run: CPU, tiny networks, tiny budgets; the numbers mean nothing)")
    run.line()
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    run.line(f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {cudnn}, GPU {card}; "
             f"Python {platform.python_version()}; commit {commit}; {when}")
    run.line()
    run.line(f"Default precision flags (sections 2-5 run with them): {precision_flags()}.")


# ---------------------------------------------------------------- 1. synthesis throughput


def section_synthesis(run: Run) -> None:
    plan = run.plan
    run.line(f"Random weights, forward only (no_grad), truncation 0.7; median and best of {plan.repeats} after "
             f"{plan.warmup} warm-up call(s). fp32: TF32 off; tf32: matmul and cuDNN TF32 on; bf16: "
             "torch.autocast(bfloat16), TF32 off. Max abs diff: the same images against fp32 (outputs lie in "
             "about [-1, 1]).")
    run.line()
    run.line("| network | batch | precision | images/s | ms per batch (median) | ms (best) | max abs diff to fp32 |")
    run.line("|---|---:|---|---:|---:|---:|---:|")
    for kind in NETWORKS:
        G, label = network(kind, plan)
        for batch in plan.batches:
            ws = codes(G, batch)
            reference = None
            for name in PRECISIONS:
                try:
                    run.check_budget()
                    with torch.no_grad(), precision(name, plan.device):
                        median, best = repeated(lambda: G.synthesis(ws), run.sync, plan.warmup, plan.repeats)
                        images = G.synthesis(ws).float()
                    if name == "fp32":
                        reference = images
                    diff = "" if reference is None else f"{float((images - reference).abs().max()):.1e}"
                    del images
                    run.line(f"| {label} | {batch} | {name} | {batch / median:.2f} | {1e3 * median:.1f} | "
                             f"{1e3 * best:.1f} | {diff} |")
                except Exception as exc:
                    run.line(f"| {label} | {batch} | {name} | {run.row_error(f'1: {label} b{batch} {name}', exc)} "
                             "| | | |")
            del reference
        del G
        free_memory()


# ---------------------------------------------------------------- 2. forward+backward memory


def section_backward(run: Run) -> None:
    plan = run.plan
    run.line("Gradient w.r.t. ws of `G.synthesis(ws).square().mean()`, generator frozen (the projection case), "
             f"batch 1, default precision; median and best of {plan.repeats} after one warm-up pass. Peak: "
             "torch.cuda.max_memory_allocated over the timed passes (reset after the warm-up); above start: "
             "minus what was allocated before (weights, ws); kept: the storages autograd holds for backward, "
             "counted with saved_tensors_hooks (tests/networks/reference_ops.kept_for_backward).")
    run.line()
    run.line("| network | batch | mode | s (median) | s (best) | peak GB | peak above start GB "
             "| kept for backward GB |")
    run.line("|---|---:|---|---:|---:|---:|---:|---:|")
    memory = Memory(plan.device)
    for kind in NETWORKS:
        G, label = network(kind, plan)
        ws = codes(G, 1)
        modes = {"ours": contextlib.nullcontext, "recompute_activations (--low-memory)": lambda: recomputing(G)}
        for mode_name, mode in modes.items():
            try:
                run.check_budget()
                with mode():
                    forward_backward(G.synthesis, ws)
                    start = memory.start()
                    median, best = repeated(lambda: forward_backward(G.synthesis, ws), run.sync, 0, plan.repeats)
                    peak = memory.peak()
                    kept = saved_for_backward(G, ws)
                above = None if peak is None else peak - start
                run.line(f"| {label} | 1 | {mode_name} | {median:.3f} | {best:.3f} | {gb(peak)} | {gb(above)} | "
                         f"{kept / 1e9:.3f} |")
            except Exception as exc:
                run.line(f"| {label} | 1 | {mode_name} | {run.row_error(f'2: {label} {mode_name}', exc)} | | | | |")
            free_memory()
        del G
        free_memory()


# ---------------------------------------------------------------- 3. optimisation steps


def describe_loss(loss_fn) -> str:
    """What the projection's perceptual term is here, and why."""
    from video2stylegan.method.losses import lpips_weight_files, perceptual_is_lpips
    from video2stylegan.metrics.learned import lpips_weight_paths

    if perceptual_is_lpips(loss_fn):
        return "LPIPS (vgg, images area-downsampled to 256 px), its weights found on disk"
    missing = []
    if importlib.util.find_spec("lpips") is None:
        missing.append("the `lpips` package")
    heads, backbone = lpips_weight_files("vgg")
    if backbone is None:
        missing.append(f"torchvision's VGG16 weights ({lpips_weight_paths('vgg')[1]}, 528 MB, a download)")
    if heads is None:
        missing.append("LPIPS's linear-layer weights")
    return ("the weight-free fallback, (1 - MS-SSIM) + gradient-pyramid L1, which is what the projection uses "
            "here: LPIPS would need " + (", ".join(missing) or "a working `lpips` construction") +
            ", none of which can be fetched offline")


def measure_steps(run: Run, kind: str, emit, loss_fn) -> None:
    """Seconds per step of each optimisation on one network into ``run.step_times[kind]``; ``emit(row)``
    gets each table row as soon as it is measured."""
    from video2stylegan.method.pose import PoseRegressor
    from video2stylegan.method.pose_encoding import PoseEncodingSettings, encode_pose
    from video2stylegan.method.projection import ProjectionSettings, project_image
    from video2stylegan.method.pti import PTISettings, pivotal_tuning

    plan = run.plan
    G, label = network(kind, plan)
    times = run.step_times.setdefault(kind, {"label": label})
    memory = Memory(plan.device)
    B = plan.frame_batch
    ws = codes(G, B, seed=2)
    with torch.no_grad():
        targets = G.synthesis(codes(G, B, seed=3)).clamp(-1, 1)  # images of the network: a reachable target
    regressor = PoseRegressor().to(plan.device).eval()
    sync = run.sync

    def projection(batch):
        def steps(n):
            settings = ProjectionSettings(steps=n)
            return timed(lambda: project_image(G, targets[:batch], settings, init_ws=ws[:batch], progress=False,
                                               loss_fn=loss_fn), sync)
        return steps

    def pose(n):
        return timed(lambda: encode_pose(G, ws[0], torch.tensor([[8.0, -4.0, 3.0]]), regressor,
                                         PoseEncodingSettings(steps=n), progress=False), sync)

    def pti(n):
        return timed(lambda: pivotal_tuning(G, ws[:1], targets[:1], PTISettings(steps=n), loss_fn=loss_fn,
                                            progress=False), sync)

    def render():
        return repeated(lambda: torch.no_grad()(G.synthesis)(ws), sync, plan.warmup, plan.repeats)[0]

    def difference(extra, repeats):
        return f"(t({1 + extra} steps) - t(1 step)) / {extra}, best of {repeats} each"

    k1, kb = plan.projection_extra, plan.projection_batch_extra
    rows = [
        ("render", "forward, no_grad (rendering)", B, lambda: (render(), ""), f"median of {plan.repeats}"),
        ("projection", "W+ projection step", 1, lambda: per_step(projection(1), k1, plan.projection_repeats),
         difference(k1, plan.projection_repeats)),
        ("projection_batch", "W+ projection step", B, lambda: per_step(projection(B), kb, plan.batch_repeats),
         difference(kb, plan.batch_repeats)),
        ("projection_batch_low", "W+ projection step, --low-memory", B,
         lambda: per_step(projection(B), kb, plan.batch_repeats), difference(kb, plan.batch_repeats)),
        ("pose", "Eq. 7 pose step (encode_pose)", 1,
         lambda: per_step(pose, plan.pose_extra, plan.projection_repeats),
         difference(plan.pose_extra, plan.projection_repeats)),
        ("pti", "PTI step (pivotal_tuning)", 1, lambda: per_step(pti, plan.pti_extra, plan.batch_repeats),
         difference(plan.pti_extra, plan.batch_repeats) + " (PTI adds a locality term every 10th step)"),
    ]
    for key, what, batch, measure, how in rows:
        try:
            run.check_budget()
            with recomputing(G) if key.endswith("_low") else contextlib.nullcontext():
                memory.start()
                seconds, note = measure()
                peak = memory.peak()
            times[key] = seconds
            emit(f"| {label} | {what} | {batch} | {seconds:.4f} | {seconds / batch:.4f} | {gb(peak)} | {how}{note} |")
        except Exception as exc:
            times[f"why no {key}"] = cell = run.row_error(f"3: {label} {what} b{batch}", exc)
            emit(f"| {label} | {what} | {batch} | {cell} | | | |")
        free_memory()
    del G, regressor, targets, ws
    free_memory()


def section_steps(run: Run) -> None:
    plan = run.plan
    run.line("One step of each optimisation, through the project's own functions (method/projection.py "
             "project_image, method/pose_encoding.py encode_pose with an untrained PoseRegressor, method/pti.py "
             "pivotal_tuning), default settings, default precision. Seconds per step = (time of a run of 1 + k "
             "steps - time of a run of 1 step) / k, which leaves out what a run does once. A step is forward + "
             "loss + backward + Adam; PTI's gradients reach every synthesis weight. Batch "
             f"{plan.frame_batch} is the pipeline's --frame-batch on a GPU (driving frames projected together) "
             "and its render batch. Peak: max_memory_allocated over the row.")
    run.line()
    loss_fn = perceptual_loss(device=plan.device)  # what project_image and pivotal_tuning build by default
    run.line(f"Perceptual loss: {describe_loss(loss_fn)}.")
    run.line()
    run.line("| network | step | batch | s per step | s per image | peak GB | how |")
    run.line("|---|---|---:|---:|---:|---:|---|")
    for kind in NETWORKS:
        measure_steps(run, kind, run.line, loss_fn)


# ---------------------------------------------------------------- 4. quality presets


def frame_projection(times: dict, B: int) -> tuple[float, str] | None:
    """Seconds of one projection step per frame for warm-started frames, and which measurement."""
    if "projection_batch" in times:
        return times["projection_batch"] / B, f"batch {B}"
    if "projection_batch_low" in times:
        return times["projection_batch_low"] / B, (f"batch {B} with --low-memory; without it: "
                                                   f"{times.get('why no projection_batch', 'not measured')}")
    if "projection" in times:
        return times["projection"], f"batch 1: batch {B} not measured"
    return None


def section_presets(run: Run) -> None:
    from video2stylegan.pipeline.embedding import EMBEDDING_PRESETS

    plan = run.plan
    B = plan.frame_batch
    for kind in NETWORKS:
        if kind not in run.step_times:
            run.line(f"(section 3 was not run: measuring the {kind} network's steps now)")
            measure_steps(run, kind, lambda row: None, perceptual_loss(device=plan.device))
    run.line("Extrapolated from section 3's step times (t_proj(b): a projection step at batch b; t_pose: an Eq. 7 "
             "step; t_pti: a PTI step; t_render(b): a forward at batch b), with the step counts of "
             "pipeline/embedding.py EMBEDDING_PRESETS:")
    run.line()
    run.line("- once per portrait: source_steps x t_proj(1) + pti_steps x t_pti")
    run.line("- first driving frame: first_frame_steps x t_proj(1)")
    run.line(f"- each later frame: frame_steps x t_proj({B}) / {B} + pose_steps x t_pose + 2 x t_render({B}) / {B} "
             f"(frames projected {B} at a time, --frame-batch's GPU default, and rendered {B} at a time; "
             "pose_steps is the most Eq. 7 steps a frame takes, frames stop earlier within 0.5 degrees; 2 "
             "renders: the placement feedback's and the output's)")
    run.line("- a 100-frame clip (4 s at 25 fps): once + first + 99 x each later")
    run.line("- not included: face detection and alignment (dlib, CPU), calibration (once per network, then "
             "cached), video decoding and encoding")
    run.line()
    run.line("| network | --quality | steps: source / PTI / first / later / Eq. 7 | once s | first frame s | "
             "each later frame s | later frame: projection / Eq. 7 / render s | 100 frames min |")
    run.line("|---|---|---|---:|---:|---:|---|---:|")
    for kind in NETWORKS:
        times = run.step_times.get(kind, {})
        label = times.get("label", kind)
        for name, preset in EMBEDDING_PRESETS.items():
            counts = (f"{preset['source_steps']} / {preset['pti_steps']} / {preset['first_frame_steps']} / "
                      f"{preset['frame_steps']} / {preset['pose_steps']}")
            try:
                need = [k for k in ("projection", "pti", "pose", "render") if k not in times]
                frame = frame_projection(times, B)
                if need or frame is None:
                    raise Skipped(f"n/a: section 3 measured no {', '.join(need) or 'projection'} step here")
                once = preset["source_steps"] * times["projection"] + preset["pti_steps"] * times["pti"]
                first = preset["first_frame_steps"] * times["projection"]
                parts = (preset["frame_steps"] * frame[0], preset["pose_steps"] * times["pose"],
                         2 * times["render"] / B)
                later = sum(parts)
                clip = once + first + 99 * later
                run.line(f"| {label} | {name} | {counts} | {once:.1f} | {first:.2f} | {later:.3f} | "
                         f"{' / '.join(f'{p:.3f}' for p in parts)} ({frame[1]}) | {clip / 60:.1f} |")
            except Exception as exc:
                run.line(f"| {label} | {name} | {counts} | {run.row_error(f'4: {label} {name}', exc)} | | | | |")


# ---------------------------------------------------------------- 5. the demo

DEMO_TIME = re.compile(r"^time: ([0-9.]+)s \((.*)\)$", re.M)
DEMO_STAGE = re.compile(r"^(.+) ([0-9.]+)s$")


def demo_missing() -> list[str]:
    """What the demo needs and cannot find here, each with the reason."""
    missing = [f"`{module}` ({what}) is not installed" for module, what in
               (("dlib", "package dlib-bin: face detection and landmarks"), ("av", "PyAV: video files"))
               if importlib.util.find_spec(module) is None]
    from video2stylegan.errors import CheckpointError
    from video2stylegan.faces.models import LANDMARKS_68, dlib_model_path

    try:
        dlib_model_path(LANDMARKS_68)
    except CheckpointError as exc:
        missing.append(f"dlib's landmark model is missing ({exc})")
    return missing


def section_demo(run: Run) -> None:
    plan = run.plan
    missing = demo_missing()
    if missing:
        run.line("skipped: " + "; ".join(missing) + ". The module docstring of benchmarks/gpu_check.py gives a "
                 "recipe that carries them (two calls: they do not fit one call's 64 MiB).")
        return
    run.check_budget()
    device = "cpu" if plan.dry_run else "cuda"
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "video2stylegan.cli.main", "demo", "--quiet", "--no-cache", "--device",
                   device, "--out", str(Path(folder) / "demo.mp4"), *plan.demo_args]
        paths = [str(ROOT / "src"), *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
        if plan.dry_run:
            env["OMP_NUM_THREADS"] = "1"  # see main()
        shown = " ".join(["video2stylegan demo --quiet --no-cache --device", device, *plan.demo_args])
        run.line(f"`{shown}`: a fresh process (its first stage includes loading the network and moving it to the "
                 "device), no cache, so every stage computes.")
        run.line()
        left = plan.budget_s - run.elapsed()
        start = time.perf_counter()
        try:
            done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True,
                                  timeout=None if math.isinf(left) else max(left, 1.0))
        except subprocess.TimeoutExpired:
            raise OverBudget(f"stopped: the run's {plan.budget_s:.0f} s budget was spent during the demo") from None
        wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"the demo exited with status {done.returncode}: {tail[0]}")
    found = DEMO_TIME.search(done.stdout)
    if found is None:
        raise RuntimeError(f"no 'time: ...' line in the demo's summary: {done.stdout.strip()[:300]!r}")
    run.line("| stage | s |")
    run.line("|---|---:|")
    for part in found.group(2).split(", "):
        stage = DEMO_STAGE.match(part)
        if stage is None:
            raise RuntimeError(f"unreadable stage {part!r} in {found.group(0)!r}")
        run.line(f"| {stage.group(1)} | {float(stage.group(2)):.1f} |")
    run.line(f"| total (the summary's) | {float(found.group(1)):.1f} |")
    run.line(f"| process wall time (start-up, imports included) | {wall:.1f} |")
    run.line()
    run.line("The demo's summary:")
    run.line()
    for text in done.stdout.strip().splitlines():
        run.line("    " + text.replace(str(Path(folder) / "demo.mp4"), "demo.mp4"))


# ---------------------------------------------------------------- main

SECTIONS = {
    1: ("Synthesis throughput", section_synthesis),
    2: ("Forward+backward memory and time (projection case)", section_backward),
    3: ("One optimisation step of each kind", section_steps),
    4: ("Per-frame cost of the --quality presets", section_presets),
    5: ("The bundled demo on this device", section_demo),
}


def parse_sections(text: str) -> list[int]:
    chosen = []
    by_name = {name: number for number, name in SECTION_NAMES.items()}
    for item in filter(None, (part.strip() for part in text.split(","))):
        number = int(item) if item.isdigit() else by_name.get(item)
        if number not in SECTIONS:
            raise argparse.ArgumentTypeError(
                f"unknown section {item!r}: use numbers 1-5 or names {', '.join(SECTION_NAMES.values())}")
        if number not in chosen:
            chosen.append(number)
    return sorted(chosen)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dry-run", action="store_true", help="every section on the CPU at tiny sizes (the CI test)")
    parser.add_argument("--sections", type=parse_sections, default=sorted(SECTIONS),
                        help="comma-separated numbers or names: 1 synthesis, 2 backward, 3 steps, 4 presets, 5 demo "
                             "(default all)")
    parser.add_argument("--out", type=Path, default=None, help="also write the Markdown here, line by line")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds after which no new row starts (default 420 on the GPU, none in the dry run)")
    args = parser.parse_args(argv)
    if not args.dry_run and not torch.cuda.is_available():
        print("gpu_check: PyTorch sees no CUDA device here; use --dry-run on a CPU", file=sys.stderr)
        return 2
    from video2stylegan.runtime import keep_freed_memory

    keep_freed_memory()  # as the command line does (CPU allocations; the dry run's speed)
    plan = Plan.make(args.dry_run, args.budget)
    if plan.dry_run:
        # One thread, as in the tests: on a shared 2-core machine two threads that wait for each other
        # made each call many times slower whenever another process held a core.
        torch.set_num_threads(1)
    out = None
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        out = args.out.open("w", encoding="utf-8")
    run = Run(plan, out)
    try:
        header(run)
        for number in args.sections:
            title, function = SECTIONS[number]
            run.line()
            run.line(f"## {number}. {title}")
            run.line()
            section_start = time.perf_counter()
            try:
                function(run)
            except Exception as exc:
                run.line(f"section {number} stopped: {run.row_error(f'section {number}', exc)}")
            free_memory()
            run.line()
            run.line(f"(section {number}: {time.perf_counter() - section_start:.1f} s)")
        run.line()
        status = "no failures" if not run.failures else f"{len(run.failures)} failure(s): " + "; ".join(run.failures)
        run.line(f"Done in {run.elapsed():.1f} s, {status}.")
    finally:
        if out is not None:
            out.close()
    return 1 if run.failures else 0


if __name__ == "__main__":
    sys.exit(main())
