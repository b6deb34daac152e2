"""The differentiable pose regressor P_r: training on exact renderer labels, storage, calibration cache."""

from __future__ import annotations

import pytest
import torch

from video2stylegan.errors import CheckpointError, NoFaceError
from video2stylegan.method import pose as pose_mod
from video2stylegan.method.pose import (
    PoseRegressor,
    PoseSampling,
    PoseTraining,
    calibrate_pose_regressor,
    generator_pose_samples,
    load_pose_regressor,
    renderer_pose_samples,
    save_pose_regressor,
    train_pose_regressor,
)

@pytest.fixture(scope="module")
def renders():
    """300 training and 60 held-out synthetic renders at 48 px (stored at 32 px) with exact poses."""
    train = renderer_pose_samples(300, size=48, seed=0, out_size=32)
    test = renderer_pose_samples(60, size=48, seed=50_000, out_size=32)
    return train, test


@pytest.fixture(scope="module")
def trained(renders):
    torch.manual_seed(0)
    train, _ = renders
    training = PoseTraining(steps=300, batch=32, lr=5e-3, input_size=32, seed=0)
    return train_pose_regressor(train.images, train.angles, training)


def test_renderer_samples_carry_the_exact_pose(renders):
    from video2stylegan.synthetic import sample_params

    train, _ = renders
    assert train.images.shape == (300, 3, 32, 32) and train.angles.shape == (300, 3)
    assert -1.0 <= train.images.min() < train.images.max() <= 1.0
    p = sample_params(7).pose
    assert train.angles[7].tolist() == pytest.approx([p.yaw, p.pitch, p.roll], abs=1e-4)


def test_trained_regressor_reads_held_out_renders(renders, trained):
    reg, report = trained
    _, test = renders
    with torch.no_grad():
        pred = reg(test.images)
    mae = (pred - test.angles).abs().mean(0)
    spread = (test.angles - test.angles.mean(0)).abs().mean(0)  # MAE of always answering the mean
    # Measured: held-out MAE (5.3, 4.0, 2.0) deg (yaw, pitch, roll), mean 3.7, against (9.2, 6.3, 4.2)
    # for always answering the mean; validation split (45 renders) 3.9. A tiny set: the calibration
    # default (2000 renders at 128 px, 64 px input, 1500 steps) reaches about 2 deg.
    assert (mae < 0.8 * spread).all(), (mae, spread)
    assert mae.mean() < 4.5, mae
    assert set(report["val_mae_deg"]) == {"yaw", "pitch", "roll"} and report["val"] == 45
    assert report["val_mae_mean_deg"] < 4.8
    # Mirroring negates yaw and roll (the flip augmentation teaches the sign convention).
    with torch.no_grad():
        mirrored = reg(test.images.flip(-1))
    for k in (0, 2):  # measured correlations 0.92 (yaw), 0.96 (roll)
        assert torch.corrcoef(torch.stack([mirrored[:, k], -pred[:, k]]))[0, 1] > 0.85


def test_any_input_size_and_gradients_reach_the_input(trained):
    reg, _ = trained
    torch.manual_seed(1)
    x = (torch.rand(2, 3, 96, 96) * 2 - 1).requires_grad_(True)
    out = reg(x)
    assert out.shape == (2, 3)
    (g,) = torch.autograd.grad(out[:, 0].sum(), [x])
    assert torch.isfinite(g).all() and g.abs().sum() > 0
    # The gradient predicts a small step (directional finite difference, float32).
    d = torch.randn_like(x) * 1e-2
    with torch.no_grad():
        delta = (reg(x + d)[:, 0] - reg(x - d)[:, 0]).sum() / 2
    assert delta.item() == pytest.approx((g * d).sum().item(), rel=0.05, abs=1e-4)


def test_save_load_round_trip_is_exact(tmp_path, trained, renders):
    reg, report = trained
    path = save_pose_regressor(reg, tmp_path / "p.safetensors", report)
    back, rep = load_pose_regressor(path, with_report=True)
    assert back.config() == reg.config() == {"input_size": 32, "width": 16, "angle_scale": 20.0}
    for (k, a), (k2, b) in zip(reg.state_dict().items(), back.state_dict().items()):
        assert k == k2 and torch.equal(a, b)
    x = renders[1].images[:8]
    with torch.no_grad():
        assert torch.equal(reg(x), back(x))
    assert rep == report
    with pytest.raises(CheckpointError, match="does not exist"):
        load_pose_regressor(tmp_path / "missing.safetensors")
    from safetensors.torch import save_file

    save_file({"a": torch.zeros(1)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(CheckpointError, match="not a pose regressor"):
        load_pose_regressor(tmp_path / "foreign.safetensors")


def test_calibration_is_cached(tmp_path, monkeypatch):
    kw = dict(source="renderer", samples=24, steps=5, render_size=32, input_size=32, progress=False)
    first = calibrate_pose_regressor(None, tmp_path, "net-A", **kw)
    files = list((tmp_path / "pose_regressor").glob("*.safetensors"))
    assert len(files) == 1 and not list((tmp_path / "pose_regressor").glob(".*"))

    def no_training(*a, **k):
        raise AssertionError("retrained despite a cache entry")

    monkeypatch.setattr(pose_mod, "train_pose_regressor", no_training)
    second = calibrate_pose_regressor(None, tmp_path, "net-A", **kw)
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)
    # Another network or other settings are other entries: they train (here: hit the stub).
    with pytest.raises(AssertionError, match="retrained"):
        calibrate_pose_regressor(None, tmp_path, "net-B", **kw)
    with pytest.raises(AssertionError, match="retrained"):
        calibrate_pose_regressor(None, tmp_path, "net-A", **dict(kw, steps=6))
    from video2stylegan.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match="needs the generator"):
        calibrate_pose_regressor(None, tmp_path, None, **kw)
    with pytest.raises(InvalidOptionError, match="source must be"):
        calibrate_pose_regressor(None, tmp_path, "net-A", **dict(kw, source="dlib"))


def test_network_without_faces_raises_no_face_error(G_r128):
    with pytest.raises(NoFaceError, match=r"only 0 of 4 images") as info:
        generator_pose_samples(G_r128, PoseSampling(4, batch=2))
    assert "source='renderer'" in str(info.value)


def test_regressor_rejects_bad_shapes():
    from video2stylegan.errors import InvalidOptionError

    with pytest.raises(InvalidOptionError, match=r"\[N, 3, H, W\]"):
        PoseRegressor(input_size=32)(torch.zeros(1, 1, 32, 32))
    with pytest.raises(InvalidOptionError, match="multiple of 16"):
        PoseRegressor(input_size=40)


class RenderingGenerator:
    """A stand-in generator whose samples are synthetic renders (known poses), to test the dlib + PnP labels."""

    z_dim = 4

    def __init__(self, seeds, size=128):
        from video2stylegan.synthetic import render, sample_params

        self.params = [sample_params(s) for s in seeds]
        imgs = torch.stack([torch.from_numpy(render(p, size).image) for p in self.params])
        self.images = imgs.permute(0, 3, 1, 2).float() / 127.5 - 1.0
        self.next = 0

    def mapping(self, z, c=None, truncation_psi=1.0):
        i = torch.arange(self.next, self.next + len(z))
        self.next += len(z)
        return i

    def synthesis(self, ws):
        return self.images[ws]


def test_generator_samples_are_labelled_by_dlib_and_pnp():
    G = RenderingGenerator(range(100_000, 100_008))
    data = generator_pose_samples(G, PoseSampling(8, batch=3), size=32)
    truth = torch.tensor([[p.pose.yaw, p.pose.pitch, p.pose.roll] for p in G.params], dtype=torch.float32)
    assert data.info["found"] == len(data.angles) == 8 and data.tried == 8  # all 8 faces found
    assert data.images.shape == (8, 3, 32, 32)
    assert torch.allclose(data.images[0], torch.nn.functional.interpolate(
        G.images[:1], size=(32, 32), mode="bilinear", align_corners=False, antialias=True)[0])
    # dlib + PnP against the renderer's truth: measured (2.7, 4.0, 1.3), mean 2.7 deg here
    # (3.0 on 200 renders); the labels are the pose, not noise (the poses spread about 9 deg).
    err = (data.angles - truth).abs().mean(0)
    assert (err < torch.tensor([5.0, 7.0, 3.0])).all(), err


CACHED = dict(source="renderer", samples=24, steps=5, render_size=32, input_size=32, progress=False)


def _flip_data_byte(path):
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")  # after the header length and the JSON header
    data[start + (len(data) - start) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _legacy(path):
    """What earlier versions wrote: the same tensors and config, no integrity record."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(path), framework="pt") as h:
        meta, tensors = h.metadata(), {k: h.get_tensor(k) for k in h.keys()}
    save_file(tensors, str(path), metadata={pose_mod.CONFIG_KEY: meta[pose_mod.CONFIG_KEY]})


@pytest.mark.parametrize("kind, reason", [("flip", "checksum mismatch"), ("legacy", "no checksum"),
                                          ("truncated", "unreadable")])
def test_damaged_calibration_entry_is_deleted_and_recalibrated(kind, reason, tmp_path, caplog):
    import logging

    first = calibrate_pose_regressor(None, tmp_path, "net-A", **CACHED)
    path = next((tmp_path / "pose_regressor").glob("*.safetensors"))
    from video2stylegan.method.cache import verify_entry

    assert verify_entry(path) is None
    if kind == "flip":
        _flip_data_byte(path)
        flat = lambda reg: torch.cat([t.flatten() for t in reg.state_dict().values()])  # noqa: E731
        assert (flat(load_pose_regressor(path)) != flat(first)).sum() == 1  # a plain load takes it silently
    elif kind == "legacy":
        _legacy(path)
    else:
        path.write_bytes(path.read_bytes()[:-100])
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        again = calibrate_pose_regressor(None, tmp_path, "net-A", **CACHED)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and reason in warnings[0], warnings
    assert "deleted, calibrating again" in warnings[0]
    for a, b in zip(first.state_dict().values(), again.state_dict().values()):
        assert torch.equal(a, b)  # retrained, identical to the first calibration
    assert verify_entry(path) is None


def test_calibration_write_failure_warns_and_returns_the_regressor(tmp_path, monkeypatch, caplog):
    import errno
    import logging

    import safetensors.torch

    def disk_full(tensors, filename, metadata=None):
        with open(filename, "wb") as f:
            f.write(b"\x20\x00\x00half")
        raise OSError(errno.ENOSPC, "No space left on device")

    reference = calibrate_pose_regressor(None, tmp_path / "ok", "net-A", **CACHED)
    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.pose"):
        reg = calibrate_pose_regressor(None, tmp_path / "full", "net-A", **CACHED)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "No space left on device" in warnings[0]
    assert str(tmp_path / "full" / "pose_regressor") in warnings[0]
    for a, b in zip(reference.state_dict().values(), reg.state_dict().values()):
        assert torch.equal(a, b)
    assert [p for p in (tmp_path / "full").rglob("*") if p.is_file()] == []
