"""Loading official-structure pickles without executing anything they carry."""

import os
import pickle

import pytest
import torch

from tests.networks.conftest import make_generator
from tests.networks.official_pickle_fixture import official_pickle_bytes
from video2stylegan.errors import CheckpointError
from video2stylegan.networks.loading import load_generator
from video2stylegan.networks.official_pickle import load_official_generator, read_official_pickle


def trap_source(marker):
    """Module source that leaves a file behind and raises if anyone executes it."""
    return f"open({str(marker)!r}, 'w').write('executed')\nraise RuntimeError('module_src was executed')\n"


@pytest.mark.parametrize("config", ["T", "R"])
def test_official_structure_loads_one_to_one_without_running_module_src(tmp_path, config):
    G = make_generator(config, seed=11)
    marker = tmp_path / "executed.txt"
    path = tmp_path / "network.pkl"
    path.write_bytes(official_pickle_bytes(G, trap_source(marker)))
    loaded = load_official_generator(path)
    assert not marker.exists()
    for name, tensor in G.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor), name
    ws = G.mapping(torch.randn(2, G.z_dim), truncation_psi=0.7)
    assert torch.equal(loaded.synthesis(ws), G.synthesis(ws))
    assert not loaded.w_avg.requires_grad and not loaded.training
    # Through the public entry point too.
    assert torch.equal(load_generator(path).synthesis(ws), G.synthesis(ws))


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
    G = make_generator("T")
    data = official_pickle_bytes(G, "raise RuntimeError('executed')")
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


def test_stylegan2_generator_is_refused_with_a_reason(tmp_path):
    G = make_generator("T")
    path = tmp_path / "sg2.pkl"
    path.write_bytes(official_pickle_bytes(G, "", class_name="training.networks_stylegan2.Generator"))
    with pytest.raises(CheckpointError, match="not a StyleGAN3 generator"):
        load_official_generator(path)


def test_mismatched_parameter_shapes_are_refused(tmp_path):
    G = make_generator("T")
    with torch.no_grad():
        G.synthesis.input.weight = torch.nn.Parameter(torch.zeros(3, 3))
    path = tmp_path / "bad_shape.pkl"
    path.write_bytes(official_pickle_bytes(G, ""))
    with pytest.raises(CheckpointError, match="synthesis.input.weight has shape"):
        load_official_generator(path)
