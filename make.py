#!/usr/bin/env python3
"""The two commands of minsec's quick start, with nothing but Python 3.11 installed.

    python3 make.py run     # set up .venv, install minsec, start the partnership service (demo data, SQLite)
    python3 make.py test    # set up .venv with the test tools (and PostgreSQL), run ruff and the whole test suite
    python3 make.py bench   # benchmarks, in .venv-bench (the peer geopolrisk-py pins pandas <= 2.3.3)

Set-up is idempotent: the virtual environment is (re)installed only when ``pyproject.toml`` changed.
Extra arguments after ``run`` are passed to ``minsec`` (default: ``serve``); after ``test``, to pytest.
"""

from __future__ import annotations

import contextlib
import glob
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
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


def _initdb() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return found[-1] if found else None


def _apt_install(package: str, purpose: str) -> None:
    """A Debian package, when this runs as root on a machine that has apt (CI does)."""
    if os.name != "posix" or os.geteuid() != 0 or not shutil.which("apt-get"):
        return
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {package} from Debian's packages ({purpose})", flush=True)
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", package]
    if subprocess.run(command, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, stdout=subprocess.DEVNULL)
        subprocess.run(command, env=env, stdout=subprocess.DEVNULL)


def _install_postgres() -> None:
    _apt_install("postgresql", "for the service tests")


CHROMIUM = "/usr/bin/chromium"


def ensure_chromium() -> bool:
    """Debian's Chromium for the browser tests (Playwright drives it; no browser is downloaded)."""
    if not Path(CHROMIUM).exists():
        _apt_install("chromium", "for the browser tests")
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is not installed and cannot be installed here: the browser tests are skipped",
              flush=True)
        return False
    return True


@contextlib.contextmanager
def postgres_server():
    """A throwaway PostgreSQL cluster on a free loopback port for the test run; yields its URL (or None when
    PostgreSQL cannot be installed here: the service tests then run on SQLite only and say so)."""
    if os.environ.get("MINSEC_TEST_POSTGRES"):
        yield os.environ["MINSEC_TEST_POSTGRES"]
        return
    initdb = _initdb()
    if initdb is None:
        _install_postgres()
        initdb = _initdb()
    if initdb is None:
        print("PostgreSQL is not installed and cannot be installed here: service tests run on SQLite only",
              flush=True)
        yield None
        return
    bin_dir = Path(initdb).parent
    data = Path(tempfile.mkdtemp(prefix="minsec-pg-"))
    as_postgres: list[str] = []
    if os.geteuid() == 0:       # PostgreSQL refuses to run as root
        shutil.chown(data, "postgres", "postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run([*as_postgres, str(bin_dir / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "postgres",
                    "-E", "UTF8"], check=True, **quiet)
    options = f"-p {port} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-o", options, "-l",
                    str(data / "log"), "-w", "start"], check=True, **quiet)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, str(bin_dir / "pg_ctl"), "-D", str(data / "db"), "-m", "fast", "-w", "stop"],
                       **quiet)
        shutil.rmtree(data, ignore_errors=True)


def main(argv: list[str]) -> None:
    command = argv[0] if argv else "run"
    rest = argv[1:]
    if command == "run":
        bin_dir = ensure_environment("")
        _run(bin_dir / "minsec", *(rest or ["serve"]))
    elif command == "test":
        bin_dir = ensure_environment("test")
        _run(bin_dir / "ruff", "check", "src", "tests", "benchmarks", "make.py")
        ensure_chromium()
        with postgres_server() as url:
            if url:
                os.environ["MINSEC_TEST_POSTGRES"] = url
                print(f"PostgreSQL for the service tests: {url}", flush=True)
            completed = subprocess.run([str(bin_dir / "python"), "-m", "pytest", *(rest or ["-q"])], cwd=ROOT)
        sys.exit(completed.returncode)
    elif command == "bench":
        bin_dir = ensure_environment("bench", ".venv-bench")
        ensure_chromium()
        failed = []
        for script in rest or sorted(str(p) for p in (ROOT / "benchmarks").glob("bench_*.py")):
            print(f"== {Path(script).name}", flush=True)
            if subprocess.run([str(bin_dir / "python"), script], cwd=ROOT).returncode != 0:
                failed.append(Path(script).name)
        if failed:
            sys.exit(f"benchmarks below target: {', '.join(failed)}")
    else:
        sys.exit(f"unknown command {command!r}: use 'run', 'test' or 'bench'")


if __name__ == "__main__":
    main(sys.argv[1:])
