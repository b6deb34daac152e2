"""One call that scores a result video against its driving video (and reference image).

:func:`evaluate_video` reads the clips, tracks one face per frame once per
clip, computes every metric of this package on the common prefix of the
clips, and returns an :class:`EvaluationReport` with per-frame arrays, means,
and notes (length mismatch, frames without a face, unavailable metrics).
Works on any tool's output, so results of other methods can be scored side
by side with ours.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from video2stylegan.errors import InvalidOptionError, NoFaceError
from video2stylegan.metrics import image as image_metrics
from video2stylegan.metrics import landmarks as lm
from video2stylegan.metrics.learned import LPIPS, MetricUnavailable, fid, fvd, load_lpips

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


# Per-frame columns whose value at frame t belongs to the transition t-1 -> t.
TRANSITION_COLUMNS = ("dK", "dK_image", "LPIPS_temporal", "LPIPS_temporal_driving")


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
        from video2stylegan.errors import MediaError

        raise MediaError(f"cannot write {path}: the folder {path.parent} does not exist; create it first")
    from video2stylegan.io.atomic import atomic_output

    # a full disk or a read-only folder is a MediaError naming the path, and no ``.tmp`` stays behind
    with atomic_output(path, suffix=".tmp", what="report") as tmp:
        tmp.write_text(text)


def _load_clip(clip, max_frames: int | None, what: str) -> tuple[np.ndarray, float | None, str]:
    if isinstance(clip, (str, os.PathLike)):
        from video2stylegan.io import read_video

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


def _identity_to_ground_truth(report, gt, gt_faces, idx, result_descriptors, n, detector, progress) -> None:
    """``per_frame["ID_gt"]``: descriptor distance of result frame t to ground-truth frame t (length ``n``),
    at the frames ``idx`` that ``gt`` covers; ``result_descriptors()``: the result's descriptors at ``idx``."""
    from video2stylegan.faces import identity_distance, track_faces
    from video2stylegan.metrics.identity import frame_descriptors

    m = len(gt)
    if gt_faces is None:
        try:
            gt_faces = track_faces(gt, detector=detector, source=report.info["ground_truth"], progress=progress)
        except NoFaceError:
            report.notes.append("no face found in the ground truth: no ID_gt")
            return
    if len(gt_faces) < m:
        raise InvalidOptionError(f"the ground-truth faces cover {len(gt_faces)} frames but {m} are compared")
    missing = [i for i in gt_faces.missing if i < m]
    if missing:
        report.notes.append(f"{len(missing)} of {m} ground-truth frames had no detected face (ID_gt uses interpolated landmarks)")
    covered = idx < m
    truth = frame_descriptors(gt[idx[covered]], [gt_faces.face(int(i)) for i in idx[covered]], progress=progress)
    col = np.full(n, np.nan)
    col[idx[covered]] = identity_distance(result_descriptors()[covered], truth)
    report.per_frame["ID_gt"] = col


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
    ``fid_extractor``, ``fvd_extractor``; see :mod:`.learned`) or the standard
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
    from video2stylegan.faces import detect_face, track_faces

    if id_stride < 1:
        raise InvalidOptionError(f"id_stride must be at least 1, got {id_stride}")
    if smooth < 1:
        raise InvalidOptionError(f"smooth must be at least 1 frame, got {smooth}")
    if max_frames is not None and max_frames < 2:
        raise InvalidOptionError(f"max_frames must be at least 2 (motion needs two frames), got {max_frames}")
    res, res_fps, res_name = _load_clip(result, max_frames, "result")
    res = _one_panel(res, panel, res_name)
    drv, drv_fps, drv_name = _load_clip(driving, max_frames, "driving")
    report = EvaluationReport()
    n = min(len(res), len(drv))
    report.info.update(
        result=res_name, driving=drv_name, result_frames=len(res), driving_frames=len(drv), frames=n,
        result_size=list(res.shape[1:3]), driving_size=list(drv.shape[1:3]), result_fps=res_fps, driving_fps=drv_fps,
    )
    if len(res) != len(drv):
        report.notes.append(
            f"the result has {len(res)} frames and the driving video {len(drv)}: the first {n} frames of each are compared"
        )
    if res_fps and drv_fps and abs(res_fps - drv_fps) > 0.01:
        report.notes.append(f"frame rates differ (result {res_fps:.3f}, driving {drv_fps:.3f}); frames are paired by index")
    res, drv = res[:n], drv[:n]

    faces = {}
    for key, frames, given, name in (("result", res, result_faces, res_name), ("driving", drv, driving_faces, drv_name)):
        tracked = given if given is not None else track_faces(frames, detector=detector, source=name, progress=progress)
        if len(tracked) < n:
            raise InvalidOptionError(f"the {key} faces cover {len(tracked)} frames but {n} are compared")
        faces[key] = tracked
        missing = [i for i in tracked.missing if i < n]
        report.info[f"{key}_missing_faces"] = len(missing)
        if missing:
            report.notes.append(
                f"{len(missing)} of {n} {key} frames had no detected face; their landmarks are interpolated from neighbours"
            )
    rl, dl = faces["result"].landmarks[:n], faces["driving"].landmarks[:n]
    report.info["result_face_scale_px"] = lm.face_scale(rl)
    report.info["driving_face_scale_px"] = lm.face_scale(dl)

    pf = report.per_frame
    dls, rls = dl, rl
    if smooth > 1:
        from video2stylegan.faces import smooth_landmarks

        dls, rls = smooth_landmarks(dl, smooth), smooth_landmarks(rl, smooth)
        report.notes.append(f"dK from landmarks smoothed over {smooth} frames")
    report.info["dK_smooth"] = smooth
    pf["dK"] = _pad_transition(lm.keypoint_motion_distance(dls, rls), n)
    pf["dK_image"] = _pad_transition(
        lm.keypoint_motion_distance(dls, rls, scale="image", driving_shape=drv.shape[1:3], result_shape=res.shape[1:3]), n
    )
    pf["LMD_aligned"] = lm.landmark_distance(dl, rl, align=True)
    if res.shape[1:3] == drv.shape[1:3]:
        pf["LMD"] = lm.landmark_distance(dl, rl, align=False)
    expr = lm.expression_errors(dl, rl)
    for k in ("mouth_error", "eye_error"):
        pf[k] = expr[k]
    for k in ("driving_mouth", "result_mouth", "driving_eyes", "result_eyes"):
        report.info.setdefault("ratio_means", {})[k] = float(expr[k].mean())

    idx = np.arange(0, n, id_stride)  # the frames ID and ID_gt describe

    @functools.cache
    def result_descriptors() -> np.ndarray:
        """The result's dlib descriptors at ``idx``, computed once for ID and ID_gt."""
        from video2stylegan.metrics.identity import frame_descriptors

        return frame_descriptors(res[idx], [faces["result"].face(int(i)) for i in idx], progress=progress)

    src = None
    if source is not None:
        from video2stylegan.faces import identity_distance
        from video2stylegan.metrics.identity import reference_descriptor

        if isinstance(source, (str, os.PathLike)):
            from video2stylegan.io import read_image

            report.info["source"] = str(source)
            src = read_image(source)
        else:
            src = np.asarray(source)
        ref = reference_descriptor(src, detect_face(src, source=report.info.get("source", "the source image")))
        col = np.full(n, np.nan)
        col[idx] = identity_distance(result_descriptors(), ref)
        pf["ID"] = col
        if id_stride > 1:
            report.notes.append(f"ID computed on every {id_stride}th frame ({len(idx)} frames)")

    if ground_truth is not None:
        gt, _, gt_name = _load_clip(ground_truth, max_frames, "ground truth")
        report.info["ground_truth"] = gt_name
        m = min(n, len(gt))
        if gt.shape[1:3] != res.shape[1:3]:
            report.notes.append(f"ground truth is {gt.shape[2]}x{gt.shape[1]}, the result {res.shape[2]}x{res.shape[1]}: ground truth resized")
            gt = np.stack([_resize(f, res.shape[1:3]) for f in gt[:m]])
        if m < n:
            report.notes.append(f"ground truth has only {len(gt)} frames: PSNR/SSIM cover the first {m}")
        pf["PSNR"] = np.full(n, np.nan)
        pf["SSIM"] = np.full(n, np.nan)
        pf["PSNR"][:m] = image_metrics.psnr(res[:m], gt[:m])
        pf["SSIM"][:m] = image_metrics.ssim(res[:m], gt[:m])
        _identity_to_ground_truth(report, gt[:m], ground_truth_faces, idx, result_descriptors, n, detector, progress)

    learned_values: dict[str, float | MetricUnavailable] = {}
    if not learned:
        off = "skipped (learned metrics disabled)"
        for k in ("LPIPS", "LPIPS_temporal", "LPIPS_temporal_driving", "FID", "FVD"):
            if k != "LPIPS" or src is not None:
                learned_values[k] = MetricUnavailable(k, off)
    else:
        model = lpips_model if lpips_model is not None else load_lpips()
        if isinstance(model, MetricUnavailable):
            if src is not None:
                learned_values["LPIPS"] = MetricUnavailable("LPIPS", model.reason)
            for k in ("LPIPS_temporal", "LPIPS_temporal_driving"):
                learned_values[k] = MetricUnavailable(k, model.reason)
        else:
            if src is not None:
                pf["LPIPS"] = model(res, _resize(src, res.shape[1:3]))
            pf["LPIPS_temporal"] = _pad_transition(model(res[1:], res[:-1]), n)
            pf["LPIPS_temporal_driving"] = _pad_transition(model(drv[1:], drv[:-1]), n)
        value = fid(res, drv, fid_extractor, progress=progress)
        learned_values["FID"] = value if isinstance(value, MetricUnavailable) else float(value)
        value = fvd(res, drv, fvd_extractor)
        learned_values["FVD"] = value if isinstance(value, MetricUnavailable) else float(value)

    for name in METRICS:
        if name == "PSNR" and name in pf:
            # From the mean MSE of the frames (the clip's PSNR), so that one
            # identical frame (inf dB) does not make the whole clip inf.
            db = pf[name][~np.isnan(pf[name])]
            mse = np.mean(255.0**2 / 10 ** (db / 10)) if len(db) else np.nan
            with np.errstate(divide="ignore"):
                report.summary[name] = float(10 * np.log10(255.0**2 / mse)) if len(db) else float("nan")
        elif name in pf:
            vals = pf[name][~np.isnan(pf[name])]
            report.summary[name] = float(vals.mean()) if len(vals) else float("nan")
        elif name in learned_values:
            report.summary[name] = learned_values[name]
    return report
