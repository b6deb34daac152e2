"""Trainer of the synthetic-heads StyleGAN3: latent coding, learning, resume, export, CLI."""

import json

import numpy as np
import pytest
import torch

from video2stylegan.errors import CheckpointError, InvalidOptionError
from video2stylegan.io.outputs import PACKAGE_DIR
from video2stylegan.synthetic import sample_params
from video2stylegan.synthetic.params import HeadParams
from video2stylegan.training.loop import (
    TrainConfig,
    Z_DIM,
    build_generator,
    compute_w_avg,
    distillation_loss,
    export_generator,
    feature_l1,
    normalize_z,
    params_to_z,
    sample_batch,
    sample_z,
    train,
    z_to_params,
)
from video2stylegan.synthetic.head_model import PARTS
from video2stylegan.synthetic.renderer import render

TINY = dict(resolution=32, w_dim=16, channel_base=256, channel_max=16, num_layers=4, batch=2, heldout=2,
            lr_warmup_steps=1)


def _quiet(**kw):
    return dict(workers=0, log_every=1, grid_every=2, checkpoint_every=100, progress=False, handle_signals=False, **kw)


def test_z_dim_is_one_entry_per_renderer_parameter():
    assert Z_DIM == HeadParams.size() == 37


def test_z_to_params_reproduces_the_sampler_distribution():
    """z ~ N(0, I) decodes to the marginals of sample_params (uniform fields, natural pose, eye range)."""
    names = HeadParams.names()
    decoded = np.stack([z_to_params(sample_z(i, seed=5)).to_vector() for i in range(600)])
    sampled = np.stack([sample_params(10_000 + i).to_vector() for i in range(600)])
    for name in ("skin_tone", "hair_length", "eye_open_left", "mouth_open", "yaw", "pitch", "tx", "scale"):
        k = names.index(name)
        a, b = decoded[:, k], sampled[:, k]
        spread = b.std()
        assert abs(a.mean() - b.mean()) < 0.15 * spread, name
        assert abs(a.std() - b.std()) < 0.15 * spread, name
    k = names.index("eye_open_left")
    assert decoded[:, k].min() >= 0.55 - 1e-9 and decoded[:, k].max() <= 1.15 + 1e-9


def test_params_to_z_inverts_z_to_params_on_the_sphere():
    z = normalize_z(sample_z(3))
    p = z_to_params(z)
    back = params_to_z(p)
    # Entries whose angle was not clipped round-trip exactly.
    np.testing.assert_allclose(back, z, atol=1e-6)
    np.testing.assert_allclose(z_to_params(back).to_vector(), p.to_vector(), atol=1e-6)


def test_z_to_params_depends_only_on_the_direction_like_the_mapping():
    z = sample_z(7)
    np.testing.assert_allclose(z_to_params(2.5 * z).to_vector(), z_to_params(z).to_vector(), atol=1e-9)
    with pytest.raises(InvalidOptionError, match="37"):
        z_to_params(np.zeros(5))


def test_training_and_heldout_streams_are_disjoint_and_deterministic():
    za, ia = sample_batch(range(3), 32, seed=0, stream=0)
    zb, ib = sample_batch(range(3), 32, seed=0, stream=0)
    zc, _ = sample_batch(range(3), 32, seed=0, stream=1)
    assert torch.equal(za, zb) and torch.equal(ia, ib)
    assert not torch.allclose(za, zc)
    assert ia.shape == (3, 3, 32, 32) and -1 <= ia.min() and ia.max() <= 1


def test_config_rejects_bad_values():
    with pytest.raises(InvalidOptionError, match="power of two"):
        TrainConfig(resolution=100)
    with pytest.raises(InvalidOptionError, match="loss"):
        TrainConfig(loss="hinge")
    with pytest.raises(InvalidOptionError, match="part_weight"):
        TrainConfig(part_weight=-1.0)
    with pytest.raises(InvalidOptionError, match="unknown"):
        TrainConfig.from_dict({"resolution": 32, "colour": 1})
    assert TrainConfig.from_dict(TrainConfig(**TINY).to_dict()) == TrainConfig(**TINY)


def test_default_config_is_a_stylegan3_with_at_least_ten_ws():
    G = build_generator(TrainConfig())
    assert G.num_ws >= 10 and G.z_dim == 37 and G.c_dim == 0 and G.img_resolution == 128
    assert sum(p.numel() for p in G.parameters()) * 2 < 30e6  # float16 export fits the 30 MB budget


def test_distillation_loss_known_answers():
    x = torch.rand(2, 3, 32, 32) * 1.6 - 0.8
    for kind in ("l1+gradient", "l1+msssim", "l1"):
        total, parts = distillation_loss(x, x, kind)
        assert float(total) == pytest.approx(0.0, abs=1e-5), kind
    # A constant offset: L1 equals the offset, the gradient pyramid does not see it.
    total, parts = distillation_loss(x + 0.1, x, "l1+gradient")
    assert parts["l1"] == pytest.approx(0.1, abs=1e-5)
    assert parts["gradient"] == pytest.approx(0.0, abs=1e-5)
    assert float(total) == pytest.approx(0.1, abs=1e-5)


def test_feature_l1_averages_over_the_feature_pixels_only():
    y = torch.rand(2, 3, 32, 32) * 2 - 1
    weight = torch.zeros(2, 1, 32, 32)
    weight[0, :, 4:8, 4:12] = 1.0
    weight[1, :, 10:30, 2:30] = 1.0
    inside = y + 0.2 * weight
    # A constant error inside the features: the value term is the error whatever their area; the
    # differences across the border are not counted (both neighbours must be features).
    assert float(feature_l1(inside, y, weight)) == pytest.approx(0.2, abs=1e-4)
    # Errors outside the features do not count; identical images give zero.
    outside = y + 0.5 * (1 - weight)
    assert float(feature_l1(outside, y, weight)) == pytest.approx(0.0, abs=1e-6)
    assert float(feature_l1(y, y, weight)) == 0.0
    # No features at all: zero, not NaN.
    assert float(feature_l1(inside, y, torch.zeros_like(weight))) == 0.0
    total, parts = distillation_loss(inside, y, "l1", weight, part_weight=2.0)
    assert parts["features"] == pytest.approx(0.2, abs=1e-4)
    assert float(total) == pytest.approx(parts["l1"] + 0.4, abs=1e-4)
    assert "features" not in distillation_loss(inside, y, "l1", weight, part_weight=0.0)[1]


def test_sample_batch_features_are_the_renders_feature_masks():
    z, images, features = sample_batch(range(2), 64, seed=3, features=True)
    assert features.shape == (2, 1, 64, 64)
    masks = render(z_to_params(sample_z(1, seed=3)), 64).masks
    expected = sum(masks[PARTS.index(name)] for name in ("eyes", "brows", "nose", "mouth"))
    np.testing.assert_allclose(features[1, 0].numpy(), expected.clip(0, 1), atol=1e-6)
    assert 0.005 < float(features.mean()) < 0.2
    assert torch.equal(sample_batch(range(2), 64, seed=3)[1], images)


def test_loss_decreases_on_a_fixed_batch():
    config = TrainConfig(**TINY)
    G = build_generator(config).train()
    z, images = sample_batch(range(2), 32)
    opt = torch.optim.Adam(G.parameters(), lr=3e-3, betas=(0.0, 0.99))
    losses = []
    for _ in range(25):
        loss, parts = distillation_loss(G.synthesis(G.mapping(z, update_emas=True), update_emas=True), images, config.loss)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert set(parts) == {"l1", "gradient"}
    assert np.mean(losses[-5:]) < 0.75 * np.mean(losses[:3])


def test_resume_equals_an_uninterrupted_run(tmp_path):
    config = TrainConfig(**TINY)
    full = train(tmp_path / "full", 4, config, **_quiet())
    assert full.step == 4 and not full.stopped
    half = train(tmp_path / "split", 2, config, **_quiet())
    assert half.checkpoint.name == "step-00000002"
    resumed = train(tmp_path / "split", 4, None, resume=True, **_quiet())
    assert resumed.step == 4
    from safetensors.torch import load_file

    for name in ("G.safetensors", "G_ema.safetensors"):
        a = load_file(str(full.checkpoint / name))
        b = load_file(str(resumed.checkpoint / name))
        assert a.keys() == b.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), (name, key)
    state = torch.load(resumed.checkpoint / "state.pt", weights_only=True)
    assert state["step"] == 4
    # Training changed the weights, and the log has one line per step plus the grids.
    first = load_file(str(full.checkpoint / "G.safetensors"))
    fresh = build_generator(config).state_dict()
    assert not torch.equal(first["mapping.fc0.weight"], fresh["mapping.fc0.weight"])
    lines = [json.loads(line) for line in (tmp_path / "full" / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in lines] == [1, 2, 3, 4]
    assert all(np.isfinite(r["loss"]) for r in lines) and "heldout_psnr_ema" in lines[1]
    assert 3 < lines[1]["heldout_feature_psnr_ema"] < 40  # an untrained network: a poor but finite score
    assert sorted(p.name for p in (tmp_path / "full" / "grids").iterdir()) == ["step-00000002.png", "step-00000004.png"]
    # Only the two newest checkpoints are kept.
    assert sorted(p.name for p in (tmp_path / "full" / "checkpoints").glob("step-*")) == ["step-00000004"]


def test_new_run_refuses_a_folder_with_checkpoints_and_resume_needs_one(tmp_path):
    config = TrainConfig(**TINY)
    train(tmp_path / "r", 1, config, **_quiet())
    with pytest.raises(InvalidOptionError, match="--resume"):
        train(tmp_path / "r", 2, config, **_quiet())
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(tmp_path / "empty", 2, None, resume=True, **_quiet())
    with pytest.raises(InvalidOptionError, match="another config"):
        train(tmp_path / "r", 2, TrainConfig(**{**TINY, "lr": 1e-4}), resume=True, **_quiet())


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where no CUDA GPU exists")
def test_training_on_a_missing_gpu_is_a_clear_error_before_any_file_is_written(tmp_path):
    with pytest.raises(InvalidOptionError, match="no CUDA GPU"):
        train(tmp_path / "r", 1, TrainConfig(**TINY), device="cuda", **_quiet())
    assert not (tmp_path / "r").exists()


def test_export_is_float16_with_w_avg_and_loads(tmp_path):
    from safetensors import safe_open

    from video2stylegan.networks.loading import load_generator

    config = TrainConfig(**TINY)
    train(tmp_path / "r", 2, config, **_quiet())
    out = export_generator(tmp_path / "r", tmp_path / "net.safetensors", w_avg_samples=2000)
    with safe_open(str(out), framework="pt") as handle:
        dtypes = {handle.get_tensor(k).dtype for k in handle.keys() if handle.get_tensor(k).is_floating_point()}
    assert dtypes == {torch.float16}
    G = load_generator(out)
    assert G.num_ws == config.num_layers + 2 and G.z_dim == 37
    expected = compute_w_avg(G, 2000)
    torch.testing.assert_close(G.w_avg, expected, atol=2e-3, rtol=2e-3)
    assert G.w_avg.abs().max() > 1e-3  # set, not the zero-initialised buffer
    with pytest.raises(InvalidOptionError, match="safetensors"):
        export_generator(tmp_path / "r", tmp_path / "net.pkl")
    with pytest.raises(CheckpointError, match="no checkpoint"):
        export_generator(tmp_path / "none", tmp_path / "x.safetensors")
    shipped = sorted(p.name for p in (PACKAGE_DIR / "assets" / "networks").iterdir())
    with pytest.raises(InvalidOptionError, match="is inside the installed video2stylegan package"):
        export_generator(tmp_path / "r", PACKAGE_DIR / "assets" / "networks" / "new.safetensors")
    assert sorted(p.name for p in (PACKAGE_DIR / "assets" / "networks").iterdir()) == shipped
    (tmp_path / "r.safetensors").mkdir()
    with pytest.raises(InvalidOptionError, match=r"out .*r\.safetensors is the same folder as run_dir"):
        export_generator(tmp_path / "r.safetensors", tmp_path / "r.safetensors")


def test_cli_errors_are_clean(tmp_path, capsys):
    from video2stylegan.cli.main import main

    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--resume"]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--resolution", "100"]) == 1
    assert "power of two" in capsys.readouterr().err
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--export", str(tmp_path / "x.safetensors")]) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--resume", "--lr", "0.1"]) == 1
    assert "keeps its config" in capsys.readouterr().err


def test_cli_trains_and_exports(tmp_path, capsys):
    from video2stylegan.cli.main import main

    run = str(tmp_path / "r")
    args = ["--resolution", "32", "--w-dim", "16", "--channel-base", "256", "--channel-max", "16",
            "--num-layers", "4", "--batch", "2", "--heldout", "2"]
    assert main(["train-synthetic", "--run", run, "--steps", "2", "--workers", "0", "--no-progress", *args]) == 0
    assert "finished at step 2" in capsys.readouterr().out
    assert main(["train-synthetic", "--run", run, "--export", str(tmp_path / "n.safetensors")]) == 0
    assert (tmp_path / "n.safetensors").stat().st_size < 30e6


def test_sigterm_writes_a_checkpoint_and_resume_continues(tmp_path):
    import os
    import signal
    import threading
    import time

    config = TrainConfig(**TINY)
    before = signal.getsignal(signal.SIGTERM)
    log = tmp_path / "r" / "log.jsonl"
    done = threading.Event()

    def terminate_after_three_steps():
        # Only once the trainer's handler is in place and a few steps are logged.
        while not done.is_set():
            if log.exists() and len(log.read_text().splitlines()) >= 3:
                assert signal.getsignal(signal.SIGTERM) is not before
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=terminate_after_three_steps, daemon=True)
    killer.start()
    try:
        result = train(tmp_path / "r", 10_000, config, workers=0, log_every=1, grid_every=1000,
                       checkpoint_every=1000, progress=False, handle_signals=True)
    finally:
        done.set()
        killer.join()
    assert result.stopped and 3 <= result.step < 10_000
    assert result.checkpoint.name == f"step-{result.step:08d}"
    assert (tmp_path / "r" / "checkpoints" / "latest").read_text().strip() == result.checkpoint.name
    assert signal.getsignal(signal.SIGTERM) is before  # our handler is gone again
    more = train(tmp_path / "r", result.step + 1, None, resume=True, **_quiet())
    assert more.step == result.step + 1 and not more.stopped


def test_init_from_starts_a_new_run_from_another_runs_weights(tmp_path):
    from safetensors.torch import load_file

    config = TrainConfig(**TINY)
    first = train(tmp_path / "a", 3, config, **_quiet())
    # The least learning rate (1e-8) barely moves the weights: the new run's weights are the old run's.
    follow = TrainConfig(**{**TINY, "lr": 1e-8, "init_from": str(tmp_path / "a")})
    second = train(tmp_path / "b", 1, follow, **_quiet())
    a, b = load_file(str(first.checkpoint / "G.safetensors")), load_file(str(second.checkpoint / "G.safetensors"))
    fresh = build_generator(config)
    for name, _ in fresh.named_parameters():  # (buffers such as magnitude_ema move in every forward pass)
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0)
    assert not torch.equal(b["mapping.fc0.weight"], fresh.state_dict()["mapping.fc0.weight"])
    # One checkpoint folder works too; a run of another shape or a folder without weights does not.
    assert train(tmp_path / "c", 1, TrainConfig(**{**TINY, "init_from": str(first.checkpoint)}), **_quiet()).step == 1
    with pytest.raises(CheckpointError, match="does not match"):
        train(tmp_path / "d", 1, TrainConfig(**{**TINY, "w_dim": 8, "init_from": str(tmp_path / "a")}), **_quiet())
    with pytest.raises(CheckpointError, match="neither"):
        train(tmp_path / "e", 1, TrainConfig(**{**TINY, "init_from": str(tmp_path / "nothing")}), **_quiet())


def test_init_from_an_exported_network_starts_both_generators(tmp_path):
    from safetensors.torch import load_file

    from video2stylegan.training.loop import export_generator

    config = TrainConfig(**TINY)
    train(tmp_path / "a", 3, config, **_quiet())
    exported = export_generator(tmp_path / "a", tmp_path / "net.safetensors", w_avg_samples=16)
    follow = TrainConfig(**{**TINY, "lr": 1e-8, "init_from": str(exported)})
    second = train(tmp_path / "b", 1, follow, **_quiet())
    net = load_file(str(exported))
    for part in ("G", "G_ema"):
        got = load_file(str(second.checkpoint / f"{part}.safetensors"))
        for name, _ in build_generator(config).named_parameters():
            torch.testing.assert_close(got[name], net[name].float(), atol=1e-6, rtol=0)


# ---------------------------------------------------------------- ranges and non-finite training


@pytest.mark.parametrize("key, value, message", [
    ("ema_kimg", float("nan"), "ema_kimg must be a finite number from 0.0 to 1000.0, got nan"),
    ("ema_kimg", -1.0, "ema_kimg must be a finite number from 0.0 to 1000.0, got -1.0"),
    ("lr", float("inf"), "lr must be a finite number from 1e-08 to 1.0, got inf"),
    ("lr", 0.0, "lr must be a finite number from 1e-08 to 1.0, got 0.0"),
    ("mapping_lr_multiplier", float("nan"), "mapping_lr_multiplier must be a finite number"),
    ("part_weight", float("-inf"), "part_weight must be a finite number from 0.0 to 10.0"),
    ("lr_min_fraction", 1.5, "lr_min_fraction must be a finite number from 0.0 to 1.0"),
    ("ema_rampup", float("nan"), "ema_rampup must be a finite number"),
    ("batch", 100_000, "batch must be an integer from 1 to 256, got 100000"),
    ("resolution", 4096, "resolution must be an integer from 16 to 1024, got 4096"),
    ("channel_base", 10**9, "channel_base must be an integer from 1 to 65536"),
    ("heldout", 1000, "heldout must be an integer from 1 to 64"),
    ("num_layers", 2, "num_layers must be an integer from 3 to 20"),
    ("seed", -1, "seed must be an integer from 0 to 4294967295"),
    ("batch", 2.5, "batch must be an integer, got 2.5"),
    ("w_dim", True, "w_dim must be an integer, got True"),
    ("lr", "0.01", "lr must be a number, got '0.01'"),
    ("betas", (0.9, 1.0), r"betas must be two numbers from 0 to below 1"),
    ("betas", (float("nan"), 0.99), r"betas must be two numbers from 0 to below 1"),
])
def test_config_refuses_non_finite_and_out_of_range_values(key, value, message):
    with pytest.raises(InvalidOptionError, match=message):
        TrainConfig(**{**TINY, key: value})


def test_config_keeps_the_ends_of_its_ranges():
    config = TrainConfig(**{**TINY, "lr": 1e-8, "ema_kimg": 0, "part_weight": 10, "seed": 2**32 - 1, "batch": 256})
    assert (config.lr, config.ema_kimg, config.part_weight, config.seed) == (1e-8, 0.0, 10.0, 2**32 - 1)
    assert isinstance(config.ema_kimg, float)
    assert config.ema_beta(0) == 0.0  # ema_kimg 0: G_ema is a copy of G


@pytest.mark.parametrize("option, value, message", [
    ("--ema-kimg", "nan", "argument --ema-kimg: nan is not a finite number from 0 to 1000"),
    ("--lr", "inf", "argument --lr: inf is not a finite number from 1e-08 to 1"),
    ("--part-weight", "-1", "argument --part-weight: -1 is not a finite number from 0 to 10"),
    ("--mapping-lr-multiplier", "nan", "argument --mapping-lr-multiplier: nan is not a finite number"),
    ("--checkpoint-minutes", "inf", "argument --checkpoint-minutes: inf is not a finite number from 0 to 1440"),
    ("--batch", "100000", "argument --batch: 100000 is not an integer from 1 to 256"),
    ("--resolution", "100000", "argument --resolution: 100000 is not an integer from 16 to 1024"),
    ("--workers", "1000", "argument --workers: 1000 is not an integer from 0 to 64"),
    ("--threads", "0", "argument --threads: 0 is not an integer from 1 to 256"),
    ("--steps", "0", "argument --steps: 0 is not an integer of at least 1"),
])
def test_cli_refuses_bad_numbers_before_creating_the_run(tmp_path, capsys, option, value, message):
    from video2stylegan.cli.main import main

    with pytest.raises(SystemExit) as info:
        main(["train-synthetic", "--run", str(tmp_path / "r"), option, value])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def _snapshot(folder):
    """Bytes of every file of a checkpoint folder."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def _assert_finite_checkpoint(folder):
    from safetensors.torch import load_file

    for name in ("G.safetensors", "G_ema.safetensors"):
        tensors = load_file(str(folder / name))
        assert len(tensors) > 10 and all(torch.isfinite(t).all() for t in tensors.values()), name


def _nan_from_call(function, first_bad_call):
    """``function`` whose result is multiplied by nan from call ``first_bad_call`` (1-based) on."""
    calls = []

    def patched(*args, **kwargs):
        calls.append(1)
        result = function(*args, **kwargs)
        if len(calls) < first_bad_call:
            return result
        if isinstance(result, tuple):  # distillation_loss: (total, parts)
            return result[0] * float("nan"), result[1]
        return result * float("nan")

    return patched


@pytest.mark.parametrize("target, what, named", [
    ("distillation_loss", "the loss became nan or inf", "l1 "),
    ("TrainConfig.lr_at", "the weights became nan or inf", "G.synthesis.input.weight"),
    ("TrainConfig.ema_beta", "the weights became nan or inf", "G_ema.synthesis.input.weight"),
])
def test_a_non_finite_step_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, target, what,
                                                                             named):
    """Three ways training goes non-finite (the loss; G's weights through a nan learning rate; G_ema's through
    a nan EMA decay, what '--ema-kimg nan' did): the step is named, nothing of it is written, and the
    checkpoint before it stays the run's latest, byte for byte and finite."""
    import video2stylegan.training.loop as training
    from video2stylegan.errors import GenerationError

    run = tmp_path / "r"
    first = train(run, 2, TrainConfig(**TINY), **_quiet())
    before = _snapshot(first.checkpoint)
    log_lines = (run / "log.jsonl").read_text()
    owner, _, name = target.rpartition(".")
    holder = getattr(training, owner) if owner else training
    # the resumed run's first call is step 3 (calls made while resuming: none before it)
    monkeypatch.setattr(holder, name, _nan_from_call(getattr(holder, name), 1))
    with pytest.raises(GenerationError) as info:
        train(run, 4, None, resume=True, **_quiet())
    message = str(info.value)
    assert f"training of {run} stopped at step 3: {what}" in message and named in message
    assert f"last good checkpoint ({first.checkpoint}) is intact" in message and "--init-from" in message
    assert sorted(p.name for p in (run / "checkpoints").glob("step-*")) == ["step-00000002"]
    assert (run / "checkpoints" / "latest").read_text().strip() == "step-00000002"
    assert _snapshot(first.checkpoint) == before
    _assert_finite_checkpoint(first.checkpoint)
    assert (run / "log.jsonl").read_text() == log_lines  # no line for the failed step
    monkeypatch.undo()
    assert train(run, 3, None, resume=True, **_quiet()).step == 3  # the run goes on from the good checkpoint


def test_save_checkpoint_refuses_non_finite_tensors_before_touching_the_disk(tmp_path):
    import copy

    from video2stylegan.errors import GenerationError
    from video2stylegan.training.loop import Run, save_checkpoint

    run = tmp_path / "r"
    good = train(run, 1, TrainConfig(**TINY), **_quiet()).checkpoint
    before = _snapshot(good)
    G = build_generator(TrainConfig(**TINY))
    G_ema = copy.deepcopy(G)
    opt = torch.optim.Adam(G.parameters())
    with torch.no_grad():
        G_ema.synthesis.L2_52_8.affine.bias[3] = float("inf")
    with pytest.raises(GenerationError, match=r"checkpoint step 5 of .* not written: G_ema\.synthesis\.L2_52_8\."
                                              r"affine\.bias hold nan or inf"):
        save_checkpoint(Run(run), 5, G, G_ema, opt)
    assert not (run / "checkpoints" / "step-00000005").exists()
    assert (run / "checkpoints" / "latest").read_text().strip() == good.name and _snapshot(good) == before
