#!/usr/bin/env python3
"""The two commands of minsec's quick start, with nothing but Python 3.11 installed.

    python3 make.py run     # set up .venv, install minsec, run the main job on the bundled data
    python3 make.py test    # set up .venv with the test tools, run ruff and the whole test suite
    python3 make.py bench   # benchmarks, in .venv-bench (the peer geopolrisk-py pins pandas <= 2.3.3)

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


def _run(*args: str | Path) -> None:
    completed = subprocess.run([str(a) for a in args], cwd=ROOT)
    if completed.returncode != 0:
        sys.exit(completed.returncode)


def ensure_environment(extras: str, name: str = ".venv") -> Path:
    """Create the venv and install minsec (editable) with the given extras, once per pyproject change.

    Returns the venv's bin directory."""
    venv_dir = ROOT / name
    bin_dir = venv_dir / ("Scripts" if os.name == "nt" else "bin")
    stamp = venv_dir / ".minsec-install-stamp"
    if sys.version_info < (3, 11):  # noqa: UP036 - make.py may be started by an older python3
        sys.exit(f"minsec needs Python >= 3.11, this is {sys.version.split()[0]}")
    if not (bin_dir / "python").exists():
        print(f"creating virtual environment in {venv_dir}", flush=True)
        venv.EnvBuilder(with_pip=True).create(venv_dir)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes() + extras.encode()).hexdigest()
    if stamp.exists() and stamp.read_text().strip() == wanted:
        return bin_dir
    print("installing minsec and its dependencies (first run only)", flush=True)
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    target = f".[{extras}]" if extras else "."
    _run(bin_dir / "python", "-m", "pip", "install", "--quiet", "-e", target)
    stamp.write_text(wanted)
    return bin_dir


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "run"
    rest = argv[1:]
    if command == "run":
        bin_dir = ensure_environment("")
        _run(bin_dir / "minsec", *(rest or ["overview"]))
    elif command == "test":
        bin_dir = ensure_environment("test")
        _run(bin_dir / "ruff", "check", "src", "tests", "benchmarks", "make.py")
        _run(bin_dir / "python", "-m", "pytest", *(rest or ["-q"]))
    elif command == "bench":
        bin_dir = ensure_environment("bench", ".venv-bench")
        for script in rest or sorted(str(p) for p in (ROOT / "benchmarks").glob("bench_*.py")):
            print(f"== {Path(script).name}", flush=True)
            _run(bin_dir / "python", script)
    else:
        sys.exit(f"unknown command {command!r}: use 'run', 'test' or 'bench'")


if __name__ == "__main__":
    main(sys.argv[1:])
