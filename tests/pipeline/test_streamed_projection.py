"""embed_clip reads a driving clip's spooled crops one chunk at a time (issue #17): the same ws, PSNRs and
cache entries as the whole clip given as one tensor, with at most ``frame_batch`` frames read at once."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from video2stylegan.faces import AlignedFace
from video2stylegan.io.video import FrameSpool
from video2stylegan.method.cache import ProjectionCache, network_identity
from video2stylegan.networks.transforms import to_uint8_images
from video2stylegan.pipeline.embedding import EmbeddingOptions, embed_clip
from video2stylegan.pipeline.inputs import AlignedCrops, DrivingClip

OPTIONS = EmbeddingOptions(first_frame_steps=3, frame_steps=2, frame_batch=2, perceptual="fallback")
KEY = "clip-sha:aligned64:smooth3"


@pytest.fixture
def clip(tiny_G):
    """Six frames of a moving face the tiny network drew, crops spooled on disk as load_clip leaves them
    (frame 3 shows frame 2's crop, like a partial face's frame)."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        w = tiny_G.mapping(torch.randn(2, tiny_G.z_dim, generator=g), None)
        images = to_uint8_images(tiny_G.synthesis(torch.stack([w[0] + 0.1 * j * (w[1] - w[0]) for j in range(5)])))
    geometry = dict(matrix=np.eye(2, 3), quad=np.zeros((4, 2)), landmarks=np.zeros((68, 2)), source_shape=(64, 64))
    crops = AlignedCrops.build(AlignedFace(image=im, **geometry) for im in images)[[0, 1, 2, 2, 3, 4]]
    previews = FrameSpool()
    for j in range(len(crops)):
        previews.append(crops[j].image)
    return DrivingClip(frames=previews, fps=25.0, tracks=None, aligned=crops, canonical=np.zeros((6, 3)),
                       name="clip.mp4", sha256="clip-sha", partial=[3])


def _record_reads(clip):
    reads = []
    read_targets = clip.targets

    def targets(indices=None):
        reads.append(list(indices))
        return read_targets(indices)

    clip.targets = targets
    return reads


def _entries(cache):
    return sorted(p.relative_to(cache.root) for p in cache.root.rglob("*") if p.is_file())


def test_streamed_clip_matches_the_tensor_bitwise_with_the_same_cache_entries(tiny_G, clip, tmp_path):
    net_id = network_identity(tiny_G)
    old_cache, new_cache = ProjectionCache(tmp_path / "old"), ProjectionCache(tmp_path / "new")
    whole = embed_clip(tiny_G, clip.targets(), KEY, OPTIONS, cache=old_cache, network_id=net_id, progress=False)
    reads = _record_reads(clip)
    streamed = embed_clip(tiny_G, clip, KEY, OPTIONS, cache=new_cache, network_id=net_id, progress=False)
    assert torch.equal(streamed.ws, whole.ws) and torch.equal(streamed.psnr, whole.psnr)
    assert streamed.steps == whole.steps == [3, 2, 2, 2, 2, 2]
    # frame 0 alone (cold), then chunks of frame_batch: never more than two crops in memory as float32
    assert reads == [[0], [1, 2], [3, 4], [5]]
    # the same per-frame entries under the same keys as the tensor path wrote
    assert _entries(new_cache) == _entries(old_cache) and len(_entries(new_cache)) >= 6
    # a second run on the same clip: every frame from the cache, no crop read at all
    again = embed_clip(tiny_G, clip, KEY, OPTIONS, cache=new_cache, network_id=net_id, progress=False)
    assert all(again.cached) and again.total_steps == 0 and new_cache.hits == 6
    assert reads == [[0], [1, 2], [3, 4], [5]]
    assert torch.equal(again.ws, whole.ws) and torch.equal(again.psnr, whole.psnr)
    # and the tensor path hits the entries the streamed path wrote
    hits = new_cache.hits
    embed_clip(tiny_G, clip.targets(range(6)), KEY, OPTIONS, cache=new_cache, network_id=net_id, progress=False)
    assert new_cache.hits == hits + 6
