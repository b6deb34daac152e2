"""Fixtures shared by every test folder."""

from pathlib import Path

import pytest
import torch

# Real portraits and driving clips live beside the repository, never inside it.
SHARED_DATA = (Path(__file__).parents[1] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The project's real test media; tests that need it are skipped where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (expected <repo>/../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def one_thread():
    """Every test on one torch thread: on a shared 2-core machine oversubscribed threads made
    optimisation steps many times slower, and one thread keeps the numbers reproducible."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)
