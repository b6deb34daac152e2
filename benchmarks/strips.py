"""Before/after picture strips for two features: shot cuts in the driving clip, and the seamless paste-back.

Run: ``python benchmarks/strips.py --out docs/images [--method video2stylegan] [--frames-per-shot 8]``.

1. ``cut_strip.png``: a driving clip with a shot cut, reenacted with ``cuts="ignore"`` (the old
   behaviour: the jump at the cut passes into the portrait) and ``cuts="reanchor"`` (the default:
   each shot's motion is re-anchored to its own first frame). The clip is the bundled demo's
   driving frames ``0..n-1`` followed by ``n`` frames of another synthetic person with other head
   motion (``synth_video``), written to a temporary MP4. The network is ``synthetic-heads-128``
   with the ``draft`` embedding budget and, by default, ``method="baseline"`` (to stay within
   minutes on 2 CPU cores; ``--method video2stylegan`` for the full method). Rows: driving / ignore / reanchor;
   columns: the 3 frames before and the 3 frames from the detected cut on. Printed per setting:
   the result's frame-to-frame mean absolute pixel change (grey levels, 0-255) at the cut and its
   median over every other frame step.
2. ``paste_strip.png``: a real portrait (``../shared/data/portraits``) with another person's aligned
   face pasted in, colour-shifted the way a drifting generator gives it back; columns: the photo,
   the old square paste (``paste_back(mask="crop")``) and the new ``paste_face`` (face region, Lab
   colour match, Poisson blend), cropped around the face. Printed: each paste's ``seam_error``
   on its own mask's boundary (0 = no seam).

Nothing is written outside ``--out`` except temporary files (removed at the end).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data" / "portraits"
# (photo, donor of the pasted face): two pairs whose faces differ in shape and colour.
PAIRS = (
    ("face_recognition__obama.jpg", "face_recognition__biden.jpg"),
    ("face_recognition__rose_leslie_img1.jpg", "face_recognition__kit_harington_john1.jpeg"),
)
#: Motion and identity seed of the second shot's synthetic person.
SECOND_SHOT_SEED = 5
LABEL_W = 150  # px of the label column
FONT = cv2.FONT_HERSHEY_SIMPLEX


# ---------------------------------------------------------------- drawing helpers
def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float = 0.45) -> None:
    cv2.putText(img, text, org, FONT, scale, (20, 20, 20), 1, cv2.LINE_AA)


def _labelled_row(label: str, tiles: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """``tiles`` (same height) side by side, white gaps, with ``label`` (may hold ``\\n``) on the left."""
    h = tiles[0].shape[0]
    parts = [np.full((h, LABEL_W, 3), 255, np.uint8)]
    for lineno, line in enumerate(label.split("\n")):
        _text(parts[0], line, (6, h // 2 - 8 + 18 * lineno))
    for t in tiles:
        parts += [np.full((h, gap, 3), 255, np.uint8), t]
    return np.concatenate(parts, axis=1)


def _header(width: int, titles: list[str], tile_w: int, height: int = 24, gap: int = 4) -> np.ndarray:
    bar = np.full((height, width, 3), 255, np.uint8)
    for i, title in enumerate(titles):
        x = LABEL_W + gap + i * (tile_w + gap)
        (tw, _), _ = cv2.getTextSize(title, FONT, 0.45, 1)
        _text(bar, title, (x + max(0, (tile_w - tw) // 2), height - 8))
    return bar


def _stack(rows: list[np.ndarray], gap: int = 4) -> np.ndarray:
    width = max(r.shape[1] for r in rows)
    out = []
    for r in rows:
        if r.shape[1] < width:
            r = np.concatenate([r, np.full((r.shape[0], width - r.shape[1], 3), 255, np.uint8)], axis=1)
        out += [r, np.full((gap, width, 3), 255, np.uint8)]
    return np.concatenate(out[:-1], axis=0)


def _save(img: np.ndarray, path: Path) -> int:
    Image.fromarray(img).save(path, optimize=True)
    return path.stat().st_size


def _fit(img: np.ndarray, height: int) -> np.ndarray:
    h, w = img.shape[:2]
    interp = cv2.INTER_AREA if height < h else cv2.INTER_CUBIC
    return cv2.resize(img, (max(1, round(w * height / h)), height), interpolation=interp)


# ---------------------------------------------------------------- 1. shot cut
def frame_steps(frames: np.ndarray) -> np.ndarray:
    """``steps[j - 1]`` = mean absolute change (grey levels) from frame ``j - 1`` to frame ``j``."""
    f = frames.astype(np.int16)
    return np.abs(f[1:] - f[:-1]).mean(axis=(1, 2, 3))


def cut_strip(out_dir: Path, frames_per_shot: int, method: str, quality: str) -> dict:
    import video2stylegan
    from video2stylegan.io.video import read_video, write_video
    from video2stylegan.pipeline.demo import demo_inputs
    from video2stylegan.synthetic.clips import synth_video

    demo = demo_inputs(co_driving=True)
    n = frames_per_shot
    first, fps = read_video(demo.driving, max_frames=n)
    results, numbers = {}, {}
    with tempfile.TemporaryDirectory(prefix="strips-") as tmp:
        # the second shot: another synthetic person with other head motion (the demo's co-driving take
        # of the same person on the same background is no cut to faces.shots: none is detected)
        other = Path(tmp) / "other.mp4"
        synth_video(other, frames=n, seed=SECOND_SHOT_SEED, size=first.shape[1], fps=fps)
        second, _ = read_video(other)
        clip_frames = np.concatenate([first, second])
        clip = write_video(Path(tmp) / "two_shots.mp4", clip_frames, fps, crf=12)
        for policy in ("ignore", "reanchor"):
            t = time.perf_counter()
            # one cache for both runs: the second reuses the projections, so the two differ only in `cuts`
            res = video2stylegan.reenact(demo.source, clip, network=demo.network, quality=quality, method=method,
                                         cuts=policy, cache_dir=Path(tmp) / "cache", progress=False)
            results[policy] = res
            print(f"cuts={policy}: {len(res.frames)} frames in {time.perf_counter() - t:.0f} s, "
                  f"detected cut(s) at {res.cuts}")
    detected = results["reanchor"].cuts
    cut = detected[0] if detected else n
    if not detected:
        print(f"warning: no cut detected in the two-shot clip; using the join, frame {n}")
    elif cut != n:
        print(f"note: the cut was detected at frame {cut}, the join is at frame {n}")
    for policy, res in results.items():
        steps = frame_steps(res.frames)
        at = float(steps[cut - 1])
        rest = float(np.median(np.delete(steps, cut - 1)))
        numbers[policy] = (at, rest)
        print(f"cuts={policy:<8} change at the cut {at:6.2f}, median elsewhere {rest:5.2f} "
              f"(ratio {at / max(rest, 1e-6):.1f}x), max elsewhere {float(np.delete(steps, cut - 1).max()):.2f}")
    drive_steps = frame_steps(clip_frames)
    print(f"driving clip  change at the join {float(drive_steps[n - 1]):6.2f}, "
          f"median elsewhere {float(np.median(np.delete(drive_steps, n - 1))):5.2f}")

    R = results["reanchor"].frames.shape[1]
    cols = list(range(max(0, cut - 3), min(len(clip_frames), cut + 3)))
    drive_tiles = [_fit(clip_frames[j], R) for j in cols]
    rows = [_labelled_row("driving clip", drive_tiles)]
    for policy, text in (("ignore", "cuts=ignore\n(old)"), ("reanchor", "cuts=reanchor\n(new default)")):
        rows.append(_labelled_row(text, [results[policy].frames[j] for j in cols]))
    titles = [f"frame {j}" + (" (cut)" if j == cut else "") for j in cols]
    img = _stack([_header(rows[0].shape[1], titles, R)] + rows)
    path = out_dir / "cut_strip.png"
    size = _save(img, path)
    print(f"wrote {path} ({img.shape[1]}x{img.shape[0]}, {size / 1024:.0f} KB)")
    return {"cut": cut, "numbers": numbers, "path": path}


# ---------------------------------------------------------------- 2. paste-back
def colour_shift(crop: np.ndarray) -> np.ndarray:
    """A generator's colour drift: warmer (red up, blue down), a little brighter, lower contrast."""
    x = crop.astype(np.float32) / 255.0
    x = x * np.array([1.10, 0.98, 0.82], np.float32) + 0.05
    x = 0.5 + 0.9 * (x - 0.5)
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def paste_strip(out_dir: Path, data: Path, size: int, tile_h: int) -> dict:
    from video2stylegan.faces import align_face, blend_mask, detect_face, paste_back, paste_face, seam_error
    from video2stylegan.io import read_image

    rows, numbers = [], {}
    for photo_name, donor_name in PAIRS:
        photo = read_image(data / photo_name)
        donor = read_image(data / donor_name)
        al = align_face(photo, detect_face(photo), size)
        gen = colour_shift(align_face(donor, detect_face(donor), size).image)
        old = paste_back(photo, gen, al, mask="crop")
        new = paste_face(photo, gen, al)
        e_old = seam_error(old, photo, blend_mask(al, mode="crop"))
        e_new = seam_error(new, photo, blend_mask(al, mode="face"))
        short = photo_name.replace("face_recognition__", "").rsplit(".", 1)[0].replace("_img1", "")
        donor_short = donor_name.replace("face_recognition__", "").rsplit(".", 1)[0].replace("_john1", "")
        numbers[short] = (e_old, e_new)
        print(f"{short:<18} <- {donor_short:<20} seam error: square {e_old:.2f}, seamless {e_new:.2f}")
        # a square around the crop square's centre, 1.3 times its side, kept inside the photo
        centre = al.quad.mean(0)
        side = min(1.3 * float(np.ptp(al.quad, axis=0).max()), *photo.shape[:2])
        x0 = int(np.clip(centre[0] - side / 2, 0, photo.shape[1] - side))
        y0 = int(np.clip(centre[1] - side / 2, 0, photo.shape[0] - side))
        box = (slice(y0, y0 + int(side)), slice(x0, x0 + int(side)))
        tiles = [_fit(im[box], tile_h) for im in (photo, old, new)]
        rows.append(_labelled_row(f"{short}\nface: {donor_short}", tiles))
    titles = ["photo", "old: square paste", "new: paste_face"]
    img = _stack([_header(rows[0].shape[1], titles, tile_h)] + rows)
    path = out_dir / "paste_strip.png"
    size_b = _save(img, path)
    print(f"wrote {path} ({img.shape[1]}x{img.shape[0]}, {size_b / 1024:.0f} KB)")
    return {"numbers": numbers, "path": path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--frames-per-shot", type=int, default=8)
    parser.add_argument("--method", choices=("video2stylegan", "baseline"), default="baseline",
                        help="baseline by default: the full method took 12 min for 24 frames on the shared 2-core CPU")
    parser.add_argument("--quality", default="draft")
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--crop", type=int, default=512, help="side of the aligned crop that is pasted")
    parser.add_argument("--tile", type=int, default=200, help="height of the paste strip's tiles")
    parser.add_argument("--only", choices=("cut", "paste"), help="make one strip only")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.only != "cut":
        paste_strip(args.out, args.data, args.crop, args.tile)
    if args.only != "paste":
        cut_strip(args.out, args.frames_per_shot, args.method, args.quality)


if __name__ == "__main__":
    main()
