"""``minsec.load()`` (issue 16): a second load in one process takes ≤ 1 s (target), against a fresh load of the
same data (``cache=False``, the baseline: what every CLI module, page and job paid before the loading path was
one).  Also reported: the first load including the imports, and the first GeoPolRisk table on the loaded
chain (the derived arrays are built on first use and kept).

Prints the figures side by side in one process; exit code 1 when a target is missed.
"""

from __future__ import annotations

import sys
import time

TARGET_SECOND_LOAD_SECONDS = 1.0


def timed(function) -> tuple[object, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def main() -> int:
    started = time.perf_counter()
    import minsec

    sc = minsec.load()
    first = time.perf_counter() - started
    _, arrays = timed(lambda: sc.risk.concentration(material="gallium"))
    again, second = timed(minsec.load)
    _, fresh = timed(lambda: minsec.load(cache=False))
    _, query = timed(lambda: again.risk.concentration(material="gallium"))
    print(f"first load, imports included:        {first:8.3f} s")
    print(f"first concentration table (arrays):  {arrays:8.3f} s")
    print(f"second load (cached):                {second:8.6f} s   (target ≤ {TARGET_SECOND_LOAD_SECONDS} s)")
    ratio = fresh / max(second, 1e-9)
    print(f"fresh load, cache=False (baseline):  {fresh:8.3f} s   → cached load {ratio:,.0f}× faster")
    print(f"concentration table on the cached chain: {query:8.3f} s")
    ok = second <= TARGET_SECOND_LOAD_SECONDS and again is sc
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
