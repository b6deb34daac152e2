import logging

import numpy as np
import pytest
from PIL import Image

from video2stylegan.errors import MediaError
from video2stylegan.io import read_image, write_image


def _pattern(h=48, w=64):
    yy, xx = np.mgrid[:h, :w]
    return np.stack([xx * 4 % 256, yy * 5 % 256, (xx + yy) % 256], -1).astype(np.uint8)


def test_png_round_trip_is_exact(tmp_path):
    img = _pattern()
    path = write_image(tmp_path / "a.png", img)
    back = read_image(path)
    assert back.dtype == np.uint8 and back.shape == (48, 64, 3)
    np.testing.assert_array_equal(back, img)
    # No temporary file left beside it.
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_jpeg_round_trip_is_close(tmp_path):
    img = np.full((32, 32, 3), (200, 40, 90), np.uint8)
    back = read_image(write_image(tmp_path / "a.jpg", img))
    assert np.abs(back.astype(int) - img).mean() < 3


def test_grey_and_alpha_images_become_rgb(tmp_path):
    Image.fromarray(np.full((10, 12), 77, np.uint8), "L").save(tmp_path / "g.png")
    grey = read_image(tmp_path / "g.png")
    assert grey.shape == (10, 12, 3) and (grey == 77).all()
    rgba = np.zeros((10, 12, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :6, 3] = 255  # left half opaque red, right half transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = read_image(tmp_path / "a.png")
    assert tuple(out[0, 0]) == (255, 0, 0)
    assert tuple(out[0, 11]) == (255, 255, 255)  # composited over white


def test_exif_orientation_is_applied(tmp_path):
    img = Image.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img.save(tmp_path / "r.jpg", exif=exif)
    assert read_image(tmp_path / "r.jpg").shape == (40, 20, 3)


def test_missing_and_non_image_files_name_the_file(tmp_path):
    with pytest.raises(MediaError, match="nope.png"):
        read_image(tmp_path / "nope.png")
    bad = tmp_path / "notes.jpg"
    bad.write_text("this is not a picture")
    with pytest.raises(MediaError, match="notes.jpg"):
        read_image(bad)
    with pytest.raises(MediaError, match="not a file"):
        read_image(tmp_path)


def test_truncated_image_is_a_media_error(tmp_path):
    write_image(tmp_path / "full.png", _pattern(200, 200))
    data = (tmp_path / "full.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match="cut.png"):
        read_image(tmp_path / "cut.png")


def test_huge_image_is_downscaled_with_warning(tmp_path, caplog):
    # 10000 x 10000 JPEG (compresses to a small file); read with the default cap.
    big = Image.new("RGB", (10000, 10000), (10, 120, 230))
    big.save(tmp_path / "huge.jpg", quality=50)
    del big
    with caplog.at_level(logging.WARNING, logger="video2stylegan.io.images"):
        img = read_image(tmp_path / "huge.jpg")
    assert img.shape == (4096, 4096, 3)
    assert np.abs(img[2000, 2000].astype(int) - (10, 120, 230)).max() <= 4
    assert "downscaled" in caplog.text and "10000x10000" in caplog.text
    small = read_image(tmp_path / "huge.jpg", max_side=500)
    assert small.shape == (500, 500, 3)


def test_write_into_missing_folder_or_bad_suffix(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        write_image(tmp_path / "no" / "dir.png", _pattern())
    with pytest.raises(MediaError, match="suffix"):
        write_image(tmp_path / "a.unknownext", _pattern())


def test_16_bit_png_is_scaled_to_8_bit(tmp_path):
    ramp = (np.arange(256, dtype=np.uint16)[None, :].repeat(4, 0) * 257)  # 0..65535
    Image.fromarray(ramp).save(tmp_path / "deep.png")
    img = read_image(tmp_path / "deep.png")
    assert img.shape == (4, 256, 3)
    np.testing.assert_array_equal(img[0, :, 0], np.arange(256))


def test_check_image_decodes_without_keeping_and_names_the_role(tmp_path):
    from video2stylegan.io.images import check_image

    rng = np.random.default_rng(1)
    noisy = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)  # noise: the JPEG's data fills most of the file
    jpeg = write_image(tmp_path / "photo.jpg", noisy)
    assert check_image(jpeg) == (160, 120)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(jpeg.read_bytes()[: jpeg.stat().st_size * 3 // 4])
    with pytest.raises(MediaError, match=rf"^source image: image {cut} could not be decoded \(image file is "
                                         r"truncated.*\); the file may be truncated\.$"):
        check_image(cut, "source image")
    (tmp_path / "notes.png").write_text("not a picture")
    for path, message in ((tmp_path / "nope.png", "image file {} does not exist"),
                          (tmp_path, "{} is not a file (a directory?)"),
                          (tmp_path / "notes.png", "{} is not an image Pillow can read")):
        with pytest.raises(MediaError) as info:
            check_image(path, "portrait")
        assert str(info.value).startswith("portrait: " + message.format(path))
