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

    ``trade`` must carry ``material`` and ``stage`` columns (see :class:`minsec.model.SupplyChain`).
    """
    partners = set(partners)
    flows = entity_imports(trade[trade["year"].isin(list(years))], membership_table(entities))
    flows = flows.loc[~flows["internal"] & flows[measure].notna()]
    flows = flows.assign(from_partner=flows["exporter"].isin(partners))
    keys = ["entity", "material", "stage", "year"]
    total = flows.groupby(keys)[measure].sum()
    from_partners = flows[flows["from_partner"]].groupby(keys)[measure].sum().reindex(total.index, fill_value=0.0)
    outside = flows[~flows["from_partner"]].groupby([*keys, "exporter"])[measure].sum().rename("imports")
    outside = outside.reset_index()
    outside["supplier_share"] = outside["imports"] / outside.set_index(keys).index.map(total)
    outside = outside[outside["supplier_share"] > 0].sort_values([*keys, "supplier_share"],
                                                                  ascending=[True] * 4 + [False])
    top = outside.groupby(keys).first()
    summary = pd.DataFrame({"imports": total, "partner_share": (from_partners / total).where(total > 0)})
    summary["outside_share"] = 1.0 - summary["partner_share"]
    summary["top_outside_supplier"] = top["exporter"].reindex(summary.index).fillna("")
    summary["max_outside_share"] = top["supplier_share"].reindex(summary.index).fillna(0.0)
    summary["exceeds_65pct"] = summary["max_outside_share"] > CRMA_SINGLE_COUNTRY_BENCHMARK
    return summary.reset_index().rename(columns={"entity": "importer"}), outside.rename(
        columns={"entity": "importer", "exporter": "supplier"}).reset_index(drop=True)
