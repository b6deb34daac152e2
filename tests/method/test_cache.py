"""Projection cache: keys, atomic writes, hit/miss counting, project_frames reruns served from it, and
entries that verify themselves (damaged ones deleted and recomputed; failed writes warned once)."""

import dataclasses
import errno
import hashlib
import json
import logging

import numpy as np
import pytest
import torch

from video2stylegan.method import cache as cache_mod
from video2stylegan.method.cache import ProjectionCache, canonical_json, file_sha256, network_identity
from video2stylegan.method.projection import ClipCache, FramesSettings, ProjectionSettings, project_frames
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

    # A write that fails half-way leaves the old entry intact and no temporary files; put reports None.
    def broken(f, **arrays):
        f.write(b"PK partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "savez", broken)
    assert c.put("n", "h", 0, s, ws * 2) is None
    assert isinstance(c.unwritable, OSError) and c.unwritable.errno == errno.ENOSPC
    monkeypatch.undo()
    np.testing.assert_array_equal(c.get("n", "h", 0, s), ws)
    assert not [p.name for p in c.root.rglob(".*")]  # no temporary file left behind

    # An unreadable entry is a miss, deleted, and a later put repairs it.
    path.write_bytes(b"garbage")
    assert c.get("n", "h", 0, s) is None and not path.exists() and c.discarded == 1
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
    kw = dict(cache=ClipCache(c, network_identity(G), "clip-sha"), progress=False)
    r1 = project_frames(G, frames, FramesSettings(first, nxt), **kw)
    assert c.misses == 3 and c.hits == 0 and r1.steps == [2, 1, 1] and not any(r1.cached)
    synthesis_calls = []
    G.synthesis.register_forward_hook(lambda *args: synthesis_calls.append(1))
    r2 = project_frames(G, frames, FramesSettings(first, nxt), **kw)
    assert c.hits == 3 and r2.total_steps == 0 and all(r2.cached)
    torch.testing.assert_close(r2.ws, r1.ws)
    torch.testing.assert_close(r2.psnr, r1.psnr)
    assert synthesis_calls == []  # the PSNRs come from the cache, no frame is synthesised again
    # A chunk of the clip, addressed by clip frame indices, reuses the clip's cold entries.
    cold = FramesSettings(first, nxt, warm_start=False)
    project_frames(G, frames, cold, **kw)
    hits = c.hits
    r3 = project_frames(G, frames[1:], cold, cache=ClipCache(c, network_identity(G), "clip-sha", first_index=1),
                        progress=False)
    assert c.hits == hits + 2 and all(r3.cached)
    misses = c.misses
    # Other settings are other entries.
    project_frames(G, frames[:1], FramesSettings(first.replace(steps=1), nxt), **kw)
    assert c.misses == misses + 1
    assert FramesSettings(first, nxt, False, 1).to_dict() != FramesSettings(first, nxt, True, 1).to_dict()
    with pytest.raises(ValueError, match="network_id and source_hash"):
        ClipCache(c)


# --------------------------------------------------------------------------- damaged entries


def _frames(G, n=3, seed=2):
    with torch.no_grad():
        return G.synthesis(G.mapping(torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)), None))


FIRST = ProjectionSettings(steps=2, perceptual="fallback")
NEXT = ProjectionSettings.warm(steps=1, perceptual="fallback")


@pytest.fixture(scope="module")
def projected(tmp_path_factory):
    """A tiny network, 3 frames, and their projections computed without any cache (the reference)."""
    G = tiny_generator(1)
    frames = _frames(G)
    fresh = project_frames(G, frames, FramesSettings(FIRST, NEXT), progress=False)
    return G, frames, network_identity(G), fresh


def _run(G, frames, cache, net_id):
    cache.expect_ws(net_id, G.num_ws, G.w_dim)
    return project_frames(G, frames, FramesSettings(FIRST, NEXT), cache=ClipCache(cache, net_id, "clip"), progress=False)


def _flip_ws_byte(path, ws):
    """Flip one bit in the middle of the stored ws bytes (the npz stores members uncompressed)."""
    data = bytearray(path.read_bytes())
    at = bytes(data).index(ws.tobytes()) + ws.nbytes // 2
    data[at] ^= 0x10
    path.write_bytes(bytes(data))


def _rewrite(path, **arrays):
    """Replace the entry with a well-formed npz holding ``arrays`` (``meta`` as given, or none)."""
    with open(path, "wb") as f:
        np.savez(f, **arrays)


def _damage(kind, path, G):
    with np.load(path) as d:
        ws, psnr, meta = d["ws"], d["psnr"], d["meta"]
    if kind == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif kind == "bit flip":
        _flip_ws_byte(path, ws)
    elif kind == "finite garbage":  # a valid zip, ws changed, the old record kept: only the checksum sees it
        _rewrite(path, ws=ws + np.float32(0.5), psnr=psnr, meta=meta)
    elif kind == "wrong shape":  # self-consistent record, but not this network's [num_ws, w_dim]
        bad = {"ws": np.zeros((G.num_ws, G.w_dim + 1), np.float32), "psnr": psnr}
        _rewrite(path, **bad, meta=np.asarray(json.dumps(cache_mod.integrity_record(bad))))
    elif kind == "nan":
        bad = {"ws": ws.copy(), "psnr": psnr}
        bad["ws"][3, 5] = np.nan
        _rewrite(path, **bad, meta=np.asarray(json.dumps(cache_mod.integrity_record(bad))))
    elif kind == "legacy":  # what versions before the integrity record wrote
        _rewrite(path, ws=ws, psnr=psnr)


DAMAGE = {
    "truncated": "unreadable",
    "bit flip": "unreadable (BadZipFile: Bad CRC-32",
    "finite garbage": "checksum mismatch",
    "wrong shape": "ws has shape [16, 17], the network needs [..., 16, 16]",
    "nan": "ws holds 1 non-finite value",
    "legacy": "no checksum (written by an earlier version)",
}


@pytest.mark.parametrize("kind", list(DAMAGE))
def test_damaged_entry_is_reported_deleted_and_recomputed(kind, projected, tmp_path, caplog):
    G, frames, net_id, fresh = projected
    assert (G.num_ws, G.w_dim) == (16, 16)
    c = ProjectionCache(tmp_path)
    first = _run(G, frames, c, net_id)
    torch.testing.assert_close(first.ws, fresh.ws, rtol=0, atol=0)
    key_settings = FramesSettings(FIRST, NEXT, True, 1).to_dict()
    path = c.path(net_id, "clip", 1, key_settings)  # the middle frame: frame 2 is warm-started from it
    _damage(kind, path, G)
    assert cache_mod.verify_entry(path) is not None or kind == "wrong shape"  # that one needs the network

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        c2 = ProjectionCache(tmp_path)
        c2.expect_ws(net_id, G.num_ws, G.w_dim)
        assert c2.lookup(net_id, "clip", 1, key_settings) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(path) in warnings[0] and DAMAGE[kind] in warnings[0], warnings
    assert "deleted" in warnings[0] and not path.exists()
    assert (c2.misses, c2.hits, c2.discarded) == (1, 0, 1)

    # The rerun recomputes exactly that frame, equal to a fresh computation, and writes a good entry again.
    again = _run(G, frames, c2, net_id)
    assert again.cached == [True, False, True] and again.steps == [0, 1, 0]
    torch.testing.assert_close(again.ws, fresh.ws, rtol=0, atol=0)
    torch.testing.assert_close(again.psnr, fresh.psnr, rtol=0, atol=0)
    assert cache_mod.verify_entry(path) is None
    assert _run(G, frames, ProjectionCache(tmp_path), net_id).cached == [True, True, True]


def test_write_failure_warns_once_and_run_goes_on(projected, tmp_path, monkeypatch, caplog):
    G, frames, net_id, fresh = projected
    writes = []

    def disk_full(f, **arrays):
        writes.append(1)
        f.write(b"PK\\x03\\x04 half an entry")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_mod.np, "savez", disk_full)
    c = ProjectionCache(tmp_path / "cache")
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        r = _run(G, frames, c, net_id)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(writes) == 3 and len(warnings) == 1, warnings  # every frame tried, one warning
    assert f"cache folder {c.root} (No space left on device)" in warnings[0]
    torch.testing.assert_close(r.ws, fresh.ws, rtol=0, atol=0)
    assert [p for p in c.root.rglob("*") if p.is_file()] == []  # no entry, no temporary file


def test_verify_entry_on_good_entries_and_json(tmp_path):
    c = ProjectionCache(tmp_path)
    p = c.put("n", "h", 0, {}, np.ones((2, 4, 3), np.float32), psnr=float("inf"))  # identical images: +inf dB
    assert cache_mod.verify_entry(p) is None
    with np.load(p) as d:
        record = json.loads(str(d["meta"][()]))
    assert record["format"] == cache_mod.ENTRY_FORMAT == 3
    assert record["arrays"] == {"psnr": {"dtype": "float64", "shape": []},
                                "ws": {"dtype": "float32", "shape": [2, 4, 3]}}
    assert record["sha256"] == cache_mod.array_digest({"ws": np.ones((2, 4, 3), np.float32), "psnr": np.float64("inf")})

    j = cache_mod.write_json_entry(tmp_path / "e.json", {"a": [1.5, 2], "b": "x"}, what="test entry")
    assert cache_mod.read_json_entry(j) == {"a": [1.5, 2], "b": "x"} and cache_mod.verify_entry(j) is None
    j.write_text(j.read_text().replace("1.5", "1.25"))
    assert cache_mod.verify_entry(j) == "checksum mismatch: the content changed after it was written"
    j.write_text('{"a": [1.5, 2], "b": "x"}')
    assert cache_mod.verify_entry(j) == cache_mod.LEGACY
    assert cache_mod.verify_entry(tmp_path / "notes.txt").startswith("not a cache entry")


# --------------------------------------------------------------------------- keys from the settings objects


def _other(value):
    """A different value of a setting's type (what a user could change it to)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value + 0.5
    if isinstance(value, tuple):
        return value[:-1] + (value[-1] + 1,)
    if isinstance(value, str):
        return value + "-other"
    assert value is None
    return 1


def _each_field_changed(settings):
    """``(name, settings with that field changed)`` for every field of a settings dataclass."""
    return [(f.name, dataclasses.replace(settings, **{f.name: _other(getattr(settings, f.name))}))
            for f in dataclasses.fields(settings)]


class _Reader(torch.nn.Module):
    def __init__(self, scale=1.0):
        super().__init__()
        self.register_buffer("a", torch.full((3, 4), scale))

    def forward(self, x):
        return x.flatten(1)[:, :4] @ self.a.T


def _pose_entry(settings, w_ref=None, targets=None, regressor=None):
    w_ref = torch.zeros(1, 4, 3) if w_ref is None else w_ref
    targets = torch.zeros(5, 3) if targets is None else targets
    return cache_mod.pose_encoding_entry(w_ref, targets, regressor or _Reader(), settings)


def _lookup_pose(cache, network, entry, rows=5):
    source, key = entry
    return cache.lookup(network, source, 0, key, extra=cache_mod.POSE_ANGLES, rows=rows)


def test_every_setting_of_an_eq7_result_is_in_its_key(tmp_path):
    from video2stylegan.method.pose_encoding import PoseEncodingSettings

    c = ProjectionCache(tmp_path)
    base = PoseEncodingSettings(layers=(0, 1), stop_error_deg=0.5)
    angles = {name: np.full((5, 3), k, np.float32) for k, name in enumerate(cache_mod.POSE_ANGLES)}
    source, key = _pose_entry(base)
    c.put("net", source, 0, key, np.ones((5, 4, 3), np.float32), extra=angles)
    hit = _lookup_pose(c, "net", _pose_entry(PoseEncodingSettings(layers=(0, 1), stop_error_deg=0.5)))
    assert hit is not None and set(hit.extra) == set(cache_mod.POSE_ANGLES)
    np.testing.assert_array_equal(hit.extra["angles_after"], angles["angles_after"])
    changed = _each_field_changed(base)
    assert {name for name, _ in changed} >= {"layers", "steps", "lr", "stop_error_deg", "angle_weights"}
    for name, settings in changed:
        assert _lookup_pose(c, "net", _pose_entry(settings)) is None, name
    # what it was computed from: the reference code, the targets, the regressor's weights and class
    for name, entry in [("w_ref", _pose_entry(base, w_ref=torch.ones(1, 4, 3))),
                        ("targets", _pose_entry(base, targets=torch.ones(5, 3))),
                        ("regressor weights", _pose_entry(base, regressor=_Reader(2.0))),
                        ("regressor class", _pose_entry(base, regressor=type("Other", (_Reader,), {})()))]:
        assert _lookup_pose(c, "net", entry) is None, name
    assert _lookup_pose(c, "other-net", (source, key)) is None
    assert (c.hits, c.misses) == (1, len(changed) + 5)


def test_an_eq7_entry_of_another_layout_is_a_miss_never_misread(tmp_path, caplog):
    from video2stylegan.method.pose_encoding import PoseEncodingSettings

    c = ProjectionCache(tmp_path)
    source, key = _pose_entry(PoseEncodingSettings())
    # the old layout: the angles zero-padded into W+ rows after the codes, no named arrays
    path = c.put("net", source, 0, key, np.ones((5 + 4, 4, 3), np.float32))
    with caplog.at_level(logging.WARNING, logger="video2stylegan.method.cache"):
        assert c.lookup("net", source, 0, key, extra=cache_mod.POSE_ANGLES, rows=5) is None
    assert not path.exists() and "needs the arrays angles_before, angles_after, angles_target" in caplog.text
    # the named arrays there, but for another number of frames
    angles = dict.fromkeys(cache_mod.POSE_ANGLES, np.zeros((4, 3), np.float32))
    c.put("net", source, 0, key, np.ones((4, 4, 3), np.float32), extra=angles)
    assert c.lookup("net", source, 0, key, extra=cache_mod.POSE_ANGLES, rows=5) is None
    assert not path.exists() and (c.hits, c.misses, c.discarded) == (0, 2, 2)
    # a plain projection reader is not handed the extras it did not ask for, and verify accepts them
    c.put("net", source, 0, key, np.ones((5, 4, 3), np.float32), extra=dict.fromkeys(cache_mod.POSE_ANGLES,
                                                                                      np.zeros((5, 3), np.float32)))
    assert cache_mod.verify_entry(path) is None and c.lookup("net", source, 0, key).extra == {}


def test_named_extra_arrays_are_checked_like_ws(tmp_path):
    c = ProjectionCache(tmp_path)
    path = c.put("n", "h", 0, {}, np.ones((2, 4, 3), np.float32), extra={"angles": np.array([[1.0, np.nan, 0]])})
    assert cache_mod.verify_entry(path) == "extra.angles holds 1 non-finite value"
    assert c.lookup("n", "h", 0, {}, extra=("angles",)) is None and not path.exists()


def test_every_setting_of_a_pti_generator_is_in_its_key(tmp_path):
    from video2stylegan.method.pti import PTISettings
    from video2stylegan.pipeline.embedding import load_pti_entry, save_pti_entry

    G = tiny_generator()
    c = ProjectionCache(tmp_path)
    projection, pti = ProjectionSettings(steps=20), PTISettings(steps=10)
    save_pti_entry(c, c.pti_path(cache_mod.pti_key("net", "src", projection, pti, "auto")), G)
    assert load_pti_entry(c, c.pti_path(cache_mod.pti_key("net", "src", ProjectionSettings(steps=20),
                                                          PTISettings(steps=10), "auto")), G) is not None
    keys = [cache_mod.pti_key("net", "src", changed, pti, "auto") for _, changed in _each_field_changed(projection)]
    keys += [cache_mod.pti_key("net", "src", projection, changed, "auto") for _, changed in _each_field_changed(pti)]
    keys += [cache_mod.pti_key("net2", "src", projection, pti, "auto"),
             cache_mod.pti_key("net", "src2", projection, pti, "auto"),
             cache_mod.pti_key("net", "src", projection, pti, "fallback")]
    assert len(set(keys)) == len(keys)
    for key in keys:
        assert load_pti_entry(c, c.pti_path(key), G) is None


def test_calibration_paths_hold_every_setting_and_keep_their_keys(tmp_path):
    from video2stylegan.method.pose import FORMAT_VERSION, CalibrationSettings

    base = CalibrationSettings()
    path = cache_mod.pose_regressor_path(tmp_path, "net", base, FORMAT_VERSION)
    # the key of the regressors stored before the cache module built it: stored calibrations still load
    before = hashlib.sha256(canonical_json({"format": FORMAT_VERSION, "network": "net",
                                            "settings": dict(base.__dict__)}).encode()).hexdigest()
    assert path == tmp_path / "pose_regressor" / f"{before}.safetensors"
    others = {cache_mod.pose_regressor_path(tmp_path, "net", changed, FORMAT_VERSION)
              for _, changed in _each_field_changed(base)}
    assert path not in others and len(others) == len(dataclasses.fields(base))
    note = cache_mod.no_face_note_path(tmp_path, "sg3:abc")
    assert note.parent == tmp_path / "no_faces" and note != cache_mod.no_face_note_path(tmp_path, "sg3:abd")


def test_the_cache_folder_names_its_kinds_and_the_ids_keep_their_form(tmp_path):
    folder = cache_mod.CacheFolder(str(tmp_path))
    assert folder.projections == tmp_path / "projections" and folder.calibration == tmp_path / "calibration"
    assert folder.projection_cache().pti_path("k") == tmp_path / "projections" / "pti" / "k.safetensors"
    assert cache_mod.clip_id("abc", 64, 3, False) == "abc:aligned64:smooth3"
    assert cache_mod.clip_id("abc", 64, 5, True, {"choose": 1, "detector": "cnn", "upsample": 2}) == \
        "abc:aligned64:smooth5:shots:face=1:cnn:upsample=2"
    assert cache_mod.source_id("abc") == "abc"
    assert cache_mod.source_id("abc", {"choose": 1, "detector": "hog", "upsample": "auto"}) == \
        hashlib.sha256(b"abc:face=1:hog:upsample=auto").hexdigest()
