"""Projection into W+ on a small random StyleGAN3 (the 128 px numbers are in benchmarks/projection.py)."""

import math

import pytest
import torch

from video2stylegan.method.projection import ClipCache, FramesSettings, ProjectionSettings, project_frames, project_image
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
    cold = project_frames(G, frames, FramesSettings(first, nxt, warm_start=False), progress=False)
    return frames, first, nxt, cold


def test_projection_recovers_generated_image(G, cold_clip):
    """Cold start from w_avg (about 20 dB) reaches the 32 dB threshold on generated targets."""
    frames, first, _, cold = cold_clip
    from video2stylegan.method.losses import tensor_psnr

    with torch.no_grad():
        start = tensor_psnr(G.synthesis(G.w_avg.reshape(1, 1, -1).expand(3, G.num_ws, -1)), frames)
    assert (start < 24).all(), start
    assert (cold.psnr >= 32.0).all(), cold.psnr
    assert all(0 < k < first.steps for k in cold.steps), cold.steps
    r = project_image(G, frames[:1], first.replace(stop_psnr=None, steps=5), progress=False)
    assert r.ws.shape == (1, G.num_ws, G.w_dim) and not r.ws.requires_grad
    assert r.loss_history[-1] < r.loss_history[0] and len(r.psnr_history) == 5 and r.steps_to_psnr == [-1]


def test_warm_start_needs_fewer_steps_than_cold(G, cold_clip):
    frames, first, nxt, cold = cold_clip
    # Frame 0's cold solution starts the chain; frames 1 and 2 are warm-started.
    warm = project_frames(G, frames[1:], FramesSettings(later=nxt, warm_start=True), init_ws=cold.ws[0], progress=False)
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
    chunked = project_frames(G, three, FramesSettings(s, s.replace(steps=1), warm_start=True, batch=2), progress=False)
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


class CountingSource:
    """A frame source over a tensor that records every batch of indices read from it."""

    def __init__(self, frames):
        self.frames, self.reads = frames, []

    def __len__(self):
        return self.frames.shape[0]

    def targets(self, indices):
        self.reads.append(list(indices))
        return self.frames[indices].clone()


@pytest.mark.parametrize("warm_start, batch", [(True, 2), (True, 1), (False, 2)])
def test_frame_source_gives_bitwise_the_tensor_result_reading_one_chunk_at_a_time(G, warm_start, batch):
    _, frames = clip(G, 5, 0.1, seed=3)
    first = ProjectionSettings(steps=3, perceptual="fallback")
    nxt = ProjectionSettings.warm(steps=2, perceptual="fallback")
    settings = FramesSettings(first, nxt, warm_start=warm_start, batch=batch)
    whole = project_frames(G, frames, settings, progress=False)
    source = CountingSource(frames)
    streamed = project_frames(G, source, settings, progress=False)
    listed = project_frames(G, list(frames), settings, progress=False)
    for other in (streamed, listed):
        assert torch.equal(other.ws, whole.ws) and torch.equal(other.psnr, whole.psnr)
        assert other.steps == whole.steps
    assert whole.psnr.isfinite().all() and not torch.equal(whole.ws[0], whole.ws[-1])
    # every frame read exactly once, in chunks of at most `batch` frames (frame 0 alone when warm)
    assert sorted(j for r in source.reads for j in r) == list(range(5))
    assert max(len(r) for r in source.reads) == batch
    if warm_start:
        assert source.reads[0] == [0]


def test_frame_source_reads_only_frames_the_cache_cannot_answer(G, tmp_path):
    from video2stylegan.method.cache import ProjectionCache, network_identity

    _, frames = clip(G, 4, 0.1, seed=4)
    first = ProjectionSettings(steps=2, perceptual="fallback")
    nxt = ProjectionSettings.warm(steps=1, perceptual="fallback")
    cache = ProjectionCache(tmp_path)
    settings = FramesSettings(first, nxt, batch=2)
    kw = dict(cache=ClipCache(cache, network_identity(G), "clip"), progress=False)
    fresh = project_frames(G, frames, settings, **kw)  # entries written by the tensor path
    source = CountingSource(frames)
    again = project_frames(G, source, settings, **kw)
    assert all(again.cached) and cache.hits == 4 and source.reads == []  # same keys; cached PSNRs need no frame
    assert torch.equal(again.ws, fresh.ws) and torch.equal(again.psnr, fresh.psnr)
    # an entry stored without its PSNR: only that frame is read back, to measure it
    cache.put(network_identity(G), "clip", 2, settings.to_dict(), fresh.ws[2].numpy(), psnr=None)
    third = project_frames(G, source, settings, **kw)
    assert source.reads == [[2]] and all(third.cached)
    torch.testing.assert_close(third.psnr, fresh.psnr, rtol=0, atol=1e-4)


def test_bad_frame_sources_are_named():
    from video2stylegan.errors import InvalidOptionError

    G = Generator(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3, channel_base=256, channel_max=8)
    s = ProjectionSettings(steps=1, perceptual="fallback")

    class Short(CountingSource):
        def targets(self, indices):
            return self.frames[:1]

    with pytest.raises(InvalidOptionError, match=r"Short gave \[1, 3, 16, 16\] for 2 frames"):
        project_frames(G, Short(torch.zeros(3, 3, 16, 16)), FramesSettings(s, s, warm_start=False, batch=2),
                       progress=False)
    with pytest.raises(InvalidOptionError, match="frame source with len"):
        project_frames(G, 42, FramesSettings(s, s), progress=False)
