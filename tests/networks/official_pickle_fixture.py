"""Write pickles with the structure of NVIDIA's official StyleGAN3 ``.pkl`` files.

The networks in those files are persistent objects: the pickle stream calls
``torch_utils.persistence._reconstruct_persistent_obj(meta)``, where ``meta``
holds the defining module's source code, the class name and the module's
``__dict__``. We build the same stream from one of our own modules, with a
``module_src`` of our choosing (tests use code that would leave a trace if it
were ever executed), without needing NVIDIA's code.
"""

from __future__ import annotations

import contextlib
import pickle
import sys
import types
from collections import OrderedDict

import numpy as np
import torch


def _make_fake_modules():
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # never called: only its name goes into the pickle
        raise AssertionError("not for loading")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__ = "dnnlib.util"
    EasyDict.__qualname__ = "EasyDict"
    util.EasyDict = EasyDict
    return {
        "torch_utils": types.ModuleType("torch_utils"),
        "torch_utils.persistence": persistence,
        "dnnlib": types.ModuleType("dnnlib"),
        "dnnlib.util": util,
    }


class _Persistent:
    """Pickles as ``_reconstruct_persistent_obj(meta)``, like NVIDIA's persistent classes."""

    def __init__(self, meta, reconstruct):
        self.meta, self.reconstruct = meta, reconstruct

    def __reduce__(self):
        return (self.reconstruct, (self.meta,))


def _record(module: torch.nn.Module, class_name: str, module_src: str, fakes, init_kwargs=None):
    children = OrderedDict(
        (name, _record(child, f"training.networks_stylegan3.{type(child).__name__}", module_src, fakes))
        for name, child in module._modules.items()
    )
    state = {
        "training": False,
        "_parameters": OrderedDict((k, v if v is None else torch.nn.Parameter(v.detach().clone(), requires_grad=False))
                                   for k, v in module._parameters.items()),
        "_buffers": OrderedDict((k, v if v is None else v.detach().clone()) for k, v in module._buffers.items()),
        "_non_persistent_buffers_set": set(),
        "_modules": children,
        # Plain attributes of the official modules include numpy arrays and scalars.
        "size": np.asarray([36, 36]),
        "sampling_rate": np.float64(16.0),
    }
    if init_kwargs is not None:
        state["init_args"] = ()
        state["init_kwargs"] = fakes["dnnlib.util"].EasyDict(init_kwargs)
    meta = dict(type="class", version=4, module_src=module_src, class_name=class_name, state=state)
    return _Persistent(meta, fakes["torch_utils.persistence"]._reconstruct_persistent_obj)


@contextlib.contextmanager
def _fake_modules_installed(fakes):
    saved = {name: sys.modules.get(name) for name in fakes}
    sys.modules.update(fakes)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def official_pickle_bytes(G, module_src: str, class_name: str = "training.networks_stylegan3.Generator") -> bytes:
    """Bytes of a pickle ``{'G', 'D', 'G_ema', 'augment_pipe', 'training_set_kwargs'}`` holding G."""
    fakes = _make_fake_modules()
    init_kwargs = dict(G.init_kwargs)
    init_kwargs["mapping_kwargs"] = fakes["dnnlib.util"].EasyDict(init_kwargs["mapping_kwargs"])
    with _fake_modules_installed(fakes):
        g_ema = _record(G, class_name, module_src, fakes, init_kwargs=init_kwargs)
        d_net = _record(torch.nn.Linear(3, 2), "training.networks_stylegan2.Discriminator", module_src, fakes, init_kwargs={})
        data = {
            "G": g_ema,
            "D": d_net,
            "G_ema": g_ema,
            "augment_pipe": None,
            "training_set_kwargs": fakes["dnnlib.util"].EasyDict(resolution=G.img_resolution, xflip=False),
        }
        return pickle.dumps(data, protocol=4)
