"""Economic cost of disruptions for every partner over an ensemble: GDP lost per region, material and industry
(docs/methods.md, "Economic cost"; the per-row arithmetic is :mod:`minsec.scenarios.gdp`).

In an ensemble the mean price rise of a segment is read off its shortfall — the market model prices out
|ε_d|·(x − 1)·D, so *x̄ − 1 = S / (|ε_d|·D)* exactly.

``expected_gdp_loss_usd`` is the mean over an ensemble of year-long disruption scenarios — each drawn with the
probabilities of :mod:`minsec.scenarios.ensemble` (restriction rate × governance, history), so the mean is the
probability-weighted loss as in USGS OFR 2025-1047 — and ``p95_gdp_loss_usd`` its 95th percentile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from minsec.risk import io_model
from minsec.scenarios.ensemble import EnsembleSpec, run_ensemble
from minsec.scenarios.gdp import coefficients, gdp_loss
from minsec.scenarios.run import ScenarioContext

TOP_INDUSTRIES = 3


@dataclass
class EconomicImpact:
    """Per importer × material: expected and 95th-percentile GDP loss, the industries most hit, the scenario
    weights used (``by_material``); the quantity channel's expected loss by industry for the three industries
    most hit (``by_industry``); the ensemble's description (``ensemble``)."""

    by_material: pd.DataFrame
    by_industry: pd.DataFrame
    ensemble: dict

    @property
    def partnership(self) -> pd.DataFrame:
        """Materials ranked by the importers' expected GDP loss together (the partnership's ranking when every
        partner is an importer); ``importers_unknown`` lists those whose loss could not be computed."""
        table = self.by_material
        if not len(table):
            return pd.DataFrame(columns=["material", "expected_gdp_loss_usd", "importers", "importers_unknown"])
        grouped = table.groupby("material")
        out = pd.DataFrame({
            "expected_gdp_loss_usd": grouped["expected_gdp_loss_usd"].sum(min_count=1),
            "material_value_at_risk_usd": grouped["material_value_at_risk_usd"].sum(min_count=1),
            "importers": grouped["importer"].apply(lambda x: ", ".join(x)),
            "importers_unknown": grouped.apply(lambda g: ", ".join(g.loc[g["expected_gdp_loss_usd"].isna(),
                                                                         "importer"]), include_groups=False)})
        out = out.sort_values("expected_gdp_loss_usd", ascending=False, na_position="last").reset_index()
        out.insert(1, "rank", np.where(out["expected_gdp_loss_usd"].notna(), np.arange(1, len(out) + 1), None))
        return out

    @property
    def levers(self) -> pd.DataFrame:
        """Per importer: the expected GDP loss over the materials with a figure, with each lever, and the share of
        it the lever removes (empty without levers)."""
        table = self.by_material
        columns = [c for c in table.columns if c.startswith("expected_gdp_loss_usd_")]
        if not columns:
            return pd.DataFrame()
        sums = table.groupby("importer", sort=False)[["expected_gdp_loss_usd", *columns]].sum(min_count=1)
        for column in columns:
            name = column.removeprefix("expected_gdp_loss_usd_")
            sums[f"removed_pct_{name}"] = 100 * (1 - sums[column] / sums["expected_gdp_loss_usd"])
        return sums.reset_index()

    def to_dict(self) -> dict:
        from minsec.model.records import records

        return {"by_material": records(self.by_material), "partnership": records(self.partnership),
                "levers": records(self.levers), "by_industry": records(self.by_industry), "ensemble": self.ensemble}


def economic_impact(context: ScenarioContext, importers: list[str], spec: EnsembleSpec,
                    scheduler: str | None = None, progress: Callable[[int], None] | None = None,
                    levers: dict[str, Callable[[Rows, list[str]], np.ndarray]] | None = None) -> EconomicImpact:
    """Expected and tail GDP loss of each importer from every material over an ensemble (module docstring).

    ``levers``: name → a function giving each row's shortfall with the lever in place (:func:`own_stocks`,
    :func:`shared_stocks`, :func:`new_supply`); each adds ``expected_gdp_loss_usd_<name>`` on the same scenarios."""
    result = run_ensemble(context, spec, scheduler=scheduler, progress=progress, keep_rows=True)
    coef = coefficients(context)
    table = coef.table
    markets, regions = context.baseline.markets, list(context.baseline.regions)
    n = spec.n_scenarios
    rows = _select_rows(result.summary["rows"], table, markets, regions, spec.horizon_months / 12.0)
    losses = _row_losses(rows, rows.shortfall)
    size = len(markets) * len(regions)
    totals = {name: np.bincount(losses["cell"], weights=losses[name], minlength=size) / n
              for name in ("gdp_loss_usd", "quantity_usd", "shortfall_t", "value_usd")}
    with_levers = {name: np.bincount(rows.cell, weights=_row_losses(rows, lever(rows, regions))["gdp_loss_usd"],
                                     minlength=size) / n for name, lever in (levers or {}).items()}
    per_scenario = pd.DataFrame(losses).groupby(["cell", "scenario"])["gdp_loss_usd"].sum()
    by_cell = {cell: group.to_numpy() for cell, group in per_scenario.groupby(level=0)}
    chosen = table[table["region"].isin(importers) & table["use_market"]]
    out, industry_rows = [], []
    for c in chosen.itertuples():
        cell = markets.index(c.market) * len(regions) + regions.index(c.region)
        scenario_losses = by_cell.get(cell, np.zeros(0))
        known = np.isfinite(c.usd_per_t)
        top = []
        split = coef.industries.get((c.market, c.region))
        if known and split is not None:
            for code, share in split.head(TOP_INDUSTRIES).items():
                name = io_model.industry_names().get(code, code)
                top.append(name)
                # the quantity channel's loss by industry (the price channel falls on the buyers, not split)
                industry_rows.append({"importer": c.region, "material": c.material, "industry_code": code,
                                      "industry": name,
                                      "expected_quantity_loss_usd": totals["quantity_usd"][cell] * share})
        out.append({"importer": c.region, "material": c.material, "market": c.market,
                    "expected_gdp_loss_usd": float(totals["gdp_loss_usd"][cell]) if known else np.nan,
                    "p95_gdp_loss_usd": _quantile_with_zeros(scenario_losses, n, 0.95) if known else np.nan,
                    "expected_shortfall_t": float(totals["shortfall_t"][cell]),
                    "scenarios_with_loss": int((scenario_losses > 0).sum()),
                    "material_value_at_risk_usd": float(totals["value_usd"][cell])
                    if np.isfinite(c.price_usd_per_t) else np.nan,
                    "industries_most_hit": "; ".join(top),
                    **{f"expected_gdp_loss_usd_{name}": float(values[cell]) if known else np.nan
                       for name, values in with_levers.items()},
                    "demand_t_per_year": c.demand_t_per_year, "basis": c.basis if known else f"null: {c.basis}"})
    by_material = pd.DataFrame(out).sort_values(["importer", "expected_gdp_loss_usd"], ascending=[True, False],
                                                na_position="last")
    ensemble = {"n_scenarios": n, "seed": spec.seed, "horizon_months": spec.horizon_months,
                "executor": result.executor,
                "scenario_weights": "equal (1/n): each scenario is a draw from the event model, whose "
                                    "probabilities are the weights — restriction_rate × political instability "
                                    "× history_multiplier where recorded, outage_rate",
                "event_model": spec.model_dump(include={"restriction_rate", "history_multiplier", "outage_rate",
                                                        "partnership_target_share", "duration_median",
                                                        "min_share"}),
                "candidates": len(result.candidates)}
    return EconomicImpact(by_material.reset_index(drop=True), pd.DataFrame(industry_rows), ensemble)


@dataclass(frozen=True)
class Rows:
    """Ensemble rows on the importers' use markets: market and region index, scenario, shortfall (t over the
    horizon), and the coefficient grids (market × region) they are priced with."""

    market: np.ndarray
    region: np.ndarray
    scenario: np.ndarray
    shortfall: np.ndarray
    grids: dict[str, np.ndarray]
    years: float

    @property
    def cell(self) -> np.ndarray:
        return self.market * self.grids["usd_per_t"].shape[1] + self.region

    def at(self, name: str) -> np.ndarray:
        return self.grids[name][self.market, self.region]


def _select_rows(rows: pd.DataFrame, table: pd.DataFrame, markets: list[str], regions: list[str],
                 years: float) -> Rows:
    """The ensemble's tidy rows on a region's use market, as integer codes (no string work per row)."""
    shape = (len(markets), len(regions))
    grids = {name: table[name].to_numpy(float).reshape(shape) for name in
             ("usd_per_t", "price_usd_per_t", "demand_t_per_year", "net_import_share", "demand_elasticity")}
    counted = table["use_market"].to_numpy(bool).reshape(shape)
    if not len(rows):
        nothing = np.zeros(0, dtype=np.int64)
        return Rows(nothing, nothing, nothing, np.zeros(0), grids, years)
    index = {label: i for i, label in enumerate(markets)}
    materials, stages = rows["material"].cat.categories, rows["stage"].cat.categories
    lookup = np.array([[index.get(f"{mat}.{stage}", -1) for stage in stages] for mat in materials])
    market = lookup[rows["material"].cat.codes.to_numpy(), rows["stage"].cat.codes.to_numpy()]
    region_of = np.array([regions.index(r) for r in rows["importer"].cat.categories])
    region = region_of[rows["importer"].cat.codes.to_numpy()]
    keep = (market >= 0) & counted[np.maximum(market, 0), region]
    return Rows(market[keep], region[keep], rows["scenario"].to_numpy()[keep],
                rows["shortfall_t"].to_numpy(float)[keep], grids, years)


def _row_losses(rows: Rows, shortfall: np.ndarray) -> dict[str, np.ndarray]:
    """GDP loss of each row at the given shortfall (t over the horizon): the price rise is read off it
    (x̄ − 1 = S / (|ε_d|·D)), so stocks or new supply that cut the shortfall cut the price effect too."""
    demand = rows.at("demand_t_per_year") * rows.years
    with np.errstate(invalid="ignore", divide="ignore"):
        rise = np.where(demand > 0, shortfall / (rows.at("demand_elasticity") * demand), 0.0)
    price = rows.at("price_usd_per_t")
    quantity, price_part = gdp_loss(shortfall, rise, demand, rows.at("usd_per_t"), price,
                                    rows.at("net_import_share"))
    return {"cell": rows.cell, "scenario": rows.scenario, "gdp_loss_usd": np.nan_to_num(quantity + price_part),
            "quantity_usd": np.nan_to_num(quantity), "shortfall_t": shortfall,
            "value_usd": np.nan_to_num(shortfall * price)}


# ------------------------------------------------------------------------------------------------ levers
#: stocks the partners hold, in days of their use, as recorded: Project Vault's target (ST040), JOGMEC's general
#: target (ST001), KOMIR's reported average cover (ST013); the others hold none on record (the EU's CRMA asks only
#: for reports on stocks, ST046)
RECORDED_STOCK_DAYS = {"USA": 60.0, "JPN": 60.0, "KOR": 42.0}
STOCK_SOURCES = "USA 60 days (Project Vault target, ST040), JPN 60 (JOGMEC target, ST001), KOR 42 (KOMIR, ST013)"


def own_stocks(days: dict[str, float]) -> Callable[[Rows, list[str]], np.ndarray]:
    """Each partner draws only its own stock (``days`` of its use of every material) against its shortfall."""
    def lever(rows: Rows, regions: list[str]) -> np.ndarray:
        held = np.array([days.get(r, 0.0) for r in regions])[rows.region] / 365.0 * rows.at("demand_t_per_year")
        return np.maximum(rows.shortfall - held, 0.0)
    return lever


def shared_stocks(days: dict[str, float]) -> Callable[[Rows, list[str]], np.ndarray]:
    """The same stocks pooled (the sharing rule of the emergency allocation): in each scenario and market the
    partners' stocks together meet min(pool, Σ shortfalls), each partner's shortfall cut pro rata."""
    def lever(rows: Rows, regions: list[str]) -> np.ndarray:
        annual = rows.grids["demand_t_per_year"]                    # market × region
        pool = (annual * (np.array([days.get(r, 0.0) for r in regions]) / 365.0)[None, :]).sum(axis=1)
        group = rows.scenario.astype(np.int64) * annual.shape[0] + rows.market
        keys, inverse = np.unique(group, return_inverse=True)
        short = np.bincount(inverse, weights=rows.shortfall, minlength=len(keys))
        covered = np.minimum(pool[keys % annual.shape[0]], short)
        with np.errstate(invalid="ignore", divide="ignore"):
            kept = np.where(short > 0, 1.0 - covered / short, 1.0)
        return rows.shortfall * kept[inverse]
    return lever


def new_supply(capacity: dict[str, float], partners: list[str]) -> Callable[[Rows, list[str]], np.ndarray]:
    """New partner supply (``capacity``: market → t/yr from selected projects, held for the partners in a
    disruption) shared among the partners in proportion to their use, cutting their shortfalls."""
    def lever(rows: Rows, regions: list[str]) -> np.ndarray:
        annual = rows.grids["demand_t_per_year"]
        members = np.isin(np.array(regions), partners)
        total = (annual * members[None, :]).sum(axis=1)
        added = np.zeros(annual.shape[0])
        for market, tonnes in capacity.items():
            added[market] = tonnes
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total[rows.market] > 0, rows.at("demand_t_per_year") / total[rows.market], 0.0)
        return np.maximum(rows.shortfall - added[rows.market] * rows.years * share, 0.0)
    return lever


def _quantile_with_zeros(nonzero: np.ndarray, n: int, q: float) -> float:
    """The q-quantile of n scenario losses of which only ``nonzero`` are listed (the rest are 0)."""
    values = np.concatenate([np.asarray(nonzero, float), np.zeros(max(n - len(nonzero), 0))])
    return float(np.quantile(values, q)) if len(values) else 0.0
