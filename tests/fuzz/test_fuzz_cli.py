"""Hostile options and damaged files for every command: refused with one line, nothing changed, nothing
left behind (the rules are in tests/fuzz/harness.py and docs/reliability.md)."""

from __future__ import annotations

import errno

import pytest

from tests.fuzz.conftest import cache_entry
from tests.fuzz.harness import (
    CALIBRATE, DETECT, EMBED, EVALUATE, LOAD, SYNTH, TRAIN, Case, assert_inputs_unchanged,
    assert_refused, empty, failing_method, failing_write, flip, refusing, run_case, text, truncate,
)

NET = "{in}/net.safetensors"
PKL = "{in}/net.pkl"
SRC, DRV, CODRV = "{in}/source.png", "{in}/driving.mp4", "{in}/codriving.mp4"
BAD_NUMBERS = {"nan": "nan", "inf": "inf", "-inf": "-inf", "negative": "-1", "zero": "0", "huge": "1e300"}


def net_cases(command: str, prefix: list[str], suffix: list[str] = (), forbid=()) -> list[Case]:
    """Damaged network files of both formats, passed where ``prefix`` ends (a positional or --network)."""
    argv = lambda name: [*prefix, f"{{in}}/{name}", *suffix]  # noqa: E731
    return [
        Case(f"{command}-net-missing", argv("absent.safetensors"), names=("absent.safetensors",), forbid=forbid),
        Case(f"{command}-safetensors-truncated", argv("net.safetensors"), names=("net.safetensors",),
             mutate=truncate("net.safetensors"), forbid=forbid),
        Case(f"{command}-safetensors-header-flipped", argv("net.safetensors"), names=("net.safetensors",),
             mutate=flip("net.safetensors", 12), forbid=forbid),
        Case(f"{command}-safetensors-empty", argv("net.safetensors"), names=("net.safetensors",),
             mutate=empty("net.safetensors"), forbid=forbid),
        Case(f"{command}-safetensors-text", argv("net.safetensors"), names=("net.safetensors",),
             mutate=text("net.safetensors"), forbid=forbid),
        Case(f"{command}-safetensors-nan-weights", argv("nan.safetensors"), names=("nan.safetensors",),
             forbid=forbid),
        Case(f"{command}-safetensors-wrong-shape", argv("shape.safetensors"), names=("shape.safetensors",),
             forbid=forbid),
        Case(f"{command}-pkl-truncated", argv("net.pkl"), names=("net.pkl",), mutate=truncate("net.pkl"),
             forbid=forbid),
        # the pickle's first opcode: a flip inside tensor bytes changes a weight and is
        # undetectable (NVIDIA's format has no checksum), see docs/reliability.md
        Case(f"{command}-pkl-bit-flipped", argv("net.pkl"), names=("net.pkl",), mutate=flip("net.pkl", 0),
             forbid=forbid),
        Case(f"{command}-pkl-text", argv("net.pkl"), names=("net.pkl",), mutate=text("net.pkl"), forbid=forbid),
        Case(f"{command}-pkl-nan-weights", argv("nan.pkl"), names=("nan.pkl",), forbid=forbid),
        Case(f"{command}-pkl-wrong-shape", argv("shape.pkl"), names=("shape.pkl",), forbid=forbid),
    ]


def number_cases(command: str, base: list[str], option: str, bad=BAD_NUMBERS, forbid=(), waits=None,
                 exit=None, skip=()) -> list[Case]:
    """``option`` given each bad number (and a word): refused naming the option."""
    cases = []
    for label, value in {**bad, "word": "abc"}.items():
        if label in skip:
            continue
        code = 2 if label == "word" else (exit or (1, 2))
        cases.append(Case(f"{command}{option}-{label}", [*base, f"{option}={value}"], exit=code, names=(option,),
                          forbid=forbid, waits_for=waits if label != "word" else None))
    return cases


def media_cases(command: str, argv_for, names: dict, forbid=(), waits=None) -> list[Case]:
    """Each input file of ``names`` (name -> kind) truncated, bit-flipped, emptied, replaced by text."""
    cases = []
    for name, kind in names.items():
        for label, mutate in (("truncated", truncate(name)), ("bit-flipped", flip(name, 0.5)),
                              ("empty", empty(name)), ("text", text(name))):
            if label == "bit-flipped" and kind == "video":
                mutate = flip(name, 40)  # the container header, not one frame's pixels
            cases.append(Case(f"{command}-{name}-{label}", argv_for(name), names=(name,), mutate=mutate,
                              forbid=forbid, waits_for=waits))
    return cases


GEN = ["generate", "--network", NET, "--outdir", "{out}/gen", "--seeds", "0", "--device", "cpu"]
REENACT = ["reenact", "--source", SRC, "--driving", DRV, "--network", NET, "--out", "{out}/r.mp4", "--device",
           "cpu", "--no-cache", "--quiet"]
DEMO = ["demo", "--out", "{out}/demo.mp4", "--device", "cpu", "--no-cache", "--quiet"]
CAL = ["calibrate", "--network", NET, "--device", "cpu", "--cache", "{out}/cache", "--quiet"]
EVAL = ["evaluate", "--result", DRV, "--driving", DRV, "--no-progress", "--no-learned"]
SUITE = ["evaluate", "--suite", "synthetic", "--quick", "--out-dir", "{out}/bench", "--network", NET]
SYNTHV = ["synth-video", "--out", "{out}/s.mp4", "--frames", "3", "--size", "64"]
FACES = ["faces", "--out", "{out}/faces", "--no-progress"]
TRAIN_ARGS = ["train-synthetic", "--run", "{out}/run", "--steps", "2", "--workers", "0", "--no-progress"]


#: Cases that fail until another part of the issue lands (id -> which part); run as strict xfails, so the
#: marker has to go when the fix arrives.
PENDING: dict[str, str] = {}


def _stub_report():
    """A two-frame evaluation report: the scores are not under test, only where they are written."""
    import numpy as np

    from video2stylegan.evaluation import EvaluationReport

    return EvaluationReport(summary={"dK": 0.5}, per_frame={"dK": np.array([0.5, 0.5])},
                            info={"frames": 2, "result_frames": 2, "driving_frames": 2})


def _refused_root(option):
    """An OSError no write site turned into our error: main() still prints it as one line."""
    raise PermissionError(errno.EACCES, "Permission denied", str(option))


def _lists_the_entry(r) -> None:
    """``cache verify`` lists every bad entry (path and reason) above its one error line."""
    (entry,) = [k for k in r.before if k.endswith(".npz")]
    assert entry.rsplit("/", 1)[-1] in r.out + r.err


def _fixed(r) -> None:
    """``verify --fix`` deletes the damaged entry (runs recompute it), says so, and exits 0."""
    assert r.code == 0, r.err
    assert "Traceback" not in r.err
    assert not [k for k in r.after if k.endswith(".npz")], "the damaged entry is still there"
    assert "delete" in (r.out + r.err).lower() or "removed" in (r.out + r.err).lower(), r.out + r.err


def _reenact_media(name):
    argv = list(REENACT)
    if name == "codriving.mp4":
        argv += ["--co-driving", CODRV, "--pose-from", "co-driving"]
    else:
        argv[argv.index({"source.png": SRC, "driving.mp4": DRV}[name])] = f"{{in}}/{name}"
    return argv


CASES: list[Case] = [
    # ------------------------------------------------------------------ info
    *net_cases("info", ["info"]),
    # ------------------------------------------------------------------ generate
    *number_cases("generate", GEN, "--trunc", forbid=(LOAD,), skip=("zero", "negative")),  # -2..2 is valid
    Case("generate--translate-nan", [*GEN, "--translate", "nan,inf"], names=("--translate",), forbid=(LOAD,)),
    Case("generate--device-meta", [*GEN, "--device", "meta"], names=("meta", "use auto, cpu, cuda")),
    Case("generate--network-folder", ["generate", "--network", "{in}", "--outdir", "{out}/gen", "--seeds", "0",
                                      "--device", "cpu"], names=("is a folder, not a network file",)),
    *number_cases("generate", GEN, "--rotate", forbid=(LOAD,), skip=("zero", "negative")),
    *number_cases("generate", GEN, "--batch", forbid=(LOAD,), skip=("huge",), bad={**BAD_NUMBERS, "huge": "9" * 30}),
    Case("generate--seeds-negative", [*GEN[:-4], "--seeds=-1", "--device", "cpu"], names=("--seeds",), exit=(1, 2),
         forbid=(LOAD,)),
    Case("generate--seeds-huge", [*GEN[:-4], "--seeds", "0-99999999999", "--device", "cpu"], names=("--seeds",),
         exit=(1, 2), forbid=(LOAD,)),
    Case("generate--seeds-word", [*GEN[:-4], "--seeds", "abc", "--device", "cpu"], names=("--seeds",), exit=(1, 2),
         forbid=(LOAD,)),
    Case("generate--translate-nan", [*GEN, "--translate", "nan,0"], exit=(1, 2), names=("--translate",), forbid=(LOAD,)),
    Case("generate--translate-word", [*GEN, "--translate", "left"], exit=(1, 2), names=("--translate",), forbid=(LOAD,)),
    *net_cases("generate", GEN[:2], GEN[3:]),
    Case("generate-disk-full", GEN, names=("{out}/gen/seed0000.png", "No space left"),
         patches=(("PIL.Image:Image.save", failing_method(errno.ENOSPC)),)),
    # ------------------------------------------------------------------ convert
    *net_cases("convert", ["convert"], ["{out}/c.safetensors"]),
    Case("convert-target-not-safetensors", ["convert", PKL, "{out}/c.pt"], names=("c.pt",), forbid=(LOAD,)),
    Case("convert-disk-full", ["convert", PKL, "{out}/c.safetensors"], names=("{out}/c.safetensors", "No space left"),
         patches=(("safetensors.torch:save_file", failing_write(errno.ENOSPC)),)),
    Case("convert-permission-denied", ["convert", PKL, "{out}/c.safetensors"],
         names=("{out}/c.safetensors", "Permission denied"),
         patches=(("safetensors.torch:save_file", failing_write(errno.EACCES)),)),
    Case("convert-read-only-fs", ["convert", PKL, "{out}/c.safetensors"],
         names=("{out}/c.safetensors", "Read-only file system"),
         patches=(("safetensors.torch:save_file", failing_write(errno.EROFS)),)),
    # ------------------------------------------------------------------ faces
    *number_cases("faces", [*FACES, SRC], "--size", forbid=(DETECT,), skip=("zero", "negative")),
    Case("faces--size-zero", [*FACES, SRC, "--size", "0"], exit=(1, 2), names=("--size",), forbid=(DETECT,)),
    Case("faces--size-negative", [*FACES, SRC, "--size=-1"], exit=(1, 2), names=("--size",), forbid=(DETECT,)),
    *number_cases("faces", [*FACES, SRC], "--upsample", forbid=(DETECT,), skip=("zero",)),
    Case("faces--smooth-zero", [*FACES, DRV, "--smooth", "0"], names=("--smooth",), forbid=(DETECT,)),
    Case("faces--max-frames-zero", [*FACES, DRV, "--max-frames", "0"], exit=(1, 2), names=("--max-frames",),
         forbid=(DETECT,)),
    Case("faces--face-99", [*FACES, SRC, "--face", "99"], names=("--face", "99")),
    Case("faces--face-word", [*FACES, SRC, "--face", "biggest"], exit=(1, 2), names=("--face",)),
    *media_cases("faces", lambda name: [*FACES, f"{{in}}/{name}"], {"source.png": "image", "driving.mp4": "video"}),
    # ------------------------------------------------------------------ synth-video
    *number_cases("synth-video", SYNTHV, "--frames", forbid=(SYNTH,),
                  bad={"negative": "-1", "zero": "0", "huge": "99999999999"}),
    *number_cases("synth-video", SYNTHV, "--size", forbid=(SYNTH,),
                  bad={"negative": "-1", "zero": "0", "huge": "99999999"}),
    *number_cases("synth-video", SYNTHV, "--fps", forbid=(SYNTH,)),
    *number_cases("synth-video", SYNTHV, "--head-motion", forbid=(SYNTH,),
                  bad={"nan": "nan", "inf": "inf", "negative": "-1"}),
    Case("synth-video--out-avi", [*SYNTHV, "--out", "{out}/s.avi"], names=(".mp4",)),  # refused by synth_video itself
    Case("synth-video--seed-negative", [*SYNTHV, "--seed=-1"], exit=2, names=("--seed",), forbid=(SYNTH,)),
    Case("synth-video--ground-truth-not-npz", [*SYNTHV, "--ground-truth", "{out}/gt.txt"], names=("--ground-truth",),
         forbid=(SYNTH,)),
    # ------------------------------------------------------------------ reenact
    *number_cases("reenact", REENACT, "--max-frames", forbid=(LOAD,), skip=("nan", "inf", "-inf", "huge")),
    *number_cases("reenact", REENACT, "--fps", forbid=(LOAD,)),
    *number_cases("reenact", REENACT, "--alpha", forbid=(LOAD,), skip=("zero", "negative")),
    *number_cases("reenact", REENACT, "--zeta", forbid=(LOAD,), skip=("zero",)),
    *number_cases("reenact", REENACT, "--frame-batch", forbid=(LOAD,),
                  bad={"negative": "-1", "zero": "0", "huge": "9" * 30}),
    *number_cases("reenact", REENACT, "--pti-steps", forbid=(LOAD,), bad={"negative": "-1"}),
    *media_cases("reenact", _reenact_media, {"source.png": "image", "driving.mp4": "video", "codriving.mp4": "video"},
                 forbid=(LOAD,)),
    *net_cases("reenact", REENACT[:6], REENACT[7:], forbid=EMBED),
    # ------------------------------------------------------------------ demo
    *number_cases("demo", DEMO, "--max-frames", forbid=(LOAD,), skip=("nan", "inf", "-inf", "huge")),
    *number_cases("demo", DEMO, "--fps", forbid=(LOAD,), skip=("negative", "huge")),
    *number_cases("demo", DEMO, "--gamma", forbid=(LOAD,), skip=("zero", "negative")),
    Case("demo--quality-unknown", [*DEMO, "--quality", "ultra"], exit=2, names=("--quality",), forbid=(LOAD,)),
    Case("demo--out-is-a-folder", ["demo", "--out", "{out}", "--no-cache"], names=("--out",), forbid=(LOAD,)),
    # ------------------------------------------------------------------ calibrate
    *number_cases("calibrate", CAL, "--samples", forbid=(LOAD, *CALIBRATE), bad={"negative": "-1", "zero": "0"}),
    *number_cases("calibrate", CAL, "--t-fg", forbid=(LOAD, *CALIBRATE),
                  skip=("zero",)),
    Case("calibrate--figure-not-png", [*CAL, "--figure", "{out}/f.jpg"], names=("--figure",),
         forbid=(LOAD, *CALIBRATE)),
    *net_cases("calibrate", CAL[:2], CAL[3:], forbid=CALIBRATE),
    # ------------------------------------------------------------------ evaluate
    *number_cases("evaluate", EVAL, "--max-frames", forbid=EVALUATE, skip=("nan", "inf", "-inf", "huge")),
    *number_cases("evaluate", EVAL, "--id-stride", forbid=EVALUATE, skip=("nan", "inf", "-inf", "huge")),
    *number_cases("evaluate", EVAL, "--smooth", forbid=EVALUATE, skip=("nan", "inf", "-inf", "huge")),
    *number_cases("evaluate", SUITE, "--frames", forbid=EVALUATE, skip=("nan", "inf", "-inf", "huge")),
    Case("evaluate-suite-unknown-variant", [*SUITE, "--variants", "full,nope"], names=("--variants",),
         forbid=EVALUATE),
    Case("evaluate-json-is-an-input", [*EVAL, "--json", DRV], names=("--json",), forbid=EVALUATE),
    *media_cases("evaluate", lambda name: ["evaluate", "--result", f"{{in}}/{name}", "--driving", CODRV,
                                           "--no-progress", "--no-learned", "--max-frames", "3"],
                 {"driving.mp4": "video"}),
    *[Case(f"evaluate--{fmt}-disk-full", [*EVAL, f"--{fmt}", f"{{out}}/r.{fmt}"],
           names=(f"{{out}}/r.{fmt}", "No space left"),
           patches=(("video2stylegan.evaluation.evaluate:evaluate_video", lambda *a, **k: _stub_report()),
                    ("pathlib:Path.write_text", failing_method(errno.ENOSPC))))
      for fmt in ("json", "csv")],
    Case("evaluate-source-text", [*EVAL, "--source", SRC, "--max-frames", "3"], names=("source.png",),
         mutate=text("source.png")),
    # ------------------------------------------------------------------ train-synthetic
    *number_cases("train-synthetic", TRAIN_ARGS, "--lr", forbid=(TRAIN,), skip=("zero",)),
    *number_cases("train-synthetic", TRAIN_ARGS, "--ema-kimg", forbid=(TRAIN,), skip=("zero", "huge")),
    *number_cases("train-synthetic", TRAIN_ARGS, "--steps", forbid=(TRAIN,),
                  skip=("nan", "inf", "-inf", "huge")),
    *number_cases("train-synthetic", TRAIN_ARGS, "--part-weight", forbid=(TRAIN,),
                  skip=("zero", "huge")),
    *number_cases("train-synthetic", TRAIN_ARGS, "--batch", forbid=(TRAIN,),
                  skip=("nan", "inf", "-inf", "huge")),
    Case("train-synthetic--resolution-not-power-of-two", [*TRAIN_ARGS, "--resolution", "100"],
         names=("resolution",), forbid=(TRAIN,)),
    Case("train-synthetic-export-no-run", ["train-synthetic", "--run", "{out}/none", "--export", "{out}/n.safetensors"],
         names=("none",), forbid=(TRAIN,)),
    Case("train-synthetic-export-not-safetensors", ["train-synthetic", "--run", "{in}", "--export", "{out}/n.pt"],
         names=("n.pt",), forbid=(TRAIN,)),
    # ------------------------------------------------------------------ cache
    *[Case(f"cache-verify-{label}-entry", ["cache", "verify", "--cache", "{in}/cache"], names=("cache entries are bad",),
           mutate=lambda d, m=mutate: m(str(cache_entry(d).relative_to(d)))(d), check=_lists_the_entry)
      for label, mutate in (("truncated", truncate), ("bit-flipped", lambda n: flip(n, 0.6)), ("empty", empty),
                            ("text", text))],
    Case("cache-verify-fix-deletes-the-bad-entry", ["cache", "verify", "--fix", "--cache", "{in}/cache"],
         mutate=lambda d: truncate(str(cache_entry(d).relative_to(d)))(d), expect="warned", changes=("cache/",),
         check=_fixed),
    *number_cases("cache", ["cache", "clear", "--cache", "{in}/cache"], "--older-than",
                  skip=("zero", "huge")),
    Case("cache-uncaught-permission-error", ["cache", "info", "--cache", "{out}/c"],
         names=("Permission denied", "{out}/c"), patches=(("video2stylegan.cli.cache_cmd:cache_root", _refused_root),)),
    Case("cache-kind-unknown", ["cache", "clear", "--cache", "{in}/cache", "--kind", "everything"], exit=2,
         names=("--kind",)),
    Case("cache-folder-is-a-file", ["cache", "info", "--cache", SRC], names=("source.png",)),
    Case("cache-clear-permission-denied", ["cache", "clear", "--cache", "{in}/cache"], names=(".npz",),
         patches=(("pathlib:Path.unlink", refusing(errno.EACCES)),), expect="cache-clear-refused"),
]


for _case in CASES:
    _case.waits_for = _case.waits_for or PENDING.get(_case.id)


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id, marks=[pytest.mark.xfail(reason=c.waits_for, strict=True)]
                                               if c.waits_for else []) for c in CASES])
def test_fuzz(case, workspace, monkeypatch, capsys, record_property, request):
    request.node.user_properties.append(("fuzz_command", case.command))
    result = run_case(case, workspace, monkeypatch, capsys)
    if case.expect == "warned":
        case.check(result)
        return
    if case.expect == "cache-clear-refused":
        # every removal refused: one line, exit 1, the entry still there
        assert result.code == 1 and "could not be removed" in result.err, result.err
        assert_inputs_unchanged(case, result)
        return
    assert_refused(case, result)
