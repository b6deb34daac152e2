"""Reference numbers of the always-available metrics on the shared real data.

Run: ``python benchmarks/metrics.py [--frames N]``. Prints (1) ID between the
shared portraits (same person's other photo vs other people), (2) dK, the
landmark distances and expression errors of the real driving clip against
copies of itself changed in known ways (shifted, drifting, delayed, frozen,
mirrored), and (3) the time per frame of each stage. Needs ``../shared/data``.
"""

from __future__ import annotations

import argparse
import itertools
import time
from pathlib import Path

import cv2
import numpy as np

from video2stylegan.faces import detect_face, face_descriptor, identity_distance, track_faces
from video2stylegan.io import read_image, read_video
from video2stylegan.evaluation import evaluate_video

DATA = (Path(__file__).resolve().parents[1] / ".." / "shared" / "data").resolve()
PEOPLE = {
    "obama": ["obama.jpg", "obama2.jpg"],
    "biden": ["biden.jpg", "biden_biden2.jpg"],
    "kit": ["kit_harington_john1.jpeg", "kit_harington_john2.jpeg"],
    "rose": ["rose_leslie_img1.jpg", "rose_leslie_img2.jpg"],
}


def shift(frames: np.ndarray, dx: float, dy: float) -> np.ndarray:
    h, w = frames.shape[1:3]
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return np.stack([cv2.warpAffine(f, m, (w, h), borderMode=cv2.BORDER_REFLECT) for f in frames])


def identity_table() -> None:
    desc = {}
    for person, files in PEOPLE.items():
        for i, name in enumerate(files):
            img = read_image(DATA / "portraits" / f"face_recognition__{name}")
            desc[(person, i)] = face_descriptor(img, detect_face(img))
    same = [float(identity_distance(desc[(p, 0)], desc[(p, 1)])) for p in PEOPLE]
    diff = [float(identity_distance(desc[a], desc[b])) for a, b in itertools.combinations(desc, 2) if a[0] != b[0]]
    print("## ID between the shared portraits (dlib descriptor L2)\n")
    print("| pair | ID |\n|---|---|")
    for p, v in zip(PEOPLE, same):
        print(f"| {p} vs {p} (other photo) | {v:.3f} |")
    print(f"| different people ({len(diff)} pairs) | min {min(diff):.3f}, mean {np.mean(diff):.3f}, max {max(diff):.3f} |\n")


def clip_table(n: int) -> None:
    frames, _ = read_video(DATA / "driving" / "tps__driving.mp4", max_frames=n + 2)
    drv = frames[:n]
    t = time.perf_counter()
    drv_faces = track_faces(drv, progress=False)
    track_s = (time.perf_counter() - t) / n
    variants = {
        "itself": drv,
        "shifted 8,4 px": shift(drv, 8, 4),
        "drifting 2 px/frame": np.stack([shift(f[None], 2 * i, 0)[0] for i, f in enumerate(drv)]),
        "delayed 2 frames": frames[2 : n + 2],
        "frozen first frame": np.repeat(drv[:1], n, axis=0),
        "mirrored": drv[:, :, ::-1].copy(),
        "blurred (Gaussian sigma 1.5 px)": np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in drv]),
    }
    print(f"## The driving clip tps__driving.mp4 (first {n} frames, 410x412) against changed copies\n")
    print("| result | dK | dK smooth 3 | dK_image | LMD | LMD_aligned | mouth_error | eye_error | PSNR dB | SSIM |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, res in variants.items():
        faces = drv_faces if name == "itself" else track_faces(res, progress=False)
        r = evaluate_video(res, drv, ground_truth=drv, result_faces=faces, driving_faces=drv_faces, learned=False, progress=False)
        s = r.summary
        sm = evaluate_video(res, drv, result_faces=faces, driving_faces=drv_faces, learned=False, smooth=3, progress=False)
        print(
            f"| {name} | {s['dK']:.4f} | {sm.summary['dK']:.4f} | {s['dK_image']:.5f} | {s['LMD']:.4f} | {s['LMD_aligned']:.4f} | "
            f"{s['mouth_error']:.4f} | {s['eye_error']:.4f} | {s['PSNR']:.1f} | {s['SSIM']:.3f} |"
        )
    scale = r.info["driving_face_scale_px"]
    print(f"\nFace scale (median outer-eye-corner distance): {scale:.1f} px. Tracking: {1000 * track_s:.0f} ms/frame.")
    t = time.perf_counter()
    src = read_image(DATA / "portraits" / "face_recognition__obama.jpg")
    r = evaluate_video(drv, drv, src, result_faces=drv_faces, driving_faces=drv_faces, learned=False, progress=False)
    id_s = (time.perf_counter() - t) / n
    own = evaluate_video(drv, drv, drv[0], result_faces=drv_faces, driving_faces=drv_faces, learned=False, progress=False)
    print(f"ID of the clip to its own first frame {own.summary['ID']:.3f}, to obama.jpg {r.summary['ID']:.3f}; ID costs {1000 * id_s:.0f} ms/frame.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    args = parser.parse_args()
    identity_table()
    clip_table(args.frames)


if __name__ == "__main__":
    main()
