"""``video2stylegan cache info|verify|clear`` on a cache filled by the real writers (tiny network)."""

from __future__ import annotations

import os
import re
import time

import numpy as np
import pytest
import torch

from video2stylegan.cli.main import main
from video2stylegan.method.cache import ProjectionCache, network_identity

DAY = 86400.0


@pytest.fixture
def filled(tiny_G, tmp_path):
    """<tmp>/cache with 4 projections (source + 3 frames), 1 PTI generator, 1 pose regressor, 1 local-channel
    entry, 1 partial file of an interrupted write, and a downloaded network that is not an entry."""
    from video2stylegan.method.local_channels import calibrate_cached
    from video2stylegan.method.pose import calibrate_pose_regressor
    from video2stylegan.pipeline.embedding import EmbeddingOptions, embed_clip, embed_source
    from video2stylegan.synthetic import render, sample_params

    root = tmp_path / "cache"
    cache = ProjectionCache(root / "projections")
    net_id = network_identity(tiny_G)
    options = EmbeddingOptions(source_steps=2, pti_steps=1, first_frame_steps=1, frame_steps=1, frame_batch=1,
                               perceptual="fallback")
    z = torch.randn(4, tiny_G.z_dim, generator=torch.Generator().manual_seed(9))
    with torch.no_grad():
        ws = tiny_G.mapping(z, None)
        images = tiny_G.synthesis(ws)
    embed_source(tiny_G, images[:1], "src", options, cache=cache, network_id=net_id, progress=False)
    embed_clip(tiny_G, images[1:], "clip", options, cache=cache, network_id=net_id, progress=False)
    calibrate_pose_regressor(None, root / "calibration", "net", source="renderer", samples=16, steps=2,
                             render_size=32, input_size=32, progress=False)
    heads = np.stack([render(sample_params(s), 64).landmarks for s in (1, 2)])
    calibrate_cached(tiny_G, root / "calibration", "net", ws=ws[:2], landmarks=heads, layers=[1], size=16,
                     progress=False)
    shard = next(p for p in (root / "projections").iterdir() if p.name != "pti")
    (shard / ".0123abcd.npz.x1y2z3.npz").write_bytes(b"PK" + bytes(998))  # a killed run's temporary file
    (root / "networks").mkdir()
    (root / "networks" / "some-network.pkl").write_bytes(bytes(5000))
    return root


def _files(root, folder, pattern):
    return sorted(p for p in (root / folder).glob(pattern) if not p.name.startswith("."))


def _kinds(root):
    return {
        "projections": _files(root, "projections", "??/*.npz"),
        "pti": _files(root, "projections/pti", "*.safetensors"),
        "pose-regressor": _files(root, "calibration/pose_regressor", "*.safetensors"),
        "local-channels": _files(root, "calibration/local_channels", "*.json"),
        "partial": sorted(p for p in root.rglob(".*") if p.is_file()),
    }


def _info_rows(out):
    return {m[1]: (int(m[2]), int(m[3] or m[4] or 0)) for m in re.finditer(
        r"^(\S+)\s+(\d+)\s+(?:[\d.]+ [kMG]B \((\d+) bytes\)|(\d+) bytes)", out, re.M)}


def test_info_counts_entries_and_bytes_per_kind(filled, capsys, monkeypatch):
    kinds = _kinds(filled)
    assert {k: len(v) for k, v in kinds.items()} == {"projections": 4, "pti": 1, "pose-regressor": 1,
                                                     "local-channels": 1, "partial": 1}
    monkeypatch.setenv("VIDEO2STYLEGAN_CACHE", str(filled))  # the folder reenact uses without --cache
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    rows = _info_rows(out)
    for name, files in kinds.items():
        assert rows[name] == (len(files), sum(p.stat().st_size for p in files)), name
    assert rows["no-face-notes"] == (0, 0) and rows["partial"] == (1, 1000)
    total = sum(p.stat().st_size for files in kinds.values() for p in files)
    assert rows["total"] == (8, total)
    assert f"cache folder: {filled}" in out
    assert "not managed here (downloaded networks and other files): 1 files, 5.0 kB (5000 bytes)" in out


def _flip(path, at):
    data = bytearray(path.read_bytes())
    data[at] ^= 0x04
    path.write_bytes(bytes(data))


def test_verify_reports_bad_entries_and_fix_deletes_them(filled, capsys):
    assert main(["cache", "verify", "--cache", str(filled)]) == 0
    assert capsys.readouterr().out == f"checked 7 entries in {filled}: 7 good, 0 bad\n"

    kinds = _kinds(filled)
    npz, pti = kinds["projections"][2], kinds["pti"][0]
    _flip(npz, npz.stat().st_size // 2)
    _flip(pti, pti.stat().st_size - 100)  # in the last tensor's bytes
    bad_bytes = npz.stat().st_size + pti.stat().st_size
    assert 1000 <= bad_bytes < 10**6
    assert main(["cache", "verify", "--cache", str(filled)]) == 1
    captured = capsys.readouterr()
    lines = [line for line in captured.out.splitlines() if line.startswith("bad ")]
    assert len(lines) == 2
    assert f"bad projections {npz.relative_to(filled)}: unreadable" in captured.out
    assert f"bad pti {pti.relative_to(filled)}: checksum mismatch" in captured.out
    assert "checked 7 entries in" in captured.out and "5 good, 2 bad" in captured.out
    assert captured.err.strip().splitlines() == [
        "video2stylegan cache: error: 2 of 7 cache entries are bad (listed above); "
        "`video2stylegan cache verify --fix` deletes them and runs recompute them"]
    assert npz.exists() and pti.exists()  # only reported

    assert main(["cache", "verify", "--cache", str(filled), "--kind", "pti"]) == 1
    assert "checked 1 entries" in capsys.readouterr().out

    assert main(["cache", "verify", "--cache", str(filled), "--fix"]) == 0
    out = capsys.readouterr().out
    assert not npz.exists() and not pti.exists()
    assert f"deleted 2 bad entries, freed {bad_bytes / 1e3:.1f} kB ({bad_bytes} bytes)" in out
    assert main(["cache", "verify", "--cache", str(filled)]) == 0
    assert capsys.readouterr().out == f"checked 5 entries in {filled}: 5 good, 0 bad\n"


def test_clear_by_kind_and_age_prints_what_it_freed(filled, capsys):
    kinds = _kinds(filled)
    old = kinds["projections"][:2]
    long_ago = time.time() - 10 * DAY
    for p in old:
        os.utime(p, (long_ago, long_ago))
    old_bytes = sum(p.stat().st_size for p in old)
    assert main(["cache", "clear", "--cache", str(filled), "--kind", "projections", "--older-than", "5"]) == 0
    out = capsys.readouterr().out
    assert 1000 <= old_bytes < 10**6
    assert f"removed 2 projections entries, {old_bytes / 1e3:.1f} kB ({old_bytes} bytes)" in out
    assert f"in 2 entries older than 5 days from {filled}" in out
    assert not any(p.exists() for p in old) and all(p.exists() for p in kinds["projections"][2:])

    assert main(["cache", "clear", "--cache", str(filled), "--kind", "partial"]) == 0
    assert "freed 1.0 kB (1000 bytes) in 1 entries" in capsys.readouterr().out

    rest = [p for name, files in _kinds(filled).items() for p in files]
    rest_bytes = sum(p.stat().st_size for p in rest)
    assert len(rest) == 5
    assert main(["cache", "clear", "--cache", str(filled)]) == 0
    out = capsys.readouterr().out
    assert f"({rest_bytes} bytes) in 5 entries from {filled}" in out
    left = sorted(str(p.relative_to(filled)) for p in filled.rglob("*"))
    assert left == ["calibration", "networks", "networks/some-network.pkl", "projections"]  # shards removed

    assert main(["cache", "info", "--cache", str(filled)]) == 0
    assert _info_rows(capsys.readouterr().out)["total"] == (0, 0)


@pytest.mark.parametrize("argv, message", [
    (["clear", "--older-than", "-1"], "--older-than must be a number of days >= 0, got -1.0"),
    (["clear", "--older-than", "nan"], "--older-than must be a number of days >= 0"),
])
def test_bad_options_fail_with_one_line(argv, message, tmp_path, capsys):
    assert main(["cache", *argv, "--cache", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


def test_cache_option_naming_a_file_is_refused(tmp_path, capsys):
    f = tmp_path / "not-a-folder"
    f.write_text("x")
    assert main(["cache", "info", "--cache", str(f)]) == 1
    assert f"cache folder {f} is a file" in capsys.readouterr().err
    assert main(["cache", "info", "--cache", str(tmp_path / "none")]) == 0
    assert "does not exist yet: nothing is cached" in capsys.readouterr().out
