"""``sc.markets``: price series, price models, price floors (CfD), variable tariffs, reference prices and trade
surveillance over a SupplyChain.

Valuations come back as DataFrames with one row per mechanism and the inputs as columns (the rows of
``minsec markets floor -f json``); ``frame.attrs["figures"]`` and ``frame.attrs["inputs"]`` name the figure
and the input columns, ``frame.attrs["title"]`` the valuation.  Prices are US dollars per tonne of the market
basis; rates are continuously compounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minsec.errors import InputError, NoDataError
from minsec.markets.inputs import failed_checks, problems
from minsec.model.supply_chain import register_accessor

if TYPE_CHECKING:
    import pandas as pd

    from minsec.markets.price_models import Calibration
    from minsec.markets.series import PriceSeries
    from minsec.model.supply_chain import SupplyChain

DEFAULT_RATE = 0.04
KINDS = ("dumping", "surge", "undercutting", "outside_share")
#: the price-model options of floor() and tariff(), by their CLI names
MODEL_OPTIONS = ("spot", "drift", "vol", "kappa", "long_run_price", "jump_rate", "jump_mean", "jump_vol")


@register_accessor("markets")
class MarketsAccessor:
    """Market mechanisms on the chain's price data: ``sc.markets.floor(example="mp-materials")``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain

    # ------------------------------------------------------------------ prices and models
    def series(self, material: str | None = None, prices: str | Path | None = None, since: int | None = None,
               stage: str | None = None) -> PriceSeries | None:
        """A price series in USD/t: the user's CSV (``prices``: ``date,price[,material]``) or the bundled one of
        ``material`` (Pink Sheet monthly, USGS salient annual), from ``since``; None when neither is given."""
        from minsec.markets.series import material_series, read_price_csv

        if prices is not None:
            return read_price_csv(prices, material).since(since)
        if material is None:
            return None
        return material_series(self._chain, material, stage).since(since)

    def prices(self, material: str, stage: str | None = None, since: int | None = None) -> pd.DataFrame:
        """The bundled price series of ``material``: ``date, price_usd_per_t, source`` (source names the
        publisher, series and unit conversion)."""
        series = self.series(material, None, since, stage)
        return series.table().assign(source=series.source)  # type: ignore[union-attr]

    def price_series(self, material: str | None = None, stage: str | None = None) -> pd.DataFrame:
        """Every bundled price series (of ``material`` and ``stage`` when given): ``material, stage, source,
        series, unit, frequency, first, last, observations, latest_usd_per_t, note`` — what ``prices`` and the
        price models can use.  A series the data hold no price for is listed with ``observations`` 0 and nulls."""
        import pandas as pd

        from minsec.data import catalogue
        from minsec.markets.series import catalogue_prices, material_series

        table = catalogue_prices()
        if stage is not None and stage not in catalogue.STAGES:
            raise InputError(f"unknown stage {stage!r}: use {', '.join(catalogue.STAGES)}")
        if material is not None:
            material = self._chain.check_material(material)
            table = table[table["material"] == material]
            if table.empty:
                known = ", ".join(sorted(catalogue_prices()["material"].unique()))
                raise NoDataError(f"no bundled price series for {material}; materials with one: {known} "
                                  "(or give your own with --prices FILE)")
        if stage is not None:
            has = ", ".join(sorted(table["stage"].unique()))
            table = table[table["stage"] == stage]
            if table.empty:
                raise NoDataError(f"no bundled price series for {material or 'any material'} at stage {stage} "
                                  f"(its series: {has})")
        rows = []
        # one row per series: a rare-earth oxide price serves the element's mining, refining and metal markets
        stages = table.groupby(["material", "series"], sort=False)["stage"].agg("; ".join)
        for row in table.drop_duplicates(["material", "series"]).itertuples():
            found = material_series(self._chain, row.material, row.stage)
            dates = pd.to_datetime(found.dates)
            rows.append({"material": row.material, "stage": stages[(row.material, row.series)], "source": found.source,
                         "series": row.series, "unit": "USD/t", "frequency": found.frequency if len(dates) else None,
                         "first": str(dates[0].date()) if len(dates) else None,
                         "last": str(dates[-1].date()) if len(dates) else None, "observations": len(dates),
                         "latest_usd_per_t": float(found.prices[-1]) if len(dates) else None, "note": row.note})
        return pd.DataFrame(rows)

    def calibrate(self, material: str | None = None, prices: str | Path | None = None, since: int | None = None,
                  model: str = "all") -> pd.DataFrame:
        """Price models (``gbm``, ``ou``, ``ou-jump`` or ``all``) fitted by maximum likelihood: one row per
        parameter with its standard error, whether the series identifies it (``identified``: the standard error
        is no larger than the estimate), log-likelihood, AIC and the period fitted; models the series is too
        short for are listed in ``frame.attrs["skipped"]`` (``model="all"``) or raise."""
        import pandas as pd

        from minsec.markets.price_models import MIN_POINTS, calibrate
        from minsec.markets.series import MarketInputError

        series = self.series(material, prices, since)
        if series is None:
            raise InputError("give --material (a bundled series) or --prices FILE")
        rows, skipped = [], []
        for name in (list(MIN_POINTS) if model == "all" else [model]):
            try:
                fitted = calibrate(series, name)
            except MarketInputError as exc:
                if model != "all":
                    raise
                skipped.append(str(exc))
                continue
            weak = fitted.not_identified()
            for parameter, value in fitted.params.items():
                rows.append({"model": name, "parameter": parameter, "estimate": value,
                             "std_error": fitted.std_errors.get(parameter), "identified": parameter not in weak,
                             "log_likelihood": fitted.log_likelihood,
                             "aic": fitted.aic, "points": fitted.n_points, "frequency": fitted.frequency,
                             "period": f"{fitted.first} … {fitted.last}", "last_price_usd_per_t": fitted.last_price,
                             "source": fitted.source})
        table = pd.DataFrame(rows)
        table.attrs.update(skipped=skipped, title=f"Price models for {series.label}")
        return table

    # ------------------------------------------------------------------ mechanisms
    def floor(self, floor: float | None = None, volume: float | None = None, years: int | None = None, *,
              example: str | None = None, material: str | None = None, prices: str | Path | None = None,
              since: int | None = None, model: str | None = None, rate: float | None = None,
              settlement: str | None = None, paths: int = 100_000, seed: int = 0, cap: float | None = None,
              upside_share: float = 0.0, variants: bool = False, gap_cap: float | None = None,
              dumping: str | None = None, unit_cost: float = 0.0, debt_service: float = 0.0,
              **model_options: float | None) -> pd.DataFrame:
        """A price floor paid as a contract for difference (``floor`` USD/t on ``volume`` t/yr for ``years``):
        expected PV cost, P5/P50/P95, probability of payout, the closed form under GBM, and the producer's
        revenue floor and debt-service cover.  ``example="mp-materials"`` starts from the documented DoD–MP
        Materials terms; ``variants`` adds a fixed-price offtake and a capped price-gap subsidy on the same paths.
        Price-model parameters (``spot``, ``drift``, ``vol``, ``kappa``, ``long_run_price``, ``jump_*``) not given
        are calibrated on the ``material`` / ``prices`` series."""
        from minsec.markets.mechanisms import Offtake, PriceFloor, PriceGapSubsidy, Schedule
        from minsec.markets.valuation import Producer, value_mechanisms

        spec, sources = _example(example)
        floor_value = floor if floor is not None else spec.get("floor_usd_per_t")
        tenor = years if years is not None else spec.get("years")
        covered = volume if volume is not None else spec.get("volume_t_per_year")
        missing = [name for name, v in (("--floor", floor_value), ("--volume", covered), ("--years", tenor))
                   if v is None]
        options = _model_options(model_options)
        chosen = model or spec.get("model", "gbm")
        series = self.series(material, prices, since)
        options["drift"] = options["drift"] if options["drift"] is not None else spec.get("drift")
        if options["spot"] is None:
            options["spot"] = spec.get("spot_usd_per_t")
        if options["vol"] is None and spec.get("volatility_from") and series is None and chosen == "gbm":
            options["vol"], sources["volatility_fit"] = self._volatility(spec["volatility_from"])
        wrong = problems({"--floor": floor_value, "--volume": covered, "--years": tenor, "--rate": rate,
                          "--paths": paths, "--cap": cap, "--upside-share": upside_share, "--gap-cap": gap_cap,
                          "--unit-cost": unit_cost, "--debt-service": debt_service, **_option_names(options)},
                         missing + _uncalibrated(chosen, series, options))
        if wrong:
            raise InputError("; ".join(wrong) + (" (or use --example mp-materials, or --material to calibrate the "
                                                 "price model)" if missing else ""))
        built, s0, calibration, notes = price_model(chosen, series, **options)
        schedule = Schedule(int(tenor), float(covered), settlement or spec.get("settlement", "monthly"))
        discount = rate if rate is not None else spec.get("rate", DEFAULT_RATE)
        mechanisms = [PriceFloor(float(floor_value), cap, upside_share)]
        if variants:
            mechanisms += [Offtake(float(floor_value)),
                           PriceGapSubsidy(float(floor_value), gap_cap if gap_cap is not None else float("inf"))]
        regime = dumping_regime(dumping)
        results = value_mechanisms(built, s0, schedule, mechanisms, discount, paths, seed, regime,
                                   Producer(unit_cost, debt_service))
        inputs = {"floor_usd_per_t": float(floor_value),
                  **_inputs(built, s0, calibration, discount, schedule, paths, seed, regime, sources,
                            _choice(built.name, model is not None or "model" in spec, calibration, notes))}
        table = _valuation([r.summary() for r in results], inputs,
                           spec.get("name", "Price floor (contract for difference)"))
        table.attrs["pv_histogram"] = _histogram(results[0].pv)
        table.attrs["failed_checks"] = failed_checks([r.summary() for r in results])
        return table

    def tariff(self, reference: float, volume: float, years: int = 10, *, material: str | None = None,
               prices: str | Path | None = None, since: int | None = None, model: str = "gbm",
               rate: float | None = None, settlement: str | None = None, paths: int = 100_000, seed: int = 0,
               dumping: str | None = None, **model_options: float | None) -> pd.DataFrame:
        """A variable (border-adjusted) tariff: imports of ``volume`` t/yr pay max(0, reference − price) per tonne
        for ``years``.  Expected PV revenue, its distribution, the probability a duty is collected and the
        landed price partners' buyers see."""
        from minsec.markets.mechanisms import Schedule, VariableTariff
        from minsec.markets.valuation import value_mechanisms

        options = _model_options(model_options)
        series = self.series(material, prices, since)
        wrong = problems({"--reference": reference, "--volume": volume, "--years": years, "--rate": rate,
                          "--paths": paths, **_option_names(options)}, _uncalibrated(model, series, options))
        if wrong:
            raise InputError("; ".join(wrong))
        built, s0, calibration, notes = price_model(model, series, **options)
        schedule = Schedule(years, volume, settlement or "monthly")
        discount = rate if rate is not None else DEFAULT_RATE
        regime = dumping_regime(dumping)
        result = value_mechanisms(built, s0, schedule, [VariableTariff(reference)], discount, paths, seed,
                                  regime)[0]
        inputs = _inputs(built, s0, calibration, discount, schedule, paths, seed, regime, {},
                         _choice(built.name, model != "gbm", calibration, notes))
        table = _valuation([tariff_record(result.summary(), reference)], inputs, "Variable (border-adjusted) tariff")
        table.attrs["pv_histogram"] = _histogram(-result.pv + 0.0)     # the treasury's revenue
        table.attrs["failed_checks"] = failed_checks([result.summary()])
        return table

    def reference_price(self, material: str, method: str = "market", *, prices: str | Path | None = None,
                        window_years: float = 3.0, as_of: str | None = None, exclude: str | None = None,
                        costs: str | Path | pd.DataFrame | None = None, percentile: float = 0.9,
                        margin: float = 0.1, weights: str | Path | pd.Series = "supply") -> pd.DataFrame:
        """A reference price (USD/t, one row with its inputs): ``market`` — the trailing mean of undistorted
        prices over ``window_years`` (``exclude`` distorted periods, e.g. ``"2015-01:2016-06"``); ``cost`` — the
        capacity-weighted ``percentile`` of a partner cost curve plus ``margin``; ``basket`` (``rare_earths``) —
        the single reference price of rare earths per tonne of REO: each oxide's market-based reference weighted
        by ``weights``: ``supply`` (the element mix of the partnership's mine output), ``world`` (the world's
        separated-oxide output) or a CSV ``material,weight`` (first row the basket, then its components)."""
        import pandas as pd

        from minsec.markets.reference import cost_based, market_based, parse_periods, read_cost_curve

        if method == "basket":
            return self._basket(material, weights, window_years, as_of, exclude)
        if method == "cost":
            if costs is None:
                raise InputError("--method cost needs --costs FILE (producer,capacity_t,unit_cost_usd_per_t)")
            curve = costs if isinstance(costs, pd.DataFrame) else read_cost_curve(costs)
            result = cost_based(material, curve, percentile, margin)
        elif method == "market":
            result = market_based(material, self.series(material, prices, None), window_years, as_of,
                                  parse_periods(exclude))
        else:
            raise InputError(f"--method must be market, cost or basket (got {method!r})")
        return pd.DataFrame([result.record()])

    def basket_weights(self, weights: str = "supply") -> tuple[pd.Series, str]:
        """Tonnes of each rare-earth element in a basket, and what the basket is: ``supply`` — the element content
        of the partnership members' mine output, ``world`` — the world's separated-oxide output, both in the
        latest year minsec derives (:mod:`minsec.data.rare_earth_chain`; an element not attributed to a mine is
        left out of that mine's row, not counted as zero)."""
        from minsec.data import catalogue

        stage = {"supply": "mining", "world": "refining"}.get(weights)
        if stage is None:
            raise InputError(f"--weights must be supply, world or a CSV file (got {weights!r})")
        table = self._chain.production_table
        elements = catalogue.parts("rare_earths")
        rows = table[(table["source"] == "minsec") & (table["stage"] == stage) & (table["measure"] == "production")
                     & table["material"].isin(elements) & table["value"].notna()]
        year = int(rows["year"].max())
        rows = rows[rows["year"] == year]
        if weights == "supply":
            members = self._chain.members("partnership")
            rows = rows[rows["country"].isin(members)]
            basis = f"element content of the partnership's mine output {year} (t oxide, minsec REE-chain)"
        else:
            rows = rows[rows["country"] == "WLD"]
            basis = f"world separated-oxide output {year} (t, minsec REE-chain)"
        return rows.groupby("material")["value"].sum(), basis

    def _basket(self, material: str, weights: str | Path | pd.Series, window_years: float, as_of: str | None,
                exclude: str | None) -> pd.DataFrame:
        from pathlib import Path

        import pandas as pd

        from minsec.data import catalogue
        from minsec.markets.reference import basket, market_based, parse_periods, read_weights
        from minsec.markets.series import material_series

        if material != "rare_earths":
            raise InputError(f"--method basket prices the rare-earth basket (--material rare_earths), not {material!r}")
        if isinstance(weights, pd.Series):
            tonnes, basis = weights, "weights given"
        elif str(weights) in ("supply", "world"):
            tonnes, basis = self.basket_weights(str(weights))
        elif Path(weights).is_file():
            tonnes, basis = read_weights(Path(weights)), f"weights from {weights}"
        else:
            raise InputError(f"--weights must be supply, world or a CSV file 'material,weight' (got {weights!r}: "
                             "no such file)")
        elements = set(catalogue.parts("rare_earths"))
        unknown = [m for m in tonnes.index if m not in elements]
        if unknown:
            raise InputError(f"--weights: {unknown[0]!r} is not a rare-earth element ({', '.join(sorted(elements))})")
        priced = set(catalogue.reference_prices().query("stage == 'refining'")["material"])
        periods = parse_periods(exclude)
        components = {m: market_based(m, material_series(self._chain, m, "refining"), window_years, as_of, periods)
                      for m in tonnes.index if m in priced}
        table = basket(material, components, tonnes, basis)
        table.attrs["title"] = (f"Reference price: rare earths, basket of {basis}: "
                                f"{table['reference_usd_per_t'].iloc[0] / 1000:,.2f} USD/kg REO")
        return table

    def surveillance(self, importer: str = "partnership", year: int | None = None, kind: str | None = None,
                     material: str | None = None, include_ores: bool = False, source: str = "baci",
                     period: str | None = None, include_mixed: bool = False) -> pd.DataFrame:
        """Dumping margins, import surges, price undercutting and outside-supplier shares in the importer's
        trade of ``year`` (default: the latest); one row per finding, ``evidence`` holding the flows behind it.

        ``source="baci"`` (default): CEPII BACI, any importer, to 2024.  ``source="usitc"``: US imports from
        USITC DataWeb to January–April 2026 (:mod:`minsec.markets.us_surveillance`: undercutting, surges and
        shares, no dumping test) — by default the latest calendar year and the latest January–April (2025 and
        2026-01..2026-04), or one ``period`` (``year`` = that calendar year); price tests skip mixed HS-4
        headings unless ``include_mixed``.  Rows then carry ``hs4`` and ``period``; ``attrs["notes"]`` says
        what was not tested."""
        import pandas as pd

        from minsec.data import catalogue
        from minsec.markets.surveillance import SurveillanceSettings, surveil

        if source == "usitc":
            return self._us_surveillance(importer, year, kind, material, include_ores, period, include_mixed)
        if source != "baci":
            raise InputError(f"--source must be baci or usitc (got {source!r})")
        if period is not None or include_mixed:
            raise InputError("--period and --include-mixed are for --source usitc (BACI is annual: use --year)")
        hs = catalogue.hs_codes()
        members = self._chain.members(importer)
        if kind is not None and kind not in KINDS:
            raise InputError(f"--kind must be {', '.join(KINDS[:-1])} or {KINDS[-1]} (got {kind!r})")
        if material is not None and material not in set(hs["material"]):
            raise InputError(f"no traded HS code for material {material!r}; see `minsec materials`")
        trade = self._chain.trade
        chosen_year = year if year is not None else int(trade["year"].max())
        stages = frozenset({"refining", "mining"}) if include_ores else frozenset({"refining"})
        findings = surveil(trade, hs, importer, members, self._chain.members("partnership"),
                           chosen_year, SurveillanceSettings(price_test_stages=stages),
                           references=self._yearly_references(chosen_year))
        findings = [f for f in findings if (kind is None or f.kind == kind)
                    and (material is None or f.material == material)]
        table = pd.DataFrame([f.record() for f in findings], columns=FINDING_COLUMNS)
        table.attrs.update(title=f"Surveillance: {importer}, {chosen_year} ({len(findings)} findings)",
                           year=chosen_year)
        return table

    def _yearly_references(self, year: int) -> dict[str, float]:
        """Each material's mean bundled price in ``year`` (USD/t), for the dumping test's reference check."""
        from minsec.markets.series import MarketInputError, material_series

        out = {}
        for material in sorted(set(self.price_series()["material"])):
            try:
                series = material_series(self._chain, material)
            except MarketInputError:
                continue
            table = series.table()
            in_year = table[table["date"].astype(str).str.startswith(str(year))]
            if len(in_year):
                out[material] = float(in_year["price_usd_per_t"].mean())
        return out

    def _us_surveillance(self, importer: str, year: int | None, kind: str | None, material: str | None,
                         include_ores: bool, period: str | None, include_mixed: bool) -> pd.DataFrame:
        """:meth:`surveillance` on USITC DataWeb's US imports (``source="usitc"``)."""
        import pandas as pd

        from minsec.data.loaders.usitc import hts4_materials
        from minsec.markets import us_surveillance as us
        from minsec.markets.surveillance import SurveillanceSettings

        if importer not in ("partnership", "USA"):
            raise InputError(f"--source usitc has US imports only: --importer USA (got {importer!r})")
        if kind is not None and kind not in us.KINDS:
            raise InputError(f"--kind with --source usitc must be {', '.join(us.KINDS)} (got {kind!r}; dumping "
                             "needs the exporters' sales elsewhere: --source baci)")
        table, headings = self._chain.us_trade, hts4_materials()
        periods = _us_periods(table, period if period is not None else (str(year) if year is not None else None))
        wanted = set(headings.index)
        if material is not None:
            chosen = self._chain.check_material(material)
            wanted = set(headings.index[(headings["material"] == chosen)
                                        | headings["contains"].map(lambda cell: chosen in cell.split(";"))])
            if not wanted:
                listed = ", ".join(f"{hs} {m or '(mixed)'}" for hs, m in headings["material"].items())
                raise NoDataError(f"no USITC DataWeb heading for {chosen}; the headings are {listed}")
        stages = frozenset({"refining", "mining"}) if include_ores else frozenset({"refining"})
        findings, notes = us.surveil_us(table, headings, self._chain.members("partnership"), periods,
                                        SurveillanceSettings(price_test_stages=stages), include_mixed)
        findings = [f for f in findings if (kind is None or f.kind == kind) and f.hs92 in wanted]
        frame = pd.DataFrame([f.record() for f in findings], columns=us.FINDING_COLUMNS)
        frame.attrs.update(title=f"Surveillance: USA imports (USITC DataWeb), {' and '.join(periods)} "
                                 f"({len(findings)} findings)", periods=periods, notes=notes)
        return frame

    def _volatility(self, material: str) -> tuple[float, str]:
        from minsec.markets.price_models import fit_gbm

        fitted = fit_gbm(self.series(material))  # type: ignore[arg-type]
        sigma = fitted.params["sigma"]
        return sigma, (f"σ = {sigma:.4f} ± {fitted.std_errors['sigma']:.4f} from {fitted.n_points} points "
                       f"({fitted.first} … {fitted.last})")


#: the fields of :meth:`minsec.markets.surveillance.Finding.record`, in order
FINDING_COLUMNS = ["kind", "hs92", "material", "importer", "exporter", "year", "metric", "value", "threshold",
                   "severity", "summary", "confidence", "checks", "evidence"]


def _us_periods(table: pd.DataFrame, period: str | None) -> list[str]:
    """The DataWeb periods to scan: one that is in ``table``, or the latest calendar year and the latest
    year-to-date period (2025 and 2026-01..2026-04 in the bundled data)."""

    periods = sorted(set(table["period"]))
    annual = [p for p in periods if ".." not in p]
    ytd = sorted((p for p in periods if ".." in p), key=lambda p: p[:4])
    if period is None:
        return annual[-1:] + ytd[-1:]
    if str(period) not in periods:
        raise NoDataError(f"period {period!r} not in us_trade: calendar years {annual[0]}–{annual[-1]}, "
                          f"year-to-date {ytd[0]} … {ytd[-1]}")
    return [str(period)]


#: the CLI option of each price-model parameter
PARAMETER_OPTIONS = {"mu": "--drift", "sigma": "--vol", "kappa": "--kappa", "long_run_price": "--long-run-price",
                     "jump_rate": "--jump-rate", "jump_mean": "--jump-mean", "jump_sigma": "--jump-vol"}
#: parameters with a neutral value a valuation may fall back on when the series does not identify them: no trend,
#: no jumps (the jump size then plays no part)
NEUTRAL = {"mu": 0.0, "jump_rate": 0.0}


def price_model(model: str, series: PriceSeries | None, spot: float | None = None, drift: float | None = None,
                vol: float | None = None, kappa: float | None = None, long_run_price: float | None = None,
                jump_rate: float | None = None, jump_mean: float | None = None, jump_vol: float | None = None
                ) -> tuple[Any, float, Calibration | None, list[str]]:
    """The price model, the spot price and what was said about the choice: given parameters are used as they
    are; missing ones are calibrated on ``series`` (maximum likelihood), and the spot defaults to its last price.

    A calibrated parameter the series does not identify (:meth:`Calibration.not_identified`: standard error
    larger than the estimate) is never used silently: a drift or a jump rate falls back on its neutral value (no
    trend, no jumps) with a note; any other (volatility, mean reversion, long-run price) is refused, naming the
    option that would supply it."""
    from minsec.markets.price_models import GBM, OUJump, calibrate

    if model not in ("gbm", "ou-jump"):
        raise InputError(f"--model must be gbm or ou-jump (got {model!r})")
    given = {"gbm": {"mu": drift, "sigma": vol},
             "ou-jump": {"kappa": kappa, "long_run_price": long_run_price, "sigma": vol, "jump_rate": jump_rate,
                         "jump_mean": jump_mean, "jump_sigma": jump_vol}}[model]
    required = ("mu", "sigma") if model == "gbm" else ("kappa", "long_run_price", "sigma")
    calibration, notes = None, []
    if any(given[k] is None for k in required):
        if series is None:
            missing = ", ".join(PARAMETER_OPTIONS[k] for k in required if given[k] is None)
            raise InputError(f"{model} needs {missing}: give them as options or a --material/--prices series to "
                             "calibrate on")
        calibration = calibrate(series, model)
    params = {k: (v if v is not None else (calibration.params[k] if calibration else 0.0)) for k, v in given.items()}
    if calibration is not None:
        params, notes = _identified(model, given, params, calibration)
    built = GBM(params["mu"], params["sigma"]) if model == "gbm" else OUJump(**params)
    if spot is None:
        if series is None:
            raise InputError("give --spot (USD/t) or a --material/--prices series whose last price is the spot")
        spot = float(series.prices[-1])
    return built, float(spot), calibration, notes


def _identified(model: str, given: dict, params: dict, calibration: Calibration) -> tuple[dict, list[str]]:
    """The calibrated parameters with the unidentified ones replaced by their neutral value (and a note), or an
    error naming the ones that have none."""
    params, notes, refused = dict(params), [], []
    weak = [k for k in calibration.not_identified() if given.get(k) is None and k in params]
    for name in weak:
        estimate, error = calibration.params[name], calibration.std_errors.get(name, float("nan"))
        text = f"{name} {estimate:,.4g} ± {error:,.4g}"
        if name in NEUTRAL:
            params[name] = NEUTRAL[name]
            notes.append(f"{text} is not identified by the series (standard error larger than the estimate): set "
                         f"to {NEUTRAL[name]:g}; give {PARAMETER_OPTIONS[name]} to choose another")
        elif name in ("jump_mean", "jump_sigma") and params.get("jump_rate") == 0.0:
            continue                        # no jumps: their size plays no part
        else:
            refused.append(f"{text} ({PARAMETER_OPTIONS[name]})")
    if refused:
        advice = "use --model gbm or give them" if model == "ou-jump" else "give them"
        raise InputError(f"{model} calibrated on {calibration.source}: {', '.join(refused)} not identified (standard "
                         f"error larger than the estimate); {advice} as options, or a longer series (--prices, "
                         "--since)")
    return params, notes


def dumping_regime(text: str | None):
    """``"START:DURATION:DEPTH"`` (years, years, share) → a :class:`DumpingRegime`; None stays None."""
    from minsec.markets.price_models import DumpingRegime

    if not text:
        return None
    try:
        start, duration, depth = (float(v) for v in text.split(":"))
    except ValueError:
        raise InputError(f"--dumping {text!r}: expected START:DURATION:DEPTH, e.g. 1:3:0.4") from None
    return DumpingRegime(start, duration, depth)


def tariff_record(summary: dict, reference: float) -> dict:
    """A variable tariff's valuation from the treasury's side: revenue is the mechanism's negative cost."""
    s = summary
    analytic, gap_in_se = s["analytic_pv_cost_usd"], s["mc_minus_analytic_in_se"]
    return {"mechanism": s["mechanism"], "paths": s["paths"],
            # + 0.0 turns −0.0 into 0.0
            "expected_pv_revenue_usd": -s["expected_pv_cost_usd"] + 0.0, "std_error_usd": s["std_error_usd"],
            "p5_pv_revenue_usd": -s["p95_pv_cost_usd"] + 0.0, "p50_pv_revenue_usd": -s["p50_pv_cost_usd"] + 0.0,
            "p95_pv_revenue_usd": -s["p5_pv_cost_usd"] + 0.0, "prob_duty_collected": s["prob_payout"],
            "analytic_pv_revenue_usd": -analytic + 0.0 if analytic is not None else None,
            "mc_minus_analytic_in_se": -gap_in_se if gap_in_se is not None else None,
            "expected_landed_price_usd_per_t": s["expected_producer_price_usd_per_t"],
            "reference_usd_per_t": reference}


def _example(name: str | None) -> tuple[dict, dict]:
    """A documented example's terms and the sources it cites (``mp-materials``)."""
    if name is None:
        return {}, {}
    import yaml

    from minsec.data import library

    spec = yaml.safe_load(library.example(name.replace("_", "-")).read_text(encoding="utf-8"))
    return spec, {k: v for k, v in spec.items() if k.endswith("_source") or k == "name"}


def _uncalibrated(model: str, series, options: Mapping[str, float | None]) -> list[str]:
    """The price-model options a valuation without a series to calibrate on still needs (none with a series)."""
    if series is not None:
        return []
    needed = ("spot", "drift", "vol") if model == "gbm" else ("spot", "kappa", "long_run_price", "vol")
    return ["--" + name.replace("_", "-") for name in needed if options.get(name) is None]


def _option_names(options: Mapping[str, float | None]) -> dict[str, float | None]:
    """Price-model options under their CLI names (``long_run_price`` → ``--long-run-price``)."""
    return {"--" + name.replace("_", "-"): value for name, value in options.items()}


def _model_options(options: Mapping[str, float | None]) -> dict[str, float | None]:
    unknown = sorted(set(options) - set(MODEL_OPTIONS))
    if unknown:
        raise TypeError(f"unexpected keyword argument(s) {', '.join(unknown)}; price-model options are "
                        f"{', '.join(MODEL_OPTIONS)}")
    return {name: options.get(name) for name in MODEL_OPTIONS}


def _choice(name: str, chosen: bool, calibration: Calibration | None, notes: list[str]) -> str:
    """Why this price model with these parameters, in words (an input of every valuation)."""
    why = ("chosen" if chosen else "the default: two parameters a short annual series can identify; ou-jump "
           "needs ≥ 24 prices and an identified mean reversion")
    basis = ("parameters as given" if calibration is None else
             f"fitted by maximum likelihood on {calibration.n_points} {calibration.frequency} prices "
             f"{calibration.first} … {calibration.last} ({calibration.source})")
    return "; ".join([f"{name} ({why})", basis, *notes])


def _inputs(model, spot: float, calibration, rate: float, schedule, paths: int, seed: int, regime,
            sources: dict, choice: str = "") -> dict:
    out = {"model": model.name, "model_choice": choice, **{f"param_{k}": v for k, v in model.describe().items()},
           "spot_usd_per_t": spot, "rate": rate, "settlement": schedule.settlement, "years": schedule.years,
           "volume_t_per_year": schedule.volume_per_year, "paths": paths, "seed": seed,
           "dumping_regime": (f"×{1 - regime.depth:g} from year {regime.start_years:g} for "
                              f"{regime.duration_years:g} years") if regime else None}
    if calibration is not None:
        out |= {"calibrated_on": calibration.source, "calibration_points": calibration.n_points,
                "calibration_period": f"{calibration.first} … {calibration.last}",
                **{f"std_error_{k}": v for k, v in calibration.std_errors.items()}}
    return out | sources


def _histogram(values, bins: int = 40) -> dict[str, list[float]]:
    """The distribution of present values over the paths (``counts`` per bin between ``edges``), for charts."""
    import numpy as np

    counts, edges = np.histogram(values, bins=bins)
    return {"counts": counts.tolist(), "edges": edges.tolist()}


def _valuation(records: list[dict], inputs: dict, title: str) -> pd.DataFrame:
    import pandas as pd

    table = pd.DataFrame([record | inputs for record in records])
    table.attrs.update(figures=list(records[0]), inputs=list(inputs), title=title)
    return table
