"""S space: styles(ws) and synthesis_from_styles round trip; feature maps; validation."""

import pytest
import torch

from video2stylegan.networks.stylegan3 import INPUT_LAYER


def test_styles_round_trip_is_exact(G_r):
    torch.manual_seed(6)
    ws = G_r.mapping(torch.randn(2, G_r.z_dim), truncation_psi=0.7)
    styles = G_r.styles(ws)
    assert list(styles) == G_r.style_names and list(styles)[0] == INPUT_LAYER
    assert styles[INPUT_LAYER].shape == (2, 4)
    first = G_r.synthesis.layer_names[0]
    assert styles[first].shape == (2, getattr(G_r.synthesis, first).in_channels)
    assert torch.equal(G_r.synthesis_from_styles(styles), G_r.synthesis(ws))


def test_editing_one_channel_changes_the_image_and_only_through_that_layer(G_t):
    torch.manual_seed(7)
    ws = G_t.mapping(torch.randn(1, G_t.z_dim))
    styles = G_t.styles(ws)
    base = G_t.synthesis_from_styles(styles)
    name = G_t.synthesis.layer_names[5]
    edited = dict(styles)
    edited[name] = styles[name].clone()
    edited[name][0, 3] += 5.0
    img, feats = G_t.synthesis_from_styles(edited, return_features=True)
    _, feats_base = G_t.synthesis_from_styles(styles, return_features=True)
    assert float((img - base).abs().mean()) > 1e-3
    earlier = G_t.synthesis.layer_names[4]
    assert torch.equal(feats[earlier], feats_base[earlier])  # layers before the edit are untouched
    assert not torch.equal(feats[name], feats_base[name])


def test_return_features_lists_every_layer_with_its_size(G_r):
    ws = G_r.mapping(torch.randn(1, G_r.z_dim))
    img, feats = G_r.synthesis(ws, return_features=True)
    assert list(feats) == G_r.style_names
    for name in G_r.synthesis.layer_names:
        layer = getattr(G_r.synthesis, name)
        assert feats[name].shape == (1, layer.out_channels, int(layer.out_size[1]), int(layer.out_size[0]))
    torch.testing.assert_close(feats[G_r.synthesis.layer_names[-1]] * G_r.synthesis.output_scale, img)


def test_bad_shapes_raise_clear_errors(G_r):
    with pytest.raises(ValueError, match="ws must have shape"):
        G_r.synthesis(torch.zeros(1, 3, G_r.w_dim))
    with pytest.raises(ValueError, match="z must have shape"):
        G_r.mapping(torch.zeros(1, 7))
    with pytest.raises(ValueError, match="transform must be"):
        G_r.synthesis(torch.zeros(2, G_r.num_ws, G_r.w_dim), transform=torch.eye(3).expand(3, 3, 3))
    styles = G_r.styles(torch.zeros(1, G_r.num_ws, G_r.w_dim))
    del styles[G_r.synthesis.layer_names[2]]
    with pytest.raises(ValueError, match="lack the layers"):
        G_r.synthesis_from_styles(styles)
