"""Inputs of stockpile planning: scenario shortfalls, prices, losses, consumption (validated at the boundary).

A :class:`ShortfallSample` is a probability-weighted sample of annual shortfalls, stored sparse (one row per
scenario × material × party with a positive shortfall) because most scenarios leave most materials
untouched.  It comes either from a minsec ensemble (:func:`sample_from_ensemble`) or from a user's table
(:func:`read_shortfall_table`: ``scenario, material, shortfall_t, probability`` and optionally ``holder``,
CSV or Parquet).  *Party* is whose demand runs short (a partner region, e.g. ``USA``); a stockpile
*holder* is a party's national stockpile or the ``joint`` pool.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.errors import InputError

JOINT = "joint"
#: the pooled demand of a scenario table without a ``holder`` column
ALL_PARTIES = "all"
#: short names users type → region codes of the bundled data
PARTY_ALIASES = {"US": "USA", "EU": "EU27"}
PROBABILITY_TOLERANCE = 1e-6

#: Loss per tonne short = LOSS_MULTIPLIER × price.  USGS MCS 2024, Fig. 1 (bundled facts VR013, VR014):
#: US industries that consume processed mineral materials added US$3,840 bn to GDP in 2023 on US$890 bn of
#: processed mineral materials, i.e. 4.31 dollars of value added per dollar of material.  A conservative,
#: economy-wide average: the USGS estimate for gallium (VR001: US$3.1 bn GDP loss for a one-year loss of
#: China's exports) implies a far larger multiple, so users with material-specific estimates should pass them.
LOSS_FACTS = ("VR014", "VR013")


class StockpileInputError(InputError):
    """Invalid stockpile input; the message names the file, row, column or field."""


def canonical_party(name: str) -> str:
    text = str(name).strip()
    return PARTY_ALIASES.get(text.upper(), text)


@dataclass(frozen=True)
class ShortfallSample:
    """Sparse sample of annual shortfalls.

    ``probability[s]`` of scenario ``s`` (sums to 1); rows ``(scenario, material, party, shortfall_t)`` with
    integer indices into ``scenarios``, ``materials`` and ``parties``.
    """

    scenarios: np.ndarray        # S scenario labels
    probability: np.ndarray      # S
    materials: tuple[str, ...]
    parties: tuple[str, ...]
    scenario: np.ndarray         # N int
    material: np.ndarray         # N int
    party: np.ndarray            # N int
    shortfall_t: np.ndarray      # N float > 0
    source: str = ""

    @property
    def n_scenarios(self) -> int:
        return len(self.probability)

    def dense(self) -> np.ndarray:
        """Scenario × material × party array of shortfalls (t)."""
        out = np.zeros((self.n_scenarios, len(self.materials), len(self.parties)))
        np.add.at(out, (self.scenario, self.material, self.party), self.shortfall_t)
        return out

    def expected(self) -> np.ndarray:
        """Expected annual shortfall, material × party (t)."""
        out = np.zeros((len(self.materials), len(self.parties)))
        np.add.at(out, (self.material, self.party), self.shortfall_t * self.probability[self.scenario])
        return out

    def select(self, materials: list[str] | None = None, parties: list[str] | None = None) -> ShortfallSample:
        """The sample restricted to some materials and/or parties (indices renumbered)."""
        materials = list(self.materials) if materials is None else materials
        parties = list(self.parties) if parties is None else parties
        m_index = {m: i for i, m in enumerate(materials)}
        p_index = {p: i for i, p in enumerate(parties)}
        m_map = np.array([m_index.get(m, -1) for m in self.materials], dtype=np.int64)
        p_map = np.array([p_index.get(p, -1) for p in self.parties], dtype=np.int64)
        new_m, new_p = m_map[self.material], p_map[self.party]
        keep = (new_m >= 0) & (new_p >= 0)
        return ShortfallSample(self.scenarios, self.probability, tuple(materials), tuple(parties),
                               self.scenario[keep], new_m[keep], new_p[keep], self.shortfall_t[keep], self.source)

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({"scenario": self.scenarios[self.scenario],
                             "material": np.array(self.materials, dtype=object)[self.material],
                             "holder": np.array(self.parties, dtype=object)[self.party],
                             "shortfall_t": self.shortfall_t,
                             "probability": self.probability[self.scenario]})


def non_negative_column(frame: pd.DataFrame, column: str, where: str) -> pd.Series:
    """``frame[column]`` as floats; the first value that is not a finite non-negative number is named."""
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = values.isna() | (values < 0) | ~np.isfinite(values.fillna(0))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise StockpileInputError(f"{where}, row {row + 2}, column {column!r}: not a non-negative number "
                                  f"({frame[column].iloc[row]!r})")
    return values.astype(float)


def sample_from_table(table: pd.DataFrame, where: str = "scenario table") -> ShortfallSample:
    """Validate a user's scenario table and turn it into a :class:`ShortfallSample`.

    Columns ``scenario, material, shortfall_t, probability`` (+ optional ``holder``, the party whose demand
    is short).  Every row of a scenario must carry the same probability; the scenarios' probabilities must
    sum to 1 (± 1e-6).  A scenario with no shortfall is a row with ``shortfall_t`` 0 (or any material).
    """
    missing = [c for c in ("scenario", "material", "shortfall_t", "probability") if c not in table.columns]
    if missing:
        raise StockpileInputError(f"{where}: missing columns {missing} (have {list(table.columns)})")
    if table.empty:
        raise StockpileInputError(f"{where}: no rows")
    frame = table.reset_index(drop=True)
    for column in ("shortfall_t", "probability"):
        frame[column] = non_negative_column(frame, column, where)
    for column in ("scenario", "material"):
        blank = frame[column].isna() | (frame[column].astype(str).str.strip() == "")
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0])
            raise StockpileInputError(f"{where}, row {row + 2}, column {column!r}: empty")
    frame["scenario"] = frame["scenario"].astype(str).str.strip()
    frame["material"] = frame["material"].astype(str).str.strip()
    if "holder" in frame.columns:
        blank = frame["holder"].isna() | (frame["holder"].astype(str).str.strip() == "")
        if blank.any():
            row = int(np.flatnonzero(blank.to_numpy())[0])
            raise StockpileInputError(f"{where}, row {row + 2}, column 'holder': empty (leave the column out "
                                      "for a pooled shortfall)")
        frame["holder"] = frame["holder"].map(canonical_party)
        if (frame["holder"] == JOINT).any():
            row = int(np.flatnonzero((frame["holder"] == JOINT).to_numpy())[0])
            raise StockpileInputError(f"{where}, row {row + 2}, column 'holder': a shortfall belongs to a party "
                                      f"(e.g. USA, EU27), not to the {JOINT!r} pool")
    else:
        frame["holder"] = ALL_PARTIES
    per_scenario = frame.groupby("scenario", sort=False)["probability"]
    spread = per_scenario.max() - per_scenario.min()
    if (spread > PROBABILITY_TOLERANCE).any():
        name = spread[spread > PROBABILITY_TOLERANCE].index[0]
        raise StockpileInputError(f"{where}: scenario {name!r} has rows with different probabilities "
                                  f"({per_scenario.min()[name]:g} … {per_scenario.max()[name]:g})")
    probability = per_scenario.first()
    total = float(probability.sum())
    if abs(total - 1.0) > PROBABILITY_TOLERANCE:
        raise StockpileInputError(f"{where}: scenario probabilities sum to {total:.6g}, not 1 "
                                  f"({'short' if total < 1 else 'over'} by {abs(total - 1):.6g})")
    duplicated = frame.duplicated(["scenario", "material", "holder"])
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise StockpileInputError(f"{where}, row {row + 2}: scenario {frame['scenario'].iloc[row]!r}, material "
                                  f"{frame['material'].iloc[row]!r} appears twice for the same holder")
    scenarios = probability.index.to_numpy()
    materials = tuple(sorted(frame["material"].unique()))
    parties = tuple(sorted(frame["holder"].unique()))
    positive = frame[frame["shortfall_t"] > 0]
    return ShortfallSample(
        scenarios=scenarios, probability=probability.to_numpy(float) / total, materials=materials,
        parties=parties,
        scenario=pd.Index(scenarios).get_indexer(positive["scenario"]).astype(np.int64),
        material=pd.Index(materials).get_indexer(positive["material"]).astype(np.int64),
        party=pd.Index(parties).get_indexer(positive["holder"]).astype(np.int64),
        shortfall_t=positive["shortfall_t"].to_numpy(float), source=where)


def read_table(path: str | Path, what: str) -> pd.DataFrame:
    """Read a CSV or Parquet file (by suffix) with a clear error."""
    path = Path(path)
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        return pd.read_csv(path)
    except FileNotFoundError:
        raise StockpileInputError(f"{what} {path}: no such file") from None
    except (OSError, ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise StockpileInputError(f"{what} {path}: cannot read: {exc}") from None


def read_shortfall_table(path: str | Path) -> ShortfallSample:
    """Read and validate a user's scenario shortfall table (CSV or Parquet)."""
    return sample_from_table(read_table(path, "scenario file"), where=str(path))


def read_material_values(path: str | Path, column: str) -> pd.Series:
    """Read ``material,<column>`` (e.g. ``price_usd_per_t``); values must be non-negative numbers."""
    table = read_table(path, f"{column} file")
    missing = [c for c in ("material", column) if c not in table.columns]
    if missing:
        raise StockpileInputError(f"{path}: missing columns {missing} (have {list(table.columns)})")
    values = non_negative_column(table, column, str(path))
    materials = table["material"].astype(str).str.strip()
    if materials.duplicated().any():
        raise StockpileInputError(f"{path}: material {materials[materials.duplicated()].iloc[0]!r} appears twice")
    return pd.Series(values.to_numpy(float), index=pd.Index(materials, name="material"), name=column)


@dataclass(frozen=True)
class MaterialFacts:
    """Per-material economics: purchase price, loss per tonne short, world supply, consumption per party."""

    price_usd_per_t: pd.Series
    loss_usd_per_t: pd.Series
    world_supply_t: pd.Series
    consumption_t: pd.DataFrame      # material × party, t/yr
    basis: pd.DataFrame              # material: market used, price source, loss basis


def loss_multiplier(facts: pd.DataFrame) -> float:
    """Value added by mineral-consuming industries per dollar of processed mineral materials (USGS Fig. 1)."""
    rows = facts.set_index("record_id")
    added, materials = (float(rows.loc[record, "value"]) for record in LOSS_FACTS)
    return added / materials


#: the form a stockpile holds, in order of preference: the refined or separated product (the US National Defense
#: Stockpile holds separated oxides — NdPr oxide, lanthanum, cerium in the FY2024 Annual Materials Plan), else the
#: ore, else the metal, else the manufactured product (NdFeB magnet block, also in that plan)
STOCK_FORMS = ("refining", "mining", "metal", "manufacturing")


def stock_market(markets: list[str], material: str) -> str | None:
    """The market a stockpile of ``material`` holds (:data:`STOCK_FORMS`)."""
    for stage in STOCK_FORMS:
        if f"{material}.{stage}" in markets:
            return f"{material}.{stage}"
    return None


def use_markets(baseline, material: str, parties: list[str]) -> dict[str, tuple[str, float]]:
    """party → (the market whose shortfall a stock of ``material`` covers for it, tonnes of the stocked form per
    tonne of that market).

    A party's use is the most downstream of the material's markets it buys (Japan's magnet makers buy Dy metal,
    the USA yttrium oxide): counting one stage avoids counting the same shortage twice, as input of a party's
    processors and again as their lost output.  Metal is held as oxide: one tonne of metal short is covered by
    the oxide it is reduced from (t oxide per t metal, :func:`minsec.scenarios.chain.input_coefficients`, e.g.
    1.1477 t Dy₂O₃ per t Dy); the other materials are on one basis across stages (t of content)."""
    from minsec.scenarios.chain import input_coefficients

    markets = baseline.markets
    stocked = stock_market(markets, material)
    if stocked is None:
        return {}
    coefficients = input_coefficients(markets)
    out = {}
    for party in parties:
        if party not in baseline.regions:
            continue
        use = baseline.use_market(material, party) or stocked
        out[party] = (use, coefficients.get((use, stocked), 1.0))
    return out


def material_facts(context, materials: list[str], parties: list[str], members: list[str] | None = None
                   ) -> MaterialFacts:
    """Bundled prices, default losses, world supply and consumption of ``materials`` (NaN where unknown).

    ``context`` is a :class:`minsec.scenarios.run.ScenarioContext`; the party ``all`` (a pooled user table)
    and the ``joint`` pool consume what ``members`` (default: every named party) consume together.
    """
    baseline = context.baseline
    markets = baseline.markets
    facts = context.chain.parameter_facts
    multiplier = loss_multiplier(facts[facts["file"] == "value_at_risk"])
    price = baseline.price.to_series()
    demand = baseline.demand.to_pandas()
    production = baseline.production.sum("producer").to_series()
    named = [p for p in parties if p in baseline.regions]
    members = [m for m in (members or named) if m in baseline.regions]
    rows, consumption = [], []
    for material in materials:
        market = stock_market(markets, material)
        row = {"material": material, "market": market,
               "price_usd_per_t": float(price[market]) if market else np.nan,
               "world_supply_t": float(production[market]) if market else np.nan}
        row["loss_usd_per_t"] = row["price_usd_per_t"] * multiplier
        row["loss_basis"] = f"{multiplier:.3g} × price (USGS MCS 2024 Fig. 1: value added per $ of material)"
        rows.append(row)
        # consumption at the stage each party uses the material, in tonnes of the stocked form
        uses = use_markets(baseline, material, [*parties, *members])
        use = {p: float(demand.loc[uses[p][0], p]) * uses[p][1] if p in uses else np.nan for p in parties}
        pooled = float(sum(demand.loc[uses[p][0], p] * uses[p][1] for p in members if p in uses)) \
            if market and members else np.nan
        use[ALL_PARTIES] = use.get(ALL_PARTIES, pooled) if ALL_PARTIES in parties else pooled
        use[JOINT] = pooled
        consumption.append(use)
    basis = pd.DataFrame(rows).set_index("material")
    return MaterialFacts(price_usd_per_t=basis["price_usd_per_t"], loss_usd_per_t=basis["loss_usd_per_t"],
                         world_supply_t=basis["world_supply_t"],
                         consumption_t=pd.DataFrame(consumption, index=basis.index),
                         basis=basis[["market", "loss_basis"]])


def annual_sample(context, parties: list[str], size: int, seed: int, scheduler: str | None = None,
                  progress=None) -> ShortfallSample:
    """The annual shortfall sample of a seeded minsec ensemble of ``size`` one-year scenarios (chunks of at most
    10,000), as the stockpile optimiser, its frontier and the investment optimiser use it."""
    from minsec.scenarios.ensemble import EnsembleSpec

    spec = EnsembleSpec(n_scenarios=size, seed=seed, horizon_months=12.0, chunk_size=min(10_000, size))
    return sample_from_ensemble(context, spec, parties, scheduler, progress=progress)


def ensemble_materials(markets: list[str]) -> list[str]:
    """The materials an ensemble sample plans stock for: every material with a market except a total that its
    parts split (the REO basket ``rare_earths``, held as its separated elements: a stock of "rare earths" is a
    stock of particular oxides, and counting the basket too would count the same shortfall twice)."""
    from minsec.scenarios.chain import split_markets

    totals = {markets[k].split(".")[0] for k in split_markets(markets)}
    return sorted({m.split(".")[0] for m in markets} - totals)


def expand_materials(text: str | list[str] | tuple[str, ...], known: list[str]) -> list[str]:
    """``--materials``: material ids or catalogue families (``magnets``), comma-separated; a total that its parts
    split (``rare_earths``) means its parts (the elements).  Only materials of ``known`` (those with a sample) are
    returned; a name that is neither a material nor a family is an error naming it."""
    from minsec.data import catalogue

    table = catalogue.materials()
    items = [t.strip() for t in (text.split(",") if isinstance(text, str) else text) if t.strip()]
    if not items:
        raise StockpileInputError("--materials: name at least one material or family (e.g. rare_earths,magnets)")
    families = {f.lower().replace(" ", "_"): list(group.index) for f, group in table.groupby("family")}
    chosen: list[str] = []
    for item in items:
        key = item.lower().replace(" ", "_").replace("-", "_")
        if key in table.index:
            children = [m for m in catalogue.parts(key) if m in known]
            found = children if key not in known and children else [key]
        elif key in families:
            found = families[key]
        else:
            raise StockpileInputError(f"--materials: {item!r} is neither a material nor a family "
                                      f"({', '.join(sorted(families))}); see `minsec materials`")
        chosen += [m for m in found if m in known and m not in chosen]
    if not chosen:
        raise StockpileInputError(f"--materials {','.join(items)}: none of them has a shortfall sample "
                                  "(no market or no bundled price)")
    return chosen


def sample_from_ensemble(context, spec, parties: list[str], scheduler: str | None = None,
                         progress=None) -> ShortfallSample:
    """Run a minsec ensemble and keep each party's annual shortfall of each material's stocked market.

    Every scenario has probability 1/N.  ``spec`` is an :class:`~minsec.scenarios.ensemble.EnsembleSpec`
    whose horizon should be 12 months (annual shortfalls).
    """
    from minsec.scenarios.ensemble import run_ensemble

    regions = list(context.baseline.regions)
    unknown = [p for p in parties if p not in regions]
    if unknown:
        raise StockpileInputError(f"holders {unknown} are not regions of the ensemble ({regions}); "
                                  f"use e.g. US, EU or one of the regions")
    result = run_ensemble(context, spec, out=None, scheduler=scheduler, progress=progress, keep_rows=True)
    rows = result.summary["rows"]
    markets = context.baseline.markets
    materials = ensemble_materials(markets)
    # each party's shortfall of a material at the stage it uses it, in tonnes of the stocked form
    factor = {(use, party): f for material in materials
              for party, (use, f) in use_markets(context.baseline, material, parties).items()}
    n = spec.n_scenarios
    if len(rows):
        key = pd.Series(list(zip(rows["material"].astype(str) + "." + rows["stage"].astype(str),
                                 rows["importer"].astype(str), strict=True)), index=rows.index)
        scale = key.map(factor)
        rows = rows[scale.notna().to_numpy()].assign(shortfall_t=lambda r: r["shortfall_t"] * scale.dropna())
    scenario = rows["scenario"].to_numpy(np.int64) if len(rows) else np.zeros(0, np.int64)
    return ShortfallSample(
        scenarios=np.arange(n), probability=np.full(n, 1.0 / n), materials=tuple(materials),
        parties=tuple(parties), scenario=scenario,
        material=pd.Index(materials).get_indexer(rows["material"].astype(str)).astype(np.int64),
        party=pd.Index(parties).get_indexer(rows["importer"].astype(str)).astype(np.int64),
        shortfall_t=rows["shortfall_t"].to_numpy(float) if len(rows) else np.zeros(0),
        source=f"minsec ensemble (n={n:,}, seed={spec.seed})")
