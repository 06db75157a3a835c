"""What each dashboard page and briefing shows, assembled from the loaded data: pure functions returning tables
(with their sources and formulas) and figures.  No I/O here: the callers pass the supply chain and tables.

A :class:`Table` carries the formula that produced its numbers and the address of the source rows behind
them, so every figure on a page can be traced: page → table → formula → CSV of the rows used.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries
from minsec.errors import MinsecError
from minsec.web import figures
from minsec.web.shares import SOURCE_LABEL, production_shares, shares_over_time, source_of

PARTNER_ENTITIES = ("USA", "EU27", "JPN", "KOR", "CAN", "AUS", "GBR")


@dataclass
class Column:
    key: str
    label: str
    kind: str = "text"          # text | int | year | float | share (0–1 shown as %) | usd | link
    digits: int = 3


@dataclass
class Table:
    """A table as shown: columns, rows (raw values; formatted by :func:`cell`), and where it comes from."""

    id: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    source: str = ""
    formula: str = ""
    download: str | None = None
    empty: str = "No rows."
    links: dict[str, str] = field(default_factory=dict)   # column key → URL pattern with {value}

    def records(self) -> list[dict[str, Any]]:
        return [{c.key: row.get(c.key) for c in self.columns} for row in self.rows]


def cell(value: Any, column: Column) -> str:
    """A value as text for a table cell (``no data`` for missing: never a 0, never a blank)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "no data"
    if column.kind in ("share", "int", "usd", "float", "year") and not isinstance(value, int | float | np.number):
        return str(value)
    if column.kind == "year":             # 2026, never 2,026
        return f"{float(value):.0f}"
    if column.kind == "share":
        return f"{100 * float(value):.1f} %"
    if column.kind == "int":
        return f"{float(value):,.0f}"
    if column.kind == "usd":
        v = float(value)
        sign, v = ("−" if v < 0 else ""), abs(v)
        for scale, suffix in ((1e9, " bn"), (1e6, " M")):
            if v >= scale:
                return f"{sign}US${v / scale:,.{column.digits}g}{suffix}"
        return f"{sign}US${v:,.0f}"
    if column.kind == "float":
        v = float(value)
        return f"{v:,.{column.digits}g}" if abs(v) < 1e3 else f"{v:,.0f}"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    return str(value)


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return frame.replace({np.nan: None}).to_dict(orient="records")


CONCENTRATION_FORMULA = ("share_i = production_i / max(published world total, Σ named); HHI = Σ share_i² "
                         "(0–1; > 0.25 highly concentrated, US DOJ/FTC 2023); CRMA benchmark: no single third "
                         "country > 65 % (Regulation (EU) 2024/1252, Art. 5(1)(b)).")
GEOPOLRISK_FORMULA = ("GeoPolRisk = HHI × Σ_j (imports_j / (imports + domestic production)) × (1 − political "
                      "stability_j, WGI normalised); characterisation factor = score × price (Gemechu et al. 2016; "
                      "geopolrisk-py 2.0.1).")


# ------------------------------------------------------------------------------------------------ overview
def overview(chain, top: int = 10) -> dict[str, Any]:
    """Overview: most concentrated materials per stage, CRMA 65 % breaches, top GeoPolRisk for US and EU."""
    from minsec.risk.tables import overview_sections

    sections = overview_sections(chain, None, top)
    titles = list(sections)
    tables, charts = [], {}
    conc_columns = [Column("material", "Material", "link"), Column("name", "Name"),
                    Column("top_country", "Top producer"), Column("top_share", "Top share", "share"),
                    Column("hhi", "HHI", "float"), Column("n_producers", "Producers", "int"),
                    Column("world_total", "World total", "int"), Column("unit", "Unit")]
    for stage, title in zip(("mining", "refining"), titles[:2], strict=True):
        frame = sections[title]
        tables.append(Table(f"concentration-{stage}", title, conc_columns, _rows(frame),
                            source="USGS MCS 2026 (2024–2025e; MCS 2024/2023 before)",
                            formula=CONCENTRATION_FORMULA, download=f"/data/concentration.csv?stage={stage}"))
        charts[f"hhi-{stage}"] = figures.bars(frame.assign(label=frame["name"]), "label", "hhi", title,
                                              "HHI (0–1)", threshold=0.25, threshold_label="0.25: highly "
                                              "concentrated")
    breach_columns = [Column("material", "Material", "link"), Column("name", "Name"), Column("stage", "Stage"),
                      Column("top_country", "Country"), Column("top_share", "Share of world", "share")]
    tables.append(Table("crma-breaches", titles[2], breach_columns, _rows(sections[titles[2]]),
                        source="USGS MCS 2026 (years before 2024: MCS 2024, 2023)", formula=CONCENTRATION_FORMULA,
                        download="/data/concentration.csv"))
    gpr_columns = [Column("material", "Material", "link"), Column("material_name", "Name"),
                   Column("hhi", "HHI", "float"), Column("import_risk", "Import risk", "float"),
                   Column("geopolrisk_score", "GeoPolRisk", "float"),
                   Column("imputed_exporters", "Imputed exporters", "int")]
    for entity, title in zip(("USA", "EU27"), titles[3:5], strict=True):
        tables.append(Table(f"geopolrisk-{entity}", title, gpr_columns, _rows(sections[title]),
                            source="World Mining Data 2025, CEPII BACI, World Bank WGI", formula=GEOPOLRISK_FORMULA,
                            download=f"/data/geopolrisk.csv?importer={entity}"))
    return {"tables": tables, "figures": charts}


# ------------------------------------------------------------------------------------------------ material
def partner_flows(trade: pd.DataFrame, groups, material: str, year: int, top: int = 10) -> pd.DataFrame:
    """Imports of ``material`` (all its HS codes) into each partner entity in ``year``, by supplier, in thousand
    USD (BACI); EU27 members count as one entity, so intra-EU trade is left out; the smaller suppliers are
    summed as "other suppliers"."""
    eu = groups.members("EU27")
    partners = {e: (eu if e == "EU27" else frozenset({e})) for e in PARTNER_ENTITIES}
    entity_of = {c: e for e, members in partners.items() for c in members}
    rows = trade[(trade["material"] == material) & (trade["year"] == year)]
    rows = rows[rows["importer"].isin(entity_of)]
    target = rows["importer"].map(entity_of)
    source = rows["exporter"].where(~rows["exporter"].isin(eu), "EU27")
    keep = (source != target).to_numpy()
    flows = (pd.DataFrame({"source": source[keep], "target": target[keep], "value": rows["value_kusd"][keep]})
             .groupby(["source", "target"], as_index=False)["value"].sum())
    if flows.empty:
        return flows
    ranking = flows.groupby("source")["value"].sum().sort_values(ascending=False)
    leaders = set(ranking.index[:top])
    flows["source"] = flows["source"].where(flows["source"].isin(leaders), "other suppliers")
    flows = flows.groupby(["source", "target"], as_index=False)["value"].sum()
    order = {s: i for i, s in enumerate([*ranking.index[:top], "other suppliers"])}
    return flows.sort_values(["source", "value"], key=lambda s: s.map(order) if s.name == "source" else -s,
                             ignore_index=True)


def export_controls_of(controls: pd.DataFrame, material: str) -> pd.DataFrame:
    """Recorded export-control measures covering ``material`` (MOFCOM/GAC announcements)."""
    if controls is None or controls.empty:
        return pd.DataFrame()
    covered = [material in catalogue.control_materials(e, s)
               for e, s in zip(controls["elements"], controls["materials_scope"], strict=True)]
    return controls[np.array(covered, dtype=bool)]


def material(chain, material_id: str, as_of: dt.date | None = None) -> dict[str, Any]:
    """Everything the material page shows, from the SupplyChain's tables (production, trade, governance, prices,
    US salient statistics, export controls with their status on ``as_of``, default today)."""
    material_id = chain.check_material(material_id)
    info = catalogue.materials().loc[material_id]
    page = _MaterialPage(material_id, f"/materials/{material_id}")
    _production_sections(page, chain)
    _concentration_section(page, chain)
    _geopolrisk_section(page, chain)
    _trade_section(page, chain)
    _price_section(page, chain)
    _export_controls_section(page, chain, as_of or dt.date.today())
    research = chain.research.programmes(material=material_id)
    research = research[research["materials"].map(lambda ms: material_id in ms)]   # the material's own
    page.tables.append(Table("research", "Public research programmes on this material", [
        Column("programme", "Programme"), Column("project", "Project"), Column("partner", "Partner"),
        Column("budget_usd", "US$", "usd"), Column("start_year", "From", "year"), Column("source_title", "Source")],
        _rows(research.drop(columns=["materials", "stages"])),
        source="minsec research registry (data/raw/research/PROVENANCE.md; sources per row)",
        empty="No programme in the registry names this material (general critical-minerals programmes are on "
              "/research)."))
    return {"material": material_id, "name": str(info["name"]), "family": str(info["family"]),
            "eu_crma": str(info["eu_crma_2023"]), "us_critical": str(info["us_critical_2025"]),
            "note": str(info["note"]) if isinstance(info["note"], str) else "",
            "key_figures": page.key_figures, "tables": page.tables, "figures": page.charts}


@dataclass
class _MaterialPage:
    """What the material page's sections add to, in page order: figures, tables and key figures."""

    material: str
    base: str
    charts: dict[str, Any] = field(default_factory=dict)
    tables: list[Table] = field(default_factory=list)
    key_figures: list[dict[str, str]] = field(default_factory=list)


def _production_sections(page: _MaterialPage, chain) -> None:
    """Per stage: the world map of shares, the shares over time and the table of the latest year."""
    share_columns = [Column("country", "Country"), Column("name", "Name"), Column("value", "Production", "int"),
                     Column("unit", "Unit"), Column("share", "Share of world", "share")]
    for stage in ("mining", "refining"):
        source = source_of(chain, page.material, stage)
        shares, year = production_shares(chain, page.material, stage, source=source)
        if year is None:
            continue
        who = "USGS" if source == "usgs" else "minsec, derived"
        page.charts[f"map-{stage}"] = figures.choropleth(shares, f"{stage.capitalize()}: share of world output, "
                                                         f"{year} ({who})")
        over_time = shares_over_time(chain, page.material, stage, source=source)
        page.charts[f"shares-{stage}"] = figures.lines(over_time, "year", "share", "country",
                                                       f"{stage.capitalize()}: shares over time ({who})",
                                                       "% of world", percent=True, dash={"rest of world": "dot"})
        page.tables.append(Table(f"shares-{stage}", f"{stage.capitalize()} by country, {year}", share_columns,
                                 _rows(shares), source=SOURCE_LABEL[source],
                                 formula="share = country production / published world total",
                                 download=f"{page.base}/rows/production.csv?stage={stage}"))
        top = shares.iloc[0] if len(shares) else None
        if top is not None:
            page.key_figures.append({"label": f"Top {stage} country ({year})",
                                     "value": f"{top['name']} {100 * top['share']:.0f} %",
                                     "source": f"#shares-{stage}"})


def _concentration_section(page: _MaterialPage, chain) -> None:
    from minsec.risk.tables import concentration_table

    conc = concentration_table(chain, "auto", page.material, None, None)
    if not len(conc):
        return
    page.charts["hhi"] = figures.lines(conc, "year", "hhi", "stage", "Concentration over time (HHI, USGS)",
                                       "HHI (0–1)")
    page.tables.append(Table("concentration", "Concentration by stage and year", [
        Column("stage", "Stage"), Column("year", "Year"), Column("top_country", "Top producer"),
        Column("top_share", "Top share", "share"), Column("hhi", "HHI", "float"),
        Column("hhi_upper", "HHI (upper)", "float"), Column("n_producers", "Producers", "int"),
        Column("unallocated_share", "Unallocated", "share"), Column("exceeds_65pct", "> 65 %")],
        _rows(conc), source="; ".join(SOURCE_LABEL[x] for x in dict.fromkeys(conc["source"])),
        formula=CONCENTRATION_FORMULA +
        " hhi_upper counts the unallocated remainder as one producer.",
        download=f"{page.base}/rows/production.csv"))
    for stage, rows in conc.groupby("stage"):
        last = rows.sort_values("year").iloc[-1]
        page.key_figures.append({"label": f"HHI {stage} ({int(last['year'])})", "value": f"{last['hhi']:.2f}",
                                 "source": "#concentration"})


def _geopolrisk_section(page: _MaterialPage, chain) -> None:
    from minsec.risk.tables import geopolrisk_table

    try:
        gpr = geopolrisk_table(chain, "all", "all", page.material)
    except MinsecError:
        gpr = pd.DataFrame()
    gpr = gpr[gpr["importer"].isin(("USA", "EU27"))] if len(gpr) else gpr
    page.tables.append(Table("geopolrisk", "GeoPolRisk for the US and the EU, with its inputs", [
        Column("importer", "Importer"), Column("stage", "Stage"), Column("year", "Year"),
        Column("hhi", "HHI (WMD)", "float"), Column("import_risk", "Import risk", "float"),
        Column("geopolrisk_score", "GeoPolRisk", "float"), Column("imports_t", "Imports t", "int"),
        Column("domestic_production_t", "Domestic production t", "int"),
        Column("price_usd_per_kg", "Price US$/kg", "float"),
        Column("characterisation_factor", "CF US$/kg", "float"), Column("reason", "Why no figure")],
        _rows(gpr.sort_values(["importer", "year"])) if len(gpr) else [],
        source="World Mining Data 2025 (production 2018–2024), CEPII BACI HS92 (imports), World Bank WGI "
               "(political stability)",
        formula=GEOPOLRISK_FORMULA, download=f"/data/geopolrisk.csv?material={page.material}",
        empty="No GeoPolRisk score: World Mining Data has no production series for this material."))
    if len(gpr):
        series = gpr.assign(series=gpr["importer"] + " " + gpr["stage"]).sort_values(["series", "year"])
        page.charts["geopolrisk"] = figures.lines(series, "year", "geopolrisk_score", "series",
                                                  "GeoPolRisk score over time", "score")


def _trade_section(page: _MaterialPage, chain) -> None:
    trade_years = sorted(int(y) for y in chain.trade.loc[chain.trade["material"] == page.material, "year"].unique())
    if not trade_years:
        return
    year = trade_years[-1]
    flows = partner_flows(chain.trade, chain.groups, page.material, year)
    if len(flows):
        page.charts["sankey"] = figures.sankey(flows, f"Imports into the partners by supplier, {year} (BACI, "
                                               "thousand USD)")
        outside = flows[~flows["source"].isin([*PARTNER_ENTITIES, "other suppliers"])]
        page.key_figures.append({"label": f"Partner imports ({year})",
                                 "value": f"US${flows['value'].sum() / 1e3:,.0f} M", "source": "#flows"})
        if len(outside):
            lead = outside.groupby("source")["value"].sum().sort_values(ascending=False)
            page.key_figures.append({"label": "Largest outside supplier",
                                     "value": f"{lead.index[0]} {100 * lead.iloc[0] / flows['value'].sum():.0f} %",
                                     "source": "#flows"})
    page.tables.append(Table("flows", f"Imports into the partners by supplier, {year}", [
        Column("source", "Supplier"), Column("target", "Partner"), Column("value", "Thousand USD", "int")],
        _rows(flows), source="CEPII BACI HS92 (the material's HS codes; EU27 members as one importer, "
        "intra-EU trade left out)", formula="Σ value over the material's HS codes and the entity's members",
        download=f"{page.base}/rows/trade.csv?year={year}"))


def _price_section(page: _MaterialPage, chain) -> None:
    if not (len(chain.prices) or len(chain.us_salient)):
        return
    from minsec.markets.series import MarketInputError, material_series

    try:
        series = material_series(chain, page.material)
    except MarketInputError:
        series = None
    if series is None or not len(series.prices):
        return
    frame = series.table().assign(series=series.label)
    page.charts["prices"] = figures.lines(frame, "date", "price_usd_per_t", "series", "Price (USD/t, nominal)",
                                          "USD/t", mode="lines" if len(frame) > 40 else "lines+markers")
    page.key_figures.append({"label": f"Latest price ({str(series.dates[-1])[:7]})",
                             "value": f"US${series.prices[-1]:,.0f}/t", "source": "#prices"})
    page.tables.append(Table("prices", "Price series", [Column("source", "Source")],
                             [{"source": series.source}], source=series.source,
                             formula="price × the catalogue's conversion to USD/t",
                             download=f"{page.base}/rows/prices.csv"))


def _export_controls_section(page: _MaterialPage, chain, as_of: dt.date) -> None:
    from minsec.data.control_status import status_on

    # status on the whole record (an instrument's row declares a suspension), then this material's rows
    status = status_on(chain.export_controls, as_of)[["computed_status", "status_text"]]
    measures = export_controls_of(chain.export_controls, page.material)
    if len(measures):   # a record may cite several documents ("url; url"): link the primary one
        measures = measures.assign(primary_source_url=measures["primary_source_url"].astype(str)
                                   .str.split(";").str[0].str.strip()).join(status)
    control_columns = [Column("measure_id", "Measure"), Column("imposing_country", "Country"),
                       Column("announcement_en", "Announcement"), Column("announced_date_text", "Announced"),
                       Column("effective_date_text", "Effective"), Column("control_type", "Control"),
                       Column("status_text", f"Status on {as_of}"), Column("primary_source_url", "Source", "url")]
    page.tables.append(Table("export-controls", "Recorded export controls (MOFCOM/GAC; USGS MCS 2026 Table 4)",
                             control_columns, _rows(measures) if len(measures) else [],
                             source="MOFCOM/GAC announcements 2023–2026 and USGS MCS 2026 Table 4 (bundled record; "
                                    "status computed on the page's date)",
                             empty="No recorded export control covers this material."))


# ----------------------------------------------------------------------------------------------- risk matrix
def risk_matrix(chain, importer: str, year: str = "all") -> dict[str, Any]:
    """Supply risk (GeoPolRisk score) against importance (value of the importer's supply) per material × stage.

    Importance = (imports + domestic production) × price: what the importer's economy spends on the material,
    the measure of economic weight the GeoPolRisk inputs allow (the EU's economic-importance score needs
    sectoral value added that is not bundled)."""
    from minsec.risk.tables import geopolrisk_table, overlap_years

    years = overlap_years(chain, year)
    gpr = geopolrisk_table(chain, importer, str(max(years)), None)
    gpr = gpr[gpr["importer"] == importer] if "importer" in gpr else gpr
    frame = gpr.copy()
    supply_t = frame["imports_t"] + frame["domestic_production_t"]
    frame["supply_value_usd"] = supply_t * frame["price_usd_per_kg"] * 1000.0
    frame["import_share"] = np.where(supply_t > 0, frame["imports_t"] / supply_t.where(supply_t > 0), np.nan)
    frame = frame.sort_values("geopolrisk_score", ascending=False, ignore_index=True)
    plotted = frame[(frame["supply_value_usd"] > 0) & frame["geopolrisk_score"].notna()]
    chart = figures.risk_matrix(plotted, f"Risk matrix — {importer}, {max(years)}")
    table = Table("risk-matrix", f"Supply risk and importance — {importer}, {max(years)}", [
        Column("material", "Material", "link"), Column("material_name", "Name"), Column("stage", "Stage"),
        Column("geopolrisk_score", "GeoPolRisk", "float"), Column("hhi", "HHI", "float"),
        Column("import_risk", "Import risk", "float"), Column("import_share", "Import share", "share"),
        Column("supply_value_usd", "Value of supply", "usd"), Column("imports_t", "Imports t", "int"),
        Column("domestic_production_t", "Production t", "int"), Column("price_usd_per_kg", "US$/kg", "float")],
        _rows(frame), source="World Mining Data 2025, CEPII BACI HS92, World Bank WGI, prices of the GeoPolRisk "
                             "method",
        formula=GEOPOLRISK_FORMULA + " Value of supply = (imports + domestic production) × price.",
        download=f"/data/geopolrisk.csv?importer={importer}")
    return {"importer": importer, "year": max(years), "tables": [table], "figures": {"matrix": chart},
            "plotted": len(plotted)}


def importer_choices(chain) -> list[tuple[str, str]]:
    """Importers the risk matrix can show: groups first, then the partner countries."""
    groups = [g for g in ("EU27", "partnership") if g in chain.groups]
    members = sorted(chain.groups.members("partnership")) if "partnership" in chain.groups else []
    return [(g, g) for g in groups] + [(c, f"{c} — {countries.country_name(c)}") for c in members]


def materials_index(chain) -> list[dict[str, str]]:
    info = catalogue.materials()
    return [{"id": m, "name": str(info.loc[m, "name"]), "family": str(info.loc[m, "family"])}
            for m in sorted(info.index)]
