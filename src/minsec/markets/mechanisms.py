"""Price-support mechanisms as pure, vectorised functions of a price array (paths × settlement dates).

Each mechanism gives, per tonne and settlement date, the treasury's cash flow (positive = the payer pays,
negative = it receives) and the price the protected producer realises.  With ``P`` the market price at the
settlement date and ``q`` the volume settled then (the yearly volume split evenly over the dates):

* **Price floor as a contract for difference** (the DoD–MP Materials NdPr floor):
  ``flow = (K − P)⁺ − s·(P − C)⁺`` with floor ``K``, optional cap ``C`` above which the payer receives a share
  ``s`` of the upside; producer price ``P + flow``.                                                     (M1)
* **Offtake at a fixed price** (equivalently a two-way CfD): the buyer pays ``K`` and resells at ``P``:
  ``flow = K − P`` (negative when the market is above the strike); producer price ``K``.                (M2)
* **Price-gap subsidy** capped per tonne: ``flow = min((T − P)⁺, g)``; producer price ``P + flow``.      (M3)
* **Variable (border-adjusted) tariff** on imports from outside suppliers: duty ``(R − P)⁺`` per tonne,
  so ``flow = −(R − P)⁺`` (revenue), and partners' buyers see the landed price ``max(P, R)`` — the price a
  partner producer competing with those imports can sell at.                                            (M4)

Present value: ``PV = Σᵢ qᵢ e^{−r tᵢ} flowᵢ`` with a continuously compounded rate ``r``.

Under GBM every flow is a combination of European options on ``S_t`` (with real-world drift μ and discount
rate r): ``E[(K − S_t)⁺] = K N(−d₂) − F N(−d₁)``, ``E[(S_t − C)⁺] = F N(d₁) − C N(d₂)``, ``F = S₀e^{μt}``,
``d₁ = (ln(F/K) + σ²t/2)/(σ√t)``, ``d₂ = d₁ − σ√t`` (Black & Scholes 1973; with μ = r these are the
risk-neutral put and call values), so the floor's value is a sum of put values (M1), the capped gap
subsidy a put spread (M3), and the tariff's revenue a sum of puts (M4): :func:`analytic_pv`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from scipy import special

from minsec.markets.series import MarketInputError

SETTLEMENTS_PER_YEAR = {"monthly": 12, "quarterly": 4, "annual": 1}


@dataclass(frozen=True)
class Schedule:
    """Settlement dates ``t = 1/f, 2/f, …, years`` (``f`` settlements a year) and the volume at each."""

    years: int
    volume_per_year: float
    settlement: str = "monthly"

    def __post_init__(self) -> None:
        if self.settlement not in SETTLEMENTS_PER_YEAR:
            raise MarketInputError(f"settlement must be one of {', '.join(SETTLEMENTS_PER_YEAR)} "
                                   f"(got {self.settlement!r})")
        if not (isinstance(self.years, int | np.integer) and self.years >= 1):
            raise MarketInputError(f"tenor must be a whole number of years ≥ 1 (got {self.years})")
        if not (np.isfinite(self.volume_per_year) and self.volume_per_year >= 0):
            raise MarketInputError(f"volume must be a non-negative number of tonnes per year "
                                   f"(got {self.volume_per_year})")

    @property
    def per_year(self) -> int:
        return SETTLEMENTS_PER_YEAR[self.settlement]

    @property
    def n_steps(self) -> int:
        return self.years * self.per_year

    @property
    def dt(self) -> float:
        return 1.0 / self.per_year

    @property
    def times(self) -> np.ndarray:
        return np.arange(1, self.n_steps + 1) * self.dt

    @property
    def volume(self) -> float:
        """Tonnes settled at each date."""
        return self.volume_per_year / self.per_year


def _positive(name: str, value: float | None, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or not np.isfinite(value) or value < 0:
        raise MarketInputError(f"{name} must be a non-negative price in USD/t (got {value})")


@dataclass(frozen=True)
class PriceFloor:
    """(M1) contract-for-difference floor ``K`` with optional upside sharing ``s`` above a cap ``C``."""

    floor: float
    cap: float | None = None
    upside_share: float = 0.0
    name: ClassVar[str] = "price floor (CfD)"
    producer_sign: ClassVar[int] = 1     # producer price = P + sign · flow

    def __post_init__(self) -> None:
        _positive("floor", self.floor)
        _positive("cap", self.cap, allow_none=True)
        if not 0 <= self.upside_share <= 1:
            raise MarketInputError(f"upside share must be in [0, 1] (got {self.upside_share})")
        if self.upside_share > 0 and self.cap is None:
            raise MarketInputError("upside sharing needs a cap price above which it applies")
        if self.cap is not None and self.cap < self.floor:
            raise MarketInputError(f"cap {self.cap:g} is below the floor {self.floor:g}")

    def flow(self, price: np.ndarray) -> np.ndarray:
        out = np.subtract(self.floor, price)
        np.maximum(out, 0.0, out=out)
        if self.upside_share > 0:
            out -= self.upside_share * np.maximum(price - self.cap, 0.0)
        return out

    def revenue_floor(self) -> float | None:
        return self.floor


@dataclass(frozen=True)
class Offtake:
    """(M2) fixed-price offtake (two-way CfD) at ``strike``."""

    strike: float
    name: ClassVar[str] = "offtake (fixed price)"
    producer_sign: ClassVar[int] = 1

    def __post_init__(self) -> None:
        _positive("offtake price", self.strike)

    def flow(self, price: np.ndarray) -> np.ndarray:
        return self.strike - price

    def revenue_floor(self) -> float | None:
        return self.strike


@dataclass(frozen=True)
class PriceGapSubsidy:
    """(M3) pays the gap to a target price ``T``, at most ``max_per_t`` per tonne."""

    target: float
    max_per_t: float = np.inf
    name: ClassVar[str] = "price-gap subsidy"
    producer_sign: ClassVar[int] = 1

    def __post_init__(self) -> None:
        _positive("target price", self.target)
        if not self.max_per_t > 0:
            raise MarketInputError(f"the subsidy cap per tonne must be > 0 (got {self.max_per_t})")

    def flow(self, price: np.ndarray) -> np.ndarray:
        out = np.subtract(self.target, price)
        np.clip(out, 0.0, self.max_per_t, out=out)
        return out

    def revenue_floor(self) -> float | None:
        return self.target if np.isinf(self.max_per_t) else None


@dataclass(frozen=True)
class VariableTariff:
    """(M4) border adjustment to a reference price ``R`` on outside suppliers' imports."""

    reference: float
    name: ClassVar[str] = "variable tariff"
    producer_sign: ClassVar[int] = -1    # landed price P + duty = max(P, R)

    def __post_init__(self) -> None:
        _positive("reference price", self.reference)

    def flow(self, price: np.ndarray) -> np.ndarray:
        out = np.subtract(price, self.reference)
        np.minimum(out, 0.0, out=out)
        return out

    def revenue_floor(self) -> float | None:
        return self.reference


Mechanism = PriceFloor | Offtake | PriceGapSubsidy | VariableTariff


def discount_weights(schedule: Schedule, rate: float) -> np.ndarray:
    """``qᵢ e^{−r tᵢ}``: the PV of one USD per tonne at each settlement date."""
    return schedule.volume * np.exp(-rate * schedule.times)


# ---------------------------------------------------------------------------------------------- closed forms
def _norm_cdf(x: np.ndarray) -> np.ndarray:
    return special.ndtr(x)


def expected_put(forward: np.ndarray, strike: float, sigma: float, t: np.ndarray) -> np.ndarray:
    """``E[(K − S_t)⁺]`` for lognormal ``S_t`` with mean ``forward`` and log-volatility ``σ√t``."""
    if strike <= 0:
        return np.zeros_like(forward)
    s = sigma * np.sqrt(t)
    if sigma == 0:
        return np.maximum(strike - forward, 0.0)   # deterministic price: the intrinsic value
    d1 = (np.log(forward / strike) + 0.5 * s * s) / s
    return strike * _norm_cdf(-(d1 - s)) - forward * _norm_cdf(-d1)


def expected_call(forward: np.ndarray, strike: float, sigma: float, t: np.ndarray) -> np.ndarray:
    """``E[(S_t − C)⁺] = F − C + E[(C − S_t)⁺]`` (put–call parity)."""
    return forward - strike + expected_put(forward, strike, sigma, t)


def analytic_pv(mechanism: Mechanism, s0: float, mu: float, sigma: float, rate: float, schedule: Schedule,
                depression: np.ndarray | None = None) -> float:
    """Expected PV of the treasury's flows under GBM (see the module docstring); ``depression`` multiplies the
    forward at each date (the dumping regime)."""
    t = schedule.times
    forward = s0 * np.exp(mu * t) * (1.0 if depression is None else depression)
    if isinstance(mechanism, PriceFloor):
        per_t = expected_put(forward, mechanism.floor, sigma, t)
        if mechanism.upside_share > 0:
            per_t = per_t - mechanism.upside_share * expected_call(forward, mechanism.cap, sigma, t)
    elif isinstance(mechanism, Offtake):
        per_t = mechanism.strike - forward
    elif isinstance(mechanism, PriceGapSubsidy):
        per_t = expected_put(forward, mechanism.target, sigma, t)
        if np.isfinite(mechanism.max_per_t):
            per_t = per_t - expected_put(forward, mechanism.target - mechanism.max_per_t, sigma, t)
    else:
        per_t = -expected_put(forward, mechanism.reference, sigma, t)
    return float(per_t @ discount_weights(schedule, rate))
