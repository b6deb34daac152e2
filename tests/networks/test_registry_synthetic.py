"""The bundled network's one name, and the one rule that tells a network of the synthetic world."""

from pathlib import Path

import pytest

from video2stylegan.networks import registry
from video2stylegan.networks.registry import BUNDLED_NETWORK, is_synthetic_network


def test_the_bundled_network_is_the_shipped_synthetic_heads():
    assert BUNDLED_NETWORK == "synthetic-heads-128"
    spec = registry.network_spec(BUNDLED_NETWORK)
    assert spec.bundled == registry.BUNDLED_DIR / "synthetic-heads-128.safetensors" and spec.url is None
    assert "procedural heads" in spec.description
    assert is_synthetic_network(BUNDLED_NETWORK)


@pytest.mark.parametrize("name", [
    "synthetic-heads-128",
    "synthetic-heads-64",
    "/data/runs/synthetic-heads-128-v5.safetensors",
    "runs/synthetic-heads-128.safetensors",
    Path("exports") / "synthetic-x.pkl",
])
def test_names_and_files_named_synthetic_dash_are_synthetic(name):
    assert is_synthetic_network(name)


@pytest.mark.parametrize("name", [
    "stylegan3-r-ffhq-1024x1024",
    "random-r-128",
    "",
    "synthetic",  # the prefix is "synthetic-", dash included
    "synthetic_v1.pkl",
    "Synthetic-heads-128",  # names are matched as written
    "synthetic-runs/G.safetensors",  # a folder's name does not count, only the file's
    "/x/heads-synthetic-128.safetensors",
])
def test_other_names_are_not(name):
    assert not is_synthetic_network(name)


def test_every_registry_entry_is_classified_by_its_name():
    synthetic = sorted(name for name in registry.NETWORKS if is_synthetic_network(name))
    assert synthetic == [BUNDLED_NETWORK]
