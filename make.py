#!/usr/bin/env python3
"""The two commands of minsec's quick start, with nothing but Python 3.11 installed.

    python3 make.py run     # set up .venv, install minsec, run the main job on the bundled data
    python3 make.py test    # set up .venv with the test tools, run ruff and the whole test suite

Set-up is idempotent: the virtual environment is (re)installed only when ``pyproject.toml`` changed.
Extra arguments after ``run`` are passed to ``minsec`` (default: ``overview``); after ``test``, to pytest.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
STAMP = VENV / ".minsec-install-stamp"


def _run(*args: str | Path) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_environment(extras: str) -> None:
    """Create ``.venv`` and install minsec (editable) with the given extras, once per pyproject change."""
    if sys.version_info < (3, 11):  # noqa: UP036 - make.py may be started by an older python3
        sys.exit(f"minsec needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not (BIN / "python").exists():
        print(f"creating virtual environment in {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if STAMP.exists() and STAMP.read_text().strip() == wanted:
        return
    print("installing minsec and its dependencies (first run only)", flush=True)
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    _run(BIN / "python", "-m", "pip", "install", "--quiet", "-e", target)
    STAMP.write_text(wanted)


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "run"
    rest = argv[1:]
    if command == "run":
        ensure_environment("")
        _run(BIN / "minsec", *(rest or ["overview"]))
    elif command == "test":
        ensure_environment("test")
        _run(BIN / "ruff", "check", "src", "tests", "benchmarks", "make.py")
        _run(BIN / "python", "-m", "pytest", *(rest or ["-q"]))
    else:
        sys.exit(f"unknown command {command!r}: use 'run' or 'test'")


if __name__ == "__main__":
    main(sys.argv[1:])
