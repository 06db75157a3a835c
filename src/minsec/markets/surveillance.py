"""Dumping and manipulation surveillance from bilateral trade (CEPII BACI: value and tonnes by exporter,
importer, HS code and year).

For an importer (a country or a group such as EU27 or the partnership) and a year, per HS code:

* **Import unit value** of each origin ``e``: ``UV_e = Σ value / Σ tonnes`` over its flows into the importer's
  members (flows between the importer's own members are domestic trade and left out).
* **Dumping margin** of an outside supplier (an exporter outside the partnership):
  ``(NV − EP) / EP`` with export price ``EP = UV_e`` and a *constructed normal value* ``NV``: the
  quantity-weighted median unit value of the same HS code's exports, that year, by exporters whose prices
  are not considered distorted (by default every exporter except China — the EU's anti-dumping regulation,
  Art. 2(6a) of Regulation (EU) 2016/1036, allows undistorted international benchmarks where the exporting
  country's prices are significantly distorted) and other than ``e`` itself.  Findings need a margin above
  the WTO de minimis of 2 % and imports from ``e`` of at least 3 % of the importer's imports of the product
  (Anti-Dumping Agreement Art. 5.8: negligible volume).
* **Import surge**: the volume from an origin (and from all outside suppliers together) in the year against
  the trailing trend — a log-linear fit over the previous ``trend_years`` years extrapolated one year
  (the trailing mean where a year had no imports; always the trailing mean with ``surge_trend="mean"``, as
  the USITC January–April periods use it); a surge is a ratio of at least ``surge_ratio`` on imports worth at
  least ``min_surge_value_usd`` (US$1 million) that year.
* **Price undercutting**: an outside supplier's unit value below that of partner-origin supply into the same
  importer: ``(UV_partners − UV_e) / UV_partners`` above ``undercut_threshold``.
* Price tests run on processed products (catalogue stage ``refining``) by default: ores and concentrates
  are sold by grade, so a gross tonne from one origin is not the like product of another's.
* **Outside-supplier share** of the importer's imports, and the largest single outside supplier's share,
  flagged at the CRMA's 65 % single-country benchmark.

Price findings carry a confidence: ``low`` when the benchmark is more than ``product_mix_ratio`` (3×) the
examined price — at such gaps a different product mix inside the HS code (scrap, low grades, other compounds)
is the likelier explanation, so the finding is kept for review with severity ``low`` — ``medium`` when the
benchmark rests on fewer than six exporters, ``high`` otherwise.  A dumping finding's confidence is further
held to what three independent checks say (``checks`` on the finding, each ``supports``, ``contradicts`` or
``unavailable`` with its figures):

* **spread** — the undistorted exporters' unit values in the code: a code whose catalogue content is not one
  product (``content_factor`` not 1: hydroxides and metal, mattes and powders) or whose interquartile ratio
  P75/P25 exceeds ``product_mix_ratio`` mixes products or grades, and an export price inside their P10–P90
  band is not anomalous (both contradict);
* **own sales elsewhere** — the exporter's unit value of the same code to importers outside the examined one:
  ≥ 20 % higher supports (price discrimination), within ±20 % contradicts (its product, not its price to this
  importer, is cheap);
* **reference price** — where the code is the refined metal (content factor 1) and minsec bundles a price
  series for the material: an export price below the year's mean reference supports, one at or above it
  contradicts.

``high`` needs two checks supporting and none contradicting; any contradiction makes the finding ``low``.

Each finding carries its evidence: the flows behind it (exporter, importer, year, value, tonnes, unit value).
BACI values are FOB in thousands of US dollars and quantities in tonnes; unit values here are USD per tonne of
the HS product (gross weight unless the catalogue says otherwise).  :func:`build_scan` and :func:`scan_findings`
run the same tests on any flow table in BACI's columns: :mod:`minsec.markets.us_surveillance` feeds them US
imports from USITC DataWeb to 2026.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from minsec.markets.series import MarketInputError

SURGE_TRENDS = ("loglinear", "mean")
#: columns a flow table may carry beyond BACI's that the evidence keeps (USITC: period, unit group, flag)
EVIDENCE_EXTRA = ("period", "quantity_unit", "flag")


@dataclass(frozen=True)
class SurveillanceSettings:
    de_minimis: float = 0.02            # WTO ADA Art. 5.8 (2 % of export price)
    negligible_share: float = 0.03      # WTO ADA Art. 5.8 (3 % of imports of the like product)
    surge_ratio: float = 1.5            # minsec default: volume ≥ 1.5 × trend
    trend_years: int = 3
    undercut_threshold: float = 0.05    # minsec default: ≥ 5 % below partner-origin unit value
    single_supplier_share: float = 0.65  # CRMA Art. 5(1)(b) benchmark
    min_quantity_t: float = 1.0         # ignore flows below this many tonnes
    min_benchmark_exporters: int = 3    # a normal value needs undistorted prices from at least this many
    min_surge_value_usd: float = 1e6    # a surge needs imports worth at least this much in the year
    product_mix_ratio: float = 3.0      # a price gap beyond this factor more likely means a different product
    distorted_exporters: frozenset[str] = frozenset({"CHN"})
    # ores and concentrates trade by grade: a gross tonne from one mine is not the like product of another's,
    # so price tests (dumping, undercutting) run on processed products unless asked otherwise
    price_test_stages: frozenset[str] = frozenset({"refining"})
    # the trend a surge is measured against: "loglinear" (BACI years) or "mean" — the trailing mean, for short
    # periods such as January–April, whose extrapolated log-linear trend would amplify noise
    surge_trend: str = "loglinear"

    def __post_init__(self) -> None:
        for name in ("de_minimis", "negligible_share", "undercut_threshold", "single_supplier_share"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise MarketInputError(f"{name} must be in [0, 1] (got {value})")
        if self.surge_ratio <= 1:
            raise MarketInputError(f"surge ratio must be > 1 (got {self.surge_ratio})")
        if self.trend_years < 2:
            raise MarketInputError(f"the surge trend needs at least 2 years (got {self.trend_years})")
        if self.surge_trend not in SURGE_TRENDS:
            raise MarketInputError(f"surge trend must be {' or '.join(SURGE_TRENDS)} (got {self.surge_trend!r})")


@dataclass
class Finding:
    """One surveillance finding, ready to become an alert (kind, where, how big, against which threshold)."""

    kind: str            # dumping | surge | undercutting | outside_share
    hs92: str
    material: str
    importer: str
    exporter: str        # ISO3, or "outside" for all outside suppliers together
    year: int
    metric: str
    value: float
    threshold: float
    severity: str
    summary: str
    evidence: list[dict] = field(default_factory=list)
    confidence: str = "high"
    checks: dict | None = None        # dumping: spread, own sales elsewhere, reference price (module docstring)

    def record(self, with_evidence: bool = True) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "evidence"}
        if with_evidence:
            out["evidence"] = self.evidence
        else:
            out["evidence_flows"] = len(self.evidence)
        return out


# ------------------------------------------------------------------------------------ pure building blocks
def unit_values(flows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """``Σ value``, ``Σ tonnes`` and unit value (USD/t) per group; flows without a quantity are left out."""
    known = flows[flows["quantity_t"].notna() & (flows["quantity_t"] > 0)]
    out = known.groupby(by, observed=True)[["value_kusd", "quantity_t"]].sum().reset_index()
    out["unit_value_usd_per_t"] = out["value_kusd"] * 1000 / out["quantity_t"]
    return out


def weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    """The value at which cumulative weight first reaches half the total (values sorted ascending)."""
    if len(values) == 0 or weights.sum() <= 0:
        return float("nan")
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def dumping_margin(normal_value: np.ndarray, export_price: np.ndarray) -> np.ndarray:
    """``(NV − EP) / EP`` (WTO Anti-Dumping Agreement Art. 2; margins ≤ 2 % are de minimis)."""
    return (np.asarray(normal_value, float) - export_price) / export_price


def surge_ratios(quantities: np.ndarray, trend_years: int = 3, trend: str = "loglinear") -> np.ndarray:
    """Volume over trailing trend, per series (rows) and year (columns); NaN for the first ``trend_years``.

    The trend of year ``y`` is the log-linear least-squares fit over years ``y − k … y − 1`` evaluated at
    ``y``; where one of those years is zero, the trailing mean instead.  ``trend="mean"``: the trailing mean
    always (a period against the average of the same period in the ``k`` previous years).
    """
    if trend not in SURGE_TRENDS:
        raise MarketInputError(f"surge trend must be {' or '.join(SURGE_TRENDS)} (got {trend!r})")
    q = np.asarray(quantities, float)
    n_series, n_years = q.shape
    out = np.full((n_series, n_years), np.nan)
    if n_years <= trend_years:
        return out
    windows = sliding_window_view(q, trend_years, axis=1)[:, :-1, :]     # series × (years − k) × k
    x = np.arange(trend_years) - (trend_years - 1) / 2
    positive = (windows > 0).all(axis=2)
    logs = np.log(np.where(windows > 0, windows, 1.0))
    slope = (logs * x).sum(axis=2) / (x * x).sum()
    level = logs.mean(axis=2)
    loglinear = np.exp(level + slope * (trend_years - (trend_years - 1) / 2))
    baseline = np.where(positive & (trend == "loglinear"), loglinear, windows.mean(axis=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        out[:, trend_years:] = np.where(baseline > 0, q[:, trend_years:] / baseline, np.inf)
    return out


def _price_confidence(benchmark: float, price: float, exporters: int, settings: SurveillanceSettings) -> str:
    """``low`` when the gap is so wide that a different product mix inside the HS code is the likelier cause
    (scrap, low grades, other compounds), ``medium`` when the benchmark rests on few exporters."""
    if benchmark > settings.product_mix_ratio * price:
        return "low"
    return "medium" if exporters < 2 * settings.min_benchmark_exporters else "high"


def _severity(kind: str, value: float) -> str:
    cuts = {"dumping": (0.10, 0.25), "surge": (2.0, 3.0), "undercutting": (0.15, 0.30),
            "outside_share": (0.80, 0.90)}[kind]
    return "high" if value >= cuts[1] else "medium" if value >= cuts[0] else "low"


def _evidence(flows: pd.DataFrame) -> list[dict]:
    frame = flows.assign(value_usd=flows["value_kusd"] * 1000,
                         unit_value_usd_per_t=flows["value_kusd"] * 1000 / flows["quantity_t"])
    columns = ["exporter", "importer", "year", "hs92", "value_usd", "quantity_t", "unit_value_usd_per_t"]
    columns += [c for c in EVIDENCE_EXTRA if c in frame]
    return frame[columns].sort_values("value_usd", ascending=False).replace({np.nan: None}).to_dict("records")


# ----------------------------------------------------------------------------------------------- the scan
@dataclass(frozen=True)
class _Scan:
    """What every test of one importer × year reads: its imports from outside the importer, per origin."""

    importer: str
    year: int
    settings: SurveillanceSettings
    material_of: pd.Series          # hs92 → material
    into: pd.DataFrame              # flows into the importer's members from outside it, all years
    this_year: pd.DataFrame         # … in ``year``
    by_origin: pd.DataFrame         # hs92 × exporter unit values, volume share, outside the partnership or not
    candidates: pd.DataFrame        # outside origins above negligible volume on price-tested codes
    content_factor: pd.Series       # hs92 → the catalogue's content factor (1: one product; NaN: a mix)
    references: dict[str, float]    # hs92 → the year's mean reference price, USD/t (refined-metal codes only)

    def material(self, hs: str) -> str:
        return str(self.material_of.get(hs, ""))

    def flows(self, hs: str, exporter: str) -> pd.DataFrame:
        return self.this_year[(self.this_year["hs92"] == hs) & (self.this_year["exporter"] == exporter)]


def surveil(trade: pd.DataFrame, hs_materials: pd.DataFrame, importer: str, members: frozenset[str],
            partners: frozenset[str], year: int, settings: SurveillanceSettings | None = None,
            references: dict[str, float] | None = None) -> list[Finding]:
    """All findings for ``importer`` (whose ISO3 ``members`` are given) in ``year``; see the module docstring.

    ``hs_materials``: ``hs92 → material`` (the catalogue's HS table); ``partners``: ISO3 of the partnership;
    ``references``: material → the year's reference price in USD/t (the dumping test's third check).
    """
    settings = settings or SurveillanceSettings()
    years = sorted(int(y) for y in trade["year"].unique())
    if year not in years:
        raise MarketInputError(f"no trade data for {year}; the trade table covers {years[0]}–{years[-1]}")
    scan = build_scan(trade, hs_materials, importer, members, partners, year, settings, references=references)
    return scan_findings(scan, trade, members, partners, years, KINDS)


#: the tests, in the order findings are listed
KINDS = ("dumping", "surge", "undercutting", "outside_share")


def build_scan(trade: pd.DataFrame, hs_materials: pd.DataFrame, importer: str, members: frozenset[str],
               partners: frozenset[str], year: int, settings: SurveillanceSettings,
               priced: set[str] | None = None, references: dict[str, float] | None = None) -> _Scan:
    """What the tests of ``importer`` × ``year`` read (``trade`` in BACI's columns: ``exporter, importer, hs92,
    year, value_kusd, quantity_t``); ``priced``: the codes price tests run on (default: those of the
    catalogue's ``settings.price_test_stages``)."""
    catalogue_rows = hs_materials.drop_duplicates("hs92").set_index("hs92")
    if priced is None:
        priced = set(catalogue_rows.index[catalogue_rows["stage"].isin(settings.price_test_stages)])
    into = trade[trade["importer"].isin(members) & ~trade["exporter"].isin(members)]
    into = into[into["quantity_t"].fillna(0) >= settings.min_quantity_t]
    this_year = into[into["year"] == year]
    by_origin = unit_values(this_year, ["hs92", "exporter"])
    totals = by_origin.groupby("hs92")["quantity_t"].transform("sum")
    by_origin["share"] = by_origin["quantity_t"] / totals
    by_origin["outside"] = ~by_origin["exporter"].isin(partners)
    candidates = by_origin[by_origin["outside"] & (by_origin["share"] >= settings.negligible_share)
                           & by_origin["hs92"].isin(priced)]
    factors = (catalogue_rows["content_factor"] if "content_factor" in catalogue_rows
               else pd.Series(np.nan, index=catalogue_rows.index))
    # a reference price applies only where the code is the refined material itself (content factor 1)
    code_references = {hs: float(references[material]) for hs, material in catalogue_rows["material"].items()
                       if references and material in references and factors.get(hs) == 1.0}
    return _Scan(importer, year, settings, catalogue_rows["material"], into, this_year, by_origin, candidates,
                 factors, code_references)


def scan_findings(scan: _Scan, trade: pd.DataFrame, members: frozenset[str], partners: frozenset[str],
                  years: list[int], kinds: tuple[str, ...] = KINDS) -> list[Finding]:
    """The findings of the tests named in ``kinds`` (``dumping`` reads every exporter's sales in ``trade``),
    sorted by kind, code and size."""
    tests = {"dumping": lambda: _dumping(scan, trade),
             "undercutting": lambda: _undercutting(scan, trade, members, partners),
             "surge": lambda: _surges(scan, years, partners), "outside_share": lambda: _outside_shares(scan)}
    findings = [finding for kind in KINDS if kind in kinds for finding in tests[kind]()]
    findings.sort(key=lambda f: (KINDS.index(f.kind), f.hs92, -f.value))
    return findings


def _dumping(scan: _Scan, trade: pd.DataFrame) -> list[Finding]:
    """Dumping margins against a constructed normal value: the undistorted exporters' sales to the world,
    leaving out the examined exporter (quantity-weighted median unit value)."""
    settings, year = scan.settings, scan.year
    year_trade = trade[(trade["year"] == year) & trade["quantity_t"].notna() & (trade["quantity_t"] > 0)]
    world = year_trade[~year_trade["exporter"].isin(settings.distorted_exporters)]
    world_uv = world["value_kusd"].to_numpy() * 1000 / world["quantity_t"].to_numpy()
    world_groups = {hs: idx for hs, idx in world.groupby("hs92").indices.items()}
    findings = []
    for row in scan.candidates.itertuples():
        idx = world_groups.get(row.hs92)
        if idx is None:
            continue
        keep = idx[world["exporter"].to_numpy()[idx] != row.exporter]
        exporters = len(np.unique(world["exporter"].to_numpy()[keep]))
        if exporters < settings.min_benchmark_exporters:
            continue
        quantities = world["quantity_t"].to_numpy()[keep]
        normal = weighted_median(world_uv[keep], quantities)
        margin = float(dumping_margin(normal, row.unit_value_usd_per_t))
        if margin > settings.de_minimis:
            price = float(row.unit_value_usd_per_t)
            checks = {"spread": _spread_check(scan, row.hs92, world_uv[keep], quantities, price),
                      "own_sales_elsewhere": _elsewhere_check(year_trade, row.hs92, row.exporter, scan, price),
                      "reference_price": _reference_check(scan, row.hs92, price)}
            confidence = _checked_confidence(_price_confidence(normal, price, exporters, settings), checks)
            findings.append(Finding(
                "dumping", row.hs92, scan.material(row.hs92), scan.importer, row.exporter, year,
                "dumping_margin", margin, settings.de_minimis,
                "low" if confidence == "low" else _severity("dumping", margin),
                f"{row.exporter} → {scan.importer}, HS {row.hs92}: export price {price:,.0f} "
                f"USD/t vs constructed normal value {normal:,.0f} USD/t ({len(keep)} flows from {exporters} "
                f"undistorted exporters): margin {margin:.1%} > de minimis {settings.de_minimis:.0%}; "
                f"{row.share:.0%} of imports; checks: "
                + ", ".join(f"{name.replace('_', ' ')} {c['verdict']}" for name, c in checks.items()),
                _evidence(scan.flows(row.hs92, row.exporter)), confidence, checks))
    return findings


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][min(np.searchsorted(cumulative, q * cumulative[-1]), len(values) - 1)])


def _spread_check(scan: _Scan, hs: str, unit_values_: np.ndarray, quantities: np.ndarray, price: float) -> dict:
    """Does the code hold one product at one price level, and is the price outside the undistorted band?"""
    p10, p25, p75, p90 = (_weighted_quantile(unit_values_, quantities, q) for q in (0.10, 0.25, 0.75, 0.90))
    ratio = p75 / p25 if p25 > 0 else float("inf")
    factor = scan.content_factor.get(hs)
    figures = {"p10_usd_per_t": p10, "p25_usd_per_t": p25, "p75_usd_per_t": p75, "p90_usd_per_t": p90,
               "interquartile_ratio": ratio, "content_factor": None if pd.isna(factor) else float(factor)}
    if pd.isna(factor) or factor != 1.0:
        return figures | {"verdict": "contradicts", "why": "the code mixes products or grades (variable content)"}
    if ratio > scan.settings.product_mix_ratio:
        return figures | {"verdict": "contradicts", "why": f"undistorted unit values spread {ratio:.1f}× (P75/P25): "
                                                         "different products or grades"}
    if price >= p10:
        return figures | {"verdict": "contradicts", "why": "the export price lies within the undistorted P10–P90 "
                                                         "band"}
    return figures | {"verdict": "supports", "why": "one product, and the price below the undistorted P10"}


def _elsewhere_check(trade_year: pd.DataFrame, hs: str, exporter: str, scan: _Scan, price: float) -> dict:
    """What the exporter charges other importers for the same code that year."""
    members = set(scan.into["importer"].unique())
    rows = trade_year[(trade_year["hs92"] == hs) & (trade_year["exporter"] == exporter)
                      & ~trade_year["importer"].isin(members)]
    quantity = float(rows["quantity_t"].sum())
    if quantity <= 0:
        return {"verdict": "unavailable", "why": "no sales to other importers that year"}
    elsewhere = float(rows["value_kusd"].sum() * 1000 / quantity)
    ratio = elsewhere / price
    figures = {"unit_value_elsewhere_usd_per_t": elsewhere, "quantity_elsewhere_t": quantity,
               "ratio_to_export_price": ratio}
    if ratio >= 1.2:
        return figures | {"verdict": "supports", "why": f"sells {ratio:.2f}× dearer elsewhere: price discrimination"}
    if ratio > 1 / 1.2:
        return figures | {"verdict": "contradicts", "why": "sells at the same price elsewhere: its product is cheap, "
                                                          "not its price to this importer"}
    return figures | {"verdict": "unavailable", "why": "sells cheaper elsewhere: inconclusive"}


def _reference_check(scan: _Scan, hs: str, price: float) -> dict:
    reference = scan.references.get(hs)
    if reference is None:
        return {"verdict": "unavailable", "why": "no reference price for this code (not the refined metal, or no "
                                                 "bundled price series)"}
    figures = {"reference_usd_per_t": reference, "ratio_to_export_price": reference / price}
    if price < reference * (1 - scan.settings.de_minimis):
        return figures | {"verdict": "supports", "why": "the export price is below the year's reference price"}
    return figures | {"verdict": "contradicts", "why": "the export price is at or above the year's reference price"}


def _checked_confidence(base: str, checks: dict) -> str:
    """``low`` on any contradiction (or when the gap alone says product mix), ``high`` only with two checks
    supporting and none contradicting, ``medium`` otherwise."""
    verdicts = [c["verdict"] for c in checks.values()]
    if base == "low" or "contradicts" in verdicts:
        return "low"
    return "high" if base == "high" and verdicts.count("supports") >= 2 else "medium"


def _undercutting(scan: _Scan, trade: pd.DataFrame, members: frozenset[str], partners: frozenset[str]
                  ) -> list[Finding]:
    """Outside suppliers' unit values against partner-origin supply into the same importer (intra-group too)."""
    settings, year = scan.settings, scan.year
    partner_supply = trade[(trade["year"] == year) & trade["importer"].isin(members)
                           & trade["exporter"].isin(partners)]
    partner_uv = unit_values(partner_supply, ["hs92"]).set_index("hs92")["unit_value_usd_per_t"]
    partner_exporters = partner_supply.groupby("hs92")["exporter"].nunique()
    findings = []
    for row in scan.candidates.itertuples():
        if row.hs92 not in partner_uv.index:
            continue
        reference = float(partner_uv[row.hs92])
        undercut = (reference - row.unit_value_usd_per_t) / reference
        if undercut > settings.undercut_threshold:
            confidence = _price_confidence(reference, row.unit_value_usd_per_t, partner_exporters[row.hs92],
                                           settings)
            findings.append(Finding(
                "undercutting", row.hs92, scan.material(row.hs92), scan.importer, row.exporter, year,
                "undercutting_margin", float(undercut), settings.undercut_threshold,
                "low" if confidence == "low" else _severity("undercutting", undercut),
                f"{row.exporter} sells HS {row.hs92} into {scan.importer} at {row.unit_value_usd_per_t:,.0f} "
                f"USD/t, {undercut:.0%} below partner-origin supply ({reference:,.0f} USD/t)",
                _evidence(scan.flows(row.hs92, row.exporter)), confidence))
    return findings


def _surges(scan: _Scan, years: list[int], partners: frozenset[str]) -> list[Finding]:
    """Import volume against its log-linear trend, per outside origin and for all outside suppliers together."""
    settings, year, by_origin = scan.settings, scan.year, scan.by_origin
    window = [y for y in years if y <= year][-(settings.trend_years + 1):]
    if len(window) != settings.trend_years + 1:
        return []
    recent = scan.into[scan.into["year"].isin(window) & ~scan.into["exporter"].isin(partners)]
    per_origin = recent.pivot_table(index=["hs92", "exporter"], columns="year", values="quantity_t",
                                    aggfunc="sum", fill_value=0.0).reindex(columns=window, fill_value=0.0)
    all_outside = recent.pivot_table(index="hs92", columns="year", values="quantity_t", aggfunc="sum",
                                     fill_value=0.0).reindex(columns=window, fill_value=0.0)
    all_outside.index = pd.MultiIndex.from_arrays([all_outside.index, ["outside"] * len(all_outside)],
                                                  names=["hs92", "exporter"])
    table = pd.concat([per_origin, all_outside])
    ratio = surge_ratios(table.to_numpy(), settings.trend_years, settings.surge_trend)[:, -1]
    share = by_origin.set_index(["hs92", "exporter"])["share"]
    outside_share = by_origin[by_origin["outside"]].groupby("hs92")["share"].sum()
    value_now = recent[recent["year"] == year]
    value_origin = value_now.groupby(["hs92", "exporter"])["value_kusd"].sum() * 1000
    value_outside = value_now.groupby("hs92")["value_kusd"].sum() * 1000
    findings = []
    for (hs, exporter), r, q in zip(table.index, ratio, table[year].to_numpy(), strict=True):
        weight = outside_share.get(hs, 0.0) if exporter == "outside" else share.get((hs, exporter), 0.0)
        worth = value_outside.get(hs, 0.0) if exporter == "outside" else value_origin.get((hs, exporter), 0.0)
        # a supplier appearing from nothing has no trend to compare with: the share and concentration
        # findings cover it
        if not (np.isfinite(r) and r >= settings.surge_ratio and weight >= settings.negligible_share
                and worth >= settings.min_surge_value_usd):
            continue
        flows = recent[(recent["hs92"] == hs) & ((recent["exporter"] == exporter) | (exporter == "outside"))]
        trend_q = q / r if np.isfinite(r) else 0.0
        findings.append(Finding(
            "surge", hs, scan.material(hs), scan.importer, exporter, year, "volume_to_trend",
            float(r), settings.surge_ratio, _severity("surge", min(r, 1e9)),
            f"imports of HS {hs} into {scan.importer} from {exporter}: {q:,.0f} t in {year} vs trend "
            f"{trend_q:,.0f} t ({r:.1f}×)", _evidence(flows)))
    return findings


def _outside_shares(scan: _Scan) -> list[Finding]:
    """Concentration on one outside supplier (the CRMA 65 % single-third-country benchmark), by volume."""
    settings, findings = scan.settings, []
    for hs, group in scan.by_origin.groupby("hs92"):
        top = group[group["outside"]].sort_values("share", ascending=False)
        if top.empty or top["share"].iloc[0] < settings.single_supplier_share:
            continue
        leader = top.iloc[0]
        findings.append(Finding(
            "outside_share", hs, scan.material(hs), scan.importer, leader["exporter"], scan.year,
            "single_outside_supplier_share", float(leader["share"]), settings.single_supplier_share,
            _severity("outside_share", float(leader["share"])),
            f"{leader['exporter']} supplies {leader['share']:.0%} of {scan.importer}'s imports of HS {hs} by volume "
            f"(outside suppliers together {top['share'].sum():.0%})", _evidence(scan.flows(hs, leader["exporter"]))))
    return findings


def import_shares(trade: pd.DataFrame, members: frozenset[str], partners: frozenset[str], year: int
                  ) -> pd.DataFrame:
    """Per HS code: imports (t, USD), the outside suppliers' share and the largest outside supplier."""
    into = trade[(trade["year"] == year) & trade["importer"].isin(members) & ~trade["exporter"].isin(members)]
    by_origin = unit_values(into, ["hs92", "exporter"])
    by_origin["outside"] = ~by_origin["exporter"].isin(partners)
    rows = []
    for hs, group in by_origin.groupby("hs92"):
        total = group["quantity_t"].sum()
        out = group[group["outside"]].sort_values("quantity_t", ascending=False)
        rows.append({"hs92": hs, "imports_t": total, "imports_usd": group["value_kusd"].sum() * 1000,
                     "outside_share": out["quantity_t"].sum() / total if total else np.nan,
                     "top_outside_supplier": out["exporter"].iloc[0] if len(out) else None,
                     "top_outside_share": out["quantity_t"].iloc[0] / total if len(out) and total else 0.0})
    return pd.DataFrame(rows)
