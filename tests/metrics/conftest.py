"""Shared inputs of the metric tests: a few frames of the real driving clip,
tracked once, and copies of them moved by known amounts."""

import cv2
import numpy as np
import pytest

FRAMES = 8
SHIFT = (8, 4)  # pixels right, down
DRIFT = 6  # pixels right per frame


def shifted(frames: np.ndarray, dx: float, dy: float) -> np.ndarray:
    """Frames translated by (dx, dy) pixels, borders reflected (so the face stays whole)."""
    h, w = frames.shape[1:3]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return np.stack([cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REFLECT) for f in frames])


@pytest.fixture(scope="session")
def driving_clip(shared_data):
    from video2stylegan.io import read_video

    frames, _ = read_video(shared_data / "driving" / "tps__driving.mp4", max_frames=FRAMES)
    return frames


@pytest.fixture(scope="session")
def tracked(driving_clip):
    """name -> (frames, VideoFaces) for the clip, a constantly shifted and a drifting copy."""
    from video2stylegan.faces import track_faces

    clips = {
        "driving": driving_clip,
        "shifted": shifted(driving_clip, *SHIFT),
        "drifting": np.stack([shifted(f[None], DRIFT * t, 0)[0] for t, f in enumerate(driving_clip)]),
    }
    return {name: (frames, track_faces(frames, progress=False)) for name, frames in clips.items()}
