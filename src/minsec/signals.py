"""Early-warning signals: pure detectors over a SupplyChain's tables, each finding an :class:`EarlyWarning`
with evidence, a severity and a default TLP label (the service publishes them as alerts: ``service.warnings``).

Sources and rules (each warning has a fingerprint, so running again publishes only what is new or changed):

* **Export controls** (the recorded MOFCOM/GAC measures and USGS MCS 2026 Table 4): one warning per measure
  and status *computed* on the day (:func:`minsec.data.control_status.status_on`, shared with the briefs, the
  web pages and the rules) — a measure whose computed status changes gets a new warning.  A suspension that
  ended before the day is flagged separately (the controls may be back in force).  Default TLP:CLEAR (public
  government notices).
* **Concentration**: a material × stage whose leading producer's share of world output crossed the CRMA's
  65 % benchmark between the two latest years of its world table (USGS; minsec's derived rare-earth chain for the
  elements and magnets USGS does not publish: upwards: high severity; downwards: info).  GREEN.
* **Price spikes**: a monthly log return more than 3 standard deviations from the mean of the previous 60
  months, in a bundled monthly price series (falls are reported too: a collapse can signal dumping); for the
  annual USGS series (rare-earth oxides by element, minor metals), the latest annual log change against the
  earlier annual changes by the same 3 σ rule, once a series has at least 6 years.  GREEN.
* **Trade surveillance**: dumping-margin and import-surge findings for the partnership's imports in the
  latest trade year with high severity and high confidence (:mod:`minsec.markets.surveillance`).  GREEN.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

CRMA_SHARE = 0.65
SPIKE_SIGMAS = 3.0
SPIKE_WINDOW = 60


@dataclass
class EarlyWarning:
    kind: str
    key: str
    title: str
    body: str
    severity: str
    tlp: str
    materials: list[str]
    countries: list[str]
    stage: str | None
    source: str
    evidence: dict = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(f"{self.kind}|{self.key}".encode()).hexdigest()


def export_control_warnings(controls: pd.DataFrame, today: dt.date) -> list[EarlyWarning]:
    """One warning per recorded measure and computed status on ``today``
    (:func:`minsec.data.control_status.status_on`, the rule every consumer shares), plus a
    ``suspension_lapsed`` warning for each measure whose suspension ended before ``today``."""
    from minsec.data.catalogue import control_materials
    from minsec.data.control_status import status_on

    out = []
    status = status_on(controls, today)
    for row, now in zip(controls.itertuples(), status.itertuples(), strict=True):
        materials = control_materials(row.elements, row.materials_scope)
        end = now.suspension_end.date() if pd.notna(now.suspension_end) else None
        evidence = {"measure_id": row.measure_id, "announcement": row.announcement_en,
                    "country": now.imposing_country,
                    "announced": str(row.announced_date.date()) if pd.notna(row.announced_date) else None,
                    "effective": str(row.effective_date.date()) if pd.notna(row.effective_date) else None,
                    "scope": row.materials_scope, "control_type": row.control_type,
                    "destinations": row.destination_scope, "status": now.computed_status,
                    "status_text": now.status_text, "as_of": str(today),
                    "suspension_end": str(end) if end else None, "source_url": row.primary_source_url}
        severity = "medium" if now.is_suspension or not now.applies else "high"
        out.append(EarlyWarning(
            "export_control", f"{row.measure_id}|{now.computed_status}|{end}",
            f"Export control {row.measure_id} ({now.imposing_country}): {row.elements} — {row.control_type} "
            f"({now.status_text})",
            f"{row.announcement_en}. Scope: {row.materials_scope}. Destinations: {row.destination_scope}. "
            f"Status on {today}: {now.status_text}.",
            severity, "CLEAR", materials, [now.imposing_country], None, str(row.primary_source_url), evidence))
        if now.computed_status == "suspension_ended" and not now.is_suspension:
            out.append(EarlyWarning(
                "suspension_lapsed", f"{row.measure_id}|{end}",
                f"Suspension of {row.measure_id} ({row.elements}) ended on {end}: controls may be in force again",
                f"{row.announcement_en}: {now.status_text} (status on {today}, suspended by {now.suspension_by}). "
                f"Unless it was extended, the measure ({row.control_type}; {row.materials_scope}) applies again. "
                "Check the issuing authority's current notices.", "high", "CLEAR", materials,
                [now.imposing_country], None, str(row.primary_source_url), evidence))
    return out


def concentration_warnings(table: pd.DataFrame) -> list[EarlyWarning]:
    """``table``: material, stage, year, top_country, top_share, world_total, unit (``minsec risk concentration``)."""
    out = []
    years = sorted(table["year"].dropna().unique())
    if len(years) < 2:
        return out
    previous, latest = years[-2], years[-1]
    now = table[table["year"] == latest].set_index(["material", "stage"])
    before = table[table["year"] == previous].set_index(["material", "stage"])
    for key in now.index.intersection(before.index):
        a, b = before.loc[key], now.loc[key]
        if not (np.isfinite(a["top_share"]) and np.isfinite(b["top_share"])):
            continue
        up = a["top_share"] < CRMA_SHARE <= b["top_share"]
        down = b["top_share"] < CRMA_SHARE <= a["top_share"]
        if not (up or down):
            continue
        material, stage = key
        verb = "rose above" if up else "fell below"
        out.append(EarlyWarning(
            "concentration", f"{material}|{stage}|{latest}|{b['top_country']}",
            f"{material} {stage}: {b['top_country']}'s share {verb} the CRMA 65 % benchmark "
            f"({a['top_share']:.1%} in {previous} → {b['top_share']:.1%} in {latest})",
            f"Leading producer {b['top_country']} held {b['top_share']:.1%} of world {stage} output of {material} in "
            f"{latest} ({a['top_country']}: {a['top_share']:.1%} in {previous}); world total {b['world_total']:,.0f} "
            f"{b.get('unit', '')}. Source: USGS Mineral Commodity Summaries world tables.",
            "high" if up else "info", "GREEN", [material], [str(b["top_country"])], stage,
            "USGS Mineral Commodity Summaries (minsec risk concentration)",
            {"previous": {"year": int(previous), "top_country": a["top_country"], "top_share": float(a["top_share"])},
             "latest": {"year": int(latest), "top_country": b["top_country"], "top_share": float(b["top_share"]),
                        "world_total": float(b["world_total"])}}))
    return out


def latest_move(prices: np.ndarray, window: int | None = None) -> tuple[float, float, int]:
    """The latest log price change, its z-score against the ``window`` changes before it (all of them by default)
    and how many there were: ``z = (r_T − mean(r)) / sd(r)`` (0 where the earlier changes do not vary)."""
    returns = np.diff(np.log(prices))
    history, last = (returns[:-1] if window is None else returns[-window - 1:-1]), returns[-1]
    sigma = history.std(ddof=1)
    return float(last), float((last - history.mean()) / sigma) if sigma > 0 else 0.0, len(history)


def price_spike_warnings(pink: pd.DataFrame, catalogue_prices: pd.DataFrame) -> list[EarlyWarning]:
    """Latest monthly move of each catalogue Pink Sheet series against its previous 60 monthly log returns."""
    out = []
    rows = catalogue_prices[catalogue_prices["source"] == "pinksheet"].drop_duplicates("series")
    for row in rows.itertuples():
        series = pink[pink["series"] == row.series].sort_values("month")
        if len(series) < SPIKE_WINDOW + 2:
            continue
        last, z, _ = latest_move(series["price"].to_numpy(float), SPIKE_WINDOW)
        if abs(z) < SPIKE_SIGMAS:
            continue
        month = pd.Timestamp(series["month"].iloc[-1]).strftime("%Y-%m")
        change = np.expm1(last)
        out.append(EarlyWarning(
            "price_spike", f"{row.series}|{month}",
            f"{row.material}: price {'jumped' if last > 0 else 'fell'} {change:+.1%} in {month} ({z:+.1f} σ)",
            f"The World Bank Pink Sheet {row.series} price moved {change:+.1%} from "
            f"{series['price'].iloc[-2]:,.2f} to {series['price'].iloc[-1]:,.2f} {series['unit'].iloc[-1]} in "
            f"{month}, {z:+.1f} standard deviations from the previous {SPIKE_WINDOW} months' moves.",
            "high" if abs(z) >= 4 else "medium", "GREEN", [row.material], [], row.stage,
            "World Bank Commodity Price Data (Pink Sheet)",
            {"series": row.series, "month": month, "log_return": float(last), "z_score": float(z),
             "window_months": SPIKE_WINDOW, "previous_price": float(series["price"].iloc[-2]),
             "price": float(series["price"].iloc[-1])}))
    return out


ANNUAL_MIN_YEARS = 6


def annual_price_warnings(chain, catalogue_prices: pd.DataFrame) -> list[EarlyWarning]:
    """The latest annual move of each USGS annual price series (one per series) against the series' earlier
    annual log changes: a warning at 3 σ or more (4 σ: high), once the series has :data:`ANNUAL_MIN_YEARS` years."""
    from minsec.errors import InputError
    from minsec.markets.series import material_series

    out = []
    rows = catalogue_prices[catalogue_prices["source"] == "usgs_salient"].drop_duplicates("series")
    for row in rows.itertuples():
        try:
            series = material_series(chain, row.material, row.stage)
        except InputError:
            continue
        if len(series.prices) < ANNUAL_MIN_YEARS:
            continue
        last, z, earlier = latest_move(series.prices)
        if abs(z) < SPIKE_SIGMAS:
            continue
        year = str(series.dates[-1])[:4]
        change = np.expm1(last)
        out.append(EarlyWarning(
            "price_spike", f"{row.series}|{year}",
            f"{row.material}: annual price {'rose' if last > 0 else 'fell'} {change:+.1%} in {year} ({z:+.1f} σ)",
            f"The USGS annual price ({row.series}) moved {change:+.1%} from {series.prices[-2]:,.0f} to "
            f"{series.prices[-1]:,.0f} USD/t in {year}, {z:+.1f} standard deviations from the series' "
            f"{earlier} earlier annual moves. Source: {series.source}.",
            "high" if abs(z) >= 4 else "medium", "GREEN", [row.material], [], row.stage,
            "USGS Mineral Commodity Summaries (salient statistics)",
            {"series": row.series, "year": year, "log_return": float(last), "z_score": float(z),
             "window_years": earlier, "previous_price": float(series.prices[-2]),
             "price": float(series.prices[-1])}))
    return out


def surveillance_warnings(findings) -> list[EarlyWarning]:
    out = []
    for f in findings:
        if f.kind not in ("dumping", "surge") or f.severity != "high" or f.confidence != "high":
            continue
        out.append(EarlyWarning(
            f.kind, f"{f.hs92}|{f.importer}|{f.exporter}|{f.year}",
            f"{'Possible dumping' if f.kind == 'dumping' else 'Import surge'}: {f.material} (HS {f.hs92}) from "
            f"{f.exporter} into the {f.importer}, {f.year}", f.summary, "high", "GREEN",
            [f.material] if f.material else [], [f.exporter] if f.exporter != "outside" else [], None,
            "CEPII BACI (minsec markets surveillance)", f.record(with_evidence=True)))
    return out


def collect(chain, today: dt.date | None = None) -> list[EarlyWarning]:
    """Every warning a SupplyChain's data produce on ``today`` (default: today): recorded export controls and
    lapsed suspensions, CRMA 65 % crossings, price spikes, and high-confidence dumping or surge findings for the
    partnership's imports in the latest trade year."""
    from minsec.data import catalogue
    from minsec.markets.series import catalogue_prices
    from minsec.markets.surveillance import surveil
    from minsec.risk.tables import concentration_table

    today = today or dt.date.today()
    warnings = export_control_warnings(chain.export_controls, today)
    warnings += concentration_warnings(concentration_table(chain, "auto", None, None, None))
    warnings += price_spike_warnings(chain.prices, catalogue_prices())
    warnings += annual_price_warnings(chain, catalogue_prices())
    partners = chain.groups.members("partnership")
    year = int(chain.trade["year"].max())
    warnings += surveillance_warnings(surveil(chain.trade, catalogue.hs_codes(), "partnership", partners, partners,
                                              year))
    return warnings
