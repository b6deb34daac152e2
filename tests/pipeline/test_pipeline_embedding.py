"""embed_source's PTI cache entry: checked on read (checksum, shapes for the network), healed, and failed
writes warned once per run."""

from __future__ import annotations

import errno
import logging

import numpy as np
import pytest
import torch

from video2stylegan.method import cache as cache_mod
from video2stylegan.method.cache import ProjectionCache, network_identity
from video2stylegan.pipeline.embedding import EmbeddingOptions, embed_source

OPTIONS = EmbeddingOptions(source_steps=2, pti_steps=2, perceptual="fallback")


@pytest.fixture(scope="module")
def source(tiny_G):
    """A target the tiny network can draw, its identity, and the embedding computed without a cache."""
    z = torch.randn(1, tiny_G.z_dim, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        target = tiny_G.synthesis(tiny_G.mapping(z, None))
    fresh = embed_source(tiny_G, target, "src-sha", OPTIONS, progress=False)
    return target, network_identity(tiny_G), fresh


def _embed(G, target, cache, net_id):
    return embed_source(G, target, "src-sha", OPTIONS, cache=cache, network_id=net_id, progress=False)


def _pti_file(cache):
    files = list((cache.root / "pti").glob("*.safetensors"))
    assert len(files) == 1
    return files[0]


def _flip_data_byte(path, offset=4096):
    """Flip one bit ``offset`` bytes into the tensor data (after the 8-byte length and the JSON header)."""
    data = bytearray(path.read_bytes())
    start = 8 + int.from_bytes(data[:8], "little")
    assert start + offset < len(data)
    data[start + offset] ^= 0x01
    path.write_bytes(bytes(data))


def _assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for name in sa:
        torch.testing.assert_close(sa[name], sb[name], rtol=0, atol=0, msg=name)


def _legacy(path, G, other):
    from video2stylegan.networks.checkpoint import save_generator

    save_generator(G, path)  # what earlier versions stored: no integrity record


def _other_network(path, G, other):
    """A well-formed entry (record and checksum right) of another architecture under this key."""
    cache_mod.write_tensor_entry(path, {k: v.float() for k, v in other.state_dict().items()}, {}, what="test")


DAMAGE = {
    "flipped data byte": (lambda path, G, other: _flip_data_byte(path), "checksum mismatch"),
    "truncated": (lambda path, G, other: path.write_bytes(path.read_bytes()[:-1000]), "unreadable"),
    "legacy": (_legacy, "no checksum (written by an earlier version)"),
    "other network": (_other_network, "does not fit the network"),
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_pti_entry_is_reported_deleted_and_tuned_again(kind, tiny_G, source, tmp_path, caplog):
    from video2stylegan.networks.stylegan3 import Generator

    target, net_id, fresh = source
    cache = ProjectionCache(tmp_path)
    first = _embed(tiny_G, target, cache, net_id)
    assert not first.cached_pti
    _assert_same_weights(first.G_render, fresh.G_render)
    path = _pti_file(cache)
    assert cache_mod.verify_entry(path) is None
    served = _embed(tiny_G, target, ProjectionCache(tmp_path), net_id)
    assert served.cached_pti and served.psnr_pti == pytest.approx(fresh.psnr_pti, abs=1e-4)
    _assert_same_weights(served.G_render, fresh.G_render)

    other = Generator(z_dim=8, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, channel_base=256,
                      channel_max=8, num_layers=4, conv_kernel=1)
    damage, reason = DAMAGE[kind]
    damage(path, tiny_G if kind != "legacy" else fresh.G_render, other)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        again = _embed(tiny_G, target, ProjectionCache(tmp_path), net_id)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and reason in warnings[0], warnings
    assert "deleted, tuning again" in warnings[0]
    assert again.cached_w and not again.cached_pti  # the projection entry was fine
    _assert_same_weights(again.G_render, fresh.G_render)
    assert again.psnr_pti == pytest.approx(fresh.psnr_pti, abs=1e-6)
    assert cache_mod.verify_entry(path) is None  # written again, good


def test_flipped_pti_byte_would_change_the_rendering(tiny_G, source, tmp_path):
    """Why the checksum matters: the flipped weight is used silently by a plain load."""
    from video2stylegan.networks.checkpoint import load_safetensors_generator

    target, net_id, fresh = source
    cache = ProjectionCache(tmp_path)
    _embed(tiny_G, target, cache, net_id)
    path = _pti_file(cache)
    _flip_data_byte(path, offset=path.stat().st_size // 2)
    flipped = load_safetensors_generator(path)  # loads without complaint
    changed = [n for n, t in flipped.state_dict().items() if not torch.equal(t, fresh.G_render.state_dict()[n])]
    assert len(changed) == 1
    assert "checksum mismatch" in cache_mod.verify_entry(path)


def test_pti_entry_is_a_network_file(tiny_G, source, tmp_path):
    from video2stylegan.networks.checkpoint import load_safetensors_generator

    target, net_id, fresh = source
    cache = ProjectionCache(tmp_path)
    _embed(tiny_G, target, cache, net_id)
    _assert_same_weights(load_safetensors_generator(_pti_file(cache)), fresh.G_render)


def test_wrong_shape_source_projection_is_recomputed(tiny_G, source, tmp_path, caplog):
    """It used to crash in reshape; now the shape is checked against the network before use."""
    target, net_id, fresh = source
    cache = ProjectionCache(tmp_path)
    settings = OPTIONS.source_settings().to_dict()
    cache.put(net_id, "ref:src-sha", 0, settings, np.zeros((tiny_G.num_ws - 1, tiny_G.w_dim), np.float32), psnr=99.0)
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        r = embed_source(tiny_G, target, "src-sha", OPTIONS.replace(pti_steps=0), cache=cache, network_id=net_id,
                         progress=False)
    warnings = [m.getMessage() for m in caplog.records if m.levelno == logging.WARNING]
    assert len(warnings) == 1 and "ws has shape [7, 16], the network needs [..., 8, 16]" in warnings[0]
    assert not r.cached_w and r.psnr == pytest.approx(fresh.psnr, abs=1e-6)
    torch.testing.assert_close(r.w_ref, fresh.w_ref, rtol=0, atol=0)


def test_write_failures_warn_once_per_run(tiny_G, source, tmp_path, monkeypatch, caplog):
    import safetensors.torch

    target, net_id, fresh = source
    tried = []

    def disk_full_npz(f, **arrays):
        tried.append("npz")
        f.write(b"PK half")
        raise OSError(errno.ENOSPC, "No space left on device")

    def disk_full_safetensors(tensors, filename, metadata=None):
        tried.append("safetensors")
        with open(filename, "wb") as f:
            f.write(b"\x10\x00half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "savez", disk_full_npz)
    monkeypatch.setattr(safetensors.torch, "save_file", disk_full_safetensors)
    cache = ProjectionCache(tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        r = _embed(tiny_G, target, cache, net_id)
    warnings = [m.getMessage() for m in caplog.records if m.levelno == logging.WARNING]
    assert tried == ["npz", "safetensors"] and len(warnings) == 1, warnings
    assert f"cannot write to the cache folder {cache.root} (No space left on device)" in warnings[0]
    _assert_same_weights(r.G_render, fresh.G_render)
    assert [p for p in (tmp_path / "cache").rglob("*") if p.is_file()] == []


def test_frames_that_fit_in_free_gpu_memory():
    from video2stylegan.pipeline.embedding import frames_that_fit

    gb = 10**9
    # 1024 px R: 14.64 GB kept per frame (meta-device count) times the loss margin 1.5.
    assert frames_that_fit(80 * gb, int(14.64 * gb * 1.5)) == 2  # an H100 could not hold the old default of 8
    assert frames_that_fit(139 * gb, int(14.64 * gb * 1.5)) == 3
    assert frames_that_fit(80 * gb, int(5.83 * gb * 1.5)) == 5  # --low-memory
    assert frames_that_fit(80 * gb, int(0.2 * gb)) == 8  # small networks: capped at 8
    assert frames_that_fit(10 * gb, 50 * gb) == 1  # never fewer than one


def test_default_frame_batch_is_one_on_the_cpu_and_measured_on_a_gpu(monkeypatch):
    from types import SimpleNamespace

    import torch

    from video2stylegan.pipeline import embedding

    cpu_G = SimpleNamespace(w_avg=torch.zeros(4))
    assert embedding.default_frame_batch(cpu_G) == 1
    gpu_G = SimpleNamespace(w_avg=SimpleNamespace(device=torch.device("cuda", 0)))
    monkeypatch.setattr(embedding, "backward_bytes_per_frame", lambda G: 10 * 10**9)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (100 * 10**9, 141 * 10**9))
    assert embedding.default_frame_batch(gpu_G) == 4  # 0.6 * 100 GB // (10 GB * 1.5)
