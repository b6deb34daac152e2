"""The reenactment pipeline: inputs, embedding, calibration, rendering, output.

``video2stylegan.reenact(...)`` (this package's :func:`reenact`) runs it from
files to a video; the CLI ``video2stylegan reenact`` mirrors its arguments.
"""

from video2stylegan.pipeline.embedding import EMBEDDING_PRESETS, EmbeddingOptions
from video2stylegan.pipeline.run import DEFAULT_NETWORK, ReenactResult, reenact

__all__ = ["DEFAULT_NETWORK", "EMBEDDING_PRESETS", "EmbeddingOptions", "ReenactResult", "reenact"]
