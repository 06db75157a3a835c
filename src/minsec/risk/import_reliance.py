"""Net import reliance of an importer or group, from trade and production.

USGS definition (Mineral Commodity Summaries, "Net import reliance"): imports minus exports as a share of
apparent consumption, ``NIR = (M − X) / (P + M − X)``, with apparent consumption ``P + M − X``
(USGS also adjusts for stock changes, which are not in the bundled data — a documented difference).
For a group, M and X count only trade with economies outside the group and P sums the members.

Units are checked: trade (tonnes of product) is converted with the HS code's content factor to the
production series' basis, and only HS codes whose converted basis equals the production basis enter.
Where no HS code matches the basis, or the importer's production figure is not given, NIR is null and
``nir_note`` says why — never a silent mix of gross ore tonnes and contained metal, and never a withheld
production figure counted as zero (which would print NIR = 100 %).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def net_import_reliance(imports: np.ndarray, exports: np.ndarray, production: np.ndarray) -> np.ndarray:
    """NIR = (M − X) / (P + M − X); negative for net exporters; NaN where apparent consumption ≤ 0."""
    consumption = production + imports - exports
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(consumption > 0, (imports - exports) / consumption, np.nan)


def import_reliance_table(trade: pd.DataFrame, production: pd.DataFrame, hs_codes: pd.DataFrame,
                          entities: Mapping[str, frozenset[str]], years: list[int]) -> pd.DataFrame:
    """NIR per entity × material × stage × basis × year, with ``nir_note`` saying why wherever NIR is null.

    ``trade``: BACI flows; ``production``: tidy rows ``material, stage, country, year, value, basis, flag`` of one
    source; ``hs_codes``: the catalogue's HS table; ``entities``: name → member ISO3 codes.

    NIR is computed only where both sides are known: trade on the production series' basis (a flow BACI does not
    list is no trade, as BACI lists every non-zero flow) and a production figure of the entity.  A production
    figure the source does not give (withheld "W", not listed) is *not* zero, so NIR and apparent consumption
    are null there — never the 1.0 that counting it as zero would print; ``net_imports_t`` (M − X, a lower
    bound of apparent consumption) stays.  Trade whose basis does not match a
    production series of the year is kept as a row with a null NIR and a note, so nothing vanishes silently.
    """
    codes = hs_codes.dropna(subset=["content_factor"])
    flows = trade[trade["year"].isin(years)].merge(codes[["hs92", "material", "stage", "basis", "content_factor"]],
                                                   on="hs92", suffixes=("_trade", ""))
    flows = flows.assign(content_t=flows["quantity_t"] * flows["content_factor"])
    result = pd.concat([_entity_rows(entity, set(members), flows, production)
                        for entity, members in entities.items()], ignore_index=True)
    result = result[result["year"].isin(years)].copy()
    # the basis of each year's production series (a series may change basis between releases)
    series = production.drop_duplicates(["material", "stage", "year"], keep="last").set_index(
        ["material", "stage", "year"])["basis"]
    expected = series.reindex(pd.MultiIndex.from_frame(result[["material", "stage", "year"]])).to_numpy()
    on_basis = pd.Series(expected, index=result.index) == result["basis"]
    has_trade = result[["imports_t", "exports_t"]].notna().any(axis=1)
    known = (has_trade & result["production_t"].notna() & on_basis).to_numpy()
    imports = result["imports_t"].fillna(0.0).to_numpy()
    exports = result["exports_t"].fillna(0.0).to_numpy()
    produced = result["production_t"].fillna(0.0).to_numpy()      # masked below wherever it was missing
    consumption = produced + imports - exports
    result["net_import_reliance"] = np.where(known, net_import_reliance(imports, exports, produced), np.nan)
    result["apparent_consumption_t"] = np.where(known, consumption, np.nan)
    # M − X is known wherever trade is, and is a lower bound of consumption whatever production was
    result["net_imports_t"] = np.where((has_trade & on_basis).to_numpy(), imports - exports, np.nan)
    result["production_missing"] = result["production_t"].isna()
    source = str(production["source"].iloc[0]) if "source" in production and len(production) else "production"
    result["nir_note"] = _notes(result, has_trade.to_numpy(), on_basis.to_numpy(), expected, consumption,
                                hs_codes, source)
    result = result.drop(columns="production_flag")
    return result.sort_values(["importer", "material", "stage", "year"]).reset_index(drop=True)


def _entity_rows(entity: str, members: set[str], flows: pd.DataFrame, production: pd.DataFrame) -> pd.DataFrame:
    """Imports, exports and production of one entity (trade inside a group is neither), and the publisher's
    markers of the figures it does not give (``production_flag``: withheld, not_listed …)."""
    keys = ["material", "stage", "basis", "year"]
    inbound = flows[flows["importer"].isin(members) & ~flows["exporter"].isin(members)]
    outbound = flows[flows["exporter"].isin(members) & ~flows["importer"].isin(members)]
    imports = inbound.groupby(keys)["content_t"].sum(min_count=1)
    exports = outbound.groupby(keys)["content_t"].sum(min_count=1)
    own = production[production["country"].isin(members)]
    produced = own.groupby(keys)["value"].sum(min_count=1)
    blank = own[own["value"].isna()]
    # a group's production is unknown when any member's figure is (USGS "W" for the USA in the partnership):
    # summing the others would count the withheld member as producing nothing
    incomplete = blank.groupby(keys).size().reindex(produced.index).notna()
    produced = produced.mask(incomplete)
    if "flag" in blank and len(blank):
        named = blank["flag"].fillna("not given") if len(members) == 1 else \
            blank["country"] + " " + blank["flag"].fillna("not given")
        flags = named.groupby([blank[k] for k in keys]).agg(lambda f: ", ".join(sorted(set(f))))
    else:
        flags = pd.Series(dtype=object)
    index = imports.index.union(exports.index).union(produced.index)
    table = pd.DataFrame({"imports_t": imports.reindex(index), "exports_t": exports.reindex(index),
                          "production_t": produced.reindex(index),
                          "production_flag": flags.reindex(index)}).reset_index()
    table.insert(0, "importer", entity)
    return table


def _notes(result: pd.DataFrame, has_trade: np.ndarray, on_basis: np.ndarray, expected: np.ndarray,
           consumption: np.ndarray, hs_codes: pd.DataFrame, source: str) -> list[str]:
    """Why each null NIR is null ("" where NIR is a number), from the rows' own data and the HS catalogue."""
    notes = []
    for i, row in enumerate(result.itertuples(index=False)):
        if not on_basis[i]:
            series = f"its basis is {expected[i]}" if isinstance(expected[i], str) else "it has no such series"
            notes.append(f"trade on the {row.basis} basis, but no {source} {row.material} {row.stage} production "
                         f"on that basis in {row.year} ({series})")
        elif not has_trade[i]:
            notes.append(trade_gap(hs_codes, row.material, row.stage, row.basis))
        elif pd.isna(row.production_t):
            marker = row.production_flag if isinstance(row.production_flag, str) and row.production_flag \
                else "not listed"
            notes.append(f"no {source} production figure for {row.importer} ({marker.replace('_', ' ')}): "
                         "missing is not zero, so no NIR")
        elif consumption[i] <= 0:
            notes.append("apparent consumption P + M − X ≤ 0 (exports exceed production plus imports: stock "
                         "changes, re-exports or a basis mismatch)")
        else:
            notes.append("")
    return notes


def trade_gap(hs_codes: pd.DataFrame, material: str, stage: str, basis: str) -> str:
    """Why no trade enters a production series: the material's HS codes and why each does not convert to the
    series' stage and basis (another stage, another basis, no fixed content factor) — or, when some do, that
    BACI lists no flow of them for this importer."""
    codes = hs_codes[hs_codes["material"] == material]
    if codes.empty:
        return f"no HS code for {material} in the catalogue, so no trade to set against production"
    usable = codes[(codes["stage"] == stage) & (codes["basis"] == basis) & codes["content_factor"].notna()]
    if len(usable):
        return f"no trade with a quantity of HS {', '.join(usable['hs92'])} (the {basis} codes) in BACI"
    reasons = []
    for code in codes.itertuples(index=False):
        problems = [f"stage {code.stage}"] if code.stage != stage else []
        problems += [f"basis {code.basis}"] if code.basis != basis else []
        problems += ["no fixed content factor"] if pd.isna(code.content_factor) else []
        reasons.append(f"{code.hs92} ({', '.join(problems)})")
    return f"no HS code converts to the {stage} series' {basis} basis: {'; '.join(reasons)}"


def attach_usgs_published_nir(result: pd.DataFrame, salient: pd.DataFrame, importer: str = "USA") -> pd.DataFrame:
    """Add USGS's published US net import reliance (salient field ``NIR_pct``, latest release) beside minsec's.

    ``usgs_nir_published`` keeps USGS's text (bounds such as ">75", "E" = net exporter); ``usgs_nir`` is the
    numeric share (0–1) where USGS gives a number; ``usgs_nir_release`` the release it is from.  USGS's NIR
    is for the commodity as a whole (all stages, stock changes included, US Census trade); minsec's is per
    stage from BACI — see docs/methods.md.
    ``differs_from_published`` is true where the two lie more than :data:`NIR_TOLERANCE` apart (null where
    either is missing) and ``difference_note`` gives both figures and the gap.
    """
    nir = salient[salient["field"] == "NIR_pct"].sort_values("release")
    # a table covering both stages (copper) is compared with each stage
    both = nir[nir["stage"] == ""]
    nir = pd.concat([nir[nir["stage"] != ""], both.assign(stage="mining"), both.assign(stage="refining")])
    published = nir.drop_duplicates(["material", "stage", "year"], keep="last").set_index(["material", "stage", "year"])
    rows = result["importer"] == importer
    keys = pd.MultiIndex.from_frame(result.loc[rows, ["material", "stage", "year"]])
    out = result.copy()
    out["usgs_nir_published"] = ""
    out["usgs_nir"] = float("nan")
    out.loc[rows, "usgs_nir_published"] = published["value_raw"].reindex(keys).fillna("").to_numpy()
    out.loc[rows, "usgs_nir"] = (published["value"].reindex(keys) / 100.0).to_numpy()
    out["usgs_nir_release"] = ""   # the edition the published figure is from (MCS2026 revises MCS2024's)
    out.loc[rows, "usgs_nir_release"] = published["release"].reindex(keys).fillna("").to_numpy()
    compared = [compare_with_published(nir, text) if mine else (None, "")
                for nir, text, mine in zip(out["net_import_reliance"], out["usgs_nir_published"], rows, strict=True)]
    out["differs_from_published"] = pd.array([flag for flag, _ in compared], dtype="boolean")
    out["difference_note"] = [note for _, note in compared]
    return out


#: How far minsec's NIR may lie from USGS's published one before the row is flagged: 10 percentage points.
#: USGS's figure is commodity-wide (every form and stage, US Census trade, changes in government and industry
#: stocks) and rounded to whole percent; minsec's is one stage on one basis from BACI HS6 flows, without stock
#: changes.  Those differences move NIR by a few points in an ordinary year; beyond 10 points the two figures
#: are measuring different things (another production series, forms of trade missing from the HS codes) and a
#: reader must not take one for the other.  USGS bounds (">75", "<25") are compared with their bound: ">75" is
#: only contradicted below 65 %; "E" (net exporter, NIR < 0) is contradicted above +10 %.
NIR_TOLERANCE = 0.10


def compare_with_published(nir: float, published: str) -> tuple[bool | None, str]:
    """(differs beyond :data:`NIR_TOLERANCE`, a note) of minsec's NIR (0–1) against USGS's published text
    ("52", ">75", "<25", "E"); (None, "") where either side has no figure to compare."""
    text = (published or "").strip()
    if nir is None or pd.isna(nir) or not text:
        return None, ""
    mine = f"minsec {100 * nir:.1f} %"
    low, high, shown = _published_range(text)
    if low is None and high is None:
        return None, f"USGS publishes {text!r}: not a number, not compared"
    gap = max((low - nir) if low is not None else 0.0, (nir - high) if high is not None else 0.0)
    if gap > NIR_TOLERANCE:
        return True, (f"{mine} vs USGS {shown}: {100 * gap:.0f} percentage points outside it (tolerance ±"
                      f"{100 * NIR_TOLERANCE:.0f}); USGS counts the whole commodity and stock changes, minsec this "
                      "stage and basis from BACI — check which series differs before using either")
    return False, f"{mine} within ±{100 * NIR_TOLERANCE:.0f} points of USGS {shown}"


def _published_range(text: str) -> tuple[float | None, float | None, str]:
    """USGS's NIR text as the range it asserts (0–1): "52" → [0.52, 0.52]; ">75" → [0.75, —]; "<25" →
    [—, 0.25]; "E" (net exporter) → [—, 0]; anything else → (None, None)."""
    if text.upper() == "E":
        return None, 0.0, "E (net exporter)"
    bound, number = (text[0], text[1:]) if text[0] in "<>" else ("", text)
    try:
        value = float(number.strip()) / 100.0
    except ValueError:
        return None, None, text
    if bound == ">":
        return value, None, f"{text} %"
    if bound == "<":
        return None, value, f"{text} %"
    return value, value, f"{text} %"
