"""Safe loading of NVIDIA's official StyleGAN3 ``.pkl`` files, without NVIDIA's code.

An official file is a pickle of ``{'G', 'D', 'G_ema', 'augment_pipe',
'training_set_kwargs'}``. Each network in it is a "persistent object": the
pickle calls ``torch_utils.persistence._reconstruct_persistent_obj(meta)``
where ``meta`` carries the full Python source of the defining module
(``module_src``, which NVIDIA's loader executes), the class name, and the
object's ``__dict__`` (``_parameters``, ``_buffers``, ``_modules``,
``init_kwargs``, ...).

Here the pickle is read by an unpickler that resolves only an allowlist of
globals (containers, tensor/storage rebuilders, numpy scalars/arrays), turns
each persistent object into an inert :class:`PersistentRecord` without ever
looking at ``module_src``, and refuses every other global. ``G_ema`` is then
rebuilt as our own :class:`~video2stylegan.networks.stylegan3.Generator`
from its ``init_kwargs`` and flattened parameters/buffers.
"""

from __future__ import annotations

import collections
import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from video2stylegan.errors import CheckpointError

GENERATOR_CLASS = "training.networks_stylegan3.Generator"


class EasyDict(dict):
    """Stand-in for ``dnnlib.util.EasyDict``: a dict whose keys read as attributes."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


@dataclass
class PersistentRecord:
    """What a persistent object of the pickle becomes: its metadata, never executed."""

    class_name: str
    version: object
    state: dict = field(repr=False)


def _reconstruct_persistent_obj(meta):
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict):
        raise pickle.UnpicklingError("malformed persistent object metadata")
    # meta["module_src"] is deliberately ignored: it is code, and we never run it.
    return PersistentRecord(class_name=str(meta.get("class_name")), version=meta.get("version"), state=meta["state"])


def _load_storage_from_bytes(data: bytes):
    # The storage bytes are a (legacy-format) torch.save of one storage; read them
    # with torch's own restricted unpickler.
    return torch.load(io.BytesIO(data), weights_only=True)


def _numpy_global(name):
    for module in ("numpy._core.multiarray", "numpy.core.multiarray"):
        try:
            mod = __import__(module, fromlist=[name])
            return getattr(mod, name)
        except (ImportError, AttributeError):
            continue
    raise AttributeError(name)


_ALLOWED = {
    ("torch_utils.persistence", "_reconstruct_persistent_obj"): lambda: _reconstruct_persistent_obj,
    ("dnnlib.util", "EasyDict"): lambda: EasyDict,
    ("collections", "OrderedDict"): lambda: collections.OrderedDict,
    ("builtins", "set"): lambda: set,
    ("builtins", "frozenset"): lambda: frozenset,
    ("torch._utils", "_rebuild_tensor_v2"): lambda: torch._utils._rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): lambda: torch._utils._rebuild_parameter,
    ("torch.storage", "_load_from_bytes"): lambda: _load_storage_from_bytes,
    ("numpy", "dtype"): lambda: np.dtype,
    ("numpy", "ndarray"): lambda: np.ndarray,
    ("numpy.core.multiarray", "scalar"): lambda: _numpy_global("scalar"),
    ("numpy._core.multiarray", "scalar"): lambda: _numpy_global("scalar"),
    ("numpy.core.multiarray", "_reconstruct"): lambda: _numpy_global("_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"): lambda: _numpy_global("_reconstruct"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals an official StyleGAN3 file needs."""

    def find_class(self, module, name):
        factory = _ALLOWED.get((module, name))
        if factory is not None:
            return factory()
        if module == "torch" and isinstance(getattr(torch, name, None), torch.dtype):
            return getattr(torch, name)
        raise pickle.UnpicklingError(f"global '{module}.{name}' is not allowed")

    def persistent_load(self, pid):
        raise pickle.UnpicklingError("persistent ids are not allowed")


def read_official_pickle(path: str | Path) -> dict:
    """Unpickle an official network file with the allowlist; returns its top-level dict."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = RestrictedUnpickler(handle).load()
    except FileNotFoundError:
        raise CheckpointError(f"network file {path} does not exist") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError, KeyError,
            RuntimeError, UnicodeDecodeError, OverflowError, MemoryError) as exc:
        raise CheckpointError(
            f"{path} is not a loadable StyleGAN3 network pickle ({type(exc).__name__}: {exc}). "
            "The file may be truncated (download it again) or not an official StyleGAN3 .pkl; "
            "hostile content is refused on purpose."
        ) from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a dict with 'G_ema' at the top of the pickle, found {type(data).__name__}")
    return data


def _flatten_state(record: PersistentRecord, prefix: str, out: dict, where: str) -> None:
    state = record.state
    for key in ("_parameters", "_buffers"):
        for name, value in (state.get(key) or {}).items():
            if value is None:
                continue
            if not isinstance(value, torch.Tensor):
                raise CheckpointError(f"{where}: {prefix}{name} is a {type(value).__name__}, not a tensor")
            out[prefix + name] = value.detach()
    for name, child in (state.get("_modules") or {}).items():
        if child is None:
            continue
        if not isinstance(child, PersistentRecord):
            raise CheckpointError(f"{where}: submodule {prefix}{name} has an unexpected type {type(child).__name__}")
        _flatten_state(child, f"{prefix}{name}.", out, where)


def generator_from_record(record: PersistentRecord, where: str = "network"):
    """Build our Generator from a persistent ``G_ema`` record (init_kwargs + state)."""
    from video2stylegan.networks.stylegan3 import Generator

    if not record.class_name.endswith("networks_stylegan3.Generator"):
        hint = " StyleGAN2/ADA networks are not supported." if "stylegan2" in record.class_name else ""
        raise CheckpointError(f"{where}: G_ema is a {record.class_name!r}, not a StyleGAN3 generator.{hint}")
    init_kwargs = dict(record.state.get("init_kwargs") or {})
    init_args = record.state.get("init_args") or ()
    if init_args:
        raise CheckpointError(f"{where}: positional constructor arguments are not supported")
    init_kwargs["mapping_kwargs"] = dict(init_kwargs.get("mapping_kwargs") or {})
    try:
        G = Generator(**init_kwargs)
    except TypeError as exc:
        raise CheckpointError(f"{where}: unsupported generator settings {sorted(init_kwargs)} ({exc})") from None
    state = {}
    _flatten_state(record, "", state, where)
    load_state(G, state, where)
    return G


def load_state(G, state: dict, where: str) -> None:
    """Copy ``state`` into ``G`` requiring exactly the same names and shapes."""
    expected = G.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"{where}: parameter names do not match the StyleGAN3 architecture "
            f"(missing {missing[:5]}{'...' if len(missing) > 5 else ''}, "
            f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''})"
        )
    for name, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise CheckpointError(f"{where}: {name} has shape {list(tensor.shape)}, expected {list(expected[name].shape)}")
    G.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)


def load_official_generator(path: str | Path):
    """Load ``G_ema`` of an official StyleGAN3 ``.pkl`` as our own Generator (eval mode, CPU)."""
    data = read_official_pickle(path)
    record = data.get("G_ema")
    if not isinstance(record, PersistentRecord):
        raise CheckpointError(f"{path}: no 'G_ema' network in the file (keys: {sorted(map(str, data))})")
    return generator_from_record(record, where=str(path)).eval().requires_grad_(False)
