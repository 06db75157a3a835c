"""The ranges a market-mechanism valuation accepts (``minsec markets floor|tariff``, ``sc.markets.floor``), each
with why: outside them a valuation is not refused by the mathematics but means nothing (a 500-year contract, a
volatility of 5,000 % a year).  :func:`problems` reports every invalid input at once, by its CLI option."""

from __future__ import annotations

import math
from collections.abc import Mapping

#: option → (lowest, highest, lowest excluded?)
RANGES: dict[str, tuple[float, float, bool]] = {
    "--floor": (0.0, 1e9, True),            # USD/t; the dearest traded minerals (rhodium) are ~3e8 USD/t
    "--reference": (0.0, 1e9, True),
    "--spot": (0.0, 1e9, True),
    "--long-run-price": (0.0, 1e9, True),
    "--cap": (0.0, 1e9, True),
    "--gap-cap": (0.0, 1e9, True),
    "--volume": (0.0, 1e9, False),          # t per year; world output of the largest market in scope (copper) ~2.3e7
    "--years": (1, 40, False),              # contracts for difference run 10-20 years; 40 covers a mine's life
    "--drift": (-1.0, 1.0, False),          # per year: ±100 %
    "--vol": (0.0, 5.0, False),             # per √year; minor metals show 0.3-1.5
    "--kappa": (0.0, 50.0, False),          # mean reversion per year (half-life ≥ 5 days)
    "--jump-rate": (0.0, 50.0, False),      # jumps per year
    "--jump-mean": (-5.0, 5.0, False),      # mean log jump
    "--jump-vol": (0.0, 5.0, False),
    "--rate": (-0.1, 0.5, False),           # continuously compounded discount rate
    "--paths": (100, 2_000_000, False),     # under 100 the standard errors are meaningless; 2 M fits in memory
    "--upside-share": (0.0, 1.0, False),
    "--unit-cost": (0.0, 1e9, False),
    "--debt-service": (0.0, 1e13, False),
}
#: a Monte Carlo value further than this many standard errors from its closed form is a failed check
MAX_GAP_IN_SE = 5.0


def problems(values: Mapping[str, float | int | None], missing: list[str] | None = None) -> list[str]:
    """Every given value outside its range (``values``: option → value, None = not given), after the
    ``missing`` options, as messages naming the option and its range."""
    out = [f"missing {option}" for option in (missing or [])]
    for option, value in values.items():
        if value is None or option not in RANGES:
            continue
        low, high, open_low = RANGES[option]
        number = float(value)
        inside = math.isfinite(number) and (number > low if open_low else number >= low) and number <= high
        if not inside:
            shown = f"{number:g}" if math.isfinite(number) else str(number)
            out.append(f"{option} {shown} is outside {'(' if open_low else '['}{low:g}, {high:g}]")
    return out


def failed_checks(rows: list[dict]) -> list[str]:
    """Mechanisms whose Monte Carlo value lies more than :data:`MAX_GAP_IN_SE` standard errors from the closed
    form (a bug, or paths too few for the tail): the built-in check of every valuation."""
    return [f"{row['mechanism']}: Monte Carlo {row['mc_minus_analytic_in_se']:+.1f} standard errors from the closed "
            f"form (more than {MAX_GAP_IN_SE:g})" for row in rows
            if row.get("mc_minus_analytic_in_se") is not None
            and abs(float(row["mc_minus_analytic_in_se"])) > MAX_GAP_IN_SE]
