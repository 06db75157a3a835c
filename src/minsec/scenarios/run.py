"""Run a scenario: resolve names, compile events and responses to arrays, simulate, tabulate the answer.

``ScenarioContext`` holds what every run needs (supply chain, baseline market, calibrated parameters);
:func:`run_scenario` returns a :class:`ScenarioResult` with tidy tables (per market, per region, price path,
per end-use sector, sensitivity) that the CLI prints and the API serves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries
from minsec.errors import InputError
from minsec.model.records import records
from minsec.model.supply_chain import SupplyChain, load_supply_chain
from minsec.scenarios import chain as chain_links
from minsec.scenarios import parameters as params
from minsec.scenarios.baseline import REST_OF_WORLD, MarketBaseline, build_baseline
from minsec.scenarios.engine import EventTable, Exogenous, MarketArrays, SimulationResult, simulate
from minsec.scenarios.gdp import scenario_gdp
from minsec.scenarios.market import active_share
from minsec.scenarios.schema import (
    DemandRestraint,
    DemandShock,
    ExportRestriction,
    ProductionOutage,
    Scenario,
    ScenarioError,
    StockRelease,
    Substitution,
    parse_scenario,
)

SENSITIVITY = (0.5, 2.0)


@dataclass
class ScenarioContext:
    """Supply chain, baseline market and calibrated default parameters shared by scenario runs."""

    chain: SupplyChain
    baseline: MarketBaseline
    calibration: pd.DataFrame
    parameters: pd.DataFrame

    @classmethod
    def load(cls, data: str | Path | None = None, groups: str | Path | None = None,
             regions: tuple[str, ...] | None = None, demand: pd.DataFrame | None = None) -> ScenarioContext:
        """The context of a dataset directory (default: the bundled one), through the one cached loader."""
        return cls.from_chain(load_supply_chain(data, groups), regions, demand)

    @classmethod
    def from_chain(cls, chain: SupplyChain, regions: tuple[str, ...] | None = None,
                   demand: pd.DataFrame | None = None) -> ScenarioContext:
        baseline = build_baseline(chain, regions, demand_overrides=demand)
        calibration = params.calibrate(chain, baseline)
        return cls(chain, baseline, calibration, params.default_parameters(baseline, calibration))

    def with_regions(self, extra: list[str]) -> ScenarioContext:
        regions = tuple(r for r in self.baseline.regions if r != REST_OF_WORLD) + tuple(extra) + (REST_OF_WORLD,)
        return ScenarioContext.from_chain(self.chain, regions)

    # ------------------------------------------------------------------ name resolution
    def country(self, name: str, where: str) -> str:
        try:
            return countries.normalise_iso3(name)
        except countries.UnknownCountryError:
            try:
                return countries.iso3_from_name(name)
            except countries.UnknownCountryError:
                raise ScenarioError(f"{where}: unknown country {name!r}") from None

    def markets(self, materials: list[str], stage: str | None, where: str) -> list[int]:
        out = []
        for material in materials:
            try:
                self.chain.check_material(material)
            except KeyError:
                raise ScenarioError(f"{where}: unknown material {material!r}; see `minsec materials`") from None
            found = self.baseline.market_ids(material, stage)
            if not found:
                raise ScenarioError(f"{where}: no {stage or ''} production data for {material!r} in the baseline")
            out += [self.baseline.markets.index(m) for m in found]
        return out

    def regions(self, names: str | list[str], where: str, exclude: str | None = None) -> np.ndarray:
        """Boolean mask over regions for 'all', group names, region names or countries outside any region."""
        regions = list(self.baseline.regions)
        mask = np.zeros(len(regions), dtype=bool)
        for name in [names] if isinstance(names, str) else names:
            mask |= self._region_mask(name, where)
        if exclude is not None:
            mask[regions.index(exclude)] = False
        return mask

    def _region_mask(self, name: str, where: str) -> np.ndarray:
        regions = list(self.baseline.regions)
        mask = np.zeros(len(regions), dtype=bool)
        if name == "all":
            mask[:] = True
        elif name in regions:
            mask[regions.index(name)] = True
        elif name in self.chain.groups:
            for member in self.chain.groups.definitions[name]["members"]:
                mask |= self._region_mask(member, where)
        else:
            code = self.country(name, where)
            if code in regions:
                mask[regions.index(code)] = True
            elif code in self.baseline.region_of:
                raise ScenarioError(f"{where}: {code} is part of region {self.baseline.region_of[code]}; "
                                    "name the region")
            else:
                raise ScenarioError(f"{where}: {code} is not a region of the model "
                                    f"({', '.join(regions)}); it is part of {REST_OF_WORLD}")
        return mask

    def extra_regions(self, scenario: Scenario) -> list[str]:
        """Countries a scenario targets that are not yet regions (they become regions of their own)."""
        names: list[str] = [e.country for e in scenario.events if isinstance(e, ExportRestriction)]
        for item in [*scenario.events, *scenario.responses]:
            for attr in ("targets", "regions"):
                value = getattr(item, attr, None)
                if value is not None:
                    names += [value] if isinstance(value, str) else list(value)
            if isinstance(item, StockRelease):
                names.append(item.region)
        extra = []
        for name in names:
            if name == "all" or name in self.baseline.regions or name in self.chain.groups:
                continue
            try:
                code = countries.normalise_iso3(name)
            except countries.UnknownCountryError:
                try:
                    code = countries.iso3_from_name(name)
                except countries.UnknownCountryError:
                    continue  # reported with its field by the resolution step
            if code not in self.baseline.regions and code not in self.baseline.region_of and code not in extra:
                extra.append(code)
        return extra


@dataclass
class ScenarioResult:
    """Tables answering a scenario; ``to_dict`` for JSON."""

    scenario: Scenario
    summary: pd.DataFrame
    by_region: pd.DataFrame
    price_path: pd.DataFrame
    by_sector: pd.DataFrame
    sensitivity: pd.DataFrame
    parameters: pd.DataFrame
    warnings: list[str] = field(default_factory=list)
    simulation: SimulationResult | None = None
    #: per region: the rare-earth elements it is short of directly and embedded in magnets
    by_element: pd.DataFrame = field(default_factory=pd.DataFrame)

    def to_dict(self) -> dict:
        return {"scenario": self.scenario.model_dump(mode="json"), "summary": records(self.summary),
                "by_region": records(self.by_region), "price_path": records(self.price_path),
                "by_sector": records(self.by_sector), "sensitivity": records(self.sensitivity),
                "parameters": records(self.parameters.reset_index()), "by_element": records(self.by_element),
                "warnings": self.warnings}


def compile_scenario(scenario: Scenario, context: ScenarioContext, parameters: pd.DataFrame
                     ) -> tuple[EventTable, Exogenous, list[int], list[str]]:
    """Events → :class:`EventTable`, responses → :class:`Exogenous` (one scenario); affected markets."""
    events, affected, warnings = _compile_events(scenario, context, parameters)
    exogenous, touched = _compile_exogenous(scenario, context)
    return events, exogenous, sorted(set(affected) | set(touched)), warnings


def _compile_events(scenario: Scenario, context: ScenarioContext, parameters: pd.DataFrame
                    ) -> tuple[EventTable, list[int], list[str]]:
    """Export restrictions and production outages as rows of an :class:`EventTable` (one scenario)."""
    baseline = context.baseline
    regions = list(baseline.regions)
    producers = [str(p) for p in baseline.supply.producer.values]
    rows: dict[str, list] = {k: [] for k in ("market", "producer", "restriction", "fraction", "start", "duration",
                                             "targets", "leakage")}
    affected: list[int] = []
    warnings: list[str] = []
    splits = chain_links.split_markets(baseline.markets)
    supply = baseline.supply.values
    for i, event in enumerate(scenario.events):
        where = f"events[{i}]"
        if not isinstance(event, ExportRestriction | ProductionOutage):
            continue
        end = event.start_month + event.duration_months
        if end > scenario.horizon_months:
            # said, not silently cut: the months past the horizon are not modelled
            warnings.append(f"{where}: runs to month {end:g}, past the {scenario.horizon_months}-month horizon; "
                            f"only its first {max(scenario.horizon_months - event.start_month, 0):g} months are "
                            "modelled (raise horizon_months to see the rest)")
        country = context.country(event.country, f"{where}.country")
        home = baseline.region_of.get(country, REST_OF_WORLD)
        if isinstance(event, ExportRestriction):
            # a restrictor keeps supplying its own market; ROW is a pool of many markets, so a restrictor
            # inside it cannot be separated from it (run_scenario gives restrictors a region of their own)
            targets = context.regions(event.targets, f"{where}.targets",
                                      exclude=home if home != REST_OF_WORLD else None)
            if not targets.any():
                raise ScenarioError(f"{where}.targets: no region left to target outside {country}'s own")
        else:
            targets = np.ones(len(regions), dtype=bool)
        named = context.markets(event.materials, event.stage, f"{where}.materials")
        for m in named:
            affected.append(m)
            if country not in producers or baseline.supply.values[m, producers.index(country)].sum() <= 0:
                warnings.append(f"{where}: {country} produces no {baseline.markets[m]} in the baseline; "
                                "the event has no effect")
                continue
            p = producers.index(country)
            # an event at the mines (REO) is an event on the element content of the same output too, where it
            # has an effect (chain.split_events: output for an outage, shipments to a target for a restriction)
            reached = targets if isinstance(event, ExportRestriction) else np.ones(len(regions), dtype=bool)
            parts = [int(k) for k in splits.get(m, ()) if (supply[k, p] * reached).sum() > 0 and k not in named]
            affected += parts
            for market in (m, *parts):
                leakage = parameters.loc[baseline.markets[market], "leakage"]
                if isinstance(event, ExportRestriction) and event.leakage is not None:
                    leakage = event.leakage
                for key, value in (("market", market), ("producer", p),
                                   ("restriction", isinstance(event, ExportRestriction)),
                                   ("fraction", event.fraction), ("start", event.start_month),
                                   ("duration", event.duration_months), ("targets", targets), ("leakage", leakage)):
                    rows[key].append(value)
    n = len(rows["market"])
    events = EventTable(
        scenario=np.zeros(n, dtype=np.int64), market=np.array(rows["market"], dtype=np.int64),
        producer=np.array(rows["producer"], dtype=np.int64), restriction=np.array(rows["restriction"], dtype=bool),
        fraction=np.array(rows["fraction"], dtype=float), start=np.array(rows["start"], dtype=float),
        duration=np.array(rows["duration"], dtype=float),
        targets=np.array(rows["targets"], dtype=bool).reshape(n, len(regions)),
        leakage=np.array(rows["leakage"], dtype=float))
    return events, affected, warnings


def _compile_exogenous(scenario: Scenario, context: ScenarioContext) -> tuple[Exogenous, list[int]]:
    """Demand shocks and the responses (substitution, stock releases, demand restraint) as exogenous volumes
    per market × period × region (one scenario), and the markets they touch."""
    baseline = context.baseline
    n_markets, n_periods = len(baseline.markets), scenario.n_periods
    exogenous = Exogenous.zeros((1, n_markets, n_periods, len(baseline.regions)))
    demand = baseline.supply.values.sum(axis=1) * scenario.period_months / 12.0    # M × R per period
    affected: list[int] = []
    for i, item in enumerate([*scenario.events, *scenario.responses]):
        kind = "events" if i < len(scenario.events) else "responses"
        where = f"{kind}[{i if kind == 'events' else i - len(scenario.events)}]"
        if isinstance(item, ExportRestriction | ProductionOutage):
            continue
        if isinstance(item, Substitution):
            mask = context.regions(item.regions, f"{where}.regions")
            cover = np.clip(active_share(np.array([item.start_month]), np.array([1e9]), n_periods,
                                         scenario.period_months)[0], 0, 1)
            mid = (np.arange(n_periods) + 0.5) * scenario.period_months - item.start_month
            ramp_share = np.clip(mid / item.ramp_months, 0, 1) if item.ramp_months > 0 else (mid >= 0) * 1.0
            for m in context.markets(item.materials, item.stage, f"{where}.materials"):
                affected.append(m)
                exogenous.substitution[0, m] += (item.fraction * cover * ramp_share)[:, None] * demand[m] * mask
            continue
        share = active_share(np.array([item.start_month]), np.array([item.duration_months]), n_periods,
                             scenario.period_months)[0]
        if isinstance(item, StockRelease):
            mask = context.regions(item.region, f"{where}.region")
            if mask.sum() != 1:
                raise ScenarioError(f"{where}.region: name one region of the model")
            markets = context.markets([item.material], item.stage, f"{where}.material")
            per_month = item.tonnes / item.duration_months
            for m in markets[:1]:
                affected.append(m)
                exogenous.release[0, m][:, mask] += (per_month * scenario.period_months * share)[:, None]
        elif isinstance(item, DemandRestraint | DemandShock):
            mask = context.regions(item.regions, f"{where}.regions")
            for m in context.markets(item.materials, item.stage, f"{where}.materials"):
                affected.append(m)
                volume = share[:, None] * demand[m] * mask
                target = exogenous.restraint if isinstance(item, DemandRestraint) else exogenous.demand_shock
                target[0, m] += (item.fraction if isinstance(item, DemandRestraint) else item.change) * volume
    return exogenous, affected


def run_scenario(scenario: Scenario, context: ScenarioContext, sensitivity: bool = True) -> ScenarioResult:
    """Propagate one scenario; tables per market, region, period and end-use sector."""
    extra = context.extra_regions(scenario)
    if extra:
        context = context.with_regions(extra)
    try:
        parameters = params.apply_overrides(context.parameters, scenario.parameters)
    except InputError as exc:
        raise ScenarioError(f"{scenario.name}: {exc}") from None
    events, exogenous, affected, warnings = compile_scenario(scenario, context, parameters)
    baseline = context.baseline
    warnings += _demand_warnings(baseline, affected)
    arrays = MarketArrays.from_baseline(baseline, parameters)
    reached = set(affected)
    for downstream, upstream, _weight, _level in arrays.links:  # level order: the chain below every event
        if upstream in reached:
            reached.add(downstream)
    affected = sorted(reached)
    result = simulate(arrays, events, 1, scenario.n_periods, scenario.period_months, exogenous)
    sens = _sensitivity(context, parameters, events, exogenous, scenario, affected) if sensitivity else \
        pd.DataFrame()
    return _tabulate(scenario, context, parameters, result, affected, sens, warnings)


def _demand_warnings(baseline: MarketBaseline, affected: list[int]) -> list[str]:
    out = []
    for m in affected:
        unknown = [r for r, basis in zip(baseline.regions, baseline.demand_basis.values[m], strict=True)
                   if str(basis).startswith("unknown")]
        if unknown:
            out.append(f"{baseline.markets[m]}: no bilateral trade data; demand of {', '.join(unknown)} is unknown "
                       "and pooled in ROW (supply a demand table with --demand)")
    return out


def _sensitivity(context: ScenarioContext, parameters: pd.DataFrame, events: EventTable, exogenous: Exogenous,
                 scenario: Scenario, affected: list[int]) -> pd.DataFrame:
    """Reruns with the demand elasticity and, separately, the supply elasticity ×0.5 and ×2: scaling both together
    moves only the price (the shortfall share of a gap is |ε_d| / (|ε_d| + ε_s)); scaling one moves the shortfall
    too."""
    rows = []
    for parameter in ("demand_elasticity", "supply_elasticity"):
        for factor in SENSITIVITY:
            varied = parameters.copy()
            varied[parameter] *= factor
            arrays = MarketArrays.from_baseline(context.baseline, varied)
            result = simulate(arrays, events, 1, scenario.n_periods, scenario.period_months, exogenous)
            for m in affected:
                peak = np.nanmax(np.concatenate([result.price_restricted[0, m], result.price_open[0, m]]))
                rows.append({"market": context.baseline.markets[m], "parameter": parameter,
                             "elasticity_factor": factor, "peak_price_index": peak,
                             "shortfall_t": float(np.maximum(result.shortfall[0, m], 0).sum())})
    return pd.DataFrame(rows)


def end_use_shares(context: ScenarioContext) -> pd.DataFrame:
    """End-use shares by material: the first-using industries of ``catalogue/first_users.csv`` (USGS MCS end-use
    percentages, sourced facts; an equal split over MCS 2026 Table 6's applications where none are published),
    one region's figures per material (the USA's where there are: :func:`minsec.risk.io_model.first_user_rows`)."""
    from minsec.risk.io_model import first_user_rows

    rows = []
    for material in catalogue.first_users()["material"].unique():
        for row in first_user_rows(material).itertuples():
            rows.append({"material": material, "sector": row.application, "io_sector": row.sector,
                         "share": row.share, "scope": row.region, "year": row.year,
                         "record_id": row.source_title if row.basis == "published share"
                         else f"{row.source_title}; {row.basis}"})
    return pd.DataFrame(rows)


def _tabulate(scenario: Scenario, context: ScenarioContext, parameters: pd.DataFrame, result: SimulationResult,
              affected: list[int], sensitivity: pd.DataFrame, warnings: list[str]) -> ScenarioResult:
    baseline = context.baseline
    markets, regions = baseline.markets, list(baseline.regions)
    months = (np.arange(scenario.n_periods) + 1) * scenario.period_months
    shortfall = np.maximum(result.shortfall[0], 0.0)      # M × T × R
    horizon_demand = result.demand * scenario.n_periods   # M × R
    region_rows, price_rows, summary_rows = [], [], []
    for m in affected:
        label = markets[m]
        material, stage = label.split(".")
        price = baseline.price.values[m]
        value = price * parameters.loc[label, "value_multiplier"]
        for r, region in enumerate(regions):
            short = float(shortfall[m, :, r].sum())
            region_rows.append({
                "market": label, "material": material, "stage": stage, "region": region,
                "targeted": bool(result.targeted[0, m, r]), "demand_t": float(horizon_demand[m, r]),
                "demand_t_per_year": float(baseline.demand.values[m, r]),
                "shortfall_t": short,
                "shortfall_pct": 100 * short / horizon_demand[m, r] if horizon_demand[m, r] > 0 else np.nan,
                "peak_month_shortfall_pct": float(np.max(shortfall[m, :, r] / result.demand[m, r]) * 100)
                if result.demand[m, r] > 0 else np.nan,
                "value_at_risk_usd": short * value, "demand_basis": str(baseline.demand_basis.values[m, r])})
        for t in range(scenario.n_periods):
            price_rows.append({
                "market": label, "period": t, "month": float(months[t]),
                "price_index_restricted": float(result.price_restricted[0, m, t]),
                "price_index_open": float(result.price_open[0, m, t]),
                "price_usd_per_t_restricted": float(result.price_restricted[0, m, t] * price),
                "price_usd_per_t_open": float(result.price_open[0, m, t] * price),
                "lost_t": float(result.lost[0, m, t]), "diverted_t": float(result.diverted[0, m, t]),
                "supply_response_t": float(result.response[0, m, t]), "unsold_t": float(result.unsold[0, m, t]),
                "shortfall_t": float(shortfall[m, t].sum())})
        total_short = float(shortfall[m].sum())
        summary_rows.append({
            "market": label, "material": material, "stage": stage,
            "peak_price_index_restricted": float(np.nanmax(result.price_restricted[0, m]))
            if np.isfinite(result.price_restricted[0, m]).any() else np.nan,
            "peak_price_index_open": float(np.nanmax(result.price_open[0, m]))
            if np.isfinite(result.price_open[0, m]).any() else np.nan,
            "lost_t": float(result.lost[0, m].sum()), "supply_response_t": float(result.response[0, m].sum()),
            "shortfall_t": total_short, "shortfall_pct_world": 100 * total_short / horizon_demand[m].sum(),
            "value_at_risk_usd": total_short * value, "price_usd_per_t": price})
    by_region = pd.DataFrame(region_rows)
    price_table = pd.DataFrame(price_rows)
    if len(by_region):
        by_region = by_region.merge(scenario_gdp(context, by_region, price_table), on=["market", "region"],
                                    how="left")
    shares = end_use_shares(context)
    sector_rows = []
    for row in by_region.itertuples():
        for share in shares[shares["material"] == row.material].itertuples():
            sector_rows.append({"market": row.market, "region": row.region, "sector": share.sector,
                                "io_sector": share.io_sector, "shortfall_t": row.shortfall_t * share.share,
                                "gdp_loss_usd": row.gdp_loss_usd * share.share, "share": share.share,
                                "share_source": f"{share.record_id} ({share.scope} {share.year})"})
    used = parameters.loc[[markets[m] for m in affected]]
    return ScenarioResult(scenario, pd.DataFrame(summary_rows), by_region, price_table,
                          pd.DataFrame(sector_rows), sensitivity, used, warnings, result,
                          chain_links.element_content(by_region))



#: recorded disruptions not used in the calibration, replayed to validate it: (event id, market whose price the
#: record observed, the scenario replaying it, recorded price change record, what the replay assumes)
VALIDATION_EVENTS = (
    ("MM-REE-2024", "terbium.refining",
     {"name": "myanmar_kia_2024", "horizon_months": 6, "events": [
         {"type": "production_outage", "country": "MMR", "materials": ["rare_earths"], "fraction": 0.89,
          "duration_months": 6}]}, "DH061",
     "validation (not calibrated on): Myanmar's rare-earth exports to China −89 % y/y (DH060) as a 6-month "
     "outage of 89 % of its mines; recorded: Tb oxide in China +21.9 % Sep 2024–Mar 2025 (DH061)"),
    ("CA-GE-TECK-2018", "germanium.refining",
     {"name": "teck_trail_germanium_2018", "horizon_months": 5, "events": [
         {"type": "production_outage", "country": "CAN", "materials": ["germanium"], "fraction": 0.4,
          "duration_months": 5}]}, "DH068",
     "validation (not calibrated on): Teck Trail supplied 60 % of contracted germanium Jan–May 2018 (DH067); "
     "recorded: +24 % in Rotterdam (DH068)"),
)


def check_calibration(context: ScenarioContext) -> pd.DataFrame:
    """The model against the recorded disruptions: each calibration event replayed by its shipped scenario, and the
    validation events (:data:`VALIDATION_EVENTS`, not calibrated on) by theirs, with the modelled and the recorded
    price change and supply cut side by side (``price_error`` = modelled − recorded, in price-index points).  The
    model's price is the peak of the segment the record observed — the restricted buyers' where the scenario
    restricts exports, else the open market's; its supply cut is the peak period's withheld volume as a share of
    what the buyers it hits use (the restricted buyers', else the world's) — the recorded cut is of the affected
    buyers' supply too."""
    from minsec.scenarios.parameters import CALIBRATION_EVENTS
    from minsec.scenarios.schema import load_scenario

    calibration = context.calibration.set_index("event_id")
    rows = []
    for event in CALIBRATION_EVENTS:
        recorded = calibration.loc[event.event_id]
        scenario = load_scenario(event.scenario) if event.scenario else None
        rows.append(_replay(context, event.event_id, event.market, scenario, float(recorded["price_change"]),
                            float(recorded["supply_cut"]), bool(recorded["used"]), recorded["note"] or ""))
    facts = context.chain.parameter_facts.set_index("record_id")
    rows += [_replay(context, event_id, market, parse_scenario(body), float(facts.loc[record, "value"]) / 100,
                     np.nan, False, note) for event_id, market, body, record, note in VALIDATION_EVENTS]
    return pd.DataFrame(rows)


def _replay(context: ScenarioContext, event_id: str, market: str, scenario: Scenario | None, price_change: float,
            supply_cut: float, used: bool, note: str) -> dict:
    """One row of :func:`check_calibration`: the event's scenario run and read at the recorded market."""
    row = {"event_id": event_id, "scenario": scenario.name if scenario else "", "market": market,
           "recorded_price_change": price_change, "recorded_supply_cut": supply_cut,
           "modelled_price_change": np.nan, "modelled_supply_cut": np.nan, "modelled_shortfall_pct_world": np.nan,
           "price_error": np.nan, "used_in_calibration": used, "note": note}
    if scenario is None:
        row["note"] = "no shipped scenario replays this event" + (f"; {note}" if note else "")
        return row
    result = run_scenario(scenario, context, sensitivity=False)
    summary = result.summary.set_index("market")
    if market not in summary.index:
        row["note"] = f"the scenario does not reach {market}" + (f"; {note}" if note else "")
        return row
    outcome = summary.loc[market]
    peak = outcome["peak_price_index_restricted"]
    peak = peak if np.isfinite(peak) else outcome["peak_price_index_open"]
    path = result.price_path[result.price_path["market"] == market]
    regions = result.by_region[result.by_region["market"] == market]
    hit = regions[regions["targeted"]] if regions["targeted"].any() else regions
    per_period = float(hit["demand_t"].sum()) / result.scenario.n_periods
    row.update(modelled_price_change=float(peak) - 1, modelled_supply_cut=float(path["lost_t"].max()) / per_period,
               modelled_shortfall_pct_world=float(outcome["shortfall_pct_world"]),
               price_error=float(peak) - 1 - price_change)
    if float(path["lost_t"].max()) == 0 and result.warnings:
        row["note"] = "; ".join(result.warnings) + (f"; {note}" if note else "")
    return row
