"""Checkpoints: only ever written whole and finite."""

import copy

import pytest
import torch
from training_helpers import QUIET, TINY, snapshot

from video2stylegan.errors import GenerationError
from video2stylegan.training.checkpoints import Run, build_generator, save_checkpoint
from video2stylegan.training.config import TrainConfig
from video2stylegan.training.loop import train


def test_save_checkpoint_refuses_non_finite_tensors_before_touching_the_disk(tmp_path):
    run = tmp_path / "r"
    good = train(run, 1, TrainConfig(**TINY), options=QUIET).checkpoint
    before = snapshot(good)
    G = build_generator(TrainConfig(**TINY))
    G_ema = copy.deepcopy(G)
    opt = torch.optim.Adam(G.parameters())
    with torch.no_grad():
        G_ema.synthesis.L2_52_8.affine.bias[3] = float("inf")
    with pytest.raises(GenerationError, match=r"checkpoint step 5 of .* not written: G_ema\.synthesis\.L2_52_8\."
                                              r"affine\.bias hold nan or inf"):
        save_checkpoint(Run(run), 5, G, G_ema, opt)
    assert not (run / "checkpoints" / "step-00000005").exists()
    assert (run / "checkpoints" / "latest").read_text().strip() == good.name and snapshot(good) == before
