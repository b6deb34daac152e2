"""Fixtures of the pipeline tests: the bundled demo files and tiny budgets (``tiny_G`` is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from video2stylegan.pipeline.embedding import EmbeddingOptions


@pytest.fixture(scope="session")
def demo_files():
    from video2stylegan.pipeline.demo import demo_inputs

    return demo_inputs(co_driving=True)


@pytest.fixture
def tiny_budget():
    return EmbeddingOptions(source_steps=3, pti_steps=2, first_frame_steps=3, frame_steps=1, perceptual="fallback")
