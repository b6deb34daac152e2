"""The bundled demo: a source portrait, a driving clip and a co-driving clip.

Regenerate with ``python -m video2stylegan.synthetic.demo`` (writes into the
package's ``assets/demo`` folder, or a folder given as argument). Contents:

* ``source.png`` - person B, frontal, 256 px;
* ``driving.mp4`` - person A talking (4 s, 25 fps, 256 px);
* ``codriving.mp4`` - person A again, another take with different speech and
  head motion (same length);
* ``truth.npz`` - everything needed for ground truth: identity vectors of A
  and B, the two trajectories, and the rendered landmarks of both clips.

The ground truth of reenacting B is :func:`demo_ground_truth`: B rendered with
the driving clip's expressions and, by default, its head motion, or the
co-driving clip's head motion (``pose_from="codriving"``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io.images import write_image
from video2stylegan.synthetic.clips import identity_from_seed, render_clip, write_clip
from video2stylegan.synthetic.params import Expression, HeadParams, Identity, Pose, sample_params
from video2stylegan.synthetic.renderer import Render, render
from video2stylegan.synthetic.trajectory import Trajectory, talking_trajectory

DEMO_DIR = Path(__file__).resolve().parent.parent / "assets" / "demo"
DEMO_SIZE = 256
DEMO_FPS = 25.0
#: Frames of each bundled clip (4 s); ``video2stylegan demo`` reenacts fewer of them by default.
DEMO_CLIP_FRAMES = 100

# Chosen for two clearly different, well-detected people.
SOURCE_IDENTITY_SEED = 7
DRIVING_IDENTITY_SEED = 2
DRIVING_MOTION_SEED = 101
CODRIVING_MOTION_SEED = 202


def _identities() -> tuple[Identity, Identity]:
    return identity_from_seed(SOURCE_IDENTITY_SEED), identity_from_seed(DRIVING_IDENTITY_SEED)


def _trajectories() -> tuple[Trajectory, Trajectory]:
    driving = talking_trajectory(DEMO_CLIP_FRAMES, DEMO_FPS, DRIVING_MOTION_SEED)
    codriving = talking_trajectory(DEMO_CLIP_FRAMES, DEMO_FPS, CODRIVING_MOTION_SEED, head_motion=1.4)
    return driving, codriving


def source_params() -> HeadParams:
    """Parameters of the source portrait: person B, frontal, eyes open, mouth closed."""
    source, _ = _identities()
    return HeadParams(source, Expression(smile=0.2), Pose())


def generate_demo(out_dir: str | os.PathLike = DEMO_DIR, crf: int = 26) -> dict[str, Path]:
    """Write the demo files into ``out_dir`` and return their paths by name."""
    out = Path(out_dir)
    if not out.is_dir():
        try:
            out.mkdir(parents=True)
        except OSError as exc:
            raise MediaError(f"cannot create demo folder {out} ({exc}); choose a writable folder.") from None
    source, actor = _identities()
    driving, codriving = _trajectories()
    paths = {
        "source": out / "source.png",
        "driving": out / "driving.mp4",
        "codriving": out / "codriving.mp4",
        "truth": out / "truth.npz",
    }
    write_image(paths["source"], render(source_params(), DEMO_SIZE, supersample=3).image)
    t_drv = write_clip(paths["driving"], actor, driving, DEMO_SIZE, crf=crf)
    t_co = write_clip(paths["codriving"], actor, codriving, DEMO_SIZE, crf=crf)
    np.savez_compressed(
        paths["truth"],
        source_identity=source.to_vector(),
        driving_identity=actor.to_vector(),
        source_pose=source_params().pose.to_vector(),
        source_expression=source_params().expression.to_vector(),
        driving_expression=driving.expression,
        driving_pose=driving.pose,
        codriving_expression=codriving.expression,
        codriving_pose=codriving.pose,
        driving_landmarks=t_drv.landmarks.astype(np.float32),
        codriving_landmarks=t_co.landmarks.astype(np.float32),
        fps=np.float64(DEMO_FPS),
        size=np.int64(DEMO_SIZE),
    )
    return paths


def load_demo_truth(folder: str | os.PathLike = DEMO_DIR) -> dict[str, np.ndarray]:
    """The arrays of the demo's ``truth.npz``."""
    path = Path(folder) / "truth.npz"
    if not path.is_file():
        raise MediaError(f"demo ground truth {path} is missing; regenerate with `python -m video2stylegan.synthetic.demo`.")
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def demo_ground_truth(pose_from: str = "driving", folder: str | os.PathLike = DEMO_DIR) -> Iterator[Render]:
    """Frames of the exact reenactment result: source person B with the driving
    clip's expressions and the head motion of ``pose_from`` (``"driving"`` or
    ``"codriving"``), rendered like the demo clips."""
    if pose_from not in ("driving", "codriving"):
        raise InvalidOptionError(f"pose_from must be 'driving' or 'codriving', got {pose_from!r}.")
    z = load_demo_truth(folder)
    traj = Trajectory(z["driving_expression"], z[f"{pose_from}_pose"], float(z["fps"]))
    yield from render_clip(Identity.from_vector(z["source_identity"]), traj, int(z["size"]))


# Colours of the parts in :func:`truth_overlay` (RGB), in ``PARTS`` order.
_PART_COLOURS = np.array(
    [[0, 0, 0], [230, 180, 140], [120, 70, 30], [60, 200, 255], [90, 60, 20], [255, 120, 60], [220, 30, 60], [120, 120, 200]],
    dtype=np.float32,
)


def truth_overlay(r: Render) -> np.ndarray:
    """The render with its part masks tinted and its 68 landmarks drawn (uint8 RGB).

    Visible landmarks are green, hidden ones red.
    """
    tint = np.einsum("phw,pc->hwc", r.masks, _PART_COLOURS)
    img = (0.55 * r.image + 0.45 * tint).astype(np.uint8)
    img = np.ascontiguousarray(img)
    for (x, y), vis in zip(r.landmarks, r.visible):
        cv2.circle(img, (int(round(x * 4)), int(round(y * 4))), 6, (0, 255, 0) if vis else (255, 0, 0), -1, cv2.LINE_AA, 2)
    return img


def sample_grid(seeds, size: int = 128, columns: int = 4, overlay: bool = False) -> np.ndarray:
    """A grid image of ``render(sample_params(seed), size)`` for each seed."""
    tiles = []
    for seed in seeds:
        r = render(sample_params(int(seed)), size, supersample=3)
        tiles.append(truth_overlay(r) if overlay else r.image)
    while len(tiles) % columns:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i : i + columns]) for i in range(0, len(tiles), columns)]
    return np.vstack(rows)


def main(argv: list[str] | None = None) -> int:
    """``python -m video2stylegan.synthetic.demo [FOLDER]`` writes the demo (default: the package's ``assets/demo``)."""
    argv = sys.argv[1:] if argv is None else argv
    paths = generate_demo(argv[0] if argv else DEMO_DIR)
    for name, p in paths.items():
        print(f"{name}: {p} ({p.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
