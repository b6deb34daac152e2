"""Exceptions raised for user-facing failures.

Every failure a user can cause (a missing file, a face that cannot be found, a
hostile checkpoint, a bad option) raises a subclass of :class:`Video2StyleGANError`
whose message says what went wrong, where, and what to do about it. The CLI
prints these messages without a traceback and exits with status 1.
"""


class Video2StyleGANError(Exception):
    """Base class of every error this package raises on purpose."""


class CheckpointError(Video2StyleGANError):
    """A network file is missing, truncated, hostile or of an unknown layout."""


class DownloadError(Video2StyleGANError):
    """A network could not be downloaded (offline, bad checksum, interrupted)."""


class InvalidOptionError(Video2StyleGANError, ValueError):
    """An argument or option has a value the function cannot use."""


class MediaError(Video2StyleGANError):
    """An image or video cannot be read or written."""


class NoFaceError(Video2StyleGANError):
    """No face was found where one is needed."""


class OutputError(InvalidOptionError, MediaError):
    """An output path would replace an input of the run or a file of the package, or cannot be written.

    Both an option error and a media error, so callers catching either (as they did before the
    output checks of :mod:`video2stylegan.io.outputs` existed) still catch it.
    """


class GenerationError(Video2StyleGANError):
    """A network produced something unusable (non-finite pixels): refused before it is written."""
