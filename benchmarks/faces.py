"""Throughput of the face stage: detection + 68 landmarks + 128-D descriptor per frame.

Run: ``python benchmarks/faces.py [--repeats N] [--cnn]``. Prints a table of
frames per second at 256, 512 and 1024 px square frames for the HOG detector
at upsample 0 and 1 ("auto" starts at 1 up to 512 px, else 0), the split between the
three steps, and the FFHQ alignment at 1024 for comparison. The frame is
``skimage.data.astronaut()`` (a real portrait) resized, so the face covers
the same fraction of every frame. Single process; dlib uses one core here.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import cv2


def _time(fn, repeats: int) -> float:
    fn()  # warm-up (and model loading)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cnn", action="store_true", help="also time the CNN (mmod) detector (slow on CPU)")
    args = parser.parse_args()

    import skimage.data

    from video2stylegan.faces import align_face, detect_faces, face_descriptor, landmarks_in_box
    from video2stylegan.faces.detection import _detect_boxes

    base = skimage.data.astronaut()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; repeats={args.repeats}")
    header = f"{'size':>5} {'detector':>9} {'upsample':>8} {'detect ms':>10} {'landmk ms':>10} {'descr ms':>9} {'total ms':>9} {'frames/s':>9}"
    print(header)
    print("-" * len(header))
    configs = [("hog", 0), ("hog", 1)] + ([("cnn", 0)] if args.cnn else [])
    for size in (256, 512, 1024):
        frame = cv2.resize(base, (size, size), interpolation=cv2.INTER_AREA if size < 512 else cv2.INTER_CUBIC)
        for detector, up in configs:
            found = _detect_boxes(frame, detector, up)
            if not found:
                print(f"{size:>5} {detector:>9} {up:>8}   (no face found at this setting)")
                continue
            box = max(found, key=lambda b: (b[0][2] - b[0][0]) * (b[0][3] - b[0][1]))[0]
            face = max(detect_faces(frame, detector=detector, upsample=up), key=lambda f: f.area)
            t_det = _time(lambda: _detect_boxes(frame, detector, up), args.repeats)
            t_lm = _time(lambda: landmarks_in_box(frame, box), args.repeats)
            t_desc = _time(lambda: face_descriptor(frame, face), args.repeats)
            total = t_det + t_lm + t_desc
            print(
                f"{size:>5} {detector:>9} {up:>8} {t_det * 1e3:>10.1f} {t_lm * 1e3:>10.2f} "
                f"{t_desc * 1e3:>9.1f} {total * 1e3:>9.1f} {1.0 / total:>9.2f}"
            )
    frame = cv2.resize(base, (1024, 1024), interpolation=cv2.INTER_CUBIC)
    face = detect_faces(frame, upsample=0)[0]
    for ss in ("auto", 1, 4):
        t = _time(lambda: align_face(frame, face, 1024, supersample=ss), args.repeats)
        print(f"align_face 1024 px crop, supersample={ss}: {t * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
