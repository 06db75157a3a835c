"""`minsec --help` start-up time (target < 0.5 s), against the cost of importing the data stack it defers.

Prints the best of 7 wall-clock runs of each, side by side in one process.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time

TARGET_SECONDS = 0.5
RUNS = 7


def best_of(command: list[str]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> int:
    minsec = shutil.which("minsec") or str(__import__("pathlib").Path(sys.executable).with_name("minsec"))
    help_seconds = best_of([minsec, "--help"])
    eager_seconds = best_of([sys.executable, "-c", "import minsec.model, minsec.risk.geopolrisk"])
    print(f"minsec --help: {help_seconds:.3f} s (target < {TARGET_SECONDS} s)")
    print(f"baseline, importing the data stack eagerly: {eager_seconds:.3f} s "
          f"→ lazy imports save {eager_seconds / help_seconds:.1f}×")
    ok = help_seconds < TARGET_SECONDS
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
