"""``video2stylegan calibrate``: options checked, a network without faces fails cleanly."""

from __future__ import annotations

import pytest

from video2stylegan.cli.main import main


@pytest.mark.parametrize("extra, message", [
    (["--no-pose", "--no-local"], "nothing to calibrate"),
    (["--figure", "maps.jpg"], ".png"),
])
def test_bad_options(extra, message, capsys, tmp_path):
    rc = main(["calibrate", "--network", "random-r-128", "--cache", str(tmp_path), "--quiet", *extra])
    assert rc == 1 and message in capsys.readouterr().err


def test_network_without_faces_fails_with_advice(capsys, tmp_path):
    rc = main(["calibrate", "--network", "random-r-128", "--no-pose", "--samples", "4", "--cache", str(tmp_path),
               "--quiet"])
    err = capsys.readouterr().err
    assert rc == 1 and "0 of 4" in err and "Traceback" not in err
