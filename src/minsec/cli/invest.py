"""``minsec invest …``: the project pipeline, capacity benchmarks and joint portfolio selection."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from minsec.cli import Format, FormatOption, State, _run, emit

invest_app = typer.Typer(help="Joint investments: the project pipeline, CRMA benchmarks and a US analogue, and "
                              "the portfolio that buys the most security per dollar.", no_args_is_help=True)

ProjectsOption = Annotated[Path | None, typer.Option("--projects", help="Pipeline CSV in the bundled format "
                                                                        "(default: the 113 bundled projects).")]
FillOption = Annotated[Path | None, typer.Option("--fill", help="CSV filling gaps or adding projects: "
                                                                "project_id and any of capex_usd, "
                                                                "capacity_t_per_yr, expected_start_year, "
                                                                "ramp_up_years (new projects: also name, "
                                                                "country, material, stages).")]
ConsumptionOption = Annotated[Path | None, typer.Option("--consumption", help="CSV region, material, "
                                                                              "consumption_t (optional current_*_t) "
                                                                              "replacing the bundled apparent "
                                                                              "consumption.")]
RegionsOption = Annotated[str, typer.Option("--regions", help="Benchmark regions: EU27 (the CRMA), USA (the US "
                                                              "analogue), or both.")]
YearsOption = Annotated[str, typer.Option("--years", help="Trajectory years FIRST:LAST.")]
DefaultStartOption = Annotated[int, typer.Option("--default-start", help="Start year assumed for projects whose "
                                                                        "source states none (flagged).")]


def _members(regions: list[str]):
    from minsec.data import catalogue

    groups = catalogue.load_groups(State.groups)
    out = {}
    for region in regions:
        if region == "EU27":
            out[region] = groups.members("EU27")
        elif region == "USA":
            out[region] = frozenset({"USA"})
        else:
            raise ValueError(f"--regions: {region!r} is not EU27 or USA")
    return out


def _inputs(projects, fill, consumption, regions, default_start):
    import numpy as np
    import pandas as pd

    from minsec.investment import benchmarks
    from minsec.investment.pipeline import load_projects

    table = load_projects(projects, fill)
    assumed = table["expected_start_year"].isna()
    table["start_year_assumed"] = assumed
    table["expected_start_year"] = table["expected_start_year"].fillna(default_start)
    members = _members([r.strip() for r in regions.split(",") if r.strip()])
    if consumption is not None:
        use = benchmarks.read_consumption(consumption)
        use = use[use["region"].isin(members)]
    else:
        chain = _chain()
        use = pd.concat([benchmarks.consumption(chain, r) for r in members], ignore_index=True)
    gaps = benchmarks.gaps(use) if len(use) else pd.DataFrame(
        columns=["region", "material", "stage", "gap_t", "target_pct", "consumption_t", "current_t",
                 "current_known", "target_t", "current_pct"])
    return table, members, gaps, np


def _chain():
    from minsec.model import SupplyChain

    return SupplyChain.load(State.data, State.groups)


def _years(text: str):
    import numpy as np

    try:
        first, last = (int(x) for x in text.split(":"))
    except ValueError:
        raise ValueError(f"--years {text!r}: expected FIRST:LAST, e.g. 2026:2035") from None
    if not 1990 <= first <= last <= 2100:
        raise ValueError(f"--years {text!r}: FIRST ≤ LAST within 1990–2100")
    return np.arange(first, last + 1)


@invest_app.command("pipeline")
def invest_pipeline(projects: ProjectsOption = None, fill: FillOption = None,
                    evaluable_only: Annotated[bool, typer.Option("--evaluable", help="Only projects the optimiser "
                                                                                    "can evaluate.")] = False,
                    fmt: FormatOption = Format.table) -> None:
    """The project pipeline with minsec's material, stages, converted capacity and what is missing."""

    def run():
        from minsec.investment.pipeline import load_projects

        table = load_projects(projects, fill)
        if evaluable_only:
            table = table[table["evaluable"]]
        emit(table[["project_id", "name", "country", "material", "stages", "capacity_t_per_yr", "capex_usd",
                    "expected_start_year", "status", "evaluable", "not_evaluable"]], fmt,
             f"Project pipeline ({int(table['evaluable'].sum())} of {len(table)} evaluable)")

    _run(run)


@invest_app.command("benchmarks")
def invest_benchmarks(regions: RegionsOption = "EU27,USA", projects: ProjectsOption = None, fill: FillOption = None,
                      consumption: ConsumptionOption = None, years: YearsOption = "2026:2035",
                      default_start: DefaultStartOption = 2030, fmt: FormatOption = Format.table) -> None:
    """Where each region stands against the capacity benchmarks (10 % extraction, 40 % processing, 25 %
    recycling of consumption), and when the evaluable pipeline would meet them."""

    def run():
        from minsec.investment import benchmarks

        table, members, gaps, _ = _inputs(projects, fill, consumption, regions, default_start)
        pool = table[table["evaluable"] | table["capacity_t_per_yr"].notna()]
        path = benchmarks.trajectory(gaps, pool, members, _years(years))
        summary = path.groupby(["region", "material", "stage"], as_index=False).agg(
            target_pct=("target_pct", "first"), share_now_pct=("share_pct", "first"),
            share_end_pct=("share_pct", "last"), first_year_met=("first_year_met", "first"),
            current_known=("current_known", "first"))
        emit(summary, fmt, "Benchmarks: share of consumption from the region's capacity (current + pipeline "
                           "projects with a capacity)")

    _run(run)


@invest_app.command("optimize")
def invest_optimize(
    budget: Annotated[float, typer.Option("--budget", help="Joint budget in USD.")],
    objective: Annotated[str, typer.Option("--objective", help="benchmarks (CRMA gap points) or shortfall "
                                                               "(expected annual loss avoided, from the "
                                                               "ensemble).")] = "benchmarks",
    regions: RegionsOption = "EU27,USA", split: Annotated[str | None, typer.Option(
        "--split", help="Each partner's share of the budget, e.g. US=0.5,EU=0.5 (default: one joint "
                        "funder).")] = None,
    projects: ProjectsOption = None, fill: FillOption = None, consumption: ConsumptionOption = None,
    ensemble: Annotated[int, typer.Option("--ensemble", help="Scenarios for the shortfall objective.")] = 2000,
    seed: Annotated[int, typer.Option("--seed", help="Ensemble seed.")] = 0,
    years: YearsOption = "2026:2035", default_start: DefaultStartOption = 2030, fmt: FormatOption = Format.table,
) -> None:
    """Choose projects and funding shares under a joint budget: chosen projects, cost per tonne, the needs they
    meet, the benchmark trajectory with and without them, the marginal value of the next dollar, and the
    projects that could not be evaluated (fill them with --fill)."""

    def run():
        import pandas as pd

        from minsec.investment import benchmarks
        from minsec.investment.portfolio import needs_from_gaps, needs_from_shortfall, optimise

        table, members, gaps, _ = _inputs(projects, fill, consumption, regions, default_start)
        shares = None
        if split:
            try:
                shares = {k.strip(): float(v) for k, v in (item.split("=") for item in split.split(","))}
            except ValueError:
                raise ValueError(f"--split {split!r}: expected PARTY=SHARE,… e.g. US=0.5,EU=0.5") from None
        if objective == "benchmarks":
            needs = needs_from_gaps(gaps, members, benchmarks.TARGET_YEAR)
            unit = f"benchmark points (1 = a gap closed by {benchmarks.TARGET_YEAR})"
        elif objective == "shortfall":
            needs, unit = needs_from_shortfall(_shortfall(ensemble, seed), _partnership()), \
                "USD a year of expected loss avoided"
        else:
            raise ValueError(f"--objective {objective!r}: benchmarks or shortfall")
        result = optimise(table, needs, budget, shares, unit)
        span = _years(years)
        before = benchmarks.trajectory(gaps, table.head(0), members, span)
        after = benchmarks.trajectory(gaps, result.chosen, members, span)
        touched = set(zip(result.chosen["material"], result.chosen["country"], strict=True))
        timeline = after.groupby(["region", "material", "stage"], as_index=False).agg(
            share_end_pct=("share_pct", "last"), first_year_met=("first_year_met", "first"))
        timeline = timeline.merge(before.groupby(["region", "material", "stage"], as_index=False).agg(
            share_end_without_pct=("share_pct", "last"), first_year_met_without=("first_year_met", "first")))
        timeline = timeline[timeline["material"].isin({m for m, _ in touched})]
        skipped = table[~table["evaluable"]][["project_id", "name", "material", "not_evaluable"]]
        columns = ["project_id", "name", "country", "material", "stages", "capacity_t_per_yr", "capex_usd",
                   "cost_per_t_per_yr_usd", "expected_start_year", "start_year_assumed",
                   *[c for c in result.chosen.columns if c.startswith("funding_")]]
        chosen = result.chosen[[c for c in columns if c in result.chosen.columns]]
        secured = float(result.needs["met_t"].sum()) if len(result.needs) else 0.0
        summary = {"budget_usd": result.budget_usd, "spent_usd": result.spent_usd, "objective": result.objective,
                   "secured_t_per_yr": secured,
                   "cost_per_secured_t_per_yr_usd": result.spent_usd / secured if secured > 0 else None,
                   "objective_unit": result.objective_unit, "projects_chosen": len(chosen),
                   "projects_evaluable": int(table["evaluable"].sum()), "projects_not_evaluable": len(skipped),
                   "marginal_value": result.marginal, "solver": result.status}
        if fmt is Format.json:
            payload = {"summary": summary, "chosen": chosen.to_dict(orient="records"),
                       "needs": result.needs.drop(columns=["countries"]).to_dict(orient="records"),
                       "benchmark_trajectory": timeline.to_dict(orient="records"),
                       "benchmark_trajectory_by_year": after[after["material"].isin(timeline["material"])]
                       .to_dict(orient="records"),
                       "not_evaluated": skipped.to_dict(orient="records")}
            sys.stdout.write(json.dumps(payload, indent=1, default=str) + "\n")
            return
        emit(pd.DataFrame([{k: v for k, v in summary.items() if k != "marginal_value"}
                           | {f"marginal_{k}": v for k, v in result.marginal.items()}]), fmt, "Portfolio")
        emit(chosen, fmt, "Chosen projects")
        if fmt is Format.table:
            emit(result.needs.drop(columns=["countries"]), fmt, "Needs and how far they are met")
            emit(timeline, fmt, "Benchmark trajectory (with the portfolio vs without)")
            emit(skipped, fmt, "Not evaluated (fill with --fill)")

    _run(run)


def _partnership():
    from minsec.data import catalogue

    return catalogue.load_groups(State.groups).members("partnership")


def _shortfall(size: int, seed: int):
    """The partners' expected annual shortfall and loss per tonne, from a minsec ensemble."""
    import pandas as pd

    from minsec.scenarios import ScenarioContext
    from minsec.stockpile.inputs import annual_sample
    from minsec.stockpile.setup import prepare_problem

    context = ScenarioContext.load()
    sample = annual_sample(context, ["USA", "EU27"], size, seed)
    prepared = prepare_problem(context, sample, 0.0, ("joint",), drop_unpriced=True)
    expected = prepared.problem.working_sample().expected().sum(axis=1)
    materials = list(prepared.problem.materials)
    return pd.DataFrame({"material": materials, "expected_shortfall_t": expected,
                         "loss_usd_per_t": prepared.problem.loss.reindex(materials).to_numpy(float)})
