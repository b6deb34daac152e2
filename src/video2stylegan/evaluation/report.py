"""A single-file HTML report: metric tables, plots and strips of frames.

:func:`write_html_report` writes one self-contained ``.html`` file: every
image (plots, frames) is embedded as a base64 PNG ``data:`` URI and the style
sheet is inline, so the file can be mailed or attached to an issue and opens
anywhere without other files or network access.

The three kinds of content:

* :class:`Table` - a title, a header row and rows of values (floats are
  printed with 4 significant digits, ``nan`` as ``n/a``, ``None`` as an empty cell);
* :class:`Plot` - a title and an image: PNG bytes, a PNG file, an RGB array,
  or a matplotlib figure;
* :class:`Strip` - a grid of frames: one column per role (reference,
  driving, result, ground truth, ...), one row per sampled frame.

Tuples in the same field order are accepted wherever these are expected.
:func:`evaluation_tables` and :func:`clip_strip` build the content of a
single ``video2stylegan evaluate`` run.
"""

from __future__ import annotations

import base64
import html
import io
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from video2stylegan.errors import InvalidOptionError, MediaError
from video2stylegan.evaluation.evaluate import METRICS
from video2stylegan.io.atomic import atomic_output
from video2stylegan.metrics.learned import MetricUnavailable

__all__ = [
    "Plot",
    "Strip",
    "Table",
    "clip_strip",
    "evaluation_tables",
    "figure_png",
    "format_value",
    "png_bytes",
    "render_html",
    "sample_indices",
    "write_html_report",
]


@dataclass
class Table:
    """``rows``: lists of cells (str, int, float or ``None``), as long as ``header``."""

    title: str
    header: list
    rows: list
    note: str = ""


@dataclass
class Plot:
    """``image``: PNG bytes, a path to a PNG file, an ``(H, W, 3)`` uint8 array or a matplotlib figure."""

    title: str
    image: object
    note: str = ""


@dataclass
class Strip:
    """``columns``: the column labels; ``rows``: ``(label, [image or None per column])``.

    Images are ``(H, W, 3)`` uint8 arrays, shown scaled to ``height`` pixels.
    """

    title: str
    columns: list
    rows: list = field(default_factory=list)
    height: int = 128


def format_value(value) -> str:
    """How a cell is printed: floats with 4 significant digits, ``inf`` as ``inf``, ``nan`` (not measured) as
    ``n/a``, nothing for ``None`` (does not apply)."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        x = float(value)
        if math.isnan(x):
            return "n/a"
        if math.isinf(x):
            return "inf" if x > 0 else "-inf"
        if x == 0:
            return "0"
        return f"{x:.4g}" if abs(x) >= 1e-3 else f"{x:.3e}"
    return str(value)


def figure_png(figure, dpi: int = 100) -> bytes:
    """A matplotlib ``Figure`` rendered to PNG bytes with the Agg backend (no pyplot, no display)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)  # attaches itself to the figure
    buf = io.BytesIO()
    figure.savefig(buf, format="png", dpi=dpi)
    return buf.getvalue()


def _resize_to_height(image: np.ndarray, height: int) -> np.ndarray:
    from PIL import Image

    h, w = image.shape[:2]
    if h == height:
        return image
    width = max(1, int(round(w * height / h)))
    resample = Image.Resampling.LANCZOS if height < h else Image.Resampling.BICUBIC
    return np.asarray(Image.fromarray(image).resize((width, height), resample))


def png_bytes(image, height: int | None = None) -> bytes:
    """PNG bytes of ``image`` (see :class:`Plot` for the accepted kinds), arrays scaled to ``height`` rows."""
    if isinstance(image, (bytes, bytearray)):
        data = bytes(image)
        if not data.startswith(b"\x89PNG"):
            raise InvalidOptionError("report image bytes are not a PNG file; pass PNG bytes, a .png path or an array")
        return data
    if isinstance(image, (str, os.PathLike)):
        path = Path(image)
        if not path.is_file():
            raise MediaError(f"report image {path} does not exist; write the plot before the report")
        return png_bytes(path.read_bytes())
    if hasattr(image, "savefig") and hasattr(image, "canvas"):
        return figure_png(image)
    from PIL import Image

    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=-1)
    if arr.ndim != 3 or arr.shape[-1] not in (3, 4) or arr.dtype != np.uint8:
        raise InvalidOptionError(f"a report image must be an (H, W, 3) uint8 array, got {arr.dtype} {arr.shape}")
    if height is not None:
        arr = _resize_to_height(np.ascontiguousarray(arr), int(height))
    buf = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(arr)).save(buf, format="PNG")
    return buf.getvalue()


def _img(image, alt: str, height: int | None = None) -> str:
    data = base64.b64encode(png_bytes(image, height)).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _coerce(item, cls):
    if isinstance(item, cls):
        return item
    if isinstance(item, (tuple, list)):
        return cls(*item)
    raise InvalidOptionError(f"expected a {cls.__name__} or a tuple of its fields, got {type(item).__name__}")


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; max-width: 1400px; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.8em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: right; }
th { background: #eee; } td:first-child, th:first-child { text-align: left; }
table.strip td, table.strip th { text-align: center; padding: 2px; }
table.strip img { display: block; }
figure { margin: 1em 0; } figcaption { font-size: 0.9em; color: #555; }
p.note { font-size: 0.9em; color: #555; }
"""


def _table_html(table: Table) -> str:
    out = [f"<h3>{html.escape(table.title)}</h3>", "<table>", "<tr>"]
    out += [f"<th>{html.escape(str(h))}</th>" for h in table.header]
    out.append("</tr>")
    for row in table.rows:
        if len(row) != len(table.header):
            raise InvalidOptionError(
                f"table {table.title!r}: a row has {len(row)} cells but the header {len(table.header)}"
            )
        out.append("<tr>" + "".join(f"<td>{html.escape(format_value(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    if table.note:
        out.append(f'<p class="note">{html.escape(table.note)}</p>')
    return "\n".join(out)


def _strip_html(strip: Strip) -> str:
    out = [f"<h3>{html.escape(strip.title)}</h3>", '<table class="strip">', "<tr><th></th>"]
    out += [f"<th>{html.escape(str(c))}</th>" for c in strip.columns]
    out.append("</tr>")
    for label, images in strip.rows:
        if len(images) != len(strip.columns):
            raise InvalidOptionError(
                f"strip {strip.title!r}: row {label!r} has {len(images)} images for {len(strip.columns)} columns"
            )
        cells = []
        for col, image in zip(strip.columns, images):
            cells.append("<td></td>" if image is None else f"<td>{_img(image, f'{col}, {label}', strip.height)}</td>")
        out.append(f"<tr><th>{html.escape(str(label))}</th>{''.join(cells)}</tr>")
    out.append("</table>")
    return "\n".join(out)


def render_html(title: str, tables: Sequence = (), plots: Sequence = (), strips: Sequence = (),
                notes: Sequence[str] = ()) -> str:
    """The report as one HTML string (see :func:`write_html_report`)."""
    tables = [_coerce(t, Table) for t in tables]
    plots = [_coerce(p, Plot) for p in plots]
    strips = [_coerce(s, Strip) for s in strips]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    parts += [f'<p class="note">{html.escape(n)}</p>' for n in notes]
    if tables:
        parts.append("<h2>Metrics</h2>")
        parts += [_table_html(t) for t in tables]
    if plots:
        parts.append("<h2>Plots</h2>")
        for p in plots:
            caption = html.escape(p.title) + (f" - {html.escape(p.note)}" if p.note else "")
            parts.append(f"<figure>{_img(p.image, p.title)}<figcaption>{caption}</figcaption></figure>")
    if strips:
        parts.append("<h2>Frames</h2>")
        parts += [_strip_html(s) for s in strips]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_html_report(path, title: str, tables: Sequence = (), plots: Sequence = (), strips: Sequence = (),
                      notes: Sequence[str] = ()) -> Path:
    """Write the report to ``path`` (one self-contained HTML file) and return the path.

    ``tables``: :class:`Table` items; ``plots``: :class:`Plot` items;
    ``strips``: :class:`Strip` items; ``notes``: paragraphs under the title.
    The folder must exist; the file is replaced atomically.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise MediaError(f"cannot write the report {path}: the folder {folder} does not exist; create it first")
    text = render_html(title, tables, plots, strips, notes)
    with atomic_output(path, suffix=".tmp", what="report") as tmp:  # MediaError naming path; no .tmp left
        tmp.write_text(text, encoding="utf-8")
    return path


def evaluation_tables(report) -> list[Table]:
    """The summary of an :class:`~video2stylegan.evaluation.EvaluationReport` as one :class:`Table`."""
    rows = []
    for name, value in report.summary.items():
        desc, unit, better = METRICS[name]
        shown = f"unavailable: {value.reason}" if isinstance(value, MetricUnavailable) else value
        rows.append([name, shown, unit, better, desc])
    info = report.info
    note = (f"Frames compared: {info.get('frames')} (result {info.get('result_frames')}, "
            f"driving {info.get('driving_frames')}).")
    if report.notes:
        note += " " + " ".join(report.notes)
    return [Table("Scores", ["metric", "value", "unit", "better", "definition"], rows, note)]


def sample_indices(n: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``0..n-1`` (first and last included)."""
    if n <= 0:
        return []
    count = max(1, min(int(count), n))
    if count == 1:
        return [0]
    return sorted({int(round(i * (n - 1) / (count - 1))) for i in range(count)})


def clip_strip(title: str, clips: dict, count: int = 4, height: int = 128, reference=None) -> Strip:
    """A :class:`Strip` of ``count`` evenly spaced frames of each clip in ``clips``
    (label -> ``(T, H, W, 3)`` uint8 frames), with an optional still ``reference``
    image as the first column."""
    columns = (["reference"] if reference is not None else []) + list(clips)
    n = min((len(c) for c in clips.values()), default=0)
    rows = []
    for i in sample_indices(n, count):
        images = ([reference] if reference is not None else []) + [np.asarray(c[i]) for c in clips.values()]
        rows.append((f"frame {i}", images))
    return Strip(title, columns, rows, height)
