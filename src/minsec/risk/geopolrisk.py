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
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from minsec.errors import InputError
from minsec.risk.entities import entity_imports, membership_table

CF_COPPER = 0.409412948
IMPUTED_POLITICAL_STABILITY = 0.5

OUTPUT_COLUMNS = ["importer", "material", "stage", "year", "hhi", "import_risk", "geopolrisk_score",
                  "characterisation_factor", "imports_t", "domestic_production_t", "price_usd_per_kg",
                  "imputed_exporters"]


def production_hhi(production: xr.DataArray, dim: str = "country") -> xr.DataArray:
    """HHI of production as the GeoPolRisk method defines it: Σ P_c² / (Σ P_c)², missing treated as 0.

    Unlike :func:`minsec.risk.concentration.herfindahl_hirschman_index`, shares are relative to the sum
    over listed countries, not to a published world total.
    """
    filled = production.fillna(0.0)
    total = filled.sum(dim)
    return ((filled**2).sum(dim) / total**2).where(total > 0)


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
    production: xr.DataArray,
    political_stability: xr.DataArray,
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
        ``material × stage × country × year`` production on the publisher's basis (tonnes), economies only.
    political_stability:
        ``country × year`` normalised PV scores in [0, 1] (NaN = missing → imputed 0.5).
    series_hs:
        ``material, stage, hs92``: the HS codes paired with each production series.
    years, importers, groups:
        Years to compute; importer ISO3 codes and/or group names (default: every importing economy and
        every group); group name → member ISO3 codes.
    intra_group:
        How a group's internal trade counts (see module docstring).

    Returns a tidy table with :data:`OUTPUT_COLUMNS`, one row per importer × material × stage × year that
    has imports or domestic production.
    """
    if intra_group not in ("exclude", "zero_risk"):
        raise InputError(f"intra_group must be 'exclude' or 'zero_risk', not {intra_group!r}")
    years = sorted(set(int(y) for y in years))
    hhi = production_hhi(production.sel(year=[y for y in years if y in production.year.values]))
    flows = _priced_flows(trade, series_hs, political_stability, years)
    economies = np.union1d(flows["importer"].unique(), production.country.values)
    members = membership_table(_entities(importers, dict(groups or {}), economies))
    flows = entity_imports(flows, members)
    if intra_group == "exclude":
        flows = flows.loc[~flows["internal"]]
    else:
        flows = flows.assign(ps=np.where(flows["internal"], 0.0, flows["ps"]),
                             imputed=flows["imputed"] & ~flows["internal"])
    flows = flows.assign(weighted=flows["q"] * flows["ps"])

    keys = ["entity", "material", "stage", "year"]
    summed = flows.groupby(keys, sort=False)[["weighted", "q", "v"]].sum()
    imputed_list = (flows.loc[flows["imputed"] & (flows["q"] > 0)]
                    .groupby(keys, sort=False)["exporter"].agg(lambda s: ",".join(sorted(set(s)))))
    domestic = _domestic_production(production.sel(year=hhi.year), members, keys)

    index = summed.index.union(domestic.index)
    result = pd.DataFrame(index=index)
    result["imports_t"] = summed["q"].reindex(index).fillna(0.0)
    result["numerator"] = summed["weighted"].reindex(index).fillna(0.0)
    result["value_kusd"] = summed["v"].reindex(index).fillna(0.0)
    result["domestic_production_t"] = domestic.reindex(index).fillna(0.0)
    result["imputed_exporters"] = imputed_list.astype(object).reindex(index).fillna("")
    result = result.reset_index().rename(columns={"entity": "importer"})
    result = _scores(result.merge(hhi.to_series().rename("hhi").reset_index(), on=["material", "stage", "year"],
                                  how="left"))
    return result[OUTPUT_COLUMNS].sort_values(["importer", "material", "stage", "year"]).reset_index(drop=True)


def _priced_flows(trade: pd.DataFrame, series_hs: pd.DataFrame, political_stability: xr.DataArray,
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
    ps = political_stability.to_series().dropna()
    score = ps.reindex(pd.MultiIndex.from_arrays([flows["exporter"], flows["year"].astype("int64")])).to_numpy()
    imputed = np.isnan(score)
    return flows.assign(ps=np.where(imputed, IMPUTED_POLITICAL_STABILITY, score), imputed=imputed)


def _domestic_production(production: xr.DataArray, members: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Each entity's production (sum over its members), on the production series' own basis."""
    prod = production.to_series().dropna()
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
