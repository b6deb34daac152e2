"""Reading and writing still images as ``uint8`` RGB arrays.

Every image in this package travels as a NumPy array of shape ``(H, W, 3)`` and
dtype ``uint8`` in RGB order (not OpenCV's BGR). Reading never fails on a merely
large image: anything with a side above ``max_side`` is downscaled (with a
logged warning) so that a 10000x10000 photo does not exhaust memory further
down the pipeline.
"""

from __future__ import annotations

import logging
import os
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.io.atomic import atomic_output

log = logging.getLogger(__name__)

DEFAULT_MAX_SIDE = 4096

# Pillow refuses images above this many pixels (a decompression-bomb guard). We
# accept anything a camera or scanner plausibly makes and downscale it at once.
_MAX_PIXELS = 400_000_000


def _to_rgb(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode to 8-bit RGB (alpha is composited over white)."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit greyscale: scale the used range of 16 bits down to 8.
        arr = np.asarray(img, dtype=np.float64)
        peak = 65535.0 if arr.max() > 255 else 255.0
        arr = np.clip(arr / peak * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return img.convert("RGB")


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"image file {path} does not exist; check the path.")
    if not path.is_file():
        raise MediaError(f"{path} is not a file (a directory?); give the path of an image file.")


@contextmanager
def _decoding(path: Path):
    """Pillow's limits for reading ``path``, and its failures as :class:`MediaError` naming the file."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            old_limit = Image.MAX_IMAGE_PIXELS
            Image.MAX_IMAGE_PIXELS = _MAX_PIXELS
            try:
                yield
            finally:
                Image.MAX_IMAGE_PIXELS = old_limit
    except UnidentifiedImageError:
        raise MediaError(
            f"{path} is not an image Pillow can read (is it a video, or a corrupt file?); "
            "give a JPEG, PNG, WebP, BMP or TIFF file."
        ) from None
    except Image.DecompressionBombError:
        raise MediaError(
            f"image {path} has more than {_MAX_PIXELS} pixels; downscale it before use."
        ) from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise MediaError(f"image {path} could not be decoded ({exc}); the file may be truncated.") from None


def _draft(img: Image.Image, max_side: int | None) -> None:
    """For JPEG, let the decoder drop resolution by a power of two before the full-size pixels exist."""
    if max_side is not None and max(img.size) > max_side:
        scale = max_side / max(img.size)
        img.draft("RGB", (int(img.size[0] * scale) + 1, int(img.size[1] * scale) + 1))


def check_image(path: str | os.PathLike, what: str = "image", max_side: int = DEFAULT_MAX_SIDE) -> tuple[int, int]:
    """``(width, height)`` of an image file once it is known to decode, as :func:`read_image` would read it.

    The pixels are decoded (a truncated file fails here, as it would in :func:`read_image`) but
    neither rotated, converted nor scaled. :class:`MediaError` naming ``what`` and the file otherwise.
    """
    path = Path(path)
    try:
        _check_file(path)
        with _decoding(path), Image.open(path) as img:
            size = img.size
            _draft(img, max_side)
            img.load()
    except MediaError as exc:
        raise MediaError(f"{what}: {exc}") from None
    return int(size[0]), int(size[1])


def read_image(path: str | os.PathLike, max_side: int = DEFAULT_MAX_SIDE) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` ``uint8`` RGB array.

    The EXIF orientation tag is applied, so phone photos come out upright.
    Greyscale and palette images are expanded to RGB; transparency is composited
    over white. An image whose longer side exceeds ``max_side`` pixels is
    downscaled (area averaging) to that side and a warning is logged; pass
    ``max_side=None`` to keep the full size.

    Raises :class:`MediaError` (naming the file) when the file is missing, is
    not an image, or is truncated.
    """
    path = Path(path)
    if max_side is not None and max_side < 1:
        raise InvalidOptionError(f"max_side must be a positive number of pixels, got {max_side}")
    _check_file(path)
    with _decoding(path), Image.open(path) as img:
        original_size = img.size
        _draft(img, max_side)
        img = ImageOps.exif_transpose(img)
        img = _to_rgb(img)
        img.load()

    if max_side is not None and max(img.size) > max_side:
        w, h = img.size
        scale = max_side / max(w, h)
        new_size = (max(1, round(w * scale)), max(1, round(h * scale)))
        log.warning(
            "image %s is %dx%d, larger than the maximum side %d; downscaled to %dx%d",
            path, original_size[0], original_size[1], max_side, new_size[0], new_size[1],
        )
        img = img.resize(new_size, Image.Resampling.BOX if hasattr(Image, "Resampling") else Image.BOX)
    arr = np.asarray(img, dtype=np.uint8)
    if arr.ndim != 3 or arr.shape[2] != 3:  # pragma: no cover - _to_rgb guarantees this
        raise MediaError(f"image {path} did not decode to RGB (shape {arr.shape}).")
    return np.ascontiguousarray(arr)


def as_rgb_uint8(image, what: str = "image") -> np.ndarray:
    """Check and convert an array-like to ``(H, W, 3)`` ``uint8``.

    Accepts ``(H, W)`` greyscale (expanded to RGB) and ``(H, W, 4)`` (alpha
    dropped). Float arrays must already be in ``[0, 255]``; they are rounded.
    """
    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] not in (3, 4) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InvalidOptionError(
            f"{what} must be an (H, W, 3) RGB array, got shape {tuple(np.shape(image))}"
        )
    arr = arr[:, :, :3]
    if arr.dtype != np.uint8:
        if arr.dtype == np.bool_:
            arr = arr.astype(np.uint8) * 255
        else:
            arr = np.clip(np.rint(arr.astype(np.float64)), 0, 255).astype(np.uint8)
    return np.ascontiguousarray(arr)


def write_image(path: str | os.PathLike, rgb) -> Path:
    """Write an ``(H, W, 3)`` RGB array (``uint8``) to ``path``; format from the suffix.

    The file is written to a temporary name beside ``path`` and then renamed, so
    an interrupted write never leaves a half image. Returns the path written.
    Raises :class:`MediaError` when the folder is missing or not writable, or the
    suffix names no known image format.
    """
    path = Path(path)
    arr = as_rgb_uint8(rgb)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"cannot write image {path}: folder {folder} does not exist; create it first.")
    ext = path.suffix.lower()
    fmt = Image.registered_extensions().get(ext)
    if fmt is None:
        raise MediaError(
            f"cannot write image {path}: unknown image suffix {path.suffix!r}; use .png or .jpg."
        )
    try:
        with atomic_output(path, what="image") as tmp:
            options = {"quality": 95} if fmt in ("JPEG", "WEBP") else {}
            Image.fromarray(arr, "RGB").save(tmp, format=fmt, **options)
    except OSError as exc:
        raise MediaError(f"cannot write image {path}: {exc}") from None
    return path
