"""Seam error of the paste-back blends on real portraits (``faces.seam_error``; 0 = no seam).

Run: ``python benchmarks/paste_back.py [--size 512] [--data ../shared/data/portraits]``.

For each real portrait the "generated" face is, without any network:

* ``self``: the portrait's own FFHQ crop with its colours changed (red gain
  1.12, blue gain 0.85, +12 grey levels, gamma 0.9), what a generator that
  drifts in colour gives back;
* ``other``: the FFHQ crop of the next portrait in the list (another person,
  in the same aligned geometry), so the seam is between two real faces.

Blends: ``square`` is the old ``--paste-back`` (``paste_back(mask="crop")``:
the whole crop, background included, with a feathered square edge, no
colour matching), the baseline; ``alpha``, ``pyramid`` and ``seamless`` are
``paste_face`` with the face-region mask and Lab colour matching, blended by
feathered alpha, a Laplacian pyramid or OpenCV's ``seamlessClone``;
``pyr-nocol`` is the pyramid without colour matching. Each seam error is
measured on that blend's own mask boundary. Prints one row per portrait and
case, the mean and median per blend, and the mean time per paste.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import numpy as np

PORTRAITS = (
    "face_recognition__obama.jpg",
    "face_recognition__biden.jpg",
    "face_recognition__kit_harington_john1.jpeg",
    "face_recognition__lin-manuel-miranda.png",
    "face_recognition__rose_leslie_img1.jpg",
    "face_recognition__obama2.jpg",
    "face_recognition__rose_leslie_img2.jpg",
    "tps__source.png",
)


def perturb(crop: np.ndarray) -> np.ndarray:
    """The colour drift of the ``self`` case: per-channel gain, brightness offset, gamma."""
    x = crop.astype(np.float32) / 255.0
    x = np.clip(x * np.array([1.12, 1.0, 0.85], np.float32) + 12 / 255.0, 0, 1) ** 0.9
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="side of the aligned (generated) crop")
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "portraits")
    args = parser.parse_args()

    from video2stylegan.faces import align_face, blend_mask, detect_face, paste_back, paste_face, seam_error
    from video2stylegan.io import read_image

    names = [n for n in PORTRAITS if (args.data / n).exists()]
    if len(names) < 2:
        raise SystemExit(f"need at least two portraits from {args.data} (see ../shared/data/README.md)")
    photos, aligned = [], []
    for n in names:
        img = read_image(args.data / n)
        photos.append(img)
        aligned.append(align_face(img, detect_face(img), args.size))

    blends = {
        "square": lambda img, gen, al: paste_back(img, gen, al, mask="crop"),
        "alpha": lambda img, gen, al: paste_face(img, gen, al, blend="alpha"),
        "pyramid": lambda img, gen, al: paste_face(img, gen, al, blend="pyramid"),
        "seamless": lambda img, gen, al: paste_face(img, gen, al, blend="seamless"),
        "pyr-nocol": lambda img, gen, al: paste_face(img, gen, al, blend="pyramid", colour=False),
    }
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; crop {args.size} px")
    header = f"{'portrait':<28} {'size':>9} {'case':>5} " + " ".join(f"{b:>9}" for b in blends)
    print(header)
    print("-" * len(header))
    errors = {b: [] for b in blends}
    times = {b: [] for b in blends}
    for i, (name, img, al) in enumerate(zip(names, photos, aligned)):
        cases = {"self": perturb(al.image), "other": aligned[(i + 1) % len(names)].image}
        face_mask = blend_mask(al, mode="face")
        square_mask = blend_mask(al, mode="crop")
        for case, gen in cases.items():
            row = []
            for b, fn in blends.items():
                t = time.perf_counter()
                out = fn(img, gen, al)
                times[b].append(time.perf_counter() - t)
                assert out.shape == img.shape
                e = seam_error(out, img, square_mask if b == "square" else face_mask)
                errors[b].append(e)
                row.append(f"{e:>9.2f}")
            short = name.replace("face_recognition__", "").rsplit(".", 1)[0][:28]
            print(f"{short:<28} {img.shape[1]:>4}x{img.shape[0]:<4} {case:>5} " + " ".join(row))
    print("-" * len(header))
    for label, fn in (("mean", np.mean), ("median", np.median)):
        print(f"{label:<44} " + " ".join(f"{fn(errors[b]):>9.2f}" for b in blends))
    print(f"{'ms per paste (mean)':<44} " + " ".join(f"{1e3 * np.mean(times[b]):>9.0f}" for b in blends))


if __name__ == "__main__":
    main()
