"""What the ground-truth benchmark writes: ``results.csv``, ``frames.csv``, ``results.md``, PNG plots
and ``report.html``.

Everything here reads a finished :class:`~video2stylegan.evaluation.suite_result.SuiteResult`
and records the written paths in its ``paths``; :func:`~video2stylegan.evaluation.suite.run_suite`
calls :func:`write_outputs`, which calls :func:`write_csvs`, :func:`write_plots`, writes the Markdown
and calls :func:`write_report`, in that order.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import numpy as np

from video2stylegan.evaluation.report import Strip, Table, figure_png, write_html_report
from video2stylegan.evaluation.suite_result import DIFFERENCE_NOTE, GROUND_TRUTH, METRIC_COLUMNS, SuiteResult, file_slug
from video2stylegan.io.atomic import atomic_output

__all__ = ["csv_float", "finite", "write_bytes", "write_csvs", "write_outputs", "write_plots", "write_report",
           "write_text"]


def write_outputs(result: SuiteResult, out_dir: Path, strips: list[Strip]) -> None:
    """Every file of a finished run into ``out_dir``: the CSVs, the plots, ``results.md`` and ``report.html``
    (with ``strips``, the sampled frames of each case)."""
    write_csvs(result, out_dir)
    plots = write_plots(result, out_dir)
    write_text(out_dir / "results.md", result.to_markdown())
    result.paths["results.md"] = out_dir / "results.md"
    write_report(result, out_dir, plots, strips)


def write_text(path: Path, text: str) -> None:
    """Write one file of the benchmark atomically: a full disk or a read-only ``--out-dir`` is a
    :class:`~video2stylegan.errors.MediaError` naming the file, and no temporary file stays behind."""
    with atomic_output(path, what="benchmark file") as tmp:
        tmp.write_text(text)


def write_bytes(path: Path, data: bytes) -> None:
    """:func:`write_text` for binary content (the PNG plots)."""
    with atomic_output(path, what="benchmark plot") as tmp:
        tmp.write_bytes(data)


def write_csvs(result: SuiteResult, out_dir: Path) -> None:
    stages = result.stages()
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case", "variant", "status", "frames"] + list(METRIC_COLUMNS) + ["missing_faces", "embed_psnr",
               "pti_psnr"] + [f"s_per_frame_{file_slug(s)}" for s in stages] + ["reason"])
    for r in result.rows:
        cells = [r["case"], r["variant"], r["status"], r["frames"]]
        cells += [csv_float(r.get(k)) for k in METRIC_COLUMNS] + [r.get("missing_faces", "")]
        cells += [csv_float(r.get("embed_psnr")), csv_float(r.get("pti_psnr"))]
        cells += [csv_float(r["s_per_frame"].get(s)) for s in stages] + [r.get("reason", "")]
        w.writerow(cells)
    write_text(out_dir / "results.csv", buf.getvalue())
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["case", "variant", "frame"] + list(METRIC_COLUMNS))
    for (case, variant), pf in result.per_frame.items():
        for t in range(len(pf["PSNR"])):
            w.writerow([case, variant, t] + [csv_float(pf[k][t]) for k in METRIC_COLUMNS])
    write_text(out_dir / "frames.csv", buf.getvalue())
    result.paths["results.csv"] = out_dir / "results.csv"
    result.paths["frames.csv"] = out_dir / "frames.csv"


def csv_float(x) -> str:
    """A CSV cell: empty for missing/NaN, ``inf``/``-inf``, else 6 significant digits."""
    if x is None:
        return ""
    x = float(x)
    if math.isnan(x):
        return ""
    return ("inf" if x > 0 else "-inf") if math.isinf(x) else f"{x:.6g}"


def finite(values) -> np.ndarray:
    """``values`` as float64 with infinities turned into NaN (for plotting)."""
    v = np.asarray(values, np.float64).copy()
    v[~np.isfinite(v)] = np.nan
    return v


def _metric_axes(height: float, **adjust):
    """A figure with one axis per metric of :data:`METRIC_COLUMNS` in two rows (spare axes hidden)."""
    from matplotlib.figure import Figure

    cols = (len(METRIC_COLUMNS) + 1) // 2
    fig = Figure(figsize=(4.3 * cols, height))
    fig.subplots_adjust(**adjust)
    axes = fig.subplots(2, cols).ravel()
    for ax in axes[len(METRIC_COLUMNS):]:
        ax.set_visible(False)
    return fig, list(zip(axes, METRIC_COLUMNS))


def write_plots(result: SuiteResult, out_dir: Path) -> list[tuple[str, Path]]:
    """Per-case per-frame curves, bar charts of the means, stacked timing bars (PNG, Agg):
    ``[(title, path)]`` in that order."""
    names = [GROUND_TRUTH] + list(result.variants)
    colours = {n: f"C{i}" for i, n in enumerate(names)}
    figures = [_curve_figure(result, case, names, colours) for case in result.cases]
    means = result.means()
    shown = [n for n in names if n in means]
    if shown:
        figures += [_bar_figure(means, shown, colours), _timing_figure(result, shown)]
    written = []
    for fig, filename, title in figures:
        path = out_dir / filename
        write_bytes(path, figure_png(fig, dpi=80))
        result.paths[filename] = path
        written.append((title, path))
    return written


def _curve_figure(result: SuiteResult, case, names: list[str], colours: dict):
    """``(figure, file name, title)``: one case's per-frame scores, one axis per metric."""
    fig, panels = _metric_axes(7, left=0.05, right=0.98, top=0.9, bottom=0.08, hspace=0.35, wspace=0.22)
    for ax, metric in panels:
        unit, better, _ = METRIC_COLUMNS[metric]
        for name in names:
            pf = result.per_frame.get((case.name, name))
            if pf is None:
                continue
            ax.plot(finite(pf[metric]), label=name, color=colours[name],
                    linestyle="--" if name == GROUND_TRUTH else "-", linewidth=1.4)
        ax.set_title(f"{metric} ({unit}, {better} is better)", fontsize=10)
        ax.set_xlabel("frame")
        ax.grid(alpha=0.3)
    panels[0][0].legend(fontsize=8)
    fig.suptitle(f"case {case.name}: per-frame scores (ground truth's PSNR is infinite and not drawn)")
    return fig, f"curves_{file_slug(case.name)}.png", f"Per-frame scores, case {case.name}"


def _bar_figure(means: dict, shown: list[str], colours: dict):
    """``(figure, file name, title)``: the mean of every metric per variant."""
    fig, panels = _metric_axes(7.5, left=0.05, right=0.98, top=0.92, bottom=0.17, hspace=0.75, wspace=0.22)
    for ax, metric in panels:
        unit, better, _ = METRIC_COLUMNS[metric]
        raw = np.array([means[n][metric] for n in shown], np.float64)
        vals = finite(raw)
        ax.bar(range(len(shown)), np.nan_to_num(vals), color=[colours[n] for n in shown])
        for i, (v, r) in enumerate(zip(vals, raw)):
            label = "inf" if np.isposinf(r) else ("n/a" if np.isnan(v) else f"{v:.3g}")
            ax.text(i, 0 if np.isnan(v) else v, label, ha="center", va="bottom", fontsize=8)
        ax.set_xticks(range(len(shown)), shown, rotation=30, ha="right", fontsize=8)
        ax.set_title(f"{metric} ({unit}, {better} is better)", fontsize=10)
    fig.suptitle("mean over cases per variant")
    return fig, "bars.png", "Mean scores per variant"


def _timing_figure(result: SuiteResult, shown: list[str]):
    """``(figure, file name, title)``: seconds per frame of each stage, stacked per variant."""
    from matplotlib.figure import Figure

    stages = [s for s in result.stages() if s != "total"]
    fig = Figure(figsize=(9, 4.5))
    fig.subplots_adjust(left=0.22, right=0.97, top=0.9, bottom=0.13)
    ax = fig.subplots()
    timed = [n for n in shown if n != GROUND_TRUTH]
    left = np.zeros(len(timed))
    for i, stage in enumerate(stages):
        vals = np.array([np.nanmean([r["s_per_frame"].get(stage, 0.0) for r in result.rows
                                     if r["variant"] == n and r["status"] == "ok"]) for n in timed])
        ax.barh(range(len(timed)), vals, left=left, label=stage, color=f"C{i % 10}")
        left += vals
    ax.set_yticks(range(len(timed)), timed)
    ax.set_xlabel("seconds per frame (mean over cases)")
    ax.legend(fontsize=8, ncol=3)
    ax.set_title("time per frame per stage")
    return fig, "timing.png", "Time per frame per stage"


def write_report(result: SuiteResult, out_dir: Path, plots, strips) -> None:
    """``report.html``: the mean, per-case, difference and timing tables, the ``plots`` and the ``strips``."""
    tables = [Table("Mean per variant", *result.mean_table(),
                    note=f"The '{GROUND_TRUTH}' row scores the exact answer itself: the floor of each metric."),
              Table("Per case", *result.case_table()),
              Table("Seconds per frame per stage", *result.timing_table())]
    diff_header, diff_rows = result.difference_table()
    if diff_rows:
        tables.insert(2, Table("Differences to the baseline", diff_header, diff_rows, note=DIFFERENCE_NOTE))
    path = write_html_report(out_dir / "report.html", f"Ground-truth benchmark - {result.network}", tables,
                             [(t, p) for t, p in plots], strips, notes=result.notes)
    result.paths["report.html"] = path
