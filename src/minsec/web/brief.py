"""Briefings: one material on one or two pages — key figures, a map, a chart, recorded export controls and the
sources — as a self-contained HTML file (plotly.js and the map geometry inside, so it opens offline wherever it
is forwarded) or a PDF printed by Chromium.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd

from minsec.data import catalogue
from minsec.errors import InputError, MinsecError
from minsec.web import figures, views

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--disable-gpu"]
PRINT_WIDTH = 680       # px: A4 portrait less 15 mm margins at 96 dpi

SOURCES = [
    ("USGS Mineral Commodity Summaries 2026 (earlier years: 2024 and 2023)", "world production by country "
     "(mining and refining) 2021–2025e, US apparent consumption and prices; public domain",
     "https://www.usgs.gov/centers/national-minerals-information-center"),
    ("World Mining Data 2025 (Austrian Federal Ministry of Finance)", "production used by the GeoPolRisk score",
     "https://www.world-mining-data.info/"),
    ("CEPII BACI (HS92)", "bilateral trade in the material's HS codes", "http://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37"),
    ("World Bank Worldwide Governance Indicators", "political stability of suppliers", "https://www.worldbank.org/en/publication/worldwide-governance-indicators"),
    ("World Bank Commodity Price Data (Pink Sheet)", "monthly prices", "https://www.worldbank.org/en/research/commodity-markets"),
    ("MOFCOM/GAC export-control announcements 2023–2026; USGS MCS 2026 Table 4", "recorded measures with their "
     "sources; status computed on the briefing's date", "http://exportcontrol.mofcom.gov.cn/"),
    ("USGS Minerals Yearbook 2022, Rare Earths (Table 2) and minsec's sourced rare-earth facts", "rare earths by "
     "element and stage: element content of mine output from deposit profiles; separation, metal and magnet output "
     "from company reports and industry statistics (Lynas, MP Materials, Argus, SMM, US DOE), each cited by record",
     "https://www.usgs.gov/centers/national-minerals-information-center/rare-earths-statistics-and-information"),
]


class BriefError(InputError):
    """A briefing that cannot be made (unknown material or importer, unsupported output, no Chromium)."""


def importer_summary(chain, material: str, importer: str) -> tuple[list[dict[str, str]], pd.DataFrame]:
    """Key figures for one importer: GeoPolRisk (latest year) and the share of its imports from outside the
    partnership (BACI, latest year)."""
    from minsec.risk.tables import geopolrisk_table, routes_table

    keys: list[dict[str, str]] = []
    try:
        gpr = geopolrisk_table(chain, importer, "all", material)
    except MinsecError:                 # e.g. an importer without trade in the overlap years
        gpr = pd.DataFrame()
    if len(gpr):
        last = gpr.sort_values("year").groupby("stage").tail(1)
        for row in last.itertuples():
            value = (f"{row.geopolrisk_score:.3f} = HHI {row.hhi:.2f} × import risk {row.import_risk:.2f}"
                     if pd.notna(row.geopolrisk_score) else f"no data — {row.reason}")
            keys.append({"label": f"GeoPolRisk {importer} ({row.stage}, {row.year})", "value": value})
    years = sorted(int(y) for y in chain.trade.loc[chain.trade["material"] == material, "year"].unique())
    routes = pd.DataFrame()
    if years:
        routes = routes_table(chain, importer, str(years[-1]), material, False)
        for row in routes.to_dict(orient="records"):
            if pd.notna(row["outside_share"]):
                keys.append({"label": f"{importer} imports from outside the partnership ({row['stage']}, "
                                      f"{row['year']})",
                             "value": f"{100 * row['outside_share']:.0f} %, largest {row['top_outside_supplier']} "
                                      f"{100 * row['max_outside_share']:.0f} %"})
    return keys, routes


def briefing_html(chain, material: str, importer: str | None = None, today: dt.date | None = None) -> str:
    """The briefing as one self-contained HTML document; export controls show their status on ``today``
    (default: today), computed as the web page and the early warnings compute it."""
    from minsec.web.templating import STATIC, plotly_js_path

    if importer is not None and importer not in chain.groups:
        from minsec.data.countries import UnknownCountryError, normalise_iso3

        try:
            importer = normalise_iso3(importer)
        except UnknownCountryError:
            raise BriefError(f"--importer {importer!r}: not an ISO 3166-1 alpha-3 code (e.g. USA, JPN) or a group "
                             f"({', '.join(chain.groups.names)})") from None
    today = today or dt.date.today()
    try:
        view = views.material(chain, material, as_of=today)
    except MinsecError as exc:
        raise BriefError(str(exc)) from None
    keys = [{k: v for k, v in key.items() if k != "source"} for key in view["key_figures"]]  # no page to link
    if importer is not None:
        extra, _ = importer_summary(chain, view["material"], importer)
        keys.extend(extra)
    stage = "refining" if "map-refining" in view["figures"] else "mining"
    chosen = {"map": view["figures"].get(f"map-{stage}"),
              "chart": view["figures"].get("sankey") or view["figures"].get(f"shares-{stage}")}
    charts = {}
    for name, figure in chosen.items():
        if figure is None:
            continue
        figure["layout"] |= {"width": PRINT_WIDTH, "height": 300 if name == "map" else 330}
        charts[name] = figures.to_json(figure)
    controls = next((t for t in view["tables"] if t.id == "export-controls"), None)
    concentration = next((t for t in view["tables"] if t.id == "concentration"), None)
    research = next((t for t in view["tables"] if t.id == "research"), None)
    chain_table = _rare_earth_chain(chain, view["material"], charts)
    geometry = (STATIC / "geo" / "world_110m.json").read_text()
    return _document(view, keys, charts, controls, concentration, importer, today, plotly_js_path().read_text(),
                     geometry, chain_table, research)


def _rare_earth_chain(chain, material: str, charts: dict[str, str]):
    """For rare earths, an element or magnets: the chain table (mine → separation → metal → magnet, each stage's
    concentration) and, into ``charts``, China's share by stage and the element prices 2018–2025."""
    from minsec.web.rare_earths import CHAIN_MATERIALS, rare_earth_view

    parent = catalogue.materials()["parent"].get(material, "")
    if material not in ("rare_earths", "ndfeb_magnets", "smco_magnets") and parent != "rare_earths":
        return None
    view = rare_earth_view(chain)
    for name in ("chain", "prices"):
        if name in view["figures"]:
            figure = view["figures"][name]
            figure["layout"] |= {"width": PRINT_WIDTH, "height": 330}
            charts[f"ree-{name}"] = figures.to_json(figure)
    table = next(t for t in view["tables"] if t.id == "chain")
    table.rows = [row for row in table.rows if row["material"] in CHAIN_MATERIALS]
    table.title = "The rare-earth chain: mine → separation → metal → magnet (latest year per stage)"
    return table


def _document(view: dict[str, Any], keys: list[dict[str, str]], charts: dict[str, str], controls, concentration,
              importer: str | None, today: dt.date, plotly_js: str, geometry: str, chain_table=None,
              research=None) -> str:
    from markupsafe import Markup

    from minsec.web.templating import render

    # scripts go in verbatim (they are ours and the data's JSON, with "</" escaped so no string closes the tag)
    figure_data = json.dumps({n: json.loads(f) for n, f in charts.items()}).replace("</", "<\\/")
    return render("brief.html", view=view, keys=keys, charts=list(charts), controls=controls, chain=chain_table,
                  research=research, usd=views.Column("budget_usd", "", "usd"),
                  concentration=concentration, importer=importer, today=today.isoformat(), sources=SOURCES,
                  formulas=f"{views.CONCENTRATION_FORMULA} {views.GEOPOLRISK_FORMULA}", width=PRINT_WIDTH,
                  plotly_js=Markup(plotly_js), geometry=Markup(geometry.replace("</", "<\\/")),
                  figure_data=Markup(figure_data))


def write_brief(html_text: str, out: Path, chromium: str = CHROMIUM) -> Path:
    """Write the briefing as HTML, or print it to PDF with Chromium (``.pdf``)."""
    suffix = out.suffix.lower()
    if suffix in (".html", ".htm"):
        out.write_text(html_text, encoding="utf-8")
        return out
    if suffix != ".pdf":
        raise BriefError(f"--out {out}: the briefing is written as .html or .pdf")
    if not Path(chromium).exists():
        raise BriefError(f"a PDF needs Chromium at {chromium} (Debian: apt-get install chromium); or write "
                         f"{out.with_suffix('.html').name} and print it from a browser")
    from playwright.sync_api import sync_playwright

    partial = out.with_name(out.name + ".partial")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_content(html_text, wait_until="load")
            page.wait_for_function("() => document.body.dataset.rendered", timeout=30_000)
            if page.evaluate("document.body.dataset.rendered") != "1":
                raise BriefError("the briefing's charts failed to draw")
            page.pdf(path=str(partial), format="A4", print_background=True,
                     margin={"top": "15mm", "bottom": "15mm", "left": "15mm", "right": "15mm"})
        finally:
            browser.close()
    partial.replace(out)
    return out
