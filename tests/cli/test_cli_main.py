"""The command line's last line of defence: memory errors are one line with a hint, other bugs still show."""

import pytest
import torch

from video2stylegan.cli import main as cli_main
from video2stylegan.cli import networks_cmd


@pytest.mark.parametrize("error, message", [
    (MemoryError(), "error: out of memory; close other programs"),
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"),
     "error: the GPU ran out of memory; close other programs"),
])
def test_running_out_of_memory_is_one_line_with_what_to_try(monkeypatch, capsys, error, message):
    def fail(args):
        raise error

    monkeypatch.setattr(networks_cmd, "run_info", fail)
    assert cli_main.main(["info", "random-t-128"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "--low-memory" in err[0]


def test_other_runtime_errors_are_not_disguised(monkeypatch):
    def fail(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(networks_cmd, "run_info", fail)
    with pytest.raises(RuntimeError, match="a bug"):
        cli_main.main(["info", "random-t-128"])
