"""Image and video input/output as ``uint8`` RGB NumPy arrays.

Images are ``(H, W, 3)``; clips are ``(T, H, W, 3)``. Failures raise
:class:`video2stylegan.errors.MediaError` with the file's name.
"""

from video2stylegan.io.images import DEFAULT_MAX_SIDE, as_rgb_uint8, read_image, write_image
from video2stylegan.io.video import VideoInfo, iter_frames, probe_video, read_video, write_video

__all__ = [
    "DEFAULT_MAX_SIDE",
    "VideoInfo",
    "as_rgb_uint8",
    "iter_frames",
    "probe_video",
    "read_image",
    "read_video",
    "write_image",
    "write_video",
]
