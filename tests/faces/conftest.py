"""Shared inputs for the face tests: real photos, a drawn face, the real-data folder."""

from pathlib import Path

import numpy as np
import pytest
from face_drawing import draw_face

SHARED_DATA = (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real test data not found at {SHARED_DATA} (expected <repo>/../shared/data)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    import skimage.data

    return skimage.data.astronaut()


@pytest.fixture(scope="session")
def astronaut_face(astronaut):
    from video2stylegan.faces import detect_face

    return detect_face(astronaut)


@pytest.fixture(scope="session")
def drawn() -> np.ndarray:
    return draw_face()


@pytest.fixture(scope="session")
def drawn_face(drawn):
    from video2stylegan.faces import detect_face

    return detect_face(drawn)


@pytest.fixture(scope="session")
def portrait(shared_data):
    """Read one real portrait by short name (cached)."""
    from video2stylegan.io import read_image

    cache = {}

    def load(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = read_image(shared_data / "portraits" / name)
        return cache[name]

    return load
