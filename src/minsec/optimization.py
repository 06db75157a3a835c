"""Shared helpers for the linopy + HiGHS models (allocation, stockpile, investment)."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress

#: show what the solvers print (HiGHS's banner and log) on stderr; off by default (``minsec --verbose`` sets it)
SOLVER_OUTPUT = {"verbose": os.environ.get("MINSEC_VERBOSE", "") not in ("", "0")}


@contextmanager
def solver_output_off_stdout() -> Iterator[None]:
    """Keep what native solvers print to stdout (HiGHS prints a banner on construction, before any option can
    silence it) off stdout: to stderr with ``--verbose`` (:data:`SOLVER_OUTPUT`), otherwise nowhere.

    The CLI's ``--format json|csv`` output goes to stdout and must stay parseable.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real file descriptor (e.g. captured in a notebook): nothing to redirect
        yield
        return
    sink = None
    try:
        if SOLVER_OUTPUT["verbose"]:
            os.dup2(2, 1)
        else:
            sink = os.open(os.devnull, os.O_WRONLY)
            os.dup2(sink, 1)
        yield
    finally:
        with suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # flush C stdio buffers while fd 1 still points elsewhere
        os.dup2(saved, 1)
        os.close(saved)
        if sink is not None:
            os.close(sink)
