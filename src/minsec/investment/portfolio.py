"""Joint investment selection: which projects, funded by whom, buy the most security for a budget.

A mixed-integer programme (linopy + HiGHS), built from whole arrays:

    max   Σ_n v_n · y_n                                  (security: value of each need met)
    s.t.  y_n ≤ Σ_p E_np · k_p · x_p      ∀ n            (a need is met only by capacity of eligible projects)
          0 ≤ y_n ≤ g_n                                  (… up to its size)
          Σ_p c_p · x_p ≤ B                              (joint budget)
          Σ_j f_pj = c_p · x_p,   Σ_p f_pj ≤ s_j · B     (each partner's funding, within its share of B)
          x_p ∈ {0, 1},  f_pj ≥ 0

Needs ``n`` are either **benchmark gaps** (region × material × stage: g = tonnes a year still missing to the
CRMA share, v = 1/g, so closing a gap is worth one point and partial progress counts pro rata) or **expected
shortfalls** from the emergency ensembles (material: g = the partners' expected annual shortfall in tonnes,
v = the loss per tonne short in USD, so the objective is expected annual loss avoided).  ``E_np`` = 1 when
project p is located where the need counts (the region's members; the partnership for shortfalls), makes the
need's material, and adds the need's stage.  A project's capacity can serve several needs of the same
material (e.g. an integrated mine-refinery both extraction and processing), as the benchmarks count it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from minsec.errors import InputError


@dataclass
class Portfolio:
    chosen: pd.DataFrame            # selected projects with cost, capacity, cost per tonne, funding per partner
    needs: pd.DataFrame             # each need: size, met, value
    objective: float
    budget_usd: float
    spent_usd: float
    marginal: dict                  # value of the next dollars (re-solved with more budget)
    objective_unit: str
    status: str


def needs_from_gaps(gap_table: pd.DataFrame, members: dict[str, frozenset[str]], year: int | None = None
                    ) -> pd.DataFrame:
    """Benchmark gaps as needs; with ``year`` (the CRMA's 2030) a project counts with the capacity it has
    online that year (start year and ramp-up), not its nameplate."""
    rows = gap_table[gap_table["gap_t"] > 0]
    return pd.DataFrame({"need": rows["region"] + " " + rows["material"] + " " + rows["stage"],
                         "material": rows["material"], "stages": rows["stage"],
                         "countries": [members[r] for r in rows["region"]], "size_t": rows["gap_t"],
                         "value_per_t": 1.0 / rows["gap_t"], "year": year}).reset_index(drop=True)


def needs_from_shortfall(shortfall: pd.DataFrame, partners: frozenset[str]) -> pd.DataFrame:
    """``shortfall``: material, expected_shortfall_t (a year), loss_usd_per_t."""
    rows = shortfall[shortfall["expected_shortfall_t"] > 0]
    return pd.DataFrame({"need": "shortfall " + rows["material"], "material": rows["material"],
                         "stages": "extraction;processing;recycling", "countries": [partners] * len(rows),
                         "size_t": rows["expected_shortfall_t"], "value_per_t": rows["loss_usd_per_t"],
                         "year": None}).reset_index(drop=True)


def eligibility(projects: pd.DataFrame, needs: pd.DataFrame) -> np.ndarray:
    """E (need × project): the share of the project's capacity that counts toward the need — 0 when it is the
    wrong material, place or stage; for a need dated ``year``, the fraction online that year."""
    from minsec.investment.benchmarks import online

    material = projects["material"].to_numpy()
    country = projects["country"].to_numpy()
    stages = [set(str(s).split(";")) for s in projects["stages"]]
    out = np.zeros((len(needs), len(projects)))
    for n, need in enumerate(needs.itertuples()):
        wanted = set(need.stages.split(";"))
        out[n] = [(m == need.material) and (c in need.countries) and bool(wanted & s)
                  for m, c, s in zip(material, country, stages, strict=True)]
        year = getattr(need, "year", None)
        if year is not None and not pd.isna(year):
            out[n] *= online(np.ones(len(projects)), projects["expected_start_year"].to_numpy(float),
                             projects["ramp_up_years"].to_numpy(float), np.array([float(year)]))[:, 0]
    return out


def _solve(projects: pd.DataFrame, needs: pd.DataFrame, budget: float, split: dict[str, float],
           at_least: float | None = None):
    """Maximise the value of needs met; with ``at_least``, the cheapest selection reaching that value (the
    second pass of a lexicographic solve: among equally good portfolios, the one that spends least)."""
    import linopy

    from minsec.optimization import solver_output_off_stdout

    ids = pd.Index(projects["project_id"], name="project")
    need_index = pd.Index(needs["need"], name="need")
    partners = pd.Index(list(split), name="partner")
    cost = xr.DataArray(projects["capex_usd"].to_numpy(float), coords=[ids])
    capacity = xr.DataArray(projects["capacity_t_per_yr"].to_numpy(float), coords=[ids])
    eligible = xr.DataArray(eligibility(projects, needs), coords=[need_index, ids])
    model = linopy.Model()
    x = model.add_variables(binary=True, coords=[ids], name="select")
    y = model.add_variables(lower=0, upper=xr.DataArray(needs["size_t"].to_numpy(float), coords=[need_index]),
                            name="met")
    f = model.add_variables(lower=0, coords=[ids, partners], name="funding")
    model.add_constraints(y - (eligible * capacity * x).sum("project") <= 0, name="capacity")
    model.add_constraints((cost * x).sum() <= budget, name="budget")
    model.add_constraints(f.sum("partner") - cost * x == 0, name="funded")
    shares = xr.DataArray([split[p] * budget for p in partners], coords=[partners])
    model.add_constraints(f.sum("project") <= shares, name="partner_share")
    value = xr.DataArray(needs["value_per_t"].to_numpy(float), coords=[need_index])
    if at_least is None:
        model.add_objective((value * y).sum(), sense="max")
    else:
        model.add_constraints((value * y).sum() >= at_least, name="value_kept")
        model.add_objective((cost * x).sum(), sense="min")
    with solver_output_off_stdout():
        status, condition = model.solve(solver_name="highs", output_flag=False, mip_rel_gap=1e-9)
    if status != "ok" or condition != "optimal":
        raise ValueError(f"the portfolio model did not solve to optimality: {status} ({condition})")
    chosen = x.solution.to_series() > 0.5
    achieved = float((value * y.solution).sum())
    return (achieved, chosen, y.solution.to_series(), f.solution.to_pandas(), f"{status} ({condition})")


def optimize(projects: pd.DataFrame, needs: pd.DataFrame, budget: float, split: dict[str, float] | None = None,
             objective_unit: str = "points") -> Portfolio:
    """The best portfolio of the evaluable ``projects`` for ``needs`` within ``budget``; ``split`` caps each
    partner's funding at its share of the budget (default: one funder)."""
    if not np.isfinite(budget) or budget < 0:
        raise InputError(f"budget must be a non-negative number (got {budget})")
    split = split or {"joint": 1.0}
    if (not all(np.isfinite(v) for v in split.values()) or abs(sum(split.values()) - 1) > 1e-6
            or any(v < 0 for v in split.values())):
        raise InputError(f"split: shares must be non-negative and sum to 1 (got {split})")
    pool = projects[projects["evaluable"]].reset_index(drop=True)
    if pool.empty or needs.empty:
        return Portfolio(pool.head(0), needs.assign(met_t=0.0), 0.0, budget, 0.0, {}, objective_unit,
                         "nothing to choose" if pool.empty else "no need left to meet")
    if not np.isfinite(pool[["capacity_t_per_yr", "capex_usd"]].to_numpy(float)).all():
        raise InputError("every evaluable project needs a finite capacity and capex")
    best, *_ = _solve(pool, needs, budget, split)
    # the same value for the least money: which projects, what they cost and who pays are then not arbitrary
    best, chosen, met, funding, status = _solve(pool, needs, budget, split, at_least=best * (1 - 1e-9))
    picked = pool[chosen.to_numpy()].copy()
    picked["cost_per_t_per_yr_usd"] = picked["capex_usd"] / picked["capacity_t_per_yr"]
    for partner in split:
        picked[f"funding_{partner}_usd"] = funding.loc[picked["project_id"], partner].to_numpy()
    spent = float(picked["capex_usd"].sum())
    needs = needs.assign(met_t=met.to_numpy(), value=met.to_numpy() * needs["value_per_t"].to_numpy())
    # the value of the next dollars: budget raised to afford the cheapest project not chosen
    useful = eligibility(pool, needs).sum(axis=0) > 0
    left = pool[~chosen.to_numpy() & useful]
    marginal: dict = {}
    if len(left):                  # the next dollars: enough to afford the cheapest useful project left out
        step = max(float(left["capex_usd"].min()) - (budget - spent), 0.01 * budget, 1.0)
        more, *_ = _solve(pool, needs.drop(columns=["met_t", "value"]), budget + step, split)
        marginal = {"extra_budget_usd": step, "objective_gain": more - best,
                    "gain_per_usd": (more - best) / step}
    return Portfolio(picked, needs, best, budget, spent, marginal, objective_unit, status)
