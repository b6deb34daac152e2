"""The single-file HTML report: tables, inline images, no external references."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
from PIL import Image

from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.evaluation.report import (
    Plot,
    Strip,
    Table,
    clip_strip,
    evaluation_tables,
    format_value,
    png_bytes,
    sample_indices,
    write_html_report,
)


def _frames(n, size=32, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


def _inline_images(text):
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def test_format_value():
    assert format_value(0.123456) == "0.1235"
    assert format_value(12345.6) == "1.235e+04"
    assert format_value(float("inf")) == "inf" and format_value(float("-inf")) == "-inf"
    assert format_value(float("nan")) == "n/a" and format_value(None) == ""
    assert format_value(3) == "3" and format_value(0.0) == "0" and format_value(2.5e-5) == "2.500e-05"
    assert format_value("skipped: x<y") == "skipped: x<y"


def test_report_is_one_file_with_values_and_inline_images(tmp_path):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(3, 2))
    fig.subplots().plot([0, 1, 2], [1, 0, 1])
    arr_plot = np.full((40, 60, 3), 200, np.uint8)
    png_file = tmp_path / "plot.png"
    png_file.write_bytes(png_bytes(arr_plot))
    frames = _frames(5)
    strip = Strip("case A", ["reference", "result"], [("frame 0", [frames[0], frames[1]]),
                                                      ("frame 4", [frames[0], None])], height=64)
    tables = [Table("Mean", ["variant", "PSNR", "SSIM"], [["full <b>", 23.456789, 0.91234], ["gt", float("inf"), 1.0]],
                    note="floor & more")]
    out = write_html_report(tmp_path / "r.html", "Bench <1>", tables, [Plot("curves", fig), ("bars", png_file),
                            Plot("raw", arr_plot)], [strip], notes=["untrained network"])
    assert out == tmp_path / "r.html" and list(tmp_path.glob("*.html")) == [out]
    text = out.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    for value in ("23.46", "0.9123", ">inf<", "full &lt;b&gt;", "floor &amp; more", "Bench &lt;1&gt;",
                  "untrained network"):
        assert value in text, value
    images = _inline_images(text)
    assert len(images) == 3 + 3  # three plots, three non-empty strip cells
    assert all(b.startswith(b"\x89PNG") for b in images)
    # strip cells are scaled to the strip height; the array plot is embedded pixel-exact
    sizes = [Image.open(io.BytesIO(b)).size for b in images]
    assert sizes[2] == (60, 40) and sizes[3:] == [(64, 64)] * 3
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(images[2])).convert("RGB")), arr_plot)
    # nothing fetched from elsewhere
    assert not re.search(r'(src|href)="(?!data:)', text)
    assert "http://" not in text and "https://" not in text and "<script" not in text
    assert not (tmp_path / "r.html.tmp").exists()


def test_report_errors(tmp_path):
    with pytest.raises(MediaError, match="does not exist"):
        write_html_report(tmp_path / "no" / "r.html", "t")
    with pytest.raises(InvalidOptionError, match="2 cells but the header 3"):
        write_html_report(tmp_path / "r.html", "t", [Table("x", ["a", "b", "c"], [[1, 2]])])
    with pytest.raises(InvalidOptionError, match="not a PNG"):
        png_bytes(b"GIF89a")
    with pytest.raises(MediaError, match="does not exist"):
        png_bytes(tmp_path / "missing.png")
    with pytest.raises(InvalidOptionError, match="uint8"):
        png_bytes(np.zeros((4, 4, 3), np.float32))


def test_sample_indices_and_clip_strip():
    assert sample_indices(10, 4) == [0, 3, 6, 9]
    assert sample_indices(3, 4) == [0, 1, 2] and sample_indices(1, 4) == [0] and sample_indices(0, 4) == []
    drv, res = _frames(10, seed=1), _frames(8, seed=2)
    ref = _frames(1, seed=3)[0]
    s = clip_strip("frames", {"driving": drv, "result": res}, count=3, reference=ref)
    assert s.columns == ["reference", "driving", "result"]
    assert [label for label, _ in s.rows] == ["frame 0", "frame 4", "frame 7"]  # over the shorter clip
    np.testing.assert_array_equal(s.rows[1][1][2], res[4])
    assert s.rows[2][1][0] is ref


def test_evaluation_tables_from_a_report():
    from video2stylegan.evaluation import EvaluationReport
    from video2stylegan.metrics.learned import MetricUnavailable

    rep = EvaluationReport(summary={"dK": 0.0125, "FID": MetricUnavailable("FID", "no weights")},
                           info={"frames": 4, "result_frames": 4, "driving_frames": 5}, notes=["a note"])
    (table,) = evaluation_tables(rep)
    assert table.header[:2] == ["metric", "value"]
    assert table.rows[0][:2] == ["dK", 0.0125] and table.rows[1][1] == "unavailable: no weights"
    assert "Frames compared: 4" in table.note and "a note" in table.note
