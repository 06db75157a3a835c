"""Market-response parameters: documented defaults, calibration on recorded disruptions, per-market overrides.

Published short-run price elasticities for critical minerals could not be read from any source available to
minsec (see ``data/raw/parameters/PROVENANCE.md``), so the default *total* short-run elasticity

    E = |ε_d| + ε_s

is calibrated on the disruptions recorded in ``parameter_facts`` with the first-order incidence formula the
market model uses (docs/methods.md, "Market response"):

    ΔP/P = g / E   ⇒   E = g / (ΔP/P)

where *g* is the documented supply cut as a share of the affected market's supply and ΔP/P the documented
price change.  Each calibration event names the record ids it uses; shares of world output come from the
bundled production data.  A market with its own event(s) takes the median of their *E*; the others take the
median over all events.  ε_s (non-disrupted producers' short-run supply elasticity) is set to
``min(0.1, E/2)`` — an assumption (short-run mine supply is close to inelastic), shown in every result and
overridable — and ε_d = −(E − ε_s).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from minsec.data.loaders.parameters import point_value
from minsec.errors import InputError
from minsec.model.supply_chain import SupplyChain
from minsec.scenarios.baseline import MarketBaseline

SUPPLY_ELASTICITY_CAP = 0.1
#: the DRC suspension began on 22 Feb 2025 (DH012); the COMEX price of DH018 is ~7 months into it
COBALT_WINDOW_MONTHS = 7.0

#: name → (default, unit, source / reasoning). Elasticities are filled per market by :func:`calibrate`.
DEFAULTS: dict[str, tuple[float, str, str]] = {
    "demand_elasticity": (np.nan, "1", "calibrated: −(E − ε_s), E from recorded disruptions (scenario calibrate)"),
    "supply_elasticity": (np.nan, "1", f"assumption: min({SUPPLY_ELASTICITY_CAP}, E/2); short-run supply is "
                                       "close to inelastic"),
    "spare_capacity_share": (0.05, "share of output", "assumption where USGS publishes no capacity; USGS capacity "
                                                      "(gallium, aluminium, titanium sponge) used where published"),
    "ramp_up_months": (6.0, "months", "shared assumption for every market: one recorded restart, Syrah Balama "
                                      "graphite, 5 kt (Q1 2021) → 29 kt (Q2 2021) per quarter (CA050/CA051)"),
    "leakage": (0.1, "share", "assumption: share of restricted volume still reaching targeted buyers via third "
                              "countries (US Ge imports from China fell 11 → 3.5 → 1.3 t, DH045-DH047)"),
    "diversion": (0.5, "share", "assumption: share of withheld volume sold to non-targeted buyers"),
    "value_multiplier": (1.0, "×price", "value at risk = shortfall × price × multiplier; 1 = material value only "
                                        "(downstream losses are larger, e.g. USGS OFR 2024-1057)"),
    "price_floor": (0.2, "×baseline", "lowest price index in a glut; volume not absorbed is reported as unsold"),
    "trade_friction": (0.1, "share", "assumption: share of the restricted buyers' price premium that producers "
                                     "outside a restriction do not receive when they move sales to them (freight, "
                                     "qualification, broken contracts)"),
}
PARAMETERS = list(DEFAULTS)


@dataclass(frozen=True)
class CalibrationEvent:
    """A recorded disruption turned into (supply cut g, price change ΔP/P) — see :func:`calibrate`."""

    event_id: str
    market: str
    description: str
    records: tuple[str, ...]
    #: the year whose market shares define the cut: the event's own or the last full year before it — fixed,
    #: so that a newer baseline year does not rewrite history (2023's gallium licensing is 2023's market)
    market_year: int | None = None
    #: the shipped scenario that replays the event (:func:`check_calibration`), where there is one
    scenario: str | None = None


CALIBRATION_EVENTS = (
    CalibrationEvent("CD-CO-2025", "cobalt.mining",
                     "DRC export suspension 2025: g = DRC share of world mine output 2024 (bundled, the last full "
                     "year before it); ΔP/P = DH018/DH017 − 1. Not identified when the stocks held outside the DRC "
                     "(mid(SK001), months of world use) cover the 7 months to the price of DH018: no tonne of "
                     "consumption was then cut, and the price moved on expectations", ("DH017", "DH018", "SK001"),
                     2024, "drc_cobalt_suspension_2025"),
    CalibrationEvent("ID-NI-ORE-2020", "nickel.mining",
                     "Indonesia ore ban announced 2019: g = DH008 / world mine output 2019 (bundled WMD); "
                     "ΔP/P = DH007 (one-day LME move)", ("DH007", "DH008"), scenario="indonesia_nickel_ore_ban"),
    CalibrationEvent("CN-GA-GE-2023", "gallium.refining",
                     "China Ga licensing 2023: g = (1 − DH029/DH030) × X/(X + non-China output 2023), "
                     "X = 12 × DH030; ΔP/P = DH033", ("DH029", "DH030", "DH033"), 2023, "ga_ge_licensing_2023"),
    CalibrationEvent("CN-SB-2024", "antimony.mining",
                     "China Sb controls Sep 2024: g = DH041 × DH043; ΔP/P = DH042 (year-to-date, includes the "
                     "pre-control rise, so E is a lower bound)", ("DH041", "DH042", "DH043"),
                     scenario="antimony_controls_2024_09"),
    CalibrationEvent("CN-REE-2025-04", "rare_earths.mining",
                     "China REE licensing Apr 2025: g = DH048 × China share of world REE output 2024 (bundled); "
                     "ΔP/P = mid(DH054)/mid(DH053) − 1 (Dy oxide, Europe)", ("DH048", "DH053", "DH054"), 2024,
                     "rare_earths_licensing_2025_04"),
    CalibrationEvent("CN-REE-2025-04-DY", "dysprosium.refining",
                     "China REE licensing Apr 2025, the Dy oxide its price record is of: g = DH048 × China share of "
                     "world Dy oxide output 2024 (bundled rare-earth chain); ΔP/P = mid(DH054)/mid(DH053) − 1",
                     ("DH048", "DH053", "DH054"), 2024, "rare_earths_licensing_2025_04"),
    CalibrationEvent("CN-REE-2025-04-TB", "terbium.refining",
                     "China REE licensing Apr 2025, Tb oxide: g = DH048 × China share of world Tb oxide output 2024; "
                     "ΔP/P = mid(DH056)/mid(DH055) − 1", ("DH048", "DH055", "DH056"), 2024,
                     "rare_earths_licensing_2025_04"),
    CalibrationEvent("CN-REE-QUOTA-2010", "rare_earths.mining",
                     "China REE quota cut 2010: g = DH003 × DH004; ΔP/P = DH064 − 1 (peak element, upper tail)",
                     ("DH003", "DH004", "DH064")),
)


def _fact(facts: pd.DataFrame, record: str) -> pd.Series:
    rows = facts[facts["record_id"] == record]
    if rows.empty:
        raise KeyError(f"calibration needs parameter record {record}, which is not in the dataset")
    return rows.iloc[0]


def _value(facts: pd.DataFrame, record: str) -> float:
    return point_value(_fact(facts, record))


def _world_output(chain: SupplyChain, material: str, stage: str, year: int) -> tuple[float, pd.Series]:
    """Named producers' output in ``year`` (USGS if it has the year, else WMD) and the world total (the published
    one, or the named producers' sum where that is larger)."""
    production = chain.production
    for source in ("usgs", "wmd", "minsec"):
        try:
            values = production.sel(source=source, material=material, stage=stage, year=year).to_series().dropna()
        except KeyError:
            continue
        if values.sum() > 0:
            world = float(chain.world_total.sel(source=source, material=material, stage=stage, year=year))
            # as concentration does: the named producers' sum where a rounded world total is smaller
            return (max(world, float(values.sum())) if np.isfinite(world) else float(values.sum())), values
    raise KeyError(f"no production of {material} {stage} in {year}")


def calibrate(chain: SupplyChain, baseline: MarketBaseline) -> pd.DataFrame:
    """Implied total short-run elasticity ``E = g / (ΔP/P)`` of each calibration event (one row each)."""
    facts = chain.parameter_facts
    rows = []
    for event in CALIBRATION_EVENTS:
        year = event.market_year or baseline.year
        note = ""
        if event.event_id == "CD-CO-2025":
            world, by_country = _world_output(chain, "cobalt", "mining", year)
            cut = float(by_country.get("COD", 0.0)) / world
            if _value(facts, "SK001") >= COBALT_WINDOW_MONTHS:
                note = (f"not identified: stocks outside the DRC of {_value(facts, 'SK001'):.0f} months of world use "
                        f"(SK001) covered the {COBALT_WINDOW_MONTHS:.0f} months to the price observation")
            price_change = _value(facts, "DH018") / _value(facts, "DH017") - 1
        elif event.event_id == "ID-NI-ORE-2020":
            world, _ = _world_output(chain, "nickel", "mining", 2019)
            cut = _value(facts, "DH008") / world
            price_change = _value(facts, "DH007") / 100
        elif event.event_id == "CN-GA-GE-2023":
            world, by_country = _world_output(chain, "gallium", "refining", year)
            exports = 12 * _value(facts, "DH030") / 1000
            # outside China = the other named producers (a rounded world total can hide them: 2025's is 900 t
            # with China at 900 t)
            others = float(by_country.drop("CHN", errors="ignore").sum())
            outside = max(world - float(by_country.get("CHN", 0.0)), others)
            cut = (1 - _value(facts, "DH029") / _value(facts, "DH030")) * exports / (exports + outside)
            price_change = _value(facts, "DH033") / 100
        elif event.event_id == "CN-SB-2024":
            cut = abs(_value(facts, "DH041")) / 100 * _value(facts, "DH043") / 100
            price_change = _value(facts, "DH042") / 100
        elif event.event_id == "CN-REE-2025-04":
            world, by_country = _world_output(chain, "rare_earths", "mining", year)
            cut = abs(_value(facts, "DH048")) / 100 * float(by_country.get("CHN", 0.0)) / world
            price_change = _value(facts, "DH054") / _value(facts, "DH053") - 1
        elif event.event_id in ("CN-REE-2025-04-DY", "CN-REE-2025-04-TB"):
            element = event.market.split(".")[0]
            world, by_country = _world_output(chain, element, "refining", year)
            cut = abs(_value(facts, "DH048")) / 100 * float(by_country.get("CHN", 0.0)) / world
            before, after = ("DH053", "DH054") if element == "dysprosium" else ("DH055", "DH056")
            price_change = _value(facts, after) / _value(facts, before) - 1
        elif event.event_id == "CN-REE-QUOTA-2010":
            cut = _value(facts, "DH003") / 100 * _value(facts, "DH004") / 100
            price_change = _value(facts, "DH064") - 1
        else:  # pragma: no cover - the tuple above is the whole list
            raise ValueError(event.event_id)
        rows.append({"event_id": event.event_id, "market": event.market, "supply_cut": cut,
                     "price_change": price_change, "total_elasticity": np.nan if note else cut / price_change,
                     "used": not note, "note": note, "records": ", ".join(event.records),
                     "method": event.description})
    return pd.DataFrame(rows)


def default_parameters(baseline: MarketBaseline, calibration: pd.DataFrame) -> pd.DataFrame:
    """One row per market with every parameter of :data:`DEFAULTS`, plus ``source_<name>`` columns."""
    markets = baseline.markets
    table = pd.DataFrame(index=pd.Index(markets, name="market"))
    calibration = calibration[calibration["total_elasticity"].notna()]   # events that identify E
    overall = float(calibration["total_elasticity"].median())
    own = calibration.groupby("market")["total_elasticity"].median()
    total = pd.Series(overall, index=markets).where(~pd.Index(markets).isin(own.index), own.reindex(markets))
    supply = np.minimum(SUPPLY_ELASTICITY_CAP, total / 2)
    for name, (default, _unit, source) in DEFAULTS.items():
        table[name] = default
        table[f"source_{name}"] = source
    table["supply_elasticity"] = supply
    table["demand_elasticity"] = -(total - supply)
    table["source_demand_elasticity"] = [
        f"calibrated on {', '.join(calibration.loc[calibration['market'] == m, 'event_id'])}" if m in own.index
        else f"median E = {overall:.3f} over {len(calibration)} recorded disruptions" for m in markets]
    return table


def apply_overrides(parameters: pd.DataFrame, overrides: Mapping[str, Mapping[str, float]] | None) -> pd.DataFrame:
    """Override parameters per market (``gallium.refining``), per material (``gallium``) or for all (``*``).

    Raises ``ValueError`` naming the key for unknown markets or parameters and for values outside their range.
    """
    if not overrides:
        return parameters
    out = parameters.copy()
    for key, values in overrides.items():
        rows = [m for m in out.index if key in ("*", m, m.split(".")[0])]
        if not rows:
            raise InputError(f"parameters.{key}: unknown market or material")
        for name, value in values.items():
            if name not in DEFAULTS:
                raise InputError(f"parameters.{key}.{name}: unknown parameter; known: {PARAMETERS}")
            value = float(value)
            _check_range(f"parameters.{key}.{name}", name, value)
            out.loc[rows, name] = value
            out.loc[rows, f"source_{name}"] = "user override"
    return out


def _check_range(where: str, name: str, value: float) -> None:
    if not np.isfinite(value):
        raise InputError(f"{where}: must be a finite number")
    if name == "demand_elasticity" and value >= 0:
        raise InputError(f"{where}: demand elasticity must be negative, got {value}")
    if name in ("leakage", "diversion", "spare_capacity_share", "trade_friction") and not 0 <= value <= 1:
        raise InputError(f"{where}: must lie in [0, 1], got {value}")
    if name in ("supply_elasticity", "ramp_up_months", "value_multiplier") and value < 0:
        raise InputError(f"{where}: must not be negative, got {value}")
    if name == "price_floor" and not 0 < value <= 1:
        raise InputError(f"{where}: must lie in (0, 1], got {value}")
