"""The supply chain's links between markets (ore → refined product → metal → manufactured product) and the
regional demand they imply where no trade data show who buys.

``links(markets)`` — (downstream, upstream, weight): every material's refining market is fed by its mining
market and its metal market by its refining market (weight 1: all of the product needs the input), plus the
catalogue's ``chain_links.csv`` (NdFeB magnets from Nd, Pr, Dy and Tb metal, each with the share of the product's
output that needs the input and the input per tonne of product; and the oxide per tonne of each element's metal).

``derived_demand`` — without bilateral trade (rare-earth elements, magnets), the buyers of an upstream market
are the producers of its downstream markets: region *r* buys ``D_u[r] = Σ_d Q_d[r] · a_{u,d}`` (``Q_d[r]`` the
downstream output of producers in *r*, ``a`` the input per tonne: 1 for ore → separated oxide, the catalogue's
factor elsewhere, e.g. 1.1664 t Nd₂O₃ per t Nd metal), scaled
down where it would exceed the upstream output; the rest of the upstream output goes to other uses, pooled in
``ROW``.  Each region buys the world production mix (no bilateral data), the same convention as
:func:`minsec.scenarios.baseline._mix_shares`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from minsec.data import catalogue

#: the stage each stage's product is made from (same material)
FED_BY = {"refining": "mining", "metal": "refining"}


def links(markets: list[str]) -> tuple[tuple[str, str, float], ...]:
    """(downstream, upstream, weight) of every link whose two markets are in ``markets``."""
    present = set(markets)
    out = []
    for market in markets:
        material, stage = market.rsplit(".", 1)
        upstream = f"{material}.{FED_BY[stage]}" if stage in FED_BY else None
        if upstream in present:
            out.append((market, upstream, 1.0))
    for row in catalogue.chain_links().itertuples():
        if row.downstream in present and row.upstream in present:
            out.append((row.downstream, row.upstream, float(row.weight)))
    return tuple(out)


def split_markets(markets: list[str]) -> dict[int, np.ndarray]:
    """Market index → the indices of the markets that split its output: ``rare_earths.mining`` (t REO) → every
    rare-earth element's ``mining`` market (the element content of the same mines, t oxide).

    An event at a mine hits the REO and each of its elements at once: the element markets are parts of one
    output, not mines of their own (the ensemble samples mines once, on the REO market, and
    :func:`split_events` carries each event to the element markets)."""
    index = {m: i for i, m in enumerate(markets)}
    parents = catalogue.materials()["parent"]
    out: dict[int, list[int]] = {}
    for market in markets:
        material, stage = market.rsplit(".", 1)
        parent = parents.get(material, "")
        if stage == "mining" and parent and f"{parent}.mining" in index:
            out.setdefault(index[f"{parent}.mining"], []).append(index[market])
    return {k: np.array(v, dtype=np.int64) for k, v in out.items()}


def split_events(events, splits: dict[int, np.ndarray], supply: np.ndarray, leakage: np.ndarray | None = None):
    """``events`` (:class:`minsec.scenarios.engine.EventTable`) plus, for every event on a split market
    (:func:`split_markets`), the same event on each part where it has an effect (``supply``: market × producer ×
    region, t/yr): an outage where the producer produces the part, an export restriction where it ships the part
    to a region the restriction targets (China's ion-adsorption Dy is separated in China: a restriction of
    China's ore exports withholds none of it).  The parts' leakage is their own market's where ``leakage`` (by
    market) is given."""
    if not splits or not len(events):
        return events
    rows, markets = [], []
    for parent, parts in splits.items():
        hits = np.flatnonzero(events.market == parent)
        if not len(hits):
            continue
        flows = supply[parts][:, events.producer[hits], :]                     # parts × hits × regions
        reached = np.where(events.restriction[hits][:, None], events.targets[hits], True)   # hits × regions
        part, hit = np.nonzero((flows * reached[None]).sum(axis=2) > 0)
        rows.append(hits[hit])
        markets.append(parts[part])
    if not rows:
        return events
    extra, market = np.concatenate(rows), np.concatenate(markets)
    leak = leakage[market] if leakage is not None else events.leakage[extra]
    fields = {name: np.concatenate([getattr(events, name), getattr(events, name)[extra]])
              for name in ("scenario", "producer", "restriction", "fraction", "start", "duration", "targets")}
    return type(events)(market=np.concatenate([events.market, market]),
                        leakage=np.concatenate([events.leakage, leak]), **fields)


def input_coefficients(markets: list[str]) -> dict[tuple[str, str], float]:
    """(downstream, upstream) → tonnes of the upstream basis per tonne of downstream output."""
    present = set(markets)
    out = {(d, u): 1.0 for d, u, _ in links(markets)}
    for row in catalogue.chain_links().itertuples():
        if row.downstream in present and row.upstream in present:
            out[(row.downstream, row.upstream)] = float(row.input_t_per_t)
    return out


def derived_demand(supply: np.ndarray, markets: list[str], producer_region: np.ndarray, n_regions: int,
                   rest_of_world: int, demand_basis: np.ndarray, mix_markets: set[str]) -> list[str]:
    """Rebuild, in place, the supply matrix (market × producer × region) of every upstream market in
    ``mix_markets`` (no trade data) from the output of its downstream markets (module docstring); returns notes.
    ``demand_basis`` (market × region) records the basis of each region's demand."""
    notes = []
    index = {m: i for i, m in enumerate(markets)}
    coefficients = input_coefficients(markets)
    for upstream in markets:
        feeds = [(d, a) for (d, u), a in coefficients.items() if u == upstream]
        if upstream not in mix_markets or not feeds:
            continue
        u = index[upstream]
        produced = supply[u].sum(axis=1)
        world = produced.sum()
        if world <= 0:
            continue
        wanted = np.zeros(n_regions)
        for downstream, coefficient in feeds:
            by_region = np.bincount(producer_region, weights=supply[index[downstream]].sum(axis=1),
                                    minlength=n_regions)
            wanted += coefficient * by_region
        scale = min(1.0, world / wanted.sum()) if wanted.sum() > 0 else 0.0
        shares = wanted * scale / world
        shares[rest_of_world] += 1.0 - shares.sum()
        supply[u] = produced[:, None] * shares[None, :]
        for r in range(n_regions):
            if wanted[r] > 0:
                demand_basis[u, r] = "derived: " + ", ".join(d for d, _ in feeds) + " output in the region"
            elif r == rest_of_world:
                demand_basis[u, r] = "other uses and remainder"
            else:
                demand_basis[u, r] = "derived: no downstream output in the region"
        if scale < 1.0:
            notes.append(f"{upstream}: downstream needs {wanted.sum():,.0f} t/yr > output {world:,.0f} t/yr; "
                         f"buyers scaled by {scale:.2f}")
    return notes



def element_content(by_region: pd.DataFrame) -> pd.DataFrame:
    """Per region and input element of a manufactured product: the element a region goes short of directly (its
    own purchases of the element, at the most downstream stage it buys) and embedded in the product it cannot
    get (product shortfall × ``input_t_per_t``, :func:`minsec.data.catalogue.chain_links`), in tonnes of the
    upstream basis.

    Answers "how much Dy is the EU short of" for regions that buy Dy in magnets rather than as metal."""
    columns = ["region", "element", "direct_market", "direct_shortfall_t", "embedded_in", "embedded_shortfall_t",
               "total_shortfall_t", "basis"]
    if by_region.empty:
        return pd.DataFrame(columns=columns)
    short = by_region.set_index(["market", "region"])["shortfall_t"]
    rows = []
    for link in catalogue.chain_links().itertuples():
        if not link.upstream.endswith(".metal"):
            continue
        element = link.upstream.split(".")[0]
        for region in by_region["region"].unique():
            direct = short.get((link.upstream, region), np.nan)
            product = short.get((link.downstream, region), np.nan)
            if not (np.isfinite(direct) or np.isfinite(product)):
                continue
            embedded = product * link.input_t_per_t if np.isfinite(product) else np.nan
            rows.append({"region": region, "element": element, "direct_market": link.upstream,
                         "direct_shortfall_t": direct, "embedded_in": link.downstream,
                         "embedded_shortfall_t": embedded,
                         "total_shortfall_t": float(np.nansum([direct, embedded])),
                         "basis": f"t of metal; embedded = {link.downstream} shortfall × {link.input_t_per_t:g} t/t "
                                  f"({link.facts})"})
    return pd.DataFrame(rows, columns=columns)
