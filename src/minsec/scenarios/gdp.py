"""GDP lost per tonne short and per scenario row, for every market × region (docs/methods.md, "Economic cost").

The market model gives each region's shortfall and price over the horizon; :mod:`minsec.risk.io_model` turns a
tonne short into GDP lost through the first-using industries and their domestic suppliers.  A region's loss on a
material is counted once, at the stage it buys (its *use market*: the most downstream of the material's markets
where it has demand — Japan's magnet makers buy Dy metal, the USA yttrium oxide), as the stockpile model does.

Per region *r* and use market *m* over a horizon with demand *D* (t), shortfall *S* (t), mean price rise
*x̄ − 1* and the share of its use it imports net, *n = (D − own output)/D*:

    GDP loss = S · q_mr  +  (x̄ − 1) · P_m · (D − S) · n

with *q_mr* the GDP lost per tonne short (quantity channel) and the second term the extra cost of what is still
bought abroad (or, for a net exporter, the gain).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from minsec.risk import io_model
from minsec.scenarios.baseline import REST_OF_WORLD


@dataclass(frozen=True)
class Coefficients:
    """Per market × region (rows of :attr:`table`): GDP lost per tonne short (``usd_per_t``, NaN with a
    ``reason`` where it cannot be computed), the region's net import share, whether the market is the region's
    use market of the material, the price and |ε_d|; industry shares of the quantity loss in :attr:`industries`."""

    table: pd.DataFrame
    industries: dict[tuple[str, str], pd.Series]


def coefficients(context) -> Coefficients:
    """The GDP coefficients of every market × region of a :class:`~minsec.scenarios.run.ScenarioContext`'s
    baseline (cached on the context: the tables, prices and elasticities it is built from belong to it)."""
    cached = getattr(context, "_gdp_coefficients", None)
    if cached is not None:
        return cached
    baseline, parameters = context.baseline, context.parameters.reindex(context.baseline.markets)
    facts = context.chain.parameter_facts
    models = {r: io_model.build_model(r, facts) for r in baseline.regions if r != REST_OF_WORLD}
    demand = baseline.demand.values                                   # M × R, t/yr
    production = np.zeros_like(demand)
    np.add.at(production.T, baseline.producer_region(), baseline.production.values.T)
    rows, industries = [], {}
    for m, label in enumerate(baseline.markets):
        material, stage = label.split(".")
        price = float(baseline.price.values[m])
        for r, region in enumerate(baseline.regions):
            use = baseline.use_market(material, region) if demand[m, r] > 0 else None
            model = models.get(region)
            reason, usd = "", np.nan
            if demand[m, r] <= 0:
                reason = "no demand in the region"
            elif model is None:
                reason = "no input-output table for the region (rest of the world)"
            elif not np.isfinite(price):
                reason = "no reference price for the market"
            else:
                found = io_model.quantity_coefficient(model, material, stage, price, float(demand[m, r]))
                if found is None:
                    reason = "no first-using industries recorded for the material"
                else:
                    usd = found.usd_per_t
                    industries[(label, region)] = found.by_industry / found.usd_per_t
                    reason = found.basis
            rows.append({"market": label, "material": material, "region": region, "use_market": use == label,
                         "usd_per_t": usd, "price_usd_per_t": price, "demand_t_per_year": float(demand[m, r]),
                         "net_import_share": (demand[m, r] - production[m, r]) / demand[m, r]
                         if demand[m, r] > 0 else np.nan,
                         "demand_elasticity": abs(float(parameters["demand_elasticity"].iloc[m])),
                         "basis": reason})
    out = Coefficients(pd.DataFrame(rows), industries)
    context._gdp_coefficients = out
    return out


def gdp_loss(shortfall: np.ndarray, price_rise: np.ndarray, demand_horizon: np.ndarray, usd_per_t: np.ndarray,
             price: np.ndarray, net_imports: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantity and price terms of the GDP loss (module docstring), elementwise (USD)."""
    quantity = shortfall * usd_per_t
    bought = np.maximum(demand_horizon - shortfall, 0.0)
    return quantity, price_rise * price * bought * net_imports


def scenario_gdp(context, by_region: pd.DataFrame, price_path: pd.DataFrame) -> pd.DataFrame:
    """A scenario's GDP loss per market × region row (the CLI's ``scenario run``): ``gdp_loss_usd`` on the
    region's use market (NaN elsewhere, with the market it is counted at), quantity and price parts, basis."""
    coef = coefficients(context).table.set_index(["market", "region"])

    def mean_rise(values: np.ndarray) -> float:
        """Mean price rise over the periods with a price (0 where the segment has none)."""
        return float(np.nanmean(values)) - 1 if np.isfinite(values).any() else 0.0

    rise = {market: (mean_rise(group["price_index_restricted"].to_numpy(float)),
                     mean_rise(group["price_index_open"].to_numpy(float)))
            for market, group in price_path.groupby("market")}
    rows = []
    for row in by_region.itertuples():
        c = coef.loc[(row.market, row.region)]
        segment_rise = rise.get(row.market, (0.0, 0.0))[0 if row.targeted else 1]
        quantity, price_part = gdp_loss(np.array(row.shortfall_t), np.array(segment_rise), np.array(row.demand_t),
                                        np.array(c["usd_per_t"]), np.array(c["price_usd_per_t"]),
                                        np.array(c["net_import_share"]))
        counted = bool(c["use_market"])
        rows.append({"market": row.market, "region": row.region,
                     "gdp_loss_usd": float(quantity + price_part) if counted and np.isfinite(c["usd_per_t"])
                     else np.nan,
                     "gdp_loss_quantity_usd": float(quantity) if counted else np.nan,
                     "gdp_loss_price_usd": float(price_part) if counted else np.nan,
                     "gdp_basis": c["basis"] if counted else "counted at the region's use market of the material"})
    return pd.DataFrame(rows)
