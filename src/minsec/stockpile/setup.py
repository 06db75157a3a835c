"""Assemble a :class:`StockpileProblem` from the bundled data, an ensemble or a user's files."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from minsec.stockpile.inputs import (
    ALL_PARTIES,
    JOINT,
    MaterialFacts,
    ShortfallSample,
    StockpileInputError,
    canonical_party,
    material_facts,
)
from minsec.stockpile.model import (
    DEFAULT_HOLDING_COST_RATE,
    DEFAULT_HORIZON_YEARS,
    DEFAULT_MAX_MARKET_SHARE,
    StockpileProblem,
)

DEFAULT_HOLDERS = ("USA", "EU27", JOINT)


@dataclass
class PreparedProblem:
    problem: StockpileProblem
    facts: MaterialFacts
    warnings: list[str] = field(default_factory=list)


def parse_holders(text: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    items = text.split(",") if isinstance(text, str) else list(text)
    holders = tuple(canonical_party(h) if h.strip().lower() != JOINT else JOINT for h in items if h.strip())
    if not holders:
        raise StockpileInputError("--holders: give at least one holder (e.g. US,EU,joint)")
    return holders


def prepare_problem(context, sample: ShortfallSample, budget: float, holders: tuple[str, ...],
                    prices: pd.Series | None = None, losses: pd.Series | None = None, *,
                    cvar_alpha: float | None = None, cvar_weight: float = 1.0,
                    holding_cost_rate: float = DEFAULT_HOLDING_COST_RATE,
                    horizon_years: float = DEFAULT_HORIZON_YEARS,
                    max_market_share: float = DEFAULT_MAX_MARKET_SHARE, sharing: str = "need",
                    min_days: float = 0.0, drop_unpriced: bool = False) -> PreparedProblem:
    """Bundled prices/losses/supply for the sample's materials, overridden by the user's, then the problem.

    With ``drop_unpriced`` (ensemble input) materials the bundled data cannot price are left out with a
    warning; for a user's scenario table a missing price is an error.
    """
    national = [h for h in holders if h != JOINT]
    if sample.parties == (ALL_PARTIES,) and national:
        raise StockpileInputError(f"the scenario table has no 'holder' column, so its shortfalls are pooled: "
                                  f"national holders {national} cannot be told apart; use --holders {JOINT}")
    members = tuple(p for p in sample.parties if not national or p in national) \
        if JOINT in holders else None
    facts = material_facts(context, list(sample.materials), list(sample.parties), list(members or national))
    price = facts.price_usd_per_t.copy()
    loss = facts.loss_usd_per_t.copy()
    if prices is not None:
        price = prices.combine_first(price)
        if losses is None:  # a user's price also rescales the default loss of that material
            multiplier = (facts.loss_usd_per_t / facts.price_usd_per_t).dropna()
            factor = float(multiplier.iloc[0]) if len(multiplier) else np.nan
            loss = (prices * factor).combine_first(loss) if np.isfinite(factor) else loss
    if losses is not None:
        loss = losses.combine_first(loss)
    warnings = []
    if drop_unpriced:
        unpriced = [m for m in sample.materials if not np.isfinite(price.get(m, np.nan))
                    or not np.isfinite(loss.get(m, np.nan))]
        if unpriced:
            keep = [m for m in sample.materials if m not in unpriced]
            sample = sample.select(keep)
            warnings.append(f"left out (no bundled price; pass --prices to include): {', '.join(unpriced)}")
    minimum = None
    if min_days < 0:
        raise StockpileInputError("--min-days must not be negative")
    if min_days > 0:
        use = facts.consumption_t.reindex(columns=[JOINT if h == JOINT else h for h in holders])
        use.columns = list(holders)
        minimum = (use.fillna(0.0) * min_days / 365.25)
        minimum = minimum.loc[[m for m in minimum.index if m in sample.materials]]
    problem = StockpileProblem(sample=sample, price=price, loss=loss, budget=budget, holders=holders,
                               world_supply=facts.world_supply_t, max_market_share=max_market_share,
                               holding_cost_rate=holding_cost_rate, horizon_years=horizon_years,
                               minimum=minimum, cvar_alpha=cvar_alpha, cvar_weight=cvar_weight,
                               sharing=sharing, joint_members=members)  # type: ignore[arg-type]
    return PreparedProblem(problem, facts, warnings)
