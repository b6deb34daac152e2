"""The training loop: resume, refusals, signals, starting from other weights, non-finite steps, checkpoints."""

import json
import os
import signal
import threading
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from training_helpers import QUIET, TINY, snapshot

from video2stylegan.errors import CheckpointError, GenerationError, InvalidOptionError
from video2stylegan.training import loop
from video2stylegan.training.checkpoints import build_generator
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.export import export_generator
from video2stylegan.training.loop import TrainOptions, train


def test_resume_equals_an_uninterrupted_run(tmp_path):
    config = TrainConfig(**TINY)
    full = train(tmp_path / "full", 4, config, options=QUIET)
    assert full.step == 4 and not full.stopped
    half = train(tmp_path / "split", 2, config, options=QUIET)
    assert half.checkpoint.name == "step-00000002"
    resumed = train(tmp_path / "split", 4, None, resume=True, options=QUIET)
    assert resumed.step == 4
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
    train(tmp_path / "r", 1, config, options=QUIET)
    with pytest.raises(InvalidOptionError, match="--resume"):
        train(tmp_path / "r", 2, config, options=QUIET)
    with pytest.raises(CheckpointError, match="no checkpoint"):
        train(tmp_path / "empty", 2, None, resume=True, options=QUIET)
    with pytest.raises(InvalidOptionError, match="another config"):
        train(tmp_path / "r", 2, TrainConfig(**{**TINY, "lr": 1e-4}), resume=True, options=QUIET)


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message given where no CUDA GPU exists")
def test_training_on_a_missing_gpu_is_a_clear_error_before_any_file_is_written(tmp_path):
    with pytest.raises(InvalidOptionError, match="no CUDA GPU"):
        train(tmp_path / "r", 1, TrainConfig(**TINY), options=replace(QUIET, device="cuda"))
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("option, value, message", [
    ("log_every", 0, "log_every must be at least 1, got 0."),
    ("grid_every", -3, "grid_every must be at least 1, got -3."),
    ("checkpoint_every", 0, "checkpoint_every must be at least 1, got 0."),
    ("workers", -1, "workers must be >= 0, got -1."),
])
def test_options_refuse_intervals_below_one_and_negative_workers(option, value, message):
    with pytest.raises(InvalidOptionError, match=message):
        TrainOptions(**{option: value})
    assert getattr(TrainOptions(**{option: 1}), option) == 1


def test_sigterm_writes_a_checkpoint_and_resume_continues(tmp_path):
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
        result = train(tmp_path / "r", 10_000, config,
                       options=replace(QUIET, grid_every=1000, checkpoint_every=1000, handle_signals=True))
    finally:
        done.set()
        killer.join()
    assert result.stopped and 3 <= result.step < 10_000
    assert result.checkpoint.name == f"step-{result.step:08d}"
    assert (tmp_path / "r" / "checkpoints" / "latest").read_text().strip() == result.checkpoint.name
    assert signal.getsignal(signal.SIGTERM) is before  # our handler is gone again
    more = train(tmp_path / "r", result.step + 1, None, resume=True, options=QUIET)
    assert more.step == result.step + 1 and not more.stopped


def test_init_from_starts_a_new_run_from_another_runs_weights(tmp_path):
    config = TrainConfig(**TINY)
    first = train(tmp_path / "a", 3, config, options=QUIET)
    # The least learning rate (1e-8) barely moves the weights: the new run's weights are the old run's.
    follow = TrainConfig(**{**TINY, "lr": 1e-8, "init_from": str(tmp_path / "a")})
    second = train(tmp_path / "b", 1, follow, options=QUIET)
    a, b = load_file(str(first.checkpoint / "G.safetensors")), load_file(str(second.checkpoint / "G.safetensors"))
    fresh = build_generator(config)
    for name, _ in fresh.named_parameters():  # (buffers such as magnitude_ema move in every forward pass)
        torch.testing.assert_close(b[name], a[name], atol=1e-6, rtol=0)
    assert not torch.equal(b["mapping.fc0.weight"], fresh.state_dict()["mapping.fc0.weight"])
    # One checkpoint folder works too; a run of another shape or a folder without weights does not.
    assert train(tmp_path / "c", 1, TrainConfig(**{**TINY, "init_from": str(first.checkpoint)}), options=QUIET).step == 1
    with pytest.raises(CheckpointError, match="does not match"):
        train(tmp_path / "d", 1, TrainConfig(**{**TINY, "w_dim": 8, "init_from": str(tmp_path / "a")}), options=QUIET)
    with pytest.raises(CheckpointError, match="neither"):
        train(tmp_path / "e", 1, TrainConfig(**{**TINY, "init_from": str(tmp_path / "nothing")}), options=QUIET)


def test_init_from_an_exported_network_starts_both_generators(tmp_path):
    config = TrainConfig(**TINY)
    train(tmp_path / "a", 3, config, options=QUIET)
    exported = export_generator(tmp_path / "a", tmp_path / "net.safetensors", w_avg_samples=16)
    follow = TrainConfig(**{**TINY, "lr": 1e-8, "init_from": str(exported)})
    second = train(tmp_path / "b", 1, follow, options=QUIET)
    net = load_file(str(exported))
    for part in ("G", "G_ema"):
        got = load_file(str(second.checkpoint / f"{part}.safetensors"))
        for name, _ in build_generator(config).named_parameters():
            torch.testing.assert_close(got[name], net[name].float(), atol=1e-6, rtol=0)


def _assert_finite_checkpoint(folder):
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
    run = tmp_path / "r"
    first = train(run, 2, TrainConfig(**TINY), options=QUIET)
    before = snapshot(first.checkpoint)
    log_lines = (run / "log.jsonl").read_text()
    owner, _, name = target.rpartition(".")
    holder = getattr(loop, owner) if owner else loop
    # the resumed run's first call is step 3 (calls made while resuming: none before it)
    monkeypatch.setattr(holder, name, _nan_from_call(getattr(holder, name), 1))
    with pytest.raises(GenerationError) as info:
        train(run, 4, None, resume=True, options=QUIET)
    message = str(info.value)
    assert f"training of {run} stopped at step 3: {what}" in message and named in message
    assert f"last good checkpoint ({first.checkpoint}) is intact" in message and "--init-from" in message
    assert sorted(p.name for p in (run / "checkpoints").glob("step-*")) == ["step-00000002"]
    assert (run / "checkpoints" / "latest").read_text().strip() == "step-00000002"
    assert snapshot(first.checkpoint) == before
    _assert_finite_checkpoint(first.checkpoint)
    assert (run / "log.jsonl").read_text() == log_lines  # no line for the failed step
    monkeypatch.undo()
    assert train(run, 3, None, resume=True, options=QUIET).step == 3  # the run goes on from the good checkpoint
