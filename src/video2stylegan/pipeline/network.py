"""The network stage of ``reenact``: the generator, loaded once, and what identifies it in the cache."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from video2stylegan.method.cache import network_identity
# the module, not its functions: ``loading.load_generator`` is looked up when called, so a test that
# forbids loading (to show a run is refused before the network loads) replaces it in one place
from video2stylegan.networks import loading

__all__ = ["Network", "load_network"]


@dataclass(frozen=True, eq=False)  # holds tensors: compared by identity
class Network:
    """The run's generator ``G`` (eval mode, no gradients), its ``id`` (the cache keys' network:
    :func:`~video2stylegan.method.cache.network_identity`, a hash of every weight) and its ``name`` (the
    registry name or file as given; ``None`` for a module passed in)."""

    G: torch.nn.Module
    id: str
    name: str | None = None

    @property
    def resolution(self) -> int:
        """The generator's output size ``R`` (pixels)."""
        return int(self.G.img_resolution)

    @property
    def device(self) -> torch.device:
        return self.G.w_avg.device


def load_network(network, device: str = "auto", *, low_memory: bool = False, progress: bool = True) -> Network:
    """``network`` (registry name, file path, or a loaded generator, moved to ``device``) ready to run.

    ``low_memory``: turn on ``G.synthesis.recompute_activations`` (backward passes keep about 0.4x the
    activations); on a module passed in, that switch is set on the module itself.
    """
    if isinstance(network, torch.nn.Module):
        G = network.to(loading.resolve_device(device)).eval().requires_grad_(False)
        name = None
    else:
        G = loading.load_generator(network, loading.resolve_device(device), progress=progress)
        name = str(network)
    if low_memory:
        G.synthesis.recompute_activations = True
    return Network(G, network_identity(G), name)
