"""Projection cache: keys, atomic writes, hit/miss counting, and project_frames reruns served from it."""

import json

import numpy as np
import pytest
import torch

from video2stylegan.method import cache as cache_mod
from video2stylegan.method.cache import ProjectionCache, canonical_json, file_sha256, network_identity
from video2stylegan.method.projection import ProjectionSettings, frames_settings_dict, project_frames
from video2stylegan.networks.stylegan3 import Generator

def tiny_generator(seed=0):
    torch.manual_seed(seed)
    G = Generator(z_dim=16, c_dim=0, w_dim=16, img_resolution=32, img_channels=3, channel_base=512, channel_max=16)
    return G.eval().requires_grad_(False)


def test_key_is_canonical_and_sensitive(tmp_path):
    s = ProjectionSettings().to_dict()
    k = ProjectionCache.key("net", "abc", 3, s)
    assert k == ProjectionCache.key("net", "abc", 3, json.loads(json.dumps(s)))  # order/roundtrip independent
    assert k == ProjectionCache.key("net", "abc", 3, dict(reversed(list(s.items()))))
    others = {
        ProjectionCache.key("net2", "abc", 3, s),
        ProjectionCache.key("net", "abd", 3, s),
        ProjectionCache.key("net", "abc", 4, s),
        ProjectionCache.key("net", "abc", 3, ProjectionSettings(steps=7).to_dict()),
    }
    assert k not in others and len(others) == 4
    assert canonical_json({"b": 1, "a": (1, 2)}) == '{"a":[1,2],"b":1}'
    f = tmp_path / "clip.mp4"
    f.write_bytes(b"hello")
    assert file_sha256(f) == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"


def test_network_identity_depends_on_weights():
    a, b = tiny_generator(0), tiny_generator(0)
    assert network_identity(a) == network_identity(b)
    with torch.no_grad():
        b.synthesis.L0_36_16.weight[0, 0, 0, 0] += 1e-3
    assert network_identity(a) != network_identity(b)


def test_put_get_roundtrip_counters_and_atomicity(tmp_path, monkeypatch):
    c = ProjectionCache(tmp_path / "cache")
    s = {"steps": 5}
    assert c.get("n", "h", 0, s) is None and c.misses == 1
    ws = np.random.default_rng(0).standard_normal((16, 8)).astype(np.float32)
    path = c.put("n", "h", 0, s, torch.from_numpy(ws))
    assert path.is_file() and ("n", "h", 0, s) in c
    np.testing.assert_array_equal(c.get("n", "h", 0, s), ws)
    assert c.stats() == {"hits": 1, "misses": 1}
    assert c.lookup("n", "h", 0, s).psnr is None
    c.put("n", "h", 1, s, ws, psnr=31.25)
    entry = c.lookup("n", "h", 1, s)
    assert entry.psnr == 31.25 and entry.ws.dtype == np.float32
    np.testing.assert_array_equal(entry.ws, ws)

    # A write that fails half-way leaves the old entry intact and no temporary files.
    def broken(f, **arrays):
        f.write(b"PK partial")
        raise OSError("disk full")

    monkeypatch.setattr(cache_mod.np, "savez", broken)
    with pytest.raises(OSError):
        c.put("n", "h", 0, s, ws * 2)
    monkeypatch.undo()
    np.testing.assert_array_equal(c.get("n", "h", 0, s), ws)
    assert not [p.name for p in c.root.rglob(".*")]  # no temporary file left behind

    # An unreadable entry is a miss (and a later put repairs it).
    path.write_bytes(b"garbage")
    assert c.get("n", "h", 0, s) is None
    c.put("n", "h", 0, s, ws)
    np.testing.assert_array_equal(c.get("n", "h", 0, s), ws)


def test_project_frames_rerun_is_served_from_cache(tmp_path):
    G = tiny_generator(1)
    with torch.no_grad():
        ws = G.mapping(torch.randn(3, G.z_dim, generator=torch.Generator().manual_seed(2)), None)
        frames = G.synthesis(ws)
    first = ProjectionSettings(steps=2, perceptual="fallback")
    nxt = ProjectionSettings.warm(steps=1, perceptual="fallback")
    c = ProjectionCache(tmp_path)
    kw = dict(cache=c, network_id=network_identity(G), source_hash="clip-sha", progress=False)
    r1 = project_frames(G, frames, first, nxt, **kw)
    assert c.misses == 3 and c.hits == 0 and r1.steps == [2, 1, 1] and not any(r1.cached)
    synthesis_calls = []
    G.synthesis.register_forward_hook(lambda *args: synthesis_calls.append(1))
    r2 = project_frames(G, frames, first, nxt, **kw)
    assert c.hits == 3 and r2.total_steps == 0 and all(r2.cached)
    torch.testing.assert_close(r2.ws, r1.ws)
    torch.testing.assert_close(r2.psnr, r1.psnr)
    assert synthesis_calls == []  # the PSNRs come from the cache, no frame is synthesised again
    # A chunk of the clip, addressed by clip frame indices, reuses the clip's cold entries.
    cold_kw = dict(kw, warm_start=False)
    project_frames(G, frames, first, nxt, **cold_kw)
    hits = c.hits
    r3 = project_frames(G, frames[1:], first, nxt, first_index=1, **cold_kw)
    assert c.hits == hits + 2 and all(r3.cached)
    misses = c.misses
    # Other settings are other entries.
    project_frames(G, frames[:1], first.replace(steps=1), nxt, **kw)
    assert c.misses == misses + 1
    assert frames_settings_dict(first, nxt, False, 1) != frames_settings_dict(first, nxt, True, 1)
    with pytest.raises(ValueError):
        project_frames(G, frames, first, nxt, cache=c, progress=False)
