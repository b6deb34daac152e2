"""Shared inputs for the face tests: real photos and a drawn face (shared_data: tests/conftest.py)."""

import numpy as np
import pytest
from face_drawing import draw_face


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
