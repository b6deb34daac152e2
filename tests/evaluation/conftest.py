"""The evaluation tests share the metric tests' inputs: a few frames of the real driving clip,
tracked once, and copies of them moved by known amounts (see tests/metrics/conftest.py)."""

from tests.metrics.conftest import DRIFT, FRAMES, SHIFT, driving_clip, shifted, tracked  # noqa: F401
