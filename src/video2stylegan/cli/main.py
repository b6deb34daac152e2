"""Entry point of the `video2stylegan` command.

Each subcommand lives in its own module of this package and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to the
function that runs it. Errors of our own are printed without a traceback.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys

from video2stylegan.cli import (
    cache_cmd,
    calibrate_cmd,
    evaluate_cmd,
    faces_cmd,
    networks_cmd,
    reenact_cmd,
    synthetic_cmd,
    train_cmd,
)
from video2stylegan.errors import Video2StyleGANError
from video2stylegan.runtime import keep_freed_memory

#: The modules that each register one or more subcommands, in the order ``--help`` lists them.
COMMAND_MODULES = [networks_cmd, faces_cmd, synthetic_cmd, evaluate_cmd, reenact_cmd, calibrate_cmd, train_cmd,
                   cache_cmd]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="video2stylegan",
        description="Face reenactment with a pretrained StyleGAN3.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def package_version() -> str:
    """The installed distribution's version (pyproject.toml's), read from its metadata: the package facade
    (``video2stylegan.__version__``) sits above the command line in the layers and is not imported here."""
    try:
        return importlib.metadata.version("video2stylegan")
    except importlib.metadata.PackageNotFoundError:
        return "(version unknown: not installed; pip install -e . in the repository)"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    keep_freed_memory()  # 1.2-1.5x faster CPU steps; see video2stylegan.runtime
    try:
        args.func(args)
    except Video2StyleGANError as exc:
        return _report(args, f"error: {exc}")
    except KeyboardInterrupt:
        return _report(args, "interrupted", status=130)
    except OSError as exc:
        # the last line of defence: a full disk, a read-only folder or a permission error that a write site
        # did not turn into our own error is still one line, naming the file, not a traceback
        return _report(args, f"error: {os_error_text(exc)}")
    except MemoryError:
        return _report(args, f"error: out of memory; {MEMORY_HINT}")
    except RuntimeError as exc:
        if not _is_gpu_out_of_memory(exc):
            raise
        return _report(args, f"error: the GPU ran out of memory; {MEMORY_HINT}")
    return 0


def _report(args, text: str, status: int = 1) -> int:
    """Print ``video2stylegan <command>: <text>`` as the one line on stderr; return the exit status."""
    print(f"video2stylegan {args.command}: {text}", file=sys.stderr)
    return status


def _is_gpu_out_of_memory(exc: RuntimeError) -> bool:
    """``torch.cuda.OutOfMemoryError`` (a RuntimeError, not a MemoryError), without importing torch here."""
    return type(exc).__name__ == "OutOfMemoryError" or "CUDA out of memory" in str(exc)


#: What to try when a command runs out of memory (RAM or GPU memory reported as MemoryError).
MEMORY_HINT = ("close other programs, or use fewer frames (--max-frames), a smaller --frame-batch or --batch, "
               "--low-memory, or a smaller network")


def os_error_text(exc: OSError) -> str:
    """``<strerror>: <filename>`` (both filenames of a failed rename), else the exception's text, on one line."""
    text = exc.strerror or str(exc) or type(exc).__name__
    names = [str(n) for n in (exc.filename, exc.filename2) if n is not None]
    if names:
        text = f"{text}: {' -> '.join(names)}"
    return " ".join(text.split())


if __name__ == "__main__":
    sys.exit(main())
