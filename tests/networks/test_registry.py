"""Registry names, cached download (served from a local file:// URL: no network), offline errors."""

import hashlib
import time
import urllib.error

import pytest
import torch

from tests.networks.conftest import make_generator
from video2stylegan.errors import CheckpointError, DownloadError, InvalidOptionError
from video2stylegan.networks import registry
from video2stylegan.networks.checkpoint import save_generator
from video2stylegan.networks.loading import load_generator


@pytest.fixture
def served_network(tmp_path, monkeypatch):
    """A small network published under a registry name at a file:// address, with an empty cache."""
    G = make_generator("R", seed=5)
    source = save_generator(G, tmp_path / "server" / "tiny-net.safetensors")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    spec = registry.NetworkSpec("tiny-net", source.as_uri(), "test network", sha256=digest, size=source.stat().st_size)
    monkeypatch.setitem(registry.NETWORKS, "tiny-net", spec)
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    return G, spec, tmp_path / "cache"


def test_official_names_are_registered_with_their_download_addresses():
    for name in ["stylegan3-r-ffhq-1024x1024", "stylegan3-t-ffhq-1024x1024", "stylegan3-r-ffhqu-256x256", "stylegan3-t-ffhqu-256x256"]:
        spec = registry.network_spec(name)
        assert spec.url.startswith("https://") and spec.url.endswith(f"/{name}.pkl")
    with pytest.raises(InvalidOptionError, match="stylegan3-r-ffhq-1024x1024"):
        registry.network_spec("stylegan3-xl")


def test_first_use_downloads_into_the_cache_then_reuses_it(served_network, monkeypatch):
    G, spec, cache = served_network
    loaded = load_generator("tiny-net", progress=False)
    cached = cache / "networks" / "tiny-net.safetensors"
    assert cached.is_file() and not list(cached.parent.glob("*.partial"))
    ws = G.mapping(torch.randn(1, G.z_dim))
    assert torch.equal(loaded.synthesis(ws), G.synthesis(ws))

    def no_network(*args, **kwargs):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(registry.urllib.request, "urlopen", no_network)
    load_generator("tiny-net", progress=False)


def test_checksum_mismatch_leaves_nothing_behind(served_network, monkeypatch):
    _, spec, cache = served_network
    bad = registry.NetworkSpec(spec.name, spec.url, spec.description, sha256="0" * 64)
    monkeypatch.setitem(registry.NETWORKS, "tiny-net", bad)
    with pytest.raises(DownloadError, match="SHA-256"):
        load_generator("tiny-net", progress=False)
    assert list((cache / "networks").iterdir()) == []


def test_interrupted_download_leaves_no_partial_file(served_network, monkeypatch):
    _, spec, cache = served_network

    class Broken:
        headers = {"Content-Length": "1000"}

        def __init__(self):
            self.calls = 0

        def read(self, n):
            self.calls += 1
            if self.calls > 1:
                raise ConnectionResetError("peer went away")
            return b"x" * 100

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(registry.urllib.request, "urlopen", lambda *a, **k: Broken())
    with pytest.raises(DownloadError, match="interrupted after 100 bytes"):
        registry.download(spec, progress=False)
    assert list((cache / "networks").iterdir()) == []


def test_offline_fails_fast_and_says_to_pass_a_local_path(tmp_path, monkeypatch):
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(registry.urllib.request, "urlopen", offline)
    start = time.monotonic()
    with pytest.raises(DownloadError, match="pass the file's path"):
        load_generator("stylegan3-r-ffhqu-256x256", progress=False)
    assert time.monotonic() - start < 5


def test_random_networks_are_built_locally_and_deterministic(monkeypatch):
    monkeypatch.setattr(registry.urllib.request, "urlopen", lambda *a, **k: pytest.fail("no download expected"))
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a, b = load_generator("random-r-128"), load_generator("random-r-128")
    assert torch.equal(torch.rand(1), before)  # the caller's RNG state is untouched
    assert a.img_resolution == 128 and a.synthesis.L0_36_128.conv_kernel == 1
    ws = a.mapping(torch.randn(1, a.z_dim))
    assert torch.equal(a.synthesis(ws), b.synthesis(ws))


def test_bundled_networks_load_offline_from_the_package_folder(tmp_path, monkeypatch):
    """A ``<name>.safetensors`` in the bundled folder is registry name ``<name>``, loaded without the cache."""
    assert registry.bundled_networks(tmp_path / "absent") == []
    G = make_generator("T", seed=2)
    save_generator(G, tmp_path / "synthetic-heads-128.safetensors")
    (spec,) = registry.bundled_networks(tmp_path)
    assert spec.name == "synthetic-heads-128" and spec.bundled == tmp_path / "synthetic-heads-128.safetensors"
    assert "procedural heads" in spec.description
    monkeypatch.setitem(registry.NETWORKS, spec.name, spec)
    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    loaded = load_generator("synthetic-heads-128")
    ws = G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(0)))
    torch.testing.assert_close(loaded.synthesis(ws), G.synthesis(ws), atol=1e-5, rtol=0)
    assert not (tmp_path / "cache").exists()


#: Parameters of each official network's G_ema, built from the registry's settings on the meta device.
OFFICIAL_PARAMETERS = {
    "stylegan3-r-ffhq-1024x1024": 15_093_151, "stylegan3-t-ffhq-1024x1024": 22_313_167,
    "stylegan3-r-ffhqu-1024x1024": 15_093_151, "stylegan3-t-ffhqu-1024x1024": 22_313_167,
    "stylegan3-r-ffhqu-256x256": 15_779_565, "stylegan3-t-ffhqu-256x256": 23_320_443,
    "stylegan3-r-metfaces-1024x1024": 15_093_151, "stylegan3-t-metfaces-1024x1024": 22_313_167,
}


@pytest.mark.parametrize("name", sorted(OFFICIAL_PARAMETERS))
def test_every_official_network_builds_from_nvidia_training_settings(name):
    from tests.networks.nvidia_snapshot import nvidia_generator_kwargs

    spec = registry.network_spec(name)
    config, resolution = name.split("-")[1].upper(), int(name.rsplit("x", 1)[1])
    batch, cbase = (64, 16384) if resolution == 256 else (32, 32768)  # NVIDIA's docs/configs.md
    expected = nvidia_generator_kwargs(config, resolution, batch=batch, channel_base=cbase)
    assert spec.generator_kwargs == expected  # two independent readings of train.py agree
    G = registry.build_meta_network(spec)
    assert G.img_resolution == resolution and G.num_ws == 16
    assert getattr(G.synthesis, G.synthesis.layer_names[0]).conv_kernel == (1 if config == "R" else 3)
    assert sum(p.numel() for p in G.parameters()) == OFFICIAL_PARAMETERS[name]


def test_a_cached_file_of_another_architecture_is_refused(served_network, monkeypatch):
    _, spec, cache = served_network  # a 64 px R network
    claimed = registry.NetworkSpec(spec.name, spec.url, spec.description, sha256=spec.sha256, size=spec.size,
                                   generator_kwargs=registry.official_generator_kwargs("T", 64, 32))
    monkeypatch.setitem(registry.NETWORKS, "tiny-net", claimed)
    with pytest.raises(CheckpointError, match=r"is not tiny-net: its generator has conv_kernel=1 \(expected 3\)"):
        load_generator("tiny-net", progress=False)


def test_info_describes_an_official_network_without_downloading_it(tmp_path, monkeypatch, capsys):
    from video2stylegan.cli.main import main

    monkeypatch.setenv(registry.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setattr(registry.urllib.request, "urlopen", lambda *a, **k: pytest.fail("no download expected"))
    assert main(["info", "stylegan3-r-ffhq-1024x1024"]) == 0
    text = capsys.readouterr().out
    assert "StyleGAN3-R  1024x1024" in text and "parameters 15,093,151" in text and "not downloaded yet" in text


def test_devices_that_cannot_run_a_network_are_refused_by_name():
    from video2stylegan.networks.loading import resolve_device

    assert resolve_device("cpu") == torch.device("cpu")
    for bad in ("meta", "no-such-device"):
        with pytest.raises(InvalidOptionError, match="use auto, cpu, cuda"):
            resolve_device(bad)
