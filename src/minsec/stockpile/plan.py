"""Stockpile plans as tables users read: per material and holder, frontier, value of cooperation, references."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from minsec.stockpile.inputs import JOINT, MaterialFacts, StockpileInputError
from minsec.stockpile.model import (
    NeedsLPError,
    Solution,
    StockpileLP,
    StockpileProblem,
    prepare_fast,
    solve,
    solve_fast,
)

DAYS_PER_YEAR = 365.25


@dataclass
class StockpilePlan:
    problem: StockpileProblem
    solution: Solution
    plan: pd.DataFrame          # material × holder
    by_party: pd.DataFrame      # party × material
    summary: dict
    releases: pd.DataFrame      # per scenario


def evaluate(problem: StockpileProblem, solution: Solution, facts: MaterialFacts | None = None) -> StockpilePlan:
    """Tables of a solution: quantities, costs, days of cover, expected unmet demand with and without."""
    sample = problem.working_sample()
    materials, holders, parties = list(problem.materials), list(problem.holders), list(sample.parties)
    price = problem.price.reindex(materials).to_numpy(float)
    loss = problem.loss.reindex(materials).to_numpy(float)
    years = problem.horizon_years
    without = sample.expected()                    # material × party
    with_stock = solution.expected_unmet
    consumption = (facts.consumption_t.reindex(materials) if facts is not None
                   else pd.DataFrame(index=materials, dtype=float))
    world = (problem.world_supply.reindex(materials).to_numpy(float) if problem.world_supply is not None
             else np.full(len(materials), np.nan))
    rows = []
    for h, holder in enumerate(holders):
        served = list(problem.joint_members) if holder == JOINT else [holder]
        idx = [parties.index(p) for p in served]
        use = consumption[JOINT if holder == JOINT else holder] if (JOINT if holder == JOINT else holder) \
            in consumption.columns else pd.Series(np.nan, index=materials)
        for m, material in enumerate(materials):
            quantity = float(solution.buy[m, h])
            short = float(without[m, idx].sum())
            if quantity <= 1e-9 and short <= 0:
                continue
            annual_use = float(use.get(material, np.nan))
            unmet = float(with_stock[m, idx].sum())
            rows.append({
                "material": material, "holder": holder, "quantity_t": quantity, "cost_usd": quantity * price[m],
                "days_of_cover": quantity / annual_use * DAYS_PER_YEAR if annual_use > 0 else np.nan,
                "expected_shortfall_t": short, "expected_unmet_t": unmet,
                "avoided_loss_usd_per_year": (short - unmet) * loss[m],
                "share_of_world_supply_pct": 100 * quantity / world[m] if world[m] > 0 else np.nan,
                "price_usd_per_t": price[m], "loss_usd_per_t": loss[m]})
    plan = pd.DataFrame(rows)
    if len(plan):
        plan = plan.sort_values(["cost_usd", "expected_shortfall_t"], ascending=False, ignore_index=True)
    party_rows = []
    for p, party in enumerate(parties):
        for m, material in enumerate(materials):
            if without[m, p] <= 0:
                continue
            use = float(consumption[party].get(material, np.nan)) if party in consumption.columns else np.nan
            party_rows.append({"party": party, "material": material, "consumption_t": use,
                               "expected_shortfall_t": float(without[m, p]),
                               "expected_unmet_t": float(with_stock[m, p]),
                               "expected_shortfall_pct": 100 * without[m, p] / use if use > 0 else np.nan})
    by_party = pd.DataFrame(party_rows)
    acquisition = float((solution.buy.sum(axis=1) * price).sum())
    annual_without = float((without.sum(axis=1) * loss).sum())
    annual_with = float((solution.unmet_by_scenario_loss * sample.probability).sum())
    holding = years * problem.holding_cost_rate * acquisition
    objective = years * annual_with + acquisition + holding
    if solution.cvar is not None:
        objective += problem.cvar_weight * years * solution.cvar
    summary = {
        "objective_usd": objective, "expected_loss_usd": years * annual_with,
        "expected_annual_loss_usd": annual_with, "expected_annual_loss_without_usd": annual_without,
        "avoided_annual_loss_usd": annual_without - annual_with,
        "share_of_expected_loss_avoided_pct": 100 * (1 - annual_with / annual_without) if annual_without else 0.0,
        "acquisition_usd": acquisition, "holding_cost_usd": holding, "budget_usd": problem.budget,
        "budget_used_pct": 100 * acquisition / problem.budget if problem.budget else 0.0,
        "budget_multiplier": solution.budget_multiplier,
        **{f"budget_multiplier_{h}": v for h, v in solution.holder_multipliers.items()},
        "cvar_alpha": problem.cvar_alpha, "cvar_annual_loss_usd": solution.cvar,
        "method": solution.method, "fast_path_reason": problem.fast_path()[1],
        "holders": holders, "joint_members": list(problem.joint_members), "sharing": problem.sharing,
        "horizon_years": years, "holding_cost_rate": problem.holding_cost_rate,
        "max_market_share": problem.max_market_share, "scenarios": sample.n_scenarios,
        "scenario_source": sample.source, "materials": len(materials),
        "build_seconds": solution.seconds.get("build", 0.0), "solve_seconds": solution.seconds.get("solve", 0.0)}
    return StockpilePlan(problem, solution, plan, by_party, summary, solution.served)


def optimize(problem: StockpileProblem, facts: MaterialFacts | None = None, method: str = "auto") -> StockpilePlan:
    """Solve (fast path where it applies, else the LP) and tabulate."""
    return evaluate(problem, solve(problem, method), facts)  # type: ignore[arg-type]


FRONTIER_COLUMNS = ("budget_usd", "expected_annual_loss_usd", "expected_loss_usd", "acquisition_usd",
                    "objective_usd", "budget_multiplier", "share_of_expected_loss_avoided_pct", "method")


def frontier(problem: StockpileProblem, budgets: list[float], method: str = "auto") -> pd.DataFrame:
    """Budget → expected loss (the efficient frontier).  The LP is built once and re-solved per budget."""
    budgets = sorted(float(b) for b in budgets)
    if any(not np.isfinite(b) or b < 0 for b in budgets):
        raise StockpileInputError(f"budgets must be non-negative numbers (got {budgets})")
    use_fast = method == "fast" or (method == "auto" and problem.fast_path()[0])
    rows = []
    lp: StockpileLP | None = None
    prepared = prepare_fast(problem) if use_fast else None
    for budget in budgets:
        current = replace(problem, budget=budget)
        solution = None
        if use_fast:
            try:
                solution = solve_fast(current, prepared)
            except NeedsLPError:  # absorption limits bind across holders: fall back to the LP
                if method == "fast":
                    raise
        if solution is None:
            lp = lp or StockpileLP.build(current)
            solution = lp.solve(budget)
        summary = evaluate(current, solution).summary
        rows.append({k: summary[k] for k in FRONTIER_COLUMNS})
    return pd.DataFrame(rows)


def frontier_figure(table: pd.DataFrame, title: str = "Stockpile efficient frontier"):
    """A plotly figure of the frontier (budget → expected annual loss with the stockpile)."""
    import plotly.graph_objects as go

    figure = go.Figure(go.Scatter(
        x=table["budget_usd"] / 1e9, y=table["expected_annual_loss_usd"] / 1e9, mode="lines+markers",
        name="expected annual loss",
        hovertemplate="budget %{x:.3g} bn USD<br>expected loss %{y:.4g} bn USD/yr<extra></extra>"))
    figure.update_layout(title=title, xaxis_title="budget (billion USD)",
                         yaxis_title="expected annual loss from unmet demand (billion USD)", template="plotly_white")
    return figure


def arrangements(problem: StockpileProblem, split: dict[str, float]) -> dict[str, StockpileProblem]:
    """The same problem held as separate national stockpiles (budget split by ``split``) and as one joint pool
    of the same parties (shared by need)."""
    if abs(sum(split.values()) - 1) > 1e-6 or any(v < 0 for v in split.values()):
        raise StockpileInputError(f"budget split must be non-negative shares summing to 1 (got {split})")
    parties = tuple(split)
    separate = replace(problem, holders=parties, holder_budgets={p: problem.budget * s for p, s in split.items()},
                       joint_members=None, joint_shares=None, minimum=None, storage_limit=None)
    joint = replace(problem, holders=(JOINT,), holder_budgets=None, joint_members=parties,
                    joint_shares=None, sharing="need", minimum=None, storage_limit=None)
    return {"separate national stockpiles": separate, "joint pool": joint}


def cooperation_frontier(problem: StockpileProblem, split: dict[str, float], budgets: list[float],
                         method: str = "auto") -> pd.DataFrame:
    """The efficient frontier of separate national stockpiles and of a joint pool (same parties, same total
    budgets): the gap between the two curves is the value of cooperation at each budget."""
    frames = []
    for name, variant in arrangements(problem, split).items():
        if variant.holder_budgets is not None:
            # each party keeps its share of every budget on the frontier
            frames.append(_split_frontier(variant, split, budgets, method).assign(arrangement=name))
        else:
            frames.append(frontier(variant, budgets, method).assign(arrangement=name))
    return pd.concat(frames, ignore_index=True)


def _split_frontier(problem: StockpileProblem, split: dict[str, float], budgets: list[float], method: str
                    ) -> pd.DataFrame:
    rows = []
    for budget in sorted(float(b) for b in budgets):
        current = replace(problem, budget=budget, holder_budgets={p: budget * s for p, s in split.items()})
        summary = optimize(current, None, method).summary
        rows.append({k: summary[k] for k in FRONTIER_COLUMNS})
    return pd.DataFrame(rows)


def cooperation(problem: StockpileProblem, split: dict[str, float], facts: MaterialFacts | None = None
                ) -> pd.DataFrame:
    """Separate national stockpiles (budget split by ``split``) vs one joint pool with the same total budget."""
    parties = list(split)
    rows = []
    for name, variant in arrangements(problem, split).items():
        plan = optimize(variant, facts)
        s = plan.summary
        row = {"arrangement": name, "budget_usd": problem.budget, "acquisition_usd": s["acquisition_usd"],
               "expected_annual_loss_usd": s["expected_annual_loss_usd"], "objective_usd": s["objective_usd"],
               "method": s["method"]}
        for party in parties:
            i = list(variant.working_sample().parties).index(party)
            row[f"expected_unmet_t_{party}"] = float(plan.solution.expected_unmet[:, i].sum())
        rows.append(row)
    table = pd.DataFrame(rows)
    table["value_of_cooperation_usd_per_year"] = table["expected_annual_loss_usd"].iloc[0] - \
        table["expected_annual_loss_usd"]
    return table


#: records of the bundled stockpile facts (parameters/stockpiles.csv) a plan is compared with
REFERENCE_RECORDS = ("ST001", "ST002", "ST008", "ST020", "ST018", "ST019", "ST036", "ST025", "ST026", "ST027",
                     "ST028", "RK001", "RK003")
DLA_MATERIALS = {"ST026": "cobalt", "ST027": "antimony", "ST028": "tantalum"}
#: tonnes the NDS Annual Materials Plan names (FY2024 lanthanum and cerium, via USGS MCS 2025): the plan's tonnes of
#: that material, every holder, beside them
DLA_TONNES = {"RK001": "lanthanum", "RK003": "cerium"}


def reference_points(plan: StockpilePlan, facts: pd.DataFrame) -> pd.DataFrame:
    """How the plan compares with published stockpile targets and programmes (bundled facts, by record)."""
    records = facts[facts["file"] == "stockpiles"].drop_duplicates("record_id").set_index("record_id")
    table = plan.plan
    stocked = table[table["quantity_t"] > 1e-9] if len(table) else table
    days = stocked["days_of_cover"].dropna() if len(stocked) else pd.Series(dtype=float)
    summary = plan.summary
    rows = []
    for record in REFERENCE_RECORDS:
        if record not in records.index:
            continue
        fact = records.loc[record]
        value, unit = float(fact["value"]), str(fact["unit"])
        if "days" in unit:
            plan_value = float(days.median()) if len(days) else np.nan
            note = (f"median days of cover of the {len(days)} stocked material-holder pairs; "
                    f"{int((days >= value).sum())} reach {value:g} days")
        elif record == "ST020":
            plan_value = summary["share_of_expected_loss_avoided_pct"]
            note = "share of expected loss from shortfalls the plan avoids"
        elif record in DLA_TONNES:
            material = DLA_TONNES[record]
            plan_value = float(stocked.loc[stocked["material"] == material, "quantity_t"].sum()) if len(stocked) \
                else 0.0
            note = f"plan tonnes of {material} (all holders)"
        elif record in DLA_MATERIALS:
            material = DLA_MATERIALS[record]
            spent = float(stocked.loc[stocked["material"] == material, "cost_usd"].sum()) if len(stocked) else 0.0
            plan_value = spent / _scale(unit)
            note = f"plan spending on {material}"
        else:
            plan_value = summary["acquisition_usd"] / _scale(unit)
            note = "plan acquisition cost"
        rows.append({"record_id": record, "program": fact["subject"], "country": fact["country"],
                     "parameter": fact["metric"],
                     "reference_value": value, "unit": unit, "plan_value": plan_value, "comparison": note,
                     "source": fact.get("source_title", "")})
    return pd.DataFrame(rows)


def _scale(unit: str) -> float:
    unit = unit.lower()
    if unit.startswith("billion"):
        return 1e9
    if unit.startswith("million"):
        return 1e6
    return 1.0
