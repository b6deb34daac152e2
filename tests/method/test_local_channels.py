"""Local facial feature calibration (Eq. 8-9): arithmetic, geometry, selection, JSON, planted channels."""

from __future__ import annotations

import json
import math
from collections import OrderedDict
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from video2stylegan import faces
from video2stylegan.errors import InvalidOptionError, NoFaceError, Video2StyleGANError
from video2stylegan.method import local_channels as lcm
from video2stylegan.method.combination import CombinationSettings, combine_styles, normalize_channels
from video2stylegan.method.local_channels import (
    FigureLayout,
    LocalChannelSettings,
    LocalChannels,
    calibrate_cached,
    calibrate_local_channels,
    feature_map_geometry,
    normalized_feature_maps,
    normalized_feature_masks,
    part_iou,
    save_feature_maps,
    select_channels,
    style_feature_maps,
)
from video2stylegan.networks.transforms import make_transform

R = 128


@pytest.fixture(scope="module")
def heads():
    """Landmarks [3, 68, 2] of three synthetic heads rendered at 128 px."""
    from video2stylegan.synthetic import render, sample_params

    return np.stack([render(sample_params(seed), R).landmarks for seed in (1, 2, 3)])


@pytest.fixture(scope="module")
def codes(G_r128):
    """Three mapped codes [3, num_ws, w_dim] of random-r-128."""
    g = torch.Generator().manual_seed(11)
    with torch.no_grad():
        return G_r128.mapping(torch.randn(3, G_r128.z_dim, generator=g), truncation_psi=0.7)


def _box(h, w, top, left, bottom, right):
    m = torch.zeros(h, w, dtype=torch.bool)
    m[top:bottom, left:right] = True
    return m


# ----------------------------------------------------------------- arithmetic


def test_min_max_normalisation_and_margin_crop():
    x = torch.tensor([[0.0, 1.0], [2.0, 3.0]]).reshape(1, 1, 2, 2)
    out = normalized_feature_maps(x, 2)
    assert torch.allclose(out[0, 0], torch.tensor([[0.0, 1 / 3], [2 / 3, 1.0]]))
    # A margin of 1 around the same 2x2 values: the huge border values must not count.
    padded = torch.full((1, 1, 4, 4), 100.0)
    padded[..., 0, 0] = -100.0
    padded[..., 1:3, 1:3] = x[0, 0] * 5 + 7
    assert torch.allclose(normalized_feature_maps(padded, 2, margin=1), out)
    # A constant map (min == max) normalises to zero and gives an empty mask.
    const = torch.full((2, 3, 5, 5), 4.2)
    assert normalized_feature_maps(const, 7).abs().max() == 0
    assert not normalized_feature_masks(const, 7, threshold=0.0).any()


def test_bilinear_upsampling_then_threshold_known_pixels():
    x = torch.tensor([[1.0, 0.0], [0.0, 0.0]]).reshape(1, 1, 2, 2)
    maps = normalized_feature_maps(x, 4)[0, 0]
    # Half-pixel centres: values 1, 0.75, 0.5625 around the bright corner.
    assert maps[0, 0] == 1 and maps[0, 1] == pytest.approx(0.75) and maps[1, 1] == pytest.approx(0.5625)
    assert torch.equal(normalized_feature_masks(x, 4, 0.5)[0, 0], _box(4, 4, 0, 0, 2, 2))
    assert int(normalized_feature_masks(x, 4, 0.6).sum()) == 3
    assert int(normalized_feature_masks(x, 4, 0.8).sum()) == 1
    with pytest.raises(InvalidOptionError, match="threshold"):
        normalized_feature_masks(x, 4, 1.0)


def test_iou_known_answers():
    part = _box(8, 8, 0, 0, 2, 4)  # 8 px
    same = part.clone()
    half = _box(8, 8, 0, 2, 2, 6)  # 8 px, 4 of them inside the part
    rest = ~part
    empty = torch.zeros(8, 8, dtype=torch.bool)
    masks = torch.stack([same, half, rest, empty]).unsqueeze(0)  # [1, 4, 8, 8]
    pos, neg = part_iou(masks, part)
    assert pos.tolist() == pytest.approx([1.0, 1 / 3, 0.0, 0.0])
    # IoU- against the 56 px outside the part: half has 4 px there, union 56 + 4.
    assert neg.tolist() == pytest.approx([0.0, 4 / 60, 1.0, 0.0])


def test_iou_averages_over_images_and_handles_several_parts():
    part = _box(8, 8, 0, 0, 2, 4)
    other = _box(8, 8, 4, 4, 8, 8)
    masks = torch.stack([part, _box(8, 8, 0, 2, 2, 6)]).reshape(2, 1, 8, 8)  # image 0: exact, image 1: half overlap
    pos, neg = part_iou(masks, torch.stack([part, part]))
    assert pos.tolist() == pytest.approx([(1 + 1 / 3) / 2])
    parts = torch.stack([torch.stack([part, other])] * 2)  # [N=2, P=2, 8, 8]
    pos2, neg2 = part_iou(masks, parts)
    assert pos2.shape == (1, 2)
    assert pos2[0, 0] == pytest.approx((1 + 1 / 3) / 2) and pos2[0, 1] == 0
    assert neg2[0, 0] == pytest.approx(neg[0])
    with pytest.raises(InvalidOptionError, match="do not fit"):
        part_iou(masks, torch.zeros(3, 8, 8, dtype=torch.bool))


def test_selection_by_thresholds():
    pos = torch.tensor([0.30, 0.10, 0.50, 0.25, 0.9])
    neg = torch.tensor([0.01, 0.00, 0.20, 0.05, 0.051])
    assert select_channels(pos, neg, 0.25, 0.05).tolist() == [0, 3]
    assert select_channels(pos, neg, 0.25, 0.2).tolist() == [0, 2, 3, 4]
    assert select_channels(pos, neg, 0.95, 1.0).tolist() == []


# ------------------------------------------------------------------- geometry


def test_map_geometry_of_the_styles(G_r128):
    names = G_r128.style_names
    first = feature_map_geometry(G_r128, 1)
    assert (first.layer, first.source, first.size, first.sampling_rate, first.margin) == (names[1], "input", 36, 16, 10)
    last = feature_map_geometry(G_r128, names[-1])
    assert (last.source, last.size, last.margin, last.channels) == (names[-2], R, 0, 32)
    mid = feature_map_geometry(G_r128, names[5])
    assert mid.source == names[4] and mid.channels == G_r128.styles(G_r128.w_avg.reshape(1, 1, -1).repeat(1, G_r128.num_ws, 1))[names[5]].shape[1]
    with pytest.raises(InvalidOptionError, match="no channels"):
        feature_map_geometry(G_r128, "input")


def test_style_entry_acts_on_that_channel_of_the_source_map(G_r128, codes, monkeypatch):
    """s_l[c] multiplies channel c of layer l's input: with s_l[c] = 0 noise in that channel of
    the source map changes nothing; in any other channel, or with s_l[c] != 0, it does."""
    name = G_r128.style_names[5]
    g = feature_map_geometry(G_r128, name)
    source = getattr(G_r128.synthesis, g.source)
    original = source.forward_from_style
    noisy = {"channel": None}

    def with_noise(x, style, update_emas=False):
        y = original(x, style, update_emas=update_emas)
        if noisy["channel"] is not None:
            y = y.clone()
            y[:, noisy["channel"]] += torch.randn(y.shape[-2:], generator=torch.Generator().manual_seed(0))
        return y

    monkeypatch.setattr(source, "forward_from_style", with_noise)
    styles = G_r128.styles(codes[:1])
    off = OrderedDict((k, v.clone()) for k, v in styles.items())
    off[name][:, 3] = 0
    with torch.no_grad():
        clean_off, clean_on = G_r128.synthesis_from_styles(off), G_r128.synthesis_from_styles(styles)
        noisy["channel"] = 3
        assert torch.allclose(G_r128.synthesis_from_styles(off), clean_off, atol=1e-6)
        assert (G_r128.synthesis_from_styles(styles) - clean_on).abs().max() > 1e-2
        noisy["channel"] = 4
        assert (G_r128.synthesis_from_styles(off) - clean_off).abs().max() > 1e-2


def test_cropped_maps_cover_exactly_the_image(G_r128, codes):
    """Half-image shift moves each cropped map by half its width (scale), and a 90 degree
    turn about the image centre turns each cropped map about its own centre (offset)."""
    w = codes[:1]
    base = style_feature_maps(G_r128, w)
    shifted = style_feature_maps(G_r128, w, transform=make_transform(0.0, (0.5, 0.0)))
    turned = style_feature_maps(G_r128, w, transform=make_transform(math.pi / 2))
    for name, x in base.items():
        g = feature_map_geometry(G_r128, name)
        assert x.shape[-2:] == (g.sampling_rate, g.sampling_rate)
        h = x.shape[-1] // 2
        err = (shifted[name][..., h:] - x[..., :h]).norm() / x[..., :h].norm()
        assert err < 1e-4, name
        rot = (torch.rot90(x, 1, (-2, -1)) - turned[name]).norm() / x.norm()
        assert rot < 1e-4, name
        # A crop off by one pixel breaks the rotation check: the test can fail.
        off = torch.rot90(x[..., 1:, 1:], 1, (-2, -1)) - turned[name][..., :-1, :-1]
        assert off.norm() / x.norm() > 1e-2, name


# -------------------------------------------------------------- LocalChannels


def _hand_made():
    layers = ("L3_52_128", "L4_52_128")
    pos = {
        "eyes": {layers[0]: [0.3, 0.0, 0.1], layers[1]: [0.0, 0.5, 0.26]},
        "mouth": {layers[0]: [0.0, 0.0, 0.9], layers[1]: [0.0, 0.6, 0.0]},
    }
    neg = {
        "eyes": {layers[0]: [0.01, 0.0, 0.0], layers[1]: [0.0, 0.2, 0.04]},
        "mouth": {layers[0]: [0.0, 0.0, 0.02], layers[1]: [0.0, 0.01, 0.0]},
    }
    return LocalChannels("net", ("eyes", "mouth"), layers, {layers[0]: 4, layers[1]: 5}, pos, neg,
                         t_fg=0.25, t_bg=0.05, threshold=0.5, size=64, n_images=3, settings={"n": 3})


def test_local_channels_selection_union_and_summary():
    lc = _hand_made()
    assert {k: v.tolist() for k, v in lc.selected("eyes").items()} == {"L3_52_128": [0], "L4_52_128": [2]}
    assert {k: v.tolist() for k, v in lc.channels().items()} == {"L3_52_128": [0, 2], "L4_52_128": [1, 2]}
    assert {k: v.tolist() for k, v in lc.channels("mouth").items()} == {"L3_52_128": [2], "L4_52_128": [1]}
    assert list(lc.channels(layers=[5, 0])) == ["L4_52_128"]  # ws indices; 0 has no channels
    assert all(v.dtype == torch.long for v in lc.channels().values())
    assert lc.count("eyes") == 2 and lc.mean_iou("eyes")[0] == pytest.approx((0.3 + 0.26) / 2)
    assert lc.best("mouth", 1) == [("L3_52_128", 2, 0.9)]
    loose = lc.with_thresholds(t_bg=0.3)
    assert loose.count("eyes") == 3 and lc.count("eyes") == 2
    text = lc.summary()
    assert "L4_52_128" in text and "(0.28)" in text and "(0.75)" in text
    with pytest.raises(InvalidOptionError, match="not calibrated"):
        lc.channels("nose")


def test_json_round_trip(tmp_path):
    lc = _hand_made()
    path = lc.to_json(tmp_path / "local.json")
    data = json.loads(path.read_text())
    assert data["selected"] == {"eyes": {"L3_52_128": [0], "L4_52_128": [2]}, "mouth": {"L3_52_128": [2], "L4_52_128": [1]}}
    back = LocalChannels.from_json(path)
    assert back.to_dict() == lc.to_dict()
    assert {k: v.tolist() for k, v in back.channels().items()} == {k: v.tolist() for k, v in lc.channels().items()}
    assert not list(tmp_path.glob(".local.json*"))  # no temporary left behind
    (tmp_path / "bad.json").write_text('{"format": 1, "network": "x"}')
    with pytest.raises(Video2StyleGANError, match="bad.json.*malformed"):
        LocalChannels.from_json(tmp_path / "bad.json")
    (tmp_path / "worse.json").write_text("{")
    with pytest.raises(Video2StyleGANError, match="not valid JSON"):
        LocalChannels.from_json(tmp_path / "worse.json")


def test_channels_feed_combine_styles(G_r128, w_pair):
    lc = _hand_made()
    chans = lc.channels()
    norm = normalize_channels(G_r128, chans)
    assert {k: v.tolist() for k, v in norm.items()} == {k: v.tolist() for k, v in chans.items()}
    w_ref, w_drive = w_pair[:1], w_pair[1:]
    # alpha=gamma=0, beta=1, zeta=1: selected entries become the driver's, all others stay the reference's.
    out = combine_styles(G_r128, w_ref, None, w_drive, None, chans, CombinationSettings(0.0, 1.0, 0.0, 1.0))
    s_ref, s_drv = G_r128.styles(w_ref), G_r128.styles(w_drive)
    for name in G_r128.style_names:
        expect = s_ref[name].clone()
        if name in chans:
            expect[:, chans[name]] = s_drv[name][:, chans[name]]
        assert torch.allclose(out[name], expect), name
    assert not torch.allclose(out["L3_52_128"], s_ref["L3_52_128"])


# -------------------------------------------------------------- calibration


def test_calibration_on_a_random_network(G_r128, codes, heads, tmp_path, monkeypatch):
    layers = (3, 4, 5, 6, 7)
    lc = calibrate_local_channels(G_r128, LocalChannelSettings(layers=layers, size=64), ws=codes[:2],
                                  landmarks=heads[:2], network_id="random-r", progress=False)
    names = [G_r128.style_names[i] for i in layers]
    assert lc.layers == tuple(names) and lc.n_images == 2 and lc.size == 64
    for name in names:
        c = feature_map_geometry(G_r128, name).channels
        for part in lc.parts:
            pos, neg = np.array(lc.iou_pos[part][name]), np.array(lc.iou_neg[part][name])
            assert pos.shape == (c,) and ((pos >= 0) & (pos <= 1)).all() and ((neg >= 0) & (neg <= 1)).all()
    # Untrained channels overlap the 1 % parts only by chance (measured max about 0.09): nothing is selected.
    allpos = np.concatenate([lc.iou_pos[p][n] for p in lc.parts for n in names])
    assert 0 < allpos.max() < 0.2
    assert lc.channels() == {}

    # Cache: the second call reads the JSON (no measurement), other t_fg only re-selects.
    kw = dict(ws=codes[:2], landmarks=heads[:2], layers=layers, size=64, progress=False)
    first = calibrate_cached(G_r128, tmp_path, network_id="random-r", **kw)
    files = list((tmp_path / "local_channels").glob("*.json"))
    assert len(files) == 1

    def boom(*a, **k):
        raise AssertionError("recomputed despite a cache entry")

    monkeypatch.setattr(lcm, "calibrate_local_channels", boom)
    again = calibrate_cached(G_r128, tmp_path, network_id="random-r", t_fg=0.0, t_bg=1.0, **kw)
    assert again.iou_pos == first.iou_pos and again.t_fg == 0.0
    assert sum(v.numel() for v in again.channels().values()) == sum(feature_map_geometry(G_r128, n).channels for n in names)
    with pytest.raises(AssertionError, match="recomputed"):
        calibrate_cached(G_r128, tmp_path, network_id="random-r", threshold=0.4, **kw)


def test_faces_are_detected_skipped_and_counted(G_r128, codes, heads, monkeypatch):
    calls = []

    def fake_detect(image, **kwargs):
        calls.append(image.shape)
        if len(calls) == 2:
            raise NoFaceError("no face")
        return SimpleNamespace(landmarks=heads[0])

    monkeypatch.setattr(lcm, "detect_face", fake_detect)
    lc = calibrate_local_channels(G_r128, LocalChannelSettings(layers=[4], size=32), ws=codes, network_id="x",
                                  progress=False)
    assert calls == [(R, R, 3)] * 3 and lc.n_images == 2 and lc.settings["skipped"] == 1

    def never(image, **kwargs):
        raise NoFaceError("no face")

    monkeypatch.setattr(lcm, "detect_face", never)
    with pytest.raises(NoFaceError, match="only 0 of 3 images"):
        calibrate_local_channels(G_r128, LocalChannelSettings(layers=[4], size=32), ws=codes, network_id="x",
                                 progress=False)


def test_random_network_samples_have_no_face(G_r128):
    """The real detector on an untrained network's samples: a clear NoFaceError."""
    with pytest.raises(NoFaceError, match="projected"):
        calibrate_local_channels(G_r128, LocalChannelSettings(n=1, layers=[14], size=32), network_id="x",
                                 progress=False)


def test_bad_arguments(G_r128, codes, heads):
    with pytest.raises(InvalidOptionError, match="no channels"):
        calibrate_local_channels(G_r128, LocalChannelSettings(layers=[0]), ws=codes, landmarks=heads, network_id="x")
    with pytest.raises(InvalidOptionError, match="landmarks must be"):
        calibrate_local_channels(G_r128, ws=codes, landmarks=heads[:2], network_id="x")
    with pytest.raises(InvalidOptionError, match="without their ws"):
        calibrate_local_channels(G_r128, landmarks=heads, network_id="x")
    with pytest.raises(InvalidOptionError, match="unknown face part"):
        calibrate_local_channels(G_r128, LocalChannelSettings(parts=("ears",)), ws=codes, landmarks=heads,
                                 network_id="x")


# ------------------------------------------------------------ planted channel


def _plant(monkeypatch, G, layer_name, channel, masks_per_image):
    """Make ``layer_name``'s output channel ``channel`` equal, inside its image area, to the
    next mask of ``masks_per_image`` (one per call; 10 px margin of noise around it)."""
    layer = getattr(G.synthesis, layer_name)
    original = layer.forward_from_style
    rate, margin = int(layer.out_sampling_rate), (int(layer.out_size[0]) - int(layer.out_sampling_rate)) // 2
    queue = list(masks_per_image)

    def planted(x, style, update_emas=False):
        y = original(x, style, update_emas=update_emas).clone()
        m = torch.nn.functional.interpolate(queue.pop(0).float()[None, None], size=(rate, rate), mode="area")[0, 0]
        y[:, channel] = torch.randn(y.shape[-2:], generator=torch.Generator().manual_seed(3)) * 0.05
        y[:, channel, margin : margin + rate, margin : margin + rate] = m * 3.0
        return y

    monkeypatch.setattr(layer, "forward_from_style", planted)


@pytest.mark.parametrize("source_layer", ["L9_148_76", "L3_52_128"])
def test_planted_mouth_channel_is_selected_for_mouth_only(G_r128, codes, heads, monkeypatch, source_layer):
    names = G_r128.style_names
    target = names[names.index(source_layer) + 1]  # whose styles scale the planted map
    mouths = [torch.from_numpy(faces.part_masks(lm, (R, R), parts=("mouth",))["mouth"]) for lm in heads]
    channel = 7
    _plant(monkeypatch, G_r128, source_layer, channel, mouths)
    lc = calibrate_local_channels(G_r128, LocalChannelSettings(layers=[target], size=R), ws=codes, landmarks=heads,
                                  network_id="planted", progress=False)
    pos = lc.iou_pos["mouth"][target][channel]
    # 128 px map: exact up to the 0.5 threshold; 32 px map (area-reduced mask): measured about 0.8.
    assert pos > (0.95 if source_layer == "L9_148_76" else 0.6)
    assert lc.iou_neg["mouth"][target][channel] < 0.02
    assert channel in lc.selected("mouth")[target].tolist()
    assert channel not in lc.selected("eyes")[target].tolist()
    assert channel not in lc.selected("nose")[target].tolist()
    assert lc.iou_pos["eyes"][target][channel] < 0.05 and lc.iou_pos["nose"][target][channel] < 0.05
    assert lc.best("mouth", 1)[0][:2] == (target, channel)


def test_feature_map_figure(G_r128, codes, heads, monkeypatch, tmp_path):
    from PIL import Image

    mouths = [torch.from_numpy(faces.part_masks(lm, (R, R), parts=("mouth",))["mouth"]) for lm in heads]
    _plant(monkeypatch, G_r128, "L9_148_76", 7, mouths + mouths[:1])  # 3 calibration renders + 1 figure render
    target = "L10_148_57"
    lc = calibrate_local_channels(G_r128, LocalChannelSettings(layers=[target], size=R), ws=codes, landmarks=heads,
                                  network_id="p", progress=False)
    shown = save_feature_maps(G_r128, codes[0], lc, tmp_path / "fig7.png", FigureLayout(per_part=2, cell=64),
                              landmarks=heads[0])
    assert ("mouth", target, 7) in shown and all(p == "mouth" for p, _, _ in shown)
    img = np.asarray(Image.open(tmp_path / "fig7.png"))
    assert img.shape == (3 * 64 + 2 * 2, 3 * 64 + 2 * 2, 3)
    # The planted map's cell (mouth row, first map) is bright exactly on the mouth of image 0.
    cell = img[2 * 66 : 2 * 66 + 64, 66 : 66 + 64, 0] > 127
    mouth64 = faces.part_masks(heads[0], (R, R), size=64, parts=("mouth",))["mouth"]
    inter, union = (cell & mouth64).sum(), (cell | mouth64).sum()
    assert inter / union > 0.8
    # The image of the mouth row is tinted red on the mouth, the eyes row's is not there.
    red = img[:64, :64].astype(int), img[2 * 66 : 2 * 66 + 64, :64].astype(int)
    gain = [(r[..., 0] - r[..., 1])[mouth64.repeat(2, 0).repeat(2, 1)[::2, ::2]].mean() for r in red]
    assert gain[1] - gain[0] > 50
    # Rows without selected channels are filled with the empty colour.
    assert (img[10, 66 + 10] == (20, 24, 48)).all()


@pytest.mark.parametrize("kind, reason", [("edited", "checksum mismatch"), ("legacy", "no checksum"),
                                          ("truncated", "unreadable")])
def test_damaged_cache_entry_is_deleted_and_recomputed(kind, reason, tiny_G, heads, tmp_path, caplog):
    import logging

    from video2stylegan.method.cache import verify_entry

    z = torch.randn(2, tiny_G.z_dim, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ws = tiny_G.mapping(z, None)
    kw = dict(ws=ws, landmarks=heads[:2] / 2, layers=[1, 2], size=32, progress=False)  # heads: 128 px, G: 64 px
    first = calibrate_cached(tiny_G, tmp_path, network_id="tiny", **kw)
    path = next((tmp_path / "local_channels").glob("*.json"))
    assert verify_entry(path) is None
    text = path.read_text()
    if kind == "edited":  # a value changed by hand or by the disk: still valid JSON, wrong numbers
        data = json.loads(text)
        layer = next(iter(data["iou_pos"]["eyes"]))
        data["iou_pos"]["eyes"][layer][0] += 0.5
        path.write_text(json.dumps(data))
    elif kind == "legacy":
        first.to_json(path)  # what earlier versions stored: the same content without a record
    else:
        path.write_text(text[: len(text) // 2])
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        again = calibrate_cached(tiny_G, tmp_path, network_id="tiny", **kw)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and reason in warnings[0], warnings
    assert again.to_dict() == first.to_dict()  # measured again, the same numbers
    assert verify_entry(path) is None
