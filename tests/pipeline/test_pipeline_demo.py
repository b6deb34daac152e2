"""The bundled demo's inputs: the shipped files and the bundled network, at the demo's frame budget."""

import pytest

from video2stylegan.errors import MediaError
from video2stylegan.io.video import probe_video
from video2stylegan.networks.registry import BUNDLED_NETWORK, NETWORKS
from video2stylegan.pipeline import demo
from video2stylegan.synthetic.demo import DEMO_CLIP_FRAMES, DEMO_DIR


def test_demo_runs_the_bundled_network_on_the_shipped_files():
    inputs = demo.demo_inputs()
    assert inputs.network == BUNDLED_NETWORK and BUNDLED_NETWORK in NETWORKS
    assert (inputs.source, inputs.driving) == (DEMO_DIR / "source.png", DEMO_DIR / "driving.mp4")
    assert inputs.co_driving is None and inputs.quality == "fast" and inputs.note is None
    assert demo.demo_inputs(co_driving=True).co_driving == DEMO_DIR / "codriving.mp4"


def test_demo_reenacts_a_quarter_of_the_bundled_clip_by_default():
    assert demo.demo_inputs().default_frames == demo.DEMO_REENACTED_FRAMES == 25
    assert DEMO_CLIP_FRAMES == 100 == probe_video(DEMO_DIR / "driving.mp4").num_frames


def test_missing_demo_files_are_named_with_the_command_that_regenerates_them(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "DEMO_DIR", tmp_path)
    (tmp_path / "source.png").write_bytes(b"")
    with pytest.raises(MediaError, match=r"driving\.mp4, .*codriving\.mp4\); .*python -m video2stylegan\.synthetic\.demo"):
        demo.demo_inputs()
