"""Short names of known networks, where to get them, and the download cache.

:data:`NETWORKS` maps a registry name to a :class:`NetworkSpec` of one of three kinds:
an official StyleGAN3 download (``url`` and the ``generator_kwargs`` NVIDIA trained it
with), an untrained ``random-*`` network built here from a fixed seed (``random_init``),
or a ``.safetensors`` file shipped in the package (``bundled``).

Official networks are downloaded on first use into the cache folder
(``$VIDEO2STYLEGAN_CACHE``, default ``~/.cache/video2stylegan``): streamed to a
``.partial`` file with a progress bar, checked, then renamed into place, so an
interrupted download never leaves a file that looks complete.
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from video2stylegan.errors import DownloadError, InvalidOptionError
from video2stylegan.io.atomic import atomic_output
from video2stylegan.networks.stylegan3 import Generator

NGC_BASE = "https://api.ngc.nvidia.com/v2/models/nvidia/research/stylegan3/versions/1/files"
CACHE_ENV = "VIDEO2STYLEGAN_CACHE"
CONNECT_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class NetworkSpec:
    """One registry entry: its name, and where its generator comes from (exactly one of ``url``,
    ``random_init`` and ``bundled`` is set)."""

    name: str
    url: str | None  # None: shipped in the package (`bundled`) or built from `random_init`
    description: str
    sha256: str | None = None  # checked after download where known
    size: int | None = None  # bytes, checked where known
    random_init: dict | None = None  # Generator kwargs (+ "seed") of an untrained network
    bundled: Path | None = None  # a .safetensors file inside the installed package
    generator_kwargs: dict | None = None  # G_ema's constructor arguments, as NVIDIA's train.py sets them

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def official_generator_kwargs(config: str, resolution: int, batch: int, cbase: int = 32768, cmax: int = 512) -> dict:
    """G_ema's constructor arguments for a ``train.py --cfg=stylegan3-{t,r}`` run (NVlabs/stylegan3).

    ``c.G_kwargs = EasyDict(class_name=None, z_dim=512, w_dim=512,
    mapping_kwargs=EasyDict())``; ``channel_base``/``channel_max`` from
    ``--cbase``/``--cmax``; ``mapping_kwargs.num_layers = 2`` (StyleGAN3's
    default map depth); ``magnitude_ema_beta = 0.5 ** (c.batch_size / (20 *
    1e3))``; for ``stylegan3-r``: ``conv_kernel = 1``, ``channel_base *= 2``,
    ``channel_max *= 2``, ``use_radial_filters = True``. The training loop
    adds ``c_dim``, ``img_resolution`` and ``img_channels`` of the data set.
    """
    kwargs = dict(z_dim=512, w_dim=512, mapping_kwargs={"num_layers": 2}, channel_base=cbase, channel_max=cmax,
                  magnitude_ema_beta=0.5 ** (batch / (20 * 1e3)))
    if config == "R":
        kwargs.update(conv_kernel=1, channel_base=cbase * 2, channel_max=cmax * 2, use_radial_filters=True)
    return dict(kwargs, c_dim=0, img_resolution=resolution, img_channels=3)


def _official(name: str, description: str, config: str, resolution: int, batch: int, cbase: int = 32768) -> NetworkSpec:
    """An NGC download; ``config``, ``batch`` and ``cbase`` as in NVIDIA's docs/configs.md for that network."""
    return NetworkSpec(name=name, url=f"{NGC_BASE}/{name}.pkl", description=description,
                       generator_kwargs=official_generator_kwargs(config, resolution, batch, cbase))


def _random(name: str, config: str, resolution: int) -> NetworkSpec:
    kwargs = dict(z_dim=64, c_dim=0, w_dim=64, img_resolution=resolution, img_channels=3,
                  channel_base=4096, channel_max=128, seed=0)
    if config == "R":
        kwargs.update(conv_kernel=1, use_radial_filters=True)
    text = f"untrained StyleGAN3-{config}, {resolution} px, fixed seed: abstract patterns for smoke tests and benchmarks"
    return NetworkSpec(name=name, url=None, description=text, random_init=kwargs)


#: Networks that ship with the package: ``<name>.safetensors`` here is registry name ``<name>``.
BUNDLED_DIR = Path(__file__).resolve().parent.parent / "assets" / "networks"
#: The network trained on the synthetic heads (``video2stylegan.training``), shipped in ``BUNDLED_DIR``:
#: what the demo and the synthetic benchmark run on.
BUNDLED_NETWORK = "synthetic-heads-128"
BUNDLED_DESCRIPTIONS = {
    BUNDLED_NETWORK: "StyleGAN3-T trained on the procedural heads (video2stylegan.synthetic), 128 px, offline",
}


def is_synthetic_network(name_or_path: str | os.PathLike) -> bool:
    """Whether a network belongs to the synthetic renderer's world (was trained on its heads), by its name.

    The one rule for it: the network's name starts with ``synthetic-``, where a
    registry name is its own name and a file path is named by its file name, so ``synthetic-heads-128``,
    ``/x/synthetic-heads-128.safetensors`` and ``runs/synthetic-heads-128-v5.safetensors`` are synthetic, and
    ``stylegan3-r-ffhq-1024x1024``, ``random-r-128``, ``synthetic/G.safetensors`` and ``synthetic_v1.pkl``
    are not. Only the name is read (no file is opened): a network trained on the heads but saved under
    another name is not recognised; name it ``synthetic-*`` or choose explicitly (``--pose-regressor renderer``).
    """
    return Path(os.fspath(name_or_path)).name.startswith("synthetic-")


def bundled_networks(directory: Path = BUNDLED_DIR) -> list[NetworkSpec]:
    """Entries for the ``.safetensors`` files in ``directory`` (none while it is absent)."""
    files = sorted(directory.glob("*.safetensors")) if directory.is_dir() else []
    return [
        NetworkSpec(name=f.stem, url=None, description=BUNDLED_DESCRIPTIONS.get(f.stem, "network shipped with the package"),
                    bundled=f)
        for f in files
    ]


NETWORKS: dict[str, NetworkSpec] = {
    spec.name: spec
    for spec in [
        # FFHQ(-U) and MetFaces at 1024 px: --batch=32 (MetFaces fine-tuned from FFHQ with the same
        # architecture); the FFHQ-U 256 px ablations: --batch=64 --cbase=16384.
        _official("stylegan3-r-ffhq-1024x1024", "StyleGAN3-R, FFHQ faces (aligned), 1024 px: the method's default",
                  "R", 1024, 32),
        _official("stylegan3-t-ffhq-1024x1024", "StyleGAN3-T, FFHQ faces (aligned), 1024 px", "T", 1024, 32),
        _official("stylegan3-r-ffhqu-1024x1024", "StyleGAN3-R, FFHQ-U faces (unaligned), 1024 px", "R", 1024, 32),
        _official("stylegan3-t-ffhqu-1024x1024", "StyleGAN3-T, FFHQ-U faces (unaligned), 1024 px", "T", 1024, 32),
        _official("stylegan3-r-ffhqu-256x256", "StyleGAN3-R, FFHQ-U faces (unaligned), 256 px", "R", 256, 64, 16384),
        _official("stylegan3-t-ffhqu-256x256", "StyleGAN3-T, FFHQ-U faces (unaligned), 256 px", "T", 256, 64, 16384),
        _official("stylegan3-r-metfaces-1024x1024", "StyleGAN3-R, MetFaces portraits, 1024 px", "R", 1024, 32),
        _official("stylegan3-t-metfaces-1024x1024", "StyleGAN3-T, MetFaces portraits, 1024 px", "T", 1024, 32),
        _random("random-t-128", "T", 128),
        _random("random-r-128", "R", 128),
        *bundled_networks(),
    ]
}


def cache_dir() -> Path:
    """The download cache folder (``$VIDEO2STYLEGAN_CACHE`` or ``~/.cache/video2stylegan``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "video2stylegan")


def network_spec(name: str) -> NetworkSpec:
    try:
        return NETWORKS[name]
    except KeyError:
        known = ", ".join(sorted(NETWORKS))
        raise InvalidOptionError(f"unknown network {name!r}: pass a path to a .pkl/.safetensors file or one of: {known}") from None


#: Constructor arguments that decide the architecture (the others only matter for training).
ARCHITECTURE_ARGUMENTS = ("z_dim", "w_dim", "c_dim", "img_resolution", "img_channels", "channel_base", "channel_max",
                          "conv_kernel", "use_radial_filters", "mapping_kwargs")
#: Of those, the ones an official network's name states (resolution, T or R): a file that differs is another network.
NAMED_ARGUMENTS = ("img_resolution", "conv_kernel", "use_radial_filters")
_DEFAULTS = {"conv_kernel": 3, "use_radial_filters": False, "mapping_kwargs": {}}


def architecture_mismatch(spec: NetworkSpec, init_kwargs: dict, keys=ARCHITECTURE_ARGUMENTS) -> list[str]:
    """The architecture arguments (of ``keys``) in which a loaded network differs from what ``spec`` says it is."""
    if spec.generator_kwargs is None:
        return []
    mismatches = []
    for key in keys:
        found, expected = init_kwargs.get(key, _DEFAULTS.get(key)), spec.generator_kwargs.get(key, _DEFAULTS.get(key))
        if found != expected:
            mismatches.append(f"{key}={found!r} (expected {expected!r})")
    return mismatches


def build_meta_network(spec: NetworkSpec) -> Generator:
    """The architecture of an official entry on the ``meta`` device (no weights, no download)."""
    with torch.device("meta"):
        return Generator(**spec.generator_kwargs)


def build_random_network(spec: NetworkSpec) -> Generator:
    """The untrained network of a ``random-*`` entry, identical on every machine for a given torch version."""
    kwargs = dict(spec.random_init)
    with torch.random.fork_rng(devices=[]):  # seeded without touching the caller's RNG state
        torch.manual_seed(kwargs.pop("seed"))
        G = Generator(**kwargs)
    return G.eval().requires_grad_(False)


def cached_path(spec: NetworkSpec) -> Path:
    return cache_dir() / "networks" / spec.filename


def download(spec: NetworkSpec, progress: bool = True) -> Path:
    """Return the cached file of ``spec``, downloading it first if needed."""
    target = cached_path(spec)
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    offline_hint = (
        f"If this machine is offline, download {spec.url} elsewhere and pass the file's path "
        f"(e.g. --network /path/to/{spec.filename}), or copy it to {target}."
    )
    with atomic_output(target, suffix=".partial", what="network", error=DownloadError) as tmp, open(tmp, "wb") as out:
        try:
            response = urllib.request.urlopen(spec.url, timeout=CONNECT_TIMEOUT_S)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DownloadError(f"cannot download network {spec.name!r} from {spec.url}: {reason}. {offline_hint}") from None
        with response:
            total = int(response.headers.get("Content-Length") or 0) or spec.size
            digest = hashlib.sha256()
            received = _stream(response, out, digest, total, spec.filename, progress)
        if total and received != total:
            raise DownloadError(f"download of {spec.name!r} stopped after {received} of {total} bytes. {offline_hint}")
        if spec.size is not None and received != spec.size:
            raise DownloadError(f"download of {spec.name!r} has {received} bytes, expected {spec.size}")
        if spec.sha256 is not None and digest.hexdigest() != spec.sha256:
            raise DownloadError(f"download of {spec.name!r} has SHA-256 {digest.hexdigest()}, expected {spec.sha256}")
    return target


def _stream(response, out, digest, total, label, progress) -> int:
    received = 0
    with tqdm(total=total or None, unit="B", unit_scale=True, desc=f"downloading {label}", disable=not progress) as bar:
        while True:
            try:
                chunk = response.read(1 << 20)
            except OSError as exc:
                raise DownloadError(f"download of {label} was interrupted after {received} bytes: {exc}") from None
            if not chunk:
                return received
            out.write(chunk)
            digest.update(chunk)
            received += len(chunk)
            bar.update(len(chunk))
