"""The ground-truth benchmark on the synthetic world.

In the synthetic world the exact answer of a reenactment is known: the head
renderer draws the *source* person with the driving clip's trajectory
(expressions and head motion). :func:`run_suite` takes a fixed, seeded set of
:class:`SuiteCase` pairs, renders for each the source portrait, the driving
clip (another person) and that ground truth, reenacts the portrait with every
method variant of the paper's Table 5 (:data:`VARIANTS`), pastes each
generated crop back into the portrait (the portrait's geometry is the ground
truth's: same camera, same framing) and scores every frame:

* ``landmark_error`` - mean distance of the result's 68 dlib landmarks to the
  renderer's exact landmarks of the ground truth (points the head hides in the
  ground truth left out), divided by the ground truth's outer-eye-corner
  distance (points 36-45) in that frame;
* ``mouth_error`` - the expression alone: absolute difference between the
  mouth opening (inner-lip gap over mouth width) of the result and of the
  ground-truth frame, both read from dlib's landmarks (so dlib's offset on
  the renders cancels; eyes are not scored: dlib's eye aspect ratio on the
  renders barely follows the eyelids, 0.40-0.45 open, 0.22-0.31 at 40 % open);
* ``ID`` - dlib descriptor distance of the result to the source portrait
  (the paper's ID; it grows with the head's turn even for the exact answer);
* ``ID_gt`` - dlib descriptor distance of the result to the ground-truth
  frame: the same person in the same pose, so the turn cancels out;
* ``PSNR`` / ``SSIM`` - of the whole frame to the ground-truth render;
* ``dK`` - keypoint motion distance of the result to the driving clip's exact
  landmarks (:func:`~video2stylegan.metrics.landmarks.keypoint_motion_distance`);
* ``jitter`` - mean norm of the landmarks' second difference
  ``L[t+1] - 2 L[t] + L[t-1]``, divided by the ground truth's face scale;
* time per frame of every pipeline stage (and of the scoring).

The ground truth itself is scored like a result (the ``"ground truth"`` row):
its landmark error, ID, dK and jitter are the floor that dlib's own landmark
noise sets, and its PSNR is ``inf``.

Writes ``results.csv`` (one row per case and variant), ``frames.csv`` (per
frame), ``results.md`` (means per variant, per case, timings), PNG plots
(per-frame curves, bar charts, timing) and the single-file ``report.html``.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from video2stylegan.errors import InvalidOptionError, MediaError, NoFaceError

log = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_FREE_VARIANTS",
    "CASE_NAMES",
    "CaseData",
    "FaceReading",
    "FrameScores",
    "GROUND_TRUTH",
    "METRIC_COLUMNS",
    "PAIRED_METRICS",
    "SuiteCase",
    "SuiteResult",
    "TABLE5_VARIANTS",
    "VARIANTS",
    "default_network",
    "default_suite",
    "file_slug",
    "landmark_jitter",
    "read_truth",
    "render_case",
    "run_suite",
    "score_frames",
    "suite_budget",
]

#: The network trained on the synthetic world, and the stand-in while it is not registered.
SHIPPED_NETWORK = "synthetic-heads-128"
FALLBACK_NETWORK = "random-r-128"

#: The paper's Table 5 ablations as ``reenact`` keyword overrides of the default configuration.
TABLE5_VARIANTS: dict[str, dict] = {
    "baseline": {"method": "baseline"},
    "local only": {"use_residual": False, "use_pose": False, "use_canonical": False},
    "baseline+local": {"use_pose": False, "use_canonical": False},
    "full": {},
}
#: Not in Table 5: the full method without the two parts that need a per-network calibration
#: (pose regressor, local channels); runs on any network.
EXTRA_VARIANTS: dict[str, dict] = {
    "full without pose/local": {"use_pose": False, "use_local": False},
}
VARIANTS: dict[str, dict] = {**TABLE5_VARIANTS, **EXTRA_VARIANTS}
#: The variants that need neither the pose regressor nor the local channels.
CALIBRATION_FREE_VARIANTS: dict[str, dict] = {k: VARIANTS[k] for k in ("baseline", "full without pose/local")}

#: What the ground truth's head does: the driver's motion from the portrait's pose, or the driver's poses.
TRUTH_MOTIONS = ("relative", "absolute")

#: The scores compared frame by frame between variants (:meth:`SuiteResult.differences`).
PAIRED_METRICS = ("landmark_error", "mouth_error", "ID", "ID_gt", "PSNR")

#: Embedding budgets: the default suite runs the demo's (``fast``: 20 Eq. 7 steps and 15 steps per
#: driving frame, the method as ``video2stylegan demo`` runs it); ``--quick`` (CI) the smallest.
DEFAULT_BUDGET = "fast"
QUICK_BUDGET = "draft"


def suite_budget(quick: bool = False) -> str:
    """The embedding preset of the default (``quick=False``) or CI-sized suite."""
    return QUICK_BUDGET if quick else DEFAULT_BUDGET


#: Name of the row that scores the ground truth itself (the metrics' floor).
GROUND_TRUTH = "ground truth"

# name -> (unit, "lower"/"higher" is better, description); the order of the tables.
METRIC_COLUMNS: dict[str, tuple[str, str, str]] = {
    "landmark_error": ("GT eye distance", "lower", "result landmarks (dlib) to the ground truth's exact ones"),
    "mouth_error": ("ratio", "lower", "mouth opening (inner-lip gap / mouth width) against the ground truth's"),
    "ID": ("descriptor L2", "lower", "dlib identity distance to the source portrait"),
    "ID_gt": ("descriptor L2", "lower", "dlib identity distance to the ground-truth frame (same pose)"),
    "PSNR": ("dB", "higher", "to the ground-truth render (clip PSNR from the mean MSE)"),
    "SSIM": ("0-1", "higher", "to the ground-truth render"),
    "dK": ("face scale", "lower", "keypoint motion distance to the driving clip's exact landmarks"),
    "jitter": ("GT face scale", "lower", "mean norm of the landmarks' second difference"),
}


@dataclass(frozen=True)
class SuiteCase:
    """One benchmark pair: the person ``source_seed`` (a frontal portrait) reenacted
    with the clip of the person ``driving_seed`` moving along ``talking_trajectory(
    frames, fps, motion_seed, head_motion)``, all rendered at ``size`` pixels."""

    name: str
    source_seed: int
    driving_seed: int
    motion_seed: int
    frames: int = 24
    size: int = 256
    fps: float = 25.0
    head_motion: float = 1.0
    truth: str = "relative"

    def __post_init__(self):
        if self.truth not in TRUTH_MOTIONS:
            raise InvalidOptionError(f"suite case {self.name!r}: truth must be one of {TRUTH_MOTIONS}, got {self.truth!r}")
        if self.frames < 3:
            raise InvalidOptionError(f"suite case {self.name!r}: needs at least 3 frames (jitter), got {self.frames}")
        if not 64 <= self.size <= 1024:
            raise InvalidOptionError(f"suite case {self.name!r}: size must be 64-1024 px, got {self.size}")
        if self.source_seed == self.driving_seed:
            raise InvalidOptionError(f"suite case {self.name!r}: the source and driving person must differ")

    def trajectory(self):
        from video2stylegan.synthetic.trajectory import talking_trajectory

        return talking_trajectory(self.frames, self.fps, self.motion_seed, self.head_motion)

    def truth_trajectory(self):
        """The ground truth's trajectory: ``"relative"`` (default) the driving clip's motion since
        its first frame applied to the portrait's own pose (what ``reenact``'s relative defaults
        and the baseline's ``w_j - w_0`` transfer), ``"absolute"`` the driving clip's poses."""
        traj = self.trajectory()
        return traj.anchored_at(self.source_params().pose) if self.truth == "relative" else traj

    def source_params(self):
        """The portrait: frontal, eyes open, mouth closed, a slight smile (like the bundled demo's)."""
        from video2stylegan.synthetic.clips import identity_from_seed
        from video2stylegan.synthetic.params import Expression, HeadParams, Pose

        return HeadParams(identity_from_seed(self.source_seed), Expression(smile=0.2), Pose())


# Seeds: case "demo" is the bundled demo pair (people 7 and 2, motion 101); the
# others are two more pairs whose faces dlib finds in every rendered frame.
_CASES = (
    ("demo", 7, 2, 101),
    ("pair-2", 11, 4, 303),
    ("pair-3", 5, 13, 404),
)


#: Every seeded case by name (``default_suite(cases=...)``, ``evaluate --suite synthetic --cases``).
CASE_NAMES = tuple(name for name, *_ in _CASES)


def default_suite(quick: bool = False, frames: int | None = None, size: int | None = None,
                  truth: str = "relative", cases: Sequence[str] | None = None) -> list[SuiteCase]:
    """The fixed benchmark cases.

    Default: 2 cases (``demo``, ``pair-2``) of 24 frames at 256 px. ``quick``: the
    ``demo`` case only, 6 frames at 128 px (CI size). ``cases``: names from
    :data:`CASE_NAMES` instead (e.g. ``["pair-3"]``, the third seeded pair).
    ``frames``/``size`` override either. ``truth``: see :meth:`SuiteCase.truth_trajectory`.
    """
    if cases is not None:
        unknown = [c for c in cases if c not in CASE_NAMES]
        if unknown or not cases:
            raise InvalidOptionError(
                f"unknown suite case(s) {unknown or 'none given'}; the cases are: {', '.join(CASE_NAMES)}"
            )
        chosen = [c for c in _CASES if c[0] in cases]
    else:
        chosen = _CASES[:1] if quick else _CASES[:2]
    n = frames if frames is not None else (6 if quick else 24)
    px = size if size is not None else (128 if quick else 256)
    return [SuiteCase(name, s, d, m, frames=int(n), size=int(px), truth=truth) for name, s, d, m in chosen]


def default_network() -> tuple[str, str | None]:
    """``(name, note)``: the synthetic-world network when the registry knows it, else
    the untrained ``random-r-128`` with a note that its scores mean nothing."""
    from video2stylegan.networks.registry import NETWORKS

    if SHIPPED_NETWORK in NETWORKS:
        return SHIPPED_NETWORK, None
    return FALLBACK_NETWORK, (
        f"the network {SHIPPED_NETWORK!r} is not in the registry yet: using the untrained {FALLBACK_NETWORK!r}, "
        "so the numbers below measure the harness only, not the method"
    )


@dataclass
class CaseData:
    """A rendered case: files in ``folder`` and the exact data the scores need."""

    case: SuiteCase
    folder: Path
    source_path: Path
    driving_path: Path
    truth_path: Path
    source_image: np.ndarray  # (H, W, 3) uint8
    driving_frames: np.ndarray  # (T, H, W, 3) uint8, exact renders (the MP4 is their H.264 copy)
    driving_landmarks: np.ndarray  # (T, 68, 2) exact
    truth_frames: np.ndarray  # (T, H, W, 3) uint8
    truth_landmarks: np.ndarray  # (T, 68, 2) exact
    truth_visible: np.ndarray  # (T, 68) bool


def render_case(case: SuiteCase, folder) -> CaseData:
    """Render ``case`` into ``folder``: ``source.png``, ``driving.mp4`` and ``ground_truth.mp4``."""
    from video2stylegan.io.images import write_image
    from video2stylegan.io.video import write_video
    from video2stylegan.synthetic.clips import identity_from_seed, render_clip
    from video2stylegan.synthetic.renderer import render

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create the case folder {folder} ({exc}); choose a writable --out-dir") from None
    traj = case.trajectory()
    source = render(case.source_params(), case.size, supersample=3).image

    def clip(seed, traj):
        renders = list(render_clip(identity_from_seed(seed), traj, case.size))
        return (np.stack([r.image for r in renders]), np.stack([r.landmarks for r in renders]),
                np.stack([r.visible for r in renders]))

    drv, drv_lms, _ = clip(case.driving_seed, traj)
    gt, gt_lms, gt_vis = clip(case.source_seed, case.truth_trajectory())
    paths = folder / "source.png", folder / "driving.mp4", folder / "ground_truth.mp4"
    write_image(paths[0], source)
    write_video(paths[1], drv, case.fps, crf=18)
    write_video(paths[2], gt, case.fps, crf=18)
    return CaseData(case, folder, *paths, source, drv, drv_lms, gt, gt_lms, gt_vis)


@dataclass
class FrameScores:
    """Per-frame scores (``per_frame``: name -> ``(T,)``; ``dK`` is ``nan`` at frame 0,
    ``jitter`` at the first and last frame), the result's tracked ``landmarks`` (``None``
    when no frame had a face), the number of frames whose face was interpolated, and notes."""

    per_frame: dict
    landmarks: np.ndarray | None
    missing_faces: int
    notes: list = field(default_factory=list)

    def summary(self) -> dict[str, float]:
        """Mean of every metric over frames (``nan`` ignored); PSNR from the mean MSE."""
        out = {}
        for name in METRIC_COLUMNS:
            v = np.asarray(self.per_frame[name], np.float64)
            v = v[~np.isnan(v)]
            if not len(v):
                out[name] = float("nan")
            elif name == "PSNR":
                mse = float(np.mean(255.0**2 / 10 ** (v / 10)))
                out[name] = float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))
            else:
                out[name] = float(v.mean())
        return out


def landmark_jitter(landmarks: np.ndarray, scale: float) -> np.ndarray:
    """Per frame ``mean_k |L[t+1,k] - 2 L[t,k] + L[t-1,k]| / scale`` (``nan`` at the first and last
    frame): 0 for landmarks moving at constant velocity, ``2 d / scale`` for points alternating
    between two positions ``d`` apart."""
    landmarks = np.asarray(landmarks, np.float64)
    out = np.full(len(landmarks), np.nan)
    if len(landmarks) >= 3:
        acc = landmarks[2:] - 2 * landmarks[1:-1] + landmarks[:-2]
        out[1:-1] = np.linalg.norm(acc, axis=-1).mean(axis=-1) / scale
    return out


@dataclass
class FaceReading:
    """What dlib reads in a clip's frames (a result's, or the ground truth's: the reference
    of the scores that compare two dlib readings, ``ID_gt`` and ``mouth_error``):
    ``landmarks`` ``(T, 68, 2)`` and ``descriptors`` ``(T, 128)`` (``None`` when not
    asked for), both ``None`` when dlib finds no face; ``missing``: frames without a
    detected face (their landmarks interpolated)."""

    landmarks: np.ndarray | None
    descriptors: np.ndarray | None
    missing: int = 0


def read_truth(frames, *, progress: bool = False) -> FaceReading:
    """Track the faces of the ground-truth ``frames`` as a result's are tracked, and describe them."""
    return _read_faces(frames, "the ground truth", describe=True, progress=progress)


def _read_faces(frames, source: str, *, describe: bool, progress: bool) -> FaceReading:
    """dlib's landmarks of ``frames`` and, if ``describe``, their descriptors (``source`` names them in messages)."""
    from video2stylegan.faces import track_faces
    from video2stylegan.metrics.identity import frame_descriptors

    try:
        tracked = track_faces(frames, source=source, progress=progress)
    except NoFaceError:
        return FaceReading(None, None)
    descriptors = frame_descriptors(frames, tracked, progress=progress) if describe else None
    return FaceReading(tracked.landmarks[: len(frames)].astype(np.float64), descriptors, len(tracked.missing))


def score_frames(
    frames: np.ndarray,
    truth_frames: np.ndarray,
    truth_landmarks: np.ndarray,
    driving_landmarks: np.ndarray,
    source_descriptor: np.ndarray | None = None,
    *,
    truth_reading: "FaceReading | None" = None,
    truth_visible: np.ndarray | None = None,
    reading: "FaceReading | None" = None,
    progress: bool = False,
) -> FrameScores:
    """Score result ``frames`` ``(T, H, W, 3)`` (in the ground truth's geometry) per frame.

    ``truth_landmarks`` / ``driving_landmarks``: exact ``(T, 68, 2)``;
    ``truth_visible``: ``(T, 68)`` bool, the points counted in ``landmark_error``
    (default all); ``source_descriptor``: the portrait's dlib descriptor (``None``:
    no ID); ``truth_reading``: what dlib reads in the ground-truth frames
    (:func:`read_truth`; ``None``: no ID_gt and mouth_error); ``reading``: what dlib
    reads in ``frames`` where that is known already (scoring the ground truth
    itself; default: tracked and described here). A result without any
    detectable face gets ``nan`` landmark scores and IDs.
    """
    from video2stylegan.metrics import image as image_metrics
    from video2stylegan.metrics import landmarks as lm

    frames = np.asarray(frames)
    T = len(frames)
    if frames.shape != truth_frames.shape:
        raise InvalidOptionError(f"result frames {frames.shape} and ground truth {truth_frames.shape} differ in shape")
    if len(truth_landmarks) != T or len(driving_landmarks) != T:
        raise InvalidOptionError("the landmark arrays must have one entry per result frame")
    visible = np.ones(truth_landmarks.shape[:2], bool) if truth_visible is None else np.asarray(truth_visible, bool)
    nan = np.full(T, np.nan)
    pf = {k: nan.copy() for k in ("landmark_error", "mouth_error", "ID", "ID_gt", "dK", "jitter")}
    pf["PSNR"] = np.asarray(image_metrics.psnr(frames, truth_frames), np.float64).reshape(T)
    pf["SSIM"] = np.asarray(image_metrics.ssim(frames, truth_frames), np.float64).reshape(T)
    notes = []
    if reading is None:
        describe = source_descriptor is not None or truth_reading is not None
        reading = _read_faces(frames, "result", describe=describe, progress=progress)
    if reading.landmarks is None:
        return FrameScores({k: pf[k] for k in METRIC_COLUMNS}, None, T, ["no face detected in any result frame"])
    res = np.asarray(reading.landmarks, np.float64)[:T]
    eye = lm.interocular(truth_landmarks)
    err = np.linalg.norm(res - truth_landmarks, axis=-1)
    counted = np.maximum(visible.sum(axis=1), 1)
    pf["landmark_error"] = (err * visible).sum(axis=1) / counted / eye
    if truth_reading is not None and truth_reading.landmarks is not None:
        pf["mouth_error"] = np.abs(lm.mouth_opening(res) - lm.mouth_opening(truth_reading.landmarks[:T]))
    pf["dK"][1:] = lm.keypoint_motion_distance(driving_landmarks, res)
    pf["jitter"] = landmark_jitter(res, lm.face_scale(truth_landmarks))
    truth_descriptors = None if truth_reading is None else truth_reading.descriptors
    if reading.descriptors is not None:
        from video2stylegan.faces import identity_distance

        if source_descriptor is not None:
            pf["ID"] = identity_distance(reading.descriptors, source_descriptor)
        if truth_descriptors is not None:
            pf["ID_gt"] = identity_distance(reading.descriptors, np.asarray(truth_descriptors)[:T])
    if reading.missing:
        notes.append(f"{reading.missing} of {T} result frames had no detected face (landmarks interpolated)")
    return FrameScores({k: pf[k] for k in METRIC_COLUMNS}, res, reading.missing, notes)


@dataclass
class SuiteResult:
    """Everything :func:`run_suite` measured.

    ``rows``: one dict per (case, variant) with ``case``, ``variant``,
    ``status`` (``"ok"``/``"skipped"``), ``reason``, ``frames``, the means of
    :data:`METRIC_COLUMNS`, ``missing_faces``, ``embed_psnr`` / ``pti_psnr`` (dB of the
    source's projection before / after PTI; variants only), and ``s_per_frame``
    (stage -> seconds per frame, ``"total"`` included). ``per_frame``: ``(case, variant)`` ->
    name -> ``(T,)``. ``paths``: name -> written file.
    """

    network: str
    embedding: dict
    cases: list
    variants: list
    rows: list = field(default_factory=list)
    per_frame: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)
    seconds: float = 0.0

    def row(self, case: str, variant: str) -> dict:
        for r in self.rows:
            if r["case"] == case and r["variant"] == variant:
                return r
        raise KeyError((case, variant))

    def means(self) -> dict[str, dict[str, float]]:
        """Variant -> metric -> mean over the cases it ran on (``s_per_frame`` total too)."""
        out = {}
        for variant in [GROUND_TRUTH] + list(self.variants):
            rows = [r for r in self.rows if r["variant"] == variant and r["status"] == "ok"]
            if not rows:
                continue
            m = {}
            for name in METRIC_COLUMNS:
                vals = np.array([r[name] for r in rows], np.float64)
                vals = vals[~np.isnan(vals)]
                m[name] = float(vals.mean()) if len(vals) else float("nan")
            total = np.array([r["s_per_frame"].get("total", np.nan) for r in rows], np.float64)
            m["s_per_frame"] = float(np.nanmean(total)) if np.isfinite(total).any() else float("nan")
            m["cases"] = len(rows)
            out[variant] = m
        return out

    def stages(self) -> list[str]:
        seen = {k for r in self.rows for k in r["s_per_frame"] if k != "total"}
        names = [s for s in _CSV_STAGES if s in seen]
        names += sorted(seen.difference(names))
        return names + ["total"]

    def mean_table(self) -> tuple[list, list]:
        header = ["variant"] + list(METRIC_COLUMNS) + ["s/frame", "cases"]
        rows = [[v] + [m[k] for k in METRIC_COLUMNS] + [m["s_per_frame"], m["cases"]] for v, m in self.means().items()]
        return header, rows

    def case_table(self) -> tuple[list, list]:
        header = ["case", "variant"] + list(METRIC_COLUMNS) + ["missing faces", "status"]
        rows = [[r["case"], r["variant"]] + [r.get(k) for k in METRIC_COLUMNS] + [r.get("missing_faces"),
                r["status"] if r["status"] == "ok" else f"skipped: {r['reason']}"] for r in self.rows]
        return header, rows

    def timing_table(self) -> tuple[list, list]:
        stages = self.stages()
        header = ["case", "variant"] + stages
        rows = [[r["case"], r["variant"]] + [r["s_per_frame"].get(s) for s in stages]
                for r in self.rows if r["status"] == "ok"]
        return header, rows

    def differences(self, against: str = "baseline", metrics: Sequence[str] = PAIRED_METRICS,
                    **bootstrap) -> list[tuple[str, str, dict]]:
        """Per case, every other variant's paired per-frame difference to ``against``
        (``variant - against``; :func:`~video2stylegan.metrics.paired.paired_difference`,
        ``bootstrap`` passed on): ``[(case, variant, {metric: PairedDifference})]``. Empty
        when ``against`` did not run."""
        from video2stylegan.metrics.paired import paired_difference

        out = []
        for case in self.cases:
            ref = self.per_frame.get((case.name, against))
            if ref is None:
                continue
            for variant in self.variants:
                pf = self.per_frame.get((case.name, variant))
                if variant == against or pf is None:
                    continue
                out.append((case.name, variant, {m: paired_difference(pf[m], ref[m], **bootstrap) for m in metrics}))
        return out

    def difference_table(self, against: str = "baseline") -> tuple[list, list]:
        header = ["case", "variant"] + [f"{m} - {against}" for m in PAIRED_METRICS]
        rows = [[case, variant] + [d[m].format(2 if m == "PSNR" else 4) for m in PAIRED_METRICS]
                for case, variant, d in self.differences(against)]
        return header, rows

    def to_markdown(self) -> str:
        from video2stylegan.metrics.report import format_value

        def md(header, rows):
            lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            lines += ["| " + " | ".join(format_value(v) for v in row) + " |" for row in rows]
            return "\n".join(lines)

        cases = ", ".join(f"{c.name} (person {c.source_seed} driven by person {c.driving_seed}, motion "
                          f"{c.motion_seed}, {c.frames} frames, {c.size} px)" for c in self.cases)
        emb = ", ".join(f"{k} {v}" for k, v in self.embedding.items())
        parts = [
            "# Ground-truth benchmark on the synthetic world",
            "",
            f"Network: `{self.network}`. Cases: {cases}. Embedding budget: {emb}. Total time {self.seconds:.0f} s.",
            "",
        ]
        parts += [f"- {n}" for n in self.notes]
        units = "; ".join(f"{k}: {u}, {b} is better" for k, (u, b, _) in METRIC_COLUMNS.items())
        parts += ["", "## Mean per variant", "", md(*self.mean_table()), "", f"Units: {units}. "
                  "s/frame: all stages of the run, scoring excluded, divided by the frames. "
                  f"The `{GROUND_TRUTH}` row scores the exact answer itself: the floor of each metric.",
                  "", "## Per case", "", md(*self.case_table()), "",
                  *self._difference_section(md),
                  "## Seconds per frame per stage", "", md(*self.timing_table()), "",
                  "Embeddings are cached per case: the first variant that needs the driving frames' "
                  "codes pays for them, later ones read them back."]
        return "\n".join(parts) + "\n"

    def _difference_section(self, md) -> list[str]:
        header, rows = self.difference_table()
        if not rows:
            return []
        return ["## Differences to the baseline", "", md(header, rows), "", DIFFERENCE_NOTE, ""]


#: How the difference tables are read (results.md and report.html).
DIFFERENCE_NOTE = (
    "Mean over frames of the per-frame difference (variant minus baseline, same frames) and its 95 % "
    "moving-block bootstrap interval (blocks of about the cube root of the frames, 3 for 24; 2000 "
    "resamples); `*`: the interval excludes 0. Lower is better for every score but PSNR "
    "(from per-frame dB)."
)

_CSV_STAGES = ("network", "faces", "embed source", "embed driving", "calibrate", "pose", "placement", "render", "score")


def file_slug(name: str) -> str:
    """A file-name-safe form of a case or variant name."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "variant"


def _load_network(network, device: str):
    import torch

    from video2stylegan.networks.loading import load_generator, resolve_device

    if isinstance(network, torch.nn.Module):
        return network.eval().requires_grad_(False), getattr(network, "name", None) or type(network).__name__
    return load_generator(network, resolve_device(device), progress=False), str(network)


def run_suite(
    network=None,
    cases: Sequence[SuiteCase] | None = None,
    variants: dict[str, dict] | Sequence[str] | None = None,
    out_dir="benchmark-synthetic",
    *,
    embedding=DEFAULT_BUDGET,
    device: str = "auto",
    strip_frames: int = 4,
    pose_regressor: str = "auto",
    cache_dir=None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
) -> SuiteResult:
    """Run the benchmark and write its files into ``out_dir`` (created).

    ``network``: a registry name, a file, or a loaded generator (default
    :func:`default_network`). ``cases``: default :func:`default_suite`.
    ``variants``: names of :data:`VARIANTS` or a dict name -> ``reenact``
    overrides (default all of :data:`VARIANTS`). ``embedding``: a preset name or
    an :class:`~video2stylegan.pipeline.embedding.EmbeddingOptions` (default
    ``"fast"``, the demo's budget: the default suite takes about 4 minutes on 2 CPU
    cores; ``"draft"`` runs Eq. 7 for only 3 steps, too few to judge the method by). A variant
    whose run fails (e.g. its calibration is not available for the network) is
    recorded as skipped with the reason. ``pose_regressor``: passed to ``reenact``;
    ``"auto"`` trains it on renderer images for a network whose name or file name
    starts with ``synthetic`` (the world it was trained on), else as ``reenact``
    decides. ``cache_dir``: where the embeddings and calibrations are cached; by
    default a fresh folder in ``out_dir`` removed at the end, so every run pays
    for its embeddings once per case and the timings are comparable; a given
    folder is kept and reused (later runs then time cache reads, which the
    notes say). ``echo``: where progress lines go (default: print when ``progress``).
    """
    from video2stylegan.pipeline.embedding import EmbeddingOptions

    start = time.perf_counter()
    say = echo or (print if progress else (lambda _msg: None))
    notes = []
    if network is None:
        network, note = default_network()
        if note:
            notes.append(note)
            say(f"note: {note}")
    elif isinstance(network, str) and network.startswith("random-"):
        notes.append(f"{network!r} is an untrained network: the numbers measure the harness only, not the method")
    cases = list(default_suite() if cases is None else cases)
    if not cases:
        raise InvalidOptionError("the suite needs at least one case")
    if len({c.name for c in cases}) != len(cases):
        raise InvalidOptionError("suite case names must be unique")
    if variants is None:
        variants = dict(VARIANTS)
    elif not isinstance(variants, dict):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise InvalidOptionError(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
        variants = {v: VARIANTS[v] for v in variants}
    if GROUND_TRUTH in variants:
        raise InvalidOptionError(f"{GROUND_TRUTH!r} is the name of the ground-truth row; rename the variant")
    emb = embedding if isinstance(embedding, EmbeddingOptions) else EmbeddingOptions.preset(str(embedding))
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create the output folder {out_dir} ({exc}); choose a writable --out-dir") from None
    G, net_name = _load_network(network, device)
    if cache_dir is None:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=out_dir))
    else:
        cache = Path(cache_dir)
        notes.append(f"embeddings and calibrations cached in {cache}: a rerun times cache reads, not embeddings")
    try:
        result = _run_cases(G, net_name, cases, variants, out_dir, emb, device, strip_frames, pose_regressor,
                            cache, progress, say, notes, start)
    finally:
        if cache_dir is None:
            shutil.rmtree(cache, ignore_errors=True)
    return result


def _run_cases(G, net_name, cases, variants, out_dir, emb, device, strip_frames, pose_regressor, cache, progress,
               say, notes, start) -> SuiteResult:
    from video2stylegan import reenact
    from video2stylegan.faces import paste_back
    from video2stylegan.io.video import write_video
    from video2stylegan.metrics.identity import reference_descriptor
    from video2stylegan.metrics.report import Strip, sample_indices

    if pose_regressor == "auto" and Path(net_name).name.startswith("synthetic"):
        pose_regressor = "renderer"
    result = SuiteResult(network=net_name, embedding=dict(vars(emb)), cases=cases, variants=list(variants),
                         notes=notes)
    strips = []
    for case in cases:
        say(f"case {case.name}: rendering {case.frames} frames at {case.size} px")
        data = render_case(case, out_dir / file_slug(case.name))
        try:
            descriptor = reference_descriptor(data.source_image, source=f"the source portrait of case {case.name}")
        except NoFaceError:
            descriptor = None
            result.notes.append(f"case {case.name}: dlib finds no face in the source portrait, so no ID")
        truth = read_truth(data.truth_frames)
        picks = sample_indices(case.frames, strip_frames)
        strip_cols = {"reference": [data.source_image] * len(picks), "driving": list(data.driving_frames[picks])}

        def record(name, frames, s_per_frame, extra=None, reading=None):
            t0 = time.perf_counter()
            scores = score_frames(frames, data.truth_frames, data.truth_landmarks, data.driving_landmarks,
                                  descriptor, truth_reading=truth, truth_visible=data.truth_visible, reading=reading)
            s_per_frame = dict(s_per_frame)
            s_per_frame["score"] = (time.perf_counter() - t0) / case.frames
            stage_times = [v for k, v in s_per_frame.items() if k != "score"]
            if stage_times:  # the ground-truth row has no stages
                s_per_frame["total"] = sum(stage_times)
            row = {"case": case.name, "variant": name, "status": "ok", "reason": "", "frames": case.frames,
                   **scores.summary(), "missing_faces": scores.missing_faces, "s_per_frame": s_per_frame,
                   **(extra or {})}
            result.rows.append(row)
            result.per_frame[(case.name, name)] = scores.per_frame
            result.notes.extend(f"case {case.name}, {name}: {n}" for n in scores.notes)
            return row

        record(GROUND_TRUTH, data.truth_frames, {}, reading=truth)  # dlib read the truth above already
        for name, overrides in variants.items():
            say(f"case {case.name}: {name}")
            t0 = time.perf_counter()
            try:
                run = reenact(data.source_path, data.driving_path, network=G, embedding=emb, device=device,
                              cache_dir=cache, max_frames=case.frames, progress=progress,
                              pose_regressor=pose_regressor, **overrides)
            except Exception as exc:  # a variant that cannot run is a finding, not the end of the benchmark
                reason = f"{type(exc).__name__} after {time.perf_counter() - t0:.0f} s: {exc}".splitlines()[0][:300]
                log.warning("variant %s failed on case %s: %s", name, case.name, reason)
                say(f"case {case.name}: {name} skipped ({reason})")
                result.rows.append({"case": case.name, "variant": name, "status": "skipped", "reason": reason,
                                    "frames": case.frames, "s_per_frame": {}})
                strip_cols[name] = [None] * len(picks)
                continue
            pasted = np.stack([paste_back(run.source.image, crop, run.source.aligned, mask="crop")
                               for crop in run.frames])
            write_video(data.folder / f"{file_slug(name)}.mp4", pasted, case.fps, crf=18)
            per_frame = {k: v / case.frames for k, v in run.timings.items()}
            row = record(name, pasted, per_frame, {"embed_psnr": run.source_psnr, "pti_psnr": run.pti_psnr})
            say(f"case {case.name}: {name} done in {time.perf_counter() - t0:.1f} s "
                f"(landmark error {row['landmark_error']:.3g}, PSNR {row['PSNR']:.3g} dB)")
            strip_cols[name] = list(pasted[picks])
        strip_cols[GROUND_TRUTH] = list(data.truth_frames[picks])
        strips.append(Strip(f"case {case.name}", list(strip_cols),
                            [(f"frame {i}", [strip_cols[c][j] for c in strip_cols]) for j, i in enumerate(picks)]))

    from video2stylegan.metrics.suite_outputs import write_csvs, write_plots, write_report, write_text

    result.seconds = time.perf_counter() - start
    write_csvs(result, out_dir)
    plots = write_plots(result, out_dir)
    write_text(out_dir / "results.md", result.to_markdown())
    result.paths["results.md"] = out_dir / "results.md"
    write_report(result, out_dir, plots, strips)
    return result
