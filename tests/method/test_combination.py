"""Eq. 1-3 in S space: arithmetic on a linear fake generator, identities on random-r-128."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.method.combination import (
    CombinationSettings,
    combine_styles,
    combine_styles_from_config,
    normalize_channels,
)
from video2stylegan.method.config import ReenactConfig


class LinearG:
    """Stand-in with the latent API: 16 ws of 3 numbers; layer i's style is ``w_i * (i + 1)``."""

    num_ws, w_dim = 16, 3
    style_names = ["input"] + [f"L{i}" for i in range(15)]

    def styles(self, ws):
        return OrderedDict((name, ws[:, i] * (i + 1)) for i, name in enumerate(self.style_names))


G = LinearG()


def const(*values):
    """[N, 16, 3] codes filled with values[j] for frame j."""
    return torch.tensor(values, dtype=torch.float64).reshape(-1, 1, 1).expand(-1, 16, 3).clone()


REF, REF_POSE = const(1.0)[0], const(2.0)[0]
DRIVE, BASE = const(5.0, 7.0), const(3.0, 4.0)
# layer L3 is ws 4 (scale 5), L9 is ws 10 (scale 11), "input" is ws 0 (scale 1)
CHANNELS = {"L3": [0, 2], 10: [1], "input": [2]}


def test_equations_on_known_numbers():
    out = combine_styles(G, REF, REF_POSE, DRIVE, BASE, CHANNELS,
                         CombinationSettings(alpha=-1.5, beta=2.0, gamma=0.5, zeta=0.25))
    assert list(out) == G.style_names and all(v.shape == (2, 3) for v in out.values())
    s = out["L3"] / 5  # back to code units: ref 1, drive 5|7, base 3|4
    # Eq. 1-2 on channels 0, 2: -1.5 * 1 + 2 * w_j + 0.5 * base_j
    assert s[:, 0].tolist() == pytest.approx([-1.5 + 10 + 1.5, -1.5 + 14 + 2.0])
    assert s[:, 2].tolist() == s[:, 0].tolist()
    # Eq. 3 on channel 1: 0.25 * 1 + 0.75 * base_j
    assert s[:, 1].tolist() == pytest.approx([0.25 + 2.25, 0.25 + 3.0])
    # Unconstrained layers: ws 1, 2 (pose layers) from w_ref_pose, ws 8.. from w_ref.
    assert torch.equal(out["L0"], torch.full((2, 3), 2.0 * 2, dtype=torch.float64))
    assert torch.equal(out["L8"], torch.full((2, 3), 1.0 * 10, dtype=torch.float64))
    # Selected channel outside the constrained layers: s_base = the layer's own style (w_ref there).
    assert (out["L9"][:, 1] / 11).tolist() == pytest.approx([-1.5 + 10 + 0.5, -1.5 + 14 + 0.5])
    assert (out["L9"][:, 0] / 11).tolist() == [1.0, 1.0]
    # ... and w_ref_pose's on a pose layer.
    assert out["input"][:, 2].tolist() == pytest.approx([-1.5 + 10 + 1.0, -1.5 + 14 + 1.0])
    assert out["input"][:, 0].tolist() == [2.0, 2.0]


def test_defaults_put_the_driving_local_change_on_the_base():
    out = combine_styles(G, REF, REF_POSE, DRIVE, BASE, {"L5": [1]})
    s = out["L5"] / 7
    assert s[:, 1].tolist() == pytest.approx([3 + 5 - 1, 4 + 7 - 1])  # s_base + (s_j - s_ref)
    assert s[:, 0].tolist() == pytest.approx([2.0, 2.5])  # (s_ref + s_base) / 2


def test_relative_local_mode_anchors_on_the_first_driving_frame():
    out = combine_styles(G, REF, REF_POSE, DRIVE, BASE, {"L5": [1]}, CombinationSettings(local_mode="relative"))
    assert (out["L5"][:, 1] / 7).tolist() == pytest.approx([3 + 5 - 5, 4 + 7 - 5])
    anchored = combine_styles(G, REF, REF_POSE, DRIVE[1:], BASE[1:], {"L5": [1]},
                              CombinationSettings(local_mode="relative"), w_anchor=DRIVE[0])
    assert torch.equal(anchored["L5"], out["L5"][1:])


def test_batch_equals_frame_by_frame():
    g = torch.Generator().manual_seed(0)
    ref, drive = torch.randn(16, 3, generator=g), torch.randn(3, 16, 3, generator=g)
    ref_pose, base = torch.randn(3, 16, 3, generator=g), torch.randn(3, 16, 3, generator=g)
    whole = combine_styles(G, ref, ref_pose, drive, base, CHANNELS)
    for j in range(3):
        one = combine_styles(G, ref, ref_pose[j], drive[j : j + 1], base[j], CHANNELS)
        for name in whole:
            assert torch.equal(one[name][0], whole[name][j])


def test_bad_selections():
    with pytest.raises(InvalidOptionError, match="unknown layer 'L99'"):
        normalize_channels(G, {"L99": [0]}, {n: 3 for n in G.style_names})
    with pytest.raises(InvalidOptionError, match=r"L3 must lie in 0\.\.2"):
        combine_styles(G, REF, None, DRIVE, None, {"L3": [3]})
    with pytest.raises(InvalidOptionError, match="integer"):
        combine_styles(G, REF, None, DRIVE, None, {"L3": [0.5]})
    with pytest.raises(InvalidOptionError, match="1 or 2 codes"):
        combine_styles(G, REF, const(1.0, 1.0, 1.0), DRIVE, None)
    with pytest.raises(InvalidOptionError, match="local_mode"):
        combine_styles(G, REF, None, DRIVE, None, None, CombinationSettings(local_mode="delta"))
    with pytest.raises(InvalidOptionError, match="gamma must be finite"):
        CombinationSettings(gamma=float("nan"))
    with pytest.raises(InvalidOptionError, match=r"must lie in 0\.\.15, got \[16\]"):
        combine_styles(G, REF, None, DRIVE, None, None, CombinationSettings(constrained_layers=(3, 16)))


def test_identities_render_the_reference(G_r128, w_pair, reference_render):
    w_ref, w_drive = w_pair[:1], w_pair[1:]
    ref_styles = G_r128.styles(w_ref)
    names = G_r128.style_names
    channels = {names[4]: [0, 5, 17], names[6]: list(range(40))}
    with torch.no_grad():
        # The brief's identity: no local term (alpha = beta = gamma = 0), zeta = 1, no pose edit.
        plain = combine_styles(G_r128, w_ref, w_ref, w_drive, w_drive, None, CombinationSettings(0, 0, 0, 1))
        # With local channels selected, Eq. 1-2 keep s_ref only for alpha = 1 (beta = gamma = 0).
        local = combine_styles(G_r128, w_ref, w_ref, w_drive, w_drive, channels, CombinationSettings(1, 0, 0, 1))
        zeroed = combine_styles(G_r128, w_ref, w_ref, w_drive, w_drive, channels, CombinationSettings(0, 0, 0, 1))
        for out in (plain, local):
            for name in names:
                assert torch.equal(out[name], ref_styles[name])
        assert torch.count_nonzero(zeroed[names[6]][:, :40]) == 0
        image = G_r128.synthesis_from_styles(plain)
    assert torch.equal(image[0], reference_render)  # G.synthesis(w_ref)


def test_default_combination_renders_between_reference_and_driver(G_r128, w_pair):
    w_ref, w_drive = w_pair[:1], w_pair[1:]
    with torch.no_grad():
        out = combine_styles(G_r128, w_ref, None, w_drive, w_drive, None)  # Eq. 3 only, zeta = 0.5
        s_ref, s_drive = G_r128.styles(w_ref), G_r128.styles(w_drive)
    for i, name in enumerate(G_r128.style_names):
        expected = (s_ref[name] + s_drive[name]) / 2 if 3 <= i <= 7 else s_ref[name]
        assert torch.allclose(out[name], expected, atol=1e-6), name


def test_from_config_switches():
    channels = {"L5": [1]}
    full = combine_styles_from_config(G, ReenactConfig(), REF, REF_POSE, DRIVE, BASE, channels)
    assert (full["L5"][:, 1] / 7).tolist() == pytest.approx([3.0, 6.0])  # relative: s_base + s_j - s_0
    paper = combine_styles_from_config(G, ReenactConfig(local_mode="absolute"), REF, REF_POSE, DRIVE, BASE, channels)
    assert (paper["L5"][:, 1] / 7).tolist() == pytest.approx([7.0, 10.0])  # absolute: s_base + s_j - s_ref
    no_local = combine_styles_from_config(G, ReenactConfig(use_local=False), REF, REF_POSE, DRIVE, BASE, channels)
    assert (no_local["L5"][:, 1] / 7).tolist() == pytest.approx([2.0, 2.5])
    no_pose = combine_styles_from_config(G, ReenactConfig(use_pose=False, use_residual=False), REF, REF_POSE, DRIVE, BASE)
    assert torch.equal(no_pose["L0"], torch.full((2, 3), 2.0, dtype=torch.float64))  # w_ref's style
    assert (no_pose["L5"] / 7).unique().tolist() == [1.0]  # w_base = w_ref
    with pytest.raises(InvalidOptionError, match="baseline"):
        combine_styles_from_config(G, ReenactConfig(method="baseline"), REF, REF_POSE, DRIVE, BASE)


def test_zeta_anchor_posed_keeps_the_pose_edit_on_the_constrained_layers():
    out = combine_styles(G, REF, REF_POSE, DRIVE, BASE, {"L5": [1]},
                         CombinationSettings(zeta=0.25, zeta_anchor="posed"))
    s = out["L5"] / 7
    assert s[:, 0].tolist() == pytest.approx([0.25 * 2 + 0.75 * 3, 0.25 * 2 + 0.75 * 4])  # w_ref_pose, not w_ref
    assert s[:, 1].tolist() == pytest.approx([3 + 5 - 1, 4 + 7 - 1])  # Eq. 1-2 unchanged
    with pytest.raises(InvalidOptionError, match="zeta_anchor"):
        combine_styles(G, REF, None, DRIVE, None, None, CombinationSettings(zeta_anchor="pose"))
