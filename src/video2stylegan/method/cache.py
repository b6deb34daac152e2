"""On-disk cache of W+ projections, so reruns with other alphas/betas cost only synthesis.

A projection is stored under the SHA-256 of the canonical JSON of
``{"network": <network identity>, "source": <source file hash>,
"frame": <frame index>, "settings": <settings dict>}`` (keys sorted, no
whitespace), as ``<root>/<key[:2]>/<key>.npz`` holding ``ws`` (float32
``[num_ws, w_dim]``, or whatever array was put) and, when the caller knows
it, the ``psnr`` the projection reached: a rerun then reports the embedding
quality without synthesising every frame again. Writes go through
:func:`video2stylegan.io.atomic.atomic_output`: a temporary file beside the
target that replaces it only once fully written, so an interrupted run never
leaves a half entry; a file that cannot be read back anyway (disk trouble,
foreign file) counts as a miss, is logged, and is overwritten by the next put.

Helpers: :func:`file_sha256` for the source file, :func:`network_identity`
for a loaded generator (its constructor arguments plus a hash of all weights
and buffers, so two different checkpoints never share entries even under the
same name).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from video2stylegan.io.atomic import atomic_output

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # bump when the stored content changes meaning (2: .npz with ws and psnr)


def canonical_json(obj) -> str:
    """Deterministic JSON (sorted keys, compact separators, tuples as lists); NaN/inf refused."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False, default=_json_default)


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, Path):
        return str(o)
    if hasattr(o, "to_dict"):
        return o.to_dict()
    raise TypeError(f"cannot put {type(o).__name__} into a cache key")


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def network_identity(G) -> str:
    """A string identifying a generator's architecture and exact weights: ``"sg3:<sha256>"``.

    Hashes the constructor arguments (``init_kwargs``) and every parameter and
    buffer (name, dtype, shape, bytes, in state-dict order). About a second
    for a 1024 px network on CPU; call it once per run.
    """
    h = hashlib.sha256()
    h.update(canonical_json(getattr(G, "init_kwargs", {})).encode())
    for name, t in G.state_dict().items():
        t = t.detach().to("cpu").contiguous()
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        if t.dtype == torch.bfloat16:
            t = t.float()
        h.update(t.numpy().tobytes())
    return "sg3:" + h.hexdigest()


class CacheEntry(NamedTuple):
    """A stored projection: the array and the PSNR (dB) it reached, ``None`` when not recorded."""

    ws: np.ndarray
    psnr: float | None


class ProjectionCache:
    """``get``/``put`` W+ projections under ``root``; counts ``hits`` and ``misses``."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(network: str, source: str, frame: int, settings) -> str:
        """Hex SHA-256 of the canonical JSON of (format, network, source, frame, settings)."""
        payload = {"format": CACHE_FORMAT, "network": str(network), "source": str(source),
                   "frame": int(frame), "settings": settings}
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

    def path(self, network: str, source: str, frame: int, settings) -> Path:
        k = self.key(network, source, frame, settings)
        return self.root / k[:2] / f"{k}.npz"

    def lookup(self, network: str, source: str, frame: int, settings) -> CacheEntry | None:
        """The stored entry, or ``None`` (a miss) when absent or unreadable."""
        p = self.path(network, source, frame, settings)
        if not p.is_file():
            self.misses += 1
            return None
        try:
            with np.load(p, allow_pickle=False) as data:
                entry = CacheEntry(data["ws"], float(data["psnr"]) if "psnr" in data.files else None)
        except (OSError, ValueError, EOFError, KeyError) as exc:
            log.warning("projection cache entry %s unreadable (%s); recomputing", p, exc)
            self.misses += 1
            return None
        self.hits += 1
        return entry

    def get(self, network: str, source: str, frame: int, settings) -> np.ndarray | None:
        """The stored array, or ``None`` (a miss) when absent or unreadable."""
        entry = self.lookup(network, source, frame, settings)
        return None if entry is None else entry.ws

    def put(self, network: str, source: str, frame: int, settings, ws, psnr: float | None = None) -> Path:
        """Store ``ws`` (array or tensor) and optionally its ``psnr`` atomically; returns the file path."""
        if isinstance(ws, torch.Tensor):
            ws = ws.detach().to("cpu").numpy()
        arrays = {"ws": np.ascontiguousarray(np.asarray(ws, dtype=np.float32))}
        if psnr is not None:
            arrays["psnr"] = np.float64(psnr)
        p = self.path(network, source, frame, settings)
        p.parent.mkdir(parents=True, exist_ok=True)
        with atomic_output(p, suffix=".npz", what="projection cache entry") as tmp:
            with open(tmp, "wb") as f:
                np.savez(f, **arrays)
                f.flush()
                os.fsync(f.fileno())
        return p

    def __contains__(self, item) -> bool:
        network, source, frame, settings = item
        return self.path(network, source, frame, settings).is_file()

    def stats(self) -> dict:
        return {"hits": self.hits, "misses": self.misses}


__all__ = ["CACHE_FORMAT", "CacheEntry", "ProjectionCache", "canonical_json", "file_sha256", "network_identity"]
