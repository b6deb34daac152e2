"""`video2stylegan faces IMAGE_OR_VIDEO --out DIR`: face analysis of a photo or a clip.

Writes into DIR:

* ``aligned.png`` (image) or ``aligned.mp4`` (video, with ``--frames`` also
  ``aligned/000000.png`` ...): the FFHQ-aligned crops;
* ``landmarks.png`` (image) or ``landmarks.mp4`` (video): the input with the
  68 landmarks, the face box and the FFHQ crop square drawn on it;
* ``faces.json``: per frame the box, score, landmarks, head pose, canonical
  parameters and the alignment transform.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shutil
from pathlib import Path

import cv2
import numpy as np

from video2stylegan import faces
from video2stylegan.cli.options import add_detector_options, bounded_int, face_choice_type
from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io import iter_frames, probe_video, read_image, write_image, write_video
from video2stylegan.io.outputs import check_output, removed_on_failure

#: What ``--out`` receives for an image and for a video (``--frames`` adds the folder ``aligned/``).
IMAGE_FILES = ("aligned.png", "landmarks.png", "faces.json", ".faces.json.tmp")
VIDEO_FILES = ("aligned.mp4", "landmarks.mp4", "faces.json", ".faces.json.tmp")
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".gif"}
#: Sides of the aligned crops: 8 px (align_face's least) to 4096 px, four times FFHQ's 1024 (a 4096 px
#: crop is 48 MB; 100000 px asked for a 30 GB image).
SIZE_RANGE = (8, 4096)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "faces",
        help="detect, align and measure the face in an image or video",
        description=(
            "Detect the face in IMAGE_OR_VIDEO and write FFHQ-aligned crops, a landmark "
            "overlay and a JSON file with landmarks, head pose and canonical parameters."
        ),
    )
    p.add_argument("input", metavar="IMAGE_OR_VIDEO", help="a photo (jpg, png, ...) or a video (mp4, ...)")
    p.add_argument("--out", required=True, type=Path, metavar="DIR", help="output folder (created)")
    p.add_argument("--size", type=bounded_int(*SIZE_RANGE), default=1024,
                   help=f"side of the aligned crops in pixels, {SIZE_RANGE[0]} to {SIZE_RANGE[1]} (default 1024)")
    add_detector_options(p)
    p.add_argument(
        "--face", default=None, metavar="largest|previous|INDEX", type=face_choice_type,
        help="which face when there are several: largest (images' default), previous (videos' "
        "default: nearest the previous frame's face) or an index, 0 = largest",
    )
    p.add_argument(
        "--missing-faces", "--on-missing", dest="on_missing", choices=["interpolate", "fail"], default="interpolate",
        help="video frames without a face: interpolate neighbours' landmarks (default) or fail",
    )
    p.add_argument("--smooth", type=int, default=3, help="temporal window of the crop smoothing in frames (1 = off)")
    p.add_argument("--max-frames", type=bounded_int(1), default=None, help="only the first N frames of a video")
    p.add_argument("--frames", action="store_true", help="also write each aligned video frame as a PNG")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _face_choice(choice, default: str):
    return default if choice is None else choice


def draw_overlay(image: np.ndarray, face, quad: np.ndarray | None = None) -> np.ndarray:
    """The image with the landmarks (green dots), box (blue) and crop square (red) drawn on it."""
    out = np.ascontiguousarray(image.copy())
    scale = max(1, int(round(max(image.shape[:2]) / 400)))
    l, t, r, b = (int(round(v)) for v in face.box)
    cv2.rectangle(out, (l, t), (r, b), (60, 120, 255), scale, cv2.LINE_AA)
    if quad is not None:
        cv2.polylines(out, [np.round(quad).astype(np.int32).reshape(-1, 1, 2)], True, (255, 60, 60), scale, cv2.LINE_AA)
    colour = (255, 200, 0) if getattr(face, "interpolated", False) else (0, 255, 0)
    for x, y in face.landmarks:
        cv2.circle(out, (int(round(x)), int(round(y))), scale + 1, colour, -1, cv2.LINE_AA)
    return out


def _record(index, face, shape, aligned) -> dict:
    rec = {"frame": index}
    rec.update(face.to_dict())
    rec["pose"] = faces.head_pose(face, shape).to_dict()
    rec["canonical"] = faces.canonical_params(face, shape).to_dict()
    rec["alignment"] = aligned.to_dict()
    return rec


def _run_image(args, path: Path, out: Path) -> dict:
    image = read_image(path)
    face = faces.detect_face(
        image, _face_choice(args.face, "largest"), detector=args.detector,
        upsample=args.upsample, source=str(path),
    )
    aligned = faces.align_face(image, face, args.size)
    write_image(out / "aligned.png", aligned.image)
    write_image(out / "landmarks.png", draw_overlay(image, face, aligned.quad))
    return {
        "input": str(path),
        "kind": "image",
        "width": int(image.shape[1]),
        "height": int(image.shape[0]),
        "faces": [_record(None, face, image.shape, aligned)],
    }


def _run_video(args, path: Path, out: Path) -> dict:
    info = probe_video(path)
    tracked = faces.track_video(
        path, max_frames=args.max_frames, choose=_face_choice(args.face, "previous"),
        detector=args.detector, upsample=args.upsample, on_missing=args.on_missing,
        progress=not args.no_progress,
    )
    quads = tracked.smooth(np.stack([faces.ffhq_quad(lm) for lm in tracked.landmarks]), args.smooth)  # by shot
    records = []
    frames_dir = out / "aligned"
    if args.frames:
        frames_dir.mkdir(exist_ok=True)

    def aligned_frames():
        for i, frame in enumerate(iter_frames(path, max_frames=args.max_frames)):
            face = tracked.face(i)
            al = faces.align_face(frame, face, args.size, quad=quads[i])
            records.append(_record(i, face, frame.shape, al))
            overlays.append(draw_overlay(frame, face, quads[i]))
            if args.frames:
                write_image(frames_dir / f"{i:06d}.png", al.image)
            yield al.image

    overlays: list[np.ndarray] = []
    write_video(out / "aligned.mp4", aligned_frames(), info.fps)
    write_video(out / "landmarks.mp4", overlays, info.fps)
    return {
        "input": str(path),
        "kind": "video",
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "num_frames": len(tracked),
        "missing_frames": tracked.missing,
        "cuts": tracked.cuts,  # first frames of new shots
        "partial_frames": tracked.partial_frames,  # the face leaves the picture
        "smooth_window": args.smooth,
        "faces": records,
    }


def run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    path = Path(args.input)
    if not path.exists():
        raise MediaError(f"input {path} does not exist; check the path.")
    if args.smooth < 1:
        raise InvalidOptionError(f"--smooth must be at least 1 frame, got {args.smooth}")
    out: Path = args.out
    video = path.suffix.lower() in VIDEO_SUFFIXES
    check_output(out, {"the input": path}, what="--out", kind="dir", contents=VIDEO_FILES if video else IMAGE_FILES)
    # What this run creates (the folders, or in an existing folder the files it adds) is removed again
    # when it fails: a bad input or a failed write leaves nothing behind.
    with removed_on_failure(out, (*(VIDEO_FILES if video else IMAGE_FILES), "aligned")):
        _analyse(args, path, out, video)


def _analyse(args: argparse.Namespace, path: Path, out: Path, video: bool) -> None:
    """Analyse the image or video and write the results into ``out``."""
    if video:
        result = _run_video(args, path, out)
    else:
        result = _run_image(args, path, out)
    result["conventions"] = {
        "coordinates": "pixels (x right, y down) of the input, integer values at pixel centres",
        "pose": "degrees; yaw>0 head turned to its left (nose to image right), pitch>0 chin up, "
        "roll>0 counter-clockwise as seen in the image",
        "canonical": "tx, ty: eye-centre offset from the FFHQ eye centre (0.5, 0.475) in fractions "
        "of image width/height, positive right/down; r: radians, counter-clockwise as seen",
        "alignment.matrix": "2x3 affine from input pixels to aligned-crop pixels",
    }
    tmp = out / ".faces.json.tmp"
    text = json.dumps(result, indent=1)
    # Keep number lists (points, boxes, matrix rows) on one line each.
    text = re.sub(
        r"\[\s*([-+0-9.eE]+(?:,\s*[-+0-9.eE]+)*)\s*\]",
        lambda m: "[" + ", ".join(v.strip() for v in m.group(1).split(",")) + "]",
        text,
    )
    tmp.write_text(text)
    tmp.replace(out / "faces.json")
    n = len(result["faces"])
    print(f"wrote {out}/faces.json ({n} frame{'s' if n != 1 else ''}), aligned crops and landmark overlay")
