"""The dashboard's pages, served by the partnership service (same login, same authorisation): the module-level
``router`` and the hooks :mod:`minsec.server` calls when it composes the app — :func:`static_assets` (the files
under /static, held in memory per app), :func:`warm` (builds the most visited pages of the per-process page
cache, :class:`WebData`) and :func:`sign_in_first` (the handler of :class:`SignInRequiredError`).  The pages
take the caller and the supply chain from :mod:`minsec.service.deps`.

Pages are rendered on the server (Jinja2) from :mod:`minsec.web.views`; figures travel as JSON inside the
page and are drawn by plotly.js, which minsec serves itself together with the map geometry — a page makes no
request outside the server.  Alerts, jobs and subscriptions go through the documented REST API from the
page's script, so the TLP rules, CSRF checks and the audit of restricted reads are the API's own.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import io
import threading
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from minsec.errors import MinsecError
from minsec.service.deps import Chain, Db, Viewer, supply_chain
from minsec.service.rules_check import PolicyText, RulesCheck
from minsec.service.security import Principal
from minsec.web import job_views, views
from minsec.web.figures import to_json
from minsec.web.templating import STATIC, plotly_js_path, render

#: Content-Security-Policy of every page: nothing but this server (plotly.js sets inline styles)
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
       "frame-ancestors 'none'")

NAVIGATION = (("overview", "/", "Overview"), ("materials", "/materials", "Materials"),
              ("rare-earths", "/rare-earths", "Rare earths"), ("risk", "/risk", "Risk matrix"),
              ("trade", "/trade", "Trade routes"),
              ("economic", "/economic", "Economic cost"), ("invest", "/invest", "Investments"),
              ("research", "/research", "Research"), ("rules", "/rules", "Rules"),
              ("commitments", "/commitments", "Commitments"),
              ("scenarios", "/scenarios", "Scenarios"), ("stockpile", "/stockpile", "Stockpile"),
              ("markets", "/markets", "Markets"), ("alerts", "/alerts", "Alerts"))


class Asset:
    """A static file held in memory with its gzip form and a content hash for the URL (cached for a year)."""

    def __init__(self, path: Path, media_type: str) -> None:
        self.body = path.read_bytes()
        self.gzipped = gzip.compress(self.body, compresslevel=9, mtime=0)
        self.media_type = media_type
        self.version = hashlib.sha256(self.body).hexdigest()[:12]

    def response(self, request: Request) -> Response:
        headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
        if "gzip" in request.headers.get("accept-encoding", ""):
            return Response(self.gzipped, media_type=self.media_type, headers=headers | {"Content-Encoding": "gzip"})
        return Response(self.body, media_type=self.media_type, headers=headers)


@lru_cache(maxsize=16)
def _asset(path: Path, media_type: str) -> Asset:
    """Read and compress each static file once per process (≈ 0.1 s for plotly.js), not once per app."""
    return Asset(path, media_type)


@dataclass(frozen=True)
class StaticAssets:
    """The files under /static of one app, with their content hashes for the pages' URLs."""

    files: dict[str, Asset]
    versions: dict[str, str]


def static_assets() -> StaticAssets:
    """The dashboard's static files (``app.state.web_assets``; read and compressed once per process)."""
    files = {"plotly.min.js": _asset(plotly_js_path(), "text/javascript"),
             "minsec.js": _asset(STATIC / "minsec.js", "text/javascript"),
             "minsec.css": _asset(STATIC / "minsec.css", "text/css"),
             "geo/world_110m.json": _asset(STATIC / "geo" / "world_110m.json", "application/json")}
    return StaticAssets(files, {name: asset.version for name, asset in files.items()})


class WebData:
    """The pages built from the service's supply chain, once per process and chain: pages built from another
    chain (a changed data directory, or a test's ``dependency_overrides``) are dropped, never served."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple, Any] = {}
        self._chain: Any = None

    def memo(self, chain, key: tuple, build):
        with self._lock:
            if chain is not self._chain:
                self._cache.clear()
                self._chain = chain
            if key in self._cache:
                return self._cache[key]
        value = build()
        with self._lock:
            if chain is not self._chain:
                return value                 # the chain changed while this page was built: serve, do not keep
            if len(self._cache) > 256:
                self._cache.clear()
            self._cache[key] = value
        return value

    def overview(self, chain):
        return self.memo(chain, ("overview",), lambda: _rendered(views.overview(chain)))

    def material(self, chain, material: str):
        # the export-control statuses on the page are computed for today: a new day is a new page
        today = dt.date.today()
        return self.memo(chain, ("material", material, today),
                         lambda: _rendered(views.material(chain, material, as_of=today)))

    def rare_earths(self, chain):
        from minsec.web.rare_earths import rare_earth_view

        return self.memo(chain, ("rare-earths",), lambda: _rendered(rare_earth_view(chain)))

    def commitments(self, chain):
        from minsec.web.commitments import commitments_view

        today = dt.date.today()     # measures' statuses are computed for today: a new day is a new page
        return self.memo(chain, ("commitments", today), lambda: _rendered(commitments_view(chain, today)))

    def invest(self, chain):
        from minsec.web.invest import invest_view

        return self.memo(chain, ("invest",), lambda: _rendered(invest_view(chain)))

    def trade(self, chain, importer: str):
        from minsec.web.trade import trade_view

        return self.memo(chain, ("trade", importer), lambda: _rendered(trade_view(chain, importer)))

    def planning_tables(self, chain):
        """The calibration, parameter and price tables under the Scenarios and Markets pages' forms."""
        from minsec.web.trade import calibration_tables, price_tables

        return self.memo(chain, ("planning-tables",),
                         lambda: {"calibration": calibration_tables(chain), "prices": price_tables(chain)})

    def price_models(self, chain, material: str):
        from minsec.web.trade import price_model_table, reference_table

        return self.memo(chain, ("price-models", material),
                         lambda: [price_model_table(chain, material), reference_table(chain, material)])

    def sources(self, chain):
        from minsec.web.trade import sources_view

        return self.memo(chain, ("sources",), lambda: _rendered(sources_view(chain)))

    def economic(self, chain):
        from minsec.web.economic import economic_view

        return self.memo(chain, ("economic",), lambda: _rendered(economic_view(chain)))

    def rules(self, chain):
        """The shipped policies and the example's verdict today (a new day may bring a new policy version)."""
        from minsec.web.rules import EXAMPLE_BOM, EXAMPLE_POLICY, policies_view

        today = dt.date.today()

        def build():
            document = chain.rules.check(EXAMPLE_BOM, EXAMPLE_POLICY, date=today).to_dict()
            return _rendered(policies_view(chain)) | {"example": verdict_html(document, "example")}

        return self.memo(chain, ("rules", today), build)

    def research(self, chain):
        from minsec.web.research import research_view

        return self.memo(chain, ("research",), lambda: _rendered(research_view(chain)))

    def risk(self, chain, importer: str):
        return self.memo(chain, ("risk", importer), lambda: _rendered(views.risk_matrix(chain, importer)))

    def warm(self) -> None:
        """Build the pages most people open first (in a background thread at start-up)."""
        try:
            chain = supply_chain()
            self.overview(chain)
            self.risk(chain, "USA")
            self.economic(chain)          # the partnership's ensemble, shared with the research page
            self.research(chain)
            self.planning_tables(chain)   # the calibration check under the Scenarios page reruns ten events
        except Exception:  # a broken dataset shows on the page that needs it, with its message
            pass


_DATA = WebData()


def shared_data() -> WebData:
    """One page cache per process (every app in the process serves the same bundled data)."""
    return _DATA


def warm() -> None:
    """The start-up hook of ``create_app(..., warm_pages=True)``: fill the per-process page cache."""
    _DATA.warm()


def _rendered(view: dict[str, Any]) -> dict[str, Any]:
    """A view with its figures serialised (once: pages are cached)."""
    return view | {"figures": {name: to_json(f) for name, f in view.get("figures", {}).items()}}


class SignInRequiredError(MinsecError):
    """A page asked for without a session: the visitor is sent to sign in and brought back."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def sign_in_first(request: Request, exc: SignInRequiredError) -> Response:
    """The app's handler of :class:`SignInRequiredError`."""
    return RedirectResponse(f"/login?next={_quote(exc.target)}", status_code=303)


async def signed_in(request: Request, caller: Viewer) -> Principal:
    if caller is None:
        raise SignInRequiredError(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
    return caller


SignedIn = Annotated[Principal, Depends(signed_in)]
router = APIRouter(include_in_schema=False)


def page(request: Request, caller: Principal | None, template: str, active: str, title: str,
         status: int = 200, **context: Any) -> Response:
    started = time.perf_counter()
    html = render(template, request=request, caller=caller, active=active, title=title, nav=NAVIGATION,
                  versions=request.app.state.web_assets.versions, **context)
    elapsed = (time.perf_counter() - started) * 1000
    return HTMLResponse(html, status_code=status, headers={"Content-Security-Policy": CSP,
                                                           "Cache-Control": "no-store",
                                                           "Server-Timing": f"render;dur={elapsed:.1f}"})


@router.get("/static/{name:path}")
def static(name: str, request: Request) -> Response:
    asset = request.app.state.web_assets.files.get(name)
    if asset is None:
        return _plain("not found", 404)
    return asset.response(request)


@router.get("/login")
def login_page(request: Request, caller: Viewer, next: str = "/") -> Response:
    if caller is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return page(request, None, "login.html", "", "Sign in", next=_safe_next(next))


@router.get("/")
def overview_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "overview.html", "overview", "Overview", view=_DATA.overview(chain))


@router.get("/materials")
def materials_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "materials.html", "materials", "Materials", materials=views.materials_index(chain))


@router.get("/materials/{material}")
def material_page(material: str, request: Request, caller: SignedIn, chain: Chain) -> Response:
    try:
        view = _DATA.material(chain, material)
    except MinsecError as exc:
        return page(request, caller, "error.html", "materials", "Unknown material", message=str(exc), status=404)
    return page(request, caller, "material.html", "materials", view["name"], view=view,
                preload_geometry=any(name.startswith("map-") for name in view["figures"]))


@router.get("/commitments")
def commitments_page(request: Request, caller: SignedIn, chain: Chain, database: Db) -> Response:
    from minsec.service.sharing import stock_reporting
    from minsec.web.commitments import reports_view

    # the reports change with every submission: read them on each visit (dates only, never a quantity)
    today = dt.date.today()
    status = stock_reporting(database, chain.rules.commitments(date=today), chain.groups)
    return page(request, caller, "commitments.html", "commitments", "Commitments", view=_DATA.commitments(chain),
                reports=reports_view(status, today))


@router.get("/rules")
def rules_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    from minsec.data import library
    from minsec.web.rules import EXAMPLE_BOM, EXAMPLE_POLICY

    return page(request, caller, "rules.html", "rules", "Rules", view=_DATA.rules(chain),
                example_bom=library.example(EXAMPLE_BOM).read_text(), example_policy=EXAMPLE_POLICY,
                example_policy_yaml=(library.folder("policies") / f"{EXAMPLE_POLICY}.yaml").read_text(),
                today=dt.date.today().isoformat())


@router.post("/ui/rules/verdict")
def rules_verdict(body: RulesCheck, request: Request, caller: Viewer, chain: Chain) -> Response:
    """A posted bill of materials' verdict as an HTML fragment (inserted by the /rules page's script); the same
    check as ``POST /api/rules/check``, errors as plain text naming the field or line."""
    if caller is None:
        return _plain("authentication required", 401)
    from minsec.service.rules_check import check_document

    try:
        document = check_document(chain, body)
    except MinsecError as exc:
        return _plain(str(exc), 422)
    return HTMLResponse(verdict_html(document, uuid.uuid4().hex[:8]), headers={"Cache-Control": "no-store"})


@router.post("/ui/rules/policy")
def rules_policy(body: PolicyText, request: Request, caller: Viewer, chain: Chain) -> Response:
    """A posted policy validated, its versions and rules as an HTML fragment (the /rules page); a problem is
    plain text naming its line (``POST /api/rules/validate``)."""
    if caller is None:
        return _plain("authentication required", 401)
    from minsec.service.rules_check import validated
    from minsec.web.rules import policies_table

    try:
        table = validated(chain, body)
    except MinsecError as exc:
        return _plain(str(exc), 422)
    html = render("rules_policy.html", table=policies_table(table, "policy-versions", "Your policy: valid"))
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def verdict_html(document: dict, token: str) -> str:
    """A verdict document drawn as the /rules page's result fragment (figure ids prefixed by ``token``)."""
    from minsec.web.rules import verdict_view

    return render("rules_verdict.html", view=_rendered(verdict_view(document)), token=token,
                  verdict=document.get("verdict", "unknown"), policy=document.get("policy", "policy"))


def _unknown_importer(request: Request, caller: Principal, active: str, importer: str, choices) -> Response:
    return page(request, caller, "error.html", active, "Unknown importer", status=404,
                message=f"importer {importer!r} is not a partner or group; choose one of "
                        f"{', '.join(code for code, _ in choices)}")


@router.get("/trade")
def trade_page(request: Request, caller: SignedIn, chain: Chain, importer: str = "EU27") -> Response:
    choices = views.importer_choices(chain)
    if importer not in {code for code, _ in choices}:
        return _unknown_importer(request, caller, "trade", importer, choices)
    return page(request, caller, "trade.html", "trade", "Trade routes", view=_DATA.trade(chain, importer),
                importers=choices)


@router.get("/sources")
def sources_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "sources.html", "sources", "Data sources", view=_DATA.sources(chain))


@router.get("/economic")
def economic_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "economic.html", "economic", "Economic cost", view=_DATA.economic(chain))


@router.get("/invest")
def invest_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "invest.html", "invest", "Investments", view=_DATA.invest(chain))


@router.get("/research")
def research_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "research.html", "research", "Research", view=_DATA.research(chain))


@router.get("/rare-earths")
def rare_earths_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "rare_earths.html", "rare-earths", "Rare earths", view=_DATA.rare_earths(chain))


@router.get("/materials/{material}/rows/{table}.csv")
def material_rows(material: str, table: str, request: Request, caller: Viewer, chain: Chain, stage: str | None = None,
                  year: int | None = None) -> Response:
    """The source rows behind a material page's numbers, as CSV."""
    if caller is None:
        return _plain("authentication required", 401)
    try:
        material = chain.check_material(material)
    except MinsecError as exc:
        return _plain(str(exc), 404)
    if table == "production":
        rows = chain.production_table[(chain.production_table["material"] == material)
                                      & (chain.production_table["source"] == "usgs")]
        if stage:
            rows = rows[rows["stage"] == stage]
    elif table == "trade":
        rows = chain.trade[chain.trade["material"] == material]
        if year is not None:
            rows = rows[rows["year"] == year]
    elif table == "prices":
        from minsec.markets.series import MarketInputError, material_series

        try:
            series = material_series(chain, material)
        except MarketInputError as exc:
            return _plain(str(exc), 404)
        rows = series.table().assign(source=series.source)
    else:
        return _plain(f"unknown table {table!r}: production, trade or prices", 404)
    return _csv(rows, f"minsec-{material}-{table}.csv")


@router.get("/data/{table}.csv")
def data_csv(table: str, request: Request, caller: Viewer, chain: Chain, database: Db, stage: str | None = None,
             importer: str | None = None, material: str | None = None) -> Response:
    """Whole analysis tables behind the dashboard's pages, as CSV (the page's table names its download)."""
    if caller is None:
        return _plain("authentication required", 401)
    from minsec.web import downloads

    build = downloads.TABLES.get(table)
    if build is None:
        return _plain(f"unknown table {table!r}: {', '.join(sorted(downloads.TABLES))}", 404)
    try:
        rows = build(chain, stage=stage, importer=importer, material=material,
                     database=database)
    except MinsecError as exc:
        return _plain(str(exc), 422)
    return _csv(rows, f"minsec-{table}.csv")


@router.get("/risk")
def risk_page(request: Request, caller: SignedIn, chain: Chain, importer: str = "USA") -> Response:
    choices = views.importer_choices(chain)
    if importer not in {code for code, _ in choices}:
        return _unknown_importer(request, caller, "risk", importer, choices)
    return page(request, caller, "risk.html", "risk", "Risk matrix", view=_DATA.risk(chain, importer),
                choices=choices, importer=importer)


@router.get("/scenarios")
def scenarios_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    from minsec.scenarios.schema import library, load_scenario

    scenarios = [(name, load_scenario(path)) for name, path in sorted(library().items())]
    materials = views.materials_index(chain)
    return page(request, caller, "scenarios.html", "scenarios", "Scenarios", scenarios=scenarios,
                materials=materials, tables=_DATA.planning_tables(chain)["calibration"])


@router.get("/stockpile")
def stockpile_page(request: Request, caller: SignedIn) -> Response:
    return page(request, caller, "stockpile.html", "stockpile", "Stockpile")


@router.get("/markets")
def markets_page(request: Request, caller: SignedIn, chain: Chain, models: str = "copper") -> Response:
    series = chain.markets.price_series()
    priced = sorted(set(series["material"]))
    chosen = models if models in priced else "copper"
    return page(request, caller, "markets.html", "markets", "Markets", importers=views.importer_choices(chain),
                priced=priced, tables=_DATA.planning_tables(chain)["prices"], chosen=chosen,
                models=_DATA.price_models(chain, chosen))


@router.get("/alerts")
def alerts_page(request: Request, caller: SignedIn, chain: Chain) -> Response:
    return page(request, caller, "alerts.html", "alerts", "Alerts", materials=views.materials_index(chain))


@router.get("/ui/jobs/{job_id}")
def job_fragment(job_id: str, request: Request, caller: Viewer, database: Db) -> Response:
    """A finished job's figures and tables as an HTML fragment (inserted by the page's script)."""
    if caller is None:
        return _plain("authentication required", 401)
    from minsec.service.jobs import owned_job
    from minsec.service.sharing import NotFoundError

    try:
        with database.reading() as session:
            job = owned_job(session, caller, job_id)
            kind, status, result, error = job.kind, job.status, job.result, job.error
    except NotFoundError as exc:
        return _plain(str(exc), 404)
    if status != "done":
        return _plain(f"job {job_id} is {status}" + (f": {error}" if error else ""), 409)
    try:
        view = _rendered(job_views.job_result(kind, result or {}))
    except (KeyError, ValueError, TypeError) as exc:      # a result this page cannot draw: say so
        return _plain(f"the {kind} result cannot be shown here ({exc.__class__.__name__}: {exc}); download "
                      f"it from /api/jobs/{job_id}/result", 422)
    html = render("job_result.html", view=view, job_id=job_id, kind=kind)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _plain(text: str, status: int) -> Response:
    """An error a page's script (or a download link) shows as it is: plain text naming what is wrong."""
    return Response(text, status_code=status, media_type="text/plain")


def _csv(frame, filename: str) -> Response:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="/")


def _safe_next(target: str) -> str:
    """Only same-site paths (an open redirect would let a link send a signed-in user anywhere).  Browsers drop
    tabs and newlines from URLs and read a backslash as a slash, so "/\t/evil" would become "//evil"."""
    from urllib.parse import urlsplit

    if (not target.startswith("/") or any(c.isspace() or ord(c) < 32 or c == "\\" for c in target)
            or target.startswith("//")):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"
