"""Metrics that need pretrained networks: LPIPS, FID (Inception) and FVD (I3D).

Their weights are downloaded by their packages on first use, which offline
machines (our CI) cannot do. Nothing here ever downloads: each ``load_*``
function checks that the package is importable *and* that its weights are
already in their normal location, and otherwise returns a
:class:`MetricUnavailable` carrying the reason. The arithmetic (LPIPS'
normalised, weighted feature distance; the Frechet distance of FID/FVD) is
ours and takes any feature network, so it is tested with small stand-ins.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
from tqdm.auto import tqdm

from video2stylegan.errors import InvalidOptionError


@dataclass(frozen=True)
class MetricUnavailable:
    """A metric that could not be computed here, and why (never a made-up number)."""

    metric: str
    reason: str

    def to_dict(self) -> dict:
        return {"available": False, "metric": self.metric, "reason": self.reason}

    def __str__(self) -> str:
        return f"{self.metric} unavailable: {self.reason}"


# ---------------------------------------------------------------- weight locations


def torch_hub_checkpoints() -> Path:
    """Where ``torch.hub`` keeps downloaded weights: ``$TORCH_HOME/hub/checkpoints``
    (default ``~/.cache/torch/hub/checkpoints``)."""
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints"


def _cache_dir() -> Path:
    return Path(os.environ.get("VIDEO2STYLEGAN_CACHE", Path.home() / ".cache" / "video2stylegan"))


# torchvision backbone files the `lpips` package loads (pretrained=True).
LPIPS_BACKBONES = {
    "alex": "alexnet-owt-7be5be79.pth",
    "vgg": "vgg16-397923af.pth",
    "squeeze": "squeezenet1_1-b8a52dc0.pth",
}
# torch-fidelity's Inception-v3 port of the TF FID network.
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"
# The TorchScript I3D of StyleGAN-V / universome/fvd-comparison (Kinetics-400).
I3D_WEIGHTS = "i3d_torchscript.pt"
I3D_URL = "https://www.dropbox.com/s/ge9e5ujwgetktms/i3d_torchscript.pt?dl=1"


def _missing_package(name: str, metric: str, pip: str) -> MetricUnavailable | None:
    if importlib.util.find_spec(name) is None:
        return MetricUnavailable(metric, f"the '{name}' package is not installed (pip install {pip})")
    return None


# ---------------------------------------------------------------- image batches


def _to_tensor(images, what: str):
    """uint8 ``(N, H, W, 3)`` (or one ``(H, W, 3)``) -> float ``(N, 3, H, W)`` in [-1, 1]."""
    import torch

    arr = np.asarray(images)
    if arr.ndim == 3:
        arr = arr[None]
    if arr.ndim != 4 or arr.shape[-1] != 3:
        raise InvalidOptionError(f"{what}: expected (N, H, W, 3) RGB images, got shape {arr.shape}")
    t = torch.from_numpy(np.ascontiguousarray(arr)).permute(0, 3, 1, 2).float()
    return t / 127.5 - 1


# ---------------------------------------------------------------- LPIPS


class LPIPS:
    """LPIPS distance (Zhang et al. 2018) of image pairs with a given feature network.

    ``features(x)``: ``x`` float ``(N, 3, H, W)`` in [-1, 1] -> a list of
    feature maps ``(N, C_l, H_l, W_l)``. ``weights``: one non-negative
    ``(C_l,)`` vector per layer (the learned linear heads; ones = the
    unlearned "baseline" variant). Distance per pair::

        sum_l mean_{h,w} sum_c w_lc (f_l(x)_chw / |f_l(x)_hw| - f_l(y)_chw / |f_l(y)_hw|)^2

    ``model``: instead of ``features``, a callable ``model(x, y) -> (N, ...)``
    that already returns the distance (the ``lpips`` package's module).
    """

    def __init__(self, features: Callable | None = None, weights: Sequence | None = None, *, model=None, name="LPIPS"):
        if (features is None) == (model is None):
            raise InvalidOptionError("give either a feature network or a complete LPIPS model")
        self.features, self.weights, self.model, self.name = features, weights, model, name

    def __call__(self, a, b, batch: int = 8) -> np.ndarray:
        """Distances of ``a[i]`` to ``b[i]`` (uint8 ``(N, H, W, 3)``; one image broadcasts), ``(N,)``."""
        import torch

        a, b = np.asarray(a), np.asarray(b)
        a = a[None] if a.ndim == 3 else a
        b = b[None] if b.ndim == 3 else b
        if a.ndim != 4 or b.ndim != 4 or a.shape[1:] != b.shape[1:]:
            raise InvalidOptionError(f"LPIPS needs RGB images of one size, got shapes {a.shape} and {b.shape}")
        n = max(len(a), len(b))
        if len(a) not in (1, n) or len(b) not in (1, n):
            raise InvalidOptionError(f"LPIPS: {len(a)} images against {len(b)}; give equal numbers or one")
        out = []
        with torch.no_grad():
            # Converted batch by batch: a long 1024 px clip as one float tensor would take gigabytes.
            for s in range(0, n, batch):
                x = _to_tensor(a[s : s + batch] if len(a) > 1 else a, "LPIPS input")
                y = _to_tensor(b[s : s + batch] if len(b) > 1 else b, "LPIPS input")
                m = max(len(x), len(y), min(batch, n - s))
                out.append(self._pairs(x.expand(m, -1, -1, -1), y.expand(m, -1, -1, -1)))
        return torch.cat(out).double().numpy() if out else np.zeros(0)

    def _pairs(self, x, y):
        import torch

        if self.model is not None:
            return self.model(x, y).reshape(len(x))
        fx, fy = self.features(x), self.features(y)
        total = torch.zeros(len(x))
        for l, (a, b) in enumerate(zip(fx, fy)):
            a = a / (a.norm(dim=1, keepdim=True) + 1e-10)
            b = b / (b.norm(dim=1, keepdim=True) + 1e-10)
            d = (a - b) ** 2
            if self.weights is not None:
                w = torch.as_tensor(np.asarray(self.weights[l]), dtype=d.dtype).reshape(1, -1, 1, 1)
                d = d * w
            total = total + d.sum(1).mean(dim=(1, 2))
        return total


def lpips_weight_paths(net: str, version: str = "0.1") -> tuple[Path | None, Path]:
    """Where LPIPS's files belong: the package's linear heads (``None`` when the
    package is not installed) and torchvision's backbone in the torch hub cache.
    Imports nothing heavy and downloads nothing; callers check ``is_file()``."""
    if net not in LPIPS_BACKBONES:
        raise InvalidOptionError(f"LPIPS net must be one of {sorted(LPIPS_BACKBONES)}, got {net!r}")
    origin = getattr(sys.modules.get("lpips"), "__file__", None)  # already imported (or stubbed)
    if origin is None:
        try:
            spec = importlib.util.find_spec("lpips")
        except (ImportError, ValueError):
            spec = None
        origin = spec.origin if spec is not None else None
    heads = Path(origin).parent / "weights" / f"v{version}" / f"{net}.pth" if origin else None
    return heads, torch_hub_checkpoints() / LPIPS_BACKBONES[net]


def load_lpips(net: str = "alex", device: str = "cpu") -> LPIPS | MetricUnavailable:
    """The ``lpips`` package's model (v0.1 linear heads) when its backbone weights are
    already on disk; otherwise :class:`MetricUnavailable` (no download is attempted)."""
    heads, backbone = lpips_weight_paths(net)
    missing = _missing_package("lpips", "LPIPS", "lpips")
    if missing:
        return missing
    if heads is not None and not heads.is_file():
        return MetricUnavailable("LPIPS", f"the lpips package has no linear-head weights at {heads}; reinstall lpips")
    if not backbone.is_file():
        return MetricUnavailable(
            "LPIPS",
            f"the {net} backbone weights are not at {backbone}; on a machine with internet run "
            f"python -c \"import lpips; lpips.LPIPS(net='{net}')\" once to download them",
        )
    try:
        import lpips

        model = lpips.LPIPS(net=net, verbose=False).eval().to(device)
    except Exception as exc:  # a broken install must not stop the other metrics
        return MetricUnavailable("LPIPS", f"the lpips model could not be built: {exc}")

    def call(x, y):
        return model(x.to(device), y.to(device)).cpu()

    return LPIPS(model=call, name=f"LPIPS-{net}")


# ---------------------------------------------------------------- Frechet distance


def gaussian_stats(features) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and covariance ``(D, D)`` (unbiased, ``N - 1``) of ``(N, D)`` features."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or len(f) < 2:
        raise InvalidOptionError(f"need at least 2 feature vectors of shape (N, D), got {f.shape}")
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Frechet distance between two Gaussians (Dowson & Landau 1982), as in FID:
    ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))``."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (len(mu1), len(mu1)):
        raise InvalidOptionError(f"mismatched Gaussian statistics: {mu1.shape}, {s1.shape}, {mu2.shape}, {s2.shape}")
    diff = mu1 - mu2
    # tr((S1 S2)^(1/2)) = tr((A S2 A)^(1/2)) with A = S1^(1/2): a symmetric PSD
    # matrix, so its eigenvalues are real and >= 0 up to rounding (this stays
    # stable where the covariances are singular, i.e. fewer samples than dimensions).
    w1, v1 = np.linalg.eigh((s1 + s1.T) / 2)
    a = (v1 * np.sqrt(np.clip(w1, 0, None))) @ v1.T
    inner = a @ ((s2 + s2.T) / 2) @ a
    root_trace = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * root_trace
    return float(max(value, 0.0))


def fid_from_features(features_a, features_b) -> float:
    """Frechet distance between the Gaussians fitted to two feature sets ``(N, D)``."""
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


# ---------------------------------------------------------------- FID


def load_inception(device: str = "cpu") -> Callable | MetricUnavailable:
    """torch-fidelity's Inception-v3 (the TF FID network, 2048-D pool features) as
    ``extract(uint8 (N, H, W, 3)) -> (N, 2048)``, when its weights are on disk."""
    missing = _missing_package("torch_fidelity", "FID", "torch-fidelity")
    if missing:
        return missing
    weights = torch_hub_checkpoints() / INCEPTION_WEIGHTS
    if not weights.is_file():
        return MetricUnavailable(
            "FID",
            f"the Inception weights are not at {weights}; on a machine with internet run "
            "python -c \"import torch_fidelity.feature_extractor_inceptionv3 as m; "
            "m.FeatureExtractorInceptionV3('inception-v3-compat', ['2048'])\" once to download them",
        )
    try:
        import torch
        from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"]).eval().to(device)
    except Exception as exc:
        return MetricUnavailable("FID", f"torch-fidelity's Inception could not be built: {exc}")

    def extract(images: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).to(device)  # uint8, as it expects
        with torch.no_grad():
            out = net(x)
        out = out[0] if isinstance(out, (tuple, list)) else out
        return out.reshape(len(images), -1).double().cpu().numpy()

    return extract


def frame_features(frames, extractor: Callable, batch: int = 16, progress: bool = False) -> np.ndarray:
    """``extractor`` applied to ``frames`` (uint8 ``(N, H, W, 3)``) in batches, ``(N, D)``."""
    out = []
    for s in tqdm(range(0, len(frames), batch), desc="features", disable=not progress, leave=False):
        out.append(np.asarray(extractor(np.asarray(frames[s : s + batch])), dtype=np.float64))
    return np.concatenate(out).reshape(len(frames), -1)


def fid(frames_a, frames_b, extractor: Callable | None = None, *, batch: int = 16, progress: bool = False):
    """FID between two frame sets (uint8 ``(N, H, W, 3)`` each), or :class:`MetricUnavailable`.

    ``extractor``: any ``uint8 (N, H, W, 3) -> (N, D)`` callable; default
    :func:`load_inception`. FID from a few hundred frames is biased upwards
    (it is meant for 10k+ samples): compare methods only on equal frame counts.
    """
    if extractor is None:
        extractor = load_inception()
        if isinstance(extractor, MetricUnavailable):
            return extractor
    if len(frames_a) < 2 or len(frames_b) < 2:
        return MetricUnavailable("FID", "needs at least 2 frames in each set")
    return fid_from_features(frame_features(frames_a, extractor, batch, progress), frame_features(frames_b, extractor, batch, progress))


# ---------------------------------------------------------------- FVD


def i3d_path() -> Path:
    """Where the I3D TorchScript file is expected: ``$VIDEO2STYLEGAN_I3D``, else
    ``$VIDEO2STYLEGAN_CACHE/i3d_torchscript.pt`` (default ``~/.cache/video2stylegan``)."""
    env = os.environ.get("VIDEO2STYLEGAN_I3D")
    return Path(env) if env else _cache_dir() / I3D_WEIGHTS


def load_i3d(device: str = "cpu") -> Callable | MetricUnavailable:
    """The I3D network of StyleGAN-V's FVD (TorchScript, Kinetics-400, 400-D
    logits as features) as ``extract(uint8 (N, T, H, W, 3)) -> (N, 400)``."""
    import torch

    path = i3d_path()
    if not path.is_file():
        return MetricUnavailable(
            "FVD", f"the I3D network is not at {path}; download {I3D_URL} there (or set VIDEO2STYLEGAN_I3D)"
        )
    try:
        with warnings.catch_warnings():
            # The published I3D is TorchScript; torch.jit.load is deprecated but still the way to read it.
            warnings.simplefilter("ignore", DeprecationWarning)
            net = torch.jit.load(str(path), map_location=device).eval()
    except Exception as exc:
        return MetricUnavailable("FVD", f"{path} could not be loaded as TorchScript: {exc}")

    def extract(clips: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(clips)).permute(0, 4, 1, 2, 3).float() / 127.5 - 1
        with torch.no_grad():
            out = net(x.to(device), rescale=False, resize=True, return_features=True)
        return out.reshape(len(clips), -1).double().cpu().numpy()

    return extract


def video_clips(frames, length: int = 16, stride: int | None = None) -> np.ndarray:
    """Cut a clip ``(T, H, W, 3)`` into windows ``(N, length, H, W, 3)`` starting every
    ``stride`` frames (default ``length``: non-overlapping); a tail shorter than
    ``length`` is dropped."""
    frames = np.asarray(frames)
    stride = stride or length
    if length < 1 or stride < 1:
        raise InvalidOptionError("clip length and stride must be at least 1")
    starts = range(0, len(frames) - length + 1, stride)
    if not len(starts):
        return np.zeros((0, length) + frames.shape[1:], frames.dtype)
    return np.stack([frames[s : s + length] for s in starts])


def fvd(videos_a, videos_b, extractor: Callable | None = None, *, clip_length: int = 16, stride: int | None = None, batch: int = 4):
    """FVD between two videos or two sets of videos, or :class:`MetricUnavailable`.

    Each argument is one clip ``(T, H, W, 3)`` or a list of clips; every clip is
    cut into windows of ``clip_length`` frames (:func:`video_clips`), the
    windows go through ``extractor`` (``uint8 (N, T, H, W, 3) -> (N, D)``;
    default :func:`load_i3d`), and the value is the Frechet distance of the two
    feature sets. FVD is usually reported on 2048 clips; with the few windows of
    one video it is only a rough comparison between methods on the same input.
    """
    def windows(videos):
        vids = [videos] if isinstance(videos, np.ndarray) and videos.ndim == 4 else list(videos)
        parts = [video_clips(v, clip_length, stride) for v in vids]
        return np.concatenate(parts) if parts else np.zeros((0,))

    wa, wb = windows(videos_a), windows(videos_b)
    if len(wa) < 2 or len(wb) < 2:
        return MetricUnavailable(
            "FVD", f"needs at least 2 windows of {clip_length} frames per side, got {len(wa)} and {len(wb)}"
        )
    if extractor is None:
        extractor = load_i3d()
        if isinstance(extractor, MetricUnavailable):
            return extractor
    return fid_from_features(frame_features(wa, extractor, batch), frame_features(wb, extractor, batch))
