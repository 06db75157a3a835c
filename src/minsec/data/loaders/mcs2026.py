"""USGS Mineral Commodity Summaries 2026 data release (doi:10.5066/P1WKQ63T): one long table for all chapters.

MCS 2026 no longer ships one CSV per commodity (MCS 2023/2024, :mod:`minsec.data.loaders.usgs`) but a single
``MCS2026_Commodities_Data.csv`` with one row per chapter × section × country × statistic × year (columns
``MCS chapter, Section, Commodity, Country, Statistics, Statistics_detail, Unit, Year, Value, Notes,
Is critical mineral 2025, Other notes``), plus the "industry trends" figure and table files.  Quirks handled
explicitly (see ``data/raw/usgs_mcs2026/PROVENANCE.md``):

* the file is Windows-1252, not UTF-8 (em-dash "—", "Côte d’Ivoire"); characters cp1252 cannot hold were
  written as "?" by USGS — a Unicode minus in "?1" (niobium/tantalum stockpile shipments, MCS2024: −1, −10);
* ``Value`` is text: thousands separators, ``W`` withheld, ``NA``, ``XX`` not applicable, ``—`` zero,
  ``E`` net exporter, ``s`` (meaning in ``Notes``: less than ½ unit, included elsewhere …), bounds ``>50`` /
  ``<100,000``, ranges ``890–1,000``, qualitative words ("Large", "Variable, depending on …");
* world totals are published only under a ``…: rounded`` detail (``Mine production: rounded``);
* estimates are marked in ``Notes`` ("Estimated."), not in the value;
* one row (yttrium world production) has its ``Notes`` and ``Is critical mineral 2025`` cells shifted;
* the version history lists later corrections (v1.1–v1.3) that minsec applies from
  ``minsec_corrections.csv`` beside the data, each recorded in the tidy rows' ``note``.
"""

from __future__ import annotations

import csv
import io
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries
from minsec.data.errors import DataFormatError, read_text_table
from minsec.data.loaders.usgs import LoadReport
from minsec.errors import UnknownNameError

RELEASE = "MCS2026"
SOURCE_DIR = "usgs_mcs2026"
DATA_FILE = "usgs_mcs2026_commodities_data.csv"
CORRECTIONS_FILE = "minsec_corrections.csv"
NIR_FILE = "industry_trends/MCS2026_Fig2_Net_Import_Reliance.csv"
EXPORT_CONTROLS_FILE = "industry_trends/MCS2026_T4_Country_Export_Control.csv"
HEADER = ["MCS chapter", "Section", "Commodity", "Country", "Statistics", "Statistics_detail", "Unit", "Year",
          "Value", "Notes", "Is critical mineral 2025", "Other notes"]
MEASURES = {"Production": "production", "Capacity": "capacity", "Reserves": "reserves"}

#: Value codes → flag (value NaN). "—" is USGS's zero and is the only code that becomes a number (0.0).
VALUE_CODES = {"W": "withheld", "NA": "not_available", "XX": "not_applicable", "E": "net_exporter"}
QUALITATIVE = {"large", "small", "moderate", "moderate to large", "very small"}
_NUMBER = re.compile(r"^(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?$")
_BOUND = re.compile(r"^(?P<op>[<>])\s*(?P<number>[\d,]+(?:\.\d+)?)$")
_RANGE = re.compile(r"^(?P<low>[\d,]+(?:\.\d+)?)\s*[–-]\s*(?P<high>[\d,]+(?:\.\d+)?)$")
_ROUNDED = re.compile(r"[:,]\s*rounded$", flags=re.IGNORECASE)
#: Unit text → the suffix of a slugified salient field (MCS2024 style: ``_kt``, ``_dkg``, ``_pct``).
UNIT_SUFFIX = {
    "metric tons": "t", "thousand metric tons": "kt", "million metric tons": "Mt", "kilograms": "kg",
    "thousand metric dry tons": "kt", "percent": "pct", "dollars per metric ton": "dt", "dollars per ton": "dt",
    "dollars per kilogram": "dkg", "dollars per pound": "dlb", "cents per pound": "ctslb",
    "dollars per troy ounce": "dtoz", "number": "num", "million dollars": "mdol", "million cubic meters": "mcm",
    "million liters": "ml", "dollars per gram": "dg", "dollars per dry metric ton unit": "dmtu",
}


class ParsedValue(NamedTuple):
    """One ``Value`` cell: number (NaN unless numeric or "—"), flag, and the bound or range it states."""

    value: float
    flag: str
    bound_op: str = ""
    bound_value: float = float("nan")
    bound_high: float = float("nan")


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _s_flag(notes: str) -> str:
    """USGS's "s" code points to its footnote: less than ½ unit, included elsewhere, or another explanation."""
    lowered = notes.lower()
    if "½" in lowered or "less than" in lowered:
        return "less_than_half_unit" if "½" in lowered else "small"
    if "included in" in lowered or "included with" in lowered:
        return "included_elsewhere"
    return "see_note"


def parse_value(raw: str, notes: str = "", *, path: str | Path = "", row: int | None = None) -> ParsedValue:
    """Parse one MCS2026 ``Value`` cell; unknown text raises :class:`DataFormatError` naming file and row.

    ``W``/``NA``/``XX``/``E``/``s``/bounds/ranges/qualitative words stay NaN with a flag; only the em-dash
    "—" (USGS: zero) is 0.0, flag ``zero``.  ``?N`` is a Unicode minus lost in the cp1252 export: −N, flag
    ``minus_restored``.  An "e" prefix marks an estimate (flag ``estimated``).
    """
    text = " ".join(raw.replace("\u00a0", " ").split())
    if text == "":
        raise DataFormatError(path, "empty Value", row=row, column="Value")
    if text in ("—", "–"):
        return ParsedValue(0.0, "zero")
    if text in VALUE_CODES:
        return ParsedValue(float("nan"), VALUE_CODES[text])
    if text == "s":
        return ParsedValue(float("nan"), _s_flag(notes))
    if text.lower() in QUALITATIVE or text.lower().startswith("variable, depending on"):
        return ParsedValue(float("nan"), "qualitative")
    if _NUMBER.match(text):
        return ParsedValue(_number(text), "reported")
    if text.startswith("e") and _NUMBER.match(text[1:]):
        return ParsedValue(_number(text[1:]), "estimated")
    if text.startswith("?") and _NUMBER.match(text[1:]):
        return ParsedValue(-_number(text[1:]), "minus_restored")
    if (bound := _BOUND.match(text)) is not None:
        return ParsedValue(float("nan"), "bound", bound["op"], _number(bound["number"]))
    if (span := _RANGE.match(text)) is not None:
        return ParsedValue(float("nan"), "range", "range", _number(span["low"]), _number(span["high"]))
    raise DataFormatError(path, f"unrecognised value {raw!r}", row=row, column="Value")


def _is_estimated(notes: str) -> bool:
    """USGS writes "Estimated." (or "Estimated based on …") as one " -- "-separated segment of ``Notes``."""
    return any(part.strip().startswith("Estimated") for part in notes.split(" -- "))


def _with_estimate(parsed: ParsedValue, notes: str) -> tuple[ParsedValue, bool]:
    """(value with flag ``estimated`` where ``Notes`` or an "e" prefix says so, the ``estimated`` marker)."""
    estimated = _is_estimated(notes) or parsed.flag == "estimated"
    if parsed.flag in ("reported", "estimated"):
        parsed = parsed._replace(flag="estimated" if estimated else "reported")
    return parsed, estimated


def _country(raw: str, path: Path, row: int) -> str:
    """ISO3, WLD for "World total", OTH for "Other countries", ISO3 codes joined by ";" for a named group."""
    name = countries.clean_usgs_name(raw)
    lowered = name.lower()
    if lowered.startswith("world"):
        return countries.WORLD
    if lowered.startswith("other"):
        return countries.OTHER
    name = re.sub(r"^The\s+", "", name)     # "The Bahamas"
    try:
        return countries.iso3_from_name(name)
    except countries.UnknownCountryError:
        pass
    # a named group of countries ("China, Germany, and Russia") → their codes joined by ";"
    parts = [p.strip() for p in re.split(r",\s*(?:and\s+)?|\s+and\s+", name) if p.strip()]
    try:
        return ";".join(countries.iso3_from_name(part) for part in parts)
    except countries.UnknownCountryError:
        raise DataFormatError(path, f"unknown country {raw!r}", row=row, column="Country") from None


def _decode(path: Path) -> list[list[str]]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFormatError(path, f"cannot read: {exc.strerror}") from None
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not Windows-1252 text (byte 0x{data[exc.start]:02x} at {exc.start})") from None
    return list(csv.reader(io.StringIO(text, newline="")))


def _repair(cells: list[str], path: Path, line: int) -> tuple[list[str], str]:
    """Undo the one known cell shift (``Notes`` holds Yes/No, the critical-mineral cell the commodity name)."""
    critical = cells[10].strip()
    if critical in ("Yes", "No", ""):
        return cells, ""
    if cells[9].strip() in ("Yes", "No") and critical.lower() == cells[2].strip().lower() and not cells[11].strip():
        repaired = [*cells[:9], "", cells[9].strip(), ""]
        return repaired, f"source row {line}: Notes/'Is critical mineral 2025' shifted by one cell; repaired"
    raise DataFormatError(path, f"'Is critical mineral 2025' is {critical!r} (expected Yes/No)", row=line,
                          column="Is critical mineral 2025")


def read_commodities(path: str | Path) -> pd.DataFrame:
    """Every row of ``MCS2026_Commodities_Data.csv`` (cp1252), values parsed, countries as ISO3.

    Columns: ``row`` (line in the file), ``chapter, section, commodity, country_raw, country, statistics,
    detail`` (as published), ``detail_base`` (without the ": rounded" suffix), ``rounded``, ``unit``,
    ``period`` (the Year cell, e.g. "2021–24"), ``year`` (Int64; NA for periods), ``value_raw``, ``value``
    (float in the published unit — no conversion), ``flag``, ``bound_op``, ``bound_value``, ``bound_high``,
    ``estimated``, ``notes``, ``critical_2025``, ``other_notes``, ``repair``.
    """
    path = Path(path)
    rows = _decode(path)
    if not rows or [h.strip() for h in rows[0]] != HEADER:
        raise DataFormatError(path, f"expected header {HEADER}", row=1)
    records = []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(HEADER):
            raise DataFormatError(path, f"{len(cells)} cells, expected {len(HEADER)}", row=line)
        cells, repair = _repair(cells, path, line)
        notes = cells[9].strip()
        parsed, estimated = _with_estimate(parse_value(cells[8], notes, path=path, row=line), notes)
        detail = " ".join(cells[5].replace("\u00a0", " ").split())
        period = cells[7].strip()
        records.append({
            "row": line, "chapter": cells[0].strip(), "section": cells[1].strip(), "commodity": cells[2].strip(),
            "country_raw": cells[3].strip(), "country": _country(cells[3], path, line),
            "statistics": cells[4].strip(), "detail": detail, "detail_base": _ROUNDED.sub("", detail),
            "rounded": bool(_ROUNDED.search(detail)), "unit": cells[6].strip(), "period": period,
            "year": int(period) if re.fullmatch(r"\d{4}", period) else None, "value_raw": cells[8].strip(),
            **parsed._asdict(), "estimated": estimated, "notes": notes,
            "critical_2025": cells[10].strip(), "other_notes": cells[11].strip(), "repair": repair,
        })
    if not records:
        raise DataFormatError(path, "no data rows")
    frame = pd.DataFrame.from_records(records)
    frame["year"] = frame["year"].astype("Int64")
    return frame


# --------------------------------------------------------------------------------------------------------
# Documented corrections (version history v1.1–v1.3)
# --------------------------------------------------------------------------------------------------------

def read_corrections(path: str | Path) -> pd.DataFrame:
    """minsec's table of the version history's data corrections (``minsec_corrections.csv``)."""
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read corrections: {exc}") from None
    needed = ["chapter", "country", "measure", "statistics_detail", "year", "column", "old", "new", "version", "date"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise DataFormatError(path, f"missing columns {missing}", row=1)
    bad = ~table["column"].isin(["Value", "Notes"])
    if bad.any():
        raise DataFormatError(path, "column must be Value or Notes", row=int(np.flatnonzero(bad)[0]) + 2,
                              column="column")
    return table


def apply_corrections(raw: pd.DataFrame, corrections: pd.DataFrame) -> pd.DataFrame:
    """Apply each correction to exactly one row whose current cell equals ``old``; else raise (never silently).

    The corrected rows get ``correction`` = "corrected per MCS2026 v1.3 (2026-05-27): Value '…' → '…'".
    """
    out = raw.copy()
    out["correction"] = ""
    for number, fix in enumerate(corrections.itertuples(), start=2):
        hit = ((out["chapter"] == fix.chapter) & (out["country_raw"] == fix.country)
               & (out["statistics"] == fix.measure) & (out["detail"] == fix.statistics_detail)
               & (out["period"] == fix.year))
        where = f"correction row {number} ({fix.chapter}, {fix.country}, {fix.measure} {fix.year})"
        if hit.sum() != 1:
            raise DataFormatError(CORRECTIONS_FILE, f"{where} matches {int(hit.sum())} data rows, expected 1")
        index = out.index[hit][0]
        current = out.at[index, "value_raw" if fix.column == "Value" else "notes"]
        if current != fix.old:
            raise DataFormatError(CORRECTIONS_FILE, f"{where}: expected {fix.old!r}, the data has {current!r}")
        notes = fix.new if fix.column == "Notes" else out.at[index, "notes"]
        value_raw = fix.new if fix.column == "Value" else out.at[index, "value_raw"]
        parsed, estimated = _with_estimate(parse_value(value_raw, notes, path=CORRECTIONS_FILE, row=number), notes)
        out.loc[index, list(ParsedValue._fields)] = list(parsed)
        out.loc[index, ["value_raw", "notes", "estimated"]] = [value_raw, notes, estimated]
        out.at[index, "correction"] = (f"corrected per MCS2026 v{fix.version} ({fix.date}): "
                                       f"{fix.column} {fix.old!r} → {fix.new!r}")
    return out


def _source_dir(raw_dir: str | Path) -> Path:
    """``raw_dir`` may be the raw-data root (with ``usgs_mcs2026/``) or that directory itself."""
    raw_dir = Path(raw_dir)
    return raw_dir / SOURCE_DIR if (raw_dir / SOURCE_DIR).is_dir() else raw_dir


def load_corrected(raw_dir: str | Path, report: LoadReport | None = None) -> pd.DataFrame:
    """:func:`read_commodities` with the documented corrections applied (each listed in ``report.gaps``)."""
    directory = _source_dir(raw_dir)
    raw = apply_corrections(read_commodities(directory / DATA_FILE), read_corrections(directory / CORRECTIONS_FILE))
    if report is not None:
        for name in (DATA_FILE, CORRECTIONS_FILE):
            if name not in report.files:
                report.files.append(name)
        for row in raw[raw["correction"] != ""].itertuples():
            message = f"{RELEASE} {row.chapter} {row.country_raw} {row.detail} {row.period}: {row.correction}"
            if message not in report.gaps:
                report.gaps.append(message)
        for row in raw[raw["repair"] != ""].itertuples():
            if row.repair not in report.gaps:
                report.gaps.append(f"{RELEASE}: {row.repair}")
    return raw


# --------------------------------------------------------------------------------------------------------
# Catalogue files
# --------------------------------------------------------------------------------------------------------

def _catalogue_file(name: str) -> Path:
    return Path(str(resources.files("minsec.data.catalogue").joinpath(name)))


def _check_catalogue(table: pd.DataFrame, name: str) -> pd.DataFrame:
    unknown = set(table["material"]) - set(catalogue.materials().index)
    bad_stage = set(table["stage"]) - {*catalogue.STAGES, ""}
    if unknown or bad_stage:
        raise ValueError(f"{name}: unknown materials {sorted(unknown)} / stages {sorted(bad_stage)}")
    return table


@cache
def series_catalogue() -> pd.DataFrame:
    """``mcs2026_series.csv``: chapter + section/statistics patterns → material, stage, measure, basis."""
    table = pd.read_csv(_catalogue_file("mcs2026_series.csv"), dtype=str, keep_default_na=False)
    if not set(table["measure"]) <= set(MEASURES.values()) or set(table["stage"]) - set(catalogue.STAGES):
        raise ValueError("mcs2026_series.csv: unknown measure or stage")
    return _check_catalogue(table, "mcs2026_series.csv")


@cache
def salient_catalogue() -> pd.DataFrame:
    """``mcs2026_salient_fields.csv``: chapter + commodity/detail patterns → field (MCS2024 name), factor."""
    table = pd.read_csv(_catalogue_file("mcs2026_salient_fields.csv"), dtype=str, keep_default_na=False)
    table["factor"] = pd.to_numeric(table["factor"].replace("", "1"))
    return _check_catalogue(table, "mcs2026_salient_fields.csv")


def _fullmatch(series: pd.Series, pattern: str) -> pd.Series:
    return series.str.fullmatch(pattern, case=False)


def select_series(raw: pd.DataFrame, spec) -> pd.DataFrame:
    """The rows of ``raw`` one ``mcs2026_series.csv`` row maps (world rows by ``world_pattern`` if given)."""
    rows = raw[(raw["chapter"] == spec.chapter) & raw["section"].str.contains(spec.section_pattern, regex=True)
               & (raw["statistics"].map(MEASURES) == spec.measure)]
    is_world = rows["country"] == countries.WORLD
    matched = np.where(is_world, _fullmatch(rows["detail_base"], spec.world_pattern or spec.statistics_pattern),
                       _fullmatch(rows["detail_base"], spec.statistics_pattern))
    return rows[matched]


# --------------------------------------------------------------------------------------------------------
# World production, capacity and reserves → the dataset's ``production`` table
# --------------------------------------------------------------------------------------------------------

def _row_note(rows: pd.DataFrame, several_details: bool) -> pd.Series:
    """Publisher's note without the Estimated./Reported. markers (kept in ``flag``/``estimated``), plus what
    the bare value cannot say: the series variant, USGS rounding, the published bound, a correction."""
    def one(row) -> str:
        parts = [p.strip() for p in row.notes.split(" -- ") if p.strip() not in ("", "Estimated.", "Reported.")]
        if several_details:
            parts.insert(0, f"[{row.detail_base}]")
        if row.rounded:
            parts.append("world total rounded by USGS")
        if row.flag in ("bound", "range", "qualitative"):
            parts.append(f"published {row.value_raw!r}")
        if row.correction:
            parts.append(row.correction)
        return " | ".join(parts)
    return rows.apply(one, axis=1) if len(rows) else pd.Series(dtype=str)


def _to_tonnes(rows: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Values in minsec's unit (t for masses; Mm3 for helium) via catalogue/units.csv."""
    units, factors = {}, {}
    for unit in rows["unit"].unique():
        try:
            units[unit], factors[unit] = catalogue.to_minsec_unit(unit)
        except UnknownNameError as exc:   # a unit units.csv does not list: refuse to guess a factor
            raise DataFormatError(DATA_FILE, f"{exc}", row=int(rows.loc[rows["unit"] == unit, "row"].iloc[0]),
                                  column="Unit") from None
    return rows["value"] * rows["unit"].map(factors), rows["unit"].map(units)


def _tidy_spec(rows: pd.DataFrame, spec) -> pd.DataFrame:
    value, unit = _to_tonnes(rows)
    frame = rows.assign(value_t=value, unit_t=unit, note_t=_row_note(rows, rows["detail_base"].nunique() > 1))
    key = ["country", "year"]
    if spec.combine != "sum" and frame.duplicated(key).any():
        dup = frame[frame.duplicated(key, keep=False)].iloc[0]
        raise DataFormatError(DATA_FILE, f"{spec.chapter} {spec.measure} {spec.statistics_pattern!r}: several rows "
                              f"for {dup.country} {dup.year}", row=int(dup.row))
    # ilmenite + rutile: summed per country; all-missing stays missing (min_count=1)
    grouped = frame.groupby(key, as_index=False).agg(
        value=("value_t", lambda v: v.sum(min_count=1)), unit=("unit_t", "first"),
        flag=("flag", lambda f: ";".join(sorted(set(f)))), estimated=("estimated", "any"),
        note=("note_t", lambda n: " || ".join(x for x in n if x)))
    return grouped.assign(material=spec.material, stage=spec.stage, measure=spec.measure, basis=spec.basis)


def tidy_production(raw_dir: str | Path, report: LoadReport | None = None) -> pd.DataFrame:
    """MCS2026 world production, capacity and reserves in the dataset's ``production`` table layout.

    Columns: ``source`` ("usgs"), ``release`` ("MCS2026"), ``material, stage, measure`` (production /
    capacity / reserves), ``country`` (ISO3, WLD, OTH), ``year``, ``value`` (t on minsec's basis; Mm3 for
    helium), ``unit, basis, value_reported`` (= value: USGS publishes on the basis minsec keeps), ``flag,
    estimated, note``.  Series come from ``catalogue/mcs2026_series.csv``; corrections are applied first.
    """
    raw = load_corrected(raw_dir, report)
    world = raw[raw["section"].str.startswith("World") & raw["year"].notna()]
    frames, used = [], pd.Series(False, index=world.index)
    for spec in series_catalogue().itertuples():
        rows = select_series(world, spec)
        if rows.empty:
            if report is not None:
                report.gaps.append(f"{RELEASE}: no {spec.material} {spec.stage} {spec.measure} rows "
                                   f"({spec.chapter}, {spec.statistics_pattern!r})")
            continue
        used[rows.index] = True
        frames.append(_tidy_spec(rows, spec))
    out = pd.concat(frames, ignore_index=True)
    out["year"] = out["year"].astype("int64")
    out.insert(0, "source", "usgs")
    out.insert(1, "release", RELEASE)
    out["value_reported"] = out["value"]
    out["estimated"] = out["estimated"].astype(bool)
    if report is not None:
        _report_world(world, used, out, report)
    columns = ["source", "release", "material", "stage", "measure", "country", "year", "value", "unit", "basis",
               "value_reported", "flag", "estimated", "note"]
    return out[columns].sort_values(columns[2:7], kind="stable").reset_index(drop=True)


def _report_world(world: pd.DataFrame, used: pd.Series, out: pd.DataFrame, report: LoadReport) -> None:
    mapped = set(series_catalogue()["chapter"])
    for chapter in sorted(set(world["chapter"]) - mapped):
        report.skipped.append(f"{RELEASE} {chapter}: world table of no minsec material")
    left = world[~used & world["chapter"].isin(mapped)]
    for (chapter, detail), _ in left.groupby(["chapter", "detail_base"]):
        report.skipped.append(f"{RELEASE} {chapter}: world series {detail!r} not mapped (other basis or product)")
    withheld = out[(out["flag"] == "withheld") & (out["measure"] == "production")]
    for row in withheld.itertuples():
        report.gaps.append(f"{RELEASE}: {row.material} {row.stage} {row.country} {row.year} production withheld (W)")


# --------------------------------------------------------------------------------------------------------
# US salient statistics → the dataset's ``us_salient`` table
# --------------------------------------------------------------------------------------------------------

def slug(text: str) -> str:
    """A field name from free text: "Imports for consumption: Metal" → "imports_for_consumption_metal"."""
    text = text.replace("%", " pct ").replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def _salient_field(row, spec, match: re.Match[str], prefix: bool) -> str:
    if spec.field:
        return spec.field.replace("{1}", match.group(1)) if "{1}" in spec.field else spec.field
    suffix = UNIT_SUFFIX.get(row.unit, slug(row.unit))
    name = "_".join(p for p in (slug(row.commodity) if prefix else "", slug(row.detail), suffix) if p)
    return name


def _match_salient(row, specs: list, path: Path):
    for spec in specs:
        if not re.fullmatch(spec.commodity_pattern, row.commodity, flags=re.IGNORECASE):
            continue
        match = re.fullmatch(spec.detail_pattern, row.detail, flags=re.IGNORECASE)
        if match is None:
            continue
        if spec.unit and spec.unit != row.unit:
            raise DataFormatError(path, f"{row.chapter} {row.detail!r}: unit {row.unit!r}, mcs2026_salient_fields.csv "
                                  f"expects {spec.unit!r}", row=int(row.row), column="Unit")
        return spec, match
    return None, None


def tidy_salient(raw_dir: str | Path, report: LoadReport | None = None) -> pd.DataFrame:
    """MCS2026 "Salient Statistics—United States" rows in the dataset's ``us_salient`` layout.

    Columns: ``release, material, stage, year, field, value, value_raw, flag``.  Rows named in
    ``catalogue/mcs2026_salient_fields.csv`` get the MCS2024 field name consumers look up (``NIR_pct``,
    ``Consump_kt``, ``Price_dt`` …) and the factor to that field's unit; every other row of a minsec material's
    chapter keeps a slugified field (``<commodity>_<detail>_<unit>``).  ``value`` is NaN for W, NA, E, bounds.
    """
    raw = load_corrected(raw_dir, report)
    salient = raw[raw["section"].str.startswith("Salient")]
    by_chapter = {c: list(g.itertuples()) for c, g in salient_catalogue().groupby("chapter", sort=False)}
    several = salient.groupby("chapter")["commodity"].nunique() > 1    # prefix slugs with the commodity
    records, skipped = [], {}
    for row in salient.itertuples():
        spec, match = _match_salient(row, by_chapter.get(row.chapter, []), Path(DATA_FILE))
        if spec is None:
            skipped[row.chapter] = skipped.get(row.chapter, 0) + 1
            continue
        prefix = bool(several[row.chapter])
        records.append({"release": RELEASE, "material": spec.material, "stage": spec.stage, "year": int(row.year),
                        "field": _salient_field(row, spec, match, prefix), "value": row.value * spec.factor,
                        "value_raw": row.value_raw, "flag": row.flag})
    out = pd.DataFrame.from_records(records)
    duplicated = out.duplicated(["material", "field", "year"], keep=False)
    if duplicated.any():
        first = out[duplicated].iloc[0]
        raise DataFormatError(DATA_FILE, f"two salient rows map to {first.material} {first.field} {first.year}")
    if report is not None:
        for chapter, count in sorted(skipped.items()):
            report.skipped.append(f"{RELEASE} {chapter}: {count} salient rows of no minsec material")
    return out.sort_values(["material", "field", "year"], kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------------------
# Industry-trends files (UTF-8 with BOM, unlike the main table)
# --------------------------------------------------------------------------------------------------------

#: MCS2026 Fig. 2 commodity names (text before the first comma) → (minsec material, stage or "").
FIG2_MATERIALS = {
    "ALUMINUM": ("aluminium", "refining"), "ANTIMONY": ("antimony", ""), "ARSENIC": ("arsenic", ""),
    "ASBESTOS": ("asbestos", ""), "BARITE": ("barite", ""), "BAUXITE": ("bauxite", "mining"),
    "BISMUTH": ("bismuth", ""), "CADMIUM": ("cadmium", ""), "CESIUM": ("cesium", ""), "CHROMIUM": ("chromium", ""),
    "COBALT": ("cobalt", ""), "COPPER": ("copper", "refining"), "FLUORSPAR": ("fluorspar", ""),
    "GALLIUM": ("gallium", ""), "GERMANIUM": ("germanium", ""), "GRAPHITE (NATURAL)": ("graphite", ""),
    "INDIUM": ("indium", ""), "LEAD": ("lead", "refining"), "LITHIUM": ("lithium", ""),
    "MAGNESIUM COMPOUNDS": ("magnesite", ""), "MAGNESIUM METAL": ("magnesium", ""), "MANGANESE": ("manganese", ""),
    "NICKEL": ("nickel", ""), "NIOBIUM (COLUMBIUM)": ("niobium", ""), "PALLADIUM": ("palladium", ""),
    "PERLITE": ("perlite", ""), "PLATINUM": ("platinum", ""), "POTASH": ("potash", ""),
    "RARE EARTHS": ("rare_earths", "refining"), "RHENIUM": ("rhenium", ""), "RUBIDIUM": ("rubidium", ""),
    "SALT": ("salt", ""), "SCANDIUM": ("scandium", ""), "SELENIUM": ("selenium", ""), "SILICON": ("silicon", ""),
    "SILVER": ("silver", ""), "STRONTIUM": ("strontium", ""), "TALC": ("talc", ""), "TANTALUM": ("tantalum", ""),
    "TELLURIUM": ("tellurium", ""), "TIN": ("tin", "refining"), "TITANIUM": ("titanium", "refining"),
    "TITANIUM MINERAL CONCENTRATES": ("titanium", "mining"), "TUNGSTEN": ("tungsten", ""),
    "VANADIUM": ("vanadium", ""), "VERMICULITE": ("vermiculite", ""), "YTTRIUM": ("yttrium", ""),
    "ZINC": ("zinc", "refining"), "ZIRCONIUM": ("zirconium", "mining"),
}
_COUNTRY_ALIASES = {"republic of korea": "KOR"}


def _read_trends_csv(path: Path, columns: list[str]) -> pd.DataFrame:
    return read_text_table(path, columns, encoding="utf-8-sig").apply(lambda c: c.str.strip())


def _iso3_list(names: str, path: Path, row: int) -> str:
    codes = []
    for name in (n.strip() for n in names.split(",")):
        if name in ("", "NA"):
            continue
        code = _COUNTRY_ALIASES.get(name.lower())
        if code is None:
            code = _country(name, path, row)
        codes.append(code)
    return ";".join(codes)


def read_net_import_reliance(path: str | Path) -> pd.DataFrame:
    """MCS2026 Fig. 2 (US net import reliance 2025, with the major import sources 2021–24).

    Columns: ``rank, commodity`` (as published), ``material, stage`` ("" where no minsec material / either
    stage), ``year`` (2025), ``nir_raw``, ``nir_pct`` (NaN for bounds like ">75"), ``flag, bound_op,
    bound_value``, ``import_sources`` (as published), ``import_sources_iso3`` (";"-joined), ``notes``.
    """
    path = Path(path)
    frame = _read_trends_csv(path, ["Import_Share_Order", "Commodity", "Net_Import_Reliance_pct_2025",
                                    "Major_Import_Sources_2021_24", "Notes"])
    records = []
    for line, row in enumerate(frame.itertuples(), start=2):
        parsed = parse_value(row.Net_Import_Reliance_pct_2025, path=path, row=line)
        material, stage = FIG2_MATERIALS.get(row.Commodity.split(",")[0].strip().upper(), ("", ""))
        records.append({
            "rank": int(row.Import_Share_Order), "commodity": row.Commodity, "material": material, "stage": stage,
            "year": 2025, "nir_raw": row.Net_Import_Reliance_pct_2025, "nir_pct": parsed.value,
            "flag": parsed.flag, "bound_op": parsed.bound_op, "bound_value": parsed.bound_value,
            "import_sources": row.Major_Import_Sources_2021_24,
            "import_sources_iso3": _iso3_list(row.Major_Import_Sources_2021_24, path, line), "notes": row.Notes})
    return pd.DataFrame.from_records(records)


def read_export_controls_t4(path: str | Path) -> pd.DataFrame:
    """MCS2026 Table 4 (countries' export bans, quotas and licensing on mineral commodities).

    Columns as in the file, snake_case: ``country, control_type, commodity_year, data_source, notes``, plus
    ``country_iso3`` and ``years`` (the years in parentheses in ``commodity_year``, ";"-joined).
    """
    path = Path(path)
    frame = _read_trends_csv(path, ["Country", "Control_Type", "Commodity_Year", "Data_source", "Notes"])
    out = frame.rename(columns={"Country": "country", "Control_Type": "control_type",
                                "Commodity_Year": "commodity_year", "Data_source": "data_source", "Notes": "notes"})
    out["country_iso3"] = [_country(name, path, line) for line, name in enumerate(out["country"], start=2)]
    out["years"] = out["commodity_year"].map(lambda t: ";".join(sorted(set(re.findall(r"\((\d{4})\)", t)))))
    return out[["country", "country_iso3", "control_type", "commodity_year", "years", "data_source", "notes"]]
