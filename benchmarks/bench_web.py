"""Dashboard page performance in a real browser (issue: web dashboard).

Targets: every page's first render < 1 s on loopback with the bundled data; a material page's payload < 1 MB.

"First render" is from the start of navigation to the moment every figure on the screen is drawn
(``window.minsecRenderMs``, set by the page's script; figures further down are drawn as they come near the
viewport, and are timed too), in a fresh browser context — an empty cache, so the
page's scripts, styles and map geometry are all fetched — with the server as ``minsec serve`` runs it (the
overview and risk matrix built at start-up, the rest on first request: the first visit of each page below
includes building it on the server).  The payload is every byte the browser received for the page, as its
Resource Timing API reports them (encoded, i.e. compressed, sizes).

Baseline, run side by side in this process: the same pages served with plotly's full ``plotly.min.js``
(the file the plotly Python package ships, 4.8 MB; what the dashboard would serve without its partial bundle).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from minsec.web.brief import CHROMIUM, CHROMIUM_ARGS
from tests.service_support import PASSWORD, LiveServer, seed_partnership

PAGES = {"overview": "/", "materials": "/materials", "material cobalt": "/materials/cobalt",
         "material copper": "/materials/copper", "material rare earths": "/materials/rare_earths",
         "risk matrix": "/risk?importer=EU27", "scenarios": "/scenarios", "stockpile": "/stockpile",
         "markets": "/markets", "alerts": "/alerts"}
REPEATS = 5
TARGET_MS, TARGET_BYTES = 1000.0, 1_000_000


def serve(database, full_plotly: bool):
    from minsec.server import create_app
    from minsec.web import pages

    if full_plotly:
        import plotly

        original = pages.plotly_js_path
        pages.plotly_js_path = lambda: Path(plotly.__file__).resolve().parent / "package_data" / "plotly.min.js"
        try:
            return create_app(database, secure_cookies=False, warm_pages=True)
        finally:
            pages.plotly_js_path = original
    return create_app(database, secure_cookies=False, warm_pages=True)


def measure(browser, base: str, state: dict, path: str) -> dict[str, float]:
    """One visit in a fresh context: first contentful paint, figures on screen drawn, every figure drawn
    (scrolling down would draw them; here they are forced), and bytes received."""
    context = browser.new_context(viewport={"width": 1280, "height": 800}, storage_state=state)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + path)
    page.wait_for_function("() => document.body.dataset.rendered", timeout=30_000)
    screen = float(page.evaluate("window.minsecRenderMs"))
    every = float(page.evaluate("() => window.minsecDrawAll().then(() => performance.now())"))
    if path != "/alerts":
        page.wait_for_load_state("networkidle")
    paint = float(page.evaluate("performance.getEntriesByName('first-contentful-paint')[0].startTime"))
    received = int(page.evaluate("performance.getEntriesByType('navigation').concat("
                                 "performance.getEntriesByType('resource')).reduce((s, e) => s + e.transferSize, 0)"))
    context.close()
    if errors:
        raise RuntimeError(f"{path}: {errors}")
    return {"paint": paint, "screen": screen, "all": every, "bytes": received}


def main() -> int:
    if not Path(CHROMIUM).exists():
        print(f"SKIP: {CHROMIUM} not installed (python3 make.py test installs it as root)")
        return 0
    from playwright.sync_api import sync_playwright

    from minsec.service.db import connect, upgrade
    from minsec.service.warnings import collect, publish

    folder = Path(tempfile.mkdtemp(prefix="minsec-bench-web-"))
    database = connect(f"sqlite:///{folder / 'web.db'}")
    upgrade(database)
    seed_partnership(database)
    publish(database, collect())
    results: dict[str, dict[str, list]] = {}
    with LiveServer(serve(database, False)) as dashboard, LiveServer(serve(database, True)) as baseline, \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        time.sleep(3)   # let start-up warming finish, as it has before anyone opens a page of a running server
        states = {}
        for name, server in (("minsec", dashboard), ("baseline", baseline)):
            context = browser.new_context()
            assert context.request.post(f"{server.url}/api/auth/login",
                                        data={"username": "ec_viewer", "password": PASSWORD}).ok
            states[name] = context.storage_state()
            context.close()
        for page_name, path in PAGES.items():
            for name, server in (("minsec", dashboard), ("baseline", baseline)):
                runs = [measure(browser, server.url, states[name], path) for _ in range(REPEATS)]
                results.setdefault(page_name, {})[name] = runs
        browser.close()
    database.dispose()

    print(f"milliseconds from navigation (fresh browser, empty cache; median of {REPEATS} visits, the first of "
          "which builds the page on the server): first contentful paint / figures on screen drawn / every figure "
          "drawn; bytes received on the first visit")
    print(f"{'page':<21}{'minsec':>22}{'bytes':>10}   {'baseline':>22}{'bytes':>11}   {'screen ratio':>12}"
          f"{'bytes ratio':>12}")
    worst_screen, worst_paint, material_bytes = 0.0, 0.0, 0

    def median(runs, key):
        return statistics.median(r[key] for r in runs)

    for page_name, runs in results.items():
        ours, theirs = runs["minsec"], runs["baseline"]
        mine = [median(ours, k) for k in ("paint", "screen", "all")]
        base = [median(theirs, k) for k in ("paint", "screen", "all")]
        worst_screen, worst_paint = max(worst_screen, mine[1]), max(worst_paint, mine[0])
        if page_name.startswith("material "):
            material_bytes = max(material_bytes, max(r["bytes"] for r in ours))
        print(f"{page_name:<21}{' / '.join(f'{v:.0f}' for v in mine):>22}{ours[0]['bytes']:>10,}   "
              f"{' / '.join(f'{v:.0f}' for v in base):>22}{theirs[0]['bytes']:>11,}   {base[1] / mine[1]:>11.1f}×"
              f"{theirs[0]['bytes'] / ours[0]['bytes']:>11.1f}×")
    slowest_first = max(r["screen"] for runs in results.values() for r in runs["minsec"][:1])
    ok_time, ok_bytes = worst_screen < TARGET_MS, material_bytes < TARGET_BYTES
    print(f"first render (figures on screen drawn), slowest page median: {worst_screen:.0f} ms (target < "
          f"{TARGET_MS:.0f}) — {'PASS' if ok_time else 'FAIL'}; first contentful paint, slowest page median: "
          f"{worst_paint:.0f} ms; slowest single first visit: {slowest_first:.0f} ms")
    print(f"largest material page payload: {material_bytes:,} bytes (target < {TARGET_BYTES:,}) — "
          f"{'PASS' if ok_bytes else 'FAIL'}")
    return 0 if ok_time and ok_bytes else 1


if __name__ == "__main__":
    sys.exit(main())
