"""The cache folder: every path and key under it, and entries that check themselves on read.

Layout (relative to the cache folder, :class:`CacheFolder`; ``cache info`` lists the kinds)::

    projections/<2 hex>/<key>.npz                W+ projections: sources, driving frames, Eq. 7 results
    projections/pti/<key>.safetensors            PTI-tuned generators
    calibration/pose_regressor/<key>.safetensors pose regressors (Eq. 7's P_r)
    calibration/local_channels/<key>.json        local eye / nose / mouth channels (Eq. 8-9)
    calibration/no_faces/<hash>.txt              notes: this network's samples show no faces

Keys are built here, from the settings objects themselves (every field of a frozen
settings dataclass, :func:`settings_dict`), never from literals that restate a default:
change a setting and the key changes, so a stale result is never served. A projection is
stored under the SHA-256 of the canonical JSON of ``{"format": 2, "network": <network
identity>, "source": <source id>, "frame": <frame index>, "settings": <settings dict>}``
(keys sorted, no whitespace), as ``<root>/<key[:2]>/<key>.npz``; the source id of a portrait
is :func:`source_id`, of a clip :func:`clip_id`, of an Eq. 7 result
:func:`pose_encoding_entry`. PTI: :func:`pti_key`; calibrations: :func:`pose_regressor_path`,
:func:`local_channels_path`, :func:`no_face_note_path`.

Named extra arrays. A projection entry may carry arrays besides ``ws`` (an Eq. 7 result: the
regressor's angles before and after the edit and the targets, :data:`POSE_ANGLES`), stored as
``extra.<name>`` members and returned by name (:attr:`CacheEntry.extra`); a reader that asks for
names an entry lacks, or for a number of rows it does not hold, gets a miss (the entry is
discarded), never a misread.

Entries verify themselves. Every entry carries an integrity record
(:data:`ENTRY_FORMAT`): the SHA-256 of its arrays (name, dtype, shape and
bytes of each, in name order) and the dtype and shape of each array. A
projection ``.npz`` holds ``ws`` (float32 ``[..., num_ws, w_dim]``), the
``psnr`` it reached when the caller knew it (float64 scalar; a rerun then
reports the embedding quality without synthesising every frame again), its
named extra arrays (float32, finite) and ``meta``, the record as a JSON string. Tensor entries (the PTI generator, the
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

import dataclasses
import hashlib
import json
import logging
import os
from dataclasses import dataclass
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
    if dataclasses.is_dataclass(o) and not isinstance(o, type):
        return settings_dict(o)
    raise TypeError(f"cannot put {type(o).__name__} into a cache key")


def settings_dict(settings) -> dict:
    """Every field of a settings dataclass as JSON reads it back (tuples as lists): what a key holds of it.

    Built from the object's fields, not from a list of names, so a field added later is in the key too.
    """
    if not dataclasses.is_dataclass(settings) or isinstance(settings, type):
        raise TypeError(f"settings_dict takes a settings dataclass, got {type(settings).__name__}")
    values = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings)}
    return json.loads(canonical_json(values))


def digest(payload) -> str:
    """Hex SHA-256 of the canonical JSON of ``payload`` (how every key is made)."""
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


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


#: Member-name prefix of a projection entry's named extra arrays (``extra.angles_before``...).
EXTRA_PREFIX = "extra."


def check_projection(arrays: dict, record, ws_tail: tuple[int, int] | None = None) -> None:
    """:func:`check_arrays` for a projection entry: ``ws`` float32 with at least 2 dims, finite, ending in
    ``ws_tail`` (``(num_ws, w_dim)`` of the network) when given; ``psnr`` a float64 scalar when present;
    named extra arrays (``extra.<name>``) float32 and finite."""
    extras = sorted(name for name in arrays if name.startswith(EXTRA_PREFIX))
    check_arrays(arrays, record, finite=(["ws"] if "ws" in arrays else []) + extras)
    if "ws" not in arrays or set(arrays) - {"ws", "psnr", *extras}:
        raise BadEntry(f"holds {sorted(arrays)}, a projection holds ws, psnr and {EXTRA_PREFIX}<name> arrays")
    for name in extras:
        if arrays[name].dtype != np.float32:
            raise BadEntry(f"{name} is {arrays[name].dtype}, an extra array is float32")
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
    """A stored projection: the array, the PSNR (dB) it reached (``None`` when not recorded) and the named
    extra arrays the reader asked for (``{name: array}``)."""

    ws: np.ndarray
    psnr: float | None
    extra: Mapping[str, np.ndarray] = {}


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
        return digest({"format": CACHE_FORMAT, "network": str(network), "source": str(source),
                       "frame": int(frame), "settings": settings})

    def path(self, network: str, source: str, frame: int, settings) -> Path:
        k = self.key(network, source, frame, settings)
        return self.root / k[:2] / f"{k}.npz"

    def expect_ws(self, network: str, num_ws: int, w_dim: int) -> None:
        """Entries of ``network`` must hold ``ws`` ending in ``[num_ws, w_dim]``; others are discarded on read."""
        self._ws_tail[str(network)] = (int(num_ws), int(w_dim))

    def lookup(self, network: str, source: str, frame: int, settings, extra: Iterable[str] = (),
               rows: int | None = None) -> CacheEntry | None:
        """The stored entry, or ``None`` (a miss) when absent or failing a check (then deleted).

        ``extra``: the named extra arrays the caller needs; ``rows``: how many rows ``ws`` and each of
        them must hold. An entry without one of them, or with other rows, fails the check: a miss.
        """
        p = self.path(network, source, frame, settings)
        if not p.is_file():
            self.misses += 1
            return None
        try:
            arrays, record = read_npz_entry(p)
            check_projection(arrays, record, self._ws_tail.get(str(network)))
            found = _extra_arrays(arrays, tuple(extra), rows)
        except BadEntry as exc:
            self.discard(p, "projection", str(exc))
            self.misses += 1
            return None
        touch(p)
        self.hits += 1
        return CacheEntry(arrays["ws"], float(arrays["psnr"]) if "psnr" in arrays else None, found)

    def get(self, network: str, source: str, frame: int, settings) -> np.ndarray | None:
        """The stored array, or ``None`` (a miss) when absent or bad."""
        entry = self.lookup(network, source, frame, settings)
        return None if entry is None else entry.ws

    def put(self, network: str, source: str, frame: int, settings, ws, psnr: float | None = None,
            extra: Mapping | None = None) -> Path | None:
        """Store ``ws`` (array or tensor), optionally its ``psnr`` and named ``extra`` arrays (``{name:
        array or tensor}``, stored as float32) atomically.

        Returns the file path, or ``None`` when the write failed (warned once per instance).
        """
        arrays = {"ws": _float32(ws)}
        if psnr is not None:
            arrays["psnr"] = np.asarray(psnr, dtype=np.float64)
        for name, value in (extra or {}).items():
            arrays[EXTRA_PREFIX + name] = _float32(value)
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

    def pti_path(self, key: str) -> Path:
        """Where the PTI generator of ``key`` (:func:`pti_key`) is stored: ``<root>/pti/<key>.safetensors``."""
        return self.root / PTI_SUBFOLDER / f"{key}.safetensors"


def _float32(values) -> np.ndarray:
    if isinstance(values, torch.Tensor):
        values = values.detach().to("cpu").numpy()
    return np.ascontiguousarray(np.asarray(values, dtype=np.float32))


def _extra_arrays(arrays: Mapping, names: tuple, rows: int | None) -> dict:
    """``{name: array}`` of the extra arrays ``names``; :class:`BadEntry` when one is absent or when ``ws`` or
    one of them does not hold ``rows`` rows."""
    missing = [name for name in names if EXTRA_PREFIX + name not in arrays]
    if missing:
        raise BadEntry(f"holds {sorted(arrays)}, the reader needs the arrays {', '.join(names)} "
                       "(an entry of another layout)")
    found = {name: arrays[EXTRA_PREFIX + name] for name in names}
    if rows is not None:
        for name, a in (("ws", arrays["ws"]), *found.items()):
            if a.ndim == 0 or a.shape[0] != rows:
                raise BadEntry(f"{name} has shape {_shape_text(a.shape)}, the reader needs {rows} rows")
    return found


# --------------------------------------------------------------------------- the cache folder and its keys

#: Where each kind of entry lives under the cache folder (``cache info`` lists them in this order).
PROJECTIONS_FOLDER = "projections"
PTI_SUBFOLDER = "pti"  # inside the projections' folder
PTI_FOLDER = f"{PROJECTIONS_FOLDER}/{PTI_SUBFOLDER}"
CALIBRATION_FOLDER = "calibration"
POSE_REGRESSOR_SUBFOLDER = "pose_regressor"  # these three inside the calibration folder
LOCAL_CHANNELS_SUBFOLDER = "local_channels"
NO_FACES_SUBFOLDER = "no_faces"


@dataclass(frozen=True)
class CacheFolder:
    """The cache folder ``root``: the folders of its kinds of entries (module doc)."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @property
    def projections(self) -> Path:
        """``<root>/projections``: the :class:`ProjectionCache`'s folder (PTI generators in its ``pti``)."""
        return self.root / PROJECTIONS_FOLDER

    @property
    def calibration(self) -> Path:
        """``<root>/calibration``: what the calibrations take as their cache folder."""
        return self.root / CALIBRATION_FOLDER

    def projection_cache(self) -> ProjectionCache:
        """A fresh :class:`ProjectionCache` on :attr:`projections` (one per run: it counts hits and misses)."""
        return ProjectionCache(self.projections)


def source_id(file_hash: str, face: Mapping | None = None) -> str:
    """The id of a portrait in the keys: its file (or array) hash; with ``face`` (which face and how it
    was found, given only when not the defaults) a hash of both, since another face of the same photo is
    another reference."""
    if face is None:
        return file_hash
    text = ":".join([file_hash, f"face={face['choose']}", str(face["detector"]), f"upsample={face['upsample']}"])
    return hashlib.sha256(text.encode()).hexdigest()


def clip_id(file_hash: str, resolution: int, smooth: int, shots: bool, face: Mapping | None = None) -> str:
    """The id of a clip's aligned frames in the keys: its file hash, the crops' ``resolution``, their temporal
    smoothing (``smooth`` frames), whether its track has shots or partial frames (``shots``: then smoothed shot
    by shot), and ``face`` (the tracked face and the detector, given only when not the defaults)."""
    key = f"{file_hash}:aligned{int(resolution)}:smooth{int(smooth)}" + (":shots" if shots else "")
    if face is not None:
        key += f":face={face['choose']}:{face['detector']}:upsample={face['upsample']}"
    return key


def reference_entry(source: str) -> str:
    """The source of a portrait's projection in a :class:`ProjectionCache` (``source``: :func:`source_id`),
    apart from the frames of a clip of the same file."""
    return f"ref:{source}"


def pti_key(network: str, source: str, projection, pti, perceptual: str) -> str:
    """Key of a PTI generator: the network, the source id, the settings of the source's projection and of
    the tuning (settings dataclasses, every field) and the perceptual loss's choice."""
    return digest({"kind": "pti", "network": str(network), "source": str(source),
                   "projection": settings_dict(projection), "pti": settings_dict(pti), "perceptual": str(perceptual)})


#: The named arrays of an Eq. 7 entry beside its codes ``ws`` ``[T, num_ws, w_dim]``: the regressor's reading
#: of every frame before and after the edit, and the targets, each float32 ``[T, 3]`` degrees.
POSE_ANGLES = ("angles_before", "angles_after", "angles_target")
#: Bump when an Eq. 7 entry's content changes meaning (2: angles as named arrays, not padded W+ rows).
POSE_ENTRY_FORMAT = 2


def tensors_digest(*tensors) -> str:
    """Hex SHA-256 of tensors' float32 bytes, in order (what an Eq. 7 result was computed from)."""
    h = hashlib.sha256()
    for t in tensors:
        t = torch.as_tensor(t).detach().to("cpu", torch.float32).contiguous()
        h.update(f"{list(t.shape)}|".encode())
        h.update(t.numpy().tobytes())
    return h.hexdigest()


def pose_encoding_entry(w_ref, targets, regressor, settings) -> tuple[str, dict]:
    """``(source, settings)`` of an Eq. 7 result in a :class:`ProjectionCache` (frame 0): the source names
    the reference code, the targets and the regressor (its class and every weight and buffer); the
    settings are every field of the encoding's settings dataclass, with the entry's layout."""
    state = regressor.state_dict().values()
    kind = f"{type(regressor).__module__}.{type(regressor).__qualname__}"
    source = f"pose:{kind}:{tensors_digest(w_ref, targets, *state)}"
    return source, {"kind": "pose-encoding", "format": POSE_ENTRY_FORMAT, "encoding": settings_dict(settings)}


def pose_regressor_path(calibration: str | os.PathLike, network: str, settings, format: int) -> Path:
    """``<calibration>/pose_regressor/<sha256 of format, network id and settings>.safetensors``."""
    key = digest({"format": format, "network": str(network), "settings": settings_dict(settings)})
    return Path(calibration) / POSE_REGRESSOR_SUBFOLDER / f"{key}.safetensors"


def local_channels_path(calibration: str | os.PathLike, network: str, settings: Mapping, format: int) -> Path:
    """``<calibration>/local_channels/<32 hex of the sha256 of format, network id and settings>.json``."""
    key = digest({"format": format, "network": network, "settings": settings})
    return Path(calibration) / LOCAL_CHANNELS_SUBFOLDER / f"{key[:32]}.json"


def no_face_note_path(calibration: str | os.PathLike, network: str) -> Path:
    """``<calibration>/no_faces/<sha256 of the network id>.txt``: the note that a network's samples show no
    faces (the local channels then come from projected frames without trying again)."""
    return Path(calibration) / NO_FACES_SUBFOLDER / f"{hashlib.sha256(str(network).encode()).hexdigest()}.txt"


__all__ = [
    "CACHE_FORMAT",
    "ENTRY_FORMAT",
    "POSE_ANGLES",
    "RECORD_KEY",
    "BadEntry",
    "CacheEntry",
    "CacheFolder",
    "ProjectionCache",
    "array_digest",
    "canonical_json",
    "check_arrays",
    "check_projection",
    "clip_id",
    "digest",
    "discard_entry",
    "file_sha256",
    "integrity_record",
    "local_channels_path",
    "network_identity",
    "no_face_note_path",
    "pose_encoding_entry",
    "pose_regressor_path",
    "pti_key",
    "reference_entry",
    "read_json_entry",
    "read_npz_entry",
    "read_tensor_entry",
    "seal_json",
    "settings_dict",
    "source_id",
    "touch",
    "unseal_json",
    "verify_entry",
    "write_json_entry",
    "write_tensor_entry",
]
