"""The analysis tables shown by the CLI, the service and the dashboard: concentration, GeoPolRisk, import
reliance and partner routes over the loaded supply chain, with validated selections (unknown material, year
or stage raise ``ValueError``/``KeyError`` naming the value)."""

from __future__ import annotations


def concentration_table(chain, source: str, material: str | None, stage: str | None, year: int | None):
    import pandas as pd

    from minsec.risk.concentration import concentration

    if source not in ("usgs", "wmd"):
        raise ValueError(f"unknown source {source!r}: use usgs or wmd")
    production = chain.production.sel(source=source, drop=True)
    world = chain.world_total.sel(source=source, drop=True)
    result = concentration(production, world).to_dataframe().reset_index()
    if material is not None:
        chain.check_material(material)
        result = result[result["material"] == material]
    if stage is not None:
        if stage not in ("mining", "refining"):
            raise ValueError(f"unknown stage {stage!r}: use mining or refining")
        result = result[result["stage"] == stage]
    if year is not None:
        available = sorted(int(y) for y in set(result["year"]))
        if year not in available:
            raise ValueError(f"year {year} not in the data (available: {available})")
        result = result[result["year"] == year]
    result = result[result["world_total"].notna()].copy()
    basis = chain.basis.sel(source=source).to_series()
    units = chain.units.sel(source=source).to_series()
    keys = pd.MultiIndex.from_frame(result[["material", "stage"]])
    result.insert(3, "source", source)
    result["unit"] = units.reindex(keys).to_numpy()
    result["basis"] = basis.reindex(keys).to_numpy()
    columns = ["material", "stage", "year", "source", "world_total", "unit", "basis", "top_country", "top_share",
               "hhi", "hhi_upper", "n_producers", "unallocated_share", "exceeds_65pct"]
    return result[columns].sort_values(["material", "stage", "year"]).reset_index(drop=True)


def overlap_years(chain, year: str) -> list[int]:
    available = sorted(int(y) for y in set(chain.trade["year"].unique()) & set(chain.production.year.values))
    if year == "all":
        return [y for y in available if 2018 <= y <= 2022] or available
    if not year.isdigit() or int(year) not in available:
        raise ValueError(f"year {year!r} not available (trade and WMD production overlap: {available})")
    return [int(year)]


def importers(chain, importer: str) -> list[str] | None:
    from minsec.data import countries

    if importer == "all":
        return None
    if importer in chain.groups:
        return [importer]
    return [countries.normalise_iso3(importer)]


def geopolrisk_table(chain, importer: str, year: str, material: str | None):
    from minsec.data import catalogue

    materials = [chain.check_material(material)] if material else None
    result = chain.geopolrisk(overlap_years(chain, year), importers(chain, importer), materials)
    result.insert(2, "material_name", result["material"].map(catalogue.materials()["name"]))
    return result


def trade_years(chain, year: str) -> list[int]:
    """All trade years, or the one asked for (validated)."""
    years = sorted(int(y) for y in set(chain.trade["year"].unique()))
    if year == "all":
        return years
    if not year.isdigit() or int(year) not in years:
        raise ValueError(f"year {year!r} not in the trade data ({years[0]}–{years[-1]})")
    return [int(year)]


def import_reliance_records(chain, importer: str, year: str, material: str | None, source: str):
    from minsec.data import catalogue
    from minsec.risk.import_reliance import attach_usgs_published_nir, import_reliance_table

    years = trade_years(chain, year)
    entities = chain.groups.all_members() if importer == "all" else {importer: chain.members(importer)}
    production = chain.production_table[(chain.production_table["source"] == source)]
    result = import_reliance_table(chain.trade, production, catalogue.hs_codes(), entities, years)
    if "USA" in entities and len(chain.us_salient):
        result = attach_usgs_published_nir(result, chain.us_salient)
    if material is not None:
        result = result[result["material"] == chain.check_material(material)]
    return result[result["net_import_reliance"].notna()].reset_index(drop=True)


def routes_table(chain, importer: str, year: str, material: str | None, suppliers: bool):
    from minsec.risk.routes import import_sources

    years = trade_years(chain, year)
    if importer == "all":
        partnership = chain.groups.members("partnership")
        entities = chain.groups.all_members() | {code: frozenset({code}) for code in sorted(partnership)}
    else:
        entities = {importer: chain.members(importer)}
    trade = chain.trade
    if material is not None:
        trade = trade[trade["material"] == chain.check_material(material)]
    summary, outside = import_sources(trade, entities, chain.groups.members("partnership"), years)
    return outside if suppliers else summary


def overview_sections(chain, year: int | None = None, top: int = 10) -> dict:
    """The risk overview's tables, titled: the most concentrated materials per stage, CRMA 65 % breaches by
    third countries, and the top GeoPolRisk scores of the US and the EU (``minsec overview``, the dashboard)."""
    from minsec.data import catalogue

    usgs_years = chain.years("usgs")
    conc_year = year or max(usgs_years)
    conc = concentration_table(chain, "usgs", None, None, conc_year)
    conc["name"] = conc["material"].map(catalogue.materials()["name"])
    sections = {}
    for stage in ("mining", "refining"):
        sections[f"Most concentrated — {stage} ({conc_year}, USGS)"] = (
            conc[conc["stage"] == stage].sort_values("hhi", ascending=False).head(top)
            [["material", "name", "top_country", "top_share", "hhi", "n_producers", "world_total", "unit"]])
    eu = chain.groups.members("EU27")
    breaches = conc[conc["exceeds_65pct"] & ~conc["top_country"].isin(eu)]
    sections[f"CRMA benchmark: one third country > 65 % of world supply ({conc_year})"] = (
        breaches.sort_values("top_share", ascending=False)[["material", "name", "stage", "top_country",
                                                             "top_share"]])
    gpr_year = max(overlap_years(chain, "all"))
    gpr = geopolrisk_table(chain, "all", str(gpr_year), None)
    for entity in ("USA", "EU27"):
        sections[f"Top GeoPolRisk scores — {entity} ({gpr_year})"] = (
            gpr[gpr["importer"] == entity].sort_values("geopolrisk_score", ascending=False).head(top)
            [["material", "material_name", "hhi", "import_risk", "geopolrisk_score", "imputed_exporters"]])
    return sections
