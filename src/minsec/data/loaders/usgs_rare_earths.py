"""USGS *Minerals Yearbook 2022, Rare Earths* — advance data release of the annual tables (xlsx, posted
March 19, 2025; see ``data/raw/usgs_rare_earths/PROVENANCE.md``).

Reads three sheets of ``usgs_myb2022_rare_earths_tables.xlsx`` as USGS publishes them:

T2 "Rare earth contents of selected source minerals" (% of total REO by element, per deposit) →
:func:`read_deposit_distribution`; T3 "Average rare-earth oxide prices" (US$/kg, 2021–2022) →
:func:`read_element_prices`; T8 "World mine production, by country or locality" (t REO, 2018–2022) →
:func:`read_world_production`.

Quirks handled explicitly: unit line in the title rows (checked), element/year columns found by header
text (USGS puts spacer columns between them), deposit names wrapped over 2–3 rows, "Do."/"do." dittos,
footnote digits glued to names ("Mountain Pass, CA5", "Scandium2, 3", "Indiae, 4"), T8 flag cells right
of each value ("e", "r", a footnote digit), codes "NA", "<1.09" (upper bound) and T8's "--" (its legend:
"Zero."). Missing is never zero: any other non-number is NaN with a flag.
"""

from __future__ import annotations

import re
import warnings
import zipfile
from pathlib import Path

import pandas as pd

from minsec.data import countries
from minsec.data.errors import DataFormatError

#: T2 header symbols → minsec material ids (element names), in the sheet's order.
ELEMENTS = {
    "La": "lanthanum", "Ce": "cerium", "Pr": "praseodymium", "Nd": "neodymium", "Sm": "samarium",
    "Eu": "europium", "Gd": "gadolinium", "Tb": "terbium", "Dy": "dysprosium", "Ho": "holmium",
    "Er": "erbium", "Tm": "thulium", "Yb": "ytterbium", "Lu": "lutetium", "Y": "yttrium",
}
#: T3 also prices scandium oxide.
PRICED_ELEMENTS = {*ELEMENTS.values(), "scandium"}
#: Cell codes that are not numbers → flag (the value stays NaN).
CODES = {"NA": "not_available", "W": "withheld", "": "blank", "--": "not_reported", "—": "not_reported",
         "Trace": "trace"}
UNITS = {"T2": "Percentage of total rare-earth oxide", "T3": "Dollars per kilogram",
         "T8": "Metric tons, rare-earth oxide equivalent"}
_MARKERS = re.compile(r"(?<=[A-Za-z\).])((?:,?\s*\d+)+)\s*$")
_FOOTNOTE = re.compile(r"^(\d+)(\D.*)$", re.S)
NAN = float("nan")
_BOUND = re.compile(r"^<\s*(\d+(?:\.\d+)?)$")


def _col(index: int) -> str:
    """Excel column letter of a 0-based index (A … ZZ), for error messages."""
    return (chr(64 + index // 26) if index >= 26 else "") + chr(65 + index % 26)


def _text(value: object) -> str:
    """A cell as single-spaced text ('' for empty)."""
    return "" if value is None else " ".join(str(value).replace("\u00a0", " ").split())


def _strip_markers(text: str) -> tuple[str, list[str]]:
    """``"Scandium2, 3"`` → ``("Scandium", ["2", "3"])``: the footnote digits USGS glues to a name."""
    match = _MARKERS.search(text)
    if not match:
        return text.strip(), []
    return text[: match.start()].strip(" ,"), re.findall(r"\d+", match.group(1))


def _rows(path: str | Path, sheet: str) -> list[tuple]:
    """All rows of ``sheet`` (values, not formulas); unreadable file or missing sheet → DataFormatError."""
    import openpyxl  # imported here so that the rest of minsec does not need it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with warnings.catch_warnings():
            # the workbook's print area names 'T7'!$A:$K, which openpyxl cannot apply; harmless for reading
            warnings.filterwarnings("ignore", message="Print area cannot be set", category=UserWarning)
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise DataFormatError(path, f"not a readable xlsx workbook ({exc.__class__.__name__}: {exc})") from None
    try:
        if sheet not in book.sheetnames:
            raise DataFormatError(path, f"no sheet {sheet!r} (sheets: {book.sheetnames})")
        rows = list(book[sheet].iter_rows(values_only=True))
    finally:
        book.close()
    title = " ".join(_text(r[0]) for r in rows[:6] if r)
    if UNITS[sheet] not in title:
        raise DataFormatError(path, f"sheet {sheet!r}: unit line {UNITS[sheet]!r} not in the title rows", row=4)
    return rows


def _header(path, sheet: str, rows: list[tuple], first: str) -> int:
    """0-based index of the header row: the first row whose column A starts with ``first``."""
    for i, row in enumerate(rows):
        if row and _text(row[0]).startswith(first):
            return i
    raise DataFormatError(path, f"sheet {sheet!r}: no header row starting {first!r}", column="A")


def _footnotes(rows: list[tuple], start: int) -> dict[str, str]:
    """Footnote number → text, from the rows below the table ("3Source: Zang, …")."""
    notes = {}
    for row in rows[start:]:
        match = _FOOTNOTE.match(_text(row[0]) if row else "")
        if match:
            notes[match.group(1)] = match.group(2).strip()
    return notes


def _note(markers: list[str], notes: dict[str, str]) -> str:  # footnote texts of a row's markers
    return "; ".join(notes[m] for m in markers if m in notes)


def _share(path, row: int, column: str, value: object) -> tuple[float, str, float]:
    """A T2 cell (percent) → (share 0–1, flag, upper bound 0–1); unknown text → DataFormatError."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= 100:
            raise DataFormatError(path, f"sheet 'T2': share {value} outside 0–100 %", row=row, column=column)
        return value / 100, "reported", NAN
    text = _text(value)
    bound = _BOUND.match(text)
    if bound:  # "<1.09": below a detection/reporting limit — an upper bound, not a value
        return NAN, "less_than", float(bound.group(1)) / 100
    if text in CODES:
        return NAN, CODES[text], NAN
    raise DataFormatError(path, f"sheet 'T2': unexpected cell {text!r}", row=row, column=column)


def _t2_columns(path, header: tuple, row: int) -> tuple[dict[str, int], int, int]:
    """Element columns by symbol, plus the Country and Location columns, found by header text."""
    cells = {_text(v): i for i, v in enumerate(header) if _text(v)}
    missing = [s for s in [*ELEMENTS, "Country", "Location"] if s not in cells]
    if missing:
        raise DataFormatError(path, f"sheet 'T2': header lacks {missing}", row=row, column=", ".join(missing))
    return {s: cells[s] for s in ELEMENTS}, cells["Country"], cells["Location"]


def _t2_deposits(path, rows: list[tuple], top: int) -> list[dict]:
    """Group T2's wrapped rows into deposits; resolve "Do." (mineral) and "do." (country) dittos."""
    symbols, c_country, c_location = _t2_columns(path, rows[top], top + 1)
    deposits: list[dict] = []
    for i in range(top + 1, len(rows)):
        row, excel_row = rows[i], i + 1
        first = _text(row[0]) if row else ""
        if first.startswith("Do., do.") or _FOOTNOTE.match(first):
            break  # legend and footnotes follow the table
        has_values = any(row[c] is not None for c in symbols.values() if c < len(row))
        location = _text(row[c_location]) if c_location < len(row) else ""
        if not has_values:
            if location and deposits:  # a deposit name wrapped onto the next row
                deposits[-1]["location"] += " " + location
            elif location or first:
                raise DataFormatError(path, "sheet 'T2': text row without values before any deposit",
                                      row=excel_row, column="A")
            continue
        mineral, country = first, _text(row[c_country])
        for label, value, col in (("mineral", mineral, "A"), ("country", country, _col(c_country))):
            if value.lower() == "do.":
                if not deposits:
                    raise DataFormatError(path, "sheet 'T2': ditto in the first row", row=excel_row, column=col)
                if label == "mineral":
                    mineral = deposits[-1]["mineral"]
                else:
                    country = deposits[-1]["country"]
        cells = {s: (row[c] if c < len(row) else None, _col(c)) for s, c in symbols.items()}
        deposits.append({"mineral": mineral, "country": country, "location": location, "row": excel_row,
                         "cells": cells})
    if not deposits:
        raise DataFormatError(path, "sheet 'T2': no deposit rows", row=top + 2)
    return deposits


def read_deposit_distribution(path: str | Path) -> pd.DataFrame:
    """MYB 2022 rare earths, Table 2: rare-earth content of selected source minerals/deposits, long format.

    Columns: ``deposit`` (the published location, wrapped rows joined, footnote digits stripped),
    ``deposit_id`` (slug of the part before the first comma), ``country`` (as published, dittos resolved),
    ``iso3`` (from :mod:`minsec.data.countries`; '' where the sheet names no country), ``mineral``
    (the "Primary Source" column: bastnaesite, loparite, monazite, rare-earth laterite, xenotime),
    ``element``, ``symbol``, ``share`` (0–1 of total REO; NaN unless reported), ``flag`` (reported /
    not_available / less_than / …), ``upper_bound`` (0–1, for "<x" cells), ``note`` (the deposit's source
    footnote), ``source_row`` (Excel row). The sheet warns "Rows may not add to 100 percent."
    """
    rows = _rows(path, "T2")
    top = _header(path, "T2", rows, "Primary Source")
    deposits = _t2_deposits(path, rows, top)
    notes = _footnotes(rows, top + 1)
    records, seen = [], set()
    for dep in deposits:
        name, markers = _strip_markers(dep["location"])
        deposit_id = re.sub(r"[^a-z0-9]+", "_", name.split(",")[0].lower()).strip("_")
        if deposit_id in seen:
            raise DataFormatError(path, f"sheet 'T2': duplicate deposit {name!r}", row=dep["row"], column="E")
        seen.add(deposit_id)
        try:
            iso3 = countries.iso3_from_name(dep["country"]) if dep["country"] else ""
        except countries.UnknownCountryError as exc:
            raise DataFormatError(path, f"sheet 'T2': {exc}", row=dep["row"], column="C") from None
        for symbol, (value, col) in dep["cells"].items():
            share, flag, bound = _share(path, dep["row"], col, value)
            records.append({"deposit": name, "deposit_id": deposit_id, "country": dep["country"],
                            "iso3": iso3, "mineral": dep["mineral"].lower(), "element": ELEMENTS[symbol],
                            "symbol": symbol, "share": share, "flag": flag, "upper_bound": bound,
                            "note": _note(markers, notes), "source_row": dep["row"]})
    return pd.DataFrame.from_records(records)


def _year_columns(path, sheet: str, header: tuple, row: int) -> dict[int, int]:
    """Year → column index, from header cells that are four-digit years (2021 or "2021")."""
    years = {int(_text(v)): i for i, v in enumerate(header) if re.fullmatch(r"(19|20)\d\d", _text(v))}
    if not years:
        raise DataFormatError(path, f"sheet {sheet!r}: no year columns in the header", row=row)
    return years


def _number(path, sheet: str, row: int, column: int, value: object, zero_code: bool) -> tuple[float, str]:
    """A T3/T8 value cell → (value, flag); "--" is 0.0 only where the sheet's legend says "-- Zero."."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value), "reported"
    text = _text(value)
    if text == "--" and zero_code:
        return 0.0, "zero"
    if text in CODES:
        return float("nan"), CODES[text]
    raise DataFormatError(path, f"sheet {sheet!r}: unexpected cell {text!r}", row=row, column=_col(column))


def read_element_prices(path: str | Path) -> pd.DataFrame:
    """MYB 2022 rare earths, Table 3: average rare-earth oxide prices, US$/kg, 2021–2022.

    Columns: ``element``, ``product`` ("<element> oxide, <purity>% purity"), ``purity_pct``, ``year``,
    ``usd_per_kg``, ``flag`` (reported / not_available …), ``note`` (the row's footnotes: price source,
    lot size, "China, free on board"), ``source_row``.
    """
    rows = _rows(path, "T3")
    top = _header(path, "T3", rows, "Product (oxide)")
    years = _year_columns(path, "T3", rows[top], top + 1)
    notes = _footnotes(rows, top + 1)
    records = []
    for i in range(top + 1, len(rows)):
        row, excel_row = rows[i], i + 1
        if not (first := _text(row[0]) if row else ""):
            continue
        name, markers = _strip_markers(first)
        if _FOOTNOTE.match(first) or (element := name.lower()) not in PRICED_ELEMENTS:
            if records and _FOOTNOTE.match(first):
                break  # footnotes follow the table
            raise DataFormatError(path, f"sheet 'T3': unknown product {first!r}", row=excel_row, column="A")
        purity = row[2] if len(row) > 2 else None
        if not isinstance(purity, int | float):
            raise DataFormatError(path, f"sheet 'T3': purity {purity!r} not a number", row=excel_row, column="C")
        for year, col in years.items():
            value, flag = _number(path, "T3", excel_row, col, row[col] if col < len(row) else None, False)
            records.append({"element": element, "product": f"{element} oxide, {purity:g}% purity",
                            "purity_pct": float(purity), "year": year, "usd_per_kg": value, "flag": flag,
                            "note": _note(markers, notes), "source_row": excel_row})
    if not records:
        raise DataFormatError(path, "sheet 'T3': no price rows", row=top + 2)
    return pd.DataFrame.from_records(records)


def read_world_production(path: str | Path) -> pd.DataFrame:
    """MYB 2022 rare earths, Table 8: world mine production by country or locality, t REO, 2018–2022.

    Columns: ``country`` (as published, markers stripped), ``iso3`` (``WLD`` for "Total"), ``year``,
    ``value_t_reo``, ``flag`` (reported / estimated / revised / estimated+revised / zero …; an "e" glued to
    the name marks every year of that country as estimated), ``note`` (footnotes), ``source_row``.
    """
    rows = _rows(path, "T8")
    top = _header(path, "T8", rows, "Country or locality")
    years = _year_columns(path, "T8", rows[top], top + 1)
    notes = _footnotes(rows, top + 1)
    zero_code = any("-- Zero" in _text(r[0]) for r in rows[top + 1:] if r)
    records = []
    for i in range(top + 1, len(rows)):
        row, excel_row = rows[i], i + 1
        first = _text(row[0]) if row else ""
        if first.startswith("eEstimated") or _FOOTNOTE.match(first):
            break  # legend and footnotes follow the table
        if not first:  # spacer row
            continue
        stripped, markers = _strip_markers(first)
        name = countries.clean_usgs_name(stripped)
        try:
            iso3 = countries.WORLD if name == "Total" else countries.iso3_from_name(name)
        except countries.UnknownCountryError as exc:
            raise DataFormatError(path, f"sheet 'T8': {exc}", row=excel_row, column="A") from None
        for year, col in years.items():
            value, flag = _number(path, "T8", excel_row, col, row[col] if col < len(row) else None, zero_code)
            marker = _text(row[col + 1] if col + 1 < len(row) else None)  # "e", "r" or a footnote digit
            flags = [{"e": "estimated", "r": "revised"}[c] for c in marker if c in "er"]
            if name != stripped:
                flags.insert(0, "estimated")
            if flags and flag == "reported":
                flag = "+".join(dict.fromkeys(flags))
            records.append({"country": name, "iso3": iso3, "year": year, "value_t_reo": value, "flag": flag,
                            "note": _note(markers + re.findall(r"\d+", marker), notes), "source_row": excel_row})
    if not records:
        raise DataFormatError(path, "sheet 'T8': no country rows", row=top + 2)
    return pd.DataFrame.from_records(records)
