"""``reenact --network FILE.pkl`` on a network pickled the way NVIDIA's training code pickles it."""

from __future__ import annotations

import torch

from tests.networks.nvidia_snapshot import nvidia_generator_kwargs, snapshot_bytes
from video2stylegan.cli.main import main
from video2stylegan.networks.stylegan3 import Generator


def test_reenact_runs_on_an_nvidia_snapshot_up_to_the_first_stage_that_needs_faces_from_it(demo_files, tmp_path,
                                                                                          capsys):
    # A random-weight 128 px R network (channels scaled down): it loads and every stage before the
    # first one that needs the network to draw faces runs (alignment of the real inputs, projection,
    # PTI); the pose regressor's calibration then finds no face in its samples and says so.
    kwargs = nvidia_generator_kwargs("R", 128, channel_base=512, channel_max=16, z_dim=32, w_dim=32)
    torch.manual_seed(0)
    G = Generator(**kwargs).eval().requires_grad_(False)
    network = tmp_path / "network-snapshot-000128.pkl"
    network.write_bytes(snapshot_bytes(G, kwargs, generator_src="raise SystemExit('executed')",
                                       with_augment_pipe=True))
    out = tmp_path / "out.mp4"
    rc = main(["reenact", "--source", str(demo_files.source), "--driving", str(demo_files.driving),
               "--network", str(network), "--out", str(out), "--quality", "draft", "--source-steps", "2",
               "--pti-steps", "1", "--first-frame-steps", "1", "--frame-steps", "1", "--max-frames", "1",
               "--no-local", "--cache", str(tmp_path / "cache"), "--quiet", "--device", "cpu"])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    assert "found a face in only 0 of" in err and "--no-pose" in err
    assert not out.exists()
    # The source and the one driving frame were projected, and the source tuned, before the pose stage.
    assert len(list((tmp_path / "cache").rglob("*.npz"))) == 2
    assert len(list((tmp_path / "cache").rglob("pti/*.safetensors"))) == 1
