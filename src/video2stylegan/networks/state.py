"""Our Generator from stored constructor arguments, and stored weights copied into it.

Both network formats we read (NVIDIA's pickles, our ``.safetensors``) store
the generator's constructor arguments and a flat name -> tensor state. The
checks here are what the two loaders share: argument names and sizes are
checked before anything is built (a damaged or hostile file cannot ask for a
network of absurd size), names and shapes must match exactly, and every
weight must be finite.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import torch

from video2stylegan.errors import CheckpointError
from video2stylegan.networks.stylegan3 import Generator, MappingNetwork, SynthesisLayer, SynthesisNetwork

#: Integer arguments and the largest value a real StyleGAN3 could have for them.
_INT_LIMITS = {
    "z_dim": 4096, "c_dim": 100_000, "w_dim": 4096, "img_resolution": 4096, "img_channels": 4,
    "channel_base": 1 << 20, "channel_max": 4096, "num_layers": 64, "num_critical": 64,
    "margin_size": 256, "num_fp16_res": 64, "conv_kernel": 7, "filter_size": 64, "lrelu_upsampling": 8,
}


def _keyword_arguments(cls) -> set[str]:
    """The constructor arguments of ``cls`` that have a default value."""
    parameters = inspect.signature(cls.__init__).parameters.items()
    return {name for name, p in parameters if p.default is not inspect.Parameter.empty}


#: Every constructor argument a StyleGAN3 ``Generator`` accepts, and those of its mapping network.
GENERATOR_ARGUMENTS = (
    {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs"}
    | _keyword_arguments(SynthesisNetwork) | _keyword_arguments(SynthesisLayer)
)
MAPPING_ARGUMENTS = _keyword_arguments(MappingNetwork)


def plain_value(value):
    """numpy scalars and arrays (as NVIDIA's pickles hold them) as plain Python values."""
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    return value


def _check_arguments(kwargs: dict, where: str) -> None:
    unknown = sorted(set(kwargs) - GENERATOR_ARGUMENTS)
    unknown += sorted(f"mapping_kwargs.{k}" for k in set(kwargs.get("mapping_kwargs") or {}) - MAPPING_ARGUMENTS)
    if unknown:
        raise CheckpointError(
            f"{where}: the generator was built with arguments this StyleGAN3 implementation does not know "
            f"({', '.join(unknown)}); it is not a network of NVIDIA's StyleGAN3 code"
        )
    for name in ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels"):
        if name not in kwargs:
            raise CheckpointError(f"{where}: the generator's constructor arguments lack {name!r}")
    for group in (kwargs, kwargs.get("mapping_kwargs") or {}):
        for name, value in group.items():
            if isinstance(value, float) and not math.isfinite(value):
                raise CheckpointError(f"{where}: constructor argument {name}={value!r} is not a finite number")
            limit = _INT_LIMITS.get(name)
            if limit is not None and (isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= limit):
                raise CheckpointError(f"{where}: constructor argument {name}={value!r} is not an integer in [0, {limit}]")
    for name in ("z_dim", "w_dim", "img_resolution", "img_channels"):
        if kwargs[name] < 1:
            raise CheckpointError(f"{where}: constructor argument {name} must be at least 1, got {kwargs[name]}")


def build_generator(init_kwargs: dict, where: str) -> Generator:
    """Our Generator (random weights) for stored constructor arguments, after checking them."""
    if not isinstance(init_kwargs, dict) or not isinstance(init_kwargs.get("mapping_kwargs") or {}, dict):
        raise CheckpointError(f"{where}: the generator's constructor arguments are not a dict")
    kwargs = plain_value(init_kwargs)
    kwargs["mapping_kwargs"] = dict(kwargs.get("mapping_kwargs") or {})
    _check_arguments(kwargs, where)
    try:
        return Generator(**kwargs)
    except (TypeError, ValueError, AssertionError, ZeroDivisionError, OverflowError) as exc:
        raise CheckpointError(f"{where}: unsupported generator settings {kwargs} ({type(exc).__name__}: {exc})") from None


def non_finite_tensors(named) -> list[str]:
    """Names of the floating-point tensors of ``named`` (``(name, tensor)`` pairs) that hold nan or inf, in
    order; one device synchronisation when all are finite and on one device."""
    named = [(name, t) for name, t in named if torch.is_tensor(t) and t.is_floating_point()]
    if not named:
        return []
    flags = [torch.isfinite(t).all() for _, t in named]
    ok = torch.stack([flag.to(flags[0].device) for flag in flags])
    if bool(ok.all()):
        return []
    return [name for (name, _), good in zip(named, ok.tolist()) if not good]


def load_state(G: Generator, state: dict, where: str) -> None:
    """Copy ``state`` into ``G``: exactly the same names and shapes, finite values only."""
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
    bad = non_finite_tensors(state.items())
    if bad:
        tensor = state[bad[0]]
        count = int((~torch.isfinite(tensor)).sum())
        raise CheckpointError(
            f"{where}: {bad[0]} holds {count} non-finite values (NaN or inf) of {tensor.numel()}: the file is damaged "
            "or its training diverged; download or convert it again"
        )
    G.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
