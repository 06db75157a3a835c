"""``minsec markets …``: price floors, variable tariffs, reference prices, price models, dumping surveillance."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli import Format, FormatOption, State, _run, emit

markets_app = typer.Typer(help="Market mechanisms: price floors (CfD), tariffs, reference prices, price models, "
                               "dumping and surge surveillance.", no_args_is_help=True)

MaterialOption = Annotated[str | None, typer.Option(
    "--material", help="Material whose bundled price series calibrates the model (see `minsec markets "
                       "calibrate`).")]
PricesFileOption = Annotated[Path | None, typer.Option(
    "--prices", help="Your price series, CSV 'date,price' in USD/t (optional 'material' column).")]
SinceOption = Annotated[int | None, typer.Option("--since", help="Calibrate on prices from this year on.")]
ModelOption = Annotated[str, typer.Option("--model", help="Price model: gbm or ou-jump.")]
SpotOption = Annotated[float | None, typer.Option("--spot", help="Price today, USD/t (default: last price).")]
DriftOption = Annotated[float | None, typer.Option("--drift", help="GBM drift μ per year (real world).")]
VolOption = Annotated[float | None, typer.Option("--vol", help="Volatility σ per √year.")]
KappaOption = Annotated[float | None, typer.Option("--kappa", help="ou-jump: mean-reversion speed per year.")]
LongRunOption = Annotated[float | None, typer.Option("--long-run-price", help="ou-jump: long-run price, USD/t.")]
JumpRateOption = Annotated[float | None, typer.Option("--jump-rate", help="ou-jump: jumps per year.")]
JumpMeanOption = Annotated[float | None, typer.Option("--jump-mean", help="ou-jump: mean log jump.")]
JumpVolOption = Annotated[float | None, typer.Option("--jump-vol", help="ou-jump: s.d. of log jumps.")]
RateOption = Annotated[float | None, typer.Option("--rate", help="Discount rate, continuously compounded "
                                                                "(default 0.04).")]
SettlementOption = Annotated[str | None, typer.Option("--settlement", help="monthly, quarterly or annual.")]
PathsOption = Annotated[int, typer.Option("--paths", help="Monte Carlo price paths.")]
SeedOption = Annotated[int, typer.Option("--seed", help="Random seed.")]
YearsOption = Annotated[int | None, typer.Option("--years", help="Tenor in years.")]
DumpingOption = Annotated[str | None, typer.Option(
    "--dumping", help="Dumping regime START:DURATION:DEPTH in years and share, e.g. 1:3:0.4 (prices 40 %% lower "
                      "from year 1 for 3 years).")]
UnitCostOption = Annotated[float, typer.Option("--unit-cost", help="Producer's operating cost, USD/t.")]
DebtOption = Annotated[float, typer.Option("--debt-service", help="Producer's debt service, USD per year.")]

DEFAULT_RATE = 0.04


def _example(name: str | None) -> dict:
    if name is None:
        return {}
    import yaml

    path = Path(__file__).resolve().parent.parent / "markets" / "examples" / f"{name.replace('-', '_')}.yaml"
    if not path.exists():
        available = sorted(p.stem.replace("_", "-") for p in path.parent.glob("*.yaml"))
        raise ValueError(f"unknown example {name!r}; available: {', '.join(available)}")
    return yaml.safe_load(path.read_text())


def _series(material: str | None, prices: Path | None, since: int | None):
    from minsec.data.dataset import load
    from minsec.markets.series import material_series, read_price_csv

    if prices is not None:
        return read_price_csv(prices, material).since(since)
    if material is None:
        return None
    dataset = load(State.data, tables=("prices", "us_salient"))
    return material_series(material, dataset["prices"], dataset["us_salient"]).since(since)


def _model(model: str, series, spot, drift, vol, kappa, long_run, jump_rate, jump_mean, jump_vol):
    """The price model and spot price: given parameters are used as they are; missing ones are calibrated."""
    from minsec.markets.price_models import GBM, OUJump, calibrate

    if model not in ("gbm", "ou-jump"):
        raise ValueError(f"--model must be gbm or ou-jump (got {model!r})")
    given = {"gbm": {"mu": drift, "sigma": vol},
             "ou-jump": {"kappa": kappa, "long_run_price": long_run, "sigma": vol, "jump_rate": jump_rate,
                         "jump_mean": jump_mean, "jump_sigma": jump_vol}}[model]
    required = ("mu", "sigma") if model == "gbm" else ("kappa", "long_run_price", "sigma")
    calibration = None
    if any(given[k] is None for k in required):
        if series is None:
            missing = ", ".join(k for k in required if given[k] is None)
            raise ValueError(f"{model} needs {missing}: give them as options or a --material/--prices series to "
                             "calibrate on")
        calibration = calibrate(series, model)
    params = {k: (v if v is not None else (calibration.params[k] if calibration else 0.0)) for k, v in given.items()}
    built = GBM(params["mu"], params["sigma"]) if model == "gbm" else OUJump(**params)
    if spot is None:
        if series is None:
            raise ValueError("give --spot (USD/t) or a --material/--prices series whose last price is the spot")
        spot = float(series.prices[-1])
    return built, float(spot), calibration


def _regime(text: str | None):
    from minsec.markets.price_models import DumpingRegime

    if not text:
        return None
    try:
        start, duration, depth = (float(v) for v in text.split(":"))
    except ValueError:
        raise ValueError(f"--dumping {text!r}: expected START:DURATION:DEPTH, e.g. 1:3:0.4") from None
    return DumpingRegime(start, duration, depth)


def _inputs(model, spot: float, calibration, rate: float, schedule, paths: int, seed: int, regime,
            sources: dict) -> dict:
    out = {"model": model.name, **{f"param_{k}": v for k, v in model.describe().items()},
           "spot_usd_per_t": spot, "rate": rate, "settlement": schedule.settlement, "years": schedule.years,
           "volume_t_per_year": schedule.volume_per_year, "paths": paths, "seed": seed,
           "dumping_regime": (f"×{1 - regime.depth:g} from year {regime.start_years:g} for "
                              f"{regime.duration_years:g} years") if regime else None}
    if calibration is not None:
        out |= {"calibrated_on": calibration.source, "calibration_points": calibration.n_points,
                "calibration_period": f"{calibration.first} … {calibration.last}",
                **{f"std_error_{k}": v for k, v in calibration.std_errors.items()}}
    return out | sources


def _show(records: list[dict], inputs: dict, fmt: Format, title: str) -> None:
    import json
    import sys

    import numpy as np
    import pandas as pd

    rows = [r | inputs for r in records]
    if fmt is Format.json:
        clean = [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                 for r in rows]
        sys.stdout.write(json.dumps(clean, indent=1, default=str) + "\n")
    elif fmt is Format.csv:
        emit(pd.DataFrame(rows), fmt)
    else:
        frame = pd.DataFrame(records).set_index("mechanism").T.reset_index(names="figure")
        emit(frame, fmt, title)
        emit(pd.DataFrame({"input": list(inputs), "value": [str(v) for v in inputs.values()]}), fmt, "Inputs")


@markets_app.command("floor")
def markets_floor(
    floor: Annotated[float | None, typer.Option("--floor", help="Floor price, USD/t (US$110/kg = 110000).")] = None,
    volume: Annotated[float | None, typer.Option("--volume", help="Volume covered, t per year.")] = None,
    years: YearsOption = None, example: Annotated[str | None, typer.Option(
        "--example", help="Start from a documented example: mp-materials (DoD NdPr floor, Jul 2025).")] = None,
    material: MaterialOption = None, prices: PricesFileOption = None, since: SinceOption = None,
    model: Annotated[str | None, typer.Option("--model", help="Price model: gbm or ou-jump.")] = None,
    spot: SpotOption = None, drift: DriftOption = None,
    vol: VolOption = None, kappa: KappaOption = None, long_run_price: LongRunOption = None,
    jump_rate: JumpRateOption = None, jump_mean: JumpMeanOption = None, jump_vol: JumpVolOption = None,
    rate: RateOption = None, settlement: SettlementOption = None, paths: PathsOption = 100_000,
    seed: SeedOption = 0, cap: Annotated[float | None, typer.Option("--cap", help="Price above which the payer "
                                                                              "shares the upside, USD/t.")] = None,
    upside_share: Annotated[float, typer.Option("--upside-share", help="Payer's share of (price − cap).")] = 0.0,
    variants: Annotated[bool, typer.Option("--variants", help="Also value a fixed-price offtake and a price-gap "
                                                              "subsidy at the floor price, on the same paths.")]
    = False,
    gap_cap: Annotated[float | None, typer.Option("--gap-cap", help="Price-gap subsidy: at most this many USD "
                                                                    "per t (with --variants).")] = None,
    dumping: DumpingOption = None, unit_cost: UnitCostOption = 0.0, debt_service: DebtOption = 0.0,
    fmt: FormatOption = Format.table,
) -> None:
    """A price floor paid as a contract for difference: expected PV cost, its distribution, the closed-form
    value under GBM, and what it does for the producer's bankability."""

    def run():
        from minsec.markets.mechanisms import Offtake, PriceFloor, PriceGapSubsidy, Schedule
        from minsec.markets.price_models import fit_gbm
        from minsec.markets.valuation import Producer, value_mechanisms

        spec = _example(example)
        sources = {k: v for k, v in spec.items() if k.endswith("_source") or k == "name"}
        chosen_model = model or spec.get("model", "gbm")
        floor_value = floor if floor is not None else spec.get("floor_usd_per_t")
        tenor = years if years is not None else spec.get("years")
        covered = volume if volume is not None else spec.get("volume_t_per_year")
        missing = [name for name, v in (("--floor", floor_value), ("--volume", covered), ("--years", tenor))
                   if v is None]
        if missing:
            raise ValueError(f"missing {', '.join(missing)} (or use --example mp-materials)")
        series = _series(material, prices, since)
        sigma, mu = vol, drift if drift is not None else spec.get("drift")
        if sigma is None and spec.get("volatility_from") and series is None and chosen_model == "gbm":
            fitted = fit_gbm(_series(spec["volatility_from"], None, None))
            sigma = fitted.params["sigma"]
            sources["volatility_fit"] = (f"σ = {sigma:.4f} ± {fitted.std_errors['sigma']:.4f} from "
                                         f"{fitted.n_points} points ({fitted.first} … {fitted.last})")
        built, s0, calibration = _model(chosen_model, series, spot if spot is not None else spec.get("spot_usd_per_t"),
                                        mu, sigma, kappa, long_run_price, jump_rate, jump_mean, jump_vol)
        schedule = Schedule(int(tenor), float(covered), settlement or spec.get("settlement", "monthly"))
        discount = rate if rate is not None else spec.get("rate", DEFAULT_RATE)
        mechanisms = [PriceFloor(float(floor_value), cap, upside_share)]
        if variants:
            mechanisms += [Offtake(float(floor_value)),
                           PriceGapSubsidy(float(floor_value), gap_cap if gap_cap is not None else float("inf"))]
        regime = _regime(dumping)
        results = value_mechanisms(built, s0, schedule, mechanisms, discount, paths, seed, regime,
                                   Producer(unit_cost, debt_service))
        records = [r.summary() for r in results]
        inputs = _inputs(built, s0, calibration, discount, schedule, paths, seed, regime, sources)
        inputs = {"floor_usd_per_t": float(floor_value), **inputs}
        _show(records, inputs, fmt, spec.get("name", "Price floor (contract for difference)"))

    _run(run)


@markets_app.command("tariff")
def markets_tariff(
    reference: Annotated[float, typer.Option("--reference", help="Reference price, USD/t: imports below it pay "
                                                                 "the difference.")],
    volume: Annotated[float, typer.Option("--volume", help="Imports from outside suppliers, t per year.")],
    years: Annotated[int, typer.Option("--years", help="Years the tariff applies.")] = 10,
    material: MaterialOption = None, prices: PricesFileOption = None, since: SinceOption = None,
    model: ModelOption = "gbm", spot: SpotOption = None, drift: DriftOption = None, vol: VolOption = None,
    kappa: KappaOption = None, long_run_price: LongRunOption = None, jump_rate: JumpRateOption = None,
    jump_mean: JumpMeanOption = None, jump_vol: JumpVolOption = None, rate: RateOption = None,
    settlement: SettlementOption = None, paths: PathsOption = 100_000, seed: SeedOption = 0,
    dumping: DumpingOption = None, fmt: FormatOption = Format.table,
) -> None:
    """A variable (border-adjusted) tariff: imports pay max(0, reference − import price) per tonne.  Revenue,
    its distribution, and the landed price partners' buyers see."""

    def run():
        from minsec.markets.mechanisms import Schedule, VariableTariff
        from minsec.markets.valuation import value_mechanisms

        series = _series(material, prices, since)
        built, s0, calibration = _model(model, series, spot, drift, vol, kappa, long_run_price, jump_rate,
                                        jump_mean, jump_vol)
        schedule = Schedule(years, volume, settlement or "monthly")
        discount = rate if rate is not None else DEFAULT_RATE
        regime = _regime(dumping)
        result = value_mechanisms(built, s0, schedule, [VariableTariff(reference)], discount, paths, seed,
                                  regime)[0]
        s = result.summary()
        analytic = s["analytic_pv_cost_usd"]
        record = {"mechanism": s["mechanism"], "paths": s["paths"],
                  # revenue is the treasury's negative cost (+ 0.0 turns −0.0 into 0.0)
                  "expected_pv_revenue_usd": -s["expected_pv_cost_usd"] + 0.0, "std_error_usd": s["std_error_usd"],
                  "p5_pv_revenue_usd": -s["p95_pv_cost_usd"] + 0.0, "p50_pv_revenue_usd": -s["p50_pv_cost_usd"] + 0.0,
                  "p95_pv_revenue_usd": -s["p5_pv_cost_usd"] + 0.0, "prob_duty_collected": s["prob_payout"],
                  "analytic_pv_revenue_usd": -analytic + 0.0 if analytic is not None else None,
                  "mc_minus_analytic_in_se": -s["mc_minus_analytic_in_se"] if analytic is not None else None,
                  "expected_landed_price_usd_per_t": s["expected_producer_price_usd_per_t"],
                  "reference_usd_per_t": reference}
        inputs = _inputs(built, s0, calibration, discount, schedule, paths, seed, regime, {})
        _show([record], inputs, fmt, "Variable (border-adjusted) tariff")

    _run(run)


@markets_app.command("calibrate")
def markets_calibrate(
    material: MaterialOption = None, prices: PricesFileOption = None, since: SinceOption = None,
    model: Annotated[str, typer.Option("--model", help="gbm, ou, ou-jump or all.")] = "all",
    fmt: FormatOption = Format.table,
) -> None:
    """Fit price models by maximum likelihood: parameters, standard errors, log-likelihood and AIC."""

    def run():
        import pandas as pd

        from minsec.markets.price_models import MIN_POINTS, calibrate
        from minsec.markets.series import MarketInputError

        series = _series(material, prices, since)
        if series is None:
            raise ValueError("give --material (a bundled series) or --prices FILE")
        models = list(MIN_POINTS) if model == "all" else [model]
        rows, skipped = [], []
        for name in models:
            try:
                fitted = calibrate(series, name)
            except MarketInputError as exc:
                if model != "all":
                    raise
                skipped.append(str(exc))
                continue
            for parameter, value in fitted.params.items():
                rows.append({"model": name, "parameter": parameter, "estimate": value,
                             "std_error": fitted.std_errors.get(parameter), "log_likelihood": fitted.log_likelihood,
                             "aic": fitted.aic, "points": fitted.n_points, "frequency": fitted.frequency,
                             "period": f"{fitted.first} … {fitted.last}", "last_price_usd_per_t": fitted.last_price,
                             "source": fitted.source})
        emit(pd.DataFrame(rows), fmt, f"Price models for {series.label}")
        for message in skipped:
            typer.echo(f"note: {message}", err=True)

    _run(run)


@markets_app.command("reference-price")
def markets_reference_price(
    material: Annotated[str, typer.Option("--material", help="Material (bundled series) or a name for your "
                                                             "files.")],
    method: Annotated[str, typer.Option("--method", help="market (trailing mean of undistorted prices) or cost "
                                                         "(partner cost curve).")] = "market",
    prices: PricesFileOption = None,
    window_years: Annotated[float, typer.Option("--window-years", help="Trailing window, years.")] = 3.0,
    as_of: Annotated[str | None, typer.Option("--as-of", help="End of the window (YYYY-MM-DD).")] = None,
    exclude: Annotated[str | None, typer.Option("--exclude", help="Distorted periods left out, e.g. "
                                                                  "2015-01:2016-06,2023-03:2023-09.")] = None,
    costs: Annotated[Path | None, typer.Option("--costs", help="Cost curve CSV 'producer,capacity_t,"
                                                               "unit_cost_usd_per_t'.")] = None,
    percentile: Annotated[float, typer.Option("--percentile", help="Share of partner capacity covered.")] = 0.9,
    margin: Annotated[float, typer.Option("--margin", help="Margin over the marginal cost.")] = 0.1,
    fmt: FormatOption = Format.table,
) -> None:
    """A reference price per material: cost-based (partner cost curve) or market-based, with its inputs."""

    def run():
        import pandas as pd

        from minsec.markets.reference import cost_based, market_based, parse_periods, read_cost_curve

        if method == "cost":
            if costs is None:
                raise ValueError("--method cost needs --costs FILE (producer,capacity_t,unit_cost_usd_per_t)")
            result = cost_based(material, read_cost_curve(costs), percentile, margin)
        elif method == "market":
            result = market_based(material, _series(material, prices, None), window_years, as_of,
                                  parse_periods(exclude))
        else:
            raise ValueError(f"--method must be market or cost (got {method!r})")
        emit(pd.DataFrame([result.record()]), fmt, "Reference price")

    _run(run)


@markets_app.command("surveillance")
def markets_surveillance(
    importer: Annotated[str, typer.Option("--importer", help="ISO3 code or group (EU27, partnership).")]
    = "partnership",
    year: Annotated[int | None, typer.Option("--year", help="Trade year (default: the latest).")] = None,
    kind: Annotated[str | None, typer.Option("--kind", help="Only dumping, surge, undercutting or "
                                                            "outside_share.")] = None,
    material: Annotated[str | None, typer.Option("--material", help="Only this material.")] = None,
    include_ores: Annotated[bool, typer.Option("--include-ores", help="Run price tests on ores and concentrates "
                                                                      "too (traded by grade).")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Dumping margins, import surges, price undercutting and outside-supplier shares from bilateral trade; each
    finding carries the flows behind it (JSON)."""

    def run():
        import json
        import sys

        import pandas as pd

        from minsec.data import catalogue
        from minsec.data.countries import normalise_iso3
        from minsec.data.dataset import load
        from minsec.markets.surveillance import SurveillanceSettings, surveil

        dataset = load(State.data, tables=("trade",))
        trade = dataset["trade"]
        groups = catalogue.load_groups(State.groups)
        members = groups.members(importer) if importer in groups else frozenset({normalise_iso3(importer)})
        hs = catalogue.hs_codes()
        stages = frozenset({"refining", "mining"}) if include_ores else frozenset({"refining"})
        chosen_year = year if year is not None else int(trade["year"].max())
        findings = surveil(trade, hs, importer, members, groups.members("partnership"), chosen_year,
                           SurveillanceSettings(price_test_stages=stages))
        if kind is not None:
            if kind not in ("dumping", "surge", "undercutting", "outside_share"):
                raise ValueError(f"--kind must be dumping, surge, undercutting or outside_share (got {kind!r})")
            findings = [f for f in findings if f.kind == kind]
        if material is not None:
            if material not in set(hs["material"]):
                raise ValueError(f"no traded HS code for material {material!r}; see `minsec materials`")
            findings = [f for f in findings if f.material == material]
        if fmt is Format.json:
            sys.stdout.write(json.dumps([f.record() for f in findings], indent=1, default=str) + "\n")
            return
        columns = ["kind", "hs92", "material", "importer", "exporter", "year", "metric", "value", "threshold",
                   "severity", "confidence", "evidence_flows", "summary"]
        frame = pd.DataFrame([f.record(with_evidence=False) for f in findings], columns=columns)
        if fmt is Format.csv:
            emit(frame, fmt)
            return
        frame.insert(0, "#", range(1, len(frame) + 1))
        emit(frame.drop(columns=["summary", "importer", "year", "metric"]), fmt,
             f"Surveillance: {importer}, {chosen_year} ({len(findings)} findings)")
        for number, finding in enumerate(findings, 1):
            typer.echo(f"{number}. {finding.summary}")

    _run(run)
