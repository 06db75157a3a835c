"""Stochastic price models, calibrated by maximum likelihood and simulated on a regular settlement grid.

* **Geometric Brownian motion** ``dS = μ S dt + σ S dW``.  Log returns over an interval Δ are
  ``N((μ − σ²/2)Δ, σ²Δ)``; with irregular spacing the likelihood still has a closed-form maximum
  (``m̂ = Σr / ΣΔ``, ``σ̂² = (1/n) Σ (r − m̂Δ)² / Δ``, ``μ̂ = m̂ + σ̂²/2``).
* **Mean-reverting log price with jumps** (Ornstein–Uhlenbeck in ``x = ln S`` plus compound-Poisson jumps):
  ``dx = κ(θ − x) dt + σ dW + J dN``, ``N`` Poisson with rate λ per year, ``J ~ N(μ_J, σ_J²)``.  The exact
  OU transition over Δ is ``x' = θ + (x − θ)e^{−κΔ} + ε``, ``ε ~ N(0, v)``, ``v = σ²(1 − e^{−2κΔ})/(2κ)``;
  the jumps of the interval are added to ε undamped (exact as Δ → 0), so the transition density is the
  Poisson mixture of Press (1967) / Ball & Torous (1983):
  ``Σₖ e^{−λΔ}(λΔ)ᵏ/k! · N(ε; kμ_J, v + kσ_J²)``, summed to k = 4.  Maximum likelihood by L-BFGS-B over
  (ln κ, θ, ln σ, ln λ, μ_J, ln σ_J) from several starts; standard errors from the numerical Hessian
  (delta method back to natural units).
* **Dumping regime**: a sustained price depression — prices are ``(1 − depth)`` times what the model
  gives from ``start`` for ``duration`` years (outside suppliers flooding the market), then the model's
  path resumes.

Simulation draws are generated per chunk of paths from independent streams of one ``SeedSequence``, so a
run is reproducible from its seed and chunk size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar

import numpy as np
from scipy import optimize, signal, special

from minsec.markets.series import MarketInputError, PriceSeries

#: jumps per observation interval the likelihood sums over (the Poisson tail beyond is negligible for λΔ < 0.5)
MAX_JUMPS_PER_STEP = 4
#: minimum number of prices each model needs to be calibrated (returns = prices − 1)
MIN_POINTS = {"gbm": 3, "ou": 8, "ou-jump": 24}


def _check_points(series: PriceSeries, model: str) -> None:
    needed = MIN_POINTS[model]
    if len(series.prices) < needed:
        raise MarketInputError(
            f"{series.label}: {len(series.prices)} price(s) are too few to calibrate the {model} model; it needs "
            f"at least {needed}" + (" (annual USGS series have ~6 points: use gbm, a monthly series or your own "
                                    "CSV)" if model != "gbm" else ""))


@dataclass(frozen=True)
class DumpingRegime:
    """A sustained price depression: prices × (1 − depth) during [start, start + duration) years."""

    start_years: float = 0.0
    duration_years: float = 2.0
    depth: float = 0.3

    def __post_init__(self) -> None:
        if not 0 <= self.depth < 1:
            raise MarketInputError(f"dumping depth must be in [0, 1) (got {self.depth})")
        if self.start_years < 0 or self.duration_years <= 0:
            raise MarketInputError("dumping start must be ≥ 0 and duration > 0 years")

    def factor(self, times: np.ndarray) -> np.ndarray:
        inside = (times >= self.start_years) & (times < self.start_years + self.duration_years)
        return np.where(inside, 1.0 - self.depth, 1.0)


@dataclass(frozen=True)
class Calibration:
    """Fitted parameters with standard errors, log-likelihood and AIC, and what they were fitted on."""

    model: str
    params: dict[str, float]
    std_errors: dict[str, float]
    log_likelihood: float
    n_points: int
    source: str
    first: str
    last: str
    frequency: str
    last_price: float

    @property
    def aic(self) -> float:
        return 2 * len(self.params) - 2 * self.log_likelihood

    def not_identified(self) -> list[str]:
        """Parameters the series does not pin down: a standard error that is missing, infinite or larger than
        the estimate itself (the estimate is then indistinguishable from zero, or from anything)."""
        out = []
        for name, value in self.params.items():
            error = self.std_errors.get(name)
            if error is None or not np.isfinite(error) or error > abs(value):
                out.append(name)
        return out


@dataclass(frozen=True)
class GBM:
    """Geometric Brownian motion with real-world drift ``mu`` and volatility ``sigma`` (per year)."""

    mu: float
    sigma: float
    name: ClassVar[str] = "gbm"

    def __post_init__(self) -> None:
        if not np.isfinite(self.mu):
            raise MarketInputError(f"drift must be a finite number (got {self.mu})")
        if not (np.isfinite(self.sigma) and self.sigma >= 0):
            raise MarketInputError(f"volatility must be ≥ 0 for the gbm model (got {self.sigma}); 0 gives the "
                                   "deterministic path S₀e^{μt}")

    def draws(self, rng: np.random.Generator, n_paths: int, n_steps: int, dt: float) -> dict[str, np.ndarray]:
        return {"z": rng.standard_normal((n_paths, n_steps))}

    def paths(self, s0: float, dt: float, draws: dict[str, np.ndarray]) -> np.ndarray:
        """Prices at t = dt, 2dt, …: ``S₀ exp(Σ ((μ − σ²/2)dt + σ√dt Z))`` (exact)."""
        increments = draws["z"] * (self.sigma * np.sqrt(dt))
        increments += (self.mu - 0.5 * self.sigma**2) * dt
        np.cumsum(increments, axis=1, out=increments)
        np.exp(increments, out=increments)
        increments *= s0
        return increments

    def describe(self) -> dict[str, float]:
        return {"mu": self.mu, "sigma": self.sigma}


@dataclass(frozen=True)
class OUJump:
    """Mean-reverting log price with jumps; ``long_run_price = e^θ``; ``jump_rate`` 0 gives a plain OU."""

    kappa: float
    long_run_price: float
    sigma: float
    jump_rate: float = 0.0
    jump_mean: float = 0.0
    jump_sigma: float = 0.0
    name: ClassVar[str] = "ou-jump"

    def __post_init__(self) -> None:
        checks = {"kappa (mean-reversion speed)": self.kappa, "long-run price": self.long_run_price}
        for label, value in checks.items():
            if not (np.isfinite(value) and value > 0):
                raise MarketInputError(f"{label} must be > 0 for the ou-jump model (got {value})")
        if not (np.isfinite(self.sigma) and self.sigma >= 0):
            raise MarketInputError(f"volatility must be ≥ 0 for the ou-jump model (got {self.sigma})")
        if self.jump_rate < 0 or self.jump_sigma < 0:
            raise MarketInputError("jump rate and jump volatility must be ≥ 0")

    def draws(self, rng: np.random.Generator, n_paths: int, n_steps: int, dt: float) -> dict[str, np.ndarray]:
        out = {"z": rng.standard_normal((n_paths, n_steps))}
        if self.jump_rate > 0:
            counts = rng.poisson(self.jump_rate * dt, (n_paths, n_steps))
            jumps = np.zeros((n_paths, n_steps))
            hit = counts > 0
            k = counts[hit]
            jumps[hit] = k * self.jump_mean + np.sqrt(k) * self.jump_sigma * rng.standard_normal(len(k))
            out["jumps"] = jumps
        return out

    def paths(self, s0: float, dt: float, draws: dict[str, np.ndarray]) -> np.ndarray:
        """Exact OU transition per step (an AR(1) filter over time, vectorised over paths) plus jumps."""
        a = np.exp(-self.kappa * dt)
        sd = self.sigma * np.sqrt((1 - a * a) / (2 * self.kappa))
        shocks = draws["z"] * sd
        if "jumps" in draws:
            shocks += draws["jumps"]
        theta = np.log(self.long_run_price)
        start = np.full((shocks.shape[0], 1), a * (np.log(s0) - theta))
        deviation, _ = signal.lfilter([1.0], [1.0, -a], shocks, axis=1, zi=start)
        deviation += theta
        return np.exp(deviation, out=deviation)

    def describe(self) -> dict[str, float]:
        return asdict(self)


PriceModel = GBM | OUJump


# ------------------------------------------------------------------------------------------------ calibration
def fit_gbm(series: PriceSeries) -> Calibration:
    """Closed-form MLE of GBM from log returns over (possibly irregular) intervals; see the module docstring."""
    _check_points(series, "gbm")
    r, dt = np.diff(np.log(series.prices)), np.diff(series.times)
    n = len(r)
    m = r.sum() / dt.sum()
    var = float(np.mean((r - m * dt) ** 2 / dt))
    if var <= 0:
        raise MarketInputError(f"{series.label}: prices move at a constant rate; volatility is zero")
    sigma = np.sqrt(var)
    loglik = float(-0.5 * np.sum(np.log(2 * np.pi * var * dt) + (r - m * dt) ** 2 / (var * dt)))
    se_m, se_sigma = sigma / np.sqrt(dt.sum()), sigma / np.sqrt(2 * n)
    se_mu = float(np.sqrt(se_m**2 + (sigma * se_sigma) ** 2))
    return _calibration("gbm", {"mu": float(m + var / 2), "sigma": float(sigma)},
                        {"mu": se_mu, "sigma": float(se_sigma)}, loglik, series)


def _ou_negloglik(z: np.ndarray, x: np.ndarray, dt: np.ndarray, jumps: bool) -> float:
    kappa, theta, sigma = np.exp(z[0]), z[1], np.exp(z[2])
    a = np.exp(-kappa * dt)
    v = sigma**2 * -np.expm1(-2 * kappa * dt) / (2 * kappa)
    e = x[1:] - theta - (x[:-1] - theta) * a
    diffusion = -0.5 * (np.log(2 * np.pi * v) + e**2 / v)
    if not jumps:
        return float(-diffusion.sum())
    rate, mu_j, sd_j = np.exp(z[3]), z[4], np.exp(z[5])
    k = np.arange(MAX_JUMPS_PER_STEP + 1)[:, None]
    log_poisson = k * np.log(rate * dt) - rate * dt - special.gammaln(k + 1)
    w = v + k * sd_j**2
    terms = log_poisson - 0.5 * (np.log(2 * np.pi * w) + (e - k * mu_j) ** 2 / w)
    return float(-special.logsumexp(terms, axis=0).sum())


def _hessian(f, z: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``z``."""
    k = len(z)
    h = np.zeros((k, k))
    eye = np.eye(k) * step
    for i in range(k):
        for j in range(i, k):
            h[i, j] = h[j, i] = (f(z + eye[i] + eye[j]) - f(z + eye[i] - eye[j]) - f(z - eye[i] + eye[j])
                                 + f(z - eye[i] - eye[j])) / (4 * step * step)
    return h


def fit_ou(series: PriceSeries, jumps: bool = True) -> Calibration:
    """MLE of the mean-reverting log-price model (with jumps unless ``jumps=False``); see the module docstring."""
    name = "ou-jump" if jumps else "ou"
    _check_points(series, name)
    x, dt = np.log(series.prices), np.diff(series.times)
    step = float(np.median(dt))
    # AR(1) least squares on the (near-)regular grid for a starting point
    slope, intercept = np.polyfit(x[:-1], x[1:], 1)
    b = float(np.clip(slope, 0.05, 0.999))
    kappa0 = -np.log(b) / step
    theta0 = float(intercept / (1 - slope)) if slope < 0.999 else float(x.mean())
    theta0 = float(np.clip(theta0, x.min() - 1, x.max() + 1))
    resid = x[1:] - intercept - slope * x[:-1]
    sigma0 = float(np.std(resid) / np.sqrt(step)) or 0.1
    bounds = [(np.log(1e-3), np.log(50.0)), (x.min() - 3, x.max() + 3), (np.log(1e-4), np.log(10.0))]
    starts = [np.array([np.log(kappa0), theta0, np.log(sigma0)])]
    if jumps:
        bounds += [(np.log(1e-3), np.log(0.5 / step)), (-3.0, 3.0), (np.log(1e-3), np.log(3.0))]
        sd = float(np.std(resid))
        starts = [np.r_[starts[0][:2], np.log(sigma0 * f), np.log(rate), mean, np.log(3 * sd)]
                  for f in (0.6, 0.9) for rate in (0.5, 2.0) for mean in (0.0, -sd)]

    def objective(z: np.ndarray) -> float:
        return _ou_negloglik(z, x, dt, jumps)

    best = None
    for start in starts:
        start = np.clip(start, [lo for lo, _ in bounds], [hi for _, hi in bounds])
        result = optimize.minimize(objective, start, method="L-BFGS-B", bounds=bounds)
        if np.isfinite(result.fun) and (best is None or result.fun < best.fun):
            best = result
    if best is None:
        raise MarketInputError(f"{series.label}: the {name} likelihood could not be maximised")
    z = best.x
    natural = {"kappa": np.exp(z[0]), "long_run_price": np.exp(z[1]), "sigma": np.exp(z[2])}
    if jumps:
        natural |= {"jump_rate": np.exp(z[3]), "jump_mean": z[4], "jump_sigma": np.exp(z[5])}
    # delta method: d natural / d z is the natural value for log-parameters, 1 for jump_mean
    gradient = np.array([v if k != "jump_mean" else 1.0 for k, v in natural.items()])
    try:
        covariance = np.linalg.inv(_hessian(objective, z))
        se = np.sqrt(np.clip(np.diag(covariance), 0, None)) * np.abs(gradient)
        se = np.where(np.isfinite(se), se, np.nan)
    except np.linalg.LinAlgError:
        se = np.full(len(z), np.nan)
    return _calibration(name, {k: float(v) for k, v in natural.items()},
                        {k: float(s) for k, s in zip(natural, se, strict=True)}, float(-best.fun), series)


def _calibration(name: str, params: dict, se: dict, loglik: float, series: PriceSeries) -> Calibration:
    return Calibration(name, params, se, loglik, len(series.prices), series.source, str(series.dates[0]),
                       str(series.dates[-1]), series.frequency, float(series.prices[-1]))


def calibrate(series: PriceSeries, model: str) -> Calibration:
    if model == "gbm":
        return fit_gbm(series)
    if model in ("ou", "ou-jump"):
        return fit_ou(series, jumps=model == "ou-jump")
    raise MarketInputError(f"unknown price model {model!r}; use gbm, ou or ou-jump")


def model_from(calibration: Calibration) -> PriceModel:
    p = calibration.params
    if calibration.model == "gbm":
        return GBM(p["mu"], p["sigma"])
    return OUJump(p["kappa"], p["long_run_price"], p["sigma"], p.get("jump_rate", 0.0), p.get("jump_mean", 0.0),
                  p.get("jump_sigma", 0.0))
