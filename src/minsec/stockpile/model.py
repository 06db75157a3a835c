"""Stockpile sizing as a two-stage stochastic programme (sample-average approximation), linopy + HiGHS.

Sets: scenarios *s* (probability *pₛ*), materials *m*, parties *p* (whose demand runs short), holders *h*
(a party's national stockpile, or the ``joint`` pool serving its member parties).  Data: annual shortfall
*D[s,m,p]* (t), purchase price *c[m]*, loss per tonne short *L[m]*, horizon *Y* years, holding-cost rate *ρ*
per year, budget *B*, market-absorption share *f* of world supply *W[m]*, storage limits *u[m,h]*, minimum
holdings *l[m,h]*.

First stage — buy ``x[m,h]`` with ``l ≤ x ≤ u``.  Second stage, in every scenario — release ``r[s,m,h,p]``
from holder *h* to party *p* (a national holder serves its own party only):

    minimise   Y·Σₛ pₛ Σ_{m,p} L[m]·(D[s,m,p] − Σₕ r[s,m,h,p])       expected loss over the horizon
             + Σ_{m,h} (1 + Y·ρ)·c[m]·x[m,h]                            acquisition + holding
             [+ w·Y·CVaR_α(loss)]                                       optional tail term (Rockafellar–Uryasev)
    s.t.       Σₚ r[s,m,h,p] ≤ x[m,h]                                   stock held
               Σₕ r[s,m,h,p] ≤ D[s,m,p]                                 release only against a shortfall
               Σ_{m,h} c[m]·x[m,h] ≤ B   (and per-holder budgets)        budget
               Σₕ x[m,h] ≤ f·W[m]                                       market absorption
               r[s,m,joint,p] ≤ share[p]·x[m,joint]                     pro-rata sharing of the pool (option)

Each year is one draw of the scenario distribution and released stock is sold to users at (at least) its
purchase price and replenished, so every year starts with the planned stock; the horizon multiplies the
annual expected loss and the holding cost, acquisition is paid once.  The CVaR term uses the discrete
Rockafellar & Uryasev (2000) form ``η + Σₛ pₛ·zₛ/(1−α)``, ``zₛ ≥ lossₛ − η``, ``zₛ ≥ 0``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from minsec.errors import MinsecError
from minsec.optimization import solver_output_off_stdout
from minsec.stockpile.inputs import JOINT, ShortfallSample, StockpileInputError
from minsec.stockpile.newsvendor import ItemDistributions, solve_newsvendor

#: Holding cost (warehousing, insurance, rotation, management) as a share of the stock's purchase value per
#: year.  An assumption (no public per-material cost figures in the bundled record); override it.
DEFAULT_HOLDING_COST_RATE = 0.02
#: Planning horizon: the tenor of Project Vault's EXIM loan (bundled fact ST039, 15 years).
DEFAULT_HORIZON_YEARS = 15.0
#: Market absorption: at most this share of a year's world supply bought without moving the price.  The
#: DLA's 2025 request for 222 t of indium (ST030, ≈ 20 % of world refinery output) was reported as straining
#: non-Chinese supply; half of that share is the default.
DEFAULT_MAX_MARKET_SHARE = 0.10
#: relative extra cost of pooled over national stock, only to make otherwise tied plans unique
JOINT_TIE_BREAK = 1e-7


class InfeasiblePlanError(StockpileInputError):
    """The constraint set has no solution; the message says which constraints conflict."""


@dataclass
class StockpileProblem:
    """Everything the optimiser needs; see the module docstring for the model."""

    sample: ShortfallSample
    price: pd.Series                       # material → USD/t
    loss: pd.Series                        # material → USD per tonne short
    budget: float
    holders: tuple[str, ...] = (JOINT,)
    world_supply: pd.Series | None = None  # material → t/yr (NaN: no absorption limit)
    max_market_share: float = DEFAULT_MAX_MARKET_SHARE
    holding_cost_rate: float = DEFAULT_HOLDING_COST_RATE
    horizon_years: float = DEFAULT_HORIZON_YEARS
    storage_limit: pd.DataFrame | None = None   # material × holder, t (NaN: none)
    minimum: pd.DataFrame | None = None         # material × holder, t
    cvar_alpha: float | None = None
    cvar_weight: float = 1.0
    sharing: Literal["need", "pro_rata"] = "need"
    joint_members: tuple[str, ...] | None = None
    joint_shares: dict[str, float] | None = None
    holder_budgets: dict[str, float] | None = None
    materials: tuple[str, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        self.validate()

    # ----------------------------------------------------------------------------------------- validation
    def validate(self) -> None:
        sample = self.sample
        for name, value in (("budget", self.budget), ("holding_cost_rate", self.holding_cost_rate),
                            ("horizon_years", self.horizon_years), ("cvar_weight", self.cvar_weight)):
            if not np.isfinite(value) or value < 0:
                raise StockpileInputError(f"{name} must be a non-negative number (got {value})")
        if self.horizon_years <= 0:
            raise StockpileInputError("horizon_years must be positive")
        if not self.max_market_share > 0:
            raise StockpileInputError(f"max_market_share must be positive (got {self.max_market_share})")
        if self.cvar_alpha is not None and not 0 < self.cvar_alpha < 1:
            raise StockpileInputError(f"cvar alpha must lie strictly between 0 and 1 (got {self.cvar_alpha})")
        if self.sharing not in ("need", "pro_rata"):
            raise StockpileInputError(f"sharing must be 'need' or 'pro_rata' (got {self.sharing!r})")
        if not self.holders or len(set(self.holders)) != len(self.holders):
            raise StockpileInputError(f"holders must be distinct and not empty (got {list(self.holders)})")
        national = [h for h in self.holders if h != JOINT]
        unknown = [h for h in national if h not in sample.parties]
        if unknown:
            raise StockpileInputError(f"holders {unknown} have no shortfalls in the scenarios (parties: "
                                      f"{list(sample.parties)}); a national holder must be one of them, or "
                                      f"'{JOINT}'")
        members = tuple(self.joint_members or sample.parties)
        bad = [m for m in members if m not in sample.parties]
        if bad:
            raise StockpileInputError(f"joint pool members {bad} are not parties of the scenarios")
        self.joint_members = members
        shares = self.joint_shares or {m: 1.0 / len(members) for m in members}
        if set(shares) != set(members) or any(v < 0 for v in shares.values()) or \
                abs(sum(shares.values()) - 1) > 1e-6:
            raise StockpileInputError(f"joint_shares must give each member {list(members)} a non-negative share "
                                      f"summing to 1 (got {shares})")
        self.joint_shares = shares
        for holder, value in (self.holder_budgets or {}).items():
            if holder not in self.holders:
                raise StockpileInputError(f"budget given for {holder!r}, which is not a holder {list(self.holders)}")
            if not np.isfinite(value) or value < 0:
                raise StockpileInputError(f"budget of {holder!r} must be a non-negative number (got {value})")
        served = [i for i, p in enumerate(sample.parties) if p in national or (JOINT in self.holders
                                                                                 and p in members)]
        has_shortfall = np.zeros(len(sample.materials), dtype=bool)
        has_shortfall[sample.material[np.isin(sample.party, served)]] = True
        wanted = set() if self.minimum is None else \
            set(self.minimum.index[(self.minimum.fillna(0.0) > 0).any(axis=1).to_numpy()])
        self.materials = tuple(m for i, m in enumerate(sample.materials) if has_shortfall[i] or m in wanted)
        for series, what in ((self.price, "price (USD/t)"), (self.loss, "loss per tonne short (USD/t)")):
            values = series.reindex(list(self.materials))
            missing = values.index[values.isna()].tolist()
            if missing:
                raise StockpileInputError(f"no {what} for {missing}: give them in a file "
                                          f"(--prices / --loss-per-tonne)")
            negative = values.index[values < 0].tolist()
            if negative:
                raise StockpileInputError(f"negative {what} for {negative}")
        self._check_feasible()

    def _check_feasible(self) -> None:
        """Explain conflicts between minimum holdings and the budget, storage and absorption limits."""
        low, high = self.lower_bounds(), self.upper_bounds()
        price = self.price.reindex(list(self.materials)).to_numpy(float)
        clash = np.argwhere(low > high + 1e-9)
        if len(clash):
            m, h = clash[0]
            raise InfeasiblePlanError(
                f"minimum holding of {self.materials[m]} by {self.holders[h]} ({low[m, h]:,.6g} t) exceeds its "
                f"storage limit or the market-absorption limit ({high[m, h]:,.6g} t)")
        cap = self.absorption_cap()
        over = np.flatnonzero(low.sum(axis=1) > cap + 1e-9)
        if len(over):
            m = over[0]
            raise InfeasiblePlanError(
                f"minimum holdings of {self.materials[m]} ({low[m].sum():,.6g} t over all holders) exceed the "
                f"market-absorption limit ({self.max_market_share:g} × world supply = {cap[m]:,.6g} t)")
        cost = float((price[:, None] * low).sum())
        if cost > self.budget * (1 + 1e-9):
            raise InfeasiblePlanError(f"minimum holdings cost {cost:,.0f} USD, more than the budget "
                                      f"{self.budget:,.0f} USD")
        for holder, value in (self.holder_budgets or {}).items():
            h = self.holders.index(holder)
            need = float((price * low[:, h]).sum())
            if need > value * (1 + 1e-9):
                raise InfeasiblePlanError(f"minimum holdings of {holder} cost {need:,.0f} USD, more than its "
                                          f"budget {value:,.0f} USD")

    # ------------------------------------------------------------------------------------------- arrays
    def _frame(self, frame: pd.DataFrame | None, fill: float) -> np.ndarray:
        if frame is None:
            return np.full((len(self.materials), len(self.holders)), fill)
        out = frame.reindex(index=list(self.materials), columns=list(self.holders)).to_numpy(float)
        return np.where(np.isnan(out), fill, out)

    def lower_bounds(self) -> np.ndarray:
        return self._frame(self.minimum, 0.0)

    def absorption_cap(self) -> np.ndarray:
        if self.world_supply is None or self.max_market_share >= 1:
            return np.full(len(self.materials), np.inf)
        supply = self.world_supply.reindex(list(self.materials)).to_numpy(float)
        return np.where(np.isnan(supply), np.inf, self.max_market_share * supply)

    def upper_bounds(self) -> np.ndarray:
        return np.minimum(self._frame(self.storage_limit, np.inf), self.absorption_cap()[:, None])

    @property
    def national(self) -> list[str]:
        return [h for h in self.holders if h != JOINT]

    def working_sample(self) -> ShortfallSample:
        # every material kept: the selection would copy the same rows (≈ 0.4 s per call at 6M rows)
        if self.materials == tuple(self.sample.materials):
            return self.sample
        return self.sample.select(list(self.materials))

    # --------------------------------------------------------------------------------------- fast path
    def fast_path(self) -> tuple[bool, str]:
        """Whether the problem decomposes per item (and why not)."""
        if self.cvar_alpha is not None:
            return False, "the CVaR term couples materials through each scenario's total loss"
        if JOINT in self.holders and self.national:
            return False, "national stockpiles and a joint pool serve the same parties"
        if JOINT in self.holders and self.sharing == "pro_rata" and len(self.joint_members or ()) > 1:
            return False, "pro-rata sharing of the joint pool"
        if self.holder_budgets:
            if set(self.holder_budgets) != set(self.holders):
                return False, "per-holder budgets for some holders only"
            if self.budget < sum(self.holder_budgets.values()) * (1 - 1e-12):
                return False, "the total budget and the per-holder budgets both bind"
        return True, "materials are coupled only through the budget"


@dataclass
class Solution:
    """First- and second-stage decisions, whichever method found them."""

    method: str
    buy: np.ndarray                 # material × holder (t)
    budget_multiplier: float
    holder_multipliers: dict[str, float]
    served: pd.DataFrame            # scenario-level releases: scenario, material, holder, party, release_t
    expected_unmet: np.ndarray      # material × party (t/yr)
    unmet_by_scenario_loss: np.ndarray  # scenario: loss (USD) in that year with the stockpile
    seconds: dict[str, float]
    status: str = "optimal"
    cvar: float | None = None


# ------------------------------------------------------------------------------------------------ the LP
@dataclass
class StockpileLP:
    """The linopy model of the module docstring, kept with its HiGHS instance for in-place re-solves."""

    problem: StockpileProblem
    model: object
    solver: object
    shortfall: np.ndarray            # S × M × P dense
    build_seconds: float

    @classmethod
    def build(cls, problem: StockpileProblem) -> StockpileLP:
        import linopy

        started = time.perf_counter()
        sample = problem.working_sample()
        shortfall = sample.dense()
        materials, holders, parties = list(problem.materials), list(problem.holders), list(sample.parties)
        n_s = sample.n_scenarios
        scenario_ix = pd.RangeIndex(n_s, name="scenario")
        material_ix = pd.Index(materials, name="material")
        price = xr.DataArray(problem.price.reindex(materials).to_numpy(float), coords=[material_ix])
        loss = xr.DataArray(problem.loss.reindex(materials).to_numpy(float), coords=[material_ix])
        prob = xr.DataArray(sample.probability, coords=[scenario_ix])
        years = problem.horizon_years

        model = linopy.Model()
        lower, upper = problem.lower_bounds(), problem.upper_bounds()
        holder_ix = pd.Index(holders, name="holder")
        buy = model.add_variables(lower=xr.DataArray(lower, coords=[material_ix, holder_ix]),
                                  upper=xr.DataArray(upper, coords=[material_ix, holder_ix]), name="buy")
        national = problem.national
        members = list(problem.joint_members) if JOINT in holders else []
        served_parties = [p for p in parties if p in national or p in members]
        party_ix = pd.Index(served_parties, name="party")
        demand = xr.DataArray(shortfall[:, :, [parties.index(p) for p in served_parties]],
                              coords=[scenario_ix, material_ix, party_ix])
        short = demand > 0   # rows and variables exist only where a party is short (most cells are not)
        unmet = model.add_variables(lower=0, coords=demand.coords, mask=short, name="unmet")
        unmet_terms = unmet.fillna(0)   # absent (masked) slots contribute nothing
        cover = unmet_terms
        if national:
            own = xr.DataArray(np.array([[float(p == h) for h in holders] for p in served_parties]),
                               coords=[party_ix, holder_ix])
            cover = cover + (buy * own).sum("holder")
        if members:
            cover = cover + _joint_pool(model, problem, buy, demand, short, served_parties, members)
        # unmet ≥ shortfall − own stock − release from the pool
        model.add_constraints(cover >= demand, name="shortfall", mask=short)
        _budget_and_absorption(model, problem, buy, price, materials, holders)
        unit_cost = (1 + years * problem.holding_cost_rate) * price
        if national and members:
            # national and pooled stock are interchangeable where only one party is short: prefer national
            # stock (no sharing needed) by a negligible margin so that the plan is unique
            unit_cost = unit_cost * xr.DataArray([1.0 + (JOINT_TIE_BREAK if h == JOINT else 0.0) for h in holders],
                                                 coords=[holder_ix])
        objective = years * (unmet_terms * loss * prob).sum() + (buy * unit_cost).sum()
        if problem.cvar_alpha is not None:
            eta = model.add_variables(name="cvar_eta")
            excess = model.add_variables(lower=0, coords=[scenario_ix], name="cvar_excess")
            model.add_constraints(excess + eta - (unmet_terms * loss).sum(["material", "party"]) >= 0, name="cvar_tail")
            weight = problem.cvar_weight * years
            objective = objective + weight * eta + (weight / (1 - problem.cvar_alpha)) * (excess * prob).sum()
        model.add_objective(objective)
        with solver_output_off_stdout():
            solver = linopy.solvers.Highs.from_model(model, io_api="direct", track_updates=True,
                                                     options={"output_flag": False})
        return cls(problem, model, solver, shortfall, time.perf_counter() - started)

    def solve(self, budget: float | None = None) -> Solution:
        """Solve (again): a new ``budget`` only changes a right-hand side, and HiGHS warm-starts."""
        if budget is not None:
            if not np.isfinite(budget) or budget < 0:
                raise StockpileInputError(f"budget must be a non-negative number (got {budget})")
            self.problem = replace(self.problem, budget=budget)
            self.model.constraints["budget"].update(rhs=budget)
        started = time.perf_counter()
        with solver_output_off_stdout():
            result = self.solver.solve(self.model, assign=True, disallow_rebuild=True)
        seconds = time.perf_counter() - started
        status = result.status
        if status.status.value != "ok":
            raise InfeasiblePlanError(
                f"the stockpile LP is {status.termination_condition.value}: the budget, per-holder budgets, "
                "storage, absorption and minimum-holding constraints cannot all hold")
        return self._solution(seconds)

    def _solution(self, solve_seconds: float) -> Solution:
        problem, model = self.problem, self.model
        sample = problem.working_sample()
        parties = list(sample.parties)
        buy = model.variables["buy"].solution.values
        unmet_var = model.variables["unmet"].solution
        served_parties = [str(p) for p in unmet_var.party.values]
        index = [parties.index(p) for p in served_parties]
        unmet = self.shortfall.copy()   # parties no holder serves keep their whole shortfall
        unmet[:, :, index] = np.where(self.shortfall[:, :, index] > 0,
                                      np.clip(np.nan_to_num(unmet_var.values), 0.0, None), 0.0)
        unmet = np.minimum(unmet, self.shortfall)
        released = self.shortfall - unmet
        pooled = np.zeros_like(released)
        if JOINT in problem.holders:
            # a member draws on its national stock first and on the pool for the rest; released ≤ own + pool
            # in every shortfall row, so these draws never exceed what the release variables allow
            holders = list(problem.holders)
            for k, party in zip(index, served_parties, strict=True):
                if party in (problem.joint_members or ()):
                    own = buy[:, holders.index(party)] if party in holders else 0.0
                    pooled[:, :, k] = np.clip(released[:, :, k] - own, 0.0, None)
        frames = []
        for holder_kind, amount in ((None, released - pooled), (JOINT, pooled)):
            s, m, k = np.nonzero(amount > 1e-9)
            frames.append(pd.DataFrame({
                "scenario": sample.scenarios[s], "material": np.array(problem.materials, dtype=object)[m],
                "holder": holder_kind or np.array(parties, dtype=object)[k],
                "party": np.array(parties, dtype=object)[k], "release_t": amount[s, m, k]}))
        loss = problem.loss.reindex(list(problem.materials)).to_numpy(float)
        expected_unmet = (unmet * sample.probability[:, None, None]).sum(axis=0)
        dual = model.constraints["budget"].dual
        multiplier = float(-dual.values) if dual is not None else float("nan")
        holder_multipliers = {h: float(-model.constraints[f"budget_{h}"].dual.values)
                              for h in (problem.holder_budgets or {})}
        cvar = None
        if problem.cvar_alpha is not None:
            cvar = float(model.variables["cvar_eta"].solution.values
                         + (model.variables["cvar_excess"].solution.values * sample.probability).sum()
                         / (1 - problem.cvar_alpha))
        releases = pd.concat(frames, ignore_index=True).sort_values(["scenario", "material"], ignore_index=True)
        return Solution("LP (linopy + HiGHS)", buy, max(multiplier, 0.0), holder_multipliers, releases,
                        expected_unmet, (unmet * loss[None, :, None]).sum(axis=(1, 2)),
                        {"build": self.build_seconds, "solve": solve_seconds}, cvar=cvar)


def _joint_pool(model, problem: StockpileProblem, buy, demand: xr.DataArray, short: xr.DataArray,
                served_parties: list[str], members: list[str]):
    """What the joint pool adds to each member's cover (a linopy expression over scenario × material × party).

    Where one member alone is short, the pool's release to it is min(D, x_joint) (or its pro-rata share), so
    the joint stock enters its shortfall row directly; release variables and the stock-held row are needed only
    where several members compete for the pool.  This projection is exact and removes most of the second-stage
    variables (benchmark: 238k → 127k columns)."""
    party_ix = pd.Index(served_parties, name="party")
    is_member = xr.DataArray([p in members for p in served_parties], coords=[party_ix])
    member_short = short & is_member
    competing = member_short & (member_short.sum("party") > 1)
    alone = member_short & ~competing
    joint = buy.sel(holder=JOINT, drop=True)
    pro_rata = problem.sharing == "pro_rata" and len(members) > 1
    share = xr.DataArray([problem.joint_shares.get(p, 0.0) if pro_rata else 1.0 for p in served_parties],
                         coords=[party_ix])
    cover = (joint * share).where(alone).fillna(0)
    if bool(competing.any()):
        pool = model.add_variables(lower=0, upper=demand, mask=competing, name="release_joint")
        cover = cover + pool.fillna(0)
        model.add_constraints(pool.sum("party") - joint <= 0, name="joint_stock", mask=competing.any("party"))
        if pro_rata:
            model.add_constraints(pool.fillna(0) - share * joint <= 0, name="joint_sharing", mask=competing)
    return cover


def _budget_and_absorption(model, problem: StockpileProblem, buy, price: xr.DataArray, materials: list[str],
                           holders: list[str]) -> None:
    """The joint budget, each holder's own budget, and market absorption where several holders share a cap."""
    model.add_constraints((buy * price).sum() <= problem.budget, name="budget")
    for holder, value in (problem.holder_budgets or {}).items():
        model.add_constraints((buy.sel(holder=holder, drop=True) * price).sum() <= value, name=f"budget_{holder}")
    # market absorption: only rows that can bind (several holders, finite cap) — single holders use bounds
    cap = problem.absorption_cap()
    coupled = np.isfinite(cap) & (len(holders) > 1)
    if coupled.any():
        rows = [materials[i] for i in np.flatnonzero(coupled)]
        model.add_constraints(buy.sel(material=rows).sum("holder")
                              <= xr.DataArray(cap[coupled], coords=[pd.Index(rows, name="material")]),
                              name="absorption")


def _empty_releases() -> pd.DataFrame:
    return pd.DataFrame({"scenario": [], "material": [], "holder": [], "party": [], "release_t": []})


# ------------------------------------------------------------------------------------------ the fast path
def prepare_fast(problem: StockpileProblem) -> ItemDistributions:
    """Sorted shortfall distribution of every (material, holder) item; reusable across budgets."""
    sample = problem.working_sample()
    parties = list(sample.parties)
    n_m = len(problem.materials)
    holders = list(problem.holders)
    # items: one per (material, holder); a holder's shortfall is its party's, or the pool members' total
    item_rows, item_values = [], []
    if JOINT in holders:
        members = [parties.index(p) for p in problem.joint_members]
        pick = np.isin(sample.party, members)
        pick = slice(None) if pick.all() else pick   # every row a member's: views, not copies
        if len(members) == 1:
            key_s, key_m, values = sample.scenario[pick], sample.material[pick], sample.shortfall_t[pick]
        else:
            key = sample.scenario[pick] * n_m + sample.material[pick]
            unique, inverse = np.unique(key, return_inverse=True)
            values = np.bincount(inverse, weights=sample.shortfall_t[pick])
            key_s, key_m = unique // n_m, unique % n_m
        item_rows.append((key_m * len(holders) + holders.index(JOINT), key_s))
        item_values.append(values)
    for holder in problem.national:
        pick = sample.party == parties.index(holder)
        item_rows.append((sample.material[pick] * len(holders) + holders.index(holder), sample.scenario[pick]))
        item_values.append(sample.shortfall_t[pick])
    item = np.concatenate([r[0] for r in item_rows])
    scenario = np.concatenate([r[1] for r in item_rows])
    values = np.concatenate(item_values)
    weights = sample.probability
    # equal scenario weights (an ensemble: 1/N): fill instead of gathering one weight per row
    row_weight = np.full(len(scenario), weights[0]) if len(weights) and weights.min() == weights.max() \
        else weights[scenario]
    return ItemDistributions.from_rows(item, values, row_weight, n_m * len(holders))


def solve_fast(problem: StockpileProblem, prepared: ItemDistributions | None = None) -> Solution:
    """Per-item newsvendor + budget multiplier (see :mod:`minsec.stockpile.newsvendor`)."""
    applies, reason = problem.fast_path()
    if not applies:
        raise StockpileInputError(f"the fast path does not apply: {reason}")
    started = time.perf_counter()
    dist = prepared if prepared is not None else prepare_fast(problem)
    sample = problem.working_sample()
    materials, parties = list(problem.materials), list(sample.parties)
    n_m = len(materials)
    holders = list(problem.holders)
    n_items = n_m * len(holders)
    price = np.repeat(problem.price.reindex(materials).to_numpy(float), len(holders))
    loss = np.repeat(problem.loss.reindex(materials).to_numpy(float), len(holders))
    years = problem.horizon_years
    lower, upper = problem.lower_bounds().ravel(), problem.upper_bounds().ravel()
    if problem.holder_budgets:
        group = np.tile(np.arange(len(holders)), n_m)
        budgets = np.array([problem.holder_budgets[h] for h in holders])
    else:
        group = np.zeros(n_items, dtype=np.int64)
        budgets = np.array([problem.budget])
    solution = solve_newsvendor(dist, price, (1 + years * problem.holding_cost_rate) * price, years * loss,
                                lower, upper, group, budgets)
    solve_seconds = time.perf_counter() - started
    buy = solution.stock.reshape(n_m, len(holders))
    # coupled absorption limits were relaxed: the relaxed optimum is optimal if it satisfies them
    cap = problem.absorption_cap()
    if len(holders) > 1 and np.any(buy.sum(axis=1) > cap * (1 + 1e-9)):
        raise NeedsLPError("market-absorption limits bind across holders")
    # the release policy: release what is short, up to the stock; a pool shares its release pro rata to need
    released = _release_policy(problem, sample, buy)
    loss_m = problem.loss.reindex(materials).to_numpy(float)
    unmet = sample.shortfall_t - released
    expected_unmet = np.zeros((n_m, len(parties)))
    np.add.at(expected_unmet, (sample.material, sample.party), unmet * sample.probability[sample.scenario])
    scenario_loss = np.bincount(sample.scenario, weights=unmet * loss_m[sample.material],
                                minlength=sample.n_scenarios)
    keep = released > 1e-9
    holder_names = [JOINT if JOINT in holders else p for p in parties]
    party_kept = sample.party[keep]
    releases = pd.DataFrame({"scenario": _labels(sample.scenarios, sample.scenario[keep]),
                             "material": _labels(materials, sample.material[keep]),
                             "holder": _labels(holder_names, party_kept),
                             "party": _labels(parties, party_kept),
                             "release_t": released[keep]})
    holder_multipliers = ({h: float(solution.multiplier[i]) for i, h in enumerate(holders)}
                          if problem.holder_budgets else {})
    total_multiplier = 0.0 if problem.holder_budgets else float(solution.multiplier[0])
    return Solution("newsvendor fast path (budget multiplier by bisection)", buy, total_multiplier,
                    holder_multipliers, releases, expected_unmet, scenario_loss,
                    {"build": 0.0, "solve": solve_seconds})


class NeedsLPError(MinsecError):
    """The fast path's relaxed optimum violates a coupling constraint: solve the LP instead."""


def _labels(names, codes: np.ndarray):
    """``names[codes]`` as the column pandas would infer from it.

    With pandas' Arrow-backed ``str`` dtype, building a column of millions of Python strings converts them one
    by one (≈ 0.3 s per column at 6M rows); taking from the few distinct names in Arrow gives the same column
    in milliseconds.  Other labels (numbers, or an object-dtype pandas) are indexed as before."""
    names = np.asarray(names, dtype=object) if not isinstance(names, np.ndarray) else names
    dtype = pd.Series(names[:1]).dtype if len(names) else None
    if not len(codes) or names.dtype != object or not isinstance(dtype, pd.StringDtype) or \
            not all(isinstance(n, str) for n in names):
        return names[codes]
    import pyarrow as pa

    return pd.array(pa.array(list(names), pa.large_string()).take(pa.array(codes)), dtype=dtype)


def _release_policy(problem: StockpileProblem, sample: ShortfallSample, buy: np.ndarray) -> np.ndarray:
    """Release per shortfall row: national stock up to the shortfall; a joint pool pro rata to need."""
    holders, parties = list(problem.holders), list(sample.parties)
    n_m = len(problem.materials)
    released = np.zeros(len(sample.shortfall_t))
    if JOINT in holders:
        members = [parties.index(p) for p in problem.joint_members]
        pick = np.isin(sample.party, members)
        key = sample.scenario[pick] * n_m + sample.material[pick]
        short = sample.shortfall_t[pick]
        if len(key) and np.all(key[1:] > key[:-1]):
            # one row per (scenario, material), in order (a single member): each row is its own total, and
            # np.unique's sort of millions of keys is not needed
            unique, inverse, total = key, slice(None), short
        else:
            unique, inverse = np.unique(key, return_inverse=True)
            total = np.bincount(inverse, weights=short)
        stock = buy[unique % n_m, holders.index(JOINT)]
        ratio = np.minimum(1.0, np.divide(stock, total, out=np.ones_like(total), where=total > 0))
        released[pick] = short * ratio[inverse]
    for holder in problem.national:
        pick = sample.party == parties.index(holder)
        released[pick] = np.minimum(sample.shortfall_t[pick], buy[sample.material[pick], holders.index(holder)])
    return released


def solve(problem: StockpileProblem, method: Literal["auto", "lp", "fast"] = "auto") -> Solution:
    """Solve with the fast path where it applies (``auto``), else the LP."""
    if method == "fast" or (method == "auto" and problem.fast_path()[0]):
        try:
            return solve_fast(problem)
        except NeedsLPError:
            if method == "fast":
                raise StockpileInputError("the fast path does not apply: market-absorption limits bind across holders"
                                 ) from None
    return StockpileLP.build(problem).solve()
