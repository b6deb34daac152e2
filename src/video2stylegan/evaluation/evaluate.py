"""One call that scores a result video against its driving video (and reference image).

:func:`evaluate_video` reads the clips, tracks one face per frame once per
clip, computes every metric of :mod:`video2stylegan.metrics` on the common
prefix of the clips, and returns an :class:`EvaluationReport` with per-frame
arrays, clip values and notes (length mismatch, frames without a face,
unavailable metrics). Works on any tool's output, so results of other methods
can be scored side by side with ours.

It runs as a list of stages, each a function of explicit inputs (the clips, the
faces, a frozen :class:`EvaluationOptions`) that returns its :class:`Findings`:
:func:`load_pair`, :func:`track_pair`, :func:`motion_scores`,
:func:`load_reference`, :func:`identity_scores`, :func:`ground_truth_scores`,
:func:`learned_scores`, and :func:`assemble_report` puts them together.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from video2stylegan.errors import InvalidOptionError, MediaError, NoFaceError
from video2stylegan.faces import VideoFaces, detect_face, identity_distance, temporal_mean, track_faces
from video2stylegan.io import read_image, read_video
from video2stylegan.io.atomic import atomic_output
from video2stylegan.metrics import image as image_metrics
from video2stylegan.metrics import landmarks as lm
from video2stylegan.metrics.identity import frame_descriptors, reference_descriptor
from video2stylegan.metrics.learned import LPIPS, MetricUnavailable, fid, fvd, load_lpips
from video2stylegan.metrics.summary import clip_summary

# name -> (description, unit, "lower"/"higher" is better); the order of the tables.
METRICS = {
    "dK": ("keypoint motion distance: consecutive-frame landmark displacements, driving vs result", "face scale", "lower"),
    "dK_image": ("dK with landmarks divided by each clip's frame width instead", "frame widths", "lower"),
    "LMD_aligned": ("per-frame landmark distance after similarity alignment", "face scale", "lower"),
    "LMD": ("per-frame landmark distance without alignment (same-size clips only)", "face scale", "lower"),
    "mouth_error": ("absolute difference of the mouth opening ratios (inner-lip gap / mouth width)", "ratio", "lower"),
    "eye_error": ("absolute difference of the eye aspect ratios", "ratio", "lower"),
    "ID": ("dlib descriptor distance of result frames to the reference image", "descriptor L2", "lower"),
    "ID_gt": ("dlib descriptor distance of result frames to the ground-truth frames (as AED)", "descriptor L2", "lower"),
    "PSNR": ("PSNR of result frames to ground truth (summary: from the mean MSE over frames)", "dB", "higher"),
    "SSIM": ("SSIM of result frames to ground truth", "0-1", "higher"),
    "LPIPS": ("LPIPS of result frames to the reference image", "LPIPS", "lower"),
    "LPIPS_temporal": ("LPIPS between consecutive result frames", "LPIPS", "lower"),
    "LPIPS_temporal_driving": ("the same for the driving frames (the motion's own share, for comparison)", "LPIPS", "reference"),
    "FID": ("FID between result frames and driving frames", "FID", "lower"),
    "FVD": ("FVD between result and driving (16-frame windows)", "FVD", "lower"),
}
#: A result at least this many times as wide as high is taken for frames side by side (``reenact
#: --side-by-side`` writes source | driving | result: 3 panels, at least 3x as wide for a square driving
#: clip, 2.8x for a 4:5 one); a plain result of reenact is square or the portrait's shape.
SIDE_BY_SIDE_ASPECT = 2.0
#: The panels of ``reenact --side-by-side``, by ``--panel`` number.
PANELS = {1: "source", 2: "driving", 3: "result"}


def side_by_side_panel(frames: np.ndarray, panel: int, name: str = "the result") -> np.ndarray:
    """Panel ``panel`` (1 = source, 2 = driving, 3 = result) of ``reenact --side-by-side`` frames
    ``(T, H, W, 3)``: the outer panels are ``H`` wide (square crops), the driving panel the rest."""
    h, w = frames.shape[1:3]
    if panel not in PANELS:
        raise InvalidOptionError(f"--panel must be 1 (source), 2 (driving) or 3 (result), got {panel}")
    if w < 2 * h + 2:
        raise InvalidOptionError(
            f"--panel {panel}: {name} is {w}x{h}, too narrow for source | driving | result side by side "
            f"(at least {2 * h + 2} px wide at {h} px high); drop --panel for a result that is not side by side"
        )
    columns = {1: slice(0, h), 2: slice(h, w - h), 3: slice(w - h, w)}[panel]
    return np.ascontiguousarray(frames[:, :, columns])


@dataclass
class EvaluationReport:
    """Scores of one result video.

    ``summary``: metric name -> mean over frames (float), or a
    :class:`MetricUnavailable` with the reason, or absent when the metric
    does not apply (no reference image / ground truth given). ``per_frame``:
    name -> ``(frames,)`` array (transition metrics have ``nan`` at frame 0:
    their value at ``t`` is for the step ``t-1 -> t``). ``info``: frame
    counts, sizes, face scales, missing-face counts. ``notes``: what a reader
    must know (length mismatch, interpolated faces).
    """

    summary: dict[str, float | MetricUnavailable] = field(default_factory=dict)
    per_frame: dict[str, np.ndarray] = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def value(self, name: str) -> float | None:
        """A metric's mean, or ``None`` when unavailable or not computed."""
        v = self.summary.get(name)
        return v if isinstance(v, float) else None

    def to_dict(self) -> dict:
        summary = {}
        for k, v in self.summary.items():
            if isinstance(v, MetricUnavailable):
                summary[k] = v.to_dict()
            else:
                summary[k] = {"available": True, "value": _json_float(v), "unit": METRICS[k][1], "better": METRICS[k][2]}
        return {
            "summary": summary,
            "per_frame": {k: [_json_float(x) for x in v] for k, v in self.per_frame.items()},
            "info": self.info,
            "notes": list(self.notes),
        }

    def to_json(self, path: str | os.PathLike | None = None, indent: int = 2) -> str:
        """The report as JSON (``nan`` as ``null``, infinities as the strings ``"inf"``/``"-inf"``);
        written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            _write_text(path, text + "\n")
        return text

    def to_csv(self, path: str | os.PathLike | None = None) -> str:
        """The per-frame table as CSV: a ``frame`` column and one column per metric."""
        buf = io.StringIO()
        names = list(self.per_frame)
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["frame"] + names)
        n = max((len(v) for v in self.per_frame.values()), default=0)
        for t in range(n):
            row = [t]
            for k in names:
                x = self.per_frame[k][t] if t < len(self.per_frame[k]) else float("nan")
                row.append("" if np.isnan(x) else f"{float(x):.6g}")
            writer.writerow(row)
        text = buf.getvalue()
        if path is not None:
            _write_text(path, text)
        return text

    def to_markdown(self) -> str:
        """A readable summary table plus the notes."""
        lines = ["| metric | value | unit | better | definition |", "|---|---|---|---|---|"]
        for name, v in self.summary.items():
            desc, unit, better = METRICS[name]
            text = f"unavailable: {v.reason}" if isinstance(v, MetricUnavailable) else _fmt(v)
            lines.append(f"| {name} | {text} | {unit} | {better} | {desc} |")
        info = self.info
        lines.append("")
        lines.append(
            f"Frames compared: {info.get('frames')} (result {info.get('result_frames')}, "
            f"driving {info.get('driving_frames')})."
        )
        for note in self.notes:
            lines.append(f"- {note}")
        return "\n".join(lines)


def _json_float(x):
    # JSON has no inf/nan: identical frames' PSNR is the string "inf"; a value
    # that does not exist (frame 0 of a transition metric) is null.
    x = float(x)
    if math.isnan(x):
        return None
    return x if math.isfinite(x) else ("inf" if x > 0 else "-inf")


def _fmt(x: float) -> str:
    if not math.isfinite(x):
        return str(x)
    return f"{x:.4g}" if abs(x) >= 1e-3 or x == 0 else f"{x:.3e}"


def _write_text(path, text: str) -> None:
    path = Path(path)
    if not path.parent.is_dir():
        raise MediaError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    # a full disk or a read-only folder is a MediaError naming the path, and no ``.tmp`` stays behind
    with atomic_output(path, suffix=".tmp", what="report") as tmp:
        tmp.write_text(text)


# ---------------------------------------------------------------- the stages' inputs and outputs


@dataclass(frozen=True)
class EvaluationOptions:
    """How a result is scored: ``max_frames`` limits every clip; ``id_stride``: ID and ID_gt on every
    that many frames; ``smooth``: the moving average (frames) of the landmarks before dK; ``detector``:
    the face detector; ``panel``: the scored panel of side-by-side frames; ``progress``: bars."""

    max_frames: int | None = None
    id_stride: int = 1
    smooth: int = 1
    detector: str = "hog"
    panel: int | None = None
    progress: bool = True

    def __post_init__(self):
        if self.id_stride < 1:
            raise InvalidOptionError(f"id_stride must be at least 1, got {self.id_stride}")
        if self.smooth < 1:
            raise InvalidOptionError(f"smooth must be at least 1 frame, got {self.smooth}")
        if self.max_frames is not None and self.max_frames < 2:
            raise InvalidOptionError(f"max_frames must be at least 2 (motion needs two frames), got {self.max_frames}")


@dataclass(frozen=True)
class LearnedModels:
    """The networks of the learned metrics (see :mod:`video2stylegan.metrics.learned`): ``enabled=False``
    skips LPIPS, FID and FVD; a network left ``None`` is the standard pretrained one when its weights are
    on disk, else the metric is reported unavailable."""

    enabled: bool = True
    lpips: LPIPS | MetricUnavailable | None = None
    fid_extractor: Callable | None = None
    fvd_extractor: Callable | None = None


@dataclass(frozen=True)
class KnownFaces:
    """Already tracked :class:`~video2stylegan.faces.VideoFaces` to reuse (``None``: tracked here)."""

    result: VideoFaces | None = None
    driving: VideoFaces | None = None
    ground_truth: VideoFaces | None = None


@dataclass(frozen=True)
class Findings:
    """What one stage adds to the report: ``per_frame`` arrays (summarised by
    :func:`~video2stylegan.metrics.summary.clip_summary`), ``values`` (clip values that are no mean
    over frames: FID, FVD, unavailable metrics), ``info`` and ``notes``. ``descriptors``: the result's
    dlib descriptors at the ID frames when the stage computed them (ID and ID_gt share them)."""

    per_frame: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    info: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    descriptors: np.ndarray | None = None


@dataclass(frozen=True)
class ClipPair:
    """The compared frames: the common prefix of the result (its scored panel) and the driving clip."""

    result: np.ndarray  # (n, H, W, 3) uint8
    driving: np.ndarray  # (n, H', W', 3) uint8
    findings: Findings

    @property
    def frames(self) -> int:
        return len(self.result)

    def id_frames(self, options: EvaluationOptions) -> np.ndarray:
        """The frames ID and ID_gt describe: every ``id_stride``-th."""
        return np.arange(0, self.frames, options.id_stride)


@dataclass(frozen=True)
class TrackedPair:
    """The faces of a :class:`ClipPair`, and their landmarks over the compared frames ``(n, 68, 2)``."""

    result: VideoFaces
    driving: VideoFaces
    result_landmarks: np.ndarray
    driving_landmarks: np.ndarray
    findings: Findings


@dataclass(frozen=True)
class Reference:
    """The reference portrait (``image`` ``None`` when none was given) and what names it in messages."""

    image: np.ndarray | None = None
    path: str | None = None

    @property
    def name(self) -> str:
        return self.path or "the source image"


# ---------------------------------------------------------------- evaluate_video and its stages


def evaluate_video(
    result,
    driving,
    source=None,
    *,
    ground_truth=None,
    max_frames: int | None = None,
    learned: bool = True,
    lpips_model: LPIPS | MetricUnavailable | None = None,
    fid_extractor: Callable | None = None,
    fvd_extractor: Callable | None = None,
    id_stride: int = 1,
    smooth: int = 1,
    detector: str = "hog",
    result_faces=None,
    driving_faces=None,
    ground_truth_faces=None,
    panel: int | None = None,
    progress: bool = True,
) -> EvaluationReport:
    # 17 parameters: the documented call (docs/metrics.md; benchmarks/metrics.py and the evaluate command
    # use it); they are gathered at once into the three option records the stages take.
    """Score ``result`` against ``driving`` (and the reference image ``source``).

    ``result``, ``driving``, ``ground_truth``: video paths or uint8
    ``(T, H, W, 3)`` arrays; ``source``: an image path or ``(H, W, 3)`` array
    (enables ID and LPIPS-to-reference). Clips of different lengths are
    compared on their common prefix (noted in the report); ``max_frames``
    limits every clip. ``ground_truth`` (a clip the result should equal, as in
    self-reenactment) enables PSNR/SSIM and ID_gt, the identity distance of each
    result frame to its ground-truth frame (the "AED" of FOMM-style evaluations,
    with dlib's descriptor; every ``id_stride``-th frame). ``learned=False``
    skips LPIPS/FID/FVD; otherwise each is computed with the given network (``lpips_model``,
    ``fid_extractor``, ``fvd_extractor``; see :mod:`video2stylegan.metrics.learned`) or the standard
    pretrained one when its weights are on disk, else reported unavailable.
    ``id_stride``: compute ID every that many frames (the dlib descriptor
    costs ~0.15 s per frame on a CPU). ``result_faces``/``driving_faces``/
    ``ground_truth_faces``: already tracked :class:`~video2stylegan.faces.VideoFaces` to reuse.
    ``smooth``: centred moving average over that many frames applied to both
    clips' landmarks before dK (1 = none, the paper's definition; 3 removes
    most of dlib's frame-to-frame landmark jitter, see ``docs/metrics.md``).
    ``panel``: score this panel of a ``reenact --side-by-side`` result (:func:`side_by_side_panel`);
    a result at least :data:`SIDE_BY_SIDE_ASPECT` times as wide as high is refused without it.
    """
    options = EvaluationOptions(max_frames, id_stride, smooth, detector, panel, progress)
    models = LearnedModels(learned, lpips_model, fid_extractor, fvd_extractor)
    known = KnownFaces(result_faces, driving_faces, ground_truth_faces)

    pair = load_pair(result, driving, options)
    faces = track_pair(pair, known, options)
    motion = motion_scores(pair, faces, options)
    reference = load_reference(source)
    identity = identity_scores(pair, faces, reference, options)
    truth = ground_truth_scores(pair, faces, ground_truth, known.ground_truth, identity.descriptors, options)
    learned_metrics = learned_scores(pair, reference, models, options)
    return assemble_report([pair.findings, faces.findings, motion, identity, truth, learned_metrics])


def load_pair(result, driving, options: EvaluationOptions) -> ClipPair:
    """Read both clips (the result's scored panel) and keep their common prefix; notes on lengths and rates."""
    res, res_fps, res_name = _load_clip(result, options.max_frames, "result")
    res = _one_panel(res, options.panel, res_name)
    drv, drv_fps, drv_name = _load_clip(driving, options.max_frames, "driving")
    n = min(len(res), len(drv))
    info = dict(
        result=res_name, driving=drv_name, result_frames=len(res), driving_frames=len(drv), frames=n,
        result_size=list(res.shape[1:3]), driving_size=list(drv.shape[1:3]), result_fps=res_fps, driving_fps=drv_fps,
    )
    notes = []
    if len(res) != len(drv):
        notes.append(
            f"the result has {len(res)} frames and the driving video {len(drv)}: the first {n} frames of each are compared"
        )
    if res_fps and drv_fps and abs(res_fps - drv_fps) > 0.01:
        notes.append(f"frame rates differ (result {res_fps:.3f}, driving {drv_fps:.3f}); frames are paired by index")
    return ClipPair(res[:n], drv[:n], Findings(info=info, notes=tuple(notes)))


def track_pair(pair: ClipPair, known: KnownFaces, options: EvaluationOptions) -> TrackedPair:
    """One face per frame of each clip (``known`` faces reused); counts and notes the frames without one."""
    n = pair.frames
    info, notes, tracked = {}, [], {}
    for key, frames, given in (("result", pair.result, known.result), ("driving", pair.driving, known.driving)):
        if given is not None:
            faces = given
        else:
            faces = track_faces(frames, detector=options.detector, source=pair.findings.info[key],
                                progress=options.progress)
        if len(faces) < n:
            raise InvalidOptionError(f"the {key} faces cover {len(faces)} frames but {n} are compared")
        tracked[key] = faces
        missing = [i for i in faces.missing if i < n]
        info[f"{key}_missing_faces"] = len(missing)
        if missing:
            notes.append(
                f"{len(missing)} of {n} {key} frames had no detected face; their landmarks are interpolated from neighbours"
            )
    rl, dl = tracked["result"].landmarks[:n], tracked["driving"].landmarks[:n]
    info["result_face_scale_px"] = lm.face_scale(rl)
    info["driving_face_scale_px"] = lm.face_scale(dl)
    return TrackedPair(tracked["result"], tracked["driving"], rl, dl, Findings(info=info, notes=tuple(notes)))


def motion_scores(pair: ClipPair, faces: TrackedPair, options: EvaluationOptions) -> Findings:
    """dK (on landmarks smoothed over ``options.smooth`` frames), landmark distances and expression errors."""
    n = pair.frames
    dl, rl = faces.driving_landmarks, faces.result_landmarks
    dls, rls = dl, rl
    notes = []
    if options.smooth > 1:
        dls, rls = temporal_mean(dl, options.smooth), temporal_mean(rl, options.smooth)
        notes.append(f"dK from landmarks smoothed over {options.smooth} frames")
    pf = {"dK": _pad_transition(lm.keypoint_motion_distance(dls, rls), n)}
    pf["dK_image"] = _pad_transition(lm.keypoint_motion_distance(
        dls, rls, scale="image", driving_shape=pair.driving.shape[1:3], result_shape=pair.result.shape[1:3]), n)
    pf["LMD_aligned"] = lm.landmark_distance(dl, rl, align=True)
    if pair.result.shape[1:3] == pair.driving.shape[1:3]:
        pf["LMD"] = lm.landmark_distance(dl, rl, align=False)
    expr = lm.expression_errors(dl, rl)
    for k in ("mouth_error", "eye_error"):
        pf[k] = expr[k]
    ratios = {k: float(expr[k].mean()) for k in ("driving_mouth", "result_mouth", "driving_eyes", "result_eyes")}
    return Findings(per_frame=pf, info={"dK_smooth": options.smooth, "ratio_means": ratios}, notes=tuple(notes))


def load_reference(source) -> Reference:
    """The reference portrait from a path or an ``(H, W, 3)`` array (an empty :class:`Reference` for ``None``)."""
    if source is None:
        return Reference()
    if isinstance(source, (str, os.PathLike)):
        return Reference(read_image(source), str(source))
    return Reference(np.asarray(source))


def result_descriptors(pair: ClipPair, faces: TrackedPair, options: EvaluationOptions) -> np.ndarray:
    """The result's dlib descriptors at :meth:`ClipPair.id_frames` ``(len, 128)``."""
    idx = pair.id_frames(options)
    return frame_descriptors(pair.result[idx], [faces.result.face(int(i)) for i in idx], progress=options.progress)


def identity_scores(pair: ClipPair, faces: TrackedPair, reference: Reference, options: EvaluationOptions) -> Findings:
    """ID: descriptor distance of the result frames to the reference portrait (none without one)."""
    if reference.image is None:
        return Findings()
    info = {"source": reference.path} if reference.path is not None else {}
    ref = reference_descriptor(reference.image, detect_face(reference.image, source=reference.name))
    idx = pair.id_frames(options)
    descriptors = result_descriptors(pair, faces, options)
    col = np.full(pair.frames, np.nan)
    col[idx] = identity_distance(descriptors, ref)
    notes = (f"ID computed on every {options.id_stride}th frame ({len(idx)} frames)",) if options.id_stride > 1 else ()
    return Findings(per_frame={"ID": col}, info=info, notes=notes, descriptors=descriptors)


def ground_truth_scores(pair: ClipPair, faces: TrackedPair, ground_truth, truth_faces: VideoFaces | None,
                        descriptors: np.ndarray | None, options: EvaluationOptions) -> Findings:
    """PSNR and SSIM to the ground-truth frames (resized to the result's size) and ID_gt, the descriptor
    distance to them; ``descriptors``: the result's, when :func:`identity_scores` computed them already."""
    if ground_truth is None:
        return Findings()
    res, n = pair.result, pair.frames
    gt, _, gt_name = _load_clip(ground_truth, options.max_frames, "ground truth")
    m = min(n, len(gt))
    notes = []
    if gt.shape[1:3] != res.shape[1:3]:
        notes.append(f"ground truth is {gt.shape[2]}x{gt.shape[1]}, the result {res.shape[2]}x{res.shape[1]}: ground truth resized")
        gt = np.stack([_resize(f, res.shape[1:3]) for f in gt[:m]])
    if m < n:
        notes.append(f"ground truth has only {len(gt)} frames: PSNR/SSIM cover the first {m}")
    pf = {"PSNR": np.full(n, np.nan), "SSIM": np.full(n, np.nan)}
    pf["PSNR"][:m] = image_metrics.psnr(res[:m], gt[:m])
    pf["SSIM"][:m] = image_metrics.ssim(res[:m], gt[:m])
    id_gt = _identity_to_ground_truth(pair, faces, _TruthClip(gt[:m], truth_faces, gt_name), descriptors, options)
    pf.update(id_gt.per_frame)
    return Findings(per_frame=pf, info={"ground_truth": gt_name}, notes=tuple(notes) + id_gt.notes)


@dataclass(frozen=True)
class _TruthClip:
    frames: np.ndarray  # the compared ground-truth frames, at the result's size
    faces: VideoFaces | None  # already tracked, or None
    name: str


def _identity_to_ground_truth(pair: ClipPair, faces: TrackedPair, truth: _TruthClip, descriptors: np.ndarray | None,
                              options: EvaluationOptions) -> Findings:
    """``ID_gt``: descriptor distance of result frame t to ground-truth frame t (length ``n``), at the ID
    frames that the ground truth covers; nothing (and a note) when the ground truth has no face."""
    gt, m = truth.frames, len(truth.frames)
    gt_faces = truth.faces
    if gt_faces is None:
        try:
            gt_faces = track_faces(gt, detector=options.detector, source=truth.name, progress=options.progress)
        except NoFaceError:
            return Findings(notes=("no face found in the ground truth: no ID_gt",))
    if len(gt_faces) < m:
        raise InvalidOptionError(f"the ground-truth faces cover {len(gt_faces)} frames but {m} are compared")
    notes = []
    missing = [i for i in gt_faces.missing if i < m]
    if missing:
        notes.append(f"{len(missing)} of {m} ground-truth frames had no detected face (ID_gt uses interpolated landmarks)")
    idx = pair.id_frames(options)
    covered = idx < m
    reference = frame_descriptors(gt[idx[covered]], [gt_faces.face(int(i)) for i in idx[covered]],
                                  progress=options.progress)
    if descriptors is None:
        descriptors = result_descriptors(pair, faces, options)
    col = np.full(pair.frames, np.nan)
    col[idx[covered]] = identity_distance(descriptors[covered], reference)
    return Findings(per_frame={"ID_gt": col}, notes=tuple(notes))


def learned_scores(pair: ClipPair, reference: Reference, models: LearnedModels, options: EvaluationOptions) -> Findings:
    """LPIPS to the reference and between consecutive frames, FID and FVD against the driving clip; each
    :class:`~video2stylegan.metrics.learned.MetricUnavailable` when skipped or without its weights."""
    res, drv, n = pair.result, pair.driving, pair.frames
    has_reference = reference.image is not None
    values: dict[str, float | MetricUnavailable] = {}
    if not models.enabled:
        off = "skipped (learned metrics disabled)"
        for k in ("LPIPS", "LPIPS_temporal", "LPIPS_temporal_driving", "FID", "FVD"):
            if k != "LPIPS" or has_reference:
                values[k] = MetricUnavailable(k, off)
        return Findings(values=values)
    pf = {}
    model = models.lpips if models.lpips is not None else load_lpips()
    if isinstance(model, MetricUnavailable):
        for k in ("LPIPS", "LPIPS_temporal", "LPIPS_temporal_driving"):
            if k != "LPIPS" or has_reference:
                values[k] = MetricUnavailable(k, model.reason)
    else:
        if has_reference:
            pf["LPIPS"] = model(res, _resize(reference.image, res.shape[1:3]))
        pf["LPIPS_temporal"] = _pad_transition(model(res[1:], res[:-1]), n)
        pf["LPIPS_temporal_driving"] = _pad_transition(model(drv[1:], drv[:-1]), n)
    value = fid(res, drv, models.fid_extractor, progress=options.progress)
    values["FID"] = value if isinstance(value, MetricUnavailable) else float(value)
    value = fvd(res, drv, models.fvd_extractor)
    values["FVD"] = value if isinstance(value, MetricUnavailable) else float(value)
    return Findings(per_frame=pf, values=values)


def assemble_report(findings: list[Findings]) -> EvaluationReport:
    """The report of the stages' findings, in their order; the summary in :data:`METRICS` order, each
    per-frame metric summarised by :func:`~video2stylegan.metrics.summary.clip_summary`."""
    report = EvaluationReport()
    values: dict[str, float | MetricUnavailable] = {}
    for part in findings:
        report.per_frame.update(part.per_frame)
        report.info.update(part.info)
        report.notes.extend(part.notes)
        values.update(part.values)
    clip = clip_summary(report.per_frame)
    for name in METRICS:
        if name in clip:
            report.summary[name] = clip[name]
        elif name in values:
            report.summary[name] = values[name]
    return report


# ---------------------------------------------------------------- helpers


def _load_clip(clip, max_frames: int | None, what: str) -> tuple[np.ndarray, float | None, str]:
    if isinstance(clip, (str, os.PathLike)):
        frames, fps = read_video(clip, max_frames=max_frames)
        return frames, fps, str(clip)
    arr = np.asarray(clip)
    if arr.ndim != 4 or arr.shape[-1] != 3 or arr.dtype != np.uint8:
        raise InvalidOptionError(f"{what}: expected a video path or a uint8 (T, H, W, 3) array, got {arr.dtype} {arr.shape}")
    if max_frames is not None:
        arr = arr[:max_frames]
    return arr, None, what


def _one_panel(frames: np.ndarray, panel: int | None, name: str) -> np.ndarray:
    """The frames to score: ``panel`` of side-by-side frames, or the frames when they are not side by side."""
    h, w = frames.shape[1:3]
    if panel is not None:
        return side_by_side_panel(frames, panel, name)
    if w >= SIDE_BY_SIDE_ASPECT * h:
        raise InvalidOptionError(
            f"{name} is {w}x{h}, {w / h:.1f} times as wide as high: frames side by side (reenact --side-by-side "
            "writes source | driving | result), whose faces would be tracked and scored together; pass --panel 3 "
            "to score the result panel (1 = source, 2 = driving), or score the output written without --side-by-side"
        )
    return frames


def _pad_transition(values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.nan)
    out[1 : 1 + len(values)] = values
    return out


def _resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    import cv2

    h, w = shape
    if image.shape[:2] == (h, w):
        return image
    shrink = w < image.shape[1] or h < image.shape[0]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)
