"""The canonical transform's feedback: measuring where edited faces are, on the shipped network's faces."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from video2stylegan.faces.canonical import FFHQ_EYE_CENTER
from video2stylegan.networks import registry
from video2stylegan.networks.registry import BUNDLED_NETWORK
from video2stylegan.networks.transforms import make_transform
from video2stylegan.pipeline.placement import edit_drift, measure_canonical

SHIPPED = registry.BUNDLED_DIR / f"{BUNDLED_NETWORK}.safetensors"
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason=f"{SHIPPED} is not shipped in this checkout")

# content motions (angle rad counter-clockwise as seen, shift in image units): none, a shift, a turn and a shift
MOTIONS = [(0.0, (0.0, 0.0)), (0.0, (0.05, -0.03)), (0.12, (-0.03, 0.02))]


@pytest.fixture(scope="module")
def G():
    from video2stylegan.networks.loading import load_generator

    return load_generator(BUNDLED_NETWORK)


@pytest.fixture(scope="module")
def w(G):
    with torch.no_grad():
        return G.mapping(torch.randn(1, G.z_dim, generator=torch.Generator().manual_seed(3)), truncation_psi=0.5)


def test_edit_drift_measures_a_known_motion_of_the_face(G, w):
    """Frames moved through the Fourier features by known motions: the measured drift is that
    motion of the eye centre (to within 1.2 % of the width; 128 px faces, dlib landmarks),
    and a shift reads no turn (within 0.04 rad). The shipped network is a StyleGAN3-T, which
    is equivariant to shifts but not to turns: asked to turn by 0.12 rad through its Fourier
    features it turns the face by about 0.02 (measured), so the turn itself is not checked."""
    transforms = torch.stack([make_transform(a, t) for a, t in MOTIONS])

    def render(a, b):
        return G.synthesis(w.expand(b - a, -1, -1), transform=transforms[a:b])

    with torch.no_grad():
        reference = G.synthesis(w)
    drift = edit_drift(render, reference, len(MOTIONS), kernel=1, edges="shrink")
    assert drift is not None
    from video2stylegan.networks.transforms import to_uint8_images

    tx, ty, _ = measure_canonical(to_uint8_images(reference))[0]
    eye = np.array([tx + FFHQ_EYE_CENTER[0] - 0.5, ty + FFHQ_EYE_CENTER[1] - 0.5])  # generator coordinates
    for (angle, shift), got in zip(MOTIONS, drift):
        c, s = math.cos(angle), math.sin(angle)
        moved = np.array([[c, s], [-s, c]]) @ eye + np.asarray(shift)
        assert np.abs(got[:2] - (moved - eye)).max() < 0.012, (angle, shift, got)
        if angle == 0:
            assert abs(got[2]) < 0.04, (shift, got)


def test_edit_drift_gives_up_without_a_face(G, w, caplog):
    blank = torch.zeros(1, 3, G.img_resolution, G.img_resolution)
    assert edit_drift(lambda a, b: blank.expand(b - a, -1, -1, -1), blank, 2, kernel=1, edges="shrink") is None
    assert "canonical feedback skipped" in caplog.text


def test_summary_reports_the_feedback():
    from video2stylegan.method.config import ReenactConfig
    from video2stylegan.pipeline.run import ReenactResult

    result = ReenactResult(frames=np.zeros((0, 8, 8, 3), np.uint8), out=None, fps=25.0, config=ReenactConfig())
    assert "placement feedback" not in result.summary()
    result.placement_drift = (0.0123, 1.54)
    assert "moved the face by 1.2 % of the width and 1.5 deg" in result.summary()


def test_edit_drift_measures_large_renders_at_measure_size(G, w):
    """A 512 px render (the 128 px one enlarged) is shrunk to MEASURE_SIZE before dlib and reads
    the known shifts to the same 1.2 % of the width as the 128 px render (measured: 0.5 % off
    at most, against 0.3 % at 128 px: dlib's own noise)."""
    import torch.nn.functional as F

    enlarge = lambda img: F.interpolate(img, size=(512, 512), mode="bilinear", align_corners=False)  # noqa: E731
    shifts = [m for m in MOTIONS if m[0] == 0]
    transforms = torch.stack([make_transform(a, t) for a, t in shifts])
    with torch.no_grad():
        drift = edit_drift(lambda a, b: enlarge(G.synthesis(w.expand(b - a, -1, -1), transform=transforms[a:b])),
                           enlarge(G.synthesis(w)), len(shifts), kernel=1, edges="shrink")
    assert drift is not None
    for (_, shift), got in zip(shifts, drift):
        assert np.abs(got[:2] - np.asarray(shift)).max() < 0.012, (shift, got)
