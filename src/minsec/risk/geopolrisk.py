"""GeoPolRisk: geopolitical supply risk of an importer for a raw material.

Method: Gemechu et al. (2016), *J. Ind. Ecol.* 20(1):154–165, doi:10.1111/jiec.12279; Koyamparambath et al.
(2024), *Int. J. LCA*, and the reference implementation geopolrisk-py 2.0.1 (doi:10.21105/joss.09600).
For importer *i*, material *m*, year *t*::

    HHI_m,t      = Σ_c P_c² / (Σ_c P_c)²                  production P by country (World Mining Data),
                                                         aggregate "Total" rows excluded, missing = 0
    IR_i,m,t     = Σ_j q_ij · PS_j,t / (Σ_j q_ij + P_i)    q_ij imports (t) from exporter j (BACI, the HS
                                                         codes the method pairs with m), P_i domestic
                                                         production (t), PS_j,t the WGI Political Stability
                                                         score normalised to 0–1 (1 = least stable)
    GPRS_i,m,t   = HHI_m,t · IR_i,m,t
    CF_i,m,t     = GPRS_i,m,t · p_i,m,t / CF_Cu            p = Σ value / Σ quantity of the imports (USD/kg),
                                                         CF_Cu = 0.409412948, the average copper CF of OECD
                                                         countries 2017–2021 → CF in kg Cu-eq / kg

Missing political-stability scores are imputed with 0.5 as the published method prescribes; every exporter
so imputed is listed in ``imputed_exporters``.  Flows without a quantity carry no tonnage (the method
reads them as 0 t); the average price uses only flows with both value and quantity.

Groups (EU27, the partnership) are one economic entity: ``intra_group="exclude"`` (default) counts only
imports from outside the group and the members' summed production; ``"zero_risk"`` keeps intra-group
imports in the denominator with PS = 0, as geopolrisk-py does for its "EU" region.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from minsec.errors import InputError
from minsec.risk.entities import entity_imports, membership_table

if TYPE_CHECKING:   # labelled arrays are accepted, but the method runs on pandas alone
    import xarray as xr

CF_COPPER = 0.409412948
IMPUTED_POLITICAL_STABILITY = 0.5

OUTPUT_COLUMNS = ["importer", "material", "stage", "year", "hhi", "import_risk", "geopolrisk_score",
                  "characterisation_factor", "imports_t", "domestic_production_t", "price_usd_per_kg",
                  "imputed_exporters", "reason"]


def _as_series(values: xr.DataArray | pd.Series) -> pd.Series:
    """A labelled array or an already tidy Series (index = its dimensions) as a Series without missing cells."""
    series = values.to_series() if hasattr(values, "to_series") else values   # DataArray or Series
    return series.dropna()


def production_hhi(production: xr.DataArray | pd.Series, dim: str = "country") -> xr.DataArray | pd.Series:
    """HHI of production as the GeoPolRisk method defines it: Σ P_c² / (Σ P_c)² over ``dim``, missing treated
    as 0 (NaN where nothing is produced) — per every other dimension (material, stage, year).

    Unlike :func:`minsec.risk.concentration.herfindahl_hirschman_index`, shares are relative to the sum
    over listed countries, not to a published world total.  A labelled array gives a labelled array, a tidy
    Series (index = the dimensions) a Series named ``hhi``.
    """
    series = _as_series(production)
    by = [name for name in series.index.names if name != dim]
    total = series.groupby(level=by).sum()
    hhi = ((series**2).groupby(level=by).sum() / total**2).where(total > 0).rename("hhi")
    if hasattr(production, "to_series"):
        import xarray as xr

        return xr.DataArray.from_series(hhi)
    return hhi


def import_risk(numerator: np.ndarray, imports: np.ndarray, domestic: np.ndarray) -> np.ndarray:
    """IR = Σ q·PS / (Σ q + P_domestic); NaN where the importer neither imports nor produces."""
    denominator = imports + domestic
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def _entities(importers: Iterable[str] | None, groups: Mapping[str, Iterable[str]], economies: np.ndarray,
              ) -> dict[str, Iterable[str]]:
    """Entities to compute: each wanted single economy (its own only member) and each wanted group."""
    singles = economies if importers is None else [i for i in importers if i not in groups]
    wanted_groups = groups if importers is None else {g: groups[g] for g in importers if g in groups}
    return {code: [code] for code in singles} | dict(wanted_groups)


def geopolrisk(
    trade: pd.DataFrame,
    production: xr.DataArray | pd.Series,
    political_stability: xr.DataArray | pd.Series,
    series_hs: pd.DataFrame,
    years: Iterable[int],
    importers: Iterable[str] | None = None,
    groups: Mapping[str, Iterable[str]] | None = None,
    intra_group: Literal["exclude", "zero_risk"] = "exclude",
) -> pd.DataFrame:
    """GeoPolRisk for every importer × material × year at once (vectorised; no loop over elements).

    Parameters
    ----------
    trade:
        BACI flows: ``year, exporter, importer, hs92, value_kusd, quantity_t``.
    production:
        ``material × stage × country × year`` production on the publisher's basis (tonnes), economies only
        (a labelled array, or a Series with that index).
    political_stability:
        ``country × year`` normalised PV scores in [0, 1] (NaN = missing → imputed 0.5); array or Series.
    series_hs:
        ``material, stage, hs92``: the HS codes paired with each production series.
    years, importers, groups:
        Years to compute; importer ISO3 codes and/or group names (default: every importing economy and
        every group); group name → member ISO3 codes.
    intra_group:
        How a group's internal trade counts (see module docstring).

    Returns a tidy table with :data:`OUTPUT_COLUMNS`, one row per importer × material × stage × year that
    has imports or domestic production.  Production series that no HS code is paired with (gallium,
    indium, potash, rhenium … in HS 1992) get one row per entity and year with every figure missing and
    ``reason`` saying why — never an import risk of 0 computed from domestic production alone.  Named
    ``importers`` get a row for every series and year: where the importer neither imports nor produces, the
    import risk is 0/0 and stays missing with the reason (with ``importers=None`` such pairs are left out).
    """
    if intra_group not in ("exclude", "zero_risk"):
        raise InputError(f"intra_group must be 'exclude' or 'zero_risk', not {intra_group!r}")
    years = sorted(set(int(y) for y in years))
    production = _as_series(production)
    production = production[production.index.get_level_values("year").isin(years)]
    covered = sorted(int(y) for y in production.index.get_level_values("year").unique())
    hhi = production_hhi(production)
    flows = _priced_flows(trade, series_hs, _as_series(political_stability), years)
    traded = flows.groupby(["material", "stage", "year"]).size()   # world-wide flows, before any entity filter
    economies = np.union1d(flows["importer"].unique(), production.index.get_level_values("country").unique())
    members = membership_table(_entities(importers, dict(groups or {}), economies))
    flows = entity_imports(flows, members)
    if intra_group == "exclude":
        flows = flows.loc[~flows["internal"]]
    else:
        flows = flows.assign(ps=np.where(flows["internal"], 0.0, flows["ps"]),
                             imputed=flows["imputed"] & ~flows["internal"])
    flows = flows.assign(weighted=flows["q"] * flows["ps"])

    result = _scores(_supply(flows, production, members).merge(hhi.reset_index(), on=["material", "stage", "year"],
                                                                how="left"))
    blind = _blind_series(production, series_hs, traded, covered)
    measured = ~pd.MultiIndex.from_frame(result[["material", "stage", "year"]]).isin(
        pd.MultiIndex.from_frame(blind[["material", "stage", "year"]]))
    no_hhi = ("no production figures for " + result["material"] + " in " + result["year"].astype(str)
              + ", so its production HHI (and the score) cannot be computed")
    result = result.assign(reason=no_hhi.where(result["hhi"].isna(), None))
    result = pd.concat([result[measured], _null_rows(blind, members["entity"].unique(), hhi)],
                       ignore_index=True)
    if importers is not None:   # named importers: every material and year answered, a number or why not
        result = pd.concat([result, _unmeasured_rows(result, members["entity"].unique(), hhi)], ignore_index=True)
    return result[OUTPUT_COLUMNS].sort_values(["importer", "material", "stage", "year"]).reset_index(drop=True)


def _supply(flows: pd.DataFrame, production: pd.Series, members: pd.DataFrame) -> pd.DataFrame:
    """Per entity × series × year: imports ``imports_t``, Σ q·PS ``numerator``, import value, domestic production
    and the exporters whose PS was imputed — the terms of the import risk."""
    keys = ["entity", "material", "stage", "year"]
    summed = flows.groupby(keys, sort=False)[["weighted", "q", "v"]].sum()
    imputed_list = (flows.loc[flows["imputed"] & (flows["q"] > 0)]
                    .groupby(keys, sort=False)["exporter"].agg(lambda s: ",".join(sorted(set(s)))))
    domestic = _domestic_production(production, members, keys)
    index = summed.index.union(domestic.index)
    result = pd.DataFrame(index=index)
    result["imports_t"] = summed["q"].reindex(index).fillna(0.0)
    result["numerator"] = summed["weighted"].reindex(index).fillna(0.0)
    result["value_kusd"] = summed["v"].reindex(index).fillna(0.0)
    result["domestic_production_t"] = domestic.reindex(index).fillna(0.0)
    result["imputed_exporters"] = imputed_list.astype(object).reindex(index).fillna("")
    return result.reset_index().rename(columns={"entity": "importer"})


def _blind_series(production: pd.Series, series_hs: pd.DataFrame, traded: pd.Series,
                  years: list[int]) -> pd.DataFrame:
    """``material, stage, year, reason`` for each production series whose import risk trade cannot measure:
    no HS code paired with it, or paired codes with no flow anywhere in that year (HS 811230 germanium after
    the HS 2007 re-coding)."""
    series = production.index.droplevel(["country", "year"]).unique().to_frame(index=False)
    grid = series.merge(pd.DataFrame({"year": years}), how="cross")
    codes = series_hs.groupby(["material", "stage"])["hs92"].agg(lambda c: "/".join(sorted(set(c))))
    key = pd.MultiIndex.from_frame(grid[["material", "stage", "year"]])
    code = codes.reindex(pd.MultiIndex.from_frame(grid[["material", "stage"]])).to_numpy()
    count = traded.reindex(key).fillna(0).to_numpy()
    unpaired = pd.isna(code)
    grid["reason"] = np.where(
        unpaired,
        "the GeoPolRisk method pairs no HS 1992 trade code with " + grid["material"] + "'s production series "
        "(none, or none on its basis), so its import risk cannot be computed",
        "HS " + pd.Series(code, dtype=object).fillna("").astype(str) + " recorded no flow anywhere in "
        + grid["year"].astype(str) + " (BACI), so trade cannot measure " + grid["material"] + "'s import risk")
    return grid[unpaired | (count == 0)].reset_index(drop=True)


def _unmeasured_rows(result: pd.DataFrame, entities: np.ndarray, hhi: pd.Series) -> pd.DataFrame:
    """Rows, with the reason, for each entity × series × year with an HHI that the entity neither imports nor
    produces: the import risk Σq·PS / (Σq + P) is 0/0 there (geopolrisk-py writes 0; minsec leaves it missing)."""
    series = hhi.dropna().reset_index()
    grid = series.merge(pd.DataFrame({"importer": entities}), how="cross")
    keys = ["importer", "material", "stage", "year"]
    present = pd.MultiIndex.from_frame(result[keys])
    grid = grid[~pd.MultiIndex.from_frame(grid[keys]).isin(present)].reset_index(drop=True)
    grid["reason"] = (grid["importer"] + " neither imports (BACI) nor produces (WMD) " + grid["material"] + " in "
                      + grid["year"].astype(str) + ": there is no supply whose risk could be measured")
    grid["imputed_exporters"] = ""
    return grid.reindex(columns=OUTPUT_COLUMNS)


def _null_rows(blind: pd.DataFrame, entities: np.ndarray, hhi: pd.Series) -> pd.DataFrame:
    """One row per entity × blind series-year: the HHI (production alone gives it), every import figure
    missing, and the reason."""
    rows = blind.loc[np.repeat(blind.index.to_numpy(), len(entities))].reset_index(drop=True)
    rows["importer"] = np.tile(entities, len(blind))
    rows["imputed_exporters"] = ""
    rows = rows.merge(hhi.reset_index(), on=["material", "stage", "year"], how="left")
    return rows.reindex(columns=OUTPUT_COLUMNS)


def _priced_flows(trade: pd.DataFrame, series_hs: pd.DataFrame, political_stability: pd.Series,
                  years: list[int]) -> pd.DataFrame:
    """The years' flows of the method's HS codes with tonnage ``q`` (missing → 0 t, as the method reads them),
    value ``v`` (only where value and quantity are both given), the exporter's PS score ``ps`` and whether
    it was ``imputed`` (0.5)."""
    flows = trade.loc[trade["year"].isin(years), ["year", "exporter", "importer", "hs92", "value_kusd",
                                                  "quantity_t"]]
    flows = flows.merge(series_hs[["material", "stage", "hs92"]], on="hs92", how="inner")
    quantity = flows["quantity_t"].fillna(0.0).to_numpy()
    priced = flows["quantity_t"].notna() & flows["value_kusd"].notna()
    flows = flows.assign(q=quantity, v=np.where(priced, flows["value_kusd"].fillna(0.0), 0.0))
    exporter_years = pd.MultiIndex.from_arrays([flows["exporter"], flows["year"].astype("int64")])
    score = political_stability.reindex(exporter_years).to_numpy()
    imputed = np.isnan(score)
    return flows.assign(ps=np.where(imputed, IMPUTED_POLITICAL_STABILITY, score), imputed=imputed)


def _domestic_production(production: pd.Series, members: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Each entity's production (sum over its members), on the production series' own basis."""
    prod = production
    prod = prod[prod.index.get_level_values("country").isin(members["country"].unique())]
    prod_frame = prod.rename("p").reset_index().merge(members, on="country", how="inner")
    return prod_frame.groupby(keys, sort=False)["p"].sum()


def _scores(result: pd.DataFrame) -> pd.DataFrame:
    """IR, the average import price, GPRS = HHI × IR and CF = GPRS × price / CF_Cu (module docstring)."""
    result["import_risk"] = import_risk(result["numerator"].to_numpy(), result["imports_t"].to_numpy(),
                                        result["domestic_production_t"].to_numpy())
    with np.errstate(invalid="ignore", divide="ignore"):
        price = np.where(result["imports_t"] > 0, result["value_kusd"] / result["imports_t"], np.nan)
    result["price_usd_per_kg"] = price  # thousand USD per tonne = USD per kg
    result["geopolrisk_score"] = result["hhi"] * result["import_risk"]
    # no imports → score 0 and no import price: the factor is 0, not undefined
    result["characterisation_factor"] = np.where(result["geopolrisk_score"] == 0, 0.0,
                                                 result["geopolrisk_score"] * result["price_usd_per_kg"] / CF_COPPER)
    return result[result["import_risk"].notna()]
