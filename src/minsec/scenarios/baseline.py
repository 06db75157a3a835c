"""The baseline market of every material × stage: who supplies whom, what each region consumes, spare capacity.

For each *market* (a material at a stage with production data) and baseline year *Y*:

* ``production`` — each producer's output in *Y* on minsec's basis (USGS, latest release; World Mining Data
  where USGS has no figure).  The publisher's "Other countries" remainder is the producer ``OTH`` so that
  producers add up to the published world total.
* ``supply[market, producer, region]`` — the supply matrix (t/yr).  A producer *c* exports to region *R*
  what BACI records from *c* to *R*'s members (mean of the last three trade years up to *Y* — 2022–2024 for
  *Y* = 2025, BACI ending in 2024 — gross tonnes × the HS code's content
  factor, or its catalogued typical grade), scaled down so that exports never exceed *c*'s output; the rest
  of *c*'s output stays in *c*'s own region.  Flows between members of one region are internal.  Where the
  market's own stage has no trade codes, the other stage's codes give the destinations (flagged).
  Where there is no bilateral trade at all (gallium, germanium …), each region with a published apparent
  consumption (USGS salient statistics, US only) buys the world production mix, and the remaining demand is
  pooled in ``ROW`` (flagged ``unknown``).
* ``demand = supply.sum("producer")`` — apparent consumption of each region; equals world production.
* ``spare[market, producer]`` — published capacity − production where the USGS publishes capacity (gallium,
  alumina/aluminium, titanium sponge); NaN elsewhere (the engine applies the ``spare_capacity_share``
  parameter).
* ``feedstock[market, region, source_region]`` — for refining markets whose material also has a mining
  market: the share of each region's ore supply coming from each source region (refiners in a region are
  assumed to share the region's ore mix).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from minsec.data import catalogue, countries
from minsec.data.loaders.parameters import point_value
from minsec.errors import InputError
from minsec.model.supply_chain import SupplyChain
from minsec.risk import io_model
from minsec.scenarios import chain as chain_links

TRADE_YEARS = 3


def latest_year(chain: SupplyChain) -> int:
    """The default baseline year: the newest year of the primary production source (USGS MCS; 2025 with MCS
    2026, its estimates)."""
    table = chain.production_table
    rows = table[(table["source"] == "usgs") & (table["measure"] == "production") & table["value"].notna()]
    return int(rows["year"].max())
UNNAMED_PRODUCERS = "OTH"
REST_OF_WORLD = "ROW"


def default_regions(chain: SupplyChain) -> tuple[str, ...]:
    """The partnership's members (groups stay whole, e.g. EU27), China, and the rest of the world."""
    members = list(chain.groups.definitions.get("partnership", {}).get("members", []))
    return (*members, "CHN", REST_OF_WORLD)


def region_map(chain: SupplyChain, regions: Iterable[str]) -> dict[str, str]:
    """ISO3 → region for every economy named in the data (economies not in a region map to ``ROW``)."""
    mapping: dict[str, str] = {}
    for region in regions:
        if region == REST_OF_WORLD:
            continue
        for member in chain.members(region):
            if member in mapping:
                raise InputError(f"{member} belongs to two regions ({mapping[member]} and {region})")
            mapping[member] = region
    return mapping


@dataclass(frozen=True)
class MarketBaseline:
    """Baseline supply, demand and capacity of every market; see the module docstring for the method."""

    supply: xr.DataArray
    spare: xr.DataArray
    feedstock: xr.DataArray
    price: xr.DataArray
    demand_basis: xr.DataArray
    trade_basis: xr.DataArray
    production_year: xr.DataArray
    regions: tuple[str, ...]
    region_of: dict[str, str]
    year: int
    notes: list[str] = field(default_factory=list)
    #: (downstream, upstream, weight) market links of the supply chain (:mod:`minsec.scenarios.chain`)
    links: tuple[tuple[str, str, float], ...] = ()

    @property
    def demand(self) -> xr.DataArray:
        """Apparent consumption, market × region (t/yr)."""
        return self.supply.sum("producer")

    @property
    def production(self) -> xr.DataArray:
        """Output, market × producer (t/yr)."""
        return self.supply.sum("region")

    @property
    def markets(self) -> list[str]:
        return [str(m) for m in self.supply.market.values]

    def producer_region(self) -> np.ndarray:
        """Region index of each producer (``OTH`` and unlisted economies are ``ROW``)."""
        index = {r: i for i, r in enumerate(self.regions)}
        return np.array([index[self.region_of.get(str(p), REST_OF_WORLD)] for p in self.supply.producer.values])

    def use_market(self, material: str, region: str) -> str | None:
        """The region's *use market* of a material: the most downstream of its markets in which the region buys
        (Japan's magnet makers buy Dy metal, the USA yttrium oxide); None where it buys none.  A region's shortage
        of a material counts once, there (the stockpile and the economic cost alike)."""
        own = sorted(self.market_ids(material), key=lambda m: catalogue.STAGES.index(m.rsplit(".", 1)[1]),
                     reverse=True)
        return next((m for m in own if float(self.demand.sel(market=m, region=region)) > 0), None)

    def market_ids(self, material: str, stage: str | None = None) -> list[str]:
        """Market labels of a material (all its stages unless ``stage`` is given)."""
        found = [m for m in self.markets if m.split(".")[0] == material and (stage is None or m.endswith(stage))]
        return found


def market_label(material: str, stage: str) -> str:
    return f"{material}.{stage}"


def _production(chain: SupplyChain, year: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Producer output per market for ``year`` (USGS first, WMD fallback), with ``OTH`` = world − named."""
    table = chain.production_table
    table = table[(table["measure"] == "production") & table["value"].notna() & (table["year"] <= year)]
    table = table.assign(economy=table["country"].map(countries.is_economy).astype(bool))
    rows, years = [], {}
    for (material, stage), group in table.groupby(["material", "stage"], sort=True):
        chosen = None
        for source in ("usgs", "wmd", "minsec"):  # minsec: rare-earth elements, NdPr oxide, magnets
            source_rows = group[group["source"] == source]
            named = source_rows[source_rows["economy"]]
            if named["value"].sum() > 0:
                latest = int(named.loc[named["value"] > 0, "year"].max())
                chosen = source_rows[source_rows["year"] == latest]
                break
        if chosen is None:
            continue
        label = market_label(str(material), str(stage))
        named = chosen[chosen["economy"]]
        out = named.groupby("country")["value"].sum()
        world = chosen.loc[chosen["country"] == countries.WORLD, "value"]
        if len(world) and float(world.iloc[0]) > out.sum():
            out[UNNAMED_PRODUCERS] = float(world.iloc[0]) - out.sum()
        years[label] = int(chosen["year"].iloc[0])
        rows.append(pd.DataFrame({"market": label, "producer": out.index, "production": out.to_numpy()}))
    return pd.concat(rows, ignore_index=True), years


def trade_window(chain: SupplyChain, year: int) -> list[int]:
    """The last :data:`TRADE_YEARS` years of trade up to ``year`` that the data hold (trade can end before
    production: BACI's last year is 2024 where MCS 2026 gives 2025)."""
    years = sorted(int(y) for y in chain.trade["year"].unique() if int(y) <= year)
    return years[-TRADE_YEARS:]


def _trade(chain: SupplyChain, year: int) -> pd.DataFrame:
    """Mean yearly flows over :func:`trade_window` in tonnes of the market basis, by material and stage (the
    mean over the years present, not a sum divided by years the data do not have)."""
    hs = catalogue.hs_codes().set_index("hs92")
    factor = hs["content_factor"].fillna(hs["typical_content_factor"])
    window = trade_window(chain, year)
    trade = chain.trade[chain.trade["year"].isin(window)]
    trade = trade[trade["hs92"].map(factor).notna() & trade["quantity_t"].notna()]
    trade = trade.assign(quantity=trade["quantity_t"] * trade["hs92"].map(factor))
    flows = trade.groupby(["material", "stage", "exporter", "importer"])["quantity"].sum() / max(len(window), 1)
    return flows.reset_index()


def _us_consumption(chain: SupplyChain, replacing: bool = False) -> pd.Series:
    """US apparent consumption per market from the salient statistics (latest year with a value); with
    ``replacing``, only the markets where it replaces trade (``replaces_trade``: the trade codes miss the stage
    the US buys — antimony oxide and metal, rare-earth compounds), else only the others."""
    out = {}
    table = catalogue.us_consumption()
    for row in table[(table["replaces_trade"] == "yes") == replacing].itertuples():  # "blind": as "no"
        values = chain.salient(row.material, row.field)
        if len(values):
            out[market_label(row.material, row.stage)] = float(values["value"].iloc[-1]) * row.to_t
    return pd.Series(out, dtype=float)


def published_consumption(chain: SupplyChain) -> dict[str, dict[str, tuple[float, str]]]:
    """market → region → (consumption t/yr, basis) from the sourced facts the catalogue's
    ``published_consumption.csv`` names (a range's midpoint; the fact's year and id in the basis)."""
    facts = chain.parameter_facts.set_index("record_id") if len(chain.parameter_facts) else None
    out: dict[str, dict[str, tuple[float, str]]] = {}
    for row in catalogue.published_consumption().itertuples():
        if facts is None or row.fact not in facts.index:
            continue
        fact = facts.loc[row.fact]
        value = point_value(fact)
        if not np.isfinite(value):
            continue
        year = "" if not np.isfinite(fact["year"]) else f" {int(fact['year'])}"
        out.setdefault(row.market, {})[row.region] = (
            float(value) * float(row.factor), f"published: {row.fact}{year} ({row.note})")
    return out


def reference_prices(chain: SupplyChain, year: int | None = None) -> pd.DataFrame:
    """Baseline price of each market in USD per tonne of the market basis, with its source.

    USGS salient prices: the latest year with a value (from the latest release reporting it, the same lookup as
    the price series of :mod:`minsec.markets.series`); Pink Sheet: the mean of ``year``'s monthly prices
    (default: :func:`latest_year`).
    """
    year = latest_year(chain) if year is None else int(year)
    pink = chain.prices
    rows = []
    for row in catalogue.reference_prices().itertuples():
        price, when = np.nan, None
        if row.source == "facts_ratio":
            from minsec.markets.series import facts_ratio

            price, when = facts_ratio(chain.parameter_facts, row.series)
        elif row.source == "usgs_salient":
            # "palladium/Price_Rhodium_dto": the field sits in another material's salient table
            owner, _, series = row.series.rpartition("/")
            values = chain.salient(owner or row.material, series)
            if len(values):
                price, when = float(values["value"].iloc[-1]), int(values["year"].iloc[-1])
        elif len(pink):
            monthly = pink[(pink["series"] == row.series) & (pd.to_datetime(pink["month"]).dt.year == year)]
            if len(monthly):
                price, when = float(monthly["price"].mean()), year
        rows.append({"market": market_label(row.material, row.stage), "usd_per_t": price * row.to_usd_per_t,
                     "source": f"{row.source}:{row.series}", "year": when, "note": row.note})
    return pd.DataFrame(rows)


def build_baseline(chain: SupplyChain, regions: Iterable[str] | None = None, year: int | None = None,
                   demand_overrides: pd.DataFrame | None = None) -> MarketBaseline:
    """Build the baseline market (see the module docstring) for ``year`` (default: :func:`latest_year`).

    ``demand_overrides``: optional table ``market, region, consumption_t`` replacing computed consumption of
    those regions (the producers' mix of the market is kept, the remainder stays with ``ROW``).
    """
    year = latest_year(chain) if year is None else int(year)
    regions = tuple(regions or default_regions(chain))
    if REST_OF_WORLD not in regions:
        regions = (*regions, REST_OF_WORLD)
    region_of = region_map(chain, regions)
    production, years = _production(chain, year)
    markets = sorted(production["market"].unique())
    producers = sorted(production["producer"].unique())
    region_index = {r: i for i, r in enumerate(regions)}
    producer_index = {p: i for i, p in enumerate(producers)}
    supply = np.zeros((len(markets), len(producers), len(regions)))
    demand_basis = np.full((len(markets), len(regions)), "trade", dtype=object)
    trade_basis = np.full(len(markets), "", dtype=object)
    flows = _trade(chain, year)
    sources = _DemandSources.of(chain, markets)
    notes, mix_markets = [], set()
    producer_region = np.array([region_index[region_of.get(str(p), REST_OF_WORLD)] for p in producers])
    for m, label in enumerate(markets):
        material, stage = label.split(".")
        output = production[production["market"] == label].set_index("producer")["production"]
        produced = np.zeros(len(producers))
        produced[[producer_index[p] for p in output.index]] = output.to_numpy(float)
        own, trade_basis[m] = _market_flows(flows, material, stage, years)
        if label in sources.blind:   # the only codes are of a stage no one buys at (antimony ore): no trade
            own, trade_basis[m] = own.iloc[0:0], ""
        if own.empty and label not in sources.derived:
            own, trade_basis[m] = _element_flows(flows, production, label)
        known = sources.known(label)
        if not own.empty:
            _supply_from_trade(supply[m], produced, own, region_of, producer_index, region_index, producer_region)
            if trade_basis[m].startswith("proxy"):
                _published_demand(supply[m], known, regions, demand_basis[m], trade_basis[m])
            elif label in sources.us_replacing and "USA" in regions:
                basis = "USGS apparent consumption (all forms; the trade codes miss the stage bought)"
                _published_demand(supply[m], {"USA": (sources.us_replacing[label], basis)}, regions,
                                  demand_basis[m], trade_basis[m], world_mix=True)
        else:
            trade_basis[m] = "none: market mix" + (" (trade codes of another stage)" if label in sources.blind
                                                   else "")
            shares, used = _mix_shares(known, float(output.sum()), regions, demand_basis[m],
                                       sources.estimates(label, regions, known))
            if not used:  # no published demand: the chain may say who buys (derived below)
                mix_markets.add(label)
            supply[m] += produced[:, None] * shares[None, :]
            notes.append(f"{label}: no bilateral trade data; regions buy the world production mix")

    notes += chain_links.derived_demand(supply, markets, producer_region, len(regions),
                                        region_index[REST_OF_WORLD], demand_basis, mix_markets)
    coords = {"market": markets, "producer": producers, "region": list(regions)}
    supply_array = xr.DataArray(supply, dims=("market", "producer", "region"), coords=coords,
                                attrs={"unit": "t/yr", "year": year})
    if demand_overrides is not None and len(demand_overrides):
        supply_array = _apply_demand_overrides(supply_array, demand_overrides, demand_basis)

    spare = _spare_capacity(chain, markets, producers, production, year)
    feedstock = _feedstock(supply_array, region_of, regions)
    prices = reference_prices(chain, year).drop_duplicates("market").set_index("market")["usd_per_t"]
    price = xr.DataArray(prices.reindex(markets).to_numpy(dtype=float), dims="market", coords={"market": markets},
                         attrs={"unit": "USD/t"})
    return MarketBaseline(
        supply=supply_array, spare=spare, feedstock=feedstock, price=price,
        demand_basis=xr.DataArray(demand_basis, dims=("market", "region"),
                                  coords={"market": markets, "region": list(regions)}),
        trade_basis=xr.DataArray(trade_basis, dims="market", coords={"market": markets}),
        production_year=xr.DataArray([years[m] for m in markets], dims="market", coords={"market": markets}),
        regions=regions, region_of=region_of, year=year, notes=notes, links=chain_links.links(markets))


@dataclass(frozen=True)
class _DemandSources:
    """What says a region's demand besides trade: USGS apparent consumption (``us``; ``us_replacing`` where it
    replaces trade of the wrong stage; ``blind`` markets whose trade codes are of a stage no one buys at),
    published facts, the markets whose buyers the chain derives, and world output shares for the estimate."""

    us: pd.Series
    us_replacing: pd.Series
    blind: set[str]
    published: dict[str, dict[str, tuple[float, str]]]
    derived: set[str]
    output_shares: pd.DataFrame

    @classmethod
    def of(cls, chain: SupplyChain, markets: list[str]) -> _DemandSources:
        table = catalogue.us_consumption()
        return cls(_us_consumption(chain), _us_consumption(chain, replacing=True),
                   {market_label(r.material, r.stage) for r in table[table["replaces_trade"] == "blind"].itertuples()},
                   published_consumption(chain), {u for _, u in chain_links.input_coefficients(markets)},
                   io_model.output_shares(chain.parameter_facts))

    def known(self, label: str) -> dict[str, tuple[float, str]]:
        """Published consumption of a market: region → (t/yr, basis)."""
        known = {"USA": (self.us[label], "USGS apparent consumption")} if label in self.us else {}
        known.update(self.published.get(label, {}))
        return known

    def estimates(self, label: str, regions: tuple[str, ...], known: dict) -> dict[str, tuple[float, str]]:
        """The last-resort estimate for the named regions without a published figure — except where the chain
        derives who buys the market (magnet makers' Dy metal)."""
        if label in self.derived:
            return {}
        material = label.split(".")[0]
        return {r: e for r in regions if r != REST_OF_WORLD and r not in known
                and (e := io_model.demand_share(material, r, self.output_shares)) is not None}


def _market_flows(flows: pd.DataFrame, material: str, stage: str, years: dict[str, int]
                  ) -> tuple[pd.DataFrame, str]:
    """The market's own trade flows and their basis; where its stage has no trade codes, the other stage's codes
    give the destinations (flagged a proxy) unless that stage is a market of its own."""
    own = flows[(flows["material"] == material) & (flows["stage"] == stage)]
    if not own.empty:
        return own, f"BACI {stage} codes"
    if stage not in ("mining", "refining"):
        return own, ""  # metal and manufactured products: no ore/refined proxy
    other_stage = "refining" if stage == "mining" else "mining"
    if market_label(material, other_stage) in years:
        return own.iloc[0:0], ""
    own = flows[(flows["material"] == material) & (flows["stage"] == other_stage)]
    return own, f"BACI {other_stage} codes (proxy)" if not own.empty else ""


def _element_flows(flows: pd.DataFrame, production: pd.DataFrame, label: str) -> tuple[pd.DataFrame, str]:
    """Flows of an element market without trade codes of its own (rare-earth oxides: HS 2846 and 2805.30 mix
    every element) from its parent's codes: each exporter's exports of the parent at the stage × the element's
    share of that exporter's output at the stage (its element mix, :mod:`minsec.data.rare_earth_chain`).
    Exporters that produce none of the element (re-exporters) drop out.  Empty where the material has no
    parent or the parent no trade at the stage."""
    material, stage = label.split(".")
    parent = catalogue.materials()["parent"].get(material, "")
    parent_flows = flows[(flows["material"] == parent) & (flows["stage"] == stage)] if parent else flows.iloc[0:0]
    if parent_flows.empty:
        return flows.iloc[0:0], ""
    siblings = production[production["market"].isin([f"{m}.{stage}" for m in catalogue.parts(parent)])]
    total = siblings.groupby("producer")["production"].sum()
    own = siblings[siblings["market"] == label].set_index("producer")["production"]
    share = (own / total.reindex(own.index)).where(total.reindex(own.index) > 0)
    scaled = parent_flows.assign(quantity=parent_flows["quantity"] * parent_flows["exporter"].map(share))
    scaled = scaled[scaled["quantity"] > 0]
    if scaled.empty:
        return flows.iloc[0:0], ""
    return scaled.assign(material=material), (f"proxy: {parent} {stage} codes × each exporter's {material} share "
                                              f"of its {stage} output")


def _published_demand(supply: np.ndarray, known: dict[str, tuple[float, str]], regions: tuple[str, ...],
                      demand_basis: np.ndarray, trade_basis: str, world_mix: bool = False) -> None:
    """One market's producer × region supply (in place) where trade is a proxy: a region with a published
    consumption (``known``: region → (t/yr, basis)) buys that much, with the producer mix of its proxy purchases
    (the market's mix where it has none, or with ``world_mix`` — the trade seen is of another stage, antimony
    ore for a buyer of oxide, whose makers use the world's ore); the rest of the world (``ROW``) gives or takes
    the difference, at most all it holds."""
    row = regions.index(REST_OF_WORLD)
    for r in range(len(regions)):
        demand_basis[r] = "remainder" if r == row else f"trade ({trade_basis})"
    output = supply.sum(axis=1)
    for region, (tonnes, basis) in known.items():
        if region not in regions or region == REST_OF_WORLD or not np.isfinite(tonnes):
            continue
        r = regions.index(region)
        current = supply[:, r].copy()
        mix = current / current.sum() if current.sum() > 0 and not world_mix else output / max(output.sum(), 1e-300)
        target = min(tonnes, current.sum() + supply[:, row].sum())
        supply[:, row] += current - target * mix
        supply[:, r] = target * mix
        # the rest of the world cannot give more of a producer's output than it buys: any excess is taken back
        # from the region (a published figure larger than the world outside the region can supply)
        short = np.minimum(supply[:, row], 0.0)
        supply[:, row] -= short
        supply[:, r] += short
        demand_basis[r] = basis


def _supply_from_trade(supply: np.ndarray, produced: np.ndarray, own: pd.DataFrame, region_of: dict[str, str],
                       producer_index: dict[str, int], region_index: dict[str, int], producer_region: np.ndarray
                       ) -> None:
    """Fill one market's producer × region supply (in place): each producer exports to other regions what
    BACI records, scaled down to at most its output; the rest stays in its own region."""
    def region(code: str) -> str:
        return region_of.get(code, REST_OF_WORLD)

    own = own.assign(importer_region=own["importer"].map(region), exporter_region=own["exporter"].map(region))
    own = own[own["importer_region"] != own["exporter_region"]]
    exports = own.groupby(["exporter", "importer_region"])["quantity"].sum()
    exporters = set(exports.index.get_level_values(0))
    for producer, p in producer_index.items():
        if produced[p] == 0 and producer not in exporters:
            continue
        if producer in exporters:
            to_regions = exports.loc[producer]
            scale = min(1.0, produced[p] / to_regions.sum()) if to_regions.sum() > 0 else 0.0
            for target, quantity in to_regions.items():
                supply[p, region_index[target]] += scale * quantity
        # what is not exported stays home; when exports take all of the output (scale 1), the remainder is 0
        # up to floating-point rounding, which must not show as a negative delivery (coal: 1e8 t ± 1e-8)
        supply[p, producer_region[p]] += max(produced[p] - supply[p].sum(), 0.0)


def _mix_shares(known: dict[str, tuple[float, str]], world: float, regions: tuple[str, ...],
                demand_basis: np.ndarray, estimates: dict[str, tuple[float, str]] | None = None
                ) -> tuple[np.ndarray, bool]:
    """Without bilateral trade, regions buy the world production mix: those with a published consumption
    (``known``: region → (t/yr, basis) — USGS apparent consumption for the USA, sourced facts in
    ``published_consumption.csv``) that much; the others their estimated share of world use (``estimates``:
    region → (share, basis), :func:`minsec.risk.io_model.demand_share`, flagged ``estimate``); the rest is ROW.
    ``demand_basis`` (one market's row) says which is which.  Published figures adding up to more than the world
    output are scaled down to it; estimates fill at most what the published figures leave.
    Returns the shares and whether any published figure or estimate was used."""
    shares = np.zeros(len(regions))
    used = False
    for region, (tonnes, basis) in known.items():
        if region in regions and region != REST_OF_WORLD and np.isfinite(tonnes) and world > 0:
            shares[regions.index(region)] = min(tonnes / world, 1.0)
            demand_basis[regions.index(region)] = basis
            used = True
    if shares.sum() > 1.0:
        shares /= shares.sum()
    estimated = np.zeros(len(regions))
    for region, (share, basis) in (estimates or {}).items():
        estimated[regions.index(region)] = share
        demand_basis[regions.index(region)] = basis
        used = True
    if estimated.sum() > 1.0 - shares.sum():
        estimated *= (1.0 - shares.sum()) / estimated.sum()
    shares += estimated
    shares[regions.index(REST_OF_WORLD)] += 1.0 - shares.sum()
    for r, name in enumerate(regions):
        if demand_basis[r] == "trade":
            demand_basis[r] = "unknown (pooled in ROW)" if name != REST_OF_WORLD else "remainder"
    return shares, used


def read_demand(table: str | Path | pd.DataFrame | None) -> pd.DataFrame | None:
    """A demand-override table ``market, region, consumption_t`` (CSV path or DataFrame); errors name the row
    and column.  None stays None."""
    if table is None:
        return None
    path = "demand table"
    if not isinstance(table, pd.DataFrame):
        path = str(table)
        try:
            table = pd.read_csv(table, dtype={"market": str, "region": str})
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: cannot read as CSV: {exc}") from None
    missing = [c for c in ("market", "region", "consumption_t") if c not in table.columns]
    if missing:
        raise InputError(f"{path}: missing columns {missing}")
    numbers = pd.to_numeric(table["consumption_t"], errors="coerce")
    bad = numbers.isna() | (numbers < 0)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0])
        raise InputError(f"{path}, row {row + 2}, column 'consumption_t': not a non-negative number "
                         f"({table['consumption_t'].iloc[row]!r})")
    return table.assign(consumption_t=numbers)


def _apply_demand_overrides(supply: xr.DataArray, overrides: pd.DataFrame,
                            demand_basis: np.ndarray) -> xr.DataArray:
    """Set region consumption to the given tonnes, buying the market's producer mix; ROW absorbs the rest."""
    supply = supply.copy()
    markets = list(supply.market.values)
    regions = list(supply.region.values)
    for row in overrides.itertuples():
        if row.market not in markets:
            raise InputError(f"demand override: unknown market {row.market!r}")
        if row.region not in regions or row.region == REST_OF_WORLD:
            raise InputError(f"demand override: region {row.region!r} is not one of {regions[:-1]}")
        m, r = markets.index(row.market), regions.index(row.region)
        output = supply.values[m].sum(axis=1)
        world = output.sum()
        current = supply.values[m, :, r].sum()
        target = float(row.consumption_t)
        if not 0 <= target <= world:
            raise InputError(f"demand override {row.market}/{row.region}: {target} t outside [0, world {world:.0f}]")
        mix = output / world
        freed = supply.values[m, :, r] - target * mix
        supply.values[m, :, r] = target * mix
        supply.values[m, :, regions.index(REST_OF_WORLD)] += freed
        if (supply.values[m, :, regions.index(REST_OF_WORLD)] < -1e-6 * world).any():
            raise InputError(f"demand override {row.market}/{row.region}: more than the rest of the world holds")
        demand_basis[m, r] = f"user table ({current:.0f} t computed)"
    return supply


def _spare_capacity(chain: SupplyChain, markets: list[str], producers: list[str], production: pd.DataFrame,
                    year: int) -> xr.DataArray:
    table = chain.capacity_table
    capacity = table[(table["source"] == "usgs") & table["value"].notna()
                     & (table["year"] <= year) & table["country"].map(countries.is_economy)]
    spare = np.full((len(markets), len(producers)), np.nan)
    for (material, stage), group in capacity.groupby(["material", "stage"]):
        label = market_label(str(material), str(stage))
        if label not in markets:
            continue
        latest = group[group["year"] == group["year"].max()].groupby("country")["value"].sum()
        output = production[production["market"] == label].set_index("producer")["production"]
        if latest.sum() > 3 * output.sum():
            continue  # e.g. titanium: the capacity series counts pigment as well as sponge
        m = markets.index(label)
        spare[m] = 0.0
        for country, cap in latest.items():
            if country in producers:
                spare[m, producers.index(country)] = max(0.0, cap - float(output.get(country, 0.0)))
    return xr.DataArray(spare, dims=("market", "producer"), coords={"market": markets, "producer": producers},
                        attrs={"unit": "t/yr", "note": "published capacity − production; NaN = not published"})


def _feedstock(supply: xr.DataArray, region_of: dict[str, str], regions: tuple[str, ...]) -> xr.DataArray:
    """Ore sourcing of each region (share by source region) for refining markets with a mining market."""
    markets = list(supply.market.values)
    shares = np.full((len(markets), len(regions), len(regions)), np.nan)
    producer_region = np.array([regions.index(region_of.get(str(p), REST_OF_WORLD)) for p in supply.producer.values])
    for m, label in enumerate(markets):
        material, stage = label.split(".")
        mining = market_label(material, "mining")
        if stage != "refining" or mining not in markets:
            continue
        flows = supply.values[markets.index(mining)]  # producer × region
        by_source = np.zeros((len(regions), len(regions)))  # source region × consuming region
        np.add.at(by_source, producer_region, flows)
        total = by_source.sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares[m] = np.where(total > 0, by_source / total, 0.0).T  # consuming region × source region
    return xr.DataArray(shares, dims=("market", "region", "source_region"),
                        coords={"market": markets, "region": list(regions), "source_region": list(regions)})
