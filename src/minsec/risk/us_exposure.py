"""US import exposure to 2026 from USITC DataWeb (``us_trade``: U.S. imports for consumption at customs value
and quantity by country of origin and HTS heading, U.S. Census Bureau statistics; the only trade data past
BACI's 2024).

For HS-4 heading *h*, period *p* (a calendar year, or January–April year-to-date) and each partner *j* of the
DataWeb query with customs value ``V_j`` (every first-unit line group: DataWeb values the first unit) and gross
tonnes ``T_j`` (the first-unit line groups counted in kilograms, metric tons or grams)::

    imports_usd        = Σ_j V_j                     imports_t = Σ_j T_j
    share_j            = V_j / Σ_k V_k               of imports from the 18 recorded partners, by value
    partnership_share  = Σ_{j ∈ P} V_j / Σ_k V_k     P = groups.yaml ``partnership`` minus the USA
    top_supplier       = argmax_j share_j            exceeds_65pct: top_supplier_share > 0.65 (CRMA benchmark)
    X_change           = X_p / X_{p − 1 year} − 1    Jan–Apr 2026 against Jan–Apr 2025; 2025 against 2024
    share_change       = share_p − share_{p − 1 year}  (a difference of shares: × 100 = percentage points)

**Not a world total**: the download holds 18 partner countries and no U.S. total, so every share is of imports
from those 18, and each partner's share is an upper bound of its share of all US imports (``coverage_note``).
Shares are by value: tonnes of different line groups (gross weight, metal content, pieces) do not add up.
DataWeb lists a partner under a heading where it records trade in some year of the query; a listed zero is a
published zero (no recorded trade), a partner not listed has no recorded trade at all (share 0 in the sums).

Missing is never zero: a suppressed or unreported quantity stays null with its ``flag``; ``imports_t`` is then
null and ``imports_t_reported`` the sum of the reported quantities (a lower bound).  Mixed headings (``mixed``:
8112 Be/Cr/Ge/V/Ga/Hf/In/Nb/Re, 2846 rare-earth compounds, 8505 magnets …) are HS-4 totals over several
products and carry the catalogue's content note (``hts4_materials.csv``).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from minsec.data.loaders.usitc import parse_period, period_label, prior_period, unit_values
from minsec.errors import NoDataError
from minsec.risk.concentration import CRMA_SINGLE_COUNTRY_BENCHMARK
from minsec.risk.tables import span

SOURCE = "usitc_dataweb"
#: flags of a quantity that is not the full figure (the loader's ``_flags``)
MISSING_FLAGS = ("quantity_suppressed", "quantity_partly_suppressed", "quantity_not_reported")
SUMMARY_COLUMNS = [
    "hs4", "material", "contains", "stage", "mixed", "period", "months", "imports_usd", "imports_t",
    "imports_t_reported", "imports_content_t", "tonnes_value_coverage", "partners_with_imports",
    "partnership_share", "other_share", "top_supplier", "top_supplier_share", "top_supplier_in_partnership",
    "exceeds_65pct", "china_share", "china_hkg_share", "prior_period", "imports_usd_prior", "imports_usd_change",
    "imports_t_prior", "imports_t_change", "partnership_share_change", "china_share_change", "top_supplier_prior",
    "partner_shares", "content_note", "quantity_note", "coverage_note", "source"]
PARTNER_COLUMNS = [
    "hs4", "material", "mixed", "period", "months", "partner", "in_partnership", "value_usd", "share",
    "imports_t", "imports_t_reported", "unit_value_usd_per_t", "quantity_flag", "prior_period", "value_usd_prior",
    "value_change", "share_prior", "share_change", "coverage_note", "source"]


# ------------------------------------------------------------------------------------------------ periods
def ordered(periods: Iterable[str]) -> list[str]:
    """Periods by the month they end in (``'2025-01..2025-04'``, ``'2025'``, ``'2026-01..2026-04'``)."""
    return sorted(set(periods), key=lambda p: (parse_period(p)[0], parse_period(p)[2], parse_period(p)[1]))


def choose_periods(table: pd.DataFrame, period: str | int = "latest") -> list[str]:
    """``"latest"`` (the period ending last: January–April 2026 in the bundled data), ``"all"``, or one period
    (``2025``, ``"2026-01..2026-04"``), validated against ``table``'s periods."""
    available = ordered(table["period"].unique())
    if not available:
        raise NoDataError("us_trade holds no rows (build the dataset with data/raw/usitc_dataweb)")
    text = str(period).strip()
    if text == "latest":
        return available[-1:]
    if text == "all":
        return available
    parse_period(text)
    if text not in available:
        same_year = [p for p in available if ".." in p and parse_period(p)[0] == parse_period(text)[0]]
        hint = (f" — {text} is not complete in the download: use {same_year[-1]}" if same_year and ".." not in text
                else "")
        raise NoDataError(f"period {text!r} not in us_trade: it holds {holdings(available)}{hint}")
    return [text]


def holdings(periods: list[str]) -> str:
    """``calendar years 1993–2025; January–April 1993–2026`` (what the periods of ``us_trade`` are)."""
    annual = [parse_period(p)[0] for p in periods if ".." not in p]
    parts = [f"calendar years {span(annual)}"] if annual else []
    ytd = [p for p in periods if ".." in p]
    for months in sorted({parse_period(p)[1:] for p in ytd}):
        years = [parse_period(p)[0] for p in ytd if parse_period(p)[1:] == months]
        label = period_label(f"{years[0]}-{months[0]:02d}..{years[0]}-{months[1]:02d}").rsplit(" ", 1)[0]
        parts.append(f"{label} {span(years)} (e.g. {years[-1]}-{months[0]:02d}..{years[-1]}-{months[1]:02d})")
    return "; ".join(parts)


# ----------------------------------------------------------------------------------------------- headings
def select_headings(headings: pd.DataFrame, material: str | None) -> list[str]:
    """The headings of ``material`` (the catalogue's material, or one it ``contains``: gallium → 8112);
    every heading when None.  None found raises :class:`NoDataError` listing the headings there are."""
    if material is None:
        return list(headings.index)
    named = headings["material"] == material
    contained = headings["contains"].map(lambda cell: material in cell.split(";"))
    found = list(headings.index[named | contained])
    if not found:
        listed = "; ".join(f"{hs4} {row.material or '(' + row.contains.replace(';', ', ') + ')'}"
                           for hs4, row in headings.iterrows())
        raise NoDataError(f"no USITC DataWeb heading for {material}: us_trade covers {len(headings)} HS-4 "
                          f"headings — {listed} (catalogue hts4_materials.csv)")
    return found


def coverage_note(table: pd.DataFrame) -> str:
    partners = sorted(set(table["partner"]) - {"WLD"})
    return (f"shares are of US imports from the {len(partners)} recorded partners ({', '.join(partners)}), not of "
            "all US imports: the DataWeb download has no world total, so each partner's share is an upper bound "
            "of its share of total US imports")


# ------------------------------------------------------------------------------------------------ figures
def partner_imports(table: pd.DataFrame, periods: list[str], hs4s: list[str],
                    partnership: frozenset[str]) -> pd.DataFrame:
    """US imports per heading × period × partner: value, gross tonnes (null where a quantity is missing; the
    reported sum beside it), metal-content tonnes of first units counted in content, gross-weight unit value."""
    rows = table[(table["flow"] == "import") & (table["quantity_kind"] == "first")
                 & table["period"].isin(periods) & table["hs4"].isin(hs4s)]
    gross = rows["quantity_basis"] == "gross"
    # content tonnes: the heading's own component (DataWeb "component kilograms/tons/grams") of line groups that
    # carry value — a by-product's "gold content grams" is another element, and an empty group is not 0 t
    content = ((rows["quantity_basis"] == "content") & rows["quantity_unit"].str.startswith("component")
               & (rows["value_usd"] > 0))
    missing = rows["flag"].isin(MISSING_FLAGS)
    frame = rows.assign(gross_t=rows["quantity_t"].where(gross), gross_missing=gross & missing,
                        gross_value=rows["value_usd"].where(gross, 0.0), content_t=rows["quantity_t"].where(content),
                        content_missing=content & missing, flagged=rows["flag"].where(missing, ""),
                        other_unit=rows["quantity_unit"].where(~gross & (rows["value_usd"] > 0), ""))
    keys = ["hs4", "period", "partner"]
    grouped = frame.groupby(keys)
    out = pd.DataFrame({
        "value_usd": grouped["value_usd"].sum(min_count=1),
        "imports_t_reported": grouped["gross_t"].sum(min_count=1), "gross_missing": grouped["gross_missing"].any(),
        "gross_value_usd": grouped["gross_value"].sum(), "content_t_reported": grouped["content_t"].sum(min_count=1),
        "content_missing": grouped["content_missing"].any(),
        "quantity_flag": grouped["flagged"].agg(_joined), "other_units": grouped["other_unit"].agg(_joined)})
    # value but no gross-weight line group carrying it (copper ore in metal content, magnets in pieces): the
    # tonnage is not measured, not zero
    unmeasured = (out["value_usd"] > 0) & (out["gross_value_usd"] == 0)
    out["imports_t_reported"] = out["imports_t_reported"].mask(unmeasured)
    out["imports_t"] = out["imports_t_reported"].mask(out["gross_missing"])
    prices = unit_values(rows, keys).set_index(keys)["unit_value_usd_per_t"]
    # a suppressed or partly suppressed tonnage would bias the unit value upwards: no price then
    out["unit_value_usd_per_t"] = prices.reindex(out.index).mask(out["gross_missing"])
    out = out.reset_index()
    out["in_partnership"] = out["partner"].isin(partnership)
    total = out.groupby(["hs4", "period"])["value_usd"].transform("sum")
    out["share"] = (out["value_usd"] / total).where(total > 0)
    return out


def _joined(cells: pd.Series) -> str:
    return ";".join(sorted(set(";".join(cells).split(";")) - {""}))


def _value_of(by_partner: pd.DataFrame, mask: pd.Series, index: pd.Index) -> pd.Series:
    return by_partner[mask].groupby(["hs4", "period"])["value_usd"].sum().reindex(index, fill_value=0.0)


def summarise(by_partner: pd.DataFrame) -> pd.DataFrame:
    """One row per heading × period from :func:`partner_imports` (no prior-period or catalogue columns yet)."""
    keys = ["hs4", "period"]
    grouped = by_partner.groupby(keys)
    out = pd.DataFrame({"imports_usd": grouped["value_usd"].sum(),
                        "imports_t_reported": grouped["imports_t_reported"].sum(min_count=1),
                        "imports_content_t": grouped["content_t_reported"].sum(min_count=1),
                        "gross_value_usd": grouped["gross_value_usd"].sum(),
                        "partners_with_imports": grouped["value_usd"].agg(lambda v: int((v > 0).sum()))})
    out["imports_t"] = out["imports_t_reported"].mask(grouped["gross_missing"].any())
    out["imports_content_t"] = out["imports_content_t"].mask(grouped["content_missing"].any())
    known = out["imports_usd"] > 0
    out["tonnes_value_coverage"] = (out.pop("gross_value_usd") / out["imports_usd"]).where(known)
    unmeasured = known & (out["tonnes_value_coverage"] == 0)        # as in partner_imports: not a zero
    out["imports_t"] = out["imports_t"].mask(unmeasured)
    out["imports_t_reported"] = out["imports_t_reported"].mask(unmeasured)
    index = out.index
    partnership = _value_of(by_partner, by_partner["in_partnership"], index)
    out["partnership_share"] = (partnership / out["imports_usd"]).where(known)
    out["other_share"] = 1.0 - out["partnership_share"]
    ranked = by_partner[by_partner["value_usd"] > 0].sort_values(["value_usd", "partner"], ascending=[False, True])
    top = ranked.groupby(keys).first()
    out["top_supplier"] = top["partner"].reindex(index)
    out["top_supplier_share"] = top["share"].reindex(index)
    out["top_supplier_in_partnership"] = pd.array(top["in_partnership"].reindex(index), dtype="boolean")
    out["exceeds_65pct"] = pd.array((out["top_supplier_share"] > CRMA_SINGLE_COUNTRY_BENCHMARK)
                                    .where(out["top_supplier_share"].notna()), dtype="boolean")
    for column, origins in (("china_share", {"CHN"}), ("china_hkg_share", {"CHN", "HKG"})):
        value = _value_of(by_partner, by_partner["partner"].isin(origins), index)
        out[column] = (value / out["imports_usd"]).where(known)
    out["partner_shares"] = grouped[["partner", "share"]].apply(_shares).reindex(index)
    notes = grouped[["partner", "quantity_flag"]].apply(_quantity_note).reindex(index)
    units = grouped["other_units"].agg(_joined)
    out["quantity_note"] = [_note(n, u, c, v) for n, u, c, v in zip(
        notes, units, out["tonnes_value_coverage"], out["imports_usd"], strict=True)]
    return out.reset_index()


def _shares(group: pd.DataFrame) -> dict[str, float] | None:
    """{partner: share} largest first (None where nothing was imported: 0/0 is not a share)."""
    if group["share"].isna().all():
        return None
    ranked = group.sort_values(["share", "partner"], ascending=[False, True])
    return {p: float(s) for p, s in zip(ranked["partner"], ranked["share"], strict=True)}


def _quantity_note(group: pd.DataFrame) -> str:
    flagged = group[group["quantity_flag"] != ""]
    if flagged.empty:
        return ""
    named = ", ".join(f"{row.partner} {row.quantity_flag.replace('_', ' ')}" for row in flagged.itertuples())
    return (f"tonnes incomplete ({named}): imports_t is null and imports_t_reported the sum of the reported "
            "quantities, a lower bound")


def _note(flags: str, units: str, coverage: float, value: float) -> str:
    """What the tonnes do not count: flagged quantities, line groups in other units, or no import at all."""
    parts = [flags] if flags else []
    if value == 0:
        parts.append("no recorded import from the recorded partners in this period")
    elif units and coverage < 1:
        parts.append(f"imports_t counts the line groups in gross weight ({coverage:.1%} of the value)" if coverage
                     else "no line group in gross weight: imports_t is not measured (null)")
        parts[-1] += f"; the rest is counted in {units.replace(';', ', ')}"
    return "; ".join(parts)


def _change(now: pd.Series, before: pd.Series) -> pd.Series:
    """``now / before − 1``; null where there was nothing before (a rise from zero has no ratio)."""
    return (now / before - 1.0).where(before > 0)


# ------------------------------------------------------------------------------------------------- tables
def us_exposure(table: pd.DataFrame, headings: pd.DataFrame, partnership: frozenset[str],
                material: str | None = None, period: str | int = "latest", by_partner: bool = False) -> pd.DataFrame:
    """US imports per heading × period (``by_partner``: per heading × period × partner) with the shares and the
    change against the same months a year earlier; see the module docstring for the equations.

    ``table``: ``us_trade``; ``headings``: the catalogue's ``hts4_materials`` (indexed by ``hs4``);
    ``partnership``: ISO3 of the partnership without the USA; ``material``: a catalogue id (None: every
    heading); ``period``: ``"latest"``, ``"all"`` or one period.  An empty selection raises
    :class:`~minsec.errors.NoDataError` with the reason."""
    chosen = choose_periods(table, period)
    hs4s = select_headings(headings, material)
    partners = partner_imports(table, sorted(set(chosen) | {prior_period(p) for p in chosen}), hs4s, partnership)
    if not partners["period"].isin(chosen).any():
        raise NoDataError(f"no US import of HS {', '.join(hs4s)} from the recorded partners in "
                          f"{', '.join(chosen)} (us_trade holds {holdings(ordered(table['period'].unique()))})")
    rank = {p: i for i, p in enumerate(ordered(partners["period"].unique()))}
    note = coverage_note(table)
    if by_partner:
        out = _with_prior(partners, chosen, ["hs4", "period", "partner"], {
            "value_usd": "value_usd_prior", "share": "share_prior"})
        out["value_change"] = _change(out["value_usd"], out["value_usd_prior"])
        out["share_change"] = out["share"] - out["share_prior"]
        out = _catalogue(out, headings).assign(coverage_note=note, source=SOURCE)
        out = out.sort_values(["hs4", "period", "value_usd", "partner"], ascending=[True, True, False, True],
                              key=lambda c: c.map(rank) if c.name == "period" else c)
        return out[PARTNER_COLUMNS].reset_index(drop=True)
    out = _with_prior(summarise(partners), chosen, ["hs4", "period"], {
        "imports_usd": "imports_usd_prior", "imports_t": "imports_t_prior",
        "partnership_share": "partnership_share_prior", "china_share": "china_share_prior",
        "top_supplier": "top_supplier_prior"})
    out["imports_usd_change"] = _change(out["imports_usd"], out["imports_usd_prior"])
    out["imports_t_change"] = _change(out["imports_t"], out["imports_t_prior"])
    out["partnership_share_change"] = out["partnership_share"] - out.pop("partnership_share_prior")
    out["china_share_change"] = out["china_share"] - out.pop("china_share_prior")
    out = _catalogue(out, headings).assign(coverage_note=note, source=SOURCE)
    out = out.sort_values(["hs4", "period"], key=lambda c: c.map(rank) if c.name == "period" else c)
    return out[SUMMARY_COLUMNS].reset_index(drop=True)


def _with_prior(frame: pd.DataFrame, chosen: list[str], keys: list[str], columns: dict[str, str]) -> pd.DataFrame:
    """The rows of the ``chosen`` periods with ``columns`` of the same months a year earlier beside them (null
    where that period or its row is not in the data)."""
    current = frame[frame["period"].isin(chosen)].copy()
    current["prior_period"] = current["period"].map(prior_period)
    lookup = frame.set_index(keys)
    at = pd.MultiIndex.from_frame(current[keys].assign(period=current["prior_period"]))
    before = lookup.reindex(at)
    for column, name in columns.items():
        current[name] = before[column].to_numpy()
    return current


def _catalogue(frame: pd.DataFrame, headings: pd.DataFrame) -> pd.DataFrame:
    """The heading's material, contents, stage and mixed flag from the catalogue; months from the period; a
    mixed heading's content note (what the HS-4 total holds besides the material)."""
    spec = headings.reindex(frame["hs4"])
    mixed = (spec["mixed"] == "yes").to_numpy()
    bounds = frame["period"].map(parse_period)
    return frame.assign(material=spec["material"].to_numpy(), contains=spec["contains"].to_numpy(),
                        stage=spec["stage"].to_numpy(), mixed=mixed,
                        months=bounds.map(lambda b: b[2] - b[1] + 1).astype("int64"),
                        content_note=np.where(mixed, spec["note"].to_numpy(), ""))
