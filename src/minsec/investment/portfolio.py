"""Joint investment selection: which projects, funded by whom, buy the most security for a budget.

A mixed-integer programme (linopy + HiGHS), built from whole arrays:

    max   Σ_n v_n · y_n                                  (security: value of each need met)
    s.t.  K_n = Σ_p E_np · k_p · x_p      ∀ n            (capacity of the eligible projects chosen)
          y_n ≤ K_n                                      (benchmark gaps: a gap is closed by capacity …
          0 ≤ y_n ≤ g_n                                   … up to its size)
          y_n ≤ a_nj + b_nj · K_n          ∀ n, j        (shortfalls: y_n ≤ E[min(K_n, S_n)], below)
          Σ_p c_p · x_p ≤ B                              (joint budget)
          Σ_j f_pj = c_p · x_p,   Σ_p f_pj ≤ s_j · B     (each partner's funding, within its share of B)
          f_pj ≤ A_pj · c_p                              (the funding rule: who may pay for which project)
          x_p ∈ {0, 1},  f_pj ≥ 0

A capacity K secures in a disruption only what is short: E[min(K, S)] over the ensemble's scenarios, not
min(K, E[S]), which overstates it whenever S is sometimes below K (Jensen's inequality; e.g. S = 0 or 100 t with
equal chance: 100 t of capacity secures 50 t, not 50 t … and 50 t secures 25 t, not 50 t).  E[min(K, S)] =
∫₀ᴷ P(S > t) dt is concave and piecewise linear with kinks at the scenario shortfalls, so it is exactly the
minimum of its chords (a_nj + b_nj · K) between consecutive kinks (:func:`secured_curve`; with more than
``CURVE_POINTS`` distinct shortfalls the kinks are thinned to quantiles, which can only understate).

The funding rule ``A`` (:data:`FUNDING_RULES`): ``home`` (default) — a partner's budget pays for projects on its
own territory and in third countries, never for a project on another partner's territory; ``pro-rata`` — every
project is paid in the budget shares; ``pooled`` — any budget pays for any project (say so when you mean it).

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

#: who may pay for which project (module docstring)
FUNDING_RULES = {"home": "a partner's budget pays for projects on its own territory and in third countries, "
                         "never on another partner's",
                 "pro-rata": "every project is paid in the partners' budget shares",
                 "pooled": "any partner's budget may pay for any project"}
#: most kinks kept in a need's E[min(K, S)] curve (more are thinned to quantiles)
CURVE_POINTS = 200


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


def secured_curve(shortfall_t: np.ndarray, probability: np.ndarray, points: int = CURVE_POINTS
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Kinks ``t`` (0 first) and ``E[min(t, S)]`` of the tonnes a capacity secures against a shortfall ``S`` that
    is ``shortfall_t[i]`` with ``probability[i]`` (and 0 otherwise): E[min(t, S)] = Σ_{s_i ≤ t} p_i s_i +
    t · Σ_{s_i > t} p_i."""
    keep = shortfall_t > 0
    order = np.argsort(shortfall_t[keep], kind="stable")
    s, p = shortfall_t[keep][order], probability[keep][order]
    kinks = np.unique(s)
    if len(kinks) > points:          # thinned to quantiles, the largest kept: chords then lie below the curve
        kinks = np.unique(np.append(np.quantile(kinks, np.linspace(0, 1, points)), kinks[-1]))
    if len(kinks) > 1:               # kinks a rounding apart would give a chord of cancelled noise: merged
        apart = np.diff(kinks) > 1e-9 * kinks[-1]
        kinks = kinks[np.append(apart, True)]
    below = np.searchsorted(s, kinks, side="right")
    mass = np.concatenate([[0.0], np.cumsum(p * s)])
    prob = np.concatenate([[0.0], np.cumsum(p)])
    secured = mass[below] + kinks * (prob[-1] - prob[below])
    return np.concatenate([[0.0], kinks]), np.concatenate([[0.0], secured])


def funding_allowed(projects: pd.DataFrame, split: dict[str, float], rule: str,
                    territories: dict[str, frozenset[str] | None]) -> np.ndarray:
    """A (project × partner): whether the partner's budget may pay for the project under ``rule``."""
    country = projects["country"].to_numpy()
    allowed = np.ones((len(projects), len(split)), dtype=bool)
    if rule != "home":
        return allowed
    named = [t for t in territories.values() if t]
    third = np.array([not any(c in t for t in named) for c in country], dtype=bool)
    for j, partner in enumerate(split):
        own = territories.get(partner)
        if own:
            allowed[:, j] = third | np.isin(country, list(own))
    return allowed


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


def _chords(needs: pd.DataFrame, curves: dict | None) -> tuple[np.ndarray, np.ndarray]:
    """Slope and intercept (need × chord) of each need's E[min(K, S)] chords; y ≤ K for a need without a curve.
    Needs with fewer chords repeat their last one (a duplicate row, harmless)."""
    lines = []
    for need in needs["need"]:
        if curves is None or need not in curves:
            lines.append((np.array([1.0]), np.array([0.0])))
            continue
        t, f = curves[need]
        if len(t) < 2:                                   # never short: nothing to secure
            lines.append((np.array([0.0]), np.array([0.0])))
            continue
        slope = np.diff(f) / np.diff(t)
        # and flat past the largest shortfall: more capacity secures nothing more than E[S]
        lines.append((np.append(slope, 0.0), np.append(f[:-1] - slope * t[:-1], f[-1])))
    width = max(len(s) for s, _ in lines)
    slope = np.array([np.pad(s, (0, width - len(s)), mode="edge") for s, _ in lines])
    intercept = np.array([np.pad(a, (0, width - len(a)), mode="edge") for _, a in lines])
    return slope, intercept


def _solve(projects: pd.DataFrame, needs: pd.DataFrame, budget: float, split: dict[str, float],
           at_least: float | None = None, allowed: np.ndarray | None = None, curves: dict | None = None):
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
    ceiling = np.ones((len(ids), len(partners)), dtype=bool) if allowed is None else allowed
    f = model.add_variables(lower=0, upper=xr.DataArray(np.where(ceiling, cost.to_numpy()[:, None], 0.0),
                                                        coords=[ids, partners]), name="funding")
    k = model.add_variables(lower=0, coords=[need_index], name="need_capacity")
    model.add_constraints(k - (eligible * capacity * x).sum("project") == 0, name="capacity")
    slope, intercept = _chords(needs, curves)
    chord = pd.RangeIndex(slope.shape[1], name="chord")
    model.add_constraints(y - xr.DataArray(slope, coords=[need_index, chord]) * k
                          <= xr.DataArray(intercept, coords=[need_index, chord]), name="secured")
    model.add_constraints((cost * x).sum() <= budget, name="budget")
    model.add_constraints(f.sum("partner") - cost * x == 0, name="funded")
    shares = xr.DataArray([split[p] * budget for p in partners], coords=[partners])
    model.add_constraints(f.sum("project") <= shares, name="partner_share")
    if allowed is None and len(partners) > 1:            # pro-rata: each project paid in the budget shares
        model.add_constraints(f - xr.DataArray([split[p] for p in partners], coords=[partners]) * cost * x == 0,
                              name="pro_rata")
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
             objective_unit: str = "points", *, funding: str = "home",
             territories: dict[str, frozenset[str] | None] | None = None, curves: dict | None = None) -> Portfolio:
    """The best portfolio of the evaluable ``projects`` for ``needs`` within ``budget``; ``split`` caps each
    partner's funding at its share of the budget (default: one funder) and ``funding`` (:data:`FUNDING_RULES`)
    says who may pay for which project, with ``territories`` the countries of each partner (None: anywhere);
    ``curves`` (need → :func:`secured_curve`) make a need's value E[min(K, S)] instead of min(K, size)."""
    if not np.isfinite(budget) or budget < 0:
        raise InputError(f"budget must be a non-negative number (got {budget})")
    if funding not in FUNDING_RULES:
        raise InputError(f"--funding {funding!r}: one of {', '.join(FUNDING_RULES)}")
    split = split or {"joint": 1.0}
    unplaced = [p for p in split if p != "joint" and not (territories or {}).get(p)]
    if funding == "home" and len(split) > 1 and unplaced:
        raise InputError(f"funding 'home' needs each partner's territory: none given for {', '.join(unplaced)}")
    if (not all(np.isfinite(v) for v in split.values()) or abs(sum(split.values()) - 1) > 1e-6
            or any(v < 0 for v in split.values())):
        raise InputError(f"split: shares must be non-negative and sum to 1 (got {split})")
    pool = projects[projects["evaluable"]].reset_index(drop=True)
    if pool.empty or needs.empty:
        return Portfolio(pool.head(0), needs.assign(met_t=0.0), 0.0, budget, 0.0, {}, objective_unit,
                         "nothing to choose" if pool.empty else "no need left to meet")
    if not np.isfinite(pool[["capacity_t_per_yr", "capex_usd"]].to_numpy(float)).all():
        raise InputError("every evaluable project needs a finite capacity and capex")
    allowed = None if funding == "pro-rata" else funding_allowed(pool, split, funding, territories or {})
    rule = {"allowed": allowed, "curves": curves}
    best, *_ = _solve(pool, needs, budget, split, **rule)
    # the same value for the least money: which projects, what they cost and who pays are then not arbitrary
    best, chosen, met, paid, status = _solve(pool, needs, budget, split, at_least=best * (1 - 1e-9), **rule)
    picked = pool[chosen.to_numpy()].copy()
    picked["cost_per_t_per_yr_usd"] = picked["capex_usd"] / picked["capacity_t_per_yr"]
    for partner in split:
        picked[f"funding_{partner}_usd"] = paid.loc[picked["project_id"], partner].to_numpy()
    spent = float(picked["capex_usd"].sum())
    needs = needs.assign(met_t=met.to_numpy(), value=met.to_numpy() * needs["value_per_t"].to_numpy())
    # the value of the next dollars: budget raised to afford the cheapest project not chosen
    useful = eligibility(pool, needs).sum(axis=0) > 0
    left = pool[~chosen.to_numpy() & useful]
    marginal: dict = {}
    if len(left):                  # the next dollars: enough to afford the cheapest useful project left out
        step = max(float(left["capex_usd"].min()) - (budget - spent), 0.01 * budget, 1.0)
        more, *_ = _solve(pool, needs.drop(columns=["met_t", "value"]), budget + step, split, **rule)
        marginal = {"extra_budget_usd": step, "objective_gain": more - best,
                    "gain_per_usd": (more - best) / step}
    return Portfolio(picked, needs, best, budget, spent, marginal, objective_unit, status)
