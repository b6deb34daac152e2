"""video2stylegan: face reenactment in the latent spaces of a pretrained StyleGAN3."""

from video2stylegan.errors import (
    CheckpointError,
    DownloadError,
    GenerationError,
    InvalidOptionError,
    MediaError,
    NoFaceError,
    OutputError,
    Video2StyleGANError,
)

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "DownloadError",
    "GenerationError",
    "InvalidOptionError",
    "MediaError",
    "NoFaceError",
    "OutputError",
    "Video2StyleGANError",
    "load_generator",
    "reenact",
    "__version__",
]


def __getattr__(name):
    # Imported lazily so that `import video2stylegan` stays cheap (no torch import).
    if name == "load_generator":
        from video2stylegan.networks.loading import load_generator

        return load_generator
    if name == "reenact":
        from video2stylegan.pipeline.run import reenact

        return reenact
    raise AttributeError(f"module 'video2stylegan' has no attribute {name!r}")
