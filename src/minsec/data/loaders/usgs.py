"""USGS Mineral Commodity Summaries data releases (world tables and US salient statistics).

Reads the per-commodity CSV files exactly as USGS publishes them in its MCS data release
(``mcsYYYY-<code>_world.csv``, ``mcsYYYY-<code>_salient.csv``; doi:10.5066/P144BA54 for MCS 2024,
doi:10.5066/P9WCYUI6 for MCS 2023).  Quirks handled explicitly (see ``data/raw/usgs_mcs2024/PROVENANCE.md``):

* UTF-8 byte-order mark, CRLF line ends, trailing empty columns and rows;
* units in the column names (``Prod_kt_est_2023``, ``Cap_kg_2023``, ``Reserves_t``) — t, kt, kg, Mt;
* footnote digits and the estimate marker "e" glued to country names (``Japane``, ``Other countries4``);
* value codes: ``W`` withheld, ``NA`` not available, ``XX`` not applicable, ``e5,000`` estimates,
  thousands separators, qualitative entries ("Large", "Less than ½ unit."), bounds (">9,100,000");
* unlabelled extra columns (barite, vermiculite 2024) and salient rows with more values than header fields;
* salient files that actually contain a world table (cobalt, gypsum, kyanite 2024).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from minsec.data import catalogue, countries
from minsec.data.errors import DataFormatError

#: Mass units in USGS column names → tonnes per unit. Non-mass units are kept as they are.

_VALUE_COLUMN = re.compile(
    r"^(?P<measure>Prod|Cap|Reserves)"
    r"(?:_(?P<qualifier>ore_K2O_equiv|ore|Sponge|Pigment))?"
    r"_(?P<unit>t|kt|kg|mmt|Mt|mt|mct|kct|mcm)"
    r"(?:_(?P<est>[Ee]st))?"
    r"(?:_(?P<year>\d{4}))?$"
)
_NOTE_COLUMN = re.compile(r"^(Prod|Cap|Reserves)_notes?$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MEASURES = {"Prod": "production", "Cap": "capacity", "Reserves": "reserves"}

#: Non-numeric cell contents USGS uses, and the flag minsec records for each (value stays NaN).
VALUE_CODES = {
    "W": "withheld",
    "NA": "not_available",
    "XX": "not_applicable",
    "Included in World total.": "included_elsewhere",
    "Included with “Other countries.”": "included_elsewhere",
    "included with ilmenite": "included_elsewhere",
    "Included with ilmenite": "included_elsewhere",
    "Less than ½ unit.": "less_than_half_unit",
    "Large": "qualitative",
    "Very small": "qualitative",
    'Categorized as "large"': "qualitative",
}
_BOUND = re.compile(r"^[<>]\s*[\d,]+$")
#: File-name codes that differ between releases → the code minsec uses.
CODE_ALIASES = {"zirco-hafni": "zirco", "alum": "alumi"}


def _file_code(path: Path, kind: str) -> tuple[str, str]:
    """(release, commodity code) from ``mcsYYYY-<code>_<kind>.csv`` (MCS2023 once omits the hyphen)."""
    match = re.match(rf"^(mcs\d{{4}})-?([\w-]+?)_{kind}\.csv$", path.name, flags=re.IGNORECASE)
    if not match:
        raise DataFormatError(path, f"file name is not of the form mcsYYYY-<code>_{kind}.csv")
    code = match.group(2).lower()
    return match.group(1).upper(), CODE_ALIASES.get(code, code)


@dataclass
class LoadReport:
    """What a loader read, skipped and noticed; becomes part of the dataset manifest."""

    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)


def _read_rows(path: Path) -> list[list[str]]:
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFormatError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return list(csv.reader(io.StringIO(text)))


def parse_value(raw: str, path: Path, row: int, column: str) -> tuple[float, str]:
    """Parse one USGS cell into (value, flag). Unknown non-numeric contents raise DataFormatError."""
    text = raw.replace("\u00a0", " ").strip()
    if text == "":
        return float("nan"), "blank"
    if text in VALUE_CODES:
        return float("nan"), VALUE_CODES[text]
    flag = "reported"
    if text.startswith("e") and _NUMBER.match(text[1:].replace(",", "")):
        text, flag = text[1:], "estimated"
    number = text.replace(",", "")
    if _NUMBER.match(number):
        value = float(number)
        if value < 0:
            raise DataFormatError(path, f"negative quantity {raw!r}", row=row, column=column)
        return value, flag
    if _BOUND.match(text):
        return float("nan"), "bound"
    raise DataFormatError(path, f"unrecognised value {raw!r}", row=row, column=column)


def _country_code(raw: str, path: Path, row: int) -> tuple[str, str]:
    """(ISO3 or WLD/OTH, cleaned name). Qualifiers such as "Brazil (beneficiated)" are stripped."""
    name = countries.clean_usgs_name(raw)
    lowered = name.lower()
    if lowered.startswith("world"):
        return countries.WORLD, name
    if lowered.startswith("other"):
        return countries.OTHER, name
    candidates = [name, re.sub(r"\s*\(.*\)$", "", name), name.rsplit(", ", 1)[0]]
    for candidate in candidates:
        try:
            return countries.iso3_from_name(countries.clean_usgs_name(candidate)), name
        except countries.UnknownCountryError:
            continue
    raise DataFormatError(path, f"unknown country {raw!r}", row=row, column="Country")


def read_world_table(path: str | Path, release: str | None = None) -> pd.DataFrame:
    """Read one ``mcsYYYY-<code>_world.csv`` file into a long table.

    Columns: ``release, usgs_code, row, country, country_raw, type, measure, qualifier, year, estimated,
    value`` (tonnes for mass units), ``unit``, ``flag``, ``note``.  Reserves without a year get ``year`` NA.
    """
    path = Path(path)
    file_release, code = _file_code(path, "world")
    release = release or file_release
    rows = _read_rows(path)
    if not rows:
        raise DataFormatError(path, "empty file")
    header = [h.strip() for h in rows[0]]
    if header[:2] != ["Source", "Country"]:
        raise DataFormatError(path, f"expected header starting Source,Country; got {header[:3]}", row=1)
    # Column 3 is the series type; MCS2024 fluorspar labels it with a type string instead of "Type".
    value_columns: dict[int, re.Match[str]] = {}
    note_columns: dict[str, int] = {}
    unlabelled: list[int] = []
    for index, name in enumerate(header[3:], start=3):
        if not name:
            unlabelled.append(index)
        elif (m := _VALUE_COLUMN.match(name)) is not None:
            value_columns[index] = m
        elif _NOTE_COLUMN.match(name):
            note_columns[name.split("_")[0]] = index
        else:
            raise DataFormatError(path, f"unknown column {name!r}", row=1, column=name)
    if not value_columns:
        raise DataFormatError(path, "no production, capacity or reserves column", row=1)
    years_in_header = sorted({int(m.group("year")) for m in value_columns.values() if m.group("year")})

    records = []
    for line_no, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        cells = cells + [""] * (len(header) - len(cells))
        extra = [i for i in unlabelled if i < len(cells) and cells[i].strip()]
        extra += [i for i in range(len(header), len(cells)) if cells[i].strip()]
        if extra and not all(_NUMBER.match(cells[i].strip().replace(",", "")) or
                             cells[i].strip() in VALUE_CODES for i in extra):
            raise DataFormatError(path, "values in unlabelled columns", row=line_no, column=f"#{extra[0] + 1}")
        country, cleaned = _country_code(cells[1], path, line_no)
        series_type = " ".join(cells[2].replace("\u00a0", " ").split())
        for index, m in value_columns.items():
            measure = _MEASURES[m.group("measure")]
            unit_code = m.group("unit")
            if unit_code == "mt":  # "Reserves_mt": million or metric tons? USGS does not say — refuse to guess
                continue
            value, flag = parse_value(cells[index], path, line_no, header[index])
            unit, factor = catalogue.to_minsec_unit(unit_code)    # masses in tonnes (units.csv)
            value = value * factor
            year = int(m.group("year")) if m.group("year") else None
            if year is None and measure != "reserves":
                raise DataFormatError(path, "production/capacity column without a year", row=1,
                                      column=header[index])
            note_index = note_columns.get(m.group("measure"))
            records.append({
                "release": release, "usgs_code": code, "row": line_no, "country": country,
                "country_raw": cells[1].strip(), "country_name": cleaned, "type": series_type,
                "measure": measure, "qualifier": m.group("qualifier") or "", "year": year,
                "estimated": bool(m.group("est")) or flag == "estimated", "value": value, "unit": unit,
                "flag": flag, "note": cells[note_index].strip() if note_index is not None else "",
            })
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        raise DataFormatError(path, "no data rows")
    frame["year"] = frame["year"].astype("Int64")
    frame.attrs["years"] = years_in_header
    return frame


def read_world_release(directory: str | Path, codes: Iterable[str] | None = None,
                       report: LoadReport | None = None) -> pd.DataFrame:
    """Read every ``*_world.csv`` in a release's ``world/`` directory (optionally only the given codes)."""
    directory = Path(directory)
    files = sorted(directory.glob("*_world.csv"), key=lambda p: p.name.lower())
    if not files:
        raise DataFormatError(directory, "no *_world.csv files found")
    wanted = {c.lower() for c in codes} if codes is not None else None
    frames = []
    for path in files:
        code = _file_code(path, "world")[1]
        if wanted is not None and code not in wanted:
            if report is not None:
                report.skipped.append(f"{path.name}: commodity not in the minsec catalogue")
            continue
        frame = read_world_table(path)
        frames.append(frame)
        if report is not None:
            report.files.append(path.name)
            withheld = frame[(frame.flag == "withheld") & (frame.measure == "production")]
            for name in sorted(set(withheld.country_name)):
                report.gaps.append(f"{path.name}: {name} production withheld (W)")
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------------------------------------
# Salient statistics (US): one row per year, one column per field with the unit in its name
# --------------------------------------------------------------------------------------------------------

_SALIENT_ID_COLUMNS = ("DataSource", "Source", "Commodity", "Year")
SALIENT_UNITS = {
    "t": ("t", 1.0), "kt": ("t", 1e3), "kg": ("t", 1e-3), "mt": ("t", 1e6), "Mt": ("t", 1e6),
    "dt": ("USD/t", 1.0), "dkg": ("USD/kg", 1.0), "dlb": ("USD/lb", 1.0), "dtoz": ("USD/troy oz", 1.0),
    "pct": ("%", 1.0), "ct": ("USD/lb", 0.01),
}


def read_salient_table(path: str | Path, report: LoadReport | None = None) -> pd.DataFrame:
    """Read one ``mcsYYYY-<code>_salient.csv`` (US salient statistics) into a long table.

    Columns: ``release, usgs_code, commodity, year, field, value_raw, value, flag, row``.  Net import
    reliance "E" (net exporter) becomes flag ``net_exporter``; ">25"-style entries keep ``value`` NaN with
    flag ``bound``.  Rows with more values than header fields are dropped and listed in ``report.gaps``
    (their values may be shifted).  A file with a world-table layout raises :class:`DataFormatError`.
    """
    path = Path(path)
    release, code = _file_code(path, "salient")
    rows = _read_rows(path)
    if not rows:
        raise DataFormatError(path, "empty file")
    header = [h.strip() for h in rows[0]]
    while header and header[-1] == "":
        header.pop()
    if "Country" in header:
        raise DataFormatError(path, "world-table layout in a salient file", row=1, column="Country")
    if "Year" not in header:
        raise DataFormatError(path, "no Year column", row=1)
    year_index = header.index("Year")
    commodity_index = header.index("Commodity") if "Commodity" in header else None
    fields = [(i, h) for i, h in enumerate(header) if h and h not in _SALIENT_ID_COLUMNS]
    records = []
    for line_no, cells in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in cells):
            continue
        trailing = [c for c in cells[len(header):] if c.strip()]
        if trailing:
            if report is not None:
                report.gaps.append(f"{path.name} row {line_no}: more values than header fields "
                                   "(values may be shifted) — row not used")
            continue
        year_text = cells[year_index].strip()
        if not re.fullmatch(r"\d{4}", year_text):
            raise DataFormatError(path, f"year {year_text!r} is not a year", row=line_no, column="Year")
        for index, name in fields:
            raw = cells[index].strip() if index < len(cells) else ""
            text = raw.replace(",", "")
            if raw == "":
                value, flag = float("nan"), "blank"
            elif raw in ("E", "E "):
                value, flag = float("nan"), "net_exporter"
            elif raw in VALUE_CODES:
                value, flag = float("nan"), VALUE_CODES[raw]
            elif _NUMBER.match(text):
                value, flag = float(text), "reported"
            elif re.fullmatch(r"[<>]\s*\d+(\.\d+)?", text):
                value, flag = float("nan"), "bound"
            else:
                value, flag = float("nan"), "text"
            records.append({
                "release": release, "usgs_code": code,
                "commodity": cells[commodity_index].strip() if commodity_index is not None else "",
                "year": int(year_text), "field": name, "value_raw": raw, "value": value, "flag": flag,
                "row": line_no,
            })
    return pd.DataFrame.from_records(records)


def read_salient_release(directory: str | Path, codes: Iterable[str] | None = None,
                         report: LoadReport | None = None) -> pd.DataFrame:
    """Read every salient file of a release; world-layout files are skipped and recorded as gaps."""
    directory = Path(directory)
    files = sorted(directory.glob("*_salient.csv"), key=lambda p: p.name.lower())
    if not files:
        raise DataFormatError(directory, "no *_salient.csv files found")
    wanted = {c.lower() for c in codes} if codes is not None else None
    frames = []
    for path in files:
        code = _file_code(path, "salient")[1]
        if wanted is not None and code not in wanted:
            continue
        try:
            frame = read_salient_table(path, report)
        except DataFormatError as exc:
            if "world-table layout" not in str(exc):
                raise
            if report is not None:
                report.gaps.append(f"{path.name}: contains a world table, not salient statistics — not used")
            continue
        if report is not None:
            report.files.append(path.name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
