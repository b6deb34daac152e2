"""Step 0 of the method: the source into W+ (+ PTI) and every driving frame into W+.

Both are cached on disk (module :mod:`video2stylegan.method.cache`): the
projections per frame, the PTI-tuned generator as a safetensors file, so that a
second run with other weights (alpha, beta, ...) costs only the synthesis.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from video2stylegan.checks import check_settings, setting
from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.cache import (
    BadEntry,
    ProjectionCache,
    pti_key,
    read_tensor_entry,
    reference_entry,
    touch,
    write_tensor_entry,
)
from video2stylegan.method.losses import tensor_psnr
from video2stylegan.method.projection import (
    ClipCache,
    FrameSource,
    FramesResult,
    FramesSettings,
    ProjectionSettings,
    project_frames,
    project_image,
)
from video2stylegan.method.pti import PTISettings, pivotal_tuning
from video2stylegan.networks.checkpoint import generator_metadata, generator_tensors

log = logging.getLogger(__name__)

__all__ = ["EmbeddingOptions", "EMBEDDING_PRESETS", "SourceEmbedding", "embed_source", "embed_clip"]


#: Most driving frames projected together: each holds its W+ code, synthesis activations and their
#: gradients. 64 leaves room on the small 128-px networks; at 1024 px a batch of 8 is already expected
#: not to fit an 80 GB GPU without --low-memory (benchmarks/RESULTS.md).
FRAME_BATCH_MAX = 64
#: The perceptual losses of the projections (:class:`~video2stylegan.method.projection.ProjectionSettings`).
PERCEPTUAL_LOSSES = ("auto", "fallback")


@dataclass(frozen=True)
class EmbeddingOptions:
    """Optimisation budgets of the embedding step (each goes into the cache keys).

    Each field is a :func:`~video2stylegan.checks.setting` whose help says what it sets; the object checks
    itself on construction, and ``reenact``'s options are generated from the fields.
    """

    source_steps: int = setting(300, "W+ projection steps of the source, from a cold start", range=(1, None))
    pti_steps: int = setting(350, "pivotal-tuning steps after the source's projection; 0: no PTI, render with "
                             "the original generator", range=(0, None))
    first_frame_steps: int = setting(300, "W+ projection steps of the first driving frame, from a cold start",
                                     range=(1, None))
    frame_steps: int = setting(50, "projection steps per later driving frame, warm-started from the one before",
                               range=(1, None))
    # larger is faster on a GPU; on the CPU batching gains little (default_frame_batch)
    frame_batch: int | None = setting(None, "driving frames projected together, warm-started from the frame "
                                      "before the batch", range=(1, FRAME_BATCH_MAX),
                                      default_text="on a GPU as many as fit in its free memory, at most 8; 1 on "
                                                   "the CPU")
    perceptual: str = setting("auto", "perceptual loss of the projections: LPIPS when its weights are on disk, "
                              "else the weight-free fallback (auto), or the fallback always", choices=PERCEPTUAL_LOSSES)
    pose_steps: int = setting(40, "most Eq. 7 steps per frame; a frame stops earlier once its pose is within half "
                              "a degree", range=(1, None))

    def __post_init__(self):
        # checked once; a frozen dataclass stores the canonical values (ints, not numpy integers) at construction
        for name, value in check_settings(self, "embedding options").items():
            object.__setattr__(self, name, value)

    @classmethod
    def preset(cls, name: str, **overrides) -> "EmbeddingOptions":
        """One of :data:`EMBEDDING_PRESETS` with ``overrides`` (``None`` values ignored)."""
        if name not in EMBEDDING_PRESETS:
            raise InvalidOptionError(f"unknown quality preset {name!r}; choose one of {', '.join(EMBEDDING_PRESETS)}")
        values = dict(EMBEDDING_PRESETS[name])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def replace(self, **changes) -> "EmbeddingOptions":
        return dataclasses.replace(self, **changes)

    def source_settings(self) -> ProjectionSettings:
        return ProjectionSettings(steps=self.source_steps, perceptual=self.perceptual)

    def first_frame_settings(self) -> ProjectionSettings:
        return ProjectionSettings(steps=self.first_frame_steps, perceptual=self.perceptual)

    def next_frame_settings(self) -> ProjectionSettings:
        return ProjectionSettings.warm(steps=self.frame_steps, perceptual=self.perceptual)


#: Named budgets: "best" and "default" follow the projection study in docs/method.md;
#: "fast" is for CPU previews (the demo), "draft" for smoke tests.
EMBEDDING_PRESETS: dict[str, dict] = {
    "best": dict(source_steps=600, pti_steps=500, first_frame_steps=500, frame_steps=100, pose_steps=60),
    "default": dict(source_steps=300, pti_steps=350, first_frame_steps=300, frame_steps=50, pose_steps=40),
    "fast": dict(source_steps=150, pti_steps=100, first_frame_steps=150, frame_steps=15, pose_steps=20),
    "draft": dict(source_steps=20, pti_steps=10, first_frame_steps=20, frame_steps=3, pose_steps=3),
}


@dataclass
class SourceEmbedding:
    """``w_ref`` ``[1, num_ws, w_dim]``; ``G_render``: the PTI-tuned copy (or the original
    generator without PTI); PSNRs of the projection and after PTI (dB); cache flags."""

    w_ref: torch.Tensor
    G_render: torch.nn.Module
    psnr: float
    psnr_pti: float
    cached_w: bool = False
    cached_pti: bool = False


def embed_source(
    G,
    target: torch.Tensor,
    source_hash: str,
    options: EmbeddingOptions,
    *,
    cache: ProjectionCache | None = None,
    network_id: str | None = None,
    loss_fn=None,
    progress: bool = True,
) -> SourceEmbedding:
    """Project the aligned reference ``target`` ``[1, 3, R, R]`` and tune G around it (PTI).

    With a ``cache`` (and ``network_id``), the projection is stored like a frame projection
    (:func:`~video2stylegan.method.cache.reference_entry`) and the PTI generator at
    :meth:`~video2stylegan.method.cache.ProjectionCache.pti_path` of
    :func:`~video2stylegan.method.cache.pti_key` (the projection's and the tuning's settings). Entries
    are checked on read (see :mod:`video2stylegan.method.cache`; the PTI weights must also fit ``G``):
    a bad one is deleted with a warning and recomputed.
    """
    device = G.w_avg.device
    settings = options.source_settings()
    key_source = reference_entry(source_hash)
    w_ref, cached_w, p = None, False, None
    if cache is not None:
        cache.expect_ws(network_id, G.num_ws, G.w_dim)
        hit = cache.lookup(network_id, key_source, 0, settings.to_dict())
        if hit is not None:
            w_ref, cached_w, p = torch.as_tensor(hit.ws, device=device).reshape(1, G.num_ws, G.w_dim), True, hit.psnr
    if w_ref is None:
        result = project_image(G, target, settings, progress=progress, loss_fn=loss_fn, desc="projecting source")
        w_ref, p = result.ws[:1], float(result.psnr[0])
        if cache is not None:
            cache.put(network_id, key_source, 0, settings.to_dict(), w_ref[0], psnr=p)
    if p is None:  # an entry stored without its PSNR
        with torch.no_grad():
            p = float(tensor_psnr(G.synthesis(w_ref), target.to(device))[0])
    if options.pti_steps == 0:
        return SourceEmbedding(w_ref, G, p, p, cached_w, False)

    pti, pti_path = PTISettings(steps=options.pti_steps), None
    if cache is not None:
        pti_path = cache.pti_path(pti_key(network_id, source_hash, settings, pti, options.perceptual))
        G_pti = load_pti_entry(cache, pti_path, G)
        if G_pti is not None:
            with torch.no_grad():
                q = float(tensor_psnr(G_pti.synthesis(w_ref), target.to(device))[0])
            return SourceEmbedding(w_ref, G_pti, p, q, cached_w, True)
    result = pivotal_tuning(G, w_ref, target, pti, loss_fn=loss_fn, progress=progress)
    if pti_path is not None:
        save_pti_entry(cache, pti_path, result.G)
    return SourceEmbedding(w_ref, result.G, p, result.psnr_after, cached_w, False)


def load_pti_entry(cache: ProjectionCache, path: Path, G):
    """The PTI-tuned copy of ``G`` stored at ``path``, or ``None`` (absent, or bad: then deleted).

    Besides the entry's own checks (readable, record, checksum, finite
    weights), every tensor must have the name, shape and dtype of ``G``'s.
    """
    if not path.is_file():
        return None
    expect = {name: (tuple(t.shape), t.dtype if not t.is_floating_point() else torch.float32)
              for name, t in G.state_dict().items()}
    try:
        tensors, _ = read_tensor_entry(path, expect=expect)
    except BadEntry as exc:
        cache.discard(path, "PTI", str(exc), then="tuning again")
        return None
    touch(path)
    G_pti = copy.deepcopy(G).eval().requires_grad_(False)
    G_pti.load_state_dict(tensors)
    return G_pti


def save_pti_entry(cache: ProjectionCache, path: Path, G_pti) -> Path | None:
    """Store a PTI-tuned generator at ``path`` with its record; ``None`` when the write failed (warned
    once per cache). The file is also a network file: its config metadata is ``save_generator``'s."""
    try:
        return write_tensor_entry(path, generator_tensors(G_pti), generator_metadata(G_pti), what="PTI cache entry")
    except OSError as exc:
        cache.write_failed(path.parent, exc)
        return None


#: The most driving frames projected together on a GPU by default.
GPU_FRAME_BATCH = 8
#: A frame's projection step keeps more than the synthesis' own backward: the perceptual loss's
#: activations and Adam's state. Its measured synthesis cost is multiplied by this margin.
LOSS_MARGIN = 1.5


def frames_that_fit(free_bytes: int, per_frame_bytes: int, most: int = GPU_FRAME_BATCH, share: float = 0.6) -> int:
    """How many frames one step can optimise together: ``share`` of the free memory over one frame's cost,
    at least 1 and at most ``most``."""
    if per_frame_bytes <= 0:
        return most
    return int(max(1, min(most, (share * free_bytes) // per_frame_bytes)))


def backward_bytes_per_frame(G) -> int:
    """CUDA memory one image's forward+backward through ``G.synthesis`` adds at its peak (measured, in the
    current ``recompute_activations`` mode)."""
    device = G.w_avg.device
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    ws = G.w_avg.detach().reshape(1, 1, -1).repeat(1, G.num_ws, 1).requires_grad_(True)
    torch.autograd.grad(G.synthesis(ws).square().mean(), ws)  # no gradient left on any weight
    torch.cuda.synchronize(device)
    return int(torch.cuda.max_memory_allocated(device) - before)


def default_frame_batch(G) -> int:
    """Frames projected together when the user sets none: 1 on the CPU; on a GPU as many as fit (at most
    :data:`GPU_FRAME_BATCH`). At 1024 px eight frames of the R network keep about 117 GB for backward
    (46 GB with ``--low-memory``), more than an 80 GB card holds, so the batch is sized from a measurement."""
    if G.w_avg.device.type != "cuda":
        return 1
    per_frame = int(backward_bytes_per_frame(G) * LOSS_MARGIN)
    free, _ = torch.cuda.mem_get_info(G.w_avg.device)
    batch = frames_that_fit(free, per_frame)
    log.info("projecting %d frames at a time (%.1f GB free, about %.1f GB per frame)", batch, free / 1e9,
             per_frame / 1e9)
    return batch


def embed_clip(
    G,
    frames: torch.Tensor | FrameSource,
    clip_key: str,
    options: EmbeddingOptions,
    *,
    cache: ProjectionCache | None = None,
    network_id: str | None = None,
    loss_fn=None,
    progress: bool = True,
) -> FramesResult:
    """Project a clip's aligned frames into W+, each warm-started from the one before.

    ``frames``: the clip itself (a :class:`~video2stylegan.method.projection.FrameSource` such as a
    :class:`~video2stylegan.pipeline.inputs.DrivingClip`, read one chunk of ``frame_batch`` frames at a
    time, so memory does not grow with the clip's length) or a ``[T, 3, R, R]`` tensor in [-1, 1]; both
    give the same result and the same cache entries. ``clip_key`` identifies the frames in the cache
    (file hash plus alignment settings).
    """
    if cache is not None:
        cache.expect_ws(network_id, G.num_ws, G.w_dim)
    settings = FramesSettings(options.first_frame_settings(), options.next_frame_settings(), warm_start=True,
                              batch=options.frame_batch or default_frame_batch(G))
    clip_cache = None if cache is None else ClipCache(cache, network_id, clip_key)
    return project_frames(G, frames, settings, cache=clip_cache, loss_fn=loss_fn, progress=progress)
