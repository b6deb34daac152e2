"""The ``reenact`` / ``demo`` command lines: options map onto the configuration, errors are clean."""

from __future__ import annotations

import pytest

from video2stylegan.cli.main import build_parser, main
from video2stylegan.cli.reenact_cmd import config_from_args, embedding_from_args


def test_options_map_onto_the_method_configuration(demo_files):
    args = build_parser().parse_args([
        "reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4", "--alpha", "0.5", "--zeta", "1",
        "--no-pose", "--no-local", "--transform-from", "co-driving", "--residual-form", "literal",
        "--codriving-length", "truncate",
    ])
    c = config_from_args(args)
    assert (c.alpha, c.beta, c.gamma, c.zeta) == (0.5, 1.0, 1.0, 1.0)
    assert (c.use_pose, c.use_local, c.use_canonical, c.use_residual) == (False, False, True, True)
    assert (c.transform_from, c.residual_form, c.codriving_length) == ("co-driving", "literal", "truncate")
    e = embedding_from_args(args, "fast")
    assert (e.source_steps, e.pti_steps, e.frame_steps) == (150, 100, 15)
    args = build_parser().parse_args(["demo", "--quality", "draft", "--frame-steps", "7", "--pti-steps", "0"])
    e = embedding_from_args(args, "fast")
    assert (e.source_steps, e.frame_steps, e.pti_steps) == (20, 7, 0)


@pytest.mark.parametrize("argv, message", [
    (["--source", "/nonexistent/face.png"], "face.png"),
    (["--out", "/nonexistent/dir/o.mp4"], "does not exist"),
])
def test_errors_exit_1_without_traceback(demo_files, tmp_path, capsys, argv, message):
    base = {"--source": str(demo_files.source), "--driving": str(demo_files.driving),
            "--out": str(tmp_path / "o.mp4"), "--network": "random-r-128"}
    for key, value in zip(argv[::2], argv[1::2]):
        base[key] = value
    flat = [x for kv in base.items() for x in kv]
    rc = main(["reenact", *flat, "--no-cache", "--quiet", "--quality", "draft"])
    err = capsys.readouterr().err
    assert rc == 1
    assert message in err and "Traceback" not in err


def test_bad_option_values_are_rejected_by_the_parser(capsys):
    with pytest.raises(SystemExit) as info:
        main(["demo", "--max-frames", "0"])
    assert info.value.code == 2
    assert "positive integer" in capsys.readouterr().err


def test_cuts_option_comes_from_the_config_field(capsys):
    base = ["reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4"]
    assert config_from_args(build_parser().parse_args(base)).cuts == "reanchor"
    assert config_from_args(build_parser().parse_args([*base, "--cuts", "ignore"])).cuts == "ignore"
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*base, "--cuts", "split-everything"])
    assert info.value.code == 2 and "invalid choice" in capsys.readouterr().err
