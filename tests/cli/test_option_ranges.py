"""Options that size allocations or take floats are bounded at parse time (exit 2, the range in the message
and in the help), so an absurd value fails at once instead of after minutes or with an out-of-memory error."""

from __future__ import annotations

import argparse
import time

import pytest

from video2stylegan.cli.main import build_parser, main
from video2stylegan.cli.networks_cmd import SEED_MAX, parse_seeds
from video2stylegan.cli.options import bounded_int
from video2stylegan.errors import InvalidOptionError


def _refused(argv, capsys) -> str:
    """Parse ``argv``: it must be an argparse error (exit 2); returns its message."""
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(argv)
    assert info.value.code == 2
    return capsys.readouterr().err.strip().splitlines()[-1]


def _help(argv, capsys) -> str:
    with pytest.raises(SystemExit):
        build_parser().parse_args([*argv, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_bounded_int_takes_its_ends_and_refuses_past_them():
    parse = bounded_int(1, 256)
    assert (parse("1"), parse("256"), parse(" 7 ")) == (1, 256, 7)
    for text, message in (("0", "0 is not an integer from 1 to 256"), ("257", "257 is not an integer from 1 to 256"),
                          ("-3", "-3 is not an integer from 1 to 256"), ("2.5", "expected an integer, got '2.5'"),
                          ("nan", "expected an integer, got 'nan'"),
                          ("9" * 5000, "999999999999999999999999999... is not an integer from 1 to 256")):
        with pytest.raises(argparse.ArgumentTypeError) as info:
            parse(text)
        assert str(info.value) == message
    assert bounded_int(0)("10000000000") == 10**10
    with pytest.raises(argparse.ArgumentTypeError, match="of at least 0"):
        bounded_int(0)("-1")


FACES = ["faces", "in.png", "--out", "o"]


@pytest.mark.parametrize("argv, message", [
    ([*FACES, "--size", "100000"], "argument --size: 100000 is not an integer from 8 to 4096"),
    ([*FACES, "--size", "7"], "argument --size: 7 is not an integer from 8 to 4096"),
    ([*FACES, "--upsample", "50"], "argument --upsample: expected 'auto' or an integer from 0 to 3, got '50'"),
    ([*FACES, "--upsample", "-1"], "argument --upsample: expected 'auto' or an integer from 0 to 3, got '-1'"),
    ([*FACES, "--max-frames", "0"], "argument --max-frames: 0 is not an integer of at least 1"),
    (["generate", "--network", "n", "--outdir", "o", "--batch", "0"],
     "argument --batch: 0 is not an integer from 1 to 256"),
    (["generate", "--network", "n", "--outdir", "o", "--batch", "257"],
     "argument --batch: 257 is not an integer from 1 to 256"),
    (["generate", "--network", "n", "--outdir", "o", "--seeds", "99999999999999999999"],
     "argument --seeds: '99999999999999999999' goes past the largest seed, 4294967295 (2**32 - 1)"),
    (["generate", "--network", "n", "--outdir", "o", "--seeds", "0-99999999999"],
     "argument --seeds: '0-99999999999' goes past the largest seed, 4294967295 (2**32 - 1)"),
    (["generate", "--network", "n", "--outdir", "o", "--seeds", "0-50000,4000000000-4000050000"],
     "argument --seeds: '0-50000,4000000000-4000050000' asks for more than 100000 images; split it over several runs"),
    (["demo", "--frame-batch", "65"], "argument --frame-batch: 65 is not an integer from 1 to 64"),
    (["reenact", "--source", "s", "--driving", "d", "--out", "o", "--frame-batch", "0"],
     "argument --frame-batch: 0 is not an integer from 1 to 64"),
    (["calibrate", "--network", "n", "--samples", "1"], "argument --samples: 1 is not an integer from 2 to 4096"),
    (["calibrate", "--network", "n", "--samples", "100000000"],
     "argument --samples: 100000000 is not an integer from 2 to 4096"),
    (["calibrate", "--network", "n", "--t-fg", "nan"], "argument --t-fg: nan is not a finite number from 0 to 1"),
    (["calibrate", "--network", "n", "--t-bg", "1.5"], "argument --t-bg: 1.5 is not a finite number from 0 to 1"),
    (["evaluate", "--suite", "synthetic", "--frames", "1000000000"],
     "argument --frames: 1000000000 is not an integer from 3 to 300"),
])
def test_absurd_sizes_and_non_finite_numbers_are_parse_errors(argv, message, capsys):
    assert _refused(argv, capsys).endswith(message)


def test_faces_size_is_refused_before_anything_is_read_or_created(tmp_path, capsys):
    out = tmp_path / "out"
    start = time.monotonic()
    with pytest.raises(SystemExit) as info:
        main(["faces", str(tmp_path / "missing.png"), "--out", str(out), "--size", "100000"])
    assert info.value.code == 2 and "--size" in capsys.readouterr().err
    assert time.monotonic() - start < 5 and not out.exists()


def test_the_ends_of_each_range_are_accepted():
    args = build_parser().parse_args([*FACES, "--size", "4096", "--upsample", "3"])
    assert (args.size, args.upsample) == (4096, 3)
    assert build_parser().parse_args([*FACES, "--size", "8"]).upsample == "auto"
    args = build_parser().parse_args(["generate", "--network", "n", "--outdir", "o", "--batch", "256",
                                      "--seeds", f"0-99998,{SEED_MAX}"])
    assert args.batch == 256 and args.seeds == f"0-99998,{SEED_MAX}"  # kept as text for parse_seeds
    assert build_parser().parse_args(["demo", "--frame-batch", "64"]).frame_batch == 64
    args = build_parser().parse_args(["calibrate", "--network", "n", "--samples", "4096", "--t-fg", "1", "--t-bg", "0"])
    assert (args.samples, args.t_fg, args.t_bg) == (4096, 1.0, 0.0)
    assert build_parser().parse_args(["evaluate", "--suite", "synthetic", "--frames", "300"]).frames == 300


def test_parse_seeds_counts_without_building_the_list():
    seeds = parse_seeds(f"0-99998,{SEED_MAX}")
    assert len(seeds) == 100_000 and seeds[-1] == SEED_MAX and seeds[:3] == [0, 1, 2]
    start = time.monotonic()
    with pytest.raises(InvalidOptionError, match="more than 100000 images"):
        parse_seeds(f"0-{SEED_MAX}")  # 4.3 billion seeds: refused from the ends of the range
    with pytest.raises(InvalidOptionError, match="goes past the largest seed"):
        parse_seeds("1-" + "9" * 5000)  # more digits than int() reads
    assert time.monotonic() - start < 1


def test_help_states_the_ranges(capsys):
    text = _help(FACES, capsys)
    assert "8 to 4096 (default 1024)" in text and "0 to 3 or auto (default)" in text
    text = _help(["generate", "--network", "n", "--outdir", "o"], capsys)
    assert "each 0 to 4294967295, at most 100000 in all" in text and "1 to 256 (default 4)" in text
    assert ("driving frames projected together, warm-started from the frame before the batch (1 to 64; default: "
            "on a GPU as many as fit") in _help(["demo"], capsys)
    text = _help(["calibrate", "--network", "n"], capsys)
    assert "2 to 4096 (default 32)" in text and "IoU+ threshold of a part's channels, 0 to 1" in text
    assert "frames per case, 3 to 300" in _help(["evaluate"], capsys)


REENACT = ["reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4"]


@pytest.mark.parametrize("argv, message", [
    (["--alpha", "nan"], "argument --alpha: nan is not a finite number from -10 to 10"),
    (["--beta", "inf"], "argument --beta: inf is not a finite number from -10 to 10"),
    (["--gamma", "1e300"], "argument --gamma: 1e300 is not a finite number from -10 to 10"),
    (["--zeta", "5"], "argument --zeta: 5 is not a finite number from 0 to 1"),
    (["--zeta", "-1"], "argument --zeta: -1 is not a finite number from 0 to 1"),
])
def test_method_weights_are_refused_at_parse_time_outside_their_accepted_range(argv, message, capsys):
    assert _refused([*REENACT, *argv], capsys).endswith(message)


def test_an_extrapolated_weight_reaches_the_config_with_a_warning(caplog):
    from video2stylegan.cli.reenact_cmd import config_from_args

    args = build_parser().parse_args([*REENACT, "--alpha", "-3", "--zeta", "1"])
    with caplog.at_level("WARNING", logger="video2stylegan.method.config"):
        config = config_from_args(args)
    assert (config.alpha, config.zeta) == (-3.0, 1.0)
    assert [r.getMessage()[:64] for r in caplog.records] == [
        "alpha (--alpha) = -3 is outside its documented range -2 to 2: an"]


def test_method_weight_help_comes_from_the_config_fields(capsys):
    text = _help(REENACT, capsys)
    assert ("--alpha ALPHA Eq. 1 weight of the reference's local styles (-2 to 2; -10 to 10 accepted with a "
            "warning; default -1)") in text
    assert "--gamma GAMMA Eq. 2 weight of the residual base on the local channels (0 to 2; -10 to 10" in text
    assert ("--zeta ZETA Eq. 3 share of the reference on the other channels of the constrained layers "
            "(0 to 1; default 0.5)") in text
