"""The pose stage inside ``reenact``: targets from the clip, Eq. 7 on the original generator."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from video2stylegan import reenact


class _LinearReader(torch.nn.Module):
    """A fixed random linear read-out of the 8x8-pooled image, in "degrees": differentiable and
    sensitive to the image, which is all the stage needs."""

    def __init__(self):
        super().__init__()
        g = torch.Generator().manual_seed(3)
        self.register_buffer("a", torch.randn(3, 3 * 8 * 8, generator=g) * 2.0)

    def forward(self, images):
        x = torch.nn.functional.adaptive_avg_pool2d(images.float(), 8).flatten(1)
        return x @ self.a.T


def test_pose_stage_lowers_the_pose_error_and_changes_the_frames(tiny_G, demo_files, tiny_budget, tmp_path):
    # More frames than ws: the cached angles must not be limited to num_ws rows (they once were).
    frames = tiny_G.num_ws + 2
    kwargs = dict(network=tiny_G, embedding=tiny_budget, max_frames=frames, cache_dir=tmp_path, progress=False,
                  use_local=False, use_canonical=False, pose_mode="absolute", pose_regressor=_LinearReader())
    posed = reenact(demo_files.source, demo_files.driving, **kwargs)
    plain = reenact(demo_files.source, demo_files.driving, use_pose=False, **kwargs)
    assert "pose" in posed.timings and "pose" not in plain.timings and len(posed.frames) == frames
    assert posed.pose_error_after < 0.5 * posed.pose_error_before
    assert np.abs(posed.frames.astype(int) - plain.frames).mean() > 0.5
    # Eq. 7's result is cached with the embeddings: a rerun with other weights optimises nothing
    again = reenact(demo_files.source, demo_files.driving, zeta=0.9, **kwargs)
    assert again.cache["misses"] == 0
    assert (again.pose_error_before, again.pose_error_after) == pytest.approx(
        (posed.pose_error_before, posed.pose_error_after), abs=1e-5)
    # a setting of Eq. 7 changed (its steps): that entry alone misses, the embeddings are served again
    longer = reenact(demo_files.source, demo_files.driving,
                     **{**kwargs, "embedding": tiny_budget.replace(pose_steps=tiny_budget.pose_steps + 1)})
    assert longer.cache["misses"] == 1 and longer.cache["hits"] == frames + 1


def test_relative_pose_keeps_the_first_frame_at_the_reference_pose(tiny_G, demo_files, tiny_budget, tmp_path):
    r = reenact(demo_files.source, demo_files.driving, network=tiny_G, embedding=tiny_budget, max_frames=3,
                cache_dir=tmp_path, progress=False, use_local=False, use_canonical=False, use_residual=False,
                alpha=0.0, beta=0.0, gamma=0.0, zeta=1.0, pose_regressor=_LinearReader())
    # relative targets: frame 0's target is the reference's own reading, so Eq. 7 has nothing to do there
    plain = reenact(demo_files.source, demo_files.driving, network=tiny_G, embedding=tiny_budget, max_frames=3,
                    cache_dir=tmp_path, progress=False, use_local=False, use_canonical=False, use_residual=False,
                    use_pose=False, alpha=0.0, beta=0.0, gamma=0.0, zeta=1.0)
    assert np.abs(r.frames[0].astype(int) - plain.frames[0]).max() <= 2
