"""Our own network format: one ``.safetensors`` file whose metadata holds the JSON config.

No pickle is involved: the tensors are read by ``safetensors`` and the
architecture is rebuilt from the ``init_kwargs`` stored under the
``video2stylegan.config`` metadata key. Weights can be stored as float16 to
halve the size; they are cast back to float32 on load.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from video2stylegan.errors import CheckpointError
from video2stylegan.io.atomic import atomic_output
from video2stylegan.networks.state import build_generator, load_state, non_finite_tensors, plain_value

CONFIG_KEY = "video2stylegan.config"
FORMAT_KEY = "video2stylegan.format"
FORMAT_VERSION = "1"


def generator_metadata(G, extra: dict | None = None) -> dict[str, str]:
    """The metadata of a network file: ``G``'s constructor arguments (and ``extra``) as JSON under
    :data:`CONFIG_KEY`, and the format version."""
    config = {"class": "StyleGAN3Generator", "init_kwargs": plain_value(G.init_kwargs)}
    if extra:
        config["extra"] = plain_value(extra)
    return {CONFIG_KEY: json.dumps(config), FORMAT_KEY: FORMAT_VERSION}


def generator_tensors(G, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """``G``'s state dict as a network file stores it: on the CPU, contiguous, floats cast to ``dtype``."""
    tensors = {}
    for name, tensor in G.state_dict().items():
        tensor = tensor.detach().cpu()
        tensors[name] = (tensor.to(dtype) if tensor.is_floating_point() else tensor).contiguous()
    return tensors


def save_generator(G, path: str | Path, dtype: torch.dtype = torch.float32, extra: dict | None = None) -> Path:
    """Write ``G`` as ``.safetensors`` with its config in the metadata, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    bad = non_finite_tensors(G.state_dict().items())
    if bad:
        raise CheckpointError(f"{path} was not written: {bad[0]} holds non-finite values (NaN or inf)")
    tensors = generator_tensors(G, dtype)
    bad = non_finite_tensors(tensors.items())
    if bad:
        raise CheckpointError(f"{path} was not written: {bad[0]} has values beyond the range of {dtype}; "
                              "store it as float32")
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(path, suffix=".partial", what="network", error=CheckpointError) as tmp:
        save_file(tensors, str(tmp), metadata=generator_metadata(G, extra))
    return path


def read_config(path: str | Path) -> dict:
    """The JSON config stored in a ``.safetensors`` network file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"network file {path} does not exist")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise CheckpointError(f"{path} is not a readable .safetensors file ({exc}); re-create it with `video2stylegan convert`") from None
    if CONFIG_KEY not in metadata:
        raise CheckpointError(f"{path} has no '{CONFIG_KEY}' metadata: not a video2stylegan network file")
    try:
        return json.loads(metadata[CONFIG_KEY])
    except json.JSONDecodeError as exc:
        raise CheckpointError(f"{path}: its config metadata is not valid JSON ({exc})") from None


def load_safetensors_generator(path: str | Path):
    """Load a generator written by :func:`save_generator` (eval mode, float32, CPU)."""
    from safetensors.torch import load_file

    config = read_config(path)
    if not isinstance(config, dict) or "init_kwargs" not in config:
        raise CheckpointError(f"{path}: its config does not describe a StyleGAN3 generator (no 'init_kwargs')")
    G = build_generator(config["init_kwargs"], str(path))
    try:
        state = load_file(str(path))
    except Exception as exc:
        raise CheckpointError(f"{path}: tensors cannot be read ({exc}); the file may be truncated") from None
    load_state(G, state, str(path))
    return G.eval().requires_grad_(False)
