"""Coordinated emergency allocation among partners: stock releases and transfers as a linear programme.

Modelled on the IEA oil emergency system (Agreement on an International Energy Program, 1974): stocks are
held nationally and in a joint pool; when the group's shortfall passes 7 % of its demand each participant
restrains demand by 7 %, past 12 % by 10 % (IEP Art. 13–14); the remaining supply is shared so that each
participant bears a comparable share of the group shortfall, with coordinated stock releases.

For partners *p*, markets *m*, priority tiers *k* (defence, critical infrastructure, other; weights *w_k*)
and stock holders *h* (each partner and ``JOINT``), the LP (linopy, solved by HiGHS) is

    min  W·Σ_m z_m  +  Σ_{p,m,k} w_k · u[p,m,k] / D[p,m]
    s.t. Σ_k (d[p,m,k] − u[p,m,k]) ≤ S[p,m] + r[p,m] − Σ_q x[p,q,m] + Σ_q x[q,p,m] + j[p,m]     (balance)
         0 ≤ u[p,m,k] ≤ d[p,m,k]                                   (unmet demand of each tier)
         0 ≤ r[h,m] ≤ min(stock[h,m], rate[h,m]),  Σ_p j[p,m] = r[JOINT,m]   (releases, joint pool)
         Σ_k u[p,m,k] ≤ z_m · D[p,m]                               (sharing: equal % shortfall, min-max)
         x ≥ 0, j ≥ 0

where *S* is the supply a partner still receives in the disruption, *D* its demand after restraint and
*d* its demand by tier (restraint is taken from the lowest tier first).  As in the IEA's allocation
system, transfers *x* may come from released stock or from a partner's remaining supply.  ``W`` ≫ max *w_k*
makes the sharing rule dominate: the largest percentage shortfall is minimised first, then weighted unmet
demand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from minsec.errors import InputError
from minsec.model.records import records
from minsec.optimization import solver_output_off_stdout

TIERS = ("defence", "critical_infrastructure", "other")
DEFAULT_TIER_WEIGHTS = {"defence": 100.0, "critical_infrastructure": 10.0, "other": 1.0}
#: assumption (no public per-material split): shares of each partner's demand by priority tier
DEFAULT_TIER_SHARES = {"defence": 0.05, "critical_infrastructure": 0.25, "other": 0.70}
#: IEP Agreement Art. 13-14: (group shortfall ≥ trigger) → demand restraint share
RESTRAINT_STEPS = ((0.12, 0.10), (0.07, 0.07))
JOINT = "JOINT"
SHARING_WEIGHT = 1e4


class AllocationError(InputError):
    """Invalid allocation input (the message names the field and the row)."""


@dataclass
class AllocationProblem:
    """Inputs of one allocation: per partner × market demand and remaining supply, stocks, tiers."""

    demand: xr.DataArray          # partner × market (t over the emergency period)
    supply: xr.DataArray          # partner × market (t still delivered)
    stocks: xr.DataArray          # holder × market (t), holders = partners + JOINT
    release_limit: xr.DataArray   # holder × market (t releasable in the period); NaN = no limit
    tier_shares: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_SHARES))
    tier_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_WEIGHTS))
    sharing: bool = True
    restraint: bool = True

    def validate(self) -> None:
        for name in ("demand", "supply", "stocks"):
            array = getattr(self, name)
            if (array.values < 0).any() or not np.isfinite(array.values).all():
                raise AllocationError(f"{name}: quantities must be finite and non-negative")
        if (self.supply.values > self.demand.values + 1e-9).any():
            raise AllocationError("supply: a partner cannot receive more than its demand")
        if set(self.tier_shares) != set(TIERS) or abs(sum(self.tier_shares.values()) - 1) > 1e-9:
            raise AllocationError(f"tier_shares: give a share for each of {TIERS}, summing to 1")
        if any(v < 0 for v in self.tier_shares.values()) or any(v <= 0 for v in self.tier_weights.values()):
            raise AllocationError("tier shares must be ≥ 0 and tier weights > 0")
        if list(self.stocks.holder.values[:-1]) != list(self.demand.partner.values) or \
                self.stocks.holder.values[-1] != JOINT:
            raise AllocationError("stocks: holders must be the partners followed by JOINT")


@dataclass
class AllocationResult:
    releases: pd.DataFrame      # holder, market, release_t, stock_t, limit_t, bound
    transfers: pd.DataFrame     # from, to, market, tonnes (national and joint pool)
    partners: pd.DataFrame      # partner, market, demand, supply, restraint, received, shortfall_t/pct, by tier
    group: pd.DataFrame         # market: group shortfall before/after, restraint level, sharing level z
    status: str
    objective: float
    solve_seconds: float
    scenario: str = ""          # the scenario whose outcome was shared out (its name)

    def to_dict(self) -> dict:
        """JSON-ready: status, objective, solve time and the four tables as records (NaN → None)."""
        return {"status": self.status, "objective": self.objective, "solve_seconds": self.solve_seconds,
                **{name: records(getattr(self, name)) for name in ("group", "releases", "transfers", "partners")}}


def restraint_level(group_shortfall_share: np.ndarray) -> np.ndarray:
    """IEP demand-restraint share for a group shortfall share (0, 7 % or 10 %)."""
    level = np.zeros_like(group_shortfall_share, dtype=float)
    for trigger, restraint in reversed(RESTRAINT_STEPS):
        level = np.where(group_shortfall_share >= trigger, restraint, level)
    return level


def tier_demand(demand: np.ndarray, restraint: np.ndarray, shares: dict[str, float]) -> np.ndarray:
    """Demand by tier (partner × market × tier) after taking the restraint from the lowest tier first."""
    base = np.stack([demand * shares[t] for t in TIERS], axis=-1)
    cut = demand * restraint
    out = base.copy()
    for k in reversed(range(len(TIERS))):
        taken = np.minimum(out[..., k], cut)
        out[..., k] -= taken
        cut = cut - taken
    return out


def allocate(problem: AllocationProblem) -> AllocationResult:
    """Build and solve the LP of the module docstring; report releases, transfers and binding rules."""
    import time

    import linopy

    problem.validate()
    partners = [str(p) for p in problem.demand.partner.values]
    markets = [str(m) for m in problem.demand.market.values]
    holders = [*partners, JOINT]
    demand = problem.demand.values.astype(float)
    supply = problem.supply.values.astype(float)
    group_share = np.where(demand.sum(0) > 0, 1 - supply.sum(0) / np.maximum(demand.sum(0), 1e-300), 0.0)
    restraint = restraint_level(group_share) if problem.restraint else np.zeros(len(markets))
    tiers = tier_demand(demand, restraint[None, :], problem.tier_shares)
    effective = tiers.sum(-1)
    limit = np.where(np.isnan(problem.release_limit.values), problem.stocks.values,
                     np.minimum(problem.release_limit.values, problem.stocks.values))

    coords_pm = [pd.Index(partners, name="partner"), pd.Index(markets, name="market")]
    model = linopy.Model()
    unmet = model.add_variables(lower=0, upper=xr.DataArray(tiers, coords=[*coords_pm, pd.Index(TIERS, name="tier")]),
                                name="unmet")
    release = model.add_variables(lower=0, upper=xr.DataArray(limit, coords=[pd.Index(holders, name="holder"),
                                                                              coords_pm[1]]), name="release")
    sender = pd.Index(partners, name="sender")
    # no transfer to oneself: upper bound 0 on the diagonal
    self_cap = np.where(np.eye(len(partners), dtype=bool)[:, :, None], 0.0, np.inf) * np.ones(len(markets))
    transfer = model.add_variables(lower=0, upper=xr.DataArray(self_cap, coords=[sender, *coords_pm]),
                                   name="transfer")
    pool = model.add_variables(lower=0, coords=coords_pm, name="pool")
    national = release.sel(holder=partners).rename(holder="partner")
    inflow = transfer.sum("sender")
    outflow = transfer.rename(partner="receiver").rename(sender="partner").sum("receiver")
    received = national - outflow + inflow + pool
    served = xr.DataArray(effective, coords=coords_pm) - unmet.sum("tier")
    supply_da = xr.DataArray(supply, coords=coords_pm)
    model.add_constraints(served - received <= supply_da, name="balance")
    model.add_constraints(pool.sum("partner") - release.sel(holder=JOINT) == 0, name="joint_pool")
    safe_demand = xr.DataArray(np.where(demand > 0, demand, 1.0), coords=coords_pm)
    weights = xr.DataArray([problem.tier_weights[t] for t in TIERS], coords=[pd.Index(TIERS, name="tier")])
    objective = (unmet * weights / safe_demand).sum()
    if problem.sharing:
        level = model.add_variables(lower=0, coords=[coords_pm[1]], name="sharing_level")
        model.add_constraints(unmet.sum("tier") - level * safe_demand <= 0, name="sharing")
        objective = objective + SHARING_WEIGHT * level.sum()
    model.add_objective(objective)
    started = time.perf_counter()
    with solver_output_off_stdout():
        status, condition = model.solve(solver_name="highs", io_api="direct", output_flag=False)
    seconds = time.perf_counter() - started
    if status != "ok":
        raise AllocationError(f"the allocation LP did not solve: {status} ({condition})")
    return _report(problem, model, partners, markets, holders, demand, supply, effective, tiers, restraint, limit,
                   group_share, status, seconds)


def _report(problem, model, partners, markets, holders, demand, supply, effective, tiers, restraint, limit,
            group_share, status, seconds) -> AllocationResult:
    sol = {name: model.variables[name].solution.values for name in ("unmet", "release", "transfer", "pool")}
    stocks = problem.stocks.values
    tol = 1e-6 * max(1.0, float(np.abs(demand).max()))
    release_rows = []
    for h, holder in enumerate(holders):
        for m, market in enumerate(markets):
            amount = float(sol["release"][h, m])
            if stocks[h, m] <= 0 and amount <= tol:
                continue
            if amount >= stocks[h, m] - tol and stocks[h, m] > 0:
                bound = "stock exhausted"
            elif amount >= limit[h, m] - tol and limit[h, m] < stocks[h, m]:
                bound = "release-rate limit"
            else:
                bound = "not binding"
            release_rows.append({"holder": holder, "market": market, "release_t": amount,
                                 "stock_t": float(stocks[h, m]), "limit_t": float(limit[h, m]), "bound": bound})
    transfer_rows = []
    for s, source in enumerate(partners):
        for p, target in enumerate(partners):
            for m, market in enumerate(markets):
                if sol["transfer"][s, p, m] > tol:
                    transfer_rows.append({"from": source, "to": target, "market": market,
                                          "tonnes": float(sol["transfer"][s, p, m])})
    for p, target in enumerate(partners):
        for m, market in enumerate(markets):
            if sol["pool"][p, m] > tol:
                transfer_rows.append({"from": JOINT, "to": target, "market": market,
                                      "tonnes": float(sol["pool"][p, m])})
    unmet = sol["unmet"]
    level = model.variables["sharing_level"].solution.values if problem.sharing else np.full(len(markets), np.nan)
    partner_rows = []
    for p, partner in enumerate(partners):
        for m, market in enumerate(markets):
            short = float(unmet[p, m].sum())
            row = {"partner": partner, "market": market, "demand_t": float(demand[p, m]),
                   "supply_t": float(supply[p, m]), "restraint_t": float(demand[p, m] - effective[p, m]),
                   "shortfall_before_t": float(demand[p, m] - supply[p, m]),
                   "shortfall_after_t": short + float(demand[p, m] - effective[p, m]),
                   "unmet_t": short,
                   "unmet_pct": 100 * short / demand[p, m] if demand[p, m] > 0 else np.nan,
                   "sharing_bound": bool(problem.sharing and demand[p, m] > 0 and level[m] > 1e-9
                                         and short >= level[m] * demand[p, m] - tol)}
            for k, tier in enumerate(TIERS):
                row[f"unmet_{tier}_t"] = float(unmet[p, m, k])
            partner_rows.append(row)
    group_rows = [{"market": market, "group_demand_t": float(demand[:, m].sum()),
                   "group_shortfall_before_pct": 100 * float(group_share[m]),
                   "restraint_pct": 100 * float(restraint[m]),
                   "group_unmet_after_t": float(unmet[:, m].sum()),
                   "released_t": float(sol["release"][:, m].sum()),
                   "sharing_level_pct": 100 * float(level[m]) if problem.sharing else np.nan}
                  for m, market in enumerate(markets)]
    return AllocationResult(pd.DataFrame(release_rows), pd.DataFrame(transfer_rows, columns=["from", "to", "market",
                                                                                               "tonnes"]),
                            pd.DataFrame(partner_rows), pd.DataFrame(group_rows), status,
                            float(model.objective.value), seconds)


def problem_from_outcome(by_region: pd.DataFrame, partners: list[str], stocks: pd.DataFrame | None = None,
                         **options) -> AllocationProblem:
    """An allocation problem from a scenario's per-region table (``demand_t``, ``shortfall_t`` per market).

    ``stocks``: table ``holder, market, tonnes[, max_release_t]`` (holder = a partner or ``JOINT``).
    """
    table = by_region[by_region["region"].isin(partners)]
    markets = sorted(table["market"].unique())
    if not markets:
        raise AllocationError("the scenario outcome has no market for these partners")
    demand = table.pivot(index="region", columns="market", values="demand_t").reindex(index=partners,
                                                                                       columns=markets).fillna(0)
    short = table.pivot(index="region", columns="market", values="shortfall_t").reindex(index=partners,
                                                                                        columns=markets).fillna(0)
    coords = [pd.Index(partners, name="partner"), pd.Index(markets, name="market")]
    holders = pd.Index([*partners, JOINT], name="holder")
    stock = np.zeros((len(holders), len(markets)))
    rate = np.full((len(holders), len(markets)), np.nan)
    for i, row in enumerate((stocks if stocks is not None else pd.DataFrame()).to_dict(orient="records"), start=1):
        if row["holder"] not in holders:
            raise AllocationError(f"stocks row {i}: holder {row['holder']!r} is not a partner or {JOINT}")
        if row["market"] not in markets:
            raise AllocationError(f"stocks row {i}: market {row['market']!r} is not in the outcome ({markets})")
        tonnes = float(row["tonnes"])
        if not np.isfinite(tonnes) or tonnes < 0:
            raise AllocationError(f"stocks row {i}: tonnes must be a non-negative number, got {row['tonnes']!r}")
        h, m = holders.get_loc(row["holder"]), markets.index(row["market"])
        stock[h, m] += tonnes
        limit = row.get("max_release_t")
        if limit is not None and limit == limit:
            if float(limit) < 0:
                raise AllocationError(f"stocks row {i}: max_release_t must not be negative")
            rate[h, m] = float(limit)
    return AllocationProblem(
        demand=xr.DataArray(demand.to_numpy(float), coords=coords),
        supply=xr.DataArray(np.maximum(demand.to_numpy(float) - short.to_numpy(float), 0), coords=coords),
        stocks=xr.DataArray(stock, coords=[holders, coords[1]]),
        release_limit=xr.DataArray(rate, coords=[holders, coords[1]]), **options)


def read_stocks(path: str | Path) -> pd.DataFrame:
    """A stocks CSV ``holder, market, tonnes[, max_release_t]``; errors name the file."""
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise AllocationError(f"{path}: cannot read as CSV: {exc}") from None
    if len(table) and not {"holder", "market", "tonnes"} <= set(table.columns):
        raise AllocationError(f"{path}: needs columns holder, market, tonnes")
    return table


def stocks_from_days(by_region: pd.DataFrame, partners: list[str], horizon_months: float,
                     stock_days: Mapping[str, float] | None = None, joint_days: float = 0.0) -> pd.DataFrame:
    """Stocks held as days of consumption: ``stock_days[region]`` days of that partner's demand in every market
    of the outcome, and a joint pool of ``joint_days`` days of the partners' combined demand (demand over the
    scenario horizon / its length in days × days)."""
    horizon_days = horizon_months * 365.25 / 12
    rows = []
    for region, days in (stock_days or {}).items():
        if region not in partners or not np.isfinite(days) or days < 0:
            raise AllocationError(f"--stock-days {region}={days:g}: region must be one of {partners} and days ≥ 0")
        for row in by_region[by_region["region"] == region].itertuples():
            rows.append({"holder": region, "market": row.market, "tonnes": row.demand_t / horizon_days * days})
    if not np.isfinite(joint_days) or joint_days < 0:
        raise AllocationError("--joint-days must not be negative")
    if joint_days > 0:
        for market, group in by_region[by_region["region"].isin(partners)].groupby("market"):
            rows.append({"holder": JOINT, "market": market,
                         "tonnes": group["demand_t"].sum() / horizon_days * joint_days})
    return pd.DataFrame(rows, columns=["holder", "market", "tonnes"])
