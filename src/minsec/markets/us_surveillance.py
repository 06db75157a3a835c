"""Import-price surveillance of US imports to 2026 from USITC DataWeb (``us_trade``: U.S. imports for
consumption, customs value and quantity by country of origin and HTS heading; U.S. Census Bureau statistics).

The tests are those of :mod:`minsec.markets.surveillance` — same settings, same finding and evidence structure,
same code — on US imports of one period (a calendar year, or January–April year-to-date):

* **Unit value** of origin ``j``: ``UV_j = Σ value_usd / Σ tonnes`` over its gross-weight first-unit line
  groups (kilograms, metric tons, grams); line groups counted in metal content, in number or with no unit have
  no gross tonne and are left out of both value and tonnes.
* **Price undercutting**: ``(UV_P − UV_j) / UV_P > undercut_threshold`` for an origin ``j`` outside the
  partnership with at least ``negligible_share`` of the heading's tonnes, ``UV_P`` the unit value of the
  partnership members' supply (Σ value / Σ tonnes over them).
* **Import surge**: tonnes against the trend of the same months in the ``trend_years`` previous years — for
  a calendar year (2025) the log-linear trend of the BACI test, for January–April (2026) the mean of
  January–April of the previous three years (``surge_trend="mean"``: four-month volumes are too noisy to
  extrapolate); a surge needs ``min_surge_value_usd`` × months / 12 of imports.  A series with a suppressed or
  unreported quantity in the window is not tested (a missing tonne is not a zero).
* **Largest outside supplier's share** of the tonnes, flagged at the CRMA's 65 %.

Only US imports are in the table, so there is no **dumping** test: a constructed normal value needs the
exporters' sales to other markets (the BACI source has them, to 2024).  Volumes and shares are of imports from
the 18 partners of the DataWeb query, not of all US imports.  Price tests skip mixed headings (catalogue
``mixed``: an HS-4 total of several products, such as 8112 Ga/Ge/In/Nb… or 8505 magnets) unless
``include_mixed``, and — as on BACI — ores and concentrates (stage ``mining``) unless the settings include
them; magnets (stage ``manufacturing``) are processed products and priced like refined ones.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import pandas as pd

from minsec.data.loaders.usitc import MONTHS, parse_period
from minsec.markets.surveillance import Finding, SurveillanceSettings, build_scan, scan_findings

SOURCE = "usitc_dataweb"
#: the tests that run on US imports (no dumping: no exporters' sales to other markets)
KINDS = ("surge", "undercutting", "outside_share")
#: stages priced besides the settings' ``price_test_stages``: magnets are processed, not traded by grade
PROCESSED_STAGES = frozenset({"manufacturing"})
#: flags of a quantity that is not the full figure (the loader's ``_flags``)
MISSING_FLAGS = frozenset({"quantity_suppressed", "quantity_partly_suppressed", "quantity_not_reported"})
#: the fields of :meth:`PeriodFinding.record`, in order
FINDING_COLUMNS = ["kind", "hs4", "material", "importer", "exporter", "period", "year", "months", "mixed", "metric",
                   "value", "threshold", "severity", "summary", "confidence", "evidence", "source"]


@dataclass
class PeriodFinding(Finding):
    """A :class:`~minsec.markets.surveillance.Finding` on US imports of one DataWeb period; ``hs92`` holds the
    HS-4 heading (``hs4`` in :meth:`record`) and ``year`` the period's year."""

    period: str = ""
    months: int = 12
    mixed: bool = False
    source: str = SOURCE

    def record(self, with_evidence: bool = True) -> dict:
        out = super().record(with_evidence)
        out["hs4"] = out.pop("hs92")
        return out


def split_period(period: str) -> tuple[int, bool, int, int]:
    """``'2025'`` → (2025, False, 1, 12); ``'2026-01..2026-04'`` → (2026, True, 1, 4): the loader's period
    grammar (:func:`minsec.data.loaders.usitc.parse_period`) plus whether it is a year-to-date period."""
    year, first, last = parse_period(period)
    return year, ".." in period, first, last


def describe(period: str, trend_years: int | None = None, surge_trend: str = "loglinear") -> str:
    """The period (``January–April 2026``) and, given ``trend_years``, what its surges are measured against."""
    year, ytd, first, last = split_period(period)
    months = f"{MONTHS[first - 1]}–{MONTHS[last - 1]} " if ytd else ""
    if trend_years is None:
        return f"{months}{year}"
    window = f"{months}{year - trend_years}–{year - 1}"
    trend = "the mean of" if surge_trend == "mean" else "the log-linear trend of"
    return f"{months}{year} against {trend} {window}"


def flows(us_trade: pd.DataFrame, period: str) -> pd.DataFrame:
    """US imports of the period's series (every year's same months) in the columns the BACI tests read —
    ``exporter`` (the partner), ``importer`` (USA), ``hs92`` (the HS-4 heading), ``year``, ``value_kusd``,
    ``quantity_t`` — plus ``period``, ``quantity_unit`` and ``flag`` for the evidence; gross-weight first-unit
    line groups only.  A partly suppressed quantity (a lower bound) is dropped like a suppressed one."""
    _, ytd, first, last = split_period(period)
    rows = us_trade[(us_trade["flow"] == "import") & (us_trade["quantity_kind"] == "first")
                    & (us_trade["quantity_basis"] == "gross")]
    rows = rows[rows["period"].str.contains("..", regex=False).eq(ytd) & (rows["months"] == last - first + 1)]
    return pd.DataFrame({
        "exporter": rows["partner"], "importer": rows["reporter"], "hs92": rows["hs4"],
        "year": rows["year"].astype(int), "value_kusd": rows["value_usd"] / 1000,
        "quantity_t": rows["quantity_t"].mask(rows["flag"].isin(MISSING_FLAGS)),
        "period": rows["period"], "quantity_unit": rows["quantity_unit"], "flag": rows["flag"]})


def priced_headings(headings: pd.DataFrame, settings: SurveillanceSettings, include_mixed: bool) -> set[str]:
    """The headings price tests run on: processed stages, and mixed headings only when asked."""
    stages = settings.price_test_stages | PROCESSED_STAGES
    chosen = headings["stage"].isin(stages) & ((headings["mixed"] != "yes") | include_mixed)
    return set(headings.index[chosen])


def surveil_us(us_trade: pd.DataFrame, headings: pd.DataFrame, partners: frozenset[str], periods: list[str],
               settings: SurveillanceSettings | None = None, include_mixed: bool = False
               ) -> tuple[list[PeriodFinding], list[str]]:
    """Findings on US imports in each of ``periods`` (``'2025'``, ``'2026-01..2026-04'``) and the notes that go
    with them (what was not tested and why).  ``headings``: the catalogue's ``hts4_materials`` (indexed by
    ``hs4``); ``partners``: ISO3 of the partnership."""
    settings = settings or SurveillanceSettings()
    catalogue = pd.DataFrame({"hs92": headings.index, "material": headings["material"].to_numpy(),
                              "stage": headings["stage"].to_numpy()})
    priced = priced_headings(headings, settings, include_mixed)
    findings: list[PeriodFinding] = []
    untested: list[str] = []
    for period in periods:
        year, ytd, first, last = split_period(period)
        months = last - first + 1
        series = flows(us_trade, period)
        chosen = settings if not ytd else replace(
            settings, surge_trend="mean", min_surge_value_usd=settings.min_surge_value_usd * months / 12)
        years = sorted(int(y) for y in series["year"].unique())
        scan = build_scan(series, catalogue, "USA", frozenset({"USA"}), partners, year, chosen, priced)
        found = scan_findings(scan, series, frozenset({"USA"}), partners, years, KINDS)
        gaps = _gaps(series, years, year, chosen.trend_years, partners)
        untested += [f"{hs} {origin} ({period})" for hs, origin in sorted(gaps)]
        for finding in found:
            if finding.kind == "surge" and (finding.hs92, finding.exporter) in gaps:
                continue
            label = describe(period, *((chosen.trend_years, chosen.surge_trend) if finding.kind == "surge" else ()))
            findings.append(_in_period(finding, period, months, headings.loc[finding.hs92], label))
    return findings, _notes(headings, settings, include_mixed, untested)


def _gaps(series: pd.DataFrame, years: list[int], year: int, trend_years: int, partners: frozenset[str]
          ) -> set[tuple[str, str]]:
    """(heading, origin) series with a missing quantity in the surge window — and (heading, ``"outside"``) when
    one of them is an outside origin: their trend cannot be known."""
    window = [y for y in years if y <= year][-(trend_years + 1):]
    missing = series[series["year"].isin(window) & series["flag"].isin(MISSING_FLAGS)]
    gaps = set(zip(missing["hs92"], missing["exporter"], strict=True))
    return gaps | {(hs, "outside") for hs, origin in gaps if origin not in partners}


def _in_period(finding: Finding, period: str, months: int, heading: pd.Series, label: str) -> PeriodFinding:
    """The BACI finding as a finding of the DataWeb period: evidence keyed by ``hs4`` with whole dollars, the
    summary saying the period, the coverage and, for a mixed heading, what it holds."""
    mixed = heading["mixed"] == "yes"
    evidence = [{("hs4" if k == "hs92" else k): (round(v, 2) if k == "value_usd" and v is not None else v)
                 for k, v in row.items()} for row in finding.evidence]
    summary = f"{finding.summary} [{label}; of imports from the 18 recorded partners"
    summary += f"; mixed heading: {heading['contains'].replace(';', ', ')}]" if mixed else "]"
    fields = {**finding.__dict__, "summary": summary, "evidence": evidence}
    return PeriodFinding(**fields, period=period, months=months, mixed=bool(mixed))


def _notes(headings: pd.DataFrame, settings: SurveillanceSettings, include_mixed: bool,
           untested: list[str]) -> list[str]:
    """What the findings do not cover, for the output beside them."""
    by_stage = headings["stage"].isin(settings.price_test_stages | PROCESSED_STAGES)
    mixed = list(headings.index[by_stage & (headings["mixed"] == "yes")])
    ores = list(headings.index[~by_stage])
    notes = ["dumping is not tested: us_trade holds US imports only, no exporters' sales to other markets for a "
             "constructed normal value (use the BACI source, to 2024)",
             "volumes, shares and unit values are of US imports from the 18 recorded partners of the DataWeb "
             "query, gross-weight line groups only — not of all US imports"]
    if not include_mixed:
        notes.append(f"price tests (undercutting) skipped on the mixed headings {', '.join(mixed)} — HS-4 totals "
                     "of several products; include_mixed / --include-mixed runs them; surges and shares are "
                     "tested and marked 'mixed heading'")
    if ores:
        stages = sorted(set(headings.loc[ores, "stage"]))
        notes.append(f"price tests skipped on {', '.join(ores)} (stage {', '.join(stages)}: traded by grade; "
                     "include_ores / --include-ores runs them)")
    if untested:
        notes.append(f"surge not tested where a quantity is suppressed or unreported in the window: "
                     f"{', '.join(untested)}")
    return notes
