"""The bundled network's latent code: z <-> renderer parameters, and the seeded streams."""

import numpy as np
import pytest

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic import sample_params
from video2stylegan.synthetic.params import HeadParams
from video2stylegan.training.latents import Z_DIM, normalize_z, params_to_z, sample_z, z_to_params


def test_z_dim_is_one_entry_per_renderer_parameter():
    assert Z_DIM == HeadParams.size() == 37


def test_z_to_params_reproduces_the_sampler_distribution():
    """z ~ N(0, I) decodes to the marginals of sample_params (uniform fields, natural pose, eye range)."""
    names = HeadParams.names()
    decoded = np.stack([z_to_params(sample_z(i, seed=5)).to_vector() for i in range(600)])
    sampled = np.stack([sample_params(10_000 + i).to_vector() for i in range(600)])
    for name in ("skin_tone", "hair_length", "eye_open_left", "mouth_open", "yaw", "pitch", "tx", "scale"):
        k = names.index(name)
        a, b = decoded[:, k], sampled[:, k]
        spread = b.std()
        assert abs(a.mean() - b.mean()) < 0.15 * spread, name
        assert abs(a.std() - b.std()) < 0.15 * spread, name
    k = names.index("eye_open_left")
    assert decoded[:, k].min() >= 0.55 - 1e-9 and decoded[:, k].max() <= 1.15 + 1e-9


def test_params_to_z_inverts_z_to_params_on_the_sphere():
    z = normalize_z(sample_z(3))
    p = z_to_params(z)
    back = params_to_z(p)
    # Entries whose angle was not clipped round-trip exactly.
    np.testing.assert_allclose(back, z, atol=1e-6)
    np.testing.assert_allclose(z_to_params(back).to_vector(), p.to_vector(), atol=1e-6)


def test_z_to_params_depends_only_on_the_direction_like_the_mapping():
    z = sample_z(7)
    np.testing.assert_allclose(z_to_params(2.5 * z).to_vector(), z_to_params(z).to_vector(), atol=1e-9)
    with pytest.raises(InvalidOptionError, match="37"):
        z_to_params(np.zeros(5))
