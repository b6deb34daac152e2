"""Steps 5-7 of ``reenact`` as values: the driving codes, the pose edit (Eq. 7) and the :class:`MethodPlan`
the render stage draws each batch of frames from.

Each function takes its inputs and returns a new value; none changes what it is given:

* :func:`driving_codes`: the projected driving codes, the partial stretches of the clip (the face
  leaving the picture) interpolated between the fully visible frames around them;
* :func:`reanchored_codes`: each shot's codes moved to start where the previous shot ended (``cuts``);
* :func:`reference_angles` and :func:`pose_targets`: Eq. 7's ``[T, 3]`` targets in degrees;
* :func:`pose_edit`: Eq. 7 per frame on the original generator, through the cache (:class:`PoseEdit`);
* :func:`method_plan` (Eq. 10 residuals, Eq. 1-3's inputs) and :func:`baseline_plan`;
  :meth:`MethodPlan.placed` adds the canonical transforms (Eq. 4-6) once the placement feedback is known.

The network-dependent resolution of the configuration (layer indices checked against the network, the
default pose layers) is a :class:`~video2stylegan.method.combination.CombinationSettings`, built once
per run and held by the plan: the render batches use it as it is.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import torch

from video2stylegan.faces.temporal import temporal_mean
from video2stylegan.method.cache import POSE_ANGLES, ProjectionCache, pose_encoding_entry
from video2stylegan.method.canonical import match_length, reanchor_shots, transforms_for_config
from video2stylegan.method.combination import CombinationSettings, combine_styles
from video2stylegan.method.config import ReenactConfig
from video2stylegan.method.pose_encoding import PoseEncodingSettings, encode_pose
from video2stylegan.method.residual import baseline_codes, residual_codes
from video2stylegan.pipeline.inputs import DrivingClip, Faces
from video2stylegan.pipeline.network import Network

__all__ = ["MethodPlan", "PoseEdit", "baseline_plan", "driving_codes", "looped_cuts", "method_plan", "pose_edit",
           "pose_settings", "pose_targets", "reanchored_codes", "reference_angles"]

#: Frames the pose regressor reads at a time for the targets.
POSE_READ_BATCH = 16
#: Eq. 7 ends a frame once every angle is within this many degrees of its target: the regressor's own
#: error is larger.
POSE_STOP_DEG = 0.5


# --------------------------------------------------------------------------- driving codes


def driving_codes(clip: DrivingClip, projections: torch.Tensor) -> torch.Tensor:
    """The driving codes ``[T, num_ws, w_dim]`` from the frames' projections: a partial frame's crop is a
    fully visible neighbour's (an image cannot be interpolated), so its projection is held from one side
    and jumps in the middle of the stretch; its code goes in a straight line between the fully visible
    frames around the stretch instead, as its placement does. A clip without partial frames keeps its
    projections unchanged."""
    if not clip.partial:
        return projections
    flat = projections.detach().to("cpu", torch.float64).reshape(len(clip), -1).numpy()
    line = clip.tracks.interpolate_partial(flat).reshape(tuple(projections.shape))
    return torch.as_tensor(line, dtype=projections.dtype, device=projections.device)


def reanchored_codes(w_drive: torch.Tensor, clip: DrivingClip, config: ReenactConfig) -> torch.Tensor:
    """The driving codes with each shot moved to start where the previous one ended, so the relative edits
    (Eq. 1's first-frame anchor, Eq. 10's ``w_j - w_0``, the baseline) read a cut as no motion
    (``config.cuts``)."""
    if config.cuts == "ignore" or not clip.cuts or w_drive.shape[0] != len(clip):
        return w_drive
    return reanchor_shots(w_drive, clip.cuts)


def looped_cuts(cuts, length: int, num_frames: int, policy: str) -> list[int]:
    """A clip's cuts where :func:`~video2stylegan.method.canonical.match_length` repeats it to ``num_frames``
    frames."""
    if policy != "loop":
        return [c for c in cuts if c < num_frames]
    return sorted(c + k for k in range(0, num_frames, length) for c in cuts if c + k < num_frames)


# --------------------------------------------------------------------------- the pose edit (Eq. 7)


@dataclass(frozen=True, eq=False)  # holds tensors: compared by identity
class PoseEdit:
    """Eq. 7's result: the pose-edited reference codes ``ws`` ``[T, num_ws, w_dim]`` and the regressor's
    reading of each frame ``before`` and ``after`` the edit and the ``target``, ``[T, 3]`` degrees."""

    ws: torch.Tensor
    before: torch.Tensor
    after: torch.Tensor
    target: torch.Tensor

    @property
    def error_before(self) -> float:
        """Mean absolute degrees between the reference's reading and the targets."""
        return float((self.before - self.target).abs().mean())

    @property
    def error_after(self) -> float:
        """Mean absolute degrees between the edited frames' reading and the targets."""
        return float((self.after - self.target).abs().mean())


def pose_settings(combination: CombinationSettings, steps: int) -> PoseEncodingSettings:
    """Eq. 7's settings in a run: the combination's pose layers, at most ``steps`` per frame, a frame ending
    once within :data:`POSE_STOP_DEG`."""
    return PoseEncodingSettings(layers=combination.pose_layers, steps=steps, stop_error_deg=POSE_STOP_DEG)


def reference_angles(regressor, G, w_ref: torch.Tensor) -> np.ndarray:
    """The regressor's ``(yaw, pitch, roll)`` degrees of ``G``'s render of ``w_ref``."""
    with torch.no_grad():
        return regressor(G.synthesis(w_ref)).double().cpu().numpy()[0]


def pose_targets(regressor, clip: DrivingClip, num_frames: int, config: ReenactConfig, reference) -> torch.Tensor:
    """``[T, 3]`` Eq. 7 targets in degrees from the pose-source ``clip`` (``reference``: the reference's own
    angles, the start of relative targets).

    The regressor reads every crop; partial frames (their crop a visible neighbour's) are then
    interpolated between the fully visible frames around their stretch, like the codes
    (:func:`driving_codes`); the angles are smoothed like the transform, brought to ``num_frames``
    (``config.codriving_length``) and, for relative targets, re-anchored at the cuts.
    """
    with torch.no_grad():
        angles = torch.cat([regressor(clip.targets(range(a, min(a + POSE_READ_BATCH, len(clip)))))
                            for a in range(0, len(clip), POSE_READ_BATCH)]).double().cpu().numpy()
    if clip.partial:
        angles = clip.tracks.interpolate_partial(angles)
    cuts = [] if config.cuts == "ignore" else clip.cuts  # "split" re-anchors like "reanchor"
    if config.smoothing_kernel > 1:
        angles = temporal_mean(angles, config.smoothing_kernel, cuts=cuts)
    cuts = looped_cuts(cuts, len(clip), num_frames, config.codriving_length)
    angles = match_length(angles, num_frames, config.codriving_length)
    if config.pose_mode == "relative":
        angles = reanchor_shots(angles, cuts)  # each shot's turn from its own first frame, no jump at a cut
        angles = np.asarray(reference, np.float64).reshape(1, 3) + (angles - angles[:1])
    return torch.as_tensor(angles, dtype=torch.float32)


def pose_edit(network: Network, w_ref: torch.Tensor, targets: torch.Tensor, regressor,
              settings: PoseEncodingSettings, cache: ProjectionCache | None = None, progress: bool = True) -> PoseEdit:
    """Eq. 7 for every target on the original generator (:func:`~video2stylegan.method.pose_encoding.encode_pose`),
    read from ``cache`` when computed before with the same reference, targets, regressor and settings,
    else computed and stored there (codes and angles as named arrays)."""
    source, key = pose_encoding_entry(w_ref, targets, regressor, settings)
    T = len(targets)
    hit = None if cache is None else cache.lookup(network.id, source, 0, key, extra=POSE_ANGLES, rows=T)
    if hit is not None:
        angles = [torch.as_tensor(hit.extra[name]) for name in POSE_ANGLES]
        return PoseEdit(torch.as_tensor(hit.ws, device=w_ref.device), *angles)
    enc = encode_pose(network.G, w_ref, targets, regressor, settings, progress=progress)
    edit = PoseEdit(enc.ws.to(w_ref.device), enc.angles_before.cpu(), enc.angles_after.cpu(), enc.target.cpu())
    if cache is not None:
        cache.put(network.id, source, 0, key, edit.ws.cpu(),
                  extra=dict(zip(POSE_ANGLES, (edit.before, edit.after, edit.target))))
    return edit


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True, eq=False)  # holds tensors: compared by identity
class MethodPlan:
    """Everything the render stage needs, fixed before the first frame is drawn.

    ``G``: the generator that renders (the PTI-tuned copy); ``w_ref`` ``[1, num_ws, w_dim]``; ``w_drive``
    ``[T, num_ws, w_dim]``, re-anchored at the cuts. The full method: ``combination`` (Eq. 1-3's weights
    and layers, checked against the network), ``w_ref_pose`` (Eq. 7, ``None`` without the pose edit),
    ``w_base`` (Eq. 10, ``None`` without the residual), ``channels`` (the local channels, ``None`` without
    the local edit) and ``transforms`` ``[T, 3, 3]`` (Eq. 6, ``None`` without the canonical transform).
    The baseline: ``codes`` ``[T, num_ws, w_dim]``, rendered as they are (``combination`` ``None``).
    And the figures of the run: the ``pose`` edit, the ``placement_drift`` (mean eye-centre drift in
    fractions of the width, mean turn in degrees) and the number of ``local_channels``.
    """

    G: torch.nn.Module
    w_ref: torch.Tensor
    w_drive: torch.Tensor
    combination: CombinationSettings | None = None
    codes: torch.Tensor | None = None
    w_ref_pose: torch.Tensor | None = None
    w_base: torch.Tensor | None = None
    channels: Mapping | None = None
    transforms: torch.Tensor | None = None
    pose: PoseEdit | None = None
    placement_drift: tuple[float, float] | None = None
    local_channels: int = 0

    def __len__(self) -> int:
        return int(self.w_drive.shape[0])

    def styles(self, a: int, b: int):
        """Eq. 1-3's styles of frames ``a..b-1`` (the full method)."""
        def per_frame(w):
            return None if w is None else (w[a:b] if w.shape[0] == len(self) else w)

        return combine_styles(self.G, self.w_ref, per_frame(self.w_ref_pose), self.w_drive[a:b],
                              per_frame(self.w_base), self.channels, self.combination, w_anchor=self.w_drive[:1])

    def render(self, a: int, b: int, *, transform: bool = True) -> torch.Tensor:
        """Frames ``a..b-1`` as ``[N, 3, R, R]`` images (``transform=False``: without the canonical transform)."""
        if self.combination is None:
            return self.G.synthesis(self.codes[a:b])
        moved = None if self.transforms is None or not transform else self.transforms[a:b].to(self.w_ref.device)
        return self.G.synthesis_from_styles(self.styles(a, b), transform=moved)

    def placed(self, faces: Faces, config: ReenactConfig, drift: np.ndarray | None = None) -> "MethodPlan":
        """This plan with the canonical transforms ``config`` asks for (``drift``: the placement feedback,
        ``(T, 3)``, or ``None``) and the drift's figures."""
        T, co = len(self), faces.co_driving
        cuts = faces.driving.cuts
        if co is not None and config.canonical_source == "co-driving":
            cuts = looped_cuts(co.cuts, len(co), T, config.codriving_length)
        transforms = transforms_for_config(
            config, T, driving_params=faces.driving.canonical, codriving_params=None if co is None else co.canonical,
            reference=faces.source.canonical, drift=drift, cuts=cuts)
        figures = None if drift is None else (float(np.linalg.norm(drift[:, :2], axis=1).mean()),
                                              float(np.degrees(np.abs(drift[:, 2])).mean()))
        return dataclasses.replace(self, transforms=transforms, placement_drift=figures)


def baseline_plan(G_render, w_ref: torch.Tensor, w_drive: torch.Tensor, config: ReenactConfig) -> MethodPlan:
    """The paper's baseline: ``w_ref + (w_j - w_0)`` on all layers (``config.residual_form``), rendered with
    ``G_render``."""
    codes = baseline_codes(w_ref[0], w_drive, form=config.residual_form)
    return MethodPlan(G_render, w_ref, w_drive, codes=codes)


def method_plan(G_render, w_ref: torch.Tensor, w_drive: torch.Tensor, config: ReenactConfig,
                combination: CombinationSettings, channels: Mapping | None = None,
                pose: PoseEdit | None = None) -> MethodPlan:
    """The full method's plan before the canonical transform: Eq. 10's residual codes from the pose-edited
    reference (or ``w_ref``) when ``config.use_residual``, and Eq. 1-3's inputs."""
    base_ref = w_ref if pose is None else pose.ws
    w_base = residual_codes(base_ref, w_drive, form=config.residual_form, layers=config.constrained_layers) \
        if config.use_residual else None
    count = int(sum(len(v) for v in channels.values())) if channels else 0
    return MethodPlan(G_render, w_ref, w_drive, combination=combination, w_ref_pose=None if pose is None else pose.ws,
                      w_base=w_base, channels=channels, pose=pose, local_channels=count)
