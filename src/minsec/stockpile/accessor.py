"""``sc.stockpile``: what to buy with a budget, held by whom, and how much expected loss that avoids.

The shortfalls come from a minsec ensemble over the SupplyChain's scenario context (``ensemble`` one-year
scenarios) or from the user's scenario table; prices, losses and world supply from the bundled data unless
overridden.  :meth:`StockpileAccessor.optimize` returns a :class:`StockpileResult` whose tables are the CLI's
(``minsec stockpile optimize -f json``); :meth:`StockpileAccessor.frontier` the efficient frontier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minsec.errors import InputError
from minsec.model.records import records
from minsec.model.supply_chain import register_accessor
from minsec.scenarios.accessor import ScenariosAccessor  # noqa: F401 - sc.scenarios, used below

if TYPE_CHECKING:
    import pandas as pd

    from minsec.model.supply_chain import SupplyChain
    from minsec.stockpile.plan import StockpilePlan
    from minsec.stockpile.setup import PreparedProblem

Progress = Callable[[int], None]


@dataclass
class StockpileResult:
    """A stockpile plan: ``plan`` (material × holder: tonnes, cost, days of cover, expected shortfall with and
    without), ``by_party``, ``summary`` (objective in USD, budget multiplier, solver), ``reference_points``
    (published stockpiles beside the plan), ``releases`` (release policy per scenario), ``cooperation`` (separate
    vs joint, when a split was given) and ``warnings``."""

    summary: dict
    plan: pd.DataFrame
    by_party: pd.DataFrame
    reference_points: pd.DataFrame
    releases: pd.DataFrame
    cooperation: pd.DataFrame | None = None
    warnings: list[str] = field(default_factory=list)
    details: StockpilePlan | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON (``minsec stockpile optimize -f json``)."""
        payload: dict[str, Any] = {
            "objective_usd": self.summary["objective_usd"], "budget_multiplier": self.summary["budget_multiplier"],
            "summary": self.summary, "plan": records(self.plan), "by_party": records(self.by_party),
            "reference_points": records(self.reference_points), "warnings": self.warnings}
        if self.cooperation is not None:
            payload["cooperation"] = records(self.cooperation)
        return payload


@register_accessor("stockpile")
class StockpileAccessor:
    """Stockpile planning over disruption scenarios: ``sc.stockpile.optimize(budget_usd=12e9)``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain

    def prepare(self, budget_usd: float, *, scenarios: str | Path | None = None, ensemble: int = 2_000,
                seed: int = 0, holders: str | Iterable[str] = "US,EU,joint", members: str | Iterable[str] = "US,EU",
                cvar: float | None = None, prices: str | Path | None = None, loss_per_tonne: str | Path | None = None,
                holding_cost_rate: float = 0.02, max_market_share: float = 0.10, horizon_years: float = 15.0,
                sharing: str = "need", min_days: float = 0.0, scheduler: str = "none",
                materials: str | Iterable[str] | None = None, progress: Progress | None = None) -> PreparedProblem:
        """The stockpile problem (shortfall sample, prices, losses, constraints) before it is solved.

        ``materials`` limits the plan to some materials or families (``"rare_earths,magnets"``: the separated
        rare-earth oxides and the magnets — the Project Vault question)."""
        from minsec.stockpile.inputs import (
            JOINT,
            annual_sample,
            ensemble_materials,
            expand_materials,
            read_material_values,
            read_shortfall_table,
        )
        from minsec.stockpile.setup import parse_holders, prepare_problem

        _check_budgets([budget_usd])
        holder_list = parse_holders(holders)
        context = self._chain.scenarios.context()
        chosen = None
        if scenarios is not None:
            sample = read_shortfall_table(scenarios)
        else:
            if ensemble < 1:
                raise InputError("--ensemble must be at least 1")
            if materials is not None:   # checked before the ensemble runs
                chosen = expand_materials(materials, ensemble_materials(context.baseline.markets))
            parties = [h for h in holder_list if h != JOINT]
            if JOINT in holder_list and not parties:
                parties = list(parse_holders(members))
            sample = annual_sample(context, parties, ensemble, seed, None if scheduler == "none" else scheduler,
                                   progress=progress)
        if materials is not None:
            sample = sample.select(chosen or expand_materials(materials, list(sample.materials)))
        price = read_material_values(prices, "price_usd_per_t") if prices is not None else None
        losses = read_material_values(loss_per_tonne, "loss_usd_per_t") if loss_per_tonne is not None else None
        return prepare_problem(context, sample, budget_usd, holder_list, price, losses, cvar_alpha=cvar,
                               holding_cost_rate=holding_cost_rate, horizon_years=horizon_years,
                               max_market_share=max_market_share, sharing=sharing, min_days=min_days,
                               drop_unpriced=scenarios is None)

    def optimize(self, budget_usd: float, *, method: str = "auto", split: str | Mapping[str, float] | None = None,
                 **options: Any) -> StockpileResult:
        """Which materials, how many tonnes, held by whom, under a budget (USD), minimising the expected annual
        loss from unmet demand plus acquisition and holding cost (two-stage stochastic LP, or the newsvendor fast
        path where it is exact).

        ``options`` are :meth:`prepare`'s (``scenarios``, ``ensemble``, ``seed``, ``holders``, ``cvar``, …);
        ``method``: ``auto``, ``lp`` or ``fast``; ``split`` (``"US=0.5,EU=0.5"`` or a dict) also compares
        separate stockpiles with that budget split against a joint pool."""
        from minsec.stockpile.plan import cooperation, optimize, reference_points

        _check_method(method)
        prepared = self.prepare(budget_usd, **options)
        plan = optimize(prepared.problem, prepared.facts, method)
        shares = parse_split(split) if split else None
        return StockpileResult(
            plan.summary, plan.plan, plan.by_party, reference_points(plan, self._chain.parameter_facts), plan.releases,
            cooperation(prepared.problem, shares, prepared.facts) if shares else None, prepared.warnings, plan)

    def frontier(self, budgets: Iterable[float] = (0, 5e8, 1e9, 2e9, 5e9, 1.2e10, 2e10), *, method: str = "auto",
                 holders: str | Iterable[str] = "joint", **options: Any) -> pd.DataFrame:
        """The efficient frontier: budget (USD) → expected annual loss, the model built once and re-solved."""
        from minsec.stockpile.plan import frontier

        _check_method(method)
        values = [float(b) for b in budgets]
        if not values:
            raise InputError("--budgets: give at least one budget")
        _check_budgets(values)
        prepared = self.prepare(max(values), holders=holders, **options)
        table = frontier(prepared.problem, values, method)
        table.attrs["warnings"] = prepared.warnings
        return table

    def cooperation_frontier(self, budgets: Iterable[float], split: str | Mapping[str, float], *,
                             ensemble: int = 2_000, seed: int = 0, method: str = "auto",
                             progress: Progress | None = None) -> tuple[pd.DataFrame, dict[str, float], list[str]]:
        """Expected loss by budget for separate stockpiles (budget split by ``split``) and for a joint pool of
        the same parties; returns (table, split by canonical party, warnings)."""
        from minsec.stockpile.plan import cooperation_frontier
        from minsec.stockpile.setup import parse_holders

        _check_method(method)
        shares = parse_split(split)
        parties = list(parse_holders(list(shares)))
        values = [float(b) for b in budgets]
        prepared = self.prepare(max(values), ensemble=ensemble, seed=seed, holders=tuple(parties),
                                progress=progress)
        split_by_party = dict(zip(parties, shares.values(), strict=True))
        return cooperation_frontier(prepared.problem, split_by_party, values, method), split_by_party, \
            prepared.warnings


def parse_split(split: str | Mapping[str, float]) -> dict[str, float]:
    """``"US=0.5,EU=0.5"`` or ``{"US": 0.5, "EU": 0.5}`` → {canonical party: share}."""
    from minsec.stockpile.setup import parse_holders

    if isinstance(split, Mapping):
        items = [(str(k), v) for k, v in split.items()]
    else:
        items = [tuple(item.partition("=")[::2]) for item in str(split).split(",") if item.strip()]
    shares = {}
    for party, value in items:
        try:
            shares[parse_holders(party)[0]] = float(value)
        except ValueError:
            raise InputError(f"--split {party}={value}: expected PARTY=SHARE") from None
    return shares


def _check_method(method: str) -> None:
    if method not in ("auto", "lp", "fast"):
        raise InputError(f"--method must be auto, lp or fast (got {method!r})")


#: the largest budget a plan accepts, USD: ten times the world's yearly output of every material in the model at
#: today's prices is of the order of 1e12; beyond 1e13 a solver treats the bound as infinite
MAX_BUDGET_USD = 1e13


def _check_budgets(budgets: list[float]) -> None:
    """Every budget a finite number from 0 to :data:`MAX_BUDGET_USD` (all the wrong ones named at once)."""
    import math

    wrong = [b for b in budgets if not (math.isfinite(b) and 0 <= b <= MAX_BUDGET_USD)]
    if wrong:
        raise InputError(f"budget {', '.join(f'{b:g}' for b in wrong)} USD is outside [0, {MAX_BUDGET_USD:g}]")
