"""``reenact``: the whole Video2StyleGAN pipeline from files to a video.

Stages (each timed, each with a progress bar where it is long):

1. ``network``: load the generator.
2. ``faces``: find and align the source face; track and align the driving (and
   co-driving) clip; canonical parameters per frame (Eq. 4-5).
3. ``embed source``: W+ projection of the reference + PTI (cached).
4. ``embed driving``: W+ projection of every aligned driving frame, warm-started
   (cached per frame).
5. ``calibrate``: pose regressor and local channels of the network (cached).
6. ``pose``: Eq. 7 per frame on the original generator.
   ``placement``: where the edited faces are before the canonical transform
   (its feedback, :mod:`video2stylegan.pipeline.placement`).
7. ``render``: Eq. 10 residuals, Eq. 1-3 combination in S space, canonical
   transform (Eq. 6) through the Fourier features, synthesis with the PTI
   generator.
8. ``write``: paste back / side by side, encode the MP4 (audio optional); with ``cuts="split"``
   one MP4 per shot of the driving clip (:func:`video2stylegan.pipeline.output.write_output`).

The baseline (``method="baseline"``) skips 5-6 and renders
``w_ref + (w_j - w_0)`` on all layers with the PTI generator.
"""

from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces.shots import segments
from video2stylegan.faces.temporal import temporal_mean
from video2stylegan.io.outputs import check_output
from video2stylegan.io.video import check_fps
from video2stylegan.method.canonical import match_length, reanchor_shots, transforms_for_config
from video2stylegan.method.config import ReenactConfig
from video2stylegan.pipeline.embedding import EmbeddingOptions, embed_clip, embed_source
from video2stylegan.pipeline.inputs import DrivingClip, SourceFace, check_inputs, load_clip, load_source
from video2stylegan.pipeline.output import check_shot_outputs, compose_frames, write_output

log = logging.getLogger(__name__)

#: The network ``reenact`` uses unless told otherwise (downloaded once, then cached).
DEFAULT_NETWORK = "stylegan3-r-ffhq-1024x1024"

#: ``reenact(keep_frames=None)`` keeps the generated crops in memory up to this size (a 1024-px run:
#: about 85 frames; 128 px: about 5400), and beyond it in a temporary file.
KEEP_FRAMES_BYTES = 256 * 2**20

__all__ = ["DEFAULT_NETWORK", "KEEP_FRAMES_BYTES", "ReenactResult", "StageTimer", "reenact"]


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
            lines.append(f"driving frames with the face partly outside the picture (held from visible frames): "
                         f"{len(self.partial)} ({_listed(self.partial)})")
        return "\n".join(lines)


def _listed(frames: list, limit: int = 8) -> str:
    """``[1, 2, 3, 9]`` -> ``"1, 2, 3, 9"``, shortened after ``limit``."""
    text = ", ".join(map(str, frames[:limit]))
    return text + (f", ... ({len(frames) - limit} more)" if len(frames) > limit else "")


def default_cache_dir() -> Path:
    """``$VIDEO2STYLEGAN_CACHE`` or ``~/.cache/video2stylegan`` (the networks' cache too)."""
    from video2stylegan.networks.registry import cache_dir

    return cache_dir()


def _check_out(out, inputs: dict, split: bool = False) -> Path | None:
    """``out`` as a Path once it is known to be a writable ``.mp4`` that is none of ``inputs``; with
    ``split``, no existing file named like one of its shot files is one of ``inputs`` either."""
    if out is None:
        return None
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise InvalidOptionError(f"the output must be an .mp4 file, got {out}")
    out = check_output(out, inputs, what="out")
    if split:
        check_shot_outputs(out, inputs, what="out")
    return out


def _check_audio_rate(driving, fps: float) -> None:
    """Refuse ``--fps`` differing from the driving clip's rate with ``--keep-audio``: the frames would be
    played faster or slower than the audio they were cut from, which is copied unchanged."""
    from video2stylegan.io.video import probe_video

    rate = probe_video(driving).fps
    if abs(rate - fps) > 1e-3 * rate:
        raise InvalidOptionError(
            f"--fps {fps:g} differs from the driving video's {rate:g} fps, and --keep-audio copies its audio "
            f"unchanged: the audio would drift out of sync; drop --fps (or use --fps {rate:g}), or drop --keep-audio"
        )


def _looped_cuts(cuts, length: int, num_frames: int, policy: str) -> list[int]:
    """A clip's cuts where :func:`match_length` repeats it to ``num_frames`` frames."""
    if policy != "loop":
        return [c for c in cuts if c < num_frames]
    return sorted(c + k for k in range(0, num_frames, length) for c in cuts if c + k < num_frames)


def _reanchored_codes(w_drive: torch.Tensor, clip: DrivingClip, config: ReenactConfig) -> torch.Tensor:
    """The driving codes with each shot moved to start where the previous one ended, so the
    relative edits (Eq. 1's first-frame anchor, Eq. 10's ``w_j - w_0``, the baseline) read a
    cut as no motion (``config.cuts``)."""
    if config.cuts == "ignore" or not clip.cuts or w_drive.shape[0] != len(clip):
        return w_drive
    return reanchor_shots(w_drive, clip.cuts)


def _pose_targets(regressor, clip: DrivingClip, num_frames: int, config: ReenactConfig, reference_angles):
    """``[T, 3]`` Eq. 7 targets in degrees from the pose-source clip (smoothed like the transform)."""
    with torch.no_grad():
        angles = torch.cat([regressor(clip.targets(range(a, min(a + 16, len(clip)))))
                            for a in range(0, len(clip), 16)]).double().cpu().numpy()
    cuts = [] if config.cuts == "ignore" else clip.cuts  # "split" re-anchors like "reanchor"
    if config.smoothing_kernel > 1:
        angles = temporal_mean(angles, config.smoothing_kernel, cuts=cuts)
    cuts = _looped_cuts(cuts, len(clip), num_frames, config.codriving_length)
    angles = match_length(angles, num_frames, config.codriving_length)
    if config.pose_mode == "relative":
        angles = reanchor_shots(angles, cuts)  # each shot's turn from its own first frame, no jump at a cut
        angles = np.asarray(reference_angles, np.float64).reshape(1, 3) + (angles - angles[:1])
    return torch.as_tensor(angles, dtype=torch.float32)


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
    pose_regressor: str = "auto",
    local_calibration: str = "auto",
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
    from video2stylegan.method.cache import ProjectionCache, network_identity
    from video2stylegan.method.losses import perceptual_loss
    from video2stylegan.networks.loading import load_generator, resolve_device

    config = ReenactConfig(**{**(config or ReenactConfig()).to_dict(), **config_overrides}) if config_overrides \
        else (config or ReenactConfig())
    embedding = embedding or EmbeddingOptions.preset(quality)
    # before anything is loaded: an output that is an input (or unwritable) fails now, not after the run
    inputs = {"source": source, "driving": driving, "co_driving": co_driving, "network": network}
    out = _check_out(out, inputs, split=config.cuts == "split")
    if max_frames is not None and (isinstance(max_frames, bool) or int(max_frames) < 1):
        raise InvalidOptionError(f"max_frames must be a positive integer, got {max_frames!r}")
    if fps is not None:
        fps = check_fps(fps)
    if config.needs_codriving and co_driving is None:
        raise InvalidOptionError(
            "the configuration takes the transform or the pose from the co-driving video, but none was given"
        )
    # every input file read, probed and its first frame decoded before the network loads (minutes for
    # FFHQ): a missing, empty or truncated clip fails now, not an hour into a GPU run
    check_inputs(source, driving, co_driving, max_frames=max_frames, source_face=source_face, detector=detector,
                 upsample=upsample)
    if keep_audio and fps is not None:
        _check_audio_rate(driving, fps)
    timer = StageTimer()

    with timer("network"):
        if isinstance(network, torch.nn.Module):
            G = network.to(resolve_device(device)).eval().requires_grad_(False)
            network_name = None
        else:
            G = load_generator(network, resolve_device(device), progress=progress)
            network_name = str(network)
        if low_memory:
            G.synthesis.recompute_activations = True
        config.validate(G.num_ws)
        R = int(G.img_resolution)
        device_t = G.w_avg.device
        net_id = network_identity(G)
    cache = None if cache_dir is False else ProjectionCache(Path(cache_dir or default_cache_dir()) / "projections")
    if cache is None:
        # Nothing is stored: calibrations made now go to a folder that is removed as soon as this
        # call returns or fails (TemporaryDirectory cleans up when the object is released).
        import tempfile

        scratch = tempfile.TemporaryDirectory(prefix="video2stylegan-")
        cache_root = Path(scratch.name)
    else:
        cache_root = Path(cache_dir or default_cache_dir())

    with timer("faces"):
        src = load_source(source, R, choose=source_face, detector=detector, upsample=upsample)
        preview = src.image.shape[0] if paste_back else R  # the output's height, for side by side
        detection = {"choose": face, "detector": detector, "upsample": upsample}
        clip = load_clip(driving, R, max_frames=max_frames, role="driving", on_missing=on_missing_face,
                         preview_height=preview, progress=progress, **detection)
        co = None
        if co_driving is not None and config.needs_codriving:
            co = load_clip(co_driving, R, max_frames=None, role="co-driving", on_missing=on_missing_face,
                           preview_height=16, progress=progress, **detection)
            if config.codriving_length == "truncate" and len(co) < len(clip):
                clip = _truncate(clip, len(co))
    T = len(clip)
    shots = None
    if out is not None and config.cuts == "split":
        shots = segments(T, clip.cuts)
        check_shot_outputs(out, inputs, what="out", count=len(shots))  # the names are known now
    loss_fn = perceptual_loss(device=device_t, allow_lpips=(embedding.perceptual != "fallback"))

    with timer("embed source"):
        ref = embed_source(G, src.target, src.sha256, embedding, cache=cache, network_id=net_id, loss_fn=loss_fn,
                           progress=progress)
    G_render, w_ref = ref.G_render, ref.w_ref

    needs_drive_ws = config.method == "baseline" or config.use_local or config.use_residual
    drive_psnr = float("nan")
    if needs_drive_ws:
        with timer("embed driving"):
            clip_key = f"{clip.sha256}:aligned{R}:smooth3" + (":shots" if clip.cuts or clip.partial else "")
            if (face, detector, upsample) != ("previous", "hog", "auto"):  # another face, other crops
                clip_key += f":face={face}:{detector}:upsample={upsample}"
            frames_result = embed_clip(G, clip, clip_key, embedding, cache=cache, network_id=net_id,
                                       loss_fn=loss_fn, progress=progress)
        w_drive = frames_result.ws.to(device_t)
        drive_psnr = float(frames_result.psnr.nanmean())
    else:
        w_drive = w_ref.expand(T, -1, -1)

    result = ReenactResult(frames=np.zeros((0, R, R, 3), np.uint8), out=out, fps=float(fps or clip.fps),
                           config=config, source_psnr=ref.psnr, pti_psnr=ref.psnr_pti, driving_psnr=drive_psnr,
                           missing=clip.missing, driving_ws=w_drive.detach().cpu(), source=src, driving=clip,
                           cuts=list(clip.cuts), partial=list(clip.partial))
    w_drive = _reanchored_codes(w_drive, clip, config)

    if config.method == "baseline":
        from video2stylegan.method.residual import baseline_codes

        ws_all = baseline_codes(w_ref[0], w_drive, form=config.residual_form)
        render = lambda a, b: G_render.synthesis(ws_all[a:b])  # noqa: E731
    else:
        render = _method_renderer(G, G_render, config, src, clip, co, w_ref, w_drive, net_id, cache_root,
                                  network_name, pose_regressor, local_calibration, embedding.pose_steps, timer,
                                  result, progress, cache, render_batch)

    if keep_frames is None:
        keep_frames = out is None or T * R * R * 3 <= KEEP_FRAMES_BYTES
    if out is not None:
        audio = clip.audio_path if keep_audio else None
        if keep_audio and audio is None:
            log.warning("--keep-audio: the driving video %s has no audio track; writing without audio", clip.name)
    # one pass: each batch is rendered, kept (in memory or spooled to disk), composed and encoded before the
    # next is rendered, so only a batch of frames is in memory at a time (plus the kept ones)
    store = [] if keep_frames else None
    if not keep_frames:
        from video2stylegan.io.video import FrameSpool

        store = FrameSpool()
    crops = _rendered_crops(render, T, render_batch, store, timer, progress)
    if out is not None:
        frames_out = compose_frames(crops, source=src, driving=clip.frames, paste_back=paste_back,
                                    side_by_side=side_by_side)
        with timer("write"):
            result.outputs = write_output(out, frames_out, result.fps, shots=shots, audio_from=audio)
        # the rendering ran inside the writer's loop: its time is its own stage, not the encoder's
        timer.seconds["write"] -= timer.seconds.get("render", 0.0)
    else:
        for _ in crops:
            pass
    if keep_frames:
        result.frames = np.stack(store) if store else np.zeros((0, R, R, 3), np.uint8)
    else:
        result.frames = store
    if cache is not None:
        result.cache = {**cache.stats(), "pti_cached": ref.cached_pti}
    result.timings = dict(timer.seconds)
    return result


def _rendered_crops(render, T: int, batch: int, store, timer: StageTimer, progress: bool):
    """Yield the ``T`` rendered crops ``(R, R, 3)`` uint8, ``batch`` frames rendered at a time (timed as the
    ``render`` stage), each appended to ``store`` (a list or a :class:`~video2stylegan.io.video.FrameSpool`)."""
    from tqdm.auto import tqdm

    from video2stylegan.networks.transforms import to_uint8_images

    for a in tqdm(range(0, T, batch), desc="rendering", unit="batch", disable=not progress):
        with timer("render"), torch.no_grad():
            images = to_uint8_images(render(a, min(a + batch, T)))
        for crop in images:
            store.append(crop)
            yield crop


def _truncate(clip: DrivingClip, length: int) -> DrivingClip:
    from dataclasses import replace

    missing = [i for i in clip.missing if i < length]
    cuts = [i for i in clip.cuts if i < length]
    t = clip.tracks
    tracks = replace(t, landmarks=t.landmarks[:length], boxes=t.boxes[:length], scores=t.scores[:length],
                     detected=t.detected[:length], missing=missing, cuts=cuts,
                     partial=None if t.partial is None else t.partial[:length])
    return replace(clip, frames=clip.frames[:length], tracks=tracks, aligned=clip.aligned[:length],
                   canonical=clip.canonical[:length], missing=missing, cuts=cuts,
                   partial=[i for i in clip.partial if i < length])


def _pose_key(w_ref, targets, regressor, layers, steps, lr) -> str:
    """Cache key of an Eq. 7 run: everything it depends on, hashed."""
    import hashlib

    h = hashlib.sha256(f"eq7|{tuple(layers)}|{steps}|{lr}|0.5|packed-angles".encode())
    for t in (w_ref, targets, *regressor.state_dict().values()):
        h.update(t.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return "pose:" + h.hexdigest()


def _pack_angles(angles: torch.Tensor, row_shape) -> torch.Tensor:
    """``[3, T, 3]`` angles (before / after / asked) zero-padded into whole ``[k, *row_shape]`` rows of a W+ array."""
    flat = angles.detach().cpu().float().reshape(-1)
    row = int(np.prod(row_shape))
    rows = torch.zeros(-(-flat.numel() // row) * row)
    rows[: flat.numel()] = flat
    return rows.reshape(-1, *row_shape)


def _unpack_angles(rows, T: int) -> torch.Tensor:
    """Inverse of :func:`_pack_angles`: ``[3, T, 3]``."""
    return torch.as_tensor(rows).reshape(-1)[: 9 * T].reshape(3, T, 3)


def _method_renderer(G, G_render, config, src, clip, co, w_ref, w_drive, net_id, cache_root, network_name,
                     pose_regressor, local_calibration, pose_steps, timer, result, progress, cache=None,
                     render_batch=8):
    """Steps 5-7 of the full method; returns ``render(a, b) -> images`` for frames ``a..b-1``."""
    from video2stylegan.method.combination import combine_styles_from_config
    from video2stylegan.method.residual import residual_codes

    T = len(clip)
    channels = None
    calib_dir = cache_root
    if config.use_local:
        from video2stylegan.pipeline.calibration import local_channels_for

        with timer("calibrate"):
            # the projected-frame fallback measures at most 32 frames spread over the clip
            pick = np.unique(np.linspace(0, T - 1, min(T, 32)).round().astype(int))
            landmarks = np.stack([clip.aligned[j].landmarks for j in pick])
            local = local_channels_for(G, net_id, calib_dir, source=local_calibration, ws=w_drive[pick],
                                       landmarks=landmarks, layers=config.constrained_layers, progress=progress)
        channels = local.channels
        result.local_channels = int(sum(len(v) for v in channels.values()))

    w_ref_pose = None
    if config.pose_source != "none":
        from video2stylegan.method.pose_encoding import DEFAULT_LR, PoseEncodingSettings, encode_pose
        from video2stylegan.pipeline.calibration import pose_regressor_for

        with timer("calibrate"):
            regressor = pose_regressor_for(G, net_id, calib_dir, source=pose_regressor, network_name=network_name,
                                           progress=progress).to(w_ref.device)
        with timer("pose"):
            pose_clip = clip if config.pose_source == "driving" else co
            with torch.no_grad():
                ref_angles = regressor(G.synthesis(w_ref)).double().cpu().numpy()[0]
            targets = _pose_targets(regressor, pose_clip, T, config, ref_angles)
            layers = config.resolved_pose_layers(G.num_ws)
            key = _pose_key(w_ref, targets, regressor, layers, pose_steps, DEFAULT_LR)
            hit = None if cache is None else cache.get(net_id, key, 0, {})
            if hit is not None:  # [T + k, num_ws, w_dim]: the codes, then the angles read before / after / asked
                w_ref_pose = torch.as_tensor(hit[:T], device=w_ref.device)
                before, after, target = _unpack_angles(hit[T:], T)
            else:
                # a frame stops once every angle is within half a degree: the regressor's own error is larger
                settings = PoseEncodingSettings(layers=layers, steps=pose_steps, lr=DEFAULT_LR, stop_error_deg=0.5)
                enc = encode_pose(G, w_ref, targets, regressor, settings, progress=progress)
                w_ref_pose = enc.ws.to(w_ref.device)
                before, after, target = enc.angles_before.cpu(), enc.angles_after.cpu(), enc.target.cpu()
                if cache is not None:
                    extra = _pack_angles(torch.stack([before, after, target]), w_ref_pose.shape[1:])
                    cache.put(net_id, key, 0, {}, torch.cat([w_ref_pose.cpu(), extra]))
        result.pose_error_before = float((before - target).abs().mean())
        result.pose_error_after = float((after - target).abs().mean())

    base_ref = w_ref if w_ref_pose is None else w_ref_pose
    w_base = residual_codes(base_ref, w_drive, form=config.residual_form, layers=config.constrained_layers) \
        if config.use_residual else None
    anchor = w_drive[:1]

    def styles_of(a, b):
        per_frame = lambda w: None if w is None else (w[a:b] if w.shape[0] == T else w)  # noqa: E731
        return combine_styles_from_config(G_render, config, w_ref, per_frame(w_ref_pose), w_drive[a:b],
                                          per_frame(w_base), channels, w_anchor=anchor)

    drift = None
    if config.canonical_source != "none" and config.canonical_feedback:
        from video2stylegan.pipeline.placement import edit_drift

        with timer("placement"), torch.no_grad():
            drift = edit_drift(lambda a, b: G_render.synthesis_from_styles(styles_of(a, b)), G_render.synthesis(w_ref),
                               T, kernel=config.smoothing_kernel, edges=config.smoothing_edges,
                               batch=render_batch, progress=progress)
        if drift is not None:
            result.placement_drift = (float(np.linalg.norm(drift[:, :2], axis=1).mean()),
                                      float(np.degrees(np.abs(drift[:, 2])).mean()))
    transforms = transforms_for_config(
        config, T, driving_params=clip.canonical, codriving_params=None if co is None else co.canonical,
        reference=src.canonical, drift=drift,
        cuts=_looped_cuts(co.cuts, len(co), T, config.codriving_length)
        if co is not None and config.canonical_source == "co-driving" else clip.cuts,
    )

    def render(a, b):
        transform = None if transforms is None else transforms[a:b].to(w_ref.device)
        return G_render.synthesis_from_styles(styles_of(a, b), transform=transform)

    return render
