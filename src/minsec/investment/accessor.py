"""``sc.invest``: the critical-mineral project pipeline, capacity benchmarks (EU CRMA 10/40/25 % and a labelled US
analogue) and the joint portfolio that buys the most security per dollar.

Consumption comes from the SupplyChain (apparent consumption P + M − X, :mod:`minsec.investment.benchmarks`)
unless the user gives a table; the shortfall objective uses a minsec ensemble over the chain's scenario context.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minsec.errors import InputError
from minsec.model.records import records
from minsec.model.supply_chain import register_accessor
from minsec.scenarios.accessor import ScenariosAccessor  # noqa: F401 - sc.scenarios, used by the shortfall objective

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from minsec.investment.portfolio import Portfolio
    from minsec.model.supply_chain import SupplyChain

REGIONS = ("EU27", "USA")
GAP_COLUMNS = ["region", "material", "stage", "gap_t", "target_pct", "consumption_t", "current_t", "current_known",
               "target_t", "current_pct"]
#: what the pipeline shows (``minsec invest pipeline``, ``GET /api/invest/projects``)
PIPELINE_COLUMNS = ["project_id", "name", "country", "material", "stages", "capacity_t_per_yr", "capex_usd",
                    "expected_start_year", "status", "evaluable", "not_evaluable"]
#: ``minsec invest benchmarks``: every assessed region × material × stage, then the materials in scope it cannot
#: assess (``assessed`` false, ``note`` says why)
BENCHMARK_COLUMNS = ["region", "material", "stage", "assessed", "consumption_t", "basis", "target_pct",
                     "share_now_pct", "share_end_pct", "share_added_pct", "first_year_met", "current_known", "note"]
CHOSEN_COLUMNS = ["project_id", "name", "country", "material", "stages", "capacity_t_per_yr", "capex_usd",
                  "cost_per_t_per_yr_usd", "expected_start_year", "start_year_assumed"]


@dataclass
class InvestmentResult:
    """A portfolio: ``summary`` (budget, spent, objective and its unit, tonnes secured, cost per secured t/yr,
    marginal value of the next dollars), ``chosen`` projects with funding per partner, ``needs`` and how far they
    are met, the benchmark ``trajectory`` with and without the portfolio (and ``trajectory_by_year``), and the
    projects ``not_evaluated`` with what is missing."""

    summary: dict[str, Any]
    chosen: pd.DataFrame
    needs: pd.DataFrame
    trajectory: pd.DataFrame
    trajectory_by_year: pd.DataFrame
    not_evaluated: pd.DataFrame
    portfolio: Portfolio | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON (``minsec invest optimize -f json``)."""
        return {"summary": self.summary, "chosen": records(self.chosen),
                "needs": records(self.needs.drop(columns=["countries"])),
                "benchmark_trajectory": records(self.trajectory),
                "benchmark_trajectory_by_year": records(self.trajectory_by_year),
                "not_evaluated": records(self.not_evaluated)}


@register_accessor("invest")
class InvestAccessor:
    """Joint investments: ``sc.invest.optimize(budget_usd=2e9, split="US=0.5,EU=0.5")``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain

    def pipeline(self, projects: str | Path | None = None, fill: str | Path | None = None,
                 evaluable: bool = False) -> pd.DataFrame:
        """The project pipeline with minsec's material, stages, capacity converted to minsec's basis (t/yr), capex
        (USD), start year, and for each project the optimiser cannot evaluate what is missing (``--fill``)."""
        from minsec.investment.pipeline import load_projects

        table = load_projects(projects, fill)
        return table[table["evaluable"]] if evaluable else table

    def benchmarks(self, regions: str | Iterable[str] = "EU27,USA", projects: str | Path | None = None,
                   fill: str | Path | None = None, consumption: str | Path | None = None,
                   years: str | tuple[int, int] = "2026:2035", default_start: int = 2030) -> pd.DataFrame:
        """Each region's share of consumption from its own capacity (current + pipeline projects with a capacity)
        against the benchmarks — extraction 10 %, processing 40 %, recycling 25 % — now, at the end of ``years``,
        and the first year each is met."""
        import numpy as np
        import pandas as pd

        from minsec.investment import benchmarks

        table, members, gaps = self._inputs(projects, fill, consumption, regions, default_start)
        pool = table[table["evaluable"] | table["capacity_t_per_yr"].notna()]
        path = benchmarks.trajectory(gaps, pool, members, year_span(years))
        keys = ["region", "material", "stage"]
        if path.empty:
            bench = pd.DataFrame(columns=BENCHMARK_COLUMNS)
        else:
            bench = path.groupby(keys, as_index=False, sort=False).agg(
                target_pct=("target_pct", "first"), share_now_pct=("share_pct", "first"),
                share_end_pct=("share_pct", "last"), share_added_pct=("added_t", "last"),
                first_year_met=("first_year_met", "first"), current_known=("current_known", "first"))
            bench = bench.merge(gaps[[*keys, "consumption_t", "basis"]], on=keys, how="left")
            bench["share_added_pct"] = 100 * bench["share_added_pct"] / bench["consumption_t"]
            # missing is never zero: a share whose current capacity the data do not record is null, and with the
            # pipeline a lower bound (share_added_pct), not a share
            unknown = ~bench["current_known"].astype(bool)
            bench.loc[unknown, ["share_now_pct", "share_end_pct"]] = np.nan
            bench["assessed"] = True
            bench["note"] = np.where(unknown, "current capacity not recorded: share unknown, the pipeline adds "
                                              "share_added_pct", "")
        missing = benchmarks.not_assessed(self._chain, members, set(zip(gaps.get("region", []),
                                                                            gaps.get("material", []), strict=True)))
        return pd.concat([bench, missing], ignore_index=True)[BENCHMARK_COLUMNS] if len(missing) else \
            bench[BENCHMARK_COLUMNS]

    def optimize(self, budget_usd: float, objective: str = "benchmarks", *, regions: str | Iterable[str] = "EU27,USA",
                 split: str | Mapping[str, float] | None = None, projects: str | Path | None = None,
                 fill: str | Path | None = None, consumption: str | Path | None = None, ensemble: int = 2000,
                 seed: int = 0, years: str | tuple[int, int] = "2026:2035", default_start: int = 2030,
                 funding: str = "home") -> InvestmentResult:
        """Choose projects and partner funding under a joint budget (USD; MILP, HiGHS): ``objective`` is
        ``benchmarks`` (CRMA gap points, 1 = a gap closed by 2030) or ``shortfall`` (expected annual loss avoided
        in USD, E[min(capacity, shortfall)] over an ensemble of ``ensemble`` scenarios).  ``split``: each partner's
        share of the budget; ``funding``: who may pay for which project (``home``: a partner pays for projects
        on its own territory or in third countries, never on another partner's; ``pro-rata``; ``pooled``)."""
        from minsec.investment import benchmarks
        from minsec.investment.portfolio import (
            FUNDING_RULES,
            needs_from_gaps,
            needs_from_shortfall,
            optimize,
            secured_curve,
        )

        shares, span = parse_shares(split), year_span(years)       # checked before any long work
        if objective not in ("benchmarks", "shortfall"):
            raise InputError(f"--objective {objective!r}: benchmarks or shortfall")
        if funding not in FUNDING_RULES:
            raise InputError(f"--funding {funding!r}: one of {', '.join(FUNDING_RULES)}")
        territories = self._territories(shares)
        table, members, gaps = self._inputs(projects, fill, consumption, regions, default_start)
        curves = None
        if objective == "benchmarks":
            needs = needs_from_gaps(gaps, members, benchmarks.TARGET_YEAR)
            unit = f"benchmark points (1 = a gap closed by {benchmarks.TARGET_YEAR})"
        else:
            expected, scenarios = self.shortfall_distribution(ensemble, seed)
            needs = needs_from_shortfall(expected, self._chain.members("partnership"))
            curves = {f"shortfall {m}": secured_curve(*scenarios[m]) for m in expected["material"]}
            unit = "USD a year of expected loss avoided"
        result = optimize(table, needs, budget_usd, shares, unit, funding=funding, territories=territories,
                          curves=curves)
        out = _result(result, table, gaps, members, span)
        out.summary["funding_rule"] = f"{funding}: {FUNDING_RULES[funding]}" if shares else \
            "one joint funder (no --split)"
        return out

    def _territories(self, shares: dict[str, float] | None) -> dict[str, frozenset[str] | None]:
        """Each funding partner's countries (``US``/``USA``, ``EU``/``EU27``, an ISO3 code or a group); ``joint``
        has none (it pays anywhere)."""
        from minsec.stockpile.inputs import canonical_party

        out: dict[str, frozenset[str] | None] = {}
        for partner in shares or {}:
            if partner.lower() == "joint":
                out[partner] = None
                continue
            try:
                out[partner] = frozenset(self._chain.members(canonical_party(partner)))
            except (KeyError, ValueError, InputError):
                raise InputError(f"--split: {partner!r} is not a partner (US, EU, an ISO3 code, a group or "
                                 "joint)") from None
        return out

    def expected_shortfall(self, size: int = 2000, seed: int = 0) -> pd.DataFrame:
        """The partners' (USA, EU27) expected annual shortfall (t) and loss per tonne short (USD), per material,
        from a minsec ensemble of ``size`` one-year scenarios."""
        return self.shortfall_distribution(size, seed)[0]

    def shortfall_distribution(self, size: int = 2000, seed: int = 0
                               ) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, np.ndarray]]]:
        """:meth:`expected_shortfall` and, per material, the partners' shortfall in each scenario where there is
        one with its probability (what a capacity secures is E[min(capacity, shortfall)] over these)."""
        import numpy as np
        import pandas as pd

        from minsec.stockpile.inputs import annual_sample
        from minsec.stockpile.setup import prepare_problem

        context = self._chain.scenarios.context()
        sample = annual_sample(context, ["USA", "EU27"], size, seed)
        prepared = prepare_problem(context, sample, 0.0, ("joint",), drop_unpriced=True)
        working = prepared.problem.working_sample()
        expected = working.expected().sum(axis=1)
        materials = list(prepared.problem.materials)
        scenarios = {}
        for m, material in enumerate(materials):
            rows = working.material == m
            total = np.bincount(working.scenario[rows], weights=working.shortfall_t[rows],
                                minlength=working.n_scenarios)
            short = np.flatnonzero(total > 0)
            scenarios[material] = (total[short], working.probability[short])
        table = pd.DataFrame({"material": materials, "expected_shortfall_t": expected,
                              "loss_usd_per_t": prepared.problem.loss.reindex(materials).to_numpy(float)})
        return table, scenarios

    def _inputs(self, projects, fill, consumption, regions, default_start):
        """Pipeline (start years assumed where missing, flagged), the benchmark regions' members, their gaps."""
        import pandas as pd

        from minsec.investment import benchmarks
        from minsec.investment.pipeline import load_projects

        table = load_projects(projects, fill)
        table["start_year_assumed"] = table["expected_start_year"].isna()
        table["expected_start_year"] = table["expected_start_year"].fillna(default_start)
        names = [r.strip() for r in regions.split(",")] if isinstance(regions, str) else list(regions)
        unknown = [r for r in names if r and r not in REGIONS]
        if unknown:
            raise InputError(f"--regions: {unknown[0]!r} is not EU27 or USA")
        members = {r: self._chain.members(r) for r in names if r}
        if consumption is not None:
            use = benchmarks.read_consumption(consumption)
            use = use[use["region"].isin(members)]
        else:
            use = pd.concat([benchmarks.consumption(self._chain, r) for r in members], ignore_index=True)
        gaps = benchmarks.gaps(use) if len(use) else pd.DataFrame(columns=GAP_COLUMNS)
        return table, members, gaps


def _result(result: Portfolio, table: pd.DataFrame, gaps: pd.DataFrame, members: dict, span: np.ndarray
            ) -> InvestmentResult:
    """The portfolio's tables: chosen projects, the trajectory with vs without it, what was not evaluated."""
    from minsec.investment import benchmarks

    before = benchmarks.trajectory(gaps, table.head(0), members, span)
    after = benchmarks.trajectory(gaps, result.chosen, members, span)
    touched = set(result.chosen["material"])
    keys = ["region", "material", "stage"]
    timeline = after.groupby(keys, as_index=False).agg(share_end_pct=("share_pct", "last"),
                                                       first_year_met=("first_year_met", "first"))
    timeline = timeline.merge(before.groupby(keys, as_index=False).agg(
        share_end_without_pct=("share_pct", "last"), first_year_met_without=("first_year_met", "first")))
    timeline = timeline[timeline["material"].isin(touched)]
    skipped = table[~table["evaluable"]][["project_id", "name", "material", "not_evaluable"]]
    columns = [*CHOSEN_COLUMNS, *[c for c in result.chosen.columns if c.startswith("funding_")]]
    chosen = result.chosen[[c for c in columns if c in result.chosen.columns]]
    secured = float(result.needs["met_t"].sum()) if len(result.needs) else 0.0
    summary = {"budget_usd": result.budget_usd, "spent_usd": result.spent_usd, "objective": result.objective,
               "secured_t_per_yr": secured,
               "cost_per_secured_t_per_yr_usd": result.spent_usd / secured if secured > 0 else None,
               "objective_unit": result.objective_unit, "projects_chosen": len(chosen),
               "projects_evaluable": int(table["evaluable"].sum()), "projects_not_evaluable": len(skipped),
               "marginal_value": result.marginal, "solver": result.status}
    return InvestmentResult(summary, chosen, result.needs, timeline,
                            after[after["material"].isin(timeline["material"])], skipped, result)


def parse_shares(split: str | Mapping[str, float] | None) -> dict[str, float] | None:
    """``"US=0.5,EU=0.5"`` or a dict → {partner: share}; None = one joint funder."""
    if not split:
        return None
    if isinstance(split, Mapping):
        return {str(k).strip(): float(v) for k, v in split.items()}
    try:
        return {k.strip(): float(v) for k, v in (item.split("=") for item in split.split(","))}
    except ValueError:
        raise InputError(f"--split {split!r}: expected PARTY=SHARE,… e.g. US=0.5,EU=0.5") from None


def year_span(years: str | tuple[int, int]):
    """``"2026:2035"`` or ``(2026, 2035)`` → the years as an array, checked to lie within 1990–2100."""
    import numpy as np

    try:
        first, last = (int(x) for x in (years.split(":") if isinstance(years, str) else years))
    except ValueError:
        raise InputError(f"--years {years!r}: expected FIRST:LAST, e.g. 2026:2035") from None
    if not 1990 <= first <= last <= 2100:
        raise InputError(f"--years {years!r}: FIRST ≤ LAST within 1990–2100")
    return np.arange(first, last + 1)
