"""Partner routes: where an importer's (or group's) imports come from — partners vs outside suppliers.

For entity *E* (a partner economy or a group such as EU27 or the whole partnership), material *m*, stage *s*,
year *t*, with imports q_j from exporter j (tonnes of product; trade inside a group is not an import of the
group):

    partner_share  = Σ_{j ∈ partnership} q_j / Σ_j q_j
    outside_share  = 1 − partner_share
    supplier_share_j = q_j / Σ_j q_j       for each outside supplier j

The EU CRMA import-dependence view is the same calculation for E = EU27 (extra-EU imports by stage), with
``max_outside_share > 0.65`` flagging dependence on one third country for that stage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from minsec.risk.concentration import CRMA_SINGLE_COUNTRY_BENCHMARK
from minsec.risk.entities import entity_imports, membership_table


def import_sources(trade: pd.DataFrame, entities: Mapping[str, Iterable[str]], partners: Iterable[str],
                   years: Iterable[int], measure: str = "quantity_t") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary per entity × material × stage × year, shares per outside supplier).

    ``trade`` must carry ``material`` and ``stage`` columns (see :class:`minsec.model.SupplyChain`); the stage is
    the HS code's own (catalogue ``hs_codes.csv``: HS 2846 rare-earth compounds are ``refining``), listed in
    ``hs92``.  A flow BACI gives a value but no quantity for cannot be shared out by tonnes: it is left out of
    the shares, and ``unquantified_value_share`` says how much of the import value that is (where ``trade`` has
    ``value_kusd``).  Where no flow has a quantity the shares are null, never 0.
    """
    partners = set(partners)
    keys = ["entity", "material", "stage", "year"]
    attributed = entity_imports(trade[trade["year"].isin(list(years))], membership_table(entities))
    attributed = attributed.loc[~attributed["internal"]]
    attributed = attributed.assign(from_partner=attributed["exporter"].isin(partners))
    flows = attributed.loc[attributed[measure].notna()]
    cells = attributed.groupby(keys).size().index
    total = flows.groupby(keys)[measure].sum().reindex(cells)
    from_partners = flows[flows["from_partner"]].groupby(keys)[measure].sum().reindex(cells, fill_value=0.0)
    outside = flows[~flows["from_partner"]].groupby([*keys, "exporter"])[measure].sum().rename("imports")
    outside = outside.reset_index()
    outside["supplier_share"] = outside["imports"] / outside.set_index(keys).index.map(total)
    outside = outside[outside["supplier_share"] > 0].sort_values([*keys, "supplier_share"],
                                                                  ascending=[True] * 4 + [False])
    top = outside.groupby(keys).first()
    known = total > 0
    summary = pd.DataFrame({"imports": total, "partner_share": (from_partners / total).where(known)})
    summary["outside_share"] = 1.0 - summary["partner_share"]
    summary["top_outside_supplier"] = top["exporter"].reindex(summary.index).fillna("")
    # 0 only where it is one: every tonne came from partners; unknown where no flow has a quantity
    summary["max_outside_share"] = top["supplier_share"].reindex(summary.index).fillna(0.0).where(known)
    exceeds = summary["max_outside_share"] > CRMA_SINGLE_COUNTRY_BENCHMARK
    summary["exceeds_65pct"] = pd.array(exceeds.where(known), dtype="boolean")
    if "hs92" in attributed:
        summary["hs92"] = attributed.groupby(keys)["hs92"].agg(lambda c: ";".join(sorted(set(c)))).reindex(cells)
    if "value_kusd" in attributed and measure != "value_kusd":
        value = attributed.groupby(keys)["value_kusd"].sum(min_count=1).reindex(cells)
        missing = attributed[attributed[measure].isna()].groupby(keys)["value_kusd"].sum().reindex(cells,
                                                                                                   fill_value=0.0)
        summary["unquantified_value_share"] = (missing / value).where(value > 0)
    return summary.reset_index().rename(columns={"entity": "importer"}), outside.rename(
        columns={"entity": "importer", "exporter": "supplier"}).reset_index(drop=True)
