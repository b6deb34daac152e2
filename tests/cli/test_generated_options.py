"""Settings written once: every field of each settings dataclass (ReenactConfig, EmbeddingOptions, TrainConfig)
is a command-line option generated from the field, with the field's default, choices and bounds, and a help
that states the range; the flags of the command lines written by hand before (issue #18) all still parse."""

from __future__ import annotations

import argparse
import math
from dataclasses import fields

import pytest

from video2stylegan.checks import kind_of, number_text, option_name
from video2stylegan.cli.main import build_parser, main
from video2stylegan.cli.options import field_values
from video2stylegan.cli.reenact_cmd import config_from_args, embedding_from_args
from video2stylegan.method.config import ReenactConfig
from video2stylegan.pipeline.embedding import EmbeddingOptions
from video2stylegan.training.config import TrainConfig

REENACT = ["reenact", "--source", "s.png", "--driving", "d.mp4", "--out", "o.mp4"]
DEMO = ["demo"]
TRAIN = ["train-synthetic", "--run", "r"]

#: (settings dataclass, a command line of the subcommand that takes its options)
SETTINGS = [
    (ReenactConfig, REENACT),
    (ReenactConfig, DEMO),
    (EmbeddingOptions, REENACT),
    (EmbeddingOptions, DEMO),
    (TrainConfig, TRAIN),
]
IDS = [f"{cls.__name__}-{argv[0]}" for cls, argv in SETTINGS]

#: Every flag of ``reenact``, ``demo`` and ``train-synthetic`` before their options were generated (commit cbe1deb).
FLAGS_BEFORE = {
    "reenact": [
        "--alpha", "--beta", "--cache", "--canonical-mode", "--co-driving", "--codriving-length", "--cuts",
        "--detector", "--device", "--driving", "--face", "--first-frame-steps", "--fps", "--frame-batch",
        "--frame-steps", "--gamma", "--keep-audio", "--local-calibration", "--local-mode", "--low-memory",
        "--max-frames", "--method", "--missing-faces", "--network", "--no-cache", "--no-canonical",
        "--no-canonical-feedback", "--no-local", "--no-pose", "--no-residual", "--out", "--paste-back", "--pose-from",
        "--pose-mode", "--pose-regressor", "--pose-steps", "--pti-steps", "--quality", "--quiet", "--residual-form",
        "--side-by-side", "--source", "--source-face", "--source-steps", "--transform-from", "--upsample", "--zeta",
        "--zeta-anchor",
    ],
    "demo": [
        "--alpha", "--beta", "--cache", "--canonical-mode", "--co-driving", "--codriving-length", "--cuts",
        "--device", "--first-frame-steps", "--fps", "--frame-batch", "--frame-steps", "--gamma",
        "--local-calibration", "--local-mode", "--low-memory", "--max-frames", "--method", "--no-cache",
        "--no-canonical", "--no-canonical-feedback", "--no-local", "--no-pose", "--no-residual", "--out",
        "--pose-from", "--pose-mode", "--pose-regressor", "--pose-steps", "--pti-steps", "--quality", "--quiet",
        "--residual-form", "--source-steps", "--transform-from", "--zeta", "--zeta-anchor",
    ],
    "train-synthetic": [
        "--batch", "--channel-base", "--channel-max", "--checkpoint-every", "--checkpoint-minutes", "--device",
        "--ema-kimg", "--export", "--grid-every", "--heldout", "--init-from", "--log-every", "--loss", "--lr",
        "--lr-half-life-steps", "--mapping-layers", "--mapping-lr-multiplier", "--no-progress", "--num-layers",
        "--part-weight", "--resolution", "--resume", "--run", "--seed", "--steps", "--threads", "--w-dim", "--workers",
    ],
}


def _subparser(command: str) -> argparse.ArgumentParser:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


def _actions(command: str) -> dict[str, argparse.Action]:
    return {a.dest: a for a in _subparser(command)._actions}


def _below(value):
    """The nearest value under ``value`` of its kind (an integer one less, a float one ulp less)."""
    return value - 1 if isinstance(value, int) else math.nextafter(value, -math.inf)


def _above(value):
    return value + 1 if isinstance(value, int) else math.nextafter(value, math.inf)


@pytest.mark.parametrize("settings, argv", SETTINGS, ids=IDS)
def test_every_field_is_an_option_with_its_choices_bounds_and_help(settings, argv):
    actions = _actions(argv[0])
    for f in fields(settings):
        assert f.name in actions, f"{settings.__name__}.{f.name} has no option in {argv[0]}"
        action, kind = actions[f.name], kind_of(f)
        assert action.option_strings == [option_name(f)]
        assert action.default is None  # unset: the dataclass's (or the preset's) default, see the next test
        assert f.metadata["help"] in action.help
        if kind.base is bool:
            assert action.nargs == 0 and action.const is (not f.default)
            assert ("on by default" if f.default else "off by default") in action.help
            continue
        assert tuple(action.choices or ()) == f.metadata.get("choices", ())
        if kind.base is tuple:
            assert action.nargs == (kind.length or "+")
        if "range" in f.metadata:
            low, high = f.metadata["range"]
            assert action.type(repr(low)) == low
            with pytest.raises(argparse.ArgumentTypeError, match=number_text(low)):
                action.type(repr(_below(low)))
            if high is None:
                assert f"at least {number_text(low)}" in action.help
                assert action.type(repr(low * 1000 + 1000)) == low * 1000 + 1000
            else:
                assert action.type(repr(high)) == high
                with pytest.raises(argparse.ArgumentTypeError, match=f"from {number_text(low)} to"):
                    action.type(repr(_above(high)))
                shown = f.metadata.get("advised", (low, high))
                assert f"{number_text(shown[0])} to {number_text(shown[1])}" in action.help
        if f.default is not None and "default_text" not in f.metadata and settings is not EmbeddingOptions:
            shown = " ".join(map(number_text, f.default)) if kind.base is tuple else (
                number_text(f.default) if kind.base in (int, float) else f.default)
            assert f"default {shown})" in action.help


@pytest.mark.parametrize("argv", [REENACT, DEMO], ids=["reenact", "demo"])
def test_unset_options_keep_the_dataclass_defaults(argv):
    args = build_parser().parse_args(argv)
    assert field_values(args, ReenactConfig) == {} and field_values(args, EmbeddingOptions) == {}
    assert config_from_args(args) == ReenactConfig()
    assert embedding_from_args(args, "default") == EmbeddingOptions()  # the "default" preset is the dataclass's
    assert embedding_from_args(args, "fast") == EmbeddingOptions.preset("fast")


def test_unset_training_options_keep_the_train_config_defaults():
    assert field_values(build_parser().parse_args(TRAIN), TrainConfig) == {}


def _other_value(f):
    """A command line that sets field ``f`` to a value other than its default, and that value."""
    kind, meta = kind_of(f), f.metadata
    if kind.base is bool:
        return [option_name(f)], not f.default
    if "choices" in meta:
        value = next(c for c in reversed(meta["choices"]) if c != f.default)
        return [option_name(f), value], value
    if "range" not in meta:  # text
        return [option_name(f), "other/run"], "other/run"
    low, high = meta.get("advised", meta["range"])
    if kind.base is tuple:
        value = (low + 1, low + 4) if kind.item is int else (low,) * kind.length
        return [option_name(f), *map(repr, value)], value
    value = high if high is not None and high != f.default else next(v for v in (low + 2, low + 4) if v != f.default)
    return [option_name(f), repr(value)], value


@pytest.mark.parametrize("settings, argv", SETTINGS, ids=IDS)
def test_each_option_reaches_its_field(settings, argv):
    build = {ReenactConfig: config_from_args, EmbeddingOptions: lambda a: embedding_from_args(a, "default"),
             TrainConfig: lambda a: TrainConfig(**field_values(a, TrainConfig))}[settings]
    for f in fields(settings):
        extra, value = _other_value(f)
        built = build(build_parser().parse_args([*argv, *extra]))
        assert getattr(built, f.name) == value and value != f.default, f.name
        assert type(getattr(built, f.name)) is type(value) or kind_of(f).base is float, f.name


@pytest.mark.parametrize("command", list(FLAGS_BEFORE))
def test_the_flags_written_by_hand_before_still_exist(command):
    flags = {o for a in _subparser(command)._actions for o in a.option_strings}
    assert not set(FLAGS_BEFORE[command]) - flags


@pytest.mark.parametrize("argv", [REENACT, DEMO], ids=["reenact", "demo"])
def test_old_method_flags_parse_to_the_same_configuration(argv):
    args = build_parser().parse_args([*argv, "--method", "baseline", "--no-canonical", "--no-canonical-feedback",
                                      "--pose-from", "co-driving", "--residual-form", "literal", "--alpha=-0.5",
                                      "--pti-steps", "0", "--frame-batch", "4", "--quality", "draft"])
    assert config_from_args(args) == ReenactConfig(method="baseline", use_canonical=False, canonical_feedback=False,
                                                   pose_from="co-driving", residual_form="literal", alpha=-0.5)
    assert embedding_from_args(args, "default") == EmbeddingOptions.preset("draft", pti_steps=0, frame_batch=4)


def test_layer_options_take_several_indices_sorted_by_the_config(capsys):
    args = build_parser().parse_args([*REENACT, "--constrained-layers", "7", "3", "4", "--pose-layers", "0", "1"])
    config = config_from_args(args)
    assert (config.constrained_layers, config.pose_layers) == ((3, 4, 7), (0, 1))
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*REENACT, "--constrained-layers", "3", "64"])
    assert info.value.code == 2
    assert "argument --constrained-layers: 64 is not an integer from 0 to 63" in capsys.readouterr().err


@pytest.mark.parametrize("extra, message", [
    (["--pti-steps", "-1"], "argument --pti-steps: -1 is not an integer of at least 0"),
    (["--source-steps", "0"], "argument --source-steps: 0 is not an integer of at least 1"),
    (["--smoothing-kernel", "0"], "argument --smoothing-kernel: 0 is not an integer of at least 1"),
    (["--perceptual", "lpips"], "argument --perceptual: invalid choice: 'lpips'"),
])
def test_generated_options_refuse_at_parse_time(extra, message, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*REENACT, *extra])
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_a_rule_beyond_the_range_is_the_dataclass_s_one_message(capsys, tmp_path):
    # an even kernel passes the parser (its range is "at least 1") and is refused by ReenactConfig, before any work
    assert main([*REENACT, "--out", str(tmp_path / "o.mp4"), "--smoothing-kernel", "4"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["video2stylegan reenact: error: invalid method configuration: smoothing_kernel must be odd, got 4."]


def test_training_options_reach_the_config_and_its_own_rules_still_apply(tmp_path, capsys):
    args = build_parser().parse_args([*TRAIN, "--betas", "0.5", "0.9", "--loss", "l1", "--lr-warmup-steps", "0"])
    config = TrainConfig(**field_values(args, TrainConfig))
    assert (config.betas, config.loss, config.lr_warmup_steps) == ((0.5, 0.9), "l1", 0)
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args([*TRAIN, "--loss", "hinge"])
    assert info.value.code == 2 and "argument --loss: invalid choice: 'hinge'" in capsys.readouterr().err
    # beta 1 passes the parser (each 0 to 1) and is refused by TrainConfig, before the run folder exists
    assert main(["train-synthetic", "--run", str(tmp_path / "r"), "--betas", "0.9", "1"]) == 1
    assert "betas must be two numbers from 0 to below 1 (Adam's), got (0.9, 1.0)" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
