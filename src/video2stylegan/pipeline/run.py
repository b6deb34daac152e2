"""``reenact``: the whole Video2StyleGAN pipeline from files to a video, as a list of stages.

:func:`reenact` (the public facade, its keywords documented in README.md and docs/reenact.md) sorts its
keywords into three frozen settings objects, each checked once on construction:
:class:`~video2stylegan.pipeline.options.RunOptions` (the run's own settings),
:class:`~video2stylegan.method.config.ReenactConfig` (the method) and
:class:`~video2stylegan.pipeline.embedding.EmbeddingOptions` (the budgets), plus
:class:`~video2stylegan.pipeline.calibration.CalibrationOptions`; :func:`run_stages` then runs the
stages, each a function that takes its inputs and returns a value (each timed, with a progress bar
where it is long):

1. inputs (:func:`check_run`): outputs, co-driving clip and every input file checked before anything
   is loaded.
2. ``network`` (:func:`~video2stylegan.pipeline.network.load_network`): the generator; the
   configuration resolved against it (:class:`~video2stylegan.method.combination.CombinationSettings`).
3. ``faces`` (:func:`load_faces`): the source face found and aligned; the driving (and co-driving) clip
   tracked and aligned, canonical parameters per frame (Eq. 4-5); where the output goes (:func:`output_of`).
4. ``embed source``: W+ projection of the reference + PTI (cached).
5. ``embed driving`` (:func:`embed_driving`): W+ projection of every aligned driving frame, warm-started
   (cached per frame), partial stretches interpolated.
6. the method plan (:func:`full_plan`, a :class:`~video2stylegan.pipeline.plan.MethodPlan`):
   ``calibrate`` (pose regressor and local channels of the network, cached, or given),
   ``pose`` (Eq. 7 per frame on the original generator, cached), ``placement`` (where the edited faces
   are before the canonical transform: its feedback, :mod:`video2stylegan.pipeline.placement`).
7. ``render`` and ``write`` (:func:`render_frames`): Eq. 10 residuals, Eq. 1-3 combination in S space,
   canonical transform (Eq. 6) through the Fourier features, synthesis with the PTI generator; paste
   back / side by side, encode the MP4 (audio optional) while rendering; with ``cuts="split"`` one MP4 per
   shot of the driving clip (:func:`video2stylegan.pipeline.output.write_output`).

The baseline (``method="baseline"``) skips the calibration and the pose edit and renders
``w_ref + (w_j - w_0)`` on all layers with the PTI generator. The result
(:class:`ReenactResult`) is built once, from the stages' values, at the end.
"""

from __future__ import annotations

import logging
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.shots import segments
from video2stylegan.io.outputs import check_output
from video2stylegan.io.video import FrameSpool, probe_video
from video2stylegan.method.cache import ProjectionCache, clip_id
from video2stylegan.method.combination import CombinationSettings
from video2stylegan.method.config import ReenactConfig
from video2stylegan.method.losses import perceptual_loss
from video2stylegan.networks.transforms import to_uint8_images
from video2stylegan.pipeline.calibration import Calibration, CalibrationOptions, ProjectedFaces, calibrate
from video2stylegan.pipeline.embedding import EmbeddingOptions, embed_clip, embed_source
from video2stylegan.pipeline.inputs import (
    DrivingClip,
    Faces,
    SourceFace,
    check_inputs,
    load_clip,
    load_source,
    tracked_face,
    truncate_clip,
)
from video2stylegan.pipeline.network import Network, load_network
from video2stylegan.pipeline.options import RunOptions, default_cache_dir
from video2stylegan.pipeline.output import check_shot_outputs, compose_frames, write_output
from video2stylegan.pipeline.placement import edit_drift
from video2stylegan.pipeline.plan import (
    MethodPlan,
    baseline_plan,
    driving_codes,
    method_plan,
    pose_edit,
    pose_settings,
    pose_targets,
    reanchored_codes,
    reference_angles,
)

log = logging.getLogger(__name__)

#: The network ``reenact`` uses unless told otherwise (downloaded once, then cached).
DEFAULT_NETWORK = "stylegan3-r-ffhq-1024x1024"

#: ``reenact(keep_frames=None)`` keeps the generated crops in memory up to this size (a 1024-px run:
#: about 85 frames; 128 px: about 5400), and beyond it in a temporary file.
KEEP_FRAMES_BYTES = 256 * 2**20

__all__ = ["DEFAULT_NETWORK", "KEEP_FRAMES_BYTES", "ReenactResult", "RunInputs", "StageTimer", "default_cache_dir",
           "reenact", "run_stages"]


class StageTimer:
    """Wall time per named stage (seconds, in the order first entered)."""

    def __init__(self):
        self.seconds: dict[str, float] = {}

    @contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start

    @property
    def total(self) -> float:
        return float(sum(self.seconds.values()))

    def exclude(self, outer: str, inner: str) -> None:
        """Take stage ``inner``'s time out of ``outer``'s, when ``inner`` ran inside ``outer``."""
        self.seconds[outer] = self.seconds.get(outer, 0.0) - self.seconds.get(inner, 0.0)


@dataclass
class ReenactResult:
    """What a run produced: the generated crops ``frames`` ``(T, R, R, 3)`` uint8 (an array, or for a long
    clip written to ``out`` a :class:`~video2stylegan.io.video.FrameSpool` read from disk on access:
    ``reenact(keep_frames=...)``), the output
    file asked for ``out`` (``None`` when none was; with ``config.cuts == "split"`` the name the shot
    files are named after, itself not written), the files written ``outputs`` (``[out]``, or the shot
    files in order; ``[]`` without ``out``), ``fps``, the resolved ``config``, and the run's
    figures: ``timings`` per stage (s), cache ``hits``/``misses``, ``source_psnr`` /
    ``pti_psnr`` (dB) of the reference embedding, ``driving_psnr`` (mean dB of the frames'
    projections), ``pose_error_before`` / ``pose_error_after`` (mean absolute degrees between
    the regressor's reading and the Eq. 7 targets; ``None`` without pose), ``placement_drift``
    (the canonical transform's feedback: mean absolute eye-centre drift of the edited faces in
    fractions of the width and mean absolute turn in degrees; ``None`` when not measured), and the
    ``missing`` driving frames whose face was interpolated, the ``cuts`` (first frames of new shots,
    handled per ``config.cuts``) and the ``partial`` frames whose face left the picture."""

    frames: np.ndarray
    out: Path | None
    fps: float
    config: ReenactConfig
    timings: dict = field(default_factory=dict)
    cache: dict = field(default_factory=dict)
    source_psnr: float = float("nan")
    pti_psnr: float = float("nan")
    driving_psnr: float = float("nan")
    pose_error_before: float | None = None
    pose_error_after: float | None = None
    placement_drift: tuple[float, float] | None = None
    local_channels: int = 0
    missing: list = field(default_factory=list)
    cuts: list = field(default_factory=list)
    partial: list = field(default_factory=list)
    driving_ws: torch.Tensor | None = None
    source: SourceFace | None = None
    driving: DrivingClip | None = None
    outputs: list = field(default_factory=list)

    def summary(self) -> str:
        """A few lines for the terminal: frames, time per stage, cache use, quality figures."""
        split = self.config.cuts == "split" and bool(self.outputs)
        lines = [f"{len(self.frames)} frames at {self.fps:g} fps"
                 + (f" -> {len(self.outputs)} file(s), one per shot:" if split
                    else f" -> {self.out}" if self.out else "")]
        if split:
            for path, (a, b) in zip(self.outputs, segments(len(self.frames), self.cuts)):
                lines.append(f"  {path} (frames {a}-{b - 1}, {b - a} frames)")
        stages = ", ".join(f"{k} {v:.1f}s" for k, v in self.timings.items())
        lines.append(f"time: {sum(self.timings.values()):.1f}s ({stages})")
        lines.append(f"cache: {self.cache.get('hits', 0)} hits, {self.cache.get('misses', 0)} misses"
                     + (", PTI reused" if self.cache.get("pti_cached") else ""))
        lines.append(f"source embedding: {self.source_psnr:.1f} dB, after PTI {self.pti_psnr:.1f} dB; "
                     f"driving frames: {self.driving_psnr:.1f} dB")
        if self.pose_error_before is not None:
            lines.append(f"pose error: {self.pose_error_before:.1f} deg before Eq. 7, {self.pose_error_after:.1f} after")
        if self.placement_drift is not None:
            shift, turn = self.placement_drift
            lines.append(f"placement feedback: the edits moved the face by {100 * shift:.1f} % of the width and "
                         f"{turn:.1f} deg on average; the canonical transform takes that out")
        if self.config.method == "video2stylegan" and self.config.use_local:
            lines.append(f"local channels: {self.local_channels}")
        if self.missing:
            lines.append(f"driving frames without a detected face (interpolated): {len(self.missing)}")
        if self.cuts:
            how = {"ignore": "ignored", "split": "each shot re-anchored and written to its own file"}.get(
                self.config.cuts, "each shot re-anchored")
            lines.append(f"shot cuts in the driving clip at frame(s) {', '.join(map(str, self.cuts))} ({how})")
        elif split:
            lines.append(f"no shot cuts in the driving clip: the whole clip is one shot, written to "
                         f"{self.outputs[0]}")
        if self.partial:
            lines.append(f"driving frames with the face partly outside the picture (crops held from visible "
                         f"frames, motion interpolated): {len(self.partial)} ({_listed(self.partial)})")
        return "\n".join(lines)


def _listed(frames: list, limit: int = 8) -> str:
    """``[1, 2, 3, 9]`` -> ``"1, 2, 3, 9"``, shortened after ``limit``."""
    text = ", ".join(map(str, frames[:limit]))
    return text + (f", ... ({len(frames) - limit} more)" if len(frames) > limit else "")


# --------------------------------------------------------------------------- the stages


@dataclass(frozen=True)
class RunInputs:
    """What a run reads: the ``source`` portrait (path or RGB array), the ``driving`` clip (path), the
    ``co_driving`` clip (path or ``None``) and the ``network`` (registry name, file, or a loaded generator)."""

    source: object
    driving: object
    co_driving: object = None
    network: object = DEFAULT_NETWORK

    def named(self) -> dict:
        """``{role: input}``, what an output must not be (:func:`video2stylegan.io.outputs.check_output`)."""
        return {"source": self.source, "driving": self.driving, "co_driving": self.co_driving,
                "network": self.network}


@dataclass(frozen=True)
class RunCache:
    """The run's cache: the ``projections`` (``None`` with ``cache_dir=False``) and the folder ``root`` the
    calibrations are kept under (a temporary one, removed after the run, when nothing is stored)."""

    projections: ProjectionCache | None
    root: Path


@dataclass(frozen=True, eq=False)  # holds tensors: compared by identity
class DrivingCodes:
    """The driving clip's codes ``ws`` ``[T, num_ws, w_dim]`` (partial stretches interpolated, not re-anchored)
    and the mean PSNR (dB) of their projections (NaN when the frames were not projected)."""

    ws: torch.Tensor
    psnr: float = float("nan")


@dataclass(frozen=True)
class Output:
    """Where the frames go: the file ``out`` (``None``: nowhere), at ``fps``, as one video or, with
    ``shots`` (the ``(start, stop)`` frame ranges of ``cuts="split"``), one per shot, with the audio of
    ``audio_from`` (``None``: silent)."""

    out: Path | None
    fps: float
    shots: list | None = None
    audio_from: Path | None = None


def check_run(inputs: RunInputs, options: RunOptions, config: ReenactConfig) -> None:
    """Before anything is loaded: an output that is an input (or cannot be written) fails now, not after the
    run; so does a configuration that needs a co-driving clip without one; every input file is read,
    probed and its first frame decoded (:func:`~video2stylegan.pipeline.inputs.check_inputs`), so a
    missing, empty or truncated clip fails before the network loads (minutes for FFHQ)."""
    if options.out is not None:
        check_output(options.out, inputs.named(), what="out")
        if config.cuts == "split":
            check_shot_outputs(options.out, inputs.named(), what="out")
    if config.needs_codriving and inputs.co_driving is None:
        raise InvalidOptionError(
            "the configuration takes the transform or the pose from the co-driving video, but none was given"
        )
    check_inputs(inputs.source, inputs.driving, inputs.co_driving, max_frames=options.max_frames,
                 source_face=options.source_face, detector=options.detector, upsample=options.upsample)
    if options.keep_audio and options.fps is not None:
        _check_audio_rate(inputs.driving, options.fps)


def _check_audio_rate(driving, fps: float) -> None:
    """Refuse ``--fps`` differing from the driving clip's rate with ``--keep-audio``: the frames would be
    played faster or slower than the audio they were cut from, which is copied unchanged."""
    rate = probe_video(driving).fps
    if abs(rate - fps) > 1e-3 * rate:
        raise InvalidOptionError(
            f"--fps {fps:g} differs from the driving video's {rate:g} fps, and --keep-audio copies its audio "
            f"unchanged: the audio would drift out of sync; drop --fps (or use --fps {rate:g}), or drop --keep-audio"
        )


@contextmanager
def run_cache(options: RunOptions) -> Iterator[RunCache]:
    """The run's :class:`RunCache`, for the ``with`` block of the run."""
    folder = options.cache
    if folder is not None:
        yield RunCache(folder.projection_cache(), folder.root)
        return
    # Nothing is stored: calibrations made now go to a folder that is removed as soon as the run returns or fails
    with tempfile.TemporaryDirectory(prefix="video2stylegan-") as scratch:
        yield RunCache(None, Path(scratch))


def load_faces(inputs: RunInputs, resolution: int, options: RunOptions, config: ReenactConfig) -> Faces:
    """The portrait's face and the tracked, aligned clips at ``resolution`` (the co-driving clip only when
    the configuration takes something from it; with ``codriving_length="truncate"`` a longer driving clip
    is cut to its length)."""
    source = load_source(inputs.source, resolution, choose=options.source_face, detector=options.detector,
                         upsample=options.upsample)
    preview = source.image.shape[0] if options.paste_back else resolution  # the output's height, for side by side
    clip = load_clip(inputs.driving, resolution, options.tracking, max_frames=options.max_frames, role="driving",
                     preview_height=preview, progress=options.progress)
    co = None
    if inputs.co_driving is not None and config.needs_codriving:
        co = load_clip(inputs.co_driving, resolution, options.tracking, max_frames=None, role="co-driving",
                       preview_height=16, progress=options.progress)
        if config.codriving_length == "truncate" and len(co) < len(clip):
            clip = truncate_clip(clip, len(co))
    return Faces(source, clip, co)


def output_of(inputs: RunInputs, options: RunOptions, config: ReenactConfig, clip: DrivingClip) -> Output:
    """Where the frames of ``clip``'s run go; with ``cuts="split"`` the shot files' names are known now and
    checked like ``out``."""
    fps = float(options.fps or clip.fps)
    if options.out is None:
        return Output(None, fps)
    shots = None
    if config.cuts == "split":
        shots = segments(len(clip), clip.cuts)
        check_shot_outputs(options.out, inputs.named(), what="out", count=len(shots))
    audio = clip.audio_path if options.keep_audio else None
    if options.keep_audio and audio is None:
        log.warning("--keep-audio: the driving video %s has no audio track; writing without audio", clip.name)
    return Output(options.out, fps, shots, audio)


def needs_driving_codes(config: ReenactConfig) -> bool:
    """Whether the method reads the driving frames' codes (the baseline, the local edit, the residual)."""
    return config.method == "baseline" or config.use_local or config.use_residual


def embed_driving(network: Network, clip: DrivingClip, embedding: EmbeddingOptions, cache: ProjectionCache | None,
                  loss_fn=None, progress: bool = True) -> DrivingCodes:
    """Every aligned driving frame projected into W+ (cached per frame under the clip's id: its file, the
    crops' size and how they were made, :attr:`~video2stylegan.pipeline.inputs.DrivingClip.tracking`),
    partial stretches then interpolated (:func:`~video2stylegan.pipeline.plan.driving_codes`)."""
    shots = bool(clip.cuts or clip.partial)  # the track smoothed shot by shot
    key = clip_id(clip.sha256, network.resolution, clip.smooth, shots, tracked_face(clip.tracking))
    frames = embed_clip(network.G, clip, key, embedding, cache=cache, network_id=network.id, loss_fn=loss_fn,
                        progress=progress)
    return DrivingCodes(driving_codes(clip, frames.ws.to(network.device)), float(frames.psnr.nanmean()))


@dataclass(frozen=True)
class PlanSettings:
    """What the method plan reads of the run's settings: the ``config``, its ``combination`` (checked against
    the network), the ``calibration`` options, Eq. 7's ``pose_steps``, the ``render_batch`` of the placement
    renders and ``progress``."""

    config: ReenactConfig
    combination: CombinationSettings
    calibration: CalibrationOptions
    pose_steps: int
    render_batch: int
    progress: bool


def full_plan(network: Network, reference, faces: Faces, w_drive: torch.Tensor, settings: PlanSettings,
              cache: RunCache, timer: StageTimer) -> MethodPlan:
    """Steps 5-7 of the full method: calibration, the pose edit (Eq. 7 on the original generator), Eq. 10 and
    Eq. 1-3's inputs, the placement feedback and the canonical transforms. ``reference``: the
    :class:`~video2stylegan.pipeline.embedding.SourceEmbedding`; ``w_drive``: re-anchored codes."""
    config, T = settings.config, len(w_drive)
    calibration = Calibration()
    if config.use_local or config.pose_source != "none":
        with timer("calibrate"):
            calibration = calibrate(network, cache.root, config, settings.calibration,
                                    ProjectedFaces(w_drive, faces.driving.aligned), settings.progress)
    pose = None
    if config.pose_source != "none":
        with timer("pose"):
            regressor = calibration.pose_regressor
            clip = faces.driving if config.pose_source == "driving" else faces.co_driving
            targets = pose_targets(regressor, clip, T, config, reference_angles(regressor, network.G, reference.w_ref))
            pose = pose_edit(network, reference.w_ref, targets, regressor,
                             pose_settings(settings.combination, settings.pose_steps), cache.projections,
                             settings.progress)
    plan = method_plan(reference.G_render, reference.w_ref, w_drive, config, settings.combination,
                       calibration.local_channels, pose)
    drift = None
    if config.canonical_source != "none" and config.canonical_feedback:
        with timer("placement"), torch.no_grad():
            drift = edit_drift(lambda a, b: plan.render(a, b, transform=False),
                               reference.G_render.synthesis(reference.w_ref), T, kernel=config.smoothing_kernel,
                               edges=config.smoothing_edges, batch=settings.render_batch, progress=settings.progress)
    return plan.placed(faces, config, drift)


def render_frames(plan: MethodPlan, faces: Faces, output: Output, options: RunOptions, timer: StageTimer):
    """Render every frame, ``render_batch`` at a time, and write the output while rendering; returns the
    crops (in memory or spooled, ``options.keep_frames``) and the files written. Each batch is rendered,
    kept, composed and encoded before the next, so only a batch of frames is in memory at a time (plus the
    kept ones)."""
    T, R = len(plan), int(plan.G.img_resolution)
    keep = options.keep_frames
    if keep is None:
        keep = output.out is None or T * R * R * 3 <= KEEP_FRAMES_BYTES
    store = [] if keep else FrameSpool()
    crops = _rendered_crops(plan.render, T, options.render_batch, store, timer, options.progress)
    outputs = []
    if output.out is not None:
        frames_out = compose_frames(crops, source=faces.source, driving=faces.driving.frames,
                                    paste_back=options.paste_back, side_by_side=options.side_by_side)
        with timer("write"):
            outputs = write_output(output.out, frames_out, output.fps, shots=output.shots,
                                   audio_from=output.audio_from)
        timer.exclude("write", "render")  # the rendering ran inside the writer's loop: its time is its own stage
    else:
        for _ in crops:
            pass
    if not keep:
        return store, outputs
    return (np.stack(store) if store else np.zeros((0, R, R, 3), np.uint8)), outputs


def _rendered_crops(render, T: int, batch: int, store, timer: StageTimer, progress: bool):
    """Yield the ``T`` rendered crops ``(R, R, 3)`` uint8, ``batch`` frames rendered at a time (timed as the
    ``render`` stage), each appended to ``store`` (a list or a :class:`~video2stylegan.io.video.FrameSpool`)."""
    for a in tqdm(range(0, T, batch), desc="rendering", unit="batch", disable=not progress):
        with timer("render"), torch.no_grad():
            images = to_uint8_images(render(a, min(a + batch, T)))
        for crop in images:
            store.append(crop)
            yield crop


def run_stages(inputs: RunInputs, options: RunOptions, config: ReenactConfig, embedding: EmbeddingOptions,
               calibration: CalibrationOptions = CalibrationOptions()) -> ReenactResult:
    """``reenact``'s stages in order, each taking its inputs and returning a value (module doc)."""
    check_run(inputs, options, config)
    timer = StageTimer()
    with timer("network"):
        network = load_network(inputs.network, options.device, low_memory=options.low_memory,
                               progress=options.progress)
        # the configuration resolved against the network (layers checked, default pose layers): a new value
        combination = CombinationSettings.from_config(config, int(network.G.num_ws))
    with run_cache(options) as cache:
        with timer("faces"):
            faces = load_faces(inputs, network.resolution, options, config)
        clip, output = faces.driving, output_of(inputs, options, config, faces.driving)
        loss_fn = perceptual_loss(device=network.device, allow_lpips=(embedding.perceptual != "fallback"))
        with timer("embed source"):
            reference = embed_source(network.G, faces.source.target, faces.source.sha256, embedding,
                                     cache=cache.projections, network_id=network.id, loss_fn=loss_fn,
                                     progress=options.progress)
        drive = DrivingCodes(reference.w_ref.expand(len(clip), -1, -1))
        if needs_driving_codes(config):
            with timer("embed driving"):
                drive = embed_driving(network, clip, embedding, cache.projections, loss_fn, options.progress)
        w_drive = reanchored_codes(drive.ws, clip, config)
        if config.method == "baseline":
            plan = baseline_plan(reference.G_render, reference.w_ref, w_drive, config)
        else:
            settings = PlanSettings(config, combination, calibration, embedding.pose_steps, options.render_batch,
                                    options.progress)
            plan = full_plan(network, reference, faces, w_drive, settings, cache, timer)
        frames, outputs = render_frames(plan, faces, output, options, timer)
        stats = {} if cache.projections is None else {**cache.projections.stats(), "pti_cached": reference.cached_pti}
    pose = plan.pose
    return ReenactResult(
        frames=frames, out=options.out, fps=output.fps, config=config, timings=dict(timer.seconds), cache=stats,
        source_psnr=reference.psnr, pti_psnr=reference.psnr_pti, driving_psnr=drive.psnr,
        pose_error_before=None if pose is None else pose.error_before,
        pose_error_after=None if pose is None else pose.error_after,
        placement_drift=plan.placement_drift, local_channels=plan.local_channels, missing=clip.missing,
        cuts=list(clip.cuts), partial=list(clip.partial), driving_ws=drive.ws.detach().cpu(), source=faces.source,
        driving=clip, outputs=outputs,
    )


# This one public facade keeps the many keywords documented in README.md and docs/reenact.md (the command line,
# the suite and the benchmarks call it with them): it only sorts them into the stages' settings objects, each
# checked once on construction, and runs the stages (run_stages), whose functions take a few objects each.
def reenact(
    source,
    driving,
    *,
    co_driving=None,
    network=DEFAULT_NETWORK,
    out=None,
    config: ReenactConfig | None = None,
    embedding: EmbeddingOptions | None = None,
    quality: str = "default",
    max_frames: int | None = None,
    fps: float | None = None,
    device: str = "auto",
    cache_dir=None,
    paste_back: bool = False,
    side_by_side: bool = False,
    keep_audio: bool = False,
    on_missing_face: str = "interpolate",
    face="previous",
    source_face="largest",
    detector: str = "hog",
    upsample="auto",
    pose_regressor="auto",
    local_calibration="auto",
    render_batch: int = 8,
    low_memory: bool = False,
    keep_frames: bool | None = None,
    progress: bool = True,
    **config_overrides,
) -> ReenactResult:
    """Reenact the portrait ``source`` (path or RGB array) with the clip ``driving`` (path).

    ``network``: registry name, file path, or a loaded generator. ``config``: a
    :class:`ReenactConfig` (method switches and weights); keyword
    ``config_overrides`` (``alpha=0.5``, ``use_pose=False``, ...) replace its
    fields. ``embedding``: optimisation budgets (default: the ``quality``
    preset, see :data:`~video2stylegan.pipeline.embedding.EMBEDDING_PRESETS`).
    Before the network loads, every input file is checked (:func:`~video2stylegan.pipeline.inputs.check_inputs`:
    it exists, decodes, and a clip holds its frames), and any that fails is named in one
    :class:`~video2stylegan.errors.MediaError`; a portrait without the face ``source_face`` asks for
    fails then too (:class:`~video2stylegan.errors.NoFaceError`).
    ``out``: an ``.mp4`` to write (``None``: only return the frames); before any work it is
    refused (:class:`~video2stylegan.errors.OutputError`) when it is ``source``, ``driving``,
    ``co_driving`` or the ``network`` file under any spelling, lies inside the package, or
    cannot be written (:func:`video2stylegan.io.outputs.check_output`). With ``cuts="split"``
    the frames of each shot of the driving clip go to their own file instead, ``result.shot01.mp4``,
    ``result.shot02.mp4``, ... for ``out="result.mp4"`` (one, ``result.shot01.mp4``, for a clip
    without cuts; :func:`~video2stylegan.pipeline.output.shot_paths`), listed in
    :attr:`ReenactResult.outputs`; each is refused like ``out`` (before any work, an existing file of
    such a name that is an input; once the shots are known, each name), and they appear together or
    not at all. ``fps``: 0.1 to 240; with
    ``keep_audio`` it must be the driving clip's rate (else the audio would drift: refused); with
    ``cuts="split"`` each shot file gets its shot's stretch of the audio.
    ``face``: the face tracked in the driving (and co-driving) clip, ``"previous"`` (default),
    ``"largest"`` or an index; ``source_face``: the portrait's face, ``"largest"`` or an index;
    ``detector`` and ``upsample``: the face detector's options, for the portrait and the clips.
    ``pose_regressor``: where Eq. 7's regressor comes from (``"auto"``, ``"generator"``, ``"renderer"``) or
    the regressor itself (a module, images ``[N, 3, R, R]`` to degrees ``[N, 3]``); ``local_calibration``:
    where the local channels come from (``"auto"``, ``"generated"``, ``"projected"``) or the channels
    themselves (``{layer: channel indices}``) (:class:`~video2stylegan.pipeline.calibration.CalibrationOptions`).
    ``cache_dir``: projections, PTI and calibration cache (default
    :func:`default_cache_dir`; ``False`` disables caching). ``low_memory``:
    turn on ``G.synthesis.recompute_activations`` (backward passes keep about
    0.4x the activations, at about 12 % more time on a CPU).
    ``keep_frames``: where :attr:`ReenactResult.frames` lives. ``True``: one ``(T, R, R, 3)`` array in
    memory; ``False``: a :class:`~video2stylegan.io.video.FrameSpool` (a temporary file, read back frame
    by frame; ``np.asarray`` stacks it), so a long clip's memory does not grow with its length; ``None``
    (default): in memory when no ``out`` is written or the frames take at most
    :data:`KEEP_FRAMES_BYTES`, else spooled. The output video is written while rendering either way.
    """
    config = ReenactConfig(**{**(config or ReenactConfig()).to_dict(), **config_overrides}) if config_overrides \
        else (config or ReenactConfig())
    embedding = embedding or EmbeddingOptions.preset(quality)
    options = RunOptions(out=out, fps=fps, max_frames=max_frames, device=device, cache_dir=cache_dir,
                         paste_back=paste_back, side_by_side=side_by_side, keep_audio=keep_audio,
                         on_missing_face=on_missing_face, face=face, source_face=source_face, detector=detector,
                         upsample=upsample, render_batch=render_batch, low_memory=low_memory,
                         keep_frames=keep_frames, progress=progress)
    calibration = CalibrationOptions(pose_regressor=pose_regressor, local_channels=local_calibration)
    return run_stages(RunInputs(source, driving, co_driving, network), options, config, embedding, calibration)
