"""uint8 images <-> the generator's [-1, 1] range: known values and an exact round trip."""

import numpy as np
import pytest
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.networks.transforms import from_uint8_images, to_uint8_images


def test_known_values_and_layout():
    img = np.zeros((2, 3, 3), np.uint8)
    img[0, 0] = (0, 255, 51)
    t = from_uint8_images(img)
    assert t.shape == (1, 3, 2, 3) and t.dtype == torch.float32
    assert t[0, :, 0, 0].tolist() == pytest.approx([-1.0, 1.0, 51 / 127.5 - 1.0])


def test_round_trip_is_exact_for_every_value():
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (4, 5, 3), dtype=np.uint8) for _ in range(3)]
    images[0][0, :, 0] = np.arange(5) * 63  # includes 0 and 252
    np.testing.assert_array_equal(to_uint8_images(from_uint8_images(images)), np.stack(images))
    everything = np.arange(256, dtype=np.uint8).repeat(3).reshape(1, 16, 16, 3)
    np.testing.assert_array_equal(to_uint8_images(from_uint8_images(everything)), everything)


def test_clipping_and_bad_shapes():
    assert to_uint8_images(torch.tensor([[[[-3.0]], [[0.0]], [[2.0]]]])).tolist() == [[[[0, 128, 255]]]]
    with pytest.raises(InvalidOptionError, match=r"\[N, H, W, 3\]"):
        from_uint8_images(np.zeros((4, 4), np.uint8))
