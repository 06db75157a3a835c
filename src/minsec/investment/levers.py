"""The partnership's levers against the expected GDP loss of disruptions (docs/methods.md, "Economic cost").

Three levers, each evaluated on the same ensemble scenarios as the loss itself
(:func:`minsec.scenarios.economic.economic_impact`):

* ``own_stocks`` — each partner draws its own recorded stock cover (``RECORDED_STOCK_DAYS``: Project Vault's
  60-day target, JOGMEC's 60 days, KOMIR's 42) against its own shortfall;
* ``shared_stocks`` — the same stocks pooled under the emergency allocation's sharing rule;
* ``investments`` — the projects a joint portfolio selects (``minsec invest optimize --objective shortfall``
  for the given budget) add their capacity to the partners' supply of their material in a disruption.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from minsec.scenarios.economic import RECORDED_STOCK_DAYS, STOCK_SOURCES, new_supply, own_stocks, shared_stocks


def partnership_levers(chain, budget_usd: float = 5e9, ensemble: int = 2_000, seed: int = 0
                       ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The three levers for :func:`~minsec.scenarios.economic.economic_impact` and what each assumes."""
    context = chain.scenarios.context()
    markets = context.baseline.markets
    partners = [r for r in context.baseline.regions if r not in ("CHN", "ROW")]
    portfolio = chain.invest.optimize(budget_usd, objective="shortfall", ensemble=ensemble, seed=seed)
    chosen = portfolio.chosen
    capacity: dict[int, float] = {}
    for row in chosen.itertuples():
        tonnes = float(row.capacity_t_per_yr)
        if not np.isfinite(tonnes):
            continue
        for m, label in enumerate(markets):
            if label.split(".")[0] == row.material:
                capacity[m] = capacity.get(m, 0.0) + tonnes
    levers = {"own_stocks": own_stocks(RECORDED_STOCK_DAYS), "shared_stocks": shared_stocks(RECORDED_STOCK_DAYS),
              "investments": new_supply(capacity, partners)}
    described = {
        "own_stocks": f"each partner's own recorded stock cover against its own shortfall: {STOCK_SOURCES}; "
                      "others none; applied to every material (the programmes name their materials)",
        "shared_stocks": "the same stocks pooled: in each scenario and market they meet min(pool, Σ shortfalls), "
                         "each partner's shortfall cut pro rata (the emergency allocation's sharing)",
        "investments": f"projects a joint portfolio of US${budget_usd / 1e9:g} bn selects (objective: expected "
                       f"loss avoided, {ensemble:,} scenarios): "
                       + (", ".join(f"{r.project_id} ({r.material}, {r.capacity_t_per_yr:,.0f} t/yr)"
                                    for r in chosen.itertuples()) or "none")
                       + "; their output is the partners' in a disruption, shared by use"}
    return levers, described


def impact_with_levers(chain, importer: str = "partnership", n: int = 10_000, seed: int = 0, *, levers: bool = False,
                       invest_budget: float = 5e9, scheduler: str = "none", progress=None) -> tuple[Any, dict]:
    """``minsec risk economic-impact`` (and its API job): the expected GDP loss of each importer, with the
    partnership's levers when ``levers`` — the result and what each lever assumes."""
    chosen, described = partnership_levers(chain, invest_budget, seed=seed) if levers else (None, {})
    result = chain.scenarios.economic_impact(importer, n, seed, scheduler=scheduler, progress=progress,
                                             levers=chosen)
    return result, described
