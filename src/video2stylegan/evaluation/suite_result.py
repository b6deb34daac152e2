"""What the ground-truth suite measured, and its columns: shared by the runner and its writers.

:class:`SuiteResult` (rows, per-frame scores, notes, the written files) with its tables and
Markdown, the score columns (:data:`METRIC_COLUMNS`), the name of the ground-truth row and the
file names of cases and variants. :mod:`.suite` fills a :class:`SuiteResult`;
:mod:`.suite_outputs` writes it; neither imports the other's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from video2stylegan.evaluation.report import format_value
from video2stylegan.metrics.paired import paired_difference

__all__ = [
    "CSV_STAGES",
    "DIFFERENCE_NOTE",
    "GROUND_TRUTH",
    "METRIC_COLUMNS",
    "PAIRED_METRICS",
    "SuiteResult",
    "file_slug",
    "markdown_table",
]

#: Name of the row that scores the ground truth itself (the metrics' floor).
GROUND_TRUTH = "ground truth"

# name -> (unit, "lower"/"higher" is better, description); the order of the tables.
METRIC_COLUMNS: dict[str, tuple[str, str, str]] = {
    "landmark_error": ("GT eye distance", "lower", "result landmarks (dlib) to the ground truth's exact ones"),
    "mouth_error": ("ratio", "lower", "mouth opening (inner-lip gap / mouth width) against the ground truth's"),
    "ID": ("descriptor L2", "lower", "dlib identity distance to the source portrait"),
    "ID_gt": ("descriptor L2", "lower", "dlib identity distance to the ground-truth frame (same pose)"),
    "PSNR": ("dB", "higher", "to the ground-truth render (clip PSNR from the mean MSE)"),
    "SSIM": ("0-1", "higher", "to the ground-truth render"),
    "dK": ("face scale", "lower", "keypoint motion distance to the driving clip's exact landmarks"),
    "jitter": ("GT face scale", "lower", "mean norm of the landmarks' second difference"),
}

#: The scores compared frame by frame between variants (:meth:`SuiteResult.differences`).
PAIRED_METRICS = ("landmark_error", "mouth_error", "ID", "ID_gt", "PSNR")

#: How the difference tables are read (results.md and report.html).
DIFFERENCE_NOTE = (
    "Mean over frames of the per-frame difference (variant minus baseline, same frames) and its 95 % "
    "moving-block bootstrap interval (blocks of about the cube root of the frames, 3 for 24; 2000 "
    "resamples); `*`: the interval excludes 0. Lower is better for every score but PSNR "
    "(from per-frame dB)."
)

#: The stages of the timing columns, in run order (others that a run reports follow, sorted).
CSV_STAGES = ("network", "faces", "embed source", "embed driving", "calibrate", "pose", "placement", "render", "score")


def file_slug(name: str) -> str:
    """A file-name-safe form of a case or variant name."""
    return "".join(c if c.isalnum() else "_" for c in name).strip("_") or "variant"


def markdown_table(header, rows) -> str:
    """A Markdown table, every cell as :func:`~video2stylegan.evaluation.report.format_value` prints it."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(format_value(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class SuiteResult:
    """Everything :func:`~video2stylegan.evaluation.suite.run_suite` measured.

    ``rows``: one dict per (case, variant) with ``case``, ``variant``,
    ``status`` (``"ok"``/``"skipped"``), ``reason``, ``frames``, the means of
    :data:`METRIC_COLUMNS`, ``missing_faces``, ``embed_psnr`` / ``pti_psnr`` (dB of the
    source's projection before / after PTI; variants only), and ``s_per_frame``
    (stage -> seconds per frame, ``"total"`` included). ``per_frame``: ``(case, variant)`` ->
    name -> ``(T,)``. ``paths``: name -> written file.
    """

    network: str
    embedding: dict
    cases: list
    variants: list
    rows: list = field(default_factory=list)
    per_frame: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    paths: dict = field(default_factory=dict)
    seconds: float = 0.0

    def row(self, case: str, variant: str) -> dict:
        for r in self.rows:
            if r["case"] == case and r["variant"] == variant:
                return r
        raise KeyError((case, variant))

    def means(self) -> dict[str, dict[str, float]]:
        """Variant -> metric -> mean over the cases it ran on (``s_per_frame`` total too)."""
        out = {}
        for variant in [GROUND_TRUTH] + list(self.variants):
            rows = [r for r in self.rows if r["variant"] == variant and r["status"] == "ok"]
            if not rows:
                continue
            m = {}
            for name in METRIC_COLUMNS:
                vals = np.array([r[name] for r in rows], np.float64)
                vals = vals[~np.isnan(vals)]
                m[name] = float(vals.mean()) if len(vals) else float("nan")
            total = np.array([r["s_per_frame"].get("total", np.nan) for r in rows], np.float64)
            m["s_per_frame"] = float(np.nanmean(total)) if np.isfinite(total).any() else float("nan")
            m["cases"] = len(rows)
            out[variant] = m
        return out

    def stages(self) -> list[str]:
        seen = {k for r in self.rows for k in r["s_per_frame"] if k != "total"}
        names = [s for s in CSV_STAGES if s in seen]
        names += sorted(seen.difference(names))
        return names + ["total"]

    def mean_table(self) -> tuple[list, list]:
        header = ["variant"] + list(METRIC_COLUMNS) + ["s/frame", "cases"]
        rows = [[v] + [m[k] for k in METRIC_COLUMNS] + [m["s_per_frame"], m["cases"]] for v, m in self.means().items()]
        return header, rows

    def case_table(self) -> tuple[list, list]:
        header = ["case", "variant"] + list(METRIC_COLUMNS) + ["missing faces", "status"]
        rows = [[r["case"], r["variant"]] + [r.get(k) for k in METRIC_COLUMNS] + [r.get("missing_faces"),
                r["status"] if r["status"] == "ok" else f"skipped: {r['reason']}"] for r in self.rows]
        return header, rows

    def timing_table(self) -> tuple[list, list]:
        stages = self.stages()
        header = ["case", "variant"] + stages
        rows = [[r["case"], r["variant"]] + [r["s_per_frame"].get(s) for s in stages]
                for r in self.rows if r["status"] == "ok"]
        return header, rows

    def differences(self, against: str = "baseline", metrics: Sequence[str] = PAIRED_METRICS,
                    **bootstrap) -> list[tuple[str, str, dict]]:
        """Per case, every other variant's paired per-frame difference to ``against``
        (``variant - against``; :func:`~video2stylegan.metrics.paired.paired_difference`,
        ``bootstrap`` passed on): ``[(case, variant, {metric: PairedDifference})]``. Empty
        when ``against`` did not run."""
        out = []
        for case in self.cases:
            ref = self.per_frame.get((case.name, against))
            if ref is None:
                continue
            for variant in self.variants:
                pf = self.per_frame.get((case.name, variant))
                if variant == against or pf is None:
                    continue
                out.append((case.name, variant, {m: paired_difference(pf[m], ref[m], **bootstrap) for m in metrics}))
        return out

    def difference_table(self, against: str = "baseline") -> tuple[list, list]:
        header = ["case", "variant"] + [f"{m} - {against}" for m in PAIRED_METRICS]
        rows = [[case, variant] + [d[m].format(2 if m == "PSNR" else 4) for m in PAIRED_METRICS]
                for case, variant, d in self.differences(against)]
        return header, rows

    def to_markdown(self) -> str:
        cases = ", ".join(f"{c.name} (person {c.source_seed} driven by person {c.driving_seed}, motion "
                          f"{c.motion_seed}, {c.frames} frames, {c.size} px)" for c in self.cases)
        emb = ", ".join(f"{k} {v}" for k, v in self.embedding.items())
        parts = [
            "# Ground-truth benchmark on the synthetic world",
            "",
            f"Network: `{self.network}`. Cases: {cases}. Embedding budget: {emb}. Total time {self.seconds:.0f} s.",
            "",
        ]
        parts += [f"- {n}" for n in self.notes]
        units = "; ".join(f"{k}: {u}, {b} is better" for k, (u, b, _) in METRIC_COLUMNS.items())
        parts += ["", "## Mean per variant", "", markdown_table(*self.mean_table()), "", f"Units: {units}. "
                  "s/frame: all stages of the run, scoring excluded, divided by the frames. "
                  f"The `{GROUND_TRUTH}` row scores the exact answer itself: the floor of each metric.",
                  "", "## Per case", "", markdown_table(*self.case_table()), "",
                  *self._difference_section(),
                  "## Seconds per frame per stage", "", markdown_table(*self.timing_table()), "",
                  "Embeddings are cached per case: the first variant that needs the driving frames' "
                  "codes pays for them, later ones read them back."]
        return "\n".join(parts) + "\n"

    def _difference_section(self) -> list[str]:
        header, rows = self.difference_table()
        if not rows:
            return []
        return ["## Differences to the baseline", "", markdown_table(header, rows), "", DIFFERENCE_NOTE, ""]
