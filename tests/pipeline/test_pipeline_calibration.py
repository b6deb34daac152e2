"""Calibration cache notes: a folder that takes no file is warned about, never fatal."""

from __future__ import annotations

import logging

from video2stylegan.method.cache import no_face_note_path
from video2stylegan.pipeline import calibration


def test_no_faces_note_that_cannot_be_written_is_a_warning(tmp_path, caplog):
    blocker = tmp_path / "calibration"
    blocker.write_text("a file where the cache folder should be")
    note = no_face_note_path(blocker, "sg3:abc")
    with caplog.at_level(logging.WARNING, logger="video2stylegan.pipeline.calibration"):
        calibration._write_marker(note, "no faces")
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and f"cannot write to the cache folder {note.parent}" in warnings[0]
    assert not note.exists() and blocker.read_text().startswith("a file")
    ok = no_face_note_path(tmp_path / "good", "sg3:abc")
    calibration._write_marker(ok, "no faces")
    assert ok.read_text() == "no faces\n" and [p.name for p in ok.parent.iterdir()] == [ok.name]
