"""Projection into W+ on a small random StyleGAN3 (the 128 px numbers are in benchmarks/projection.py)."""

import math

import pytest
import torch

from video2stylegan.method.projection import ProjectionSettings, project_frames, project_image
from video2stylegan.networks.stylegan3 import Generator

@pytest.fixture(scope="module")
def G():
    torch.manual_seed(0)
    net = Generator(z_dim=32, c_dim=0, w_dim=32, img_resolution=64, img_channels=3, channel_base=1024, channel_max=32)
    return net.eval().requires_grad_(False)


def clip(G, n, motion, seed=1):
    """``n`` frames of a w moving ``motion`` of the way from w_A to w_B per frame."""
    with torch.no_grad():
        w = G.mapping(torch.randn(2, G.z_dim, generator=torch.Generator().manual_seed(seed)), None)
        ws = torch.stack([w[0] + motion * j * (w[1] - w[0]) for j in range(n)])
        return ws, G.synthesis(ws)


def test_schedule_warmup_and_cosine_rampdown():
    s = ProjectionSettings(steps=100, lr=0.1, lr_rampup=0.05, lr_rampdown=0.25)
    lrs = [s.lr_at(i) for i in range(100)]
    assert lrs[0] == pytest.approx(0.1 * 0.2) and lrs[4] == pytest.approx(0.1)
    assert all(v == pytest.approx(0.1) for v in lrs[5:75])
    assert all(a >= b for a, b in zip(lrs[75:], lrs[76:])) and lrs[-1] < 0.001
    assert lrs[88] == pytest.approx(0.1 * (0.5 - 0.5 * math.cos(math.pi * 12 / 25)))
    w = ProjectionSettings.warm(steps=10)
    assert w.steps == 10 and w.lr_at(0) > 0
    assert ProjectionSettings().to_dict()["betas"] == [0.9, 0.999]


@pytest.fixture(scope="module")
def cold_clip(G):
    """Three frames of a slow motion (like consecutive video frames), each projected cold to 32 dB."""
    _, frames = clip(G, 3, 0.05, seed=1)
    first = ProjectionSettings(steps=60, perceptual="fallback", stop_psnr=32.0)
    nxt = ProjectionSettings.warm(perceptual="fallback", stop_psnr=32.0)
    cold = project_frames(G, frames, first, nxt, warm_start=False, progress=False)
    return frames, first, nxt, cold


def test_projection_recovers_generated_image(G, cold_clip):
    """Cold start from w_avg (about 20 dB) reaches the 32 dB threshold on generated targets."""
    frames, first, _, cold = cold_clip
    from video2stylegan.method.losses import psnr

    with torch.no_grad():
        start = psnr(G.synthesis(G.w_avg.reshape(1, 1, -1).expand(3, G.num_ws, -1)), frames)
    assert (start < 24).all(), start
    assert (cold.psnr >= 32.0).all(), cold.psnr
    assert all(0 < k < first.steps for k in cold.steps), cold.steps
    r = project_image(G, frames[:1], first.replace(stop_psnr=None, steps=5), progress=False)
    assert r.ws.shape == (1, G.num_ws, G.w_dim) and not r.ws.requires_grad
    assert r.loss_history[-1] < r.loss_history[0] and len(r.psnr_history) == 5 and r.steps_to_psnr == [-1]


def test_warm_start_needs_fewer_steps_than_cold(G, cold_clip):
    frames, first, nxt, cold = cold_clip
    # Frame 0's cold solution starts the chain; frames 1 and 2 are warm-started.
    warm = project_frames(G, frames[1:], None, nxt, warm_start=True, init_ws=cold.ws[0], progress=False)
    assert (warm.psnr >= 32.0).all(), warm.psnr
    assert sum(warm.steps) * 3 <= sum(cold.steps[1:]), (warm.steps, cold.steps)
    # The criterion on the whole clip: same quality with >= 3x fewer total steps.
    assert (cold.steps[0] + sum(warm.steps)) * 3 <= sum(cold.steps), (warm.steps, cold.steps)


def test_batch_w_mode_and_init(G):
    ws_true, frames = clip(G, 2, 0.5, seed=5)
    s = ProjectionSettings(steps=2, perceptual="fallback")
    both = project_image(G, frames, s, progress=False)
    one = project_image(G, frames[1:], s, progress=False)
    torch.testing.assert_close(both.ws[1], one.ws[0], atol=1e-4, rtol=1e-4)  # batch members are independent
    # Warm chain in chunks of 2: frames 1 and 2 both start from frame 0's solution, in one batch.
    three = torch.cat([frames, frames[1:]])
    chunked = project_frames(G, three, s, s.replace(steps=1), warm_start=True, batch=2, progress=False)
    assert chunked.steps == [2, 1, 1] and chunked.ws.shape == (3, G.num_ws, G.w_dim)
    torch.testing.assert_close(chunked.ws[1], chunked.ws[2])  # same target, same start: same result
    w_only = project_image(G, frames[:1], s.replace(w_plus=False), progress=False)
    assert torch.equal(w_only.ws[0, 0], w_only.ws[0, -1])  # one w broadcast to all layers
    exact = project_image(G, frames[:1], s.replace(steps=0), init_ws=ws_true[:1], progress=False)
    assert float(exact.psnr[0]) > 60
    with pytest.raises(ValueError):
        project_image(G, frames[:, :, :32, :32], s, progress=False)
    with pytest.raises(ValueError):
        project_image(G, frames, s.replace(identity_weight=1.0), progress=False)
    # identity term: a caller-supplied callable is used
    calls = []

    def ident(x, y):
        calls.append(x.shape[0])
        return (x - y).abs().flatten(1).mean(1)

    project_image(G, frames[:1], s.replace(steps=1, identity_weight=0.5), identity_fn=ident, progress=False)
    assert calls == [1]
