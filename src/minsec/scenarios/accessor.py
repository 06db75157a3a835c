"""``sc.scenarios``: disruption scenarios, Monte Carlo ensembles and coordinated emergency allocation.

The scenario context (baseline market, calibrated elasticities, default parameters) is built once per
SupplyChain on first use and shared by every run; a demand table gives a context of its own.  Results are the
objects the CLI prints: :class:`~minsec.scenarios.run.ScenarioResult` (tables ``summary``, ``by_region``,
``price_path``, ``by_sector``, ``sensitivity``, ``parameters``), :class:`~minsec.scenarios.ensemble.EnsembleResult`
and :class:`~minsec.scenarios.allocation.AllocationResult`, each with ``to_dict()`` (the CLI's JSON).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minsec.errors import InputError
from minsec.model.supply_chain import register_accessor

if TYPE_CHECKING:
    import pandas as pd

    from minsec.model.supply_chain import SupplyChain
    from minsec.scenarios.allocation import AllocationResult
    from minsec.scenarios.economic import EconomicImpact
    from minsec.scenarios.ensemble import EnsembleResult
    from minsec.scenarios.run import ScenarioContext, ScenarioResult
    from minsec.scenarios.schema import Scenario

    #: a shipped scenario's name, a YAML/JSON file, a Scenario or its dict
    ScenarioLike = str | Path | Scenario | Mapping[str, Any]
    #: a demand table: CSV path or DataFrame ``market, region, consumption_t``
    Demand = str | Path | pd.DataFrame | None

#: economic-impact runs kept per supply chain (a partnership run at 10,000 scenarios holds a few MB of tables)
IMPACTS_KEPT = 8


@register_accessor("scenarios")
class ScenariosAccessor:
    """Scenario runs, ensembles and allocation over one SupplyChain:
    ``sc.scenarios.run("gallium_partnership_ban_12m")``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain
        self._context: ScenarioContext | None = None
        self._lock = threading.Lock()
        self._impacts: dict[tuple, EconomicImpact] = {}       # economic_impact on the defaults, by its inputs
        self._calibration_check: pd.DataFrame | None = None

    # ------------------------------------------------------------------ inputs
    def context(self, demand: Demand = None) -> ScenarioContext:
        """Baseline market, calibration and default parameters (built once; a ``demand`` table — CSV path or
        DataFrame ``market, region, consumption_t`` — replaces computed consumption and is not cached)."""
        from minsec.scenarios.baseline import read_demand
        from minsec.scenarios.run import ScenarioContext

        overrides = read_demand(demand)
        if overrides is not None:
            return ScenarioContext.from_chain(self._chain, demand=overrides)
        with self._lock:
            if self._context is None:
                self._context = ScenarioContext.from_chain(self._chain)
            return self._context

    def library(self) -> pd.DataFrame:
        """The scenarios shipped with minsec: name, start date, number of events and responses, description."""
        import pandas as pd

        from minsec.scenarios.schema import library, read_scenario

        rows = []
        for name, path in library().items():
            scenario = read_scenario(path)
            rows.append({"name": name, "start_date": scenario.start_date or "", "events": len(scenario.events),
                         "responses": len(scenario.responses),
                         "description": " ".join(scenario.description.split())})
        return pd.DataFrame(rows)

    def calibration(self) -> pd.DataFrame:
        """How the default elasticities were calibrated: one row per recorded disruption, E = g / (ΔP/P)."""
        return self.context().calibration

    def calibration_check(self) -> pd.DataFrame:
        """The model against the recorded disruptions: per calibration event, its shipped scenario's modelled price
        change and supply cut beside the recorded ones (:func:`minsec.scenarios.run.check_calibration`)."""
        from minsec.scenarios.run import check_calibration

        # the events rerun as scenarios (~10 s): kept, as the economic impact is — the same data, the same table
        if self._calibration_check is None:
            self._calibration_check = check_calibration(self.context())
        return self._calibration_check.copy()

    def parameters(self, material: str | None = None) -> pd.DataFrame:
        """The market-response parameters in use per market, each with its source."""
        table = self.context().parameters.reset_index()
        if material is not None:
            self._chain.check_material(material)
            table = table[table["market"].str.split(".").str[0] == material]
        return table

    # ------------------------------------------------------------------ analyses
    def run(self, scenario: ScenarioLike, *, demand: Demand = None, sensitivity: bool = True) -> ScenarioResult:
        """Propagate one scenario — a shipped name (:meth:`library`), a YAML/JSON file, a
        :class:`~minsec.scenarios.schema.Scenario` or its dict — through the market: price path, shortfall per
        region and end-use sector (t), value at risk and GDP loss (USD); ``sensitivity`` reruns with the demand
        and the supply elasticity ×0.5 and ×2."""
        from minsec.scenarios.run import run_scenario

        return run_scenario(as_scenario(scenario), self.context(demand), sensitivity=sensitivity)

    def ensemble(self, n: int = 10_000, seed: int = 0, *, scheduler: str = "local", out: str | Path | None = None,
                 chunk_size: int = 10_000, spec: str | Path | Mapping[str, Any] | None = None,
                 progress: Callable[[int], None] | None = None) -> EnsembleResult:
        """A Monte Carlo ensemble of ``n`` one-year disruption scenarios (reproducible from ``seed``): expected
        shortfall, exceedance, CVaR and the ranking of materials by expected loss (``result.summary``).

        ``scheduler``: ``"local"`` (a Dask LocalCluster), ``"threads"`` (Dask in this process), ``"none"`` (this
        process) or a Dask scheduler address;
        ``out``: a Parquet file for the tidy rows; ``spec``: event-model overrides (a YAML/JSON file or a dict of
        :class:`~minsec.scenarios.ensemble.EnsembleSpec` fields)."""
        from minsec.scenarios.ensemble import run_ensemble

        if out is not None:
            if Path(out).suffix != ".parquet":
                raise InputError(f"--out {out}: the output must be a .parquet file")
            try:                                   # the folder is made if need be; refused before the work
                Path(out).parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InputError(f"--out {out}: cannot create its folder: {exc.strerror}") from None
        chosen = ensemble_spec(spec, n_scenarios=n, seed=seed, chunk_size=chunk_size)
        return run_ensemble(self.context(), chosen, out, None if scheduler == "none" else scheduler, progress)

    def economic_impact(self, importers: str | Iterable[str] = "partnership", n: int = 10_000, seed: int = 0, *,
                        scheduler: str = "none", spec: str | Path | Mapping[str, Any] | None = None,
                        progress: Callable[[int], None] | None = None,
                        levers: Mapping[str, Callable] | None = None) -> EconomicImpact:
        """Expected and 95th-percentile GDP loss of each importer (a region of the model, or ``partnership`` for
        every partner) from every material, over ``n`` year-long disruption scenarios, with the industries most
        hit and the partnership's ranking (USGS OFR 2025-1047 method, simplified: docs/methods.md).  ``levers``:
        name → shortfall adjustment (:func:`minsec.investment.levers.partnership_levers` gives the partnership's
        stocks, sharing and investments) adds the expected loss with each."""
        from minsec.scenarios.economic import economic_impact

        context = self.context()
        chosen = economic_importers(importers, context)
        spec_ = ensemble_spec(spec, n_scenarios=n, seed=seed, horizon_months=12.0)
        # the same inputs give the same result (seeded; the scheduler changes nothing): the dashboard's pages, CSV
        # downloads and API jobs share one run.  Only runs on the default event model and without levers are kept.
        key = (tuple(chosen), n, seed) if spec is None and not levers else None
        if key is not None and key in self._impacts:
            return self._impacts[key]
        impact = economic_impact(context, chosen, spec_, None if scheduler == "none" else scheduler, progress,
                                 dict(levers) if levers else None)
        if key is not None:
            with self._lock:
                if len(self._impacts) >= IMPACTS_KEPT:
                    self._impacts.pop(next(iter(self._impacts)))
                self._impacts[key] = impact
        return impact

    def outlook(self, material: str, n: int = 5_000, seed: int = 0, horizon_months: float = 24.0,
                progress: Callable[[int], None] | None = None) -> dict[str, pd.DataFrame]:
        """One material's ensemble over time (``fan``, ``price_fan``, ``exceedance``), as the dashboard draws it."""
        from minsec.scenarios.ensemble import material_outlook

        self._chain.check_material(material)
        chosen = ensemble_spec(None, n_scenarios=n, seed=seed, horizon_months=horizon_months, period_months=3.0,
                               chunk_size=min(2_000, n))
        return material_outlook(self.context(), chosen, material, progress)

    def allocate(self, scenario: ScenarioLike, *, stocks: str | Path | pd.DataFrame | None = None,
                 stock_days: Mapping[str, float] | Iterable[str] | None = None, joint_days: float = 0.0,
                 sharing: bool = True, restraint: bool = True, demand: Demand = None) -> AllocationResult:
        """Release orders and transfers that minimise weighted unmet demand among the partners in a scenario's
        outcome (IEA-style LP, HiGHS).  ``stocks``: table ``holder, market, tonnes[, max_release_t]``;
        ``stock_days``: ``{"JPN": 60}`` or ``["JPN=60"]`` days of each partner's consumption; ``joint_days``: a
        joint pool in days of the partners' combined consumption."""
        import pandas as pd

        from minsec.scenarios.allocation import allocate, problem_from_outcome, read_stocks, stocks_from_days
        from minsec.scenarios.run import run_scenario

        loaded = as_scenario(scenario)
        context = self.context(demand)
        result = run_scenario(loaded, context, sensitivity=False)
        partners = [r for r in context.baseline.regions
                    if r in self._chain.groups.definitions.get("partnership", {}).get("members", [])]
        tables = [stocks_from_days(result.by_region, partners, loaded.horizon_months, _days(stock_days),
                                   joint_days)]
        if stocks is not None:
            tables.insert(0, stocks if isinstance(stocks, pd.DataFrame) else read_stocks(stocks))
        held = pd.concat([t for t in tables if len(t)], ignore_index=True) if any(len(t) for t in tables) else None
        allocation = allocate(problem_from_outcome(result.by_region, partners, held, sharing=sharing,
                                                   restraint=restraint))
        allocation.scenario = loaded.name
        return allocation


def economic_importers(importers: str | Iterable[str], context) -> list[str]:
    """Importer names → regions of the model (``partnership`` = every partner); unknown names raise
    :class:`InputError` naming them and the regions there are."""
    names = [x.strip() for x in importers.split(",")] if isinstance(importers, str) else [str(x) for x in importers]
    partners = [r for r in context.baseline.regions if r not in ("CHN", "ROW")]
    out: list[str] = []
    for name in names:
        chosen = partners if name.lower() == "partnership" else [name.upper()]
        for region in chosen:
            if region not in context.baseline.regions or region == "ROW":
                raise InputError(f"--importer {name!r}: not a region of the model; choose from "
                                 f"{', '.join(r for r in context.baseline.regions if r != 'ROW')} or partnership")
            if region not in out:
                out.append(region)
    if not out:
        raise InputError("--importer: name at least one region")
    return out


def as_scenario(scenario: ScenarioLike) -> Scenario:
    """A Scenario from a shipped name, a file path, a Scenario or a dict in the scenario format."""
    from minsec.scenarios.schema import Scenario, load_scenario, parse_scenario

    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return parse_scenario(dict(scenario), "scenario")
    return load_scenario(scenario)


def ensemble_spec(spec: str | Path | Mapping[str, Any] | None, **fields: Any):
    """An :class:`~minsec.scenarios.ensemble.EnsembleSpec` from a YAML/JSON file or a dict of overrides, with
    ``fields`` (size, seed, chunking) on top; every problem is named by its field."""
    import yaml
    from pydantic import ValidationError

    from minsec.scenarios.ensemble import EnsembleSpec

    options: dict[str, Any] = {}
    if isinstance(spec, Mapping):
        options = dict(spec)
    elif spec is not None:
        from minsec.data.files import read_text

        try:
            options = yaml.safe_load(read_text(spec, "ensemble spec")) or {}
        except yaml.YAMLError as exc:
            raise InputError(f"{spec}: not valid YAML: {exc}") from None
        if not isinstance(options, dict):
            raise InputError(f"{spec}: expected a mapping of ensemble-spec fields")
    options.update(fields)
    try:
        return EnsembleSpec.model_validate(options)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InputError(f"ensemble spec: {problems}") from None


def _days(stock_days: Mapping[str, float] | Iterable[str] | None) -> dict[str, float]:
    """``{"JPN": 60}`` as it is; ``["JPN=60"]`` (the CLI's repeated ``--stock-days``) parsed."""
    if stock_days is None:
        return {}
    if isinstance(stock_days, Mapping):
        return {str(k): float(v) for k, v in stock_days.items()}
    out = {}
    for item in stock_days:
        region, _, days = str(item).partition("=")
        try:
            out[region] = float(days)
        except ValueError:
            raise InputError(f"--stock-days {item!r}: expected REGION=DAYS") from None
    return out
