"""Safe loading of NVIDIA's official StyleGAN3 ``.pkl`` files, without NVIDIA's code.

What NVIDIA's training code writes (NVlabs/stylegan3: ``training/training_loop.py``
pickles ``dict(training_set_kwargs=dict(...), G=..., D=..., G_ema=...,
augment_pipe=...)``, each network deep-copied, in eval mode and without
gradients): every network and every submodule of it is a "persistent object"
of ``torch_utils/persistence.py``. Its ``__reduce__`` makes the pickle call
``torch_utils.persistence._reconstruct_persistent_obj(meta)`` with
``meta = dict(type='class', version=6, module_src=..., class_name=..., state=...)``:

- ``class_name`` is the bare class name (``'Generator'``, ``'SynthesisLayer'``),
  so which architecture a record holds is told from its structure;
- ``module_src`` is the full source of the defining module, which NVIDIA's
  loader executes;
- ``state`` is the module's ``__dict__``: ``training``, ``_parameters``,
  ``_buffers``, ``_modules`` (the submodules, records themselves), torch's hook
  dictionaries, plain attributes (ints, floats, numpy scalars and arrays), and
  the constructor arguments as ``_init_args`` (a tuple) and ``_init_kwargs``
  (a dict; ``mapping_kwargs`` in it is a ``dnnlib.util.EasyDict``).

Here the pickle is read by an unpickler that resolves only an allowlist of
globals (containers, tensor/storage rebuilders, numpy scalars/arrays), turns
each persistent object into an inert :class:`PersistentRecord` without ever
executing ``module_src``, and refuses every other global. ``G_ema`` is
recognised as StyleGAN3 by its submodules and rebuilt as our own
:class:`~video2stylegan.networks.stylegan3.Generator` from its constructor
arguments and flattened parameters/buffers; ``G``, ``D``, ``augment_pipe`` and
whatever else the file holds are parsed (with the same allowlist) and ignored.
"""

from __future__ import annotations

import _codecs
import _compat_pickle
import collections
import io
import pickle
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from video2stylegan.errors import CheckpointError
from video2stylegan.networks.state import build_generator, load_state

#: Positional constructor arguments of NVIDIA's (and our) ``Generator``, in order.
GENERATOR_POSITIONAL = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs")


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

    class_name: str  # bare, as NVIDIA writes it: "Generator", "SynthesisLayer", ...
    version: object
    state: dict = field(repr=False)
    module_src: str = field(default="", repr=False)  # kept as text only, never executed

    def child(self, name: str):
        """The submodule record ``name`` (``None`` when absent or not a record)."""
        child = (self.state.get("_modules") or {}).get(name)
        return child if isinstance(child, PersistentRecord) else None

    @property
    def child_names(self) -> list[str]:
        return [str(name) for name in (self.state.get("_modules") or {})]


def _reconstruct_persistent_obj(meta):
    # The fields of persistent_class.__reduce__'s `meta` (torch_utils/persistence.py).
    if not isinstance(meta, dict) or meta.get("type") != "class" or not isinstance(meta.get("state"), dict) \
            or not isinstance(meta.get("class_name"), str):
        raise pickle.UnpicklingError("malformed persistent object metadata")
    source = meta.get("module_src")
    return PersistentRecord(class_name=meta["class_name"], version=meta.get("version"), state=meta["state"],
                            module_src=source if isinstance(source, str) else "")


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
    ("_codecs", "encode"): lambda: _codecs.encode,  # how protocol 0-2 pickles write bytes
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
        # Protocol 0-2 pickles name Python 2 modules (``__builtin__.set``): map them as pickle does.
        module, name = _compat_pickle.NAME_MAPPING.get((module, name), (module, name))
        module = _compat_pickle.IMPORT_MAPPING.get(module, module)
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
    if isinstance(data, PersistentRecord):  # a network pickled on its own: pickle.dump(G_ema, f)
        data = {"G_ema": data}
    if not isinstance(data, dict):
        raise CheckpointError(f"{path}: expected a dict with 'G_ema' at the top of the pickle, found {type(data).__name__}")
    return data


def _flatten_state(record: PersistentRecord, prefix: str, out: dict, where: str) -> None:
    state = record.state
    for key in ("_parameters", "_buffers"):
        for name, value in (state.get(key) or {}).items():
            if value is None:  # e.g. the identity filters NVIDIA registers as None buffers
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


_SYNTHESIS_LAYER = re.compile(r"L\d+_\d+_\d+")
_STYLEGAN2_BLOCK = re.compile(r"b\d+")


def generator_family(record: PersistentRecord) -> str:
    """``"stylegan3"``, ``"stylegan2"`` (StyleGAN2 / StyleGAN2-ADA) or ``"unknown"``, told from the submodules.

    NVIDIA writes bare class names, and StyleGAN2 and StyleGAN3 both call
    their generator ``Generator``: the structure is what differs. StyleGAN3's
    ``synthesis`` has a Fourier-feature ``input`` and layers ``L{i}_{size}_{channels}``;
    StyleGAN2's has resolution blocks ``b4``, ``b8``, ...
    """
    if record.class_name.rsplit(".", 1)[-1] != "Generator":
        return "unknown"
    synthesis, mapping = record.child("synthesis"), record.child("mapping")
    if synthesis is None or mapping is None:
        return "unknown"
    names = synthesis.child_names
    inputs = synthesis.child("input")
    if inputs is not None and inputs.class_name == "SynthesisInput" and any(_SYNTHESIS_LAYER.fullmatch(n) for n in names):
        return "stylegan3"
    if "b4" in names and all(_STYLEGAN2_BLOCK.fullmatch(n) for n in names):
        return "stylegan2"
    return "unknown"


def constructor_arguments(record: PersistentRecord, where: str) -> dict:
    """The ``Generator``'s constructor arguments: ``_init_args`` named by position, plus ``_init_kwargs``."""
    state = record.state
    if "_init_kwargs" not in state:
        raise CheckpointError(
            f"{where}: G_ema carries no constructor arguments ('_init_kwargs'): it was not written by "
            "NVIDIA's persistence code, so its architecture cannot be rebuilt"
        )
    args, kwargs = state.get("_init_args") or (), state["_init_kwargs"]
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict):
        raise CheckpointError(f"{where}: G_ema's constructor arguments are malformed")
    if len(args) > len(GENERATOR_POSITIONAL):
        raise CheckpointError(f"{where}: G_ema was built with {len(args)} positional arguments; Generator takes at most "
                              f"{len(GENERATOR_POSITIONAL)}")
    named = dict(zip(GENERATOR_POSITIONAL, args))
    twice = sorted(set(named) & set(kwargs))
    if twice:
        raise CheckpointError(f"{where}: G_ema's constructor arguments give {twice} both by position and by name")
    return {**named, **kwargs}


def generator_from_record(record: PersistentRecord, where: str = "network"):
    """Build our Generator from a persistent ``G_ema`` record (constructor arguments + state)."""
    family = generator_family(record)
    if family == "stylegan2":
        raise CheckpointError(
            f"{where}: G_ema is a StyleGAN2/ADA generator (synthesis blocks b4, b8, ...), not a StyleGAN3 generator. "
            "StyleGAN2/ADA networks are not supported: the method needs StyleGAN3's Fourier-feature input "
            "(use e.g. stylegan3-r-ffhq-1024x1024)."
        )
    if family != "stylegan3":
        raise CheckpointError(
            f"{where}: G_ema is a {record.class_name!r} with submodules {record.child_names[:6]}, not a StyleGAN3 "
            "generator (expected 'mapping' and 'synthesis' with 'input' and layers L0_..., as NVIDIA's "
            "networks_stylegan3.Generator has)."
        )
    G = build_generator(constructor_arguments(record, where), where)
    state = {}
    _flatten_state(record, "", state, where)
    load_state(G, state, where)
    return G


def load_official_generator(path: str | Path):
    """Load ``G_ema`` of an official StyleGAN3 ``.pkl`` as our own Generator (eval mode, CPU)."""
    data = read_official_pickle(path)
    record = data.get("G_ema")
    if not isinstance(record, PersistentRecord):
        raise CheckpointError(f"{path}: no 'G_ema' network in the file (keys: {sorted(map(str, data))}); "
                              "expected a network pickle written by NVIDIA's StyleGAN3 training code")
    return generator_from_record(record, where=str(path)).eval().requires_grad_(False)
