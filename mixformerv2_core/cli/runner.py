"""The one way a console script runs: parse, check outputs, work, and fail as ``prog: error: ...`` (exit 2)."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

from ..errors import InputError, MixFormerV2Error

EXPECTED_FAILURES = (MixFormerV2Error, OSError, ValueError)
EXIT_ERROR = 2
EXIT_INTERRUPTED = 130


def run_command(prog: str, work: Callable[[], Optional[int]]) -> int:
    """Runs ``work``; an expected failure becomes one line on stderr and exit status 2, Ctrl-C exit 130."""
    try:
        return int(work() or 0)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except EXPECTED_FAILURES as error:
        print(f"{prog}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_ERROR


def command_main(parser: argparse.ArgumentParser, run: Callable[[argparse.Namespace], Optional[int]],
                 argv: Optional[Sequence[str]] = None) -> int:
    """``main()`` of a console script: argparse errors and runtime errors look the same to the user."""
    args = parser.parse_args(argv)
    return run_command(parser.prog, lambda: run(args))


def writable_file(path: Union[str, os.PathLike]) -> Path:
    """Checks, before any long work, that ``path`` can be written (its folder is created if missing)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a directory; give a file name")
    _writable_dir(path.parent if str(path.parent) else Path("."))
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"cannot write {path}: permission denied")
    return path


def writable_dir(path: Union[str, os.PathLike]) -> Path:
    """Checks (creating it if missing) that ``path`` is a folder this process can write into."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise InputError(f"{path} exists and is not a directory")
    return _writable_dir(path)


def _writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create the folder {path}: {error.strerror or error}") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(f"cannot write into {path}: permission denied")
    return path


def _one_line(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, OSError) and error.filename is not None and error.strerror:
        text = f"{error.filename}: {error.strerror}"
    return " ".join(text.split())
