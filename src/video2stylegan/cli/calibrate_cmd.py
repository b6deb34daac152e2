"""``calibrate``: a network's pose regressor (Eq. 7) and local channels (Eq. 8-9), ahead of ``reenact``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import torch

from video2stylegan.cli.options import bounded_float, bounded_int
from video2stylegan.errors import InvalidOptionError
from video2stylegan.io.outputs import check_output
from video2stylegan.method.cache import CacheFolder, network_identity
# the modules, not their functions: the calibrations are looked up when called (see pipeline.calibration)
from video2stylegan.method import local_channels, pose
from video2stylegan.networks import loading
from video2stylegan.pipeline.calibration import BUNDLED_RENDERER_REGRESSOR, resolve_pose_source
from video2stylegan.pipeline.options import default_cache_dir

#: Generated faces of the local-channel calibration: at least 2, at most 4096 (their codes are drawn at
#: once, [N, num_ws, w_dim] floats, and each face costs a synthesis and a detection: at 1024 px about a
#: second, so 4096 is already an hour).
SAMPLES_RANGE = (2, 4096)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "calibrate",
        help="train a network's pose regressor and select its eye/nose/mouth channels (cached)",
        description="Per-network calibration of the method, stored in the cache that reenact reads: the "
                    "differentiable pose regressor of Eq. 7 and the local S-space channels of Eq. 8-9. "
                    "Prints how many channels each part gets per layer.",
    )
    p.add_argument("--network", required=True, help="registry name or network file")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N")
    p.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="cache folder (default $VIDEO2STYLEGAN_CACHE or ~/.cache/video2stylegan)")
    p.add_argument("--no-pose", action="store_true", help="skip the pose regressor")
    p.add_argument("--no-local", action="store_true", help="skip the local channels")
    p.add_argument("--pose-regressor", choices=("auto", "generator", "renderer"), default="auto",
                   help="train on the network's samples labelled by dlib + PnP, or on synthetic renders")
    p.add_argument("--samples", type=bounded_int(*SAMPLES_RANGE), default=32,
                   help=f"generated faces for the local channels, {SAMPLES_RANGE[0]} to {SAMPLES_RANGE[1]} (default 32)")
    p.add_argument("--t-fg", type=bounded_float(0, 1), default=None,
                   help="IoU+ threshold of a part's channels, 0 to 1 (default 0.25)")
    p.add_argument("--t-bg", type=bounded_float(0, 1), default=None,
                   help="IoU- threshold: overlap with the rest, 0 to 1 (default 0.05)")
    p.add_argument("--figure", type=Path, default=None, metavar="PNG",
                   help="save the normalised feature maps of the selected channels (the paper's Fig. 7)")
    p.add_argument("--force", action="store_true", help="recompute even when the cache has a result")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    if args.figure is not None and args.figure.suffix.lower() != ".png":
        raise InvalidOptionError(f"--figure must name a .png file, got {args.figure}")
    if args.no_pose and args.no_local:
        raise InvalidOptionError("--no-pose and --no-local together leave nothing to calibrate")
    # before the network is loaded: a figure or cache that would replace the network file fails now
    if args.figure is not None and not args.no_local:
        check_output(args.figure, {"--network": args.network}, what="--figure")
    if args.cache is not None:
        check_output(args.cache, {"--network": args.network}, what="--cache", kind="dir")
    G = loading.load_generator(args.network, args.device, progress=not args.quiet)
    net_id = network_identity(G)
    root = CacheFolder(args.cache or default_cache_dir()).calibration
    progress = not args.quiet

    if not args.no_local:
        settings = dict(n=args.samples)
        for key in ("t_fg", "t_bg"):
            if getattr(args, key) is not None:
                settings[key] = getattr(args, key)
        if args.force:
            local = local_channels.calibrate_local_channels(G, local_channels.LocalChannelSettings(**settings),
                                                            network_id=net_id, progress=progress)
        else:
            local = local_channels.calibrate_cached(G, root, net_id, progress=progress, **settings)
        print(f"local channels of {args.network} over {local.n_images} faces:")
        print(local.summary())
        if args.figure is not None:
            g = torch.Generator().manual_seed(0)
            with torch.no_grad():
                ws = G.mapping(torch.randn(1, G.z_dim, generator=g).to(G.w_avg.device), truncation_psi=0.7)
            local_channels.save_feature_maps(G, ws, local, args.figure)
            print(f"feature maps: {args.figure}")

    if not args.no_pose:
        source = resolve_pose_source(args.pose_regressor, args.network)
        # the renderer-trained regressor does not depend on the network: one for all (and one ships)
        key = "renderer" if source == "renderer" else net_id
        if source == "renderer" and BUNDLED_RENDERER_REGRESSOR.is_file() and not args.force:
            path = BUNDLED_RENDERER_REGRESSOR
        else:
            pose.calibrate_pose_regressor(None if source == "renderer" else G, root, key, source=source,
                                          progress=progress, force=args.force)
            settings = pose.CalibrationSettings(source=source, samples=pose.DEFAULT_SAMPLES[source])
            path = pose.calibration_path(root, key, settings)
        _, report = pose.load_pose_regressor(path, with_report=True)
        mae = report.get("val_mae_deg")
        print(f"pose regressor ({source} samples): {path}")
        if mae is not None:
            print("validation MAE (deg): " + ", ".join(f"{name} {value:.2f}" for name, value in mae.items()))
