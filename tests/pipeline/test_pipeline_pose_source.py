"""Which pose regressor ``auto`` picks: the renderer's for networks of the synthetic world, else the generator's."""

import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.networks.registry import BUNDLED_NETWORK
from video2stylegan.pipeline.calibration import resolve_pose_source


@pytest.mark.parametrize("network, expected", [
    (BUNDLED_NETWORK, "renderer"),
    ("/models/synthetic-heads-128-v5.safetensors", "renderer"),  # a file of the synthetic world, by its name
    ("stylegan3-r-ffhq-1024x1024", "generator"),
    ("random-r-128", "generator"),
    ("/models/synthetic/network-snapshot-000100.pkl", "generator"),  # a folder's name does not count
    (None, "generator"),
    ("", "generator"),
])
def test_auto_follows_is_synthetic_network(network, expected):
    assert resolve_pose_source("auto", network) == expected


def test_an_explicit_choice_is_kept_and_an_unknown_one_refused():
    assert resolve_pose_source("generator", BUNDLED_NETWORK) == "generator"
    assert resolve_pose_source("renderer", "stylegan3-r-ffhq-1024x1024") == "renderer"
    with pytest.raises(InvalidOptionError, match="pose regressor source must be one of auto, generator, renderer"):
        resolve_pose_source("dlib", BUNDLED_NETWORK)
