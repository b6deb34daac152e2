"""Network snapshots written the way NVIDIA's StyleGAN3 training code writes them, without NVIDIA's code.

Every field below was checked against the public release of NVlabs/stylegan3
(commit 8fb5177d77556d19bf3ccfa03621aa4cbdf29dc9); the function or line each
one mirrors is named where it is written:

- ``torch_utils/persistence.py``, ``persistent_class``: the decorated class
  keeps the bare name of the original (``Decorator.__name__ =
  orig_class.__name__``). ``Decorator.__init__`` runs the original
  ``__init__`` and then stores deep copies of the call's arguments as
  ``self._init_args`` (a tuple) and ``self._init_kwargs`` (the ``**kwargs``
  dict). ``Decorator.__reduce__`` takes ``super().__reduce__()`` (for a torch
  module: reconstructor, its arguments, and the module's ``__dict__``) and
  returns ``(_reconstruct_persistent_obj, (meta,), None)`` with ``meta =
  dict(type='class', version=_version, module_src=<source of the defining
  module>, class_name=<bare name>, state=<that __dict__>)``; ``_version = 6``.
  :func:`_persistent_type` below implements that protocol (written here from
  that description, not copied).
- ``training/networks_stylegan3.py``: the plain attributes each
  ``__init__`` sets, in its order, with its value types (numpy scalars where
  NVIDIA computes with numpy, ``np.broadcast_to`` arrays for sizes, ``None``
  buffers for identity filters, ``embed = None`` as a plain attribute when
  ``c_dim == 0``); and the exact constructor calls of the submodules, which
  decide what lands in their ``_init_args`` / ``_init_kwargs``.
- ``train.py`` builds ``G_kwargs = EasyDict(class_name=..., z_dim=512,
  w_dim=512, mapping_kwargs=EasyDict(num_layers=2), channel_base,
  channel_max, magnitude_ema_beta [, conv_kernel, use_radial_filters])`` and
  ``training/training_loop.py`` calls ``construct_class_by_name(**G_kwargs,
  **common_kwargs)`` with ``common_kwargs = dict(c_dim, img_resolution,
  img_channels)``: no positional arguments, ``class_name`` consumed.
- ``training/training_loop.py``, network snapshot: ``snapshot_data =
  dict(training_set_kwargs=dict(training_set_kwargs))``, then for G, D, G_ema,
  augment_pipe ``copy.deepcopy(module).eval().requires_grad_(False).cpu()``
  (a missing module stays ``None``), written with ``pickle.dump(snapshot_data, f)``.
- ``training/networks_stylegan2.py`` (the discriminator StyleGAN3 trains
  with) and ``training/augment.py``: records of other classes, which a loader
  must parse and ignore.
"""

from __future__ import annotations

import contextlib
import copy
import pickle
import sys
import types

import numpy as np
import torch

from video2stylegan.networks.stylegan3 import Generator

PERSISTENCE_VERSION = 6  # torch_utils/persistence.py: _version
STYLEGAN3_SRC = '"""Generator architecture from the paper\n"Alias-Free Generative Adversarial Networks"."""\n'
STYLEGAN2_SRC = '"""Network architectures from the paper\n"Analyzing and Improving the Image Quality of StyleGAN"."""\n'
AUGMENT_SRC = '"""Augmentation pipeline from the paper\n"Training Generative Adversarial Networks with Limited Data"."""\n'


def nvidia_generator_kwargs(config: str, resolution: int, batch: int = 32, channel_base: int = 32768,
                            channel_max: int = 512, z_dim: int = 512, w_dim: int = 512, mapping_layers: int = 2,
                            easy_dict=dict) -> dict:
    """``G_ema._init_kwargs`` as ``train.py`` + ``training_loop.py`` produce them, in their order.

    ``--cbase``/``--cmax`` are ``channel_base``/``channel_max``; the R config
    doubles both (``c.G_kwargs.channel_base *= 2``, ``channel_max *= 2``) and
    adds ``conv_kernel=1, use_radial_filters=True``; ``magnitude_ema_beta =
    0.5 ** (batch_size / (20 * 1e3))``.
    """
    kwargs = dict(z_dim=z_dim, w_dim=w_dim, mapping_kwargs=easy_dict(num_layers=mapping_layers),
                  channel_base=channel_base, channel_max=channel_max, magnitude_ema_beta=0.5 ** (batch / (20 * 1e3)))
    if config == "R":
        kwargs.update(conv_kernel=1, channel_base=channel_base * 2, channel_max=channel_max * 2, use_radial_filters=True)
    kwargs.update(c_dim=0, img_resolution=resolution, img_channels=3)
    return kwargs


def _fake_nvidia_modules() -> dict:
    """Importable stand-ins for the two NVIDIA names a snapshot refers to by module path."""
    persistence = types.ModuleType("torch_utils.persistence")
    util = types.ModuleType("dnnlib.util")

    def _reconstruct_persistent_obj(meta):  # only its name goes into the pickle
        raise AssertionError("the fixture writes snapshots, it never reads them")

    _reconstruct_persistent_obj.__module__ = "torch_utils.persistence"
    _reconstruct_persistent_obj.__qualname__ = "_reconstruct_persistent_obj"
    persistence._reconstruct_persistent_obj = _reconstruct_persistent_obj

    class EasyDict(dict):
        pass

    EasyDict.__module__, EasyDict.__qualname__ = "dnnlib.util", "EasyDict"
    util.EasyDict = EasyDict
    return {"torch_utils": types.ModuleType("torch_utils"), "torch_utils.persistence": persistence,
            "dnnlib": types.ModuleType("dnnlib"), "dnnlib.util": util}


@contextlib.contextmanager
def _installed(fakes: dict):
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


def _persistent_type(class_name: str, module_src: str, reconstruct):
    """A torch module class pickled as ``persistent_class.Decorator.__reduce__`` pickles its instances."""

    def __reduce__(self):
        fields = list(torch.nn.Module.__reduce__(self))  # what super().__reduce__() gives the decorator
        fields += [None] * max(3 - len(fields), 0)
        meta = dict(type="class", version=PERSISTENCE_VERSION, module_src=module_src, class_name=class_name,
                    state=fields[2])
        fields[0], fields[1], fields[2] = reconstruct, (meta,), None
        return tuple(fields)

    return type(class_name, (torch.nn.Module,), {"__reduce__": __reduce__})


class SnapshotWriter:
    """Builds records with NVIDIA's class names, attributes and constructor arguments."""

    def __init__(self, fakes: dict, generator_src: str = STYLEGAN3_SRC):
        self.fakes = fakes
        self.generator_src = generator_src  # module_src of the networks_stylegan3 records
        self.easy_dict = fakes["dnnlib.util"].EasyDict
        self._types = {}

    def record(self, class_name: str, module_src: str, fields: list, args: tuple = (), kwargs: dict | None = None):
        """A persistent module; ``fields`` are ``(kind, name, value)`` in the order NVIDIA's ``__init__`` sets them."""
        key = (class_name, module_src)
        if key not in self._types:
            self._types[key] = _persistent_type(class_name, module_src,
                                                self.fakes["torch_utils.persistence"]._reconstruct_persistent_obj)
        module = self._types[key]()
        for kind, name, value in fields:
            if kind == "buffer":
                module.register_buffer(name, None if value is None else value.detach().clone())
            elif kind == "param":
                setattr(module, name, None if value is None else torch.nn.Parameter(value.detach().clone()))
            else:  # plain attributes and submodules
                setattr(module, name, value)
        # persistent_class.Decorator.__init__: deep copies, set after the original __init__.
        module._init_args = copy.deepcopy(tuple(args))
        module._init_kwargs = copy.deepcopy(dict(kwargs or {}))
        return module

    # --- training/networks_stylegan3.py ---------------------------------------------------------

    def fully_connected(self, layer, args, kwargs):
        lr_multiplier = kwargs.get("lr_multiplier", 1)  # FullyConnectedLayer's default is the int 1
        return self.record("FullyConnectedLayer", self.generator_src, [
            ("attr", "in_features", layer.in_features),
            ("attr", "out_features", layer.out_features),
            ("attr", "activation", kwargs.get("activation", "linear")),
            ("param", "weight", layer.weight),
            ("param", "bias", layer.bias),
            ("attr", "weight_gain", lr_multiplier / np.sqrt(layer.in_features)),
            ("attr", "bias_gain", lr_multiplier),
        ], args, kwargs)

    def mapping(self, mapping, mapping_kwargs):
        # Generator.__init__: MappingNetwork(z_dim=z_dim, c_dim=c_dim, w_dim=w_dim, num_ws=self.num_ws, **mapping_kwargs)
        kwargs = dict(z_dim=mapping.z_dim, c_dim=mapping.c_dim, w_dim=mapping.w_dim, num_ws=mapping.num_ws,
                      **mapping_kwargs)
        fields = [("attr", name, getattr(mapping, name)) for name in
                  ("z_dim", "c_dim", "w_dim", "num_ws", "num_layers", "w_avg_beta")]
        # FullyConnectedLayer(self.c_dim, self.w_dim) if self.c_dim > 0 else None
        embed = self.fully_connected(mapping.embed, (mapping.c_dim, mapping.w_dim), {}) if mapping.c_dim > 0 else None
        fields.append(("attr", "embed", embed))
        for idx in range(mapping.num_layers):
            layer = getattr(mapping, f"fc{idx}")
            # FullyConnectedLayer(in_features, out_features, activation='lrelu', lr_multiplier=lr_multiplier)
            fc_kwargs = dict(activation="lrelu", lr_multiplier=mapping_kwargs.get("lr_multiplier", 0.01))
            fields.append(("module", f"fc{idx}", self.fully_connected(layer, (layer.in_features, layer.out_features),
                                                                      fc_kwargs)))
        fields.append(("buffer", "w_avg", mapping.w_avg))
        return self.record("MappingNetwork", self.generator_src, fields, (), kwargs)

    def synthesis_input(self, block, w_dim):
        # SynthesisNetwork.__init__: SynthesisInput(w_dim=self.w_dim, channels=int(channels[0]),
        #     size=int(sizes[0]), sampling_rate=sampling_rates[0], bandwidth=cutoffs[0])
        kwargs = dict(w_dim=w_dim, channels=int(block.channels), size=int(block.size[0]),
                      sampling_rate=np.float64(block.sampling_rate), bandwidth=np.float64(block.bandwidth))
        affine = self.fully_connected(block.affine, (w_dim, 4), dict(weight_init=0, bias_init=[1, 0, 0, 0]))
        return self.record("SynthesisInput", self.generator_src, [
            ("attr", "w_dim", w_dim),
            ("attr", "channels", kwargs["channels"]),
            ("attr", "size", np.broadcast_to(np.asarray(kwargs["size"]), [2])),
            ("attr", "sampling_rate", kwargs["sampling_rate"]),
            ("attr", "bandwidth", kwargs["bandwidth"]),
            ("param", "weight", block.weight),
            ("module", "affine", affine),
            ("buffer", "transform", block.transform),
            ("buffer", "freqs", block.freqs),
            ("buffer", "phases", block.phases),
        ], (), kwargs)

    def synthesis_layer(self, layer, layer_kwargs, use_fp16):
        # SynthesisNetwork.__init__: SynthesisLayer(w_dim=..., is_torgb=..., ..., out_half_width=..., **layer_kwargs);
        # use_fp16 is a numpy bool there (a comparison of numpy values), the cutoffs and widths numpy floats.
        kwargs = dict(
            w_dim=layer.w_dim, is_torgb=bool(layer.is_torgb), is_critically_sampled=bool(layer.is_critically_sampled),
            use_fp16=use_fp16, in_channels=int(layer.in_channels), out_channels=int(layer.out_channels),
            in_size=int(layer.in_size[0]), out_size=int(layer.out_size[0]),
            in_sampling_rate=int(layer.in_sampling_rate), out_sampling_rate=int(layer.out_sampling_rate),
            in_cutoff=np.float64(layer.in_cutoff), out_cutoff=np.float64(layer.out_cutoff),
            in_half_width=np.float64(layer.in_half_width), out_half_width=np.float64(layer.out_half_width),
            **layer_kwargs,
        )
        fields = [("attr", name, kwargs[name]) for name in (
            "w_dim", "is_torgb", "is_critically_sampled", "use_fp16", "in_channels", "out_channels")]
        fields += [
            ("attr", "in_size", np.broadcast_to(np.asarray(kwargs["in_size"]), [2])),
            ("attr", "out_size", np.broadcast_to(np.asarray(kwargs["out_size"]), [2])),
            ("attr", "in_sampling_rate", kwargs["in_sampling_rate"]),
            ("attr", "out_sampling_rate", kwargs["out_sampling_rate"]),
            ("attr", "tmp_sampling_rate", int(layer.tmp_sampling_rate)),
            ("attr", "in_cutoff", kwargs["in_cutoff"]),
            ("attr", "out_cutoff", kwargs["out_cutoff"]),
            ("attr", "in_half_width", kwargs["in_half_width"]),
            ("attr", "out_half_width", kwargs["out_half_width"]),
            ("attr", "conv_kernel", layer.conv_kernel),
            ("attr", "conv_clamp", layer.conv_clamp),
            ("attr", "magnitude_ema_beta", layer.magnitude_ema_beta),
            # FullyConnectedLayer(self.w_dim, self.in_channels, bias_init=1)
            ("module", "affine", self.fully_connected(layer.affine, (layer.w_dim, layer.in_channels), dict(bias_init=1))),
            ("param", "weight", layer.weight),
            ("param", "bias", layer.bias),
            ("buffer", "magnitude_ema", layer.magnitude_ema),
            ("attr", "up_factor", layer.up_factor),
            ("attr", "up_taps", layer.up_taps),
            ("buffer", "up_filter", layer.up_filter),  # None for an identity filter (design_lowpass_filter)
            ("attr", "down_factor", layer.down_factor),
            ("attr", "down_taps", layer.down_taps),
            ("attr", "down_radial", bool(layer.down_radial)),
            ("buffer", "down_filter", layer.down_filter),
            ("attr", "padding", [int(p) for p in layer.padding]),
        ]
        return self.record("SynthesisLayer", self.generator_src, fields, (), kwargs)

    def synthesis(self, synthesis, synthesis_kwargs, layer_kwargs):
        # Generator.__init__: SynthesisNetwork(w_dim=w_dim, img_resolution=img_resolution,
        #     img_channels=img_channels, **synthesis_kwargs)
        kwargs = dict(w_dim=synthesis.w_dim, img_resolution=synthesis.img_resolution,
                      img_channels=synthesis.img_channels, **synthesis_kwargs)
        fields = [("attr", name, getattr(synthesis, name)) for name in (
            "w_dim", "num_ws", "img_resolution", "img_channels", "num_layers", "num_critical", "margin_size",
            "output_scale")]
        # Our network ignores num_fp16_res; NVIDIA's keeps it and gives each layer
        # use_fp16 = sampling_rate * 2 ** num_fp16_res > img_resolution (numpy values).
        num_fp16_res = synthesis_kwargs.get("num_fp16_res", 4)
        fields.append(("attr", "num_fp16_res", num_fp16_res))
        fields.append(("module", "input", self.synthesis_input(synthesis.input, synthesis.w_dim)))
        fields.append(("attr", "layer_names", list(synthesis.layer_names)))
        for name in synthesis.layer_names:
            layer = getattr(synthesis, name)
            use_fp16 = np.float64(layer.out_sampling_rate) * (2 ** num_fp16_res) > synthesis.img_resolution
            fields.append(("module", name, self.synthesis_layer(layer, layer_kwargs, use_fp16)))
        return self.record("SynthesisNetwork", self.generator_src, fields, (), kwargs)

    def generator(self, G: Generator, init_kwargs: dict):
        """``G_ema`` as NVIDIA's code pickles it; ``init_kwargs`` as from :func:`nvidia_generator_kwargs`."""
        own = {"z_dim", "c_dim", "w_dim", "img_resolution", "img_channels", "mapping_kwargs"}
        synthesis_kwargs = {k: v for k, v in init_kwargs.items() if k not in own}
        layer_names = {"conv_kernel", "filter_size", "lrelu_upsampling", "use_radial_filters", "conv_clamp",
                       "magnitude_ema_beta"}
        layer_kwargs = {k: v for k, v in synthesis_kwargs.items() if k in layer_names}
        mapping_kwargs = dict(init_kwargs.get("mapping_kwargs") or {})
        return self.record("Generator", self.generator_src, [
            ("attr", "z_dim", G.z_dim),
            ("attr", "c_dim", G.c_dim),
            ("attr", "w_dim", G.w_dim),
            ("attr", "img_resolution", G.img_resolution),
            ("attr", "img_channels", G.img_channels),
            ("module", "synthesis", self.synthesis(G.synthesis, synthesis_kwargs, layer_kwargs)),
            ("attr", "num_ws", G.num_ws),
            ("module", "mapping", self.mapping(G.mapping, mapping_kwargs)),
        ], (), init_kwargs)

    # --- training/networks_stylegan2.py and training/augment.py: records to be ignored -----------

    def _conv2d(self, in_channels, out_channels, kernel_size, down=1, bias=True):
        # networks_stylegan2.Conv2dLayer: attributes set in __init__, a [1,3,3,1] resample filter buffer.
        return self.record("Conv2dLayer", STYLEGAN2_SRC, [
            ("attr", "in_channels", in_channels), ("attr", "out_channels", out_channels),
            ("attr", "activation", "lrelu"), ("attr", "up", 1), ("attr", "down", down), ("attr", "conv_clamp", 256),
            ("buffer", "resample_filter", torch.outer(torch.tensor([1., 3, 3, 1]), torch.tensor([1., 3, 3, 1])) / 64),
            ("attr", "padding", kernel_size // 2), ("attr", "weight_gain", 1 / np.sqrt(in_channels * kernel_size ** 2)),
            ("attr", "act_gain", np.sqrt(2)),
            ("param", "weight", torch.randn(out_channels, in_channels, kernel_size, kernel_size)),
            ("param", "bias", torch.zeros(out_channels) if bias else None),
        ], (in_channels, out_channels), dict(kernel_size=kernel_size, down=down))

    def discriminator(self, resolution: int, channels: int = 8):
        """A small ``networks_stylegan2.Discriminator`` record: one resnet block and the epilogue."""
        block = self.record("DiscriminatorBlock", STYLEGAN2_SRC, [
            ("attr", "in_channels", 0), ("attr", "resolution", resolution), ("attr", "img_channels", 3),
            ("attr", "first_layer_idx", 0), ("attr", "architecture", "resnet"), ("attr", "use_fp16", np.bool_(True)),
            ("attr", "channels_last", False),
            ("buffer", "resample_filter", torch.full((4, 4), 1 / 16)),
            ("attr", "num_layers", 4),
            ("module", "fromrgb", self._conv2d(3, channels, 1)),
            ("module", "conv0", self._conv2d(channels, channels, 3)),
            ("module", "conv1", self._conv2d(channels, channels, 3, down=2)),
            ("module", "skip", self._conv2d(channels, channels, 1, down=2, bias=False)),
        ], (0, channels, channels), dict(resolution=resolution, first_layer_idx=0, use_fp16=np.bool_(True),
                                          freeze_layers=0, img_channels=3, architecture="resnet", conv_clamp=256))
        mbstd = self.record("MinibatchStdLayer", STYLEGAN2_SRC, [("attr", "group_size", 4), ("attr", "num_channels", 1)],
                            (), dict(group_size=4, num_channels=1))
        out = self.record("FullyConnectedLayer", STYLEGAN2_SRC, [
            ("attr", "in_features", channels), ("attr", "out_features", 1), ("attr", "activation", "linear"),
            ("param", "weight", torch.randn(1, channels)), ("param", "bias", torch.zeros(1)),
            ("attr", "weight_gain", 1 / np.sqrt(channels)), ("attr", "bias_gain", 1),
        ], (channels, 1), {})
        epilogue = self.record("DiscriminatorEpilogue", STYLEGAN2_SRC, [
            ("attr", "in_channels", channels), ("attr", "cmap_dim", 0), ("attr", "resolution", 4),
            ("attr", "img_channels", 3), ("attr", "architecture", "resnet"),
            ("module", "mbstd", mbstd), ("module", "conv", self._conv2d(channels + 1, channels, 3)), ("module", "out", out),
        ], (channels,), dict(cmap_dim=0, resolution=4, mbstd_group_size=4, img_channels=3, architecture="resnet",
                             conv_clamp=256))
        kwargs = dict(block_kwargs=self.easy_dict(freeze_layers=0), mapping_kwargs=self.easy_dict(),
                      epilogue_kwargs=self.easy_dict(mbstd_group_size=4), channel_base=32768, channel_max=512,
                      c_dim=0, img_resolution=resolution, img_channels=3)
        return self.record("Discriminator", STYLEGAN2_SRC, [
            ("attr", "c_dim", 0), ("attr", "img_resolution", resolution),
            ("attr", "img_resolution_log2", int(np.log2(resolution))), ("attr", "img_channels", 3),
            ("attr", "block_resolutions", [resolution]),
            ("module", f"b{resolution}", block), ("module", "b4", epilogue),
        ], (), kwargs)

    def augment_pipe(self):
        """A ``training/augment.py`` ``AugmentPipe`` record (``--aug=ada``; FFHQ was trained with ``noaug``: None)."""
        strengths = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=1, contrast=1,
                         lumaflip=1, hue=1, saturation=1)
        fields = [("buffer", "p", torch.zeros([]))]
        fields += [("attr", name, float(value)) for name, value in strengths.items()]
        fields += [("attr", "imgfilter_bands", [1, 1, 1, 1]), ("attr", "noise_std", 0.1),
                   ("buffer", "Hz_geom", torch.randn(12)), ("buffer", "Hz_fbank", torch.randn(4, 12))]
        return self.record("AugmentPipe", AUGMENT_SRC, fields, (), strengths)


def snapshot_bytes(G: Generator, init_kwargs: dict | None = None, *, generator_src: str = STYLEGAN3_SRC,
                   with_discriminator: bool = True, with_augment_pipe: bool = False, protocol: int = 4,
                   g_ema=None, alone: bool = False) -> bytes:
    """The bytes of ``network-snapshot-*.pkl`` holding ``G`` as ``G_ema`` (and a perturbed copy as ``G``).

    ``init_kwargs`` default to ``G.init_kwargs`` with ``mapping_kwargs`` as an
    ``EasyDict``; ``generator_src`` replaces the StyleGAN3 module source of
    every generator record (tests put code there that must never run);
    ``g_ema`` replaces the ``G_ema`` record entirely (other architectures).
    """
    fakes = _fake_nvidia_modules()
    writer = SnapshotWriter(fakes, generator_src)
    kwargs = dict(init_kwargs if init_kwargs is not None else G.init_kwargs)
    kwargs["mapping_kwargs"] = writer.easy_dict(kwargs.get("mapping_kwargs") or {})
    with _installed(fakes):
        ema = g_ema(writer) if g_ema is not None else writer.generator(G, kwargs)
        if alone:  # pickle.dump(G_ema, f): one network, no snapshot dict
            return pickle.dumps(ema.eval().requires_grad_(False), protocol=protocol)
        trained = copy.deepcopy(G)
        with torch.no_grad():  # G is the raw (non-EMA) generator: other weights
            for param in trained.parameters():
                param.add_(0.01)
        raw = writer.generator(trained, kwargs)
        snapshot = dict(training_set_kwargs=dict(
            class_name="training.dataset.ImageFolderDataset", path="ffhq.zip", use_labels=False,
            max_size=70000, xflip=True, resolution=G.img_resolution, random_seed=0))
        for name, module in [("G", raw), ("D", writer.discriminator(G.img_resolution) if with_discriminator else None),
                             ("G_ema", ema), ("augment_pipe", writer.augment_pipe() if with_augment_pipe else None)]:
            if module is not None:
                module = module.eval().requires_grad_(False)  # training_loop: .eval().requires_grad_(False).cpu()
            snapshot[name] = module
        return pickle.dumps(snapshot, protocol=protocol)
