"""``reenact`` and ``demo``: the method from the command line.

The method's options are generated from :class:`~video2stylegan.method.config.ReenactConfig`'s fields and
the embedding budgets' from :class:`~video2stylegan.pipeline.embedding.EmbeddingOptions`' (names, types,
choices, ranges, defaults and help: :func:`video2stylegan.cli.options.add_field_option`); the options here
are those of a run (files, device, cache) that belong to no settings dataclass.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import fields
from pathlib import Path

from video2stylegan.cli.options import (
    FPS_RANGE_TEXT,
    add_detector_options,
    add_field_option,
    add_field_options,
    face_choice_type,
    face_index_type,
    field_values,
    fps_type,
)
from video2stylegan.io.outputs import check_output
from video2stylegan.method.config import ReenactConfig
from video2stylegan.pipeline.demo import demo_inputs
from video2stylegan.pipeline.embedding import EMBEDDING_PRESETS, EmbeddingOptions
from video2stylegan.pipeline.output import check_shot_outputs
from video2stylegan.pipeline.run import DEFAULT_NETWORK, reenact

#: The EmbeddingOptions fields a ``--quality`` preset sets (their default is the preset's).
PRESET_FIELDS = frozenset().union(*EMBEDDING_PRESETS.values())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``reenact`` and ``demo``."""
    parser.add_argument("--max-frames", type=_positive_int, default=None, help="use only the first N driving frames")
    parser.add_argument("--fps", type=fps_type, default=None,
                        help=f"output frame rate, {FPS_RANGE_TEXT} (default: the driving video's)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    parser.add_argument("--low-memory", action="store_true",
                        help="backward passes keep about 0.4x the activations, at about 12%% more time (for GPUs "
                             "short of memory; docs/networks.md)")
    parser.add_argument("--cache", type=Path, default=None, metavar="DIR",
                        help="cache of projections, PTI and calibration (default $VIDEO2STYLEGAN_CACHE or "
                             "~/.cache/video2stylegan)")
    parser.add_argument("--no-cache", action="store_true", help="compute everything afresh, store nothing")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    group = parser.add_argument_group("embedding budgets (see docs/method.md)")
    group.add_argument("--quality", choices=tuple(EMBEDDING_PRESETS), default=None,
                       help="optimisation budget of the embeddings (steps per stage; see docs/method.md)")
    for f in fields(EmbeddingOptions):
        add_field_option(group, f, default_text="the --quality preset's" if f.name in PRESET_FIELDS else None)


def _add_method_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("method (see docs/method.md)")
    add_field_options(group, ReenactConfig)
    group.add_argument("--pose-regressor", choices=("auto", "generator", "renderer"), default="auto",
                       help="train the pose regressor on the network's samples or on synthetic renders")
    group.add_argument("--local-calibration", choices=("auto", "generated", "projected"), default="auto",
                       help="select local channels on the network's samples or on the projected frames")


def register(subparsers) -> None:
    """Add the ``reenact`` and ``demo`` subcommands."""
    p = subparsers.add_parser(
        "reenact",
        help="make a portrait move like a driving video",
        description="Reenact the face of --source with the head, eye and mouth motion of --driving "
                    "(and optionally the head motion of --co-driving), through a StyleGAN3's latent spaces.",
    )
    p.add_argument("--source", required=True, type=Path, help="the portrait (image file)")
    p.add_argument("--driving", required=True, type=Path, help="the driving talking-head video")
    p.add_argument("--co-driving", type=Path, default=None, help="a second video for the head pose / placement")
    p.add_argument("--network", default=DEFAULT_NETWORK, help=f"registry name or file (default {DEFAULT_NETWORK})")
    p.add_argument("--out", required=True, type=Path, help="the MP4 to write")
    p.add_argument("--paste-back", action="store_true", help="paste the generated face back into the source photo")
    p.add_argument("--side-by-side", action="store_true", help="write source | driving | result")
    p.add_argument("--keep-audio", action="store_true", help="mux the driving video's audio into the output")
    p.add_argument("--missing-faces", choices=("interpolate", "fail"), default="interpolate",
                   help="driving frames without a detectable face: interpolate their landmarks (default) or fail")
    faces = p.add_argument_group("faces (see docs/faces.md)")
    faces.add_argument("--face", default="previous", metavar="largest|previous|INDEX", type=face_choice_type,
                       help="the person followed in the driving (and co-driving) clip when it shows several: "
                            "previous (default: nearest the previous frame's face, the first frame's largest), "
                            "largest in every frame, or an index, 0 = largest")
    faces.add_argument("--source-face", default="largest", metavar="largest|INDEX", type=face_index_type,
                       help="the face of a portrait that shows several: an index, 0 = largest (default largest)")
    add_detector_options(faces)
    _add_method_options(p)
    _add_run_options(p)
    p.set_defaults(func=run_reenact)

    d = subparsers.add_parser(
        "demo",
        help="run reenact offline on the bundled synthetic demo pair",
        description="Reenact the bundled synthetic portrait with the bundled driving clip, side by side "
                    "(source | driving | result). Works offline on a CPU in minutes.",
    )
    d.add_argument("--out", type=Path, default=Path("demo.mp4"), help="the MP4 to write (default demo.mp4)")
    d.add_argument("--co-driving", action="store_true", help="take the head pose from the bundled co-driving clip")
    _add_method_options(d)
    _add_run_options(d)
    d.set_defaults(func=run_demo)


def config_from_args(args: argparse.Namespace) -> ReenactConfig:
    """The :class:`ReenactConfig` the options ask for (unset options keep the defaults)."""
    return ReenactConfig(**field_values(args, ReenactConfig))


def embedding_from_args(args: argparse.Namespace, default_preset: str) -> EmbeddingOptions:
    """The :class:`EmbeddingOptions` of ``--quality`` (else ``default_preset``) with the budgets set."""
    return EmbeddingOptions.preset(args.quality or default_preset, **field_values(args, EmbeddingOptions))


def _run(args, default_preset: str, **kwargs) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    result = reenact(
        config=config_from_args(args),
        embedding=embedding_from_args(args, default_preset),
        max_frames=args.max_frames,
        fps=args.fps,
        device=args.device,
        low_memory=args.low_memory,
        cache_dir=False if args.no_cache else args.cache,
        pose_regressor=args.pose_regressor,
        local_calibration=args.local_calibration,
        progress=not args.quiet,
        **kwargs,
    )
    print(result.summary())


def check_run_outputs(args: argparse.Namespace, inputs: dict) -> None:
    """Refuse an ``--out`` or ``--cache`` that is one of ``inputs`` or cannot be written, before any work;
    with ``--cuts split``, also an existing file named like one of ``--out``'s shot files that is an input."""
    check_output(args.out, inputs, what="--out")
    if getattr(args, "cuts", None) == "split":
        check_shot_outputs(args.out, inputs, what="--out")
    if args.cache is not None and not args.no_cache:
        check_output(args.cache, inputs, what="--cache", kind="dir")


def run_reenact(args: argparse.Namespace) -> None:
    check_run_outputs(args, {"--source": args.source, "--driving": args.driving, "--co-driving": args.co_driving,
                             "--network": args.network})
    _run(
        args,
        "default",
        source=args.source,
        driving=args.driving,
        co_driving=args.co_driving,
        network=args.network,
        out=args.out,
        paste_back=args.paste_back,
        side_by_side=args.side_by_side,
        keep_audio=args.keep_audio,
        on_missing_face=args.missing_faces,
        face=args.face,
        source_face=args.source_face,
        detector=args.detector,
        upsample=args.upsample,
    )


def run_demo(args: argparse.Namespace) -> None:
    inputs = demo_inputs(co_driving=args.co_driving)
    check_run_outputs(args, {"the bundled source portrait": inputs.source, "the bundled driving clip": inputs.driving,
                             "the bundled co-driving clip": inputs.co_driving})
    if inputs.note:
        print(inputs.note)
    if args.co_driving and args.pose_from is None:
        args.pose_from = "co-driving"
    if args.co_driving and args.transform_from is None:
        args.transform_from = "co-driving"
    if args.max_frames is None:
        args.max_frames = inputs.default_frames
    if args.pose_regressor == "auto":
        args.pose_regressor = "renderer"  # the demo lives in the synthetic renderer's world
    _run(args, inputs.quality, source=inputs.source, driving=inputs.driving, co_driving=inputs.co_driving,
         network=inputs.network, out=args.out, side_by_side=True)
