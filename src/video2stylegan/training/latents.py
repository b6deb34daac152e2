"""The bundled network's latent code: ``z`` <-> renderer parameters, and the seeded streams of ``z``.

A latent ``z`` is drawn from N(0, I) with one entry per renderer parameter and
decoded into head parameters (:func:`z_to_params`); the generator learns
``G(z) ~= render(z_to_params(z))``. The decoding makes ``z ~ N(0, I)`` reproduce
the parameter distribution of :func:`~video2stylegan.synthetic.sample_params`
(uniform fields through the normal CDF, natural-pose angles as scaled normals),
so sampling the trained network draws heads the way the renderer's own sampler
does.

The mapping network normalises ``z`` to the sphere of radius ``sqrt(z_dim)``
before anything else, so the image can only depend on the direction of ``z``;
:func:`z_to_params` therefore decodes the *normalised* ``z``, which keeps the
training target a function of what the network sees.
"""

from __future__ import annotations

import numpy as np

from video2stylegan.errors import InvalidOptionError
from video2stylegan.synthetic.params import NATURAL_POSE_SIGMA, Expression, HeadParams, Identity, Pose

Z_DIM = HeadParams.size()
#: The two streams of latents: what the trainer learns from, and what it is scored on (never trained on).
TRAIN_STREAM = 0
HELDOUT_STREAM = 1
# Eye openness is drawn uniformly in this sub-range by sample_params (closed eyes are blinks).
EYE_OPEN_RANGE = (0.55, 1.15)
_UNIT_EPS = 1e-6


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    from scipy.special import ndtr

    return ndtr(x)


def _normal_ppf(u: np.ndarray) -> np.ndarray:
    from scipy.special import ndtri

    return ndtri(np.clip(u, _UNIT_EPS, 1 - _UNIT_EPS))


def _field_kinds() -> list[tuple[str, tuple[float, float], str]]:
    """(name, (low, high) of the value, kind) per parameter; kind is 'uniform' or 'normal'."""
    kinds = []
    for block in (Identity, Expression, Pose):
        for name in block.names():
            lo, hi = block.SPEC[name]
            if name in ("eye_open_left", "eye_open_right"):
                kinds.append((name, EYE_OPEN_RANGE, "uniform"))
            elif name in NATURAL_POSE_SIGMA:
                kinds.append((name, (lo, hi), "normal"))
            else:
                kinds.append((name, (lo, hi), "uniform"))
    return kinds


_FIELDS = _field_kinds()


def normalize_z(z: np.ndarray) -> np.ndarray:
    """What the mapping network does first: scale each row to mean square 1."""
    z = np.asarray(z, dtype=np.float64)
    return z / np.sqrt(np.square(z).mean(axis=-1, keepdims=True) + 1e-8)


def z_to_params(z) -> HeadParams:
    """Head parameters that the trained generator renders for latent ``z`` (37 values).

    ``z`` is normalised as the mapping network does; each entry is then mapped
    through the normal CDF into its field's sampling range, except yaw, pitch
    and roll, which are ``z * sigma`` (the natural pose distribution), clipped.
    """
    z = np.asarray(z, dtype=np.float64).reshape(-1)
    if z.size != Z_DIM:
        raise InvalidOptionError(f"z must have {Z_DIM} entries (one per renderer parameter), got {z.size}.")
    z = normalize_z(z)
    values = np.empty(Z_DIM)
    for i, (name, (lo, hi), kind) in enumerate(_FIELDS):
        if kind == "normal":
            values[i] = np.clip(z[i] * NATURAL_POSE_SIGMA[name], lo, hi)
        else:
            values[i] = lo + (hi - lo) * _normal_cdf(z[i])
    return HeadParams.from_vector(values)


def params_to_z(params: HeadParams) -> np.ndarray:
    """A latent whose entries encode ``params`` (the inverse of the per-field maps of :func:`z_to_params`).

    Exact inverse only when the result already has mean square 1; otherwise
    ``z_to_params(params_to_z(p))`` is ``p`` with the latent rescaled.
    """
    values = params.to_vector()
    z = np.empty(Z_DIM)
    for i, (name, (lo, hi), kind) in enumerate(_FIELDS):
        if kind == "normal":
            z[i] = values[i] / NATURAL_POSE_SIGMA[name]
        else:
            z[i] = _normal_ppf((values[i] - lo) / (hi - lo))
    return z


def sample_z(index: int, seed: int = 0, stream: int = TRAIN_STREAM) -> np.ndarray:
    """Latent number ``index`` of a stream (training or held-out): ``N(0, I)``, float64, deterministic."""
    rng = np.random.default_rng([int(seed), int(stream), int(index)])
    return rng.standard_normal(Z_DIM)
