"""Shared helpers for the linopy + HiGHS models (allocation, stockpile, investment)."""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def solver_output_to_stderr() -> Iterator[None]:
    """Send what native solvers print to stdout (HiGHS prints a banner on construction) to stderr.

    The CLI's ``--format json|csv`` output goes to stdout and must stay parseable.
    """
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no real file descriptor (e.g. captured in a notebook): nothing to redirect
        yield
        return
    try:
        os.dup2(2, 1)
        yield
    finally:
        with suppress(OSError, AttributeError):
            ctypes.CDLL(None).fflush(None)  # flush C stdio buffers while fd 1 still points at stderr
        os.dup2(saved, 1)
        os.close(saved)
