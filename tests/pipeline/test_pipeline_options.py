"""The run's settings objects: checked once, on construction, frozen, and what the stages read of them."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch

from video2stylegan.errors import InvalidOptionError
from video2stylegan.pipeline.calibration import CalibrationOptions
from video2stylegan.faces import TrackOptions
from video2stylegan.pipeline.inputs import tracked_face
from video2stylegan.pipeline.options import RunOptions


def test_run_options_store_canonical_values_and_cannot_change():
    options = RunOptions(out="result.mp4", fps=25, max_frames=7, cache_dir="cache", render_batch=3)
    assert options.out == Path("result.mp4") and options.fps == 25.0 and isinstance(options.fps, float)
    assert options.cache.root == Path("cache") and options.cache.projections == Path("cache/projections")
    assert RunOptions(cache_dir=False).cache is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.render_batch = 4


@pytest.mark.parametrize("changes, message", [
    ({"out": "result.avi"}, "the output must be an .mp4 file, got result.avi"),
    ({"max_frames": 0}, "max_frames must be a positive integer, got 0"),
    ({"max_frames": True}, "max_frames must be a positive integer, got True"),
    ({"fps": 500}, "fps must be between 0.1 and 240 frames per second, got 500"),
    ({"render_batch": 0}, "render_batch must be an integer of at least 1, got 0"),
    ({"keep_frames": "yes"}, "keep_frames must be true or false, got 'yes'"),
    ({"cache_dir": 3}, "cache_dir must be a folder, None (the default folder) or False (no cache), got 3"),
    ({"detector": "mtcnn"}, "detector must be one of ('hog', 'cnn'), got 'mtcnn'"),
    ({"on_missing_face": "skip"}, "on_missing must be one of ('interpolate', 'fail'), got 'skip'"),
])
def test_run_options_refuse_bad_values_naming_them(changes, message):
    with pytest.raises(InvalidOptionError) as info:
        RunOptions(**changes)
    assert str(info.value) == message


def test_the_clips_tracking_and_its_cache_words_come_from_the_options():
    assert RunOptions().tracking == TrackOptions() and tracked_face(TrackOptions()) is None
    tracking = RunOptions(face=1, upsample=2, on_missing_face="fail").tracking
    assert tracking == TrackOptions(choose=1, upsample=2, on_missing="fail")
    assert tracked_face(tracking) == {"choose": 1, "detector": "hog", "upsample": 2}
    # what does not change the crops of the frames it tracks does not change the key
    assert tracked_face(TrackOptions(on_missing="fail")) is None


def test_calibration_options_take_a_source_or_the_value_itself():
    reader = torch.nn.Linear(4, 3)
    assert CalibrationOptions(pose_regressor=reader, local_channels={"L3": [0, 1]}).pose_regressor is reader
    with pytest.raises(InvalidOptionError, match="pose regressor source must be one of auto, generator, renderer, "
                                                 "got 'dlib'"):
        CalibrationOptions(pose_regressor="dlib")
    with pytest.raises(InvalidOptionError, match="pose_regressor must be one of .* or a torch module, got function"):
        CalibrationOptions(pose_regressor=lambda images: images)
    with pytest.raises(InvalidOptionError, match=r"local channels must be one of auto, generated, projected or a "
                                                 r"mapping \{layer: channel indices\}, got list"):
        CalibrationOptions(local_channels=[1, 2])
