"""compose_frames (pipeline/output.py): the paste-back keeps the source photo's full resolution."""

from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import skimage.data

from video2stylegan.errors import InvalidOptionError
from video2stylegan.faces import align_face, blend_mask, detect_face, seam_error
from video2stylegan.pipeline.output import compose_frames


@pytest.fixture(scope="module")
def big_source():
    """The astronaut at 1250x1000 (not square, 2.5x her file): a photo far larger than a 256 crop."""
    photo = cv2.resize(skimage.data.astronaut()[:, 12:], (1250, 1250), interpolation=cv2.INTER_CUBIC)[:1000]
    face = detect_face(photo)
    return SimpleNamespace(image=photo, face=face, aligned=align_face(photo, face, 256))


def _other_face(source):
    crop = source.aligned.image[:, ::-1].astype(np.float32) * np.array([1.2, 1.0, 0.8]) + 15
    return np.clip(crop, 0, 255).astype(np.uint8)


def test_paste_back_output_is_the_full_resolution_photo(big_source):
    crops = [big_source.aligned.image, _other_face(big_source)]
    frames = list(compose_frames(crops, source=big_source, paste_back=True))
    photo = big_source.image
    assert [f.shape for f in frames] == [photo.shape] * 2  # (1000, 1250, 3), not the crop's 256
    # The unchanged crop lands in place (measured 43.6 dB inside the face).
    inside = blend_mask(big_source.aligned, mode="face") > 0.99
    mse = ((frames[0].astype(float) - photo.astype(float)) ** 2)[inside].mean()
    assert 10 * np.log10(255.0**2 / mse) > 32
    # Away from the face the photo's own pixels come through untouched: nothing was
    # resampled to the crop's size and back.
    assert np.array_equal(frames[1][:, :150], photo[:, :150])
    # And it is the seamless paste, not the old square.
    mask = blend_mask(big_source.aligned, mode="face")
    assert seam_error(frames[1], photo, mask) < 0.08


def test_square_blend_is_still_selectable_and_side_by_side_uses_the_photo_height(big_source):
    crop = _other_face(big_source)
    square = next(compose_frames([crop], source=big_source, paste_back=True, blend="square"))
    assert seam_error(square, big_source.image, blend_mask(big_source.aligned, mode="crop")) > 0.08
    driving = np.zeros((1, 300, 300, 3), np.uint8)
    sbs = next(compose_frames([crop], source=big_source, driving=driving, paste_back=True, side_by_side=True))
    assert sbs.shape[0] == 1000 and sbs.shape[1] == 1250 + 1000 + 1250
    with pytest.raises(InvalidOptionError):
        next(compose_frames([crop], source=big_source, paste_back=True, blend="poisson"))
