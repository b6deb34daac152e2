"""On-disk cache of W+ projections, so reruns with other alphas/betas cost only synthesis.

Keys. A projection is stored under the SHA-256 of the canonical JSON of
``{"format": 2, "network": <network identity>, "source": <source file hash>,
"frame": <frame index>, "settings": <settings dict>}`` (keys sorted, no
whitespace), as ``<root>/<key[:2]>/<key>.npz``.

Entries verify themselves. Every entry carries an integrity record
(:data:`ENTRY_FORMAT`): the SHA-256 of its arrays (name, dtype, shape and
bytes of each, in name order) and the dtype and shape of each array. A
projection ``.npz`` holds ``ws`` (float32 ``[..., num_ws, w_dim]``), the
``psnr`` it reached when the caller knew it (float64 scalar; a rerun then
reports the embedding quality without synthesising every frame again) and
``meta``, the record as a JSON string. Tensor entries (the PTI generator, the
pose regressor) are ``.safetensors`` files with the record as JSON under the
metadata key :data:`RECORD_KEY`; JSON entries (local channels) hold it under
the key ``"cache"``, with the SHA-256 of the canonical JSON of the rest.

A read checks that the file opens, that it has a record (entries of earlier
versions have none), that the arrays are the ones the record promises (names,
dtypes, shapes), the checksum, that every float is finite (``ws``; all
weights) and, when the caller says which network the entry is for
(:meth:`ProjectionCache.expect_ws`, or ``expect`` for tensor entries), the
shapes that network needs. An entry that fails is logged (one warning naming
the file and the reason), deleted and reported as a miss, so the value is
recomputed and written again: a damaged cache heals on the next run.

Writes go through :func:`video2stylegan.io.atomic.atomic_output`: a temporary
file beside the target that replaces it only once fully written, so an
interrupted run never leaves a half entry. A write that fails (disk full, no
permission) warns once per :class:`ProjectionCache` (one per run) naming the
folder, leaves no file behind, and the run goes on without storing.

Helpers: :func:`file_sha256` for the source file, :func:`network_identity`
for a loaded generator (its constructor arguments plus a hash of all weights
and buffers, so two different checkpoints never share entries even under the
same name), :func:`verify_entry` for any entry file (the ``cache verify``
command).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Callable, Iterable, Mapping, NamedTuple

import numpy as np
import torch

from video2stylegan.io.atomic import atomic_output

log = logging.getLogger(__name__)

CACHE_FORMAT = 2  # in every projection key; bump when the stored content changes meaning (2: .npz with ws and psnr)
ENTRY_FORMAT = 3  # the integrity record inside each entry (3: SHA-256, dtypes and shapes); not in the keys
RECORD_KEY = "video2stylegan.cache"  # safetensors metadata key of the record
JSON_RECORD_KEY = "cache"  # key of the record in a JSON entry
LEGACY = "no checksum (written by an earlier version)"


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


# --------------------------------------------------------------------------- integrity records


class BadEntry(Exception):
    """A cache entry that fails a check; the message is the reason (internal: turned into a miss)."""


class _CacheWriteError(OSError):
    """No temporary file could be created in the cache folder (raised by ``atomic_output``)."""


def _dtype_label(a) -> str:
    """``float32``, ``int64``, ``bfloat16``...: the same word for a numpy array and a torch tensor."""
    return str(a.dtype).removeprefix("torch.")


def _raw_bytes(a) -> bytes:
    if isinstance(a, torch.Tensor):
        a = a.detach().to("cpu").contiguous()
        if a.dtype == torch.bfloat16:
            a = a.view(torch.int16)
        return a.numpy().tobytes()
    return np.ascontiguousarray(a).tobytes()


def array_digest(arrays: Mapping) -> str:
    """Hex SHA-256 of numpy arrays or torch tensors: each one's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = arrays[name]
        h.update(f"{name}|{_dtype_label(a)}|{list(a.shape)}|".encode())
        h.update(_raw_bytes(a))
    return h.hexdigest()


def integrity_record(arrays: Mapping) -> dict:
    """``{"format", "sha256", "arrays": {name: {"dtype", "shape"}}}`` of ``arrays`` (stored with them)."""
    return {
        "format": ENTRY_FORMAT,
        "sha256": array_digest(arrays),
        "arrays": {name: {"dtype": _dtype_label(a), "shape": list(a.shape)} for name, a in sorted(arrays.items())},
    }


def _shape_text(shape) -> str:
    return "[" + ", ".join(str(int(n)) for n in shape) + "]"


def check_arrays(arrays: Mapping, record, *, finite: Iterable[str] | None = None,
                 expect: Mapping[str, tuple] | None = None) -> None:
    """Raise :class:`BadEntry` unless ``arrays`` are what ``record`` promises and what the caller needs.

    ``finite``: names whose values must all be finite (default: every float
    array). ``expect``: ``{name: (shape, dtype label)}`` the caller will use
    (the network's); names must match exactly.
    """
    if not isinstance(record, dict) or record.get("format") != ENTRY_FORMAT \
            or not isinstance(record.get("arrays"), dict) or not isinstance(record.get("sha256"), str):
        raise BadEntry(f"integrity record of an unknown format ({str(record)[:80]})")
    promised = record["arrays"]
    if set(promised) != set(arrays):
        raise BadEntry(f"holds {sorted(arrays)}, its record promises {sorted(promised)}")
    for name, a in arrays.items():
        p = promised[name]
        if not isinstance(p, dict) or p.get("dtype") != _dtype_label(a) or p.get("shape") != list(a.shape):
            raise BadEntry(f"{name} is {_dtype_label(a)} {_shape_text(a.shape)}, its record promises {p}")
    if array_digest(arrays) != record["sha256"]:
        raise BadEntry("checksum mismatch: the content changed after it was written")
    if expect is not None:
        if set(expect) != set(arrays):
            missing, extra = sorted(set(expect) - set(arrays)), sorted(set(arrays) - set(expect))
            raise BadEntry(f"does not fit the network: missing {missing[:3]}, unexpected {extra[:3]}")
        for name, (shape, dtype) in expect.items():
            a = arrays[name]
            if list(a.shape) != list(shape) or _dtype_label(a) != str(dtype).removeprefix("torch."):
                raise BadEntry(f"{name} is {_dtype_label(a)} {_shape_text(a.shape)}, the network needs "
                               f"{str(dtype).removeprefix('torch.')} {_shape_text(shape)}")
    names = finite if finite is not None else [n for n, a in arrays.items() if _is_float(a)]
    for name in names:
        a = arrays[name]
        bad = int((~torch.isfinite(a)).sum()) if isinstance(a, torch.Tensor) else int((~np.isfinite(a)).sum())
        if bad:
            raise BadEntry(f"{name} holds {bad} non-finite value{'s' if bad > 1 else ''}")


def _is_float(a) -> bool:
    return a.is_floating_point() if isinstance(a, torch.Tensor) else np.issubdtype(a.dtype, np.floating)


def read_npz_entry(path: str | os.PathLike) -> tuple[dict, dict]:
    """The arrays and the record of a ``.npz`` entry; :class:`BadEntry` when unreadable or without a record."""
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
    except Exception as exc:  # zipfile.BadZipFile, truncated members, bad CRC, foreign files...
        raise BadEntry(f"unreadable ({type(exc).__name__}: {exc})") from None
    if "meta" not in arrays:
        raise BadEntry(LEGACY)
    meta = arrays.pop("meta")
    try:
        record = json.loads(str(meta[()]))
    except (ValueError, TypeError, IndexError) as exc:
        raise BadEntry(f"integrity record unreadable ({exc})") from None
    return arrays, record


def read_tensor_entry(path: str | os.PathLike, expect: Mapping[str, tuple] | None = None) -> tuple[dict, dict]:
    """The tensors and the metadata of a ``.safetensors`` entry, checked against its record.

    :class:`BadEntry` when the file is unreadable, has no record, the tensors
    are not what the record promises (checksum included), a float is not
    finite, or they do not match ``expect`` (see :func:`check_arrays`).
    """
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except Exception as exc:  # SafetensorError for bad headers and short files, OSError
        raise BadEntry(f"unreadable ({type(exc).__name__}: {exc})") from None
    if RECORD_KEY not in metadata:
        raise BadEntry(LEGACY)
    try:
        record = json.loads(metadata[RECORD_KEY])
    except ValueError as exc:
        raise BadEntry(f"integrity record unreadable ({exc})") from None
    check_arrays(tensors, record, expect=expect)
    return tensors, metadata


def write_tensor_entry(path: str | os.PathLike, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str],
                       what: str, error: type[Exception] = _CacheWriteError) -> Path:
    """Write ``tensors`` as ``.safetensors`` with ``metadata`` and their record, atomically.

    Raises ``error`` when the folder takes no file and whatever the write
    raises (``OSError`` for a full disk) otherwise; no partial file stays.
    """
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {name: t.detach().to("cpu").contiguous() for name, t in tensors.items()}
    meta = dict(metadata)
    meta[RECORD_KEY] = json.dumps(integrity_record(tensors))
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".partial", what=what, error=error) as tmp:
        save_file(tensors, str(tmp), metadata=meta)
    return path


def seal_json(data: dict) -> dict:
    """``data`` as JSON reads it back (tuples as lists, keys as strings) plus its record under ``"cache"``:
    the SHA-256 of the canonical JSON of that."""
    body = json.loads(canonical_json({k: v for k, v in data.items() if k != JSON_RECORD_KEY}))
    digest = hashlib.sha256(canonical_json(body).encode()).hexdigest()
    return {**body, JSON_RECORD_KEY: {"format": ENTRY_FORMAT, "sha256": digest}}


def unseal_json(data) -> dict:
    """``data`` without its record, after checking it; :class:`BadEntry` when absent or not matching."""
    if not isinstance(data, dict):
        raise BadEntry(f"holds a JSON {type(data).__name__}, not an object")
    record = data.get(JSON_RECORD_KEY)
    if record is None:
        raise BadEntry(LEGACY)
    if not isinstance(record, dict) or record.get("format") != ENTRY_FORMAT:
        raise BadEntry(f"integrity record of an unknown format ({str(record)[:80]})")
    body = {k: v for k, v in data.items() if k != JSON_RECORD_KEY}
    try:
        text = canonical_json(body)
    except ValueError:
        raise BadEntry("holds non-finite numbers") from None
    if hashlib.sha256(text.encode()).hexdigest() != record.get("sha256"):
        raise BadEntry("checksum mismatch: the content changed after it was written")
    return body


def read_json_entry(path: str | os.PathLike) -> dict:
    """A JSON entry's content without its record, checked; :class:`BadEntry` otherwise."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadEntry(f"unreadable ({type(exc).__name__}: {exc})") from None
    return unseal_json(data)


def write_json_entry(path: str | os.PathLike, data: dict, what: str, to_text: Callable[[dict], str] | None = None,
                     error: type[Exception] = _CacheWriteError) -> Path:
    """Write ``data`` sealed with its record, atomically (``to_text``: the layout; default indented JSON)."""
    path = Path(path)
    sealed = seal_json(data)
    text = to_text(sealed) if to_text is not None else json.dumps(sealed, indent=1, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".json", what=what, error=error) as tmp:
        Path(tmp).write_text(text + "\n")
    return path


def check_projection(arrays: dict, record, ws_tail: tuple[int, int] | None = None) -> None:
    """:func:`check_arrays` for a projection entry: ``ws`` float32 with at least 2 dims, finite, ending in
    ``ws_tail`` (``(num_ws, w_dim)`` of the network) when given; ``psnr`` a float64 scalar when present."""
    check_arrays(arrays, record, finite=["ws"] if "ws" in arrays else [])
    if "ws" not in arrays or set(arrays) - {"ws", "psnr"}:
        raise BadEntry(f"holds {sorted(arrays)}, a projection holds ws and psnr")
    ws = arrays["ws"]
    if ws.dtype != np.float32 or ws.ndim < 2:
        raise BadEntry(f"ws is {ws.dtype} {_shape_text(ws.shape)}, a projection is float32 [..., num_ws, w_dim]")
    if ws_tail is not None and tuple(ws.shape[-2:]) != tuple(ws_tail):
        raise BadEntry(f"ws has shape {_shape_text(ws.shape)}, the network needs [..., {ws_tail[0]}, {ws_tail[1]}]")
    if "psnr" in arrays and (arrays["psnr"].dtype != np.float64 or arrays["psnr"].shape != ()):
        raise BadEntry(f"psnr is {arrays['psnr'].dtype} {_shape_text(arrays['psnr'].shape)}, not a float64 scalar")


def verify_entry(path: str | os.PathLike) -> str | None:
    """Why the entry file ``path`` is bad, or ``None`` when it passes every check that needs no network.

    ``.npz``: a projection; ``.safetensors``: a tensor entry; ``.json``: a JSON entry.
    """
    path = Path(path)
    try:
        if path.suffix == ".npz":
            check_projection(*read_npz_entry(path))
        elif path.suffix == ".safetensors":
            read_tensor_entry(path)
        elif path.suffix == ".json":
            read_json_entry(path)
        else:
            return f"not a cache entry (unknown suffix {path.suffix!r})"
    except BadEntry as exc:
        return str(exc)
    return None


def discard_entry(path: str | os.PathLike, what: str, reason: str, then: str = "recomputing") -> None:
    """Log one warning naming the entry and why, and delete it (a later write replaces it)."""
    try:
        Path(path).unlink(missing_ok=True)
        gone = "deleted"
    except OSError as exc:
        gone = f"could not delete it: {exc.strerror}"
    log.warning("%s cache entry %s: %s; %s, %s", what, path, reason, gone, then)


def touch(path: Path) -> None:
    """Mark an entry as used now (``cache clear --older-than`` counts days since the last use)."""
    try:
        os.utime(path)
    except OSError:  # a read-only cache still serves its entries
        pass


# --------------------------------------------------------------------------- projections


class CacheEntry(NamedTuple):
    """A stored projection: the array and the PSNR (dB) it reached, ``None`` when not recorded."""

    ws: np.ndarray
    psnr: float | None


class ProjectionCache:
    """``get``/``put`` W+ projections under ``root``; counts ``hits``, ``misses`` and ``discarded`` (bad) entries.

    One instance per run: a failed write warns once per instance
    (``unwritable`` then holds the error) and later writes are still tried.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.hits = 0
        self.misses = 0
        self.discarded = 0
        self.unwritable: OSError | None = None
        self._ws_tail: dict[str, tuple[int, int]] = {}

    @staticmethod
    def key(network: str, source: str, frame: int, settings) -> str:
        """Hex SHA-256 of the canonical JSON of (format, network, source, frame, settings)."""
        payload = {"format": CACHE_FORMAT, "network": str(network), "source": str(source),
                   "frame": int(frame), "settings": settings}
        return hashlib.sha256(canonical_json(payload).encode()).hexdigest()

    def path(self, network: str, source: str, frame: int, settings) -> Path:
        k = self.key(network, source, frame, settings)
        return self.root / k[:2] / f"{k}.npz"

    def expect_ws(self, network: str, num_ws: int, w_dim: int) -> None:
        """Entries of ``network`` must hold ``ws`` ending in ``[num_ws, w_dim]``; others are discarded on read."""
        self._ws_tail[str(network)] = (int(num_ws), int(w_dim))

    def lookup(self, network: str, source: str, frame: int, settings) -> CacheEntry | None:
        """The stored entry, or ``None`` (a miss) when absent or failing a check (then deleted)."""
        p = self.path(network, source, frame, settings)
        if not p.is_file():
            self.misses += 1
            return None
        try:
            arrays, record = read_npz_entry(p)
            check_projection(arrays, record, self._ws_tail.get(str(network)))
        except BadEntry as exc:
            self.discard(p, "projection", str(exc))
            self.misses += 1
            return None
        touch(p)
        self.hits += 1
        return CacheEntry(arrays["ws"], float(arrays["psnr"]) if "psnr" in arrays else None)

    def get(self, network: str, source: str, frame: int, settings) -> np.ndarray | None:
        """The stored array, or ``None`` (a miss) when absent or bad."""
        entry = self.lookup(network, source, frame, settings)
        return None if entry is None else entry.ws

    def put(self, network: str, source: str, frame: int, settings, ws, psnr: float | None = None) -> Path | None:
        """Store ``ws`` (array or tensor) and optionally its ``psnr`` atomically.

        Returns the file path, or ``None`` when the write failed (warned once per instance).
        """
        if isinstance(ws, torch.Tensor):
            ws = ws.detach().to("cpu").numpy()
        arrays = {"ws": np.ascontiguousarray(np.asarray(ws, dtype=np.float32))}
        if psnr is not None:
            arrays["psnr"] = np.asarray(psnr, dtype=np.float64)
        meta = np.asarray(json.dumps(integrity_record(arrays)))
        p = self.path(network, source, frame, settings)

        def write(tmp):
            with open(tmp, "wb") as f:
                np.savez(f, **arrays, meta=meta)
                f.flush()
                os.fsync(f.fileno())

        return self.write_file(p, write, "projection cache entry", ".npz")

    def write_file(self, path: Path, write: Callable[[Path], None], what: str, suffix: str) -> Path | None:
        """Run ``write(tmp)`` for a temporary file that then replaces ``path``; ``None`` (and a warning,
        the first time) when that fails with an ``OSError``. Nothing partial stays behind."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(path, suffix=suffix, what=what, error=_CacheWriteError) as tmp:
                write(tmp)
        except OSError as exc:
            self.write_failed(self.root, exc)
            return None
        return path

    def write_failed(self, folder: Path, exc: OSError) -> None:
        """Warn, once per instance, that ``folder`` takes no entries; the run goes on without storing."""
        if self.unwritable is None:
            reason = exc.strerror or str(exc)
            log.warning("cannot write to the cache folder %s (%s); this run goes on without storing its results: "
                        "free space or fix the permissions there, or run with --no-cache", folder, reason)
        self.unwritable = exc

    def discard(self, path: Path, what: str, reason: str, then: str = "recomputing") -> None:
        """:func:`discard_entry`, counted in ``discarded``."""
        discard_entry(path, what, reason, then)
        self.discarded += 1

    def __contains__(self, item) -> bool:
        network, source, frame, settings = item
        return self.path(network, source, frame, settings).is_file()

    def stats(self) -> dict:
        return {"hits": self.hits, "misses": self.misses}


__all__ = [
    "CACHE_FORMAT",
    "ENTRY_FORMAT",
    "RECORD_KEY",
    "BadEntry",
    "CacheEntry",
    "ProjectionCache",
    "array_digest",
    "canonical_json",
    "check_arrays",
    "check_projection",
    "discard_entry",
    "file_sha256",
    "integrity_record",
    "network_identity",
    "read_json_entry",
    "read_npz_entry",
    "read_tensor_entry",
    "seal_json",
    "touch",
    "unseal_json",
    "verify_entry",
    "write_json_entry",
    "write_tensor_entry",
]
