"""Export-control measures on critical minerals: China's MOFCOM / GAC announcements (compiled table) and the
measures in force by country of USGS *Mineral Commodity Summaries 2026*, Table 4.

One row per measure: ``measure_id, imposing_country (ISO3), announced_date, effective_date, elements``
(chemical symbols separated by ``;``), scope, control type, destination scope, the record's own status text,
suspension links and sources.  Dates are validated (effective on or after announced, at least one of them
present); every row must name at least one element.  :func:`read_record` reads the three files of
``data/raw/china_export_controls/`` (:data:`RECORD_FILES`) into the ``export_controls`` table; a measure's
status on a date is computed by :func:`minsec.data.control_status.status_on`, never read from the record.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from minsec.data import countries
from minsec.data.control_status import parse_suspends
from minsec.data.errors import DataFormatError, read_text_table

REQUIRED = ["measure_id", "announcement_en", "announced_date", "effective_date", "elements",
            "materials_scope", "control_type", "destination_scope", "status_as_recorded", "primary_source_url"]
#: columns the 2023–2025 file does not have, and their value there (every measure in it is China's)
OPTIONAL = {"imposing_country": "CHN", "announcement_cn": "", "issuing_authority": "", "suspended_by": "",
            "suspended_until": "", "suspends": "", "ended_date": "", "recorded_on": "", "revises": "",
            "evidence": ""}
DATE_COLUMNS = ("announced_date", "effective_date", "suspended_until", "ended_date", "recorded_on")
ORIGINAL_FILE = "china_export_controls_critical_minerals_2023_2025.csv"
ADDITIONS_FILE = "china_export_controls_2025_2026_additions.csv"
#: USGS MCS 2026 Table 4, read where the MCS 2026 release lies (relative to the raw-data directory)
USGS_T4_FILE = "usgs_mcs2026/industry_trends/MCS2026_T4_Country_Export_Control.csv"
RECORD_FILES = (ORIGINAL_FILE, ADDITIONS_FILE, USGS_T4_FILE)
SOURCES = {ORIGINAL_FILE: "MOFCOM/GAC record 2023–2025 (compiled)",
           ADDITIONS_FILE: "MOFCOM/GAC record, 2025–2026 additions (compiled 2026-12-04)",
           USGS_T4_FILE: "USGS MCS 2026 Table 4"}
COLUMNS = ["measure_id", "imposing_country", "announcement_cn", "announcement_en", "issuing_authority",
           "announced_date", "effective_date", "ended_date", "elements", "materials_scope", "control_type",
           "destination_scope", "status_as_recorded", "suspended_by", "suspended_until", "suspends", "recorded_on",
           "record_source", "primary_source_url", "evidence", *(f"{c}_text" for c in DATE_COLUMNS)]


def read_measures(path: str | Path, record_source: str | None = None) -> pd.DataFrame:
    """Read and validate one compiled measures file; dates become ``datetime64`` (effective date may be empty).

    Columns of :data:`OPTIONAL` that the file lacks get their default (``imposing_country`` CHN); ``suspends``
    (';'-separated measure ids, each optionally with the suspended part: ``CN-2024-46 (Art. 2)``) marks a
    suspension instrument; ``record_source`` names the file (default: its name)."""
    path = Path(path)
    raw = read_text_table(path, REQUIRED)
    out = raw.copy()
    for column, default in OPTIONAL.items():
        if column not in out.columns:
            out[column] = default
    out["record_source"] = record_source or path.name
    for row, (code, suspends) in enumerate(zip(out["imposing_country"], out["suspends"], strict=True), start=2):
        try:
            countries.normalise_iso3(code)
            parse_suspends(suspends)
        except countries.UnknownCountryError:
            raise DataFormatError(path, f"unknown country {code!r}", row=row, column="imposing_country") from None
        except ValueError as exc:
            raise DataFormatError(path, str(exc), row=row, column="suspends") from None
    for column in DATE_COLUMNS:
        if column not in out.columns:
            continue
        # Some measures take effect in parts ("2025-10-09 (s.1(c)); 2025-12-01 (s.1(a)-(b))"): the first
        # date counts, the full text is kept in <column>_text.
        out[f"{column}_text"] = out[column]
        dates = []
        for row, text in enumerate(out[column], start=2):
            found = re.findall(r"\d{4}-\d{2}-\d{2}", text)
            if text.strip() and not found:
                raise DataFormatError(path, f"date {text!r} is not YYYY-MM-DD", row=row, column=column)
            try:
                dates.append(min(pd.Timestamp(d) for d in found) if found else pd.NaT)
            except ValueError:
                raise DataFormatError(path, f"date {text!r} is not a calendar date", row=row,
                                      column=column) from None
        out[column] = pd.to_datetime(pd.Series(dates, index=out.index))
    undated = out["announced_date"].isna() & out["effective_date"].isna()
    if undated.any():  # a blank announced date is allowed ("not seen in the evidence"), no date at all is not
        row = int(undated.to_numpy().nonzero()[0][0]) + 2
        raise DataFormatError(path, "neither announced nor effective date", row=row, column="announced_date")
    early = out["effective_date"] < out["announced_date"]
    if early.any():
        raise DataFormatError(path, "effective before announced", row=int(early.to_numpy().nonzero()[0][0]) + 2,
                              column="effective_date")
    empty = out["elements"].str.strip().eq("")
    if empty.any():
        raise DataFormatError(path, "no element named", row=int(empty.to_numpy().nonzero()[0][0]) + 2,
                              column="elements")
    if out["measure_id"].duplicated().any():
        row = int(out["measure_id"].duplicated().to_numpy().nonzero()[0][0]) + 2
        raise DataFormatError(path, "duplicate measure_id", row=row, column="measure_id")
    return out


# ------------------------------------------------------------------------------------ USGS MCS 2026, Table 4
T4_COLUMNS = ["Country", "Control_Type", "Commodity_Year", "Data_source", "Notes"]
#: Table 4's note: "Includes data available through November 21, 2025, for effective as of January 2026".
T4_RECORDED_ON = pd.Timestamp("2026-01-01")
#: commodity words of Table 4 → the record's element labels, in this order; a matched phrase is consumed, so
#: "lead-zinc" is not also "zinc" and "tungsten scrap" not also "tungsten".  Labels that name no chemical
#: element (sand, scrap) keep the commodity; labels whose first word is a symbol map to a material through
#: :data:`minsec.data.catalogue.ELEMENT_MATERIALS`.
T4_KEYWORDS: tuple[tuple[str, str], ...] = (
    (r"synthesi[sz]ed diamond", "C (superhard)"), (r"raw diamonds?", "C (diamond)"),
    (r"artificial graphite anode", "C (graphite)"), (r"graphite", "C (graphite)"), (r"rare earths?", "REE"),
    (r"lithium", "Li"), (r"tungsten scrap", "W (scrap)"), (r"tungsten", "W"), (r"antimony", "Sb"),
    (r"bismuth", "Bi"), (r"gallium", "Ga"), (r"germanium", "Ge"), (r"indium", "In"), (r"magnesium", "Mg"),
    (r"molybdenum", "Mo"), (r"silver", "Ag"), (r"tellurium", "Te"), (r"cobalt", "Co"), (r"manganese", "Mn"),
    (r"nickel", "Ni"), (r"copper", "Cu"), (r"gold", "Au"), (r"lead-zinc", "Pb;Zn"), (r"zinc", "Zn"),
    (r"potassium", "K"), (r"bauxite", "Al (bauxite)"), (r"aluminum", "Al"), (r"chromite", "Cr"),
    (r"titanium", "Ti"), (r"cassiterite", "Sn"), (r"columbite-tantalite", "Nb;Ta"), (r"rhodium", "Rh"),
    (r"thorium", "Th"), (r"enriched uranium", "U (enriched)"), (r"apatite", "P (apatite)"),
    (r"steel waste and scrap", "steel scrap"), (r"ferrous ingot and ferrous metal waste and scrap", "ferrous scrap"),
    (r"catalysts and waste containing precious metals", "PGM (catalyst waste)"),
    (r"metal waste and scrap", "metal scrap"), (r"\biron\b", "Fe"), (r"quartz", "quartz"), (r"gypsum", "gypsum"),
    (r"natural sand", "sand"))


def t4_elements(commodities: str) -> str:
    """The element labels of a Table 4 ``Commodity_Year`` cell, in the order the cell names them."""
    text, found = commodities.lower(), []
    for pattern, label in T4_KEYWORDS:
        for match in re.finditer(pattern, text):
            found.append((match.start(), label))
        text = re.sub(pattern, lambda m: " " * len(m.group(0)), text)
    labels: list[str] = []
    for _, label in sorted(found):
        labels += [part for part in label.split(";") if part not in labels]
    return ";".join(labels)


def read_usgs_t4(path: str | Path) -> pd.DataFrame:
    """USGS MCS 2026 Table 4 ("Selected export controls … effective as of January 2026", one row per country)
    as export-control measures: ``measure_id`` ``USGS-MCS2026-T4-<ISO3>``, the commodity cell verbatim as
    scope, its element labels (:func:`t4_elements`), ``effective_date`` 1 January of the earliest year the
    cell gives (the table gives years only; ``effective_date_text`` says so), ``recorded_on`` 2026-01-01."""
    path = Path(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    if list(raw.columns) != T4_COLUMNS:
        raise DataFormatError(path, f"columns must be {T4_COLUMNS} (got {list(raw.columns)})", row=1)
    rows = []
    for number, item in enumerate(raw.to_dict(orient="records"), start=2):
        try:
            code = countries.iso3_from_name(item["Country"])
        except countries.UnknownCountryError:
            raise DataFormatError(path, f"unknown country {item['Country']!r}", row=number, column="Country") from None
        years = sorted({int(y) for y in re.findall(r"\((\d{4})\)", item["Commodity_Year"])})
        elements = t4_elements(item["Commodity_Year"])
        if not years or not elements:
            raise DataFormatError(path, "no '(YYYY)' year or no known commodity", row=number, column="Commodity_Year")
        if "as of January 2026" not in item["Notes"]:
            raise DataFormatError(path, "note does not date the table (January 2026)", row=number, column="Notes")
        since = f"{years[0]} (year only)" if len(years) == 1 else \
            f"{years[0]} (year only; items dated {years[0]}–{years[-1]})"
        rows.append({
            "measure_id": f"USGS-MCS2026-T4-{code}", "imposing_country": code, "announcement_cn": "",
            "announcement_en": f"{item['Country']}: {item['Control_Type'].strip()} (USGS MCS 2026 Table 4)",
            "issuing_authority": "", "announced_date": pd.NaT, "effective_date": pd.Timestamp(years[0], 1, 1),
            "ended_date": pd.NaT, "elements": elements, "materials_scope": item["Commodity_Year"],
            "control_type": item["Control_Type"].strip(), "destination_scope": "not stated (USGS MCS 2026 Table 4)",
            "status_as_recorded": "listed as in force, effective as of January 2026", "suspended_by": "",
            "suspended_until": pd.NaT, "suspends": "", "recorded_on": T4_RECORDED_ON,
            "record_source": SOURCES[USGS_T4_FILE], "primary_source_url": item["Data_source"],
            "evidence": f"USGS MCS 2026 Table 4 ({Path(USGS_T4_FILE).name}), row {number}; Notes: {item['Notes']}",
            "announced_date_text": "", "effective_date_text": since,
            "ended_date_text": "", "suspended_until_text": "", "recorded_on_text": "January 2026"})
    out = pd.DataFrame(rows, columns=COLUMNS)
    if out["measure_id"].duplicated().any():
        row = int(out["measure_id"].duplicated().to_numpy().nonzero()[0][0]) + 2
        raise DataFormatError(path, "two rows for one country", row=row, column="Country")
    return out


# ------------------------------------------------------------------------------------------- the record
def read_record(folder: str | Path) -> pd.DataFrame:
    """The ``export_controls`` table from ``folder`` (``data/raw/china_export_controls``): the 2023–2025 file
    (byte-identical to the shared original), the 2025–2026 additions (a row marked ``revises`` = yes replaces
    the 2023–2025 row of the same ``measure_id``; any other repeated id is an error) and USGS MCS 2026
    Table 4 (``folder/../`` :data:`USGS_T4_FILE`, the MCS 2026 release beside it).  Suspension links are
    checked: every id an instrument ``suspends`` exists, and a suspended row's own ``suspended_until`` (as
    recorded) equals its instrument's."""
    folder = Path(folder)
    original = read_measures(folder / ORIGINAL_FILE, SOURCES[ORIGINAL_FILE])
    additions = read_measures(folder / ADDITIONS_FILE, SOURCES[ADDITIONS_FILE])
    revising = additions["revises"].str.strip().str.lower().eq("yes")
    known = additions["measure_id"].isin(original["measure_id"])
    for mask, problem in ((revising & ~known, "revises a measure_id the 2023–2025 file does not have"),
                          (~revising & known, "repeats a measure_id of the 2023–2025 file (set revises = yes)")):
        if mask.any():
            raise DataFormatError(folder / ADDITIONS_FILE, problem, row=int(mask.to_numpy().nonzero()[0][0]) + 2,
                                  column="measure_id")
    revised = additions[revising].set_index("measure_id")
    merged = [revised.loc[[m]].reset_index() if m in revised.index else original[original["measure_id"] == m]
              for m in original["measure_id"]]
    record = pd.concat([*merged, additions[~revising], read_usgs_t4(folder.parent / USGS_T4_FILE)], ignore_index=True)
    record = record[COLUMNS]
    for column in DATE_COLUMNS:
        record[column] = pd.to_datetime(record[column])
    _check_suspensions(record, folder / ADDITIONS_FILE)
    return record


def _check_suspensions(record: pd.DataFrame, path: Path) -> None:
    until = dict(zip(record["measure_id"], record["suspended_until"], strict=True))
    linked: set[str] = set()
    for row in record[record["suspends"].str.strip() != ""].itertuples():
        for target, _ in parse_suspends(row.suspends):
            if target not in until:
                raise DataFormatError(path, f"{row.measure_id} suspends unknown measure {target!r}", column="suspends")
            if pd.notna(until[target]) and until[target] != row.suspended_until:
                raise DataFormatError(path, f"{target} is recorded suspended until {until[target].date()}, its "
                                      f"instrument {row.measure_id} until {row.suspended_until.date()}",
                                      column="suspended_until")
            linked.add(target)
    orphans = record[record["suspended_until"].notna() & (record["suspends"].str.strip() == "")
                     & ~record["measure_id"].isin(linked)]
    if len(orphans):
        raise DataFormatError(path, f"{orphans['measure_id'].iloc[0]} has a suspension date but no instrument "
                              "suspends it", column="suspended_until")
