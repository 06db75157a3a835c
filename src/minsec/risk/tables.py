"""The analysis tables shown by the CLI, the service and the dashboard: concentration, GeoPolRisk, import
reliance and partner routes over the loaded supply chain, with validated selections (an unknown material, year
or stage raises a :class:`~minsec.errors.MinsecError` naming the value).  ``sc.risk`` (:mod:`minsec.risk.accessor`)
is the public door to them; years are a year, ``"all"`` or a list of years."""

from __future__ import annotations

from collections.abc import Iterable

from minsec.errors import InputError

Years = int | str | Iterable[int]


def _check_source(source: str) -> None:
    if source not in ("usgs", "wmd"):
        raise InputError(f"unknown source {source!r}: use usgs or wmd")


def _entity(chain, importer: str) -> dict[str, frozenset[str]]:
    """{name: ISO3 members} of one importer: a group by its name, an economy by its normalised code."""
    members = chain.members(importer)
    return {importer if importer in chain.groups else next(iter(members)): members}


def concentration_table(chain, source: str, material: str | None, stage: str | None, year: int | None):
    import pandas as pd

    from minsec.risk.concentration import concentration

    _check_source(source)
    production = chain.production.sel(source=source, drop=True)
    world = chain.world_total.sel(source=source, drop=True)
    result = concentration(production, world).to_dataframe().reset_index()
    if material is not None:
        chain.check_material(material)
        result = result[result["material"] == material]
    if stage is not None:
        if stage not in ("mining", "refining"):
            raise InputError(f"unknown stage {stage!r}: use mining or refining")
        result = result[result["stage"] == stage]
    if year is not None:
        available = sorted(int(y) for y in set(result["year"]))
        if year not in available:
            raise InputError(f"year {year} not in the data (available: {available})")
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


def _chosen_years(year: Years, available: list[int], default: list[int], where: str) -> list[int]:
    """``"all"`` → ``default``; a year (int or digits) or a list of years, each checked against ``available``
    (``where`` completes the message: ``"year 1900 not available (…)"``)."""
    if isinstance(year, str) and year == "all":
        return default
    wanted = [year] if isinstance(year, int | str) else list(year)
    out = []
    for item in wanted:
        text = str(item).strip()
        if not text.isdigit() or int(text) not in available:
            raise InputError(f"year {item!r} {where}")
        out.append(int(text))
    return out


def overlap_years(chain, year: Years) -> list[int]:
    """Years of trade and production together (``"all"``: 2018–2022, the peer's window, where present)."""
    available = sorted(int(y) for y in set(chain.trade["year"].unique()) & set(chain.production.year.values))
    return _chosen_years(year, available, [y for y in available if 2018 <= y <= 2022] or available,
                         f"not available (trade and WMD production overlap: {available})")


def importers(chain, importer: str | Iterable[str]) -> list[str] | None:
    """``"all"`` → None (every economy and group); else the names, groups kept whole, codes normalised."""
    from minsec.data import countries

    if isinstance(importer, str) and importer == "all":
        return None
    names = [importer] if isinstance(importer, str) else list(importer)
    return [name if name in chain.groups else countries.normalise_iso3(name) for name in names]


def geopolrisk_scores(chain, years: list[int], importers: list[str] | None = None,
                      materials: list[str] | None = None, intra_group: str = "exclude"):
    """GeoPolRisk of importers (ISO3 or group names; None = all) × materials × years on the chain's WMD
    production, BACI trade and normalised WGI political stability (:func:`minsec.risk.geopolrisk.geopolrisk`)."""
    from minsec.risk.geopolrisk import geopolrisk

    inputs = chain.geopolrisk_inputs()
    if materials is not None:
        for material in materials:
            chain.check_material(material)
        inputs["production"] = inputs["production"].sel(material=[
            m for m in materials if m in inputs["production"].material.values])
        inputs["series_hs"] = inputs["series_hs"][inputs["series_hs"]["material"].isin(materials)]
    return geopolrisk(chain.trade, inputs["production"], inputs["political_stability"], inputs["series_hs"],
                      years, importers, chain.groups.all_members(), intra_group)  # type: ignore[arg-type]


def geopolrisk_table(chain, importer: str | Iterable[str], year: Years, material: str | None,
                     intra_group: str = "exclude"):
    from minsec.data import catalogue

    materials = [chain.check_material(material)] if material else None
    result = geopolrisk_scores(chain, overlap_years(chain, year), importers(chain, importer), materials,
                               intra_group)
    result.insert(2, "material_name", result["material"].map(catalogue.materials()["name"]))
    return result


def trade_years(chain, year: Years) -> list[int]:
    """All trade years, or the ones asked for (validated)."""
    years = sorted(int(y) for y in set(chain.trade["year"].unique()))
    span = f"{years[0]}–{years[-1]}" if years else "no years"
    return _chosen_years(year, years, years, f"not in the trade data ({span})")


def import_reliance_records(chain, importer: str, year: Years, material: str | None, source: str):
    from minsec.data import catalogue
    from minsec.risk.import_reliance import attach_usgs_published_nir, import_reliance_table

    _check_source(source)
    years = trade_years(chain, year)
    entities = chain.groups.all_members() if importer == "all" else _entity(chain, importer)
    production = chain.production_table[(chain.production_table["source"] == source)]
    result = import_reliance_table(chain.trade, production, catalogue.hs_codes(), entities, years)
    if "USA" in entities and len(chain.us_salient):
        result = attach_usgs_published_nir(result, chain.us_salient)
    if material is not None:
        result = result[result["material"] == chain.check_material(material)]
    return result[result["net_import_reliance"].notna()].reset_index(drop=True)


def routes_table(chain, importer: str, year: Years, material: str | None, suppliers: bool):
    from minsec.risk.routes import import_sources

    years = trade_years(chain, year)
    if importer == "all":
        partnership = chain.groups.members("partnership")
        entities = chain.groups.all_members() | {code: frozenset({code}) for code in sorted(partnership)}
    else:
        entities = _entity(chain, importer)
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
