"""``minsec markets …``: price floors, variable tariffs, reference prices, price models, dumping surveillance
(``sc.markets``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, Working, chain, emit, emit_json, fail, note, records

markets_app = typer.Typer(help="Market mechanisms: price floors (CfD), tariffs, reference prices, price models, "
                               "dumping and surge surveillance.", no_args_is_help=True)

MaterialOption = Annotated[str | None, typer.Option(
    "--material", help="Material whose bundled price series calibrates the model (see `minsec markets "
                       "calibrate`).")]
PricesFileOption = Annotated[Path | None, typer.Option(
    "--prices", help="Your price series, CSV 'date,price' in USD/t (optional 'material' column).")]
SinceOption = Annotated[int | None, typer.Option("--since", help="Calibrate on prices from this year on.")]
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


def _show(valuation, fmt: Format) -> None:
    """A valuation table: JSON/CSV rows as they are; on screen the figures per mechanism, then the inputs."""
    import pandas as pd

    if fmt is Format.json:
        emit_json(records(valuation))
    elif fmt is Format.csv:
        emit(valuation, fmt)
    else:
        inputs = valuation.attrs["inputs"]
        figures = valuation[valuation.attrs["figures"]].set_index("mechanism").T.reset_index(names="figure")
        emit(figures, fmt, valuation.attrs["title"])
        first = valuation.iloc[0]
        emit(pd.DataFrame({"input": inputs, "value": [str(first[k]) for k in inputs]}), fmt, "Inputs")
    failed = valuation.attrs.get("failed_checks") or []
    if failed:              # the numbers are printed for inspection, but the run is not a success
        typer.echo("error: built-in check failed — " + "; ".join(failed), err=True)
        raise typer.Exit(1)


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
    with Working(f"valuing on {paths:,} price paths"):
        valuation = chain().markets.floor(
            floor, volume, years, example=example, material=material, prices=prices, since=since, model=model,
        rate=rate, settlement=settlement, paths=paths, seed=seed, cap=cap, upside_share=upside_share,
        variants=variants, gap_cap=gap_cap, dumping=dumping, unit_cost=unit_cost, debt_service=debt_service,
            spot=spot, drift=drift, vol=vol, kappa=kappa, long_run_price=long_run_price, jump_rate=jump_rate,
            jump_mean=jump_mean, jump_vol=jump_vol)
    _show(valuation, fmt)


@markets_app.command("tariff")
def markets_tariff(
    reference: Annotated[float, typer.Option("--reference", help="Reference price, USD/t: imports below it pay "
                                                                 "the difference.")],
    volume: Annotated[float, typer.Option("--volume", help="Imports from outside suppliers, t per year.")],
    years: Annotated[int, typer.Option("--years", help="Years the tariff applies.")] = 10,
    material: MaterialOption = None, prices: PricesFileOption = None, since: SinceOption = None,
    model: Annotated[str, typer.Option("--model", help="Price model: gbm or ou-jump.")] = "gbm",
    spot: SpotOption = None, drift: DriftOption = None, vol: VolOption = None,
    kappa: KappaOption = None, long_run_price: LongRunOption = None, jump_rate: JumpRateOption = None,
    jump_mean: JumpMeanOption = None, jump_vol: JumpVolOption = None, rate: RateOption = None,
    settlement: SettlementOption = None, paths: PathsOption = 100_000, seed: SeedOption = 0,
    dumping: DumpingOption = None, fmt: FormatOption = Format.table,
) -> None:
    """A variable (border-adjusted) tariff: imports pay max(0, reference − import price) per tonne.  Revenue,
    its distribution, and the landed price partners' buyers see."""
    with Working(f"valuing on {paths:,} price paths"):
        valuation = chain().markets.tariff(
            reference, volume, years, material=material, prices=prices, since=since, model=model, rate=rate,
            settlement=settlement, paths=paths, seed=seed, dumping=dumping, spot=spot, drift=drift, vol=vol,
            kappa=kappa, long_run_price=long_run_price, jump_rate=jump_rate, jump_mean=jump_mean,
            jump_vol=jump_vol)
    _show(valuation, fmt)


@markets_app.command("prices")
def markets_prices(
    material: Annotated[str | None, typer.Option("--material", help="Material id or name (default: list every "
                                                                    "bundled series).")] = None,
    stage: Annotated[str | None, typer.Option("--stage", help="Stage of the series (the material's first "
                                                              "when not given).")] = None,
    since: Annotated[int | None, typer.Option("--since", help="Prices from this year on.")] = None,
    values: Annotated[bool, typer.Option("--values/--list", help="Print the prices of one series instead of "
                                                                 "the list of series.")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """The bundled price series (source, unit, frequency, first and last observation, latest price) of a material
    or of every material; with --values, the dated prices of one series in USD/t."""
    if values and material is None:
        fail("--values needs --material (one series' prices; without --values: the list of series)")
    markets = chain().markets
    if values:
        emit(markets.prices(material, stage, since), fmt, f"Prices: {material}")
        return
    emit(markets.price_series(material, stage), fmt, "Bundled price series")


@markets_app.command("calibrate")
def markets_calibrate(
    material: MaterialOption = None, prices: PricesFileOption = None, since: SinceOption = None,
    model: Annotated[str, typer.Option("--model", help="gbm, ou, ou-jump or all.")] = "all",
    fmt: FormatOption = Format.table,
) -> None:
    """Fit price models by maximum likelihood: parameters, standard errors, log-likelihood and AIC."""
    with Working("fitting the price models (maximum likelihood)"):
        table = chain().markets.calibrate(material=material, prices=prices, since=since, model=model)
    emit(table, fmt, table.attrs["title"])
    for message in table.attrs["skipped"]:
        note(message)


@markets_app.command("reference-price")
def markets_reference_price(
    material: Annotated[str, typer.Option("--material", help="Material (bundled series) or a name for your "
                                                             "files.")],
    method: Annotated[str, typer.Option("--method", help="market (trailing mean of undistorted prices), cost "
                                                         "(partner cost curve) or basket (rare earths).")]
    = "market",
    prices: PricesFileOption = None,
    window_years: Annotated[float, typer.Option("--window-years", help="Trailing window, years.")] = 3.0,
    as_of: Annotated[str | None, typer.Option("--as-of", help="End of the window (YYYY-MM-DD).")] = None,
    exclude: Annotated[str | None, typer.Option("--exclude", help="Distorted periods left out, e.g. "
                                                                  "2015-01:2016-06,2023-03:2023-09.")] = None,
    costs: Annotated[Path | None, typer.Option("--costs", help="Cost curve CSV 'producer,capacity_t,"
                                                               "unit_cost_usd_per_t'.")] = None,
    percentile: Annotated[float, typer.Option("--percentile", help="Share of partner capacity covered.")] = 0.9,
    margin: Annotated[float, typer.Option("--margin", help="Margin over the marginal cost.")] = 0.1,
    weights: Annotated[str, typer.Option("--weights", help="basket: supply (the element mix of the partnership's "
                                                           "mine output), world (world separated output) or a CSV "
                                                           "'material,weight'.")] = "supply",
    fmt: FormatOption = Format.table,
) -> None:
    """A reference price per material: cost-based (partner cost curve), market-based, or for rare earths a basket
    of the oxides' market-based references (--method basket --material rare_earths), with its inputs."""
    table = chain().markets.reference_price(material, method, prices=prices, window_years=window_years, as_of=as_of,
                                            exclude=exclude, costs=costs, percentile=percentile, margin=margin,
                                            weights=weights)
    emit(table, fmt, table.attrs.get("title", "Reference price"))


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
    source: Annotated[str, typer.Option("--source", help="baci (CEPII BACI, any importer, to 2024) or usitc (US "
                                                         "imports from USITC DataWeb, to January–April 2026).")]
    = "baci",
    period: Annotated[str | None, typer.Option("--period", help="usitc: one period, e.g. 2025 or 2026-01..2026-04 "
                                                                "(default: the latest year and the latest "
                                                                "January–April).")] = None,
    include_mixed: Annotated[bool, typer.Option("--include-mixed", help="usitc: run price tests on mixed HS-4 "
                                                                        "headings too (8112, 2846, 8505 …).")]
    = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Dumping margins, import surges, price undercutting and outside-supplier shares from bilateral trade; each
    finding carries the flows behind it (JSON).  --source usitc: US imports to 2026 (no dumping test; what was
    not tested is said on stderr)."""
    findings = chain().markets.surveillance(importer=importer, year=year, kind=kind, material=material,
                                            include_ores=include_ores, source=source, period=period,
                                            include_mixed=include_mixed)
    raw = findings
    code, when = ("hs4", "period") if source == "usitc" else ("hs92", "year")
    columns = ["kind", code, "material", "importer", "exporter", when, "metric", "value", "threshold",
               "severity", "confidence", "evidence_flows", "summary"]
    if "checks" in findings:              # the dumping test's cross-checks, in words (JSON keeps their figures)
        findings = findings.assign(checks=findings["checks"].map(checks_text))
        columns.insert(columns.index("evidence_flows"), "checks")
    frame = findings.assign(evidence_flows=findings["evidence"].map(len))[columns]
    if fmt is Format.json:
        emit_json(records(raw))
    elif fmt is Format.csv:
        emit(frame, fmt)
    else:
        frame.insert(0, "#", range(1, len(frame) + 1))
        shown = frame.drop(columns=["summary", "importer", "metric"] + ([] if source == "usitc" else ["year"]))
        emit(shown, fmt, findings.attrs["title"])
        for number, summary in enumerate(findings["summary"], 1):
            typer.echo(f"{number}. {summary}")
    for message in findings.attrs.get("notes", []):       # what was not tested (usitc), on stderr
        note(message)


def checks_text(checks) -> str:
    """``spread contradicts; own sales elsewhere supports; reference price unavailable`` (empty: no checks)."""
    if not isinstance(checks, dict):
        return ""
    return "; ".join(f"{name.replace('_', ' ')} {check['verdict']}" for name, check in checks.items())
