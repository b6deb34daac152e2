"""Loading NVIDIA's network pickles (as their training code writes them) without executing anything they carry."""

import io
import os
import pickle

import numpy as np
import pytest
import torch

from tests.networks.conftest import make_generator
from tests.networks.nvidia_snapshot import PERSISTENCE_VERSION, nvidia_generator_kwargs, snapshot_bytes
from video2stylegan.errors import CheckpointError
from video2stylegan.networks.loading import load_generator
from video2stylegan.networks.official_pickle import load_official_generator, read_official_pickle
from video2stylegan.networks.stylegan3 import Generator


def trap_source(marker):
    """Module source that leaves a file behind and raises if anyone executes it."""
    return f"open({str(marker)!r}, 'w').write('executed')\nraise RuntimeError('module_src was executed')\n"


def small_nvidia_generator(config: str, seed: int = 11) -> tuple[Generator, dict]:
    """A 64 px generator built from the kwargs NVIDIA's train.py gives (channels scaled down), trained-looking."""
    kwargs = nvidia_generator_kwargs(config, 64, channel_base=512, channel_max=16, z_dim=32, w_dim=32)
    torch.manual_seed(seed)
    G = Generator(**kwargs).eval().requires_grad_(False)
    with torch.no_grad():  # a non-zero w_avg and magnitudes other than 1, as in a trained network
        G.mapping.w_avg.copy_(torch.randn(G.w_dim) * 0.5)
        for name in G.synthesis.layer_names:
            getattr(G.synthesis, name).magnitude_ema.fill_(0.7 + 0.01 * len(name))
    return G, kwargs


class _MetaCollector(pickle.Unpickler):
    """Reads a snapshot with stand-ins that keep each persistent object's ``meta`` as it is."""

    def find_class(self, module, name):
        if (module, name) == ("torch_utils.persistence", "_reconstruct_persistent_obj"):
            return lambda meta: ("persistent", meta)
        if (module, name) == ("dnnlib.util", "EasyDict"):
            return type("EasyDict", (dict,), {})
        return super().find_class(module, name)


def _walk(record, path=""):
    yield path, record[1]
    for name, child in record[1]["state"]["_modules"].items():
        if child is not None:
            yield from _walk(child, f"{path}.{name}" if path else name)


def test_fixture_writes_the_fields_of_nvidia_persistence():
    """The fixture itself, against torch_utils/persistence.py and training_loop.py (see nvidia_snapshot.py)."""
    G, kwargs = small_nvidia_generator("R")
    data = _MetaCollector(io.BytesIO(snapshot_bytes(G, kwargs, with_augment_pipe=True))).load()
    assert list(data) == ["training_set_kwargs", "G", "D", "G_ema", "augment_pipe"]
    assert type(data["training_set_kwargs"]) is dict
    classes = {}
    for path, meta in _walk(data["G_ema"]):
        assert set(meta) == {"type", "version", "module_src", "class_name", "state"}
        assert meta["type"] == "class" and meta["version"] == PERSISTENCE_VERSION
        assert "." not in meta["class_name"]  # bare orig_class.__name__
        state = meta["state"]
        for key in ("training", "_parameters", "_buffers", "_modules", "_non_persistent_buffers_set",
                    "_forward_hooks", "_init_args", "_init_kwargs"):
            assert key in state, (path, key)
        assert "init_kwargs" not in state and "init_args" not in state  # properties, not pickled
        assert type(state["_init_args"]) is tuple and type(state["_init_kwargs"]) is dict
        assert state["training"] is False
        assert all(not p.requires_grad for p in state["_parameters"].values() if p is not None)
        classes[path] = meta["class_name"]
    assert classes[""] == "Generator" and classes["mapping"] == "MappingNetwork"
    assert classes["synthesis"] == "SynthesisNetwork" and classes["synthesis.input"] == "SynthesisInput"
    assert classes["synthesis.L0_36_32"] == "SynthesisLayer" and classes["mapping.fc1"] == "FullyConnectedLayer"
    assert classes["synthesis.L14_64_3.affine"] == "FullyConnectedLayer"
    ema = data["G_ema"][1]["state"]
    assert type(ema["_init_kwargs"]["mapping_kwargs"]).__name__ == "EasyDict"
    assert ema["_init_kwargs"]["mapping_kwargs"] == {"num_layers": 2}
    layer = data["G_ema"][1]["state"]["_modules"]["synthesis"][1]["state"]["_modules"]["L14_64_3"][1]["state"]
    assert layer["_buffers"]["up_filter"] is None  # the ToRGB layer's identity filter
    assert isinstance(layer["_init_kwargs"]["use_fp16"], np.bool_) and isinstance(layer["in_cutoff"], np.floating)
    fc = data["G_ema"][1]["state"]["_modules"]["mapping"][1]["state"]["_modules"]["fc0"][1]["state"]
    assert fc["_init_args"] == (32, 32) and fc["_init_kwargs"] == {"activation": "lrelu", "lr_multiplier": 0.01}
    assert data["D"][1]["class_name"] == "Discriminator" and data["augment_pipe"][1]["class_name"] == "AugmentPipe"


@pytest.mark.parametrize("config", ["T", "R"])
def test_nvidia_snapshot_loads_one_to_one_without_running_module_src(tmp_path, config):
    G, kwargs = small_nvidia_generator(config)
    marker = tmp_path / "executed.txt"
    path = tmp_path / "network-snapshot-000000.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs, generator_src=trap_source(marker), with_augment_pipe=True))
    loaded = load_official_generator(path)
    assert not marker.exists()
    assert loaded.init_kwargs["magnitude_ema_beta"] == pytest.approx(0.5 ** (32 / 20000))
    assert loaded.init_kwargs["mapping_kwargs"] == {"num_layers": 2}
    assert getattr(loaded.synthesis, loaded.synthesis.layer_names[0]).conv_kernel == (1 if config == "R" else 3)
    for name, tensor in G.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    ws = G.mapping(torch.randn(2, G.z_dim), truncation_psi=0.7)
    assert (loaded.synthesis(ws) - G.synthesis(ws)).abs().max() <= 1e-6
    z = torch.randn(3, G.z_dim)
    assert torch.equal(loaded.mapping(z, truncation_psi=0.5), G.mapping(z, truncation_psi=0.5))
    assert not loaded.w_avg.requires_grad and not loaded.training
    # Through the public entry point too.
    assert torch.equal(load_generator(path).synthesis(ws), G.synthesis(ws))


def test_a_generator_pickled_on_its_own_and_without_d_or_augment_pipe_loads(tmp_path):
    G, kwargs = small_nvidia_generator("T")
    path = tmp_path / "no_d.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs, with_discriminator=False, protocol=2))
    ws = G.mapping(torch.randn(1, G.z_dim))
    assert torch.equal(load_official_generator(path).synthesis(ws), G.synthesis(ws))
    data = read_official_pickle(path)
    assert data["D"] is None and data["augment_pipe"] is None
    path.write_bytes(snapshot_bytes(G, kwargs, alone=True))
    assert torch.equal(load_official_generator(path).synthesis(ws), G.synthesis(ws))


def _stylegan2_generator(writer):
    """A ``networks_stylegan2.Generator`` record: the same bare class name, synthesis blocks b4, b8, ..."""
    from tests.networks.nvidia_snapshot import STYLEGAN2_SRC

    blocks = [("module", f"b{res}", writer.record("SynthesisBlock", STYLEGAN2_SRC, [
        ("attr", "resolution", res), ("buffer", "resample_filter", torch.ones(4, 4) / 16)], (), {}))
        for res in (4, 8, 16)]
    synthesis = writer.record("SynthesisNetwork", STYLEGAN2_SRC, [("attr", "block_resolutions", [4, 8, 16])] + blocks)
    mapping = writer.record("MappingNetwork", STYLEGAN2_SRC, [("buffer", "w_avg", torch.zeros(8))])
    return writer.record("Generator", STYLEGAN2_SRC, [("module", "synthesis", synthesis), ("module", "mapping", mapping)],
                         (), dict(z_dim=8, c_dim=0, w_dim=8, img_resolution=16, img_channels=3,
                                  mapping_kwargs=writer.easy_dict(num_layers=8)))


def test_stylegan2_generator_is_refused_with_a_reason(tmp_path):
    G, kwargs = small_nvidia_generator("T")
    path = tmp_path / "sg2.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs, g_ema=_stylegan2_generator))
    with pytest.raises(CheckpointError, match="StyleGAN2/ADA networks are not supported") as info:
        load_official_generator(path)
    assert "sg2.pkl" in str(info.value)


def test_positional_constructor_arguments_are_named_by_position(tmp_path):
    G, kwargs = small_nvidia_generator("T")
    positional = ("z_dim", "c_dim", "w_dim", "img_resolution", "img_channels")

    def by_position(writer):
        record = writer.generator(G, dict(kwargs, mapping_kwargs=writer.easy_dict(kwargs["mapping_kwargs"])))
        record._init_args = tuple(kwargs[name] for name in positional)
        record._init_kwargs = {k: v for k, v in record._init_kwargs.items() if k not in positional}
        return record

    path = tmp_path / "positional.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs, g_ema=by_position))
    ws = G.mapping(torch.randn(1, G.z_dim))
    assert torch.equal(load_official_generator(path).synthesis(ws), G.synthesis(ws))


@pytest.mark.parametrize("edit, message", [
    (lambda r: delattr(r, "_init_kwargs"), "carries no constructor arguments"),
    (lambda r: r._init_kwargs.update(img_resolution=10**9), "img_resolution=1000000000 is not an integer"),
    (lambda r: r._init_kwargs["mapping_kwargs"].update(freeze_layers=2), "mapping_kwargs.freeze_layers"),
    (lambda r: setattr(r, "_init_args", (32,)), "both by position and by name"),
])
def test_bad_constructor_arguments_are_refused_with_the_reason(tmp_path, edit, message):
    G, kwargs = small_nvidia_generator("T")

    def edited(writer):
        record = writer.generator(G, dict(kwargs, mapping_kwargs=writer.easy_dict(kwargs["mapping_kwargs"])))
        edit(record)
        return record

    path = tmp_path / "edited.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs, g_ema=edited))
    with pytest.raises(CheckpointError, match=message):
        load_official_generator(path)


def test_non_finite_weights_are_refused(tmp_path):
    G, kwargs = small_nvidia_generator("T")
    with torch.no_grad():
        G.synthesis.L2_36_16.weight[0, 0, 0, 0] = float("nan")
    path = tmp_path / "nan.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs))
    with pytest.raises(CheckpointError, match=r"synthesis.L2_36_16.weight holds 1 non-finite values"):
        load_official_generator(path)


def _hostile_pickle(marker) -> bytes:
    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    return pickle.dumps({"G_ema": Exploit()})


def test_hostile_global_is_refused_and_never_called(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pkl"
    path.write_bytes(_hostile_pickle(marker))
    with pytest.raises(CheckpointError, match="not allowed") as info:
        load_official_generator(path)
    assert str(path) in str(info.value)
    assert not marker.exists()


def test_hostile_global_inside_an_ignored_record_is_refused_too(tmp_path):
    G, kwargs = small_nvidia_generator("T")
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    def poisoned(writer):
        record = writer.generator(G, dict(kwargs, mapping_kwargs=writer.easy_dict(kwargs["mapping_kwargs"])))
        record.payload = Exploit()
        return record

    path = tmp_path / "poisoned.pkl"
    path.write_bytes(snapshot_bytes(G, kwargs, g_ema=poisoned))
    with pytest.raises(CheckpointError, match="posix.system|os.system|not allowed"):
        load_official_generator(path)
    assert not marker.exists()


def test_other_dangerous_globals_are_refused(tmp_path):
    for payload in [
        pickle.dumps(eval),  # builtins.eval
        b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x8c\x04exec\x93.",
        pickle.dumps(torch.nn.Linear(2, 2)),  # a plain torch module: not a persistent network
    ]:
        path = tmp_path / "bad.pkl"
        path.write_bytes(payload)
        with pytest.raises(CheckpointError):
            read_official_pickle(path)


def test_truncated_file_is_refused_with_the_file_named(tmp_path):
    G, kwargs = small_nvidia_generator("T")
    data = snapshot_bytes(G, kwargs)
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated") as info:
        load_official_generator(path)
    assert "cut.pkl" in str(info.value)


def test_non_pickle_and_missing_files(tmp_path):
    path = tmp_path / "text.pkl"
    path.write_text("this is not a pickle\n")
    with pytest.raises(CheckpointError, match="text.pkl"):
        load_official_generator(path)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_generator(tmp_path / "absent.pkl")


def test_mismatched_parameter_shapes_are_refused(tmp_path):
    G = make_generator("T")
    with torch.no_grad():
        G.synthesis.input.weight = torch.nn.Parameter(torch.zeros(3, 3))
    path = tmp_path / "bad_shape.pkl"
    path.write_bytes(snapshot_bytes(G))
    with pytest.raises(CheckpointError, match="synthesis.input.weight has shape"):
        load_official_generator(path)


def test_non_finite_constructor_arguments_are_refused_before_building(tmp_path):
    from video2stylegan.networks.state import build_generator

    G, kwargs = small_nvidia_generator("T")
    with pytest.raises(CheckpointError, match="magnitude_ema_beta=nan is not a finite number"):
        build_generator(dict(kwargs, magnitude_ema_beta=float("nan")), "net.safetensors")
    with pytest.raises(CheckpointError, match="z_dim=-3 is not an integer"):
        build_generator(dict(kwargs, z_dim=-3), "net.safetensors")
    with pytest.raises(CheckpointError, match="channel_max=1.5 is not an integer"):
        build_generator(dict(kwargs, channel_max=1.5), "net.safetensors")
