"""LPIPS / FID / FVD arithmetic with stand-in networks, and honest unavailability."""

import numpy as np
import pytest
import torch

from video2stylegan.metrics import learned
from video2stylegan.metrics.learned import (
    LPIPS,
    MetricUnavailable,
    fid,
    fid_from_features,
    frechet_distance,
    fvd,
    gaussian_stats,
    load_i3d,
    load_inception,
    load_lpips,
    video_clips,
)


def flat(rgb, size=8):
    return np.broadcast_to(np.array(rgb, np.uint8), (size, size, 3)).copy()


# ---------------------------------------------------------------- Frechet distance


def test_frechet_distance_known_answers():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 4))
    mu, sigma = gaussian_stats(a)
    assert frechet_distance(mu, sigma, mu, sigma) == pytest.approx(0, abs=1e-8)
    shift = np.array([1.0, -2.0, 0.5, 0.0])
    assert frechet_distance(mu, sigma, mu + shift, sigma) == pytest.approx(shift @ shift, abs=1e-8)
    # Diagonal covariances: sum (sqrt(a) - sqrt(b))^2.
    assert frechet_distance(np.zeros(2), np.diag([4.0, 1.0]), np.zeros(2), np.diag([1.0, 9.0])) == pytest.approx(1 + 4)
    assert frechet_distance(0.0, 4.0, 3.0, 1.0) == pytest.approx(9 + 1)


def test_fid_from_features_of_shifted_and_identical_sets():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(50, 3))
    assert fid_from_features(f, f) == pytest.approx(0, abs=1e-8)
    assert fid_from_features(f, f + [3.0, 0, 4.0]) == pytest.approx(25.0)
    # Fewer samples than dimensions: singular covariances still give a finite, non-negative value.
    g = rng.normal(size=(3, 10))
    assert np.isfinite(fid_from_features(g, g + 1)) and fid_from_features(g, g + 1) == pytest.approx(10, rel=1e-3)


def mean_colour(images):
    """A stand-in feature network: the mean RGB of each image (3-D features)."""
    return np.asarray(images, np.float64).mean(axis=tuple(range(1, np.ndim(images) - 1)))


def test_fid_with_a_stand_in_extractor():
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 200, (10, 8, 8, 3)).astype(np.uint8)
    assert fid(frames, frames, mean_colour) == pytest.approx(0, abs=1e-8)
    assert fid(frames, frames + np.uint8(20), mean_colour) == pytest.approx(3 * 20**2)
    assert isinstance(fid(frames[:1], frames, mean_colour), MetricUnavailable)


def test_fvd_windows_and_a_stand_in_extractor():
    rng = np.random.default_rng(4)
    video = rng.integers(0, 200, (40, 6, 6, 3)).astype(np.uint8)
    assert video_clips(video, 16).shape == (2, 16, 6, 6, 3)
    assert video_clips(video, 16, stride=8).shape == (4, 16, 6, 6, 3)
    assert np.array_equal(video_clips(video, 16, stride=8)[1], video[8:24])
    assert fvd(video, video, mean_colour, stride=8) == pytest.approx(0, abs=1e-8)
    assert fvd(video, video + np.uint8(10), mean_colour, stride=8) == pytest.approx(3 * 100)
    short = fvd(video[:20], video, mean_colour)
    assert isinstance(short, MetricUnavailable) and "2 windows" in short.reason


# ---------------------------------------------------------------- LPIPS


def test_lpips_formula_with_an_identity_feature_network():
    model = LPIPS(features=lambda x: [x])
    red, green, grey = flat((255, 0, 0)), flat((0, 255, 0)), flat((128, 128, 128))
    # [-1, 1] inputs: red = (1, -1, -1), green = (-1, 1, -1); unit vectors differ by (2, -2, 0)/sqrt(3).
    assert model(red, red) == pytest.approx([0.0])
    assert model(red, green) == pytest.approx([8 / 3], rel=1e-5)
    # One image against a batch broadcasts; weights scale each channel's term.
    assert model(np.stack([red, green, red]), red) == pytest.approx([0, 8 / 3, 0], abs=1e-6)
    weighted = LPIPS(features=lambda x: [x, x], weights=[np.array([1.0, 0.0, 0.0]), np.zeros(3)])
    assert weighted(red, green) == pytest.approx([4 / 3], rel=1e-5)
    assert model(grey, grey)[0] == 0


def test_lpips_with_a_small_conv_network_is_a_distance():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU())
    model = LPIPS(features=lambda x: [net(x), torch.nn.functional.avg_pool2d(net(x), 2)])
    rng = np.random.default_rng(5)
    a = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    b = np.clip(a.astype(int) + 30, 0, 255).astype(np.uint8)
    c = 255 - a
    d_ab, d_ac = model(np.stack([a, a]), np.stack([b, c]))
    assert model(a, a)[0] == pytest.approx(0, abs=1e-7)
    assert 0 < d_ab < d_ac
    # Batching does not change the numbers (frames are converted batch by batch).
    many = rng.integers(0, 256, (7, 16, 16, 3)).astype(np.uint8)
    assert model(many, a, batch=3) == pytest.approx(model(many, a, batch=16), rel=1e-5)
    assert model(a, many, batch=2) == pytest.approx(model(many, a, batch=16), rel=1e-5)


def test_lpips_wrapping_a_complete_model():
    calls = []

    def model(x, y):
        calls.append(x.shape)
        return (x - y).abs().mean(dim=(1, 2, 3), keepdim=True)

    m = LPIPS(model=model)
    out = m(flat((255, 255, 255)), flat((0, 0, 0)))
    assert out == pytest.approx([2.0]) and calls == [(1, 3, 8, 8)]


# ---------------------------------------------------------------- availability


def test_missing_packages_are_reported_not_downloaded(monkeypatch, tmp_path):
    monkeypatch.setattr(learned.importlib.util, "find_spec", lambda name: None)
    for result, package in ((load_lpips(), "lpips"), (load_inception(), "torch_fidelity")):
        assert isinstance(result, MetricUnavailable)
        assert package in result.reason and "not installed" in result.reason
    assert fid(np.zeros((4, 8, 8, 3), np.uint8), np.zeros((4, 8, 8, 3), np.uint8)).metric == "FID"


def test_missing_weights_are_reported_with_their_path(monkeypatch, tmp_path):
    monkeypatch.setattr(learned, "_missing_package", lambda *a: None)
    monkeypatch.setattr(learned, "torch_hub_checkpoints", lambda: tmp_path)
    lp = load_lpips("vgg")
    assert isinstance(lp, MetricUnavailable) and str(tmp_path / "vgg16-397923af.pth") in lp.reason
    inc = load_inception()
    assert isinstance(inc, MetricUnavailable) and learned.INCEPTION_WEIGHTS in inc.reason
    assert lp.to_dict() == {"available": False, "metric": "LPIPS", "reason": lp.reason}


class TinyI3D(torch.nn.Module):
    """Stand-in with the I3D TorchScript's call signature: (B, 3, T, H, W) -> (B, 3) channel means."""

    def forward(self, x: torch.Tensor, rescale: bool = False, resize: bool = True, return_features: bool = True):
        return x.mean(dim=(2, 3, 4))


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_i3d_loading_from_the_configured_path(monkeypatch, tmp_path):
    monkeypatch.setenv("VIDEO2STYLEGAN_I3D", str(tmp_path / "none.pt"))
    missing = load_i3d()
    assert isinstance(missing, MetricUnavailable) and "none.pt" in missing.reason
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not torchscript")
    monkeypatch.setenv("VIDEO2STYLEGAN_I3D", str(bad))
    assert "could not be loaded" in load_i3d().reason
    good = tmp_path / "i3d.pt"
    torch.jit.script(TinyI3D()).save(str(good))
    monkeypatch.setenv("VIDEO2STYLEGAN_I3D", str(good))
    extract = load_i3d()
    video = np.random.default_rng(6).integers(0, 200, (32, 4, 4, 3)).astype(np.uint8)
    feats = extract(video_clips(video, 16))
    expected = video_clips(video, 16).astype(np.float64).mean(axis=(1, 2, 3)) / 127.5 - 1
    assert feats == pytest.approx(expected, abs=1e-5)
    # FVD of a brightened copy: the squared mean shift in the network's [-1, 1] units.
    assert fvd(video, video + np.uint8(51), stride=4) == pytest.approx(3 * (51 / 127.5) ** 2, rel=1e-4)
