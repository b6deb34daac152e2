"""Evaluation: scoring a result video, reports, and the ground-truth suite (see ``docs/metrics.md``).

The layer above the pipeline. :mod:`video2stylegan.metrics` holds the scores themselves (arrays
in, numbers out); this package reads videos, tracks their faces and puts those scores together:

* :mod:`.evaluate` - :func:`evaluate_video`, every metric of one result video against its
  driving video (and reference portrait, and ground truth), as an :class:`EvaluationReport`;
* :mod:`.report` - the single-file HTML report (tables, plots, strips of frames);
* :mod:`.suite` - the ground-truth benchmark on the synthetic world (``run_suite``), which runs
  ``reenact`` and so imports the pipeline (and torch): import it by name;
  :mod:`.suite_result` (its result and columns) and :mod:`.suite_outputs` (its files).

    from video2stylegan.evaluation import evaluate_video
    report = evaluate_video("result.mp4", "driving.mp4", source="portrait.jpg")
    print(report.to_markdown()); report.to_json("scores.json")
"""

from video2stylegan.evaluation.evaluate import (
    METRICS,
    EvaluationOptions,
    EvaluationReport,
    evaluate_video,
    side_by_side_panel,
)

__all__ = ["METRICS", "EvaluationOptions", "EvaluationReport", "evaluate_video", "side_by_side_panel"]
