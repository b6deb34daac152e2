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
(per-frame curves, bar charts, timing) and the single-file ``report.html``
(:mod:`.suite_outputs`; the result and its columns are in :mod:`.suite_result`).

:func:`run_suite` reads as its stages: choose the network, cases and variants,
load the network, then per case :func:`run_case` (:func:`render_case`,
:func:`case_truth`, and per variant :func:`run_variant` and :func:`score_row`,
which calls :func:`score_frames`), and finally write the files. The stages take
a frozen :class:`SuiteOptions` (or :class:`CaseTruth`) and return a value.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import numpy as np
import torch

from video2stylegan.errors import InvalidOptionError, MediaError, NoFaceError
from video2stylegan.evaluation.report import Strip, sample_indices
from video2stylegan.evaluation.suite_outputs import write_outputs
from video2stylegan.evaluation.suite_result import GROUND_TRUTH, METRIC_COLUMNS, SuiteResult, file_slug
from video2stylegan.faces import identity_distance, paste_back, track_faces
from video2stylegan.io.images import write_image
from video2stylegan.io.video import write_video
from video2stylegan.metrics import image as image_metrics
from video2stylegan.metrics import landmarks as lm
from video2stylegan.metrics.identity import frame_descriptors, reference_descriptor
from video2stylegan.metrics.summary import clip_summary
from video2stylegan.networks import loading, registry
from video2stylegan.pipeline import EmbeddingOptions, reenact
from video2stylegan.synthetic.clips import identity_from_seed, render_clip
from video2stylegan.synthetic.params import Expression, HeadParams, Pose
from video2stylegan.synthetic.renderer import render
from video2stylegan.synthetic.trajectory import talking_trajectory

log = logging.getLogger(__name__)

__all__ = [
    "CALIBRATION_FREE_VARIANTS",
    "CASE_NAMES",
    "CaseData",
    "CaseOutcome",
    "CaseTruth",
    "FaceReading",
    "FrameScores",
    "SuiteCase",
    "SuiteOptions",
    "TABLE5_VARIANTS",
    "VARIANTS",
    "case_truth",
    "default_network",
    "default_suite",
    "read_truth",
    "render_case",
    "run_case",
    "run_suite",
    "run_variant",
    "score_frames",
    "score_row",
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

#: Embedding budgets: the default suite runs the demo's (``fast``: 20 Eq. 7 steps and 15 steps per
#: driving frame, the method as ``video2stylegan demo`` runs it); ``--quick`` (CI) the smallest.
DEFAULT_BUDGET = "fast"
QUICK_BUDGET = "draft"


def suite_budget(quick: bool = False) -> str:
    """The embedding preset of the default (``quick=False``) or CI-sized suite."""
    return QUICK_BUDGET if quick else DEFAULT_BUDGET


# ---------------------------------------------------------------- cases


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
        return talking_trajectory(self.frames, self.fps, self.motion_seed, self.head_motion)

    def truth_trajectory(self):
        """The ground truth's trajectory: ``"relative"`` (default) the driving clip's motion since
        its first frame applied to the portrait's own pose (what ``reenact``'s relative defaults
        and the baseline's ``w_j - w_0`` transfer), ``"absolute"`` the driving clip's poses."""
        traj = self.trajectory()
        return traj.anchored_at(self.source_params().pose) if self.truth == "relative" else traj

    def source_params(self):
        """The portrait: frontal, eyes open, mouth closed, a slight smile (like the bundled demo's)."""
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
    if SHIPPED_NETWORK in registry.NETWORKS:
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
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create the case folder {folder} ({exc}); choose a writable --out-dir") from None
    traj = case.trajectory()
    source = render(case.source_params(), case.size, supersample=3).image
    drv, drv_lms, _ = _render_person(case.driving_seed, traj, case.size)
    gt, gt_lms, gt_vis = _render_person(case.source_seed, case.truth_trajectory(), case.size)
    paths = folder / "source.png", folder / "driving.mp4", folder / "ground_truth.mp4"
    write_image(paths[0], source)
    write_video(paths[1], drv, case.fps, crf=18)
    write_video(paths[2], gt, case.fps, crf=18)
    return CaseData(case, folder, *paths, source, drv, drv_lms, gt, gt_lms, gt_vis)


def _render_person(seed: int, trajectory, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames ``(T, H, W, 3)``, exact landmarks ``(T, 68, 2)`` and their visibility ``(T, 68)`` of the
    person ``seed`` moving along ``trajectory``."""
    renders = list(render_clip(identity_from_seed(seed), trajectory, size))
    return (np.stack([r.image for r in renders]), np.stack([r.landmarks for r in renders]),
            np.stack([r.visible for r in renders]))


# ---------------------------------------------------------------- scoring frames against the truth


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
        """Every metric's clip value (:func:`~video2stylegan.metrics.summary.clip_summary`: the mean
        over frames, ``nan`` ignored; PSNR from the mean MSE)."""
        return clip_summary({name: self.per_frame[name] for name in METRIC_COLUMNS})


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


@dataclass(frozen=True)
class CaseTruth:
    """What a case's results are scored against: the ground-truth ``frames`` ``(T, H, W, 3)``, their
    exact ``landmarks`` ``(T, 68, 2)``, the driving clip's exact ``driving_landmarks``, ``visible``
    ``(T, 68)`` (the points counted in ``landmark_error``; ``None``: all), the portrait's
    ``source_descriptor`` (``None``: no ID) and dlib's ``reading`` of the ground-truth frames
    (:func:`read_truth`; ``None``: no ID_gt and no mouth_error)."""

    frames: np.ndarray
    landmarks: np.ndarray
    driving_landmarks: np.ndarray
    visible: np.ndarray | None = None
    source_descriptor: np.ndarray | None = None
    reading: FaceReading | None = None


def read_truth(frames, *, progress: bool = False) -> FaceReading:
    """Track the faces of the ground-truth ``frames`` as a result's are tracked, and describe them."""
    return _read_faces(frames, "the ground truth", describe=True, progress=progress)


def _read_faces(frames, source: str, *, describe: bool, progress: bool) -> FaceReading:
    """dlib's landmarks of ``frames`` and, if ``describe``, their descriptors (``source`` names them in messages)."""
    try:
        tracked = track_faces(frames, source=source, progress=progress)
    except NoFaceError:
        return FaceReading(None, None)
    descriptors = frame_descriptors(frames, tracked, progress=progress) if describe else None
    return FaceReading(tracked.landmarks[: len(frames)].astype(np.float64), descriptors, len(tracked.missing))


def score_frames(frames: np.ndarray, truth: CaseTruth, *, reading: FaceReading | None = None,
                 progress: bool = False) -> FrameScores:
    """Score result ``frames`` ``(T, H, W, 3)`` (in the ground truth's geometry) per frame against ``truth``.

    ``reading``: what dlib reads in ``frames`` where that is known already (scoring the ground
    truth itself; default: tracked, and described when ``truth`` asks for an identity score, here).
    A result without any detectable face gets ``nan`` landmark scores and IDs.
    """
    frames = np.asarray(frames)
    T = len(frames)
    if frames.shape != truth.frames.shape:
        raise InvalidOptionError(f"result frames {frames.shape} and ground truth {truth.frames.shape} differ in shape")
    if len(truth.landmarks) != T or len(truth.driving_landmarks) != T:
        raise InvalidOptionError("the landmark arrays must have one entry per result frame")
    pf = {k: np.full(T, np.nan) for k in ("landmark_error", "mouth_error", "ID", "ID_gt", "dK", "jitter")}
    pf["PSNR"] = np.asarray(image_metrics.psnr(frames, truth.frames), np.float64).reshape(T)
    pf["SSIM"] = np.asarray(image_metrics.ssim(frames, truth.frames), np.float64).reshape(T)
    if reading is None:
        describe = truth.source_descriptor is not None or truth.reading is not None
        reading = _read_faces(frames, "result", describe=describe, progress=progress)
    if reading.landmarks is None:
        return FrameScores({k: pf[k] for k in METRIC_COLUMNS}, None, T, ["no face detected in any result frame"])
    res = np.asarray(reading.landmarks, np.float64)[:T]
    pf.update(_landmark_scores(res, truth))
    pf.update(_identity_scores(reading.descriptors, truth))
    notes = [f"{reading.missing} of {T} result frames had no detected face (landmarks interpolated)"] \
        if reading.missing else []
    return FrameScores({k: pf[k] for k in METRIC_COLUMNS}, res, reading.missing, notes)


def _landmark_scores(res: np.ndarray, truth: CaseTruth) -> dict[str, np.ndarray]:
    """``landmark_error``, ``mouth_error`` (with a reading of the truth), ``dK`` and ``jitter`` of the
    result's landmarks ``res`` ``(T, 68, 2)``."""
    T = len(res)
    visible = np.ones(truth.landmarks.shape[:2], bool) if truth.visible is None else np.asarray(truth.visible, bool)
    eye = lm.interocular(truth.landmarks)
    err = np.linalg.norm(res - truth.landmarks, axis=-1)
    counted = np.maximum(visible.sum(axis=1), 1)
    pf = {"landmark_error": (err * visible).sum(axis=1) / counted / eye}
    if truth.reading is not None and truth.reading.landmarks is not None:
        pf["mouth_error"] = np.abs(lm.mouth_opening(res) - lm.mouth_opening(truth.reading.landmarks[:T]))
    pf["dK"] = np.full(T, np.nan)
    pf["dK"][1:] = lm.keypoint_motion_distance(truth.driving_landmarks, res)
    pf["jitter"] = lm.landmark_jitter(res, lm.face_scale(truth.landmarks))
    return pf


def _identity_scores(descriptors: np.ndarray | None, truth: CaseTruth) -> dict[str, np.ndarray]:
    """``ID`` (to the portrait) and ``ID_gt`` (to the ground-truth frames) of the result's ``descriptors``
    ``(T, 128)``, each where its reference is known."""
    pf = {}
    if descriptors is None:
        return pf
    if truth.source_descriptor is not None:
        pf["ID"] = identity_distance(descriptors, truth.source_descriptor)
    truth_descriptors = None if truth.reading is None else truth.reading.descriptors
    if truth_descriptors is not None:
        pf["ID_gt"] = identity_distance(descriptors, np.asarray(truth_descriptors)[: len(truth.frames)])
    return pf


# ---------------------------------------------------------------- running the suite


@dataclass(frozen=True)
class SuiteOptions:
    """How every case is run: the ``embedding`` budget, the torch ``device``, the frames per case in the
    report's strips, the ``pose_regressor`` as ``reenact`` takes it, and progress bars."""

    embedding: EmbeddingOptions
    device: str = "auto"
    strip_frames: int = 4
    pose_regressor: str = "auto"
    progress: bool = True


@dataclass
class CaseOutcome:
    """What one case adds to the :class:`~video2stylegan.evaluation.suite_result.SuiteResult`: its
    rows (the ground truth's first, then the variants'), per-frame scores, notes and strip of frames."""

    rows: list = field(default_factory=list)
    per_frame: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    strip: Strip | None = None


@dataclass(frozen=True)
class VariantRun:
    """One variant's result on a case: the pasted-back ``frames`` and the run's seconds per frame per
    stage and extra row values, or the ``failure`` that stopped it (the others then empty)."""

    frames: np.ndarray | None = None
    s_per_frame: dict = field(default_factory=dict)
    extra: dict = field(default_factory=dict)
    failure: str | None = None


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
    # 11 parameters: the documented entry point (docs/metrics.md, evaluate --suite); the run's options
    # are gathered at once into a SuiteOptions that the stages take.
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
    start = time.perf_counter()
    say = echo or (print if progress else _quiet)
    network, notes = _choose_network(network, say)
    cases = _check_cases(cases)
    variants = _check_variants(variants)
    emb = embedding if isinstance(embedding, EmbeddingOptions) else EmbeddingOptions.preset(str(embedding))
    out_dir = _make_out_dir(out_dir)
    G, net_name = _load_network(network, device)
    options = SuiteOptions(emb, device, strip_frames, _pose_regressor_for(net_name, pose_regressor), progress)
    result = SuiteResult(network=net_name, embedding=dict(vars(emb)), cases=cases, variants=list(variants),
                         notes=notes)
    if cache_dir is not None:
        result.notes.append(f"embeddings and calibrations cached in {Path(cache_dir)}: a rerun times cache reads, "
                            "not embeddings")
    strips = []
    with _embedding_cache(out_dir, cache_dir) as cache:
        for case in cases:
            outcome = run_case(G, case, variants, out_dir / file_slug(case.name), cache, options, say)
            result.rows.extend(outcome.rows)
            result.per_frame.update(outcome.per_frame)
            result.notes.extend(outcome.notes)
            strips.append(outcome.strip)
        result.seconds = time.perf_counter() - start
        write_outputs(result, out_dir, strips)
    return result


def run_case(G, case: SuiteCase, variants: dict[str, dict], folder: Path, cache: Path, options: SuiteOptions,
             say: Callable[[str], None]) -> CaseOutcome:
    """Render ``case`` into ``folder``, score the ground truth itself, run and score every variant."""
    say(f"case {case.name}: rendering {case.frames} frames at {case.size} px")
    data = render_case(case, folder)
    truth, notes = case_truth(data)
    outcome = CaseOutcome(notes=notes)
    picks = sample_indices(case.frames, options.strip_frames)
    columns = {"reference": [data.source_image] * len(picks), "driving": list(data.driving_frames[picks])}
    _add_row(outcome, case, score_row(case, GROUND_TRUTH, data.truth_frames, truth, {}, reading=truth.reading))
    for name, overrides in variants.items():
        say(f"case {case.name}: {name}")
        t0 = time.perf_counter()
        run = run_variant(G, data, name, overrides, cache, options)
        if run.failure is not None:
            log.warning("variant %s failed on case %s: %s", name, case.name, run.failure)
            say(f"case {case.name}: {name} skipped ({run.failure})")
            outcome.rows.append({"case": case.name, "variant": name, "status": "skipped", "reason": run.failure,
                                 "frames": case.frames, "s_per_frame": {}})
            columns[name] = [None] * len(picks)
            continue
        row = _add_row(outcome, case, score_row(case, name, run.frames, truth, run.s_per_frame, run.extra))
        say(f"case {case.name}: {name} done in {time.perf_counter() - t0:.1f} s "
            f"(landmark error {row['landmark_error']:.3g}, PSNR {row['PSNR']:.3g} dB)")
        columns[name] = list(run.frames[picks])
    columns[GROUND_TRUTH] = list(data.truth_frames[picks])
    outcome.strip = Strip(f"case {case.name}", list(columns),
                          [(f"frame {i}", [columns[c][j] for c in columns]) for j, i in enumerate(picks)])
    return outcome


def case_truth(data: CaseData) -> tuple[CaseTruth, list[str]]:
    """The :class:`CaseTruth` of a rendered case (dlib's reading of its ground truth included), and a
    note when dlib finds no face in the source portrait (then no ID)."""
    case = data.case
    notes = []
    try:
        descriptor = reference_descriptor(data.source_image, source=f"the source portrait of case {case.name}")
    except NoFaceError:
        descriptor = None
        notes.append(f"case {case.name}: dlib finds no face in the source portrait, so no ID")
    reading = read_truth(data.truth_frames)
    return CaseTruth(data.truth_frames, data.truth_landmarks, data.driving_landmarks, data.truth_visible,
                     descriptor, reading), notes


def run_variant(G, data: CaseData, name: str, overrides: dict, cache: Path, options: SuiteOptions) -> VariantRun:
    """Reenact the case's portrait with the variant ``name`` (``reenact`` ``overrides``), paste every crop
    back into the portrait and write ``<variant>.mp4`` into the case's folder. A run that fails is a
    :class:`VariantRun` with the reason: a finding, not the end of the benchmark."""
    case = data.case
    t0 = time.perf_counter()
    try:
        run = reenact(data.source_path, data.driving_path, network=G, embedding=options.embedding,
                      device=options.device, cache_dir=cache, max_frames=case.frames, progress=options.progress,
                      pose_regressor=options.pose_regressor, **overrides)
    except Exception as exc:  # a variant that cannot run is a finding, not the end of the benchmark
        reason = f"{type(exc).__name__} after {time.perf_counter() - t0:.0f} s: {exc}".splitlines()[0][:300]
        return VariantRun(failure=reason)
    pasted = np.stack([paste_back(run.source.image, crop, run.source.aligned, mask="crop") for crop in run.frames])
    write_video(data.folder / f"{file_slug(name)}.mp4", pasted, case.fps, crf=18)
    return VariantRun(pasted, {k: v / case.frames for k, v in run.timings.items()},
                      {"embed_psnr": run.source_psnr, "pti_psnr": run.pti_psnr})


@dataclass(frozen=True)
class ScoredRow:
    """A results row (see :class:`~video2stylegan.evaluation.suite_result.SuiteResult`) and its frames' scores."""

    row: dict
    scores: FrameScores


def score_row(case: SuiteCase, variant: str, frames: np.ndarray, truth: CaseTruth, s_per_frame: dict,
              extra: dict | None = None, reading: FaceReading | None = None) -> ScoredRow:
    """Score ``frames`` (:func:`score_frames`) and build the variant's row: the clip values, the faces
    dlib missed, seconds per frame per stage (``s_per_frame``, plus the scoring and the total) and ``extra``."""
    t0 = time.perf_counter()
    scores = score_frames(frames, truth, reading=reading)
    s_per_frame = dict(s_per_frame)
    s_per_frame["score"] = (time.perf_counter() - t0) / case.frames
    stage_times = [v for k, v in s_per_frame.items() if k != "score"]
    if stage_times:  # the ground-truth row has no stages
        s_per_frame["total"] = sum(stage_times)
    row = {"case": case.name, "variant": variant, "status": "ok", "reason": "", "frames": case.frames,
           **scores.summary(), "missing_faces": scores.missing_faces, "s_per_frame": s_per_frame, **(extra or {})}
    return ScoredRow(row, scores)


def _add_row(outcome: CaseOutcome, case: SuiteCase, scored: ScoredRow) -> dict:
    """Record a scored row, its per-frame scores and its notes in ``outcome``; the row."""
    variant = scored.row["variant"]
    outcome.rows.append(scored.row)
    outcome.per_frame[(case.name, variant)] = scored.scores.per_frame
    outcome.notes.extend(f"case {case.name}, {variant}: {n}" for n in scored.scores.notes)
    return scored.row


def _quiet(_message: str) -> None:
    """Where progress lines go without ``progress`` and ``echo``."""


def _choose_network(network, say: Callable[[str], None]) -> tuple[object, list[str]]:
    """The network to run (:func:`default_network` for ``None``) and the notes it calls for."""
    notes = []
    if network is None:
        network, note = default_network()
        if note:
            notes.append(note)
            say(f"note: {note}")
    elif isinstance(network, str) and network.startswith("random-"):
        notes.append(f"{network!r} is an untrained network: the numbers measure the harness only, not the method")
    return network, notes


def _check_cases(cases: Sequence[SuiteCase] | None) -> list[SuiteCase]:
    cases = list(default_suite() if cases is None else cases)
    if not cases:
        raise InvalidOptionError("the suite needs at least one case")
    if len({c.name for c in cases}) != len(cases):
        raise InvalidOptionError("suite case names must be unique")
    return cases


def _check_variants(variants: dict[str, dict] | Sequence[str] | None) -> dict[str, dict]:
    if variants is None:
        variants = dict(VARIANTS)
    elif not isinstance(variants, dict):
        unknown = [v for v in variants if v not in VARIANTS]
        if unknown:
            raise InvalidOptionError(f"unknown variant(s) {unknown}; known: {', '.join(VARIANTS)}")
        variants = {v: VARIANTS[v] for v in variants}
    if GROUND_TRUTH in variants:
        raise InvalidOptionError(f"{GROUND_TRUTH!r} is the name of the ground-truth row; rename the variant")
    return variants


def _make_out_dir(out_dir) -> Path:
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MediaError(f"cannot create the output folder {out_dir} ({exc}); choose a writable --out-dir") from None
    return out_dir


def _load_network(network, device: str):
    if isinstance(network, torch.nn.Module):
        return network.eval().requires_grad_(False), getattr(network, "name", None) or type(network).__name__
    return loading.load_generator(network, loading.resolve_device(device), progress=False), str(network)


def _pose_regressor_for(net_name: str, pose_regressor: str) -> str:
    """``"auto"`` means the renderer-trained regressor for a network of the synthetic world."""
    if pose_regressor == "auto" and Path(net_name).name.startswith("synthetic"):
        return "renderer"
    return pose_regressor


@contextmanager
def _embedding_cache(out_dir: Path, cache_dir) -> Iterator[Path]:
    """The cache folder of the run: ``cache_dir``, kept, or a fresh folder in ``out_dir`` removed at the end."""
    if cache_dir is not None:
        yield Path(cache_dir)
        return
    cache = Path(tempfile.mkdtemp(prefix="cache-", dir=out_dir))
    try:
        yield cache
    finally:
        shutil.rmtree(cache, ignore_errors=True)
