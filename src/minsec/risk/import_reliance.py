"""Net import reliance of an importer or group, from trade and production.

USGS definition (Mineral Commodity Summaries, "Net import reliance"): imports minus exports as a share of
apparent consumption, ``NIR = (M − X) / (P + M − X)``, with apparent consumption ``P + M − X``
(USGS also adjusts for stock changes, which are not in the bundled data — a documented difference).
For a group, M and X count only trade with economies outside the group and P sums the members.

Units are checked: trade (tonnes of product) is converted with the HS code's content factor to the
production series' basis, and only HS codes whose converted basis equals the production basis enter.
Where no HS code matches the basis, NIR is missing and ``basis_note`` says why — never a silent mix of
gross ore tonnes and contained metal.
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
    """NIR per entity × material × stage × year.

    ``trade``: BACI flows; ``production``: tidy rows ``material, stage, country, year, value, basis`` of one
    source; ``hs_codes``: the catalogue's HS table; ``entities``: name → member ISO3 codes.
    """
    codes = hs_codes.dropna(subset=["content_factor"])
    flows = trade[trade["year"].isin(years)].merge(codes[["hs92", "material", "stage", "basis", "content_factor"]],
                                                   on="hs92", suffixes=("_trade", ""))
    flows = flows.assign(content_t=flows["quantity_t"] * flows["content_factor"])
    series_basis = production.drop_duplicates(["material", "stage"]).set_index(["material", "stage"])["basis"]
    rows = []
    for entity, members in entities.items():
        members = set(members)
        inbound = flows[flows["importer"].isin(members) & ~flows["exporter"].isin(members)]
        outbound = flows[flows["exporter"].isin(members) & ~flows["importer"].isin(members)]
        keys = ["material", "stage", "basis", "year"]
        imports = inbound.groupby(keys)["content_t"].sum(min_count=1)
        exports = outbound.groupby(keys)["content_t"].sum(min_count=1)
        own = production[production["country"].isin(members)]
        produced = own.groupby(["material", "stage", "basis", "year"])["value"].sum(min_count=1)
        index = imports.index.union(exports.index).union(produced.index)
        table = pd.DataFrame({"imports_t": imports.reindex(index), "exports_t": exports.reindex(index),
                              "production_t": produced.reindex(index)}).reset_index()
        table.insert(0, "importer", entity)
        rows.append(table)
    result = pd.concat(rows, ignore_index=True)
    result = result[result["year"].isin(years)]
    expected = result.set_index(["material", "stage"]).index.map(series_basis)
    matches = pd.Series(expected, index=result.index) == result["basis"]
    result = result[matches.to_numpy()].copy()
    has_trade = result[["imports_t", "exports_t"]].notna().any(axis=1)
    imports = result["imports_t"].fillna(0.0).to_numpy()
    exports = result["exports_t"].fillna(0.0).to_numpy()
    produced = result["production_t"].fillna(0.0).to_numpy()
    nir = net_import_reliance(imports, exports, produced)
    result["net_import_reliance"] = np.where(has_trade, nir, np.nan)
    result["apparent_consumption_t"] = produced + imports - exports
    result["production_missing"] = result["production_t"].isna()
    return result.sort_values(["importer", "material", "stage", "year"]).reset_index(drop=True)


def attach_usgs_published_nir(result: pd.DataFrame, salient: pd.DataFrame, importer: str = "USA") -> pd.DataFrame:
    """Add USGS's published US net import reliance (salient field ``NIR_pct``, latest release) beside minsec's.

    ``usgs_nir_published`` keeps USGS's text (bounds such as ">75", "E" = net exporter); ``usgs_nir`` is the
    numeric share (0–1) where USGS gives a number.  USGS's NIR is for the commodity as a whole (all stages,
    stock changes included, US Census trade); minsec's is per stage from BACI — see docs/methods.md.
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
    return out
