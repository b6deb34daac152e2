"""``load_generator``: one entry point for registry names, official ``.pkl`` and our ``.safetensors``.

Whatever the source, the result is a :class:`~video2stylegan.networks.stylegan3.Generator`
in eval mode, its weights frozen (no gradients), on the requested device; every failure
(a missing, damaged or foreign file, a failed download, an unusable device) raises
:class:`~video2stylegan.errors.CheckpointError`, :class:`~video2stylegan.errors.DownloadError`
or :class:`~video2stylegan.errors.InvalidOptionError`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch

from video2stylegan.errors import CheckpointError, InvalidOptionError
from video2stylegan.networks.checkpoint import load_safetensors_generator
from video2stylegan.networks.official_pickle import load_official_generator
from video2stylegan.networks.registry import (
    NETWORKS,
    NAMED_ARGUMENTS,
    architecture_mismatch,
    build_random_network,
    download,
    network_spec,
)

log = logging.getLogger(__name__)


def resolve_device(device: str | torch.device = "cpu") -> torch.device:
    """``auto`` picks CUDA when available; an unavailable CUDA request is an error, not a crash later."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise InvalidOptionError(f"unknown device {device!r}: use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda", "mps"):
        raise InvalidOptionError(f"device {str(device)!r} cannot run the networks: use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise InvalidOptionError("device 'cuda' was requested but PyTorch sees no CUDA GPU here; use --device cpu")
    return device


def load_network_file(path: str | Path):
    """Load a generator from a ``.safetensors`` (ours, by suffix) or official pickle file
    (``.pkl``, or any file starting with the pickle protocol byte)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder, not a network file: pass a .pkl or .safetensors file or a "
                              "registry name")
    if not path.is_file():
        raise CheckpointError(f"network file {path} does not exist")
    if path.suffix == ".safetensors":
        return load_safetensors_generator(path)
    with open(path, "rb") as handle:
        is_pickle = handle.read(1) == b"\x80"
    if is_pickle or path.suffix == ".pkl":
        return load_official_generator(path)
    raise CheckpointError(f"{path}: unknown network format; expected an official StyleGAN3 .pkl or a .safetensors file")


def _check_architecture(spec, G, path) -> None:
    """A cached file must be the network its name says (resolution, T or R); other differences are
    reported, since the registry's settings come from NVIDIA's published training configurations."""
    wrong = architecture_mismatch(spec, G.init_kwargs, keys=NAMED_ARGUMENTS)
    if wrong:
        raise CheckpointError(f"{path} is not {spec.name}: its generator has {', '.join(wrong)}. Delete the file "
                              "to download it again, or pass your own file's path as the network.")
    others = architecture_mismatch(spec, G.init_kwargs)
    if others:
        log.warning("%s: its generator differs from the registry's settings for %s: %s", path, spec.name,
                    ", ".join(others))


def load_generator(name_or_path: str | Path, device: str | torch.device = "cpu", progress: bool = True):
    """Load a StyleGAN3 generator by registry name (downloaded once, then cached) or file path.

    Returns our :class:`~video2stylegan.networks.stylegan3.Generator` in eval
    mode without gradients on its weights, on ``device``.
    """
    device = resolve_device(device)
    name = str(name_or_path)
    path = Path(name).expanduser()
    if path.exists():
        G = load_network_file(path)
    elif name in NETWORKS:
        spec = network_spec(name)
        if spec.bundled is not None:
            G = load_network_file(spec.bundled)
        elif spec.url is None:
            G = build_random_network(spec)
        else:
            path = download(spec, progress=progress)
            try:
                G = load_network_file(path)
            except CheckpointError as exc:
                raise CheckpointError(f"{exc} (the cached download of {spec.name}: delete {path} to download it "
                                      "again)") from None
            _check_architecture(spec, G, path)
    elif path.suffix in (".pkl", ".safetensors") or "/" in name:
        raise CheckpointError(f"network file {path} does not exist")
    else:
        network_spec(name)  # raises with the list of known names
        raise AssertionError("unreachable")
    return G.to(device)
