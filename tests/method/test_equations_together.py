"""The three modules together on random-r-128: what frame 0 of a clip renders."""

from __future__ import annotations

import numpy as np
import torch

from video2stylegan.method.canonical import transforms_for_config
from video2stylegan.method.combination import combine_styles_from_config
from video2stylegan.method.config import ReenactConfig
from video2stylegan.method.residual import residual_codes


def test_frame_zero_is_the_reference_in_relative_modes(G_r128, w_pair, reference_render):
    """Relative canonical motion, accumulated residual and relative local mode leave frame 0
    as the reference; frame 1 differs. In absolute local mode frame 0 already carries the
    driver's local styles (the paper's behaviour)."""
    names = G_r128.style_names
    w_ref = w_pair[:1]
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        w_drive = G_r128.mapping(torch.randn(2, G_r128.z_dim, generator=g))
    channels = {names[4]: list(range(0, 128, 3)), names[6]: [1, 2, 3]}
    params = np.array([[0.1, 0.05, 0.2], [0.14, 0.02, 0.25]])
    styles, transforms = [], []
    for local_mode in ("relative", "absolute"):
        cfg = ReenactConfig(local_mode=local_mode, smoothing_kernel=1)
        w_base = residual_codes(w_ref, w_drive, form=cfg.residual_form, layers=cfg.constrained_layers)
        transforms.append(transforms_for_config(cfg, 2, params))
        with torch.no_grad():
            styles.append(combine_styles_from_config(G_r128, cfg, w_ref, w_ref, w_drive, w_base, channels))
    batch = {name: torch.cat([s[name] for s in styles]) for name in names}  # one render of 4 frames
    with torch.no_grad():
        rel, ab = G_r128.synthesis_from_styles(batch, transform=torch.cat(transforms)).split(2)
    reference = reference_render
    assert torch.allclose(rel[0], reference, atol=1e-5)
    assert (rel[1] - reference).abs().mean() > 1e-3
    assert (ab[0] - reference).abs().mean() > 1e-3
