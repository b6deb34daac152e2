"""Where the edited faces already are: the measurement behind the canonical transform's feedback.

The pose edit (Eq. 7) turns the head, and a turned head's eye centre moves
sideways in the image; the residual and local edits can move it a little too.
The driving clip's canonical parameters already contain those shifts, so the
canonical transform (Eq. 4-6) would apply them twice. :func:`edit_drift`
renders every frame's combined styles *without* the transform, finds the face's
68 landmarks in it, and returns how far each frame's ``(tx, ty, r)`` moved from
the unedited reference's; :func:`~video2stylegan.method.canonical.transforms_for_config`
subtracts it (``ReenactConfig.canonical_feedback``, docs/method.md).

Cost: one more synthesis per frame and one landmark search per frame on a copy
of the render at most 256 px wide.
"""

from __future__ import annotations

import logging
from typing import Callable

import numpy as np
import torch

from video2stylegan import faces
from video2stylegan.errors import NoFaceError
from video2stylegan.method.canonical import placement_drift
from video2stylegan.method.pose import resize_images
from video2stylegan.networks.transforms import to_uint8_images

log = logging.getLogger(__name__)

__all__ = ["MEASURE_SIZE", "measure_canonical", "edit_drift"]

#: Renders are measured at this width at most (dlib's landmarks need no more; 1024 px would be slow).
MEASURE_SIZE = 256


def measure_canonical(images: np.ndarray, *, progress: bool = False, what: str = "the edited frames") -> np.ndarray:
    """``(T, 3)`` canonical parameters ``(tx, ty, r)`` of the face in each uint8 render
    ``(T, H, W, 3)`` (frames without a face interpolated from their neighbours). Raises
    :class:`NoFaceError` when no frame has one."""
    images = np.asarray(images)
    tracked = faces.track_faces(images, source=what, progress=progress)
    shape = images.shape[1:3]
    return np.stack([faces.canonical_params(lm, shape).as_array() for lm in tracked.landmarks])


def edit_drift(
    render: Callable[[int, int], torch.Tensor],
    reference: torch.Tensor,
    num_frames: int,
    *,
    kernel: int,
    edges: str,
    batch: int = 8,
    progress: bool = False,
) -> np.ndarray | None:
    """``(T, 3)`` drift of the edited frames' faces from the reference's, or ``None`` (with a
    warning) when a face cannot be found in the reference render or in any edited frame.

    ``render(a, b)``: frames ``a..b-1`` without the canonical transform, ``[N, 3, R, R]``;
    ``reference``: the unedited reference render ``[1, 3, R, R]``. The measured parameters are
    smoothed with the canonical transform's ``kernel`` / ``edges``. Renders larger than
    :data:`MEASURE_SIZE` are shrunk to it (on their device) before the landmark search.
    """
    def small(images: torch.Tensor):
        return to_uint8_images(resize_images(images, min(images.shape[-1], MEASURE_SIZE)))

    try:
        ref = measure_canonical(small(reference), what="the reference render")
        with torch.no_grad():
            images = np.concatenate([small(render(a, min(a + batch, num_frames))) for a in range(0, num_frames, batch)])
        measured = measure_canonical(images, progress=progress)
    except NoFaceError as exc:
        log.warning("canonical feedback skipped: %s", exc)
        return None
    return placement_drift(measured, ref, kernel=kernel, edges=edges)
