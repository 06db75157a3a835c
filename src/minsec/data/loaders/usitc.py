"""USITC DataWeb: U.S. imports for consumption and U.S. domestic exports by partner and HTS heading.

Reads the Excel workbook DataWeb (https://dataweb.usitc.gov, data of the U.S. Census Bureau) writes for a
saved query, as downloaded (see ``data/raw/usitc_dataweb/PROVENANCE.md``):

* sheet ``Query Parameters``: ``key | value`` rows (``Download Date``, ``Trade Flow``, ``Years`` …);
* one sheet per data type — ``Customs Value`` (imports) or ``FAS Value`` (exports), ``First Unit of
  Quantity``, ``Second Unit of Quantity`` — and a ``… YTD`` twin of each holding the year-to-date months named
  in the sheet's title (``Imports For Consumption|Annual + Year-To-Date Data from Jan - Apr``);
* on each data sheet: the title row, ``Data Row Count | n``, the header ``Data Type, Country, HTS Number,
  Description, Quantity Description, 1993 … 2026`` (``1993_Year_to_date`` … on YTD sheets), quantity sheets
  add one ``<period>_Suppressed`` column per period, and value sheets close with a ``Total:`` row.

A heading's lines are grouped by their first unit of quantity: the value sheets' ``Quantity Description``
reads ``Value for: kilograms`` and pairs with the quantity sheet's ``kilograms`` row of the same partner and
heading.  The second unit (e.g. ``component kilograms``, the metal content) covers only the lines that have
one and carries no value of its own.

Quirks handled explicitly:

* the annual column of the year of download (2026, downloaded 2026-07-10) is 0 in every row although the
  year is not over: it is not read (the YTD sheets give that year's January–April as their own period);
* ``no units collected`` lines have a value but no quantity (quantity 0 as written → missing);
* a non-zero ``_Suppressed`` cell — as read here, the number of records whose quantity Census withheld —
  makes a zero quantity missing and a positive one a lower bound (flagged);
* the worksheets' stored dimension is ``A1``, so openpyxl's read-only reader must reset it to see the rows.
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
import zipfile
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries, dataset
from minsec.data.errors import DataFormatError
from minsec.data.loaders.usgs import LoadReport
from minsec.errors import InputError, MissingFileError

SOURCE = "usitc_dataweb"
#: flow → (file name in data/raw/usitc_dataweb, DataWeb's trade flow, the value sheet's data type)
FILES = {
    "import": ("us_imports_for_consumption_1993-2026.xlsx", "Imports For Consumption", "Customs Value"),
    "export": ("us_domestic_exports_1993-2026.xlsx", "Domestic Exports", "FAS Value"),
}
HEADER = ("Data Type", "Country", "HTS Number", "Description", "Quantity Description")
QUANTITY_TYPES = {"First Unit of Quantity": "first", "Second Unit of Quantity": "second"}
VALUE_PREFIX = "Value for: "
#: DataWeb's unit of quantity → (tonnes per unit, NaN for non-mass units; what the mass counts)
UNITS = {
    "kilograms": (1e-3, "gross"), "metric tons": (1.0, "gross"), "grams": (1e-6, "gross"),
    "component kilograms": (1e-3, "content"), "component tons": (1.0, "content"),
    "component grams": (1e-6, "content"), "gold content grams": (1e-6, "content"),
    "number": (np.nan, ""), "no units collected": (np.nan, ""),
}
#: DataWeb partner spellings that countries.iso3_from_name does not resolve
PARTNER_NAMES = {"Myanmar (Burma)": "MMR"}
#: partner names DataWeb writes for an aggregated country selection (none in this download)
TOTAL_NAMES = {"world", "all countries", "total", "world total"}
_PERIOD = re.compile(r"^(?P<year>\d{4})(?P<ytd>_Year_to_date)?(?P<suppressed>_Suppressed)?$")
_MONTHS = re.compile(r"from\s+(?P<first>[A-Z][a-z]{2})\s*-\s*(?P<last>[A-Z][a-z]{2})")
_MONTH_NUMBER = {name: i for i, name in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], start=1)}

@cache
def hts4_materials() -> pd.DataFrame:
    """The catalogue's ``hts4_materials.csv``: HS-4 heading → material, stage, basis, mixed, contains, note."""
    path = Path(str(resources.files("minsec.data.catalogue").joinpath("hts4_materials.csv")))
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    known = set(catalogue.materials().index)
    for column in ("material", "contains"):
        named = {m for cell in table[column] for m in cell.split(";") if m}
        if named - known:
            raise ValueError(f"hts4_materials.csv: {column} not in materials.csv: {sorted(named - known)}")
    bad_stage = set(table["stage"]) - {*catalogue.STAGES, "manufacturing"}
    if bad_stage or table["hs4"].duplicated().any() or not set(table["mixed"]) <= {"yes", "no"}:
        raise ValueError("hts4_materials.csv: unknown stage, duplicate heading or mixed not yes/no")
    return table.set_index("hs4")


def _open(path: Path):
    import openpyxl  # the standard xlsx reader; imported here so that the rest of minsec does not need it
    from openpyxl.utils.exceptions import InvalidFileException

    if not path.is_file():
        raise MissingFileError(f"{path}: DataWeb workbook not found")
    try:
        with warnings.catch_warnings():
            # DataWeb's workbooks have no default cell style; openpyxl warns and applies its own
            warnings.filterwarnings("ignore", message="Workbook contains no default style", category=UserWarning)
            return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, OSError, KeyError, ValueError) as exc:
        raise DataFormatError(path, f"not a readable xlsx workbook ({exc.__class__.__name__}: {exc})") from None


def _rows(workbook, name: str) -> list[tuple]:
    sheet = workbook[name]
    sheet.reset_dimensions()  # the stored dimension is "A1"; without the reset only one cell is read
    return list(sheet.iter_rows(values_only=True))


def _parameters(workbook, path: Path) -> dict[str, object]:
    if "Query Parameters" not in workbook.sheetnames:
        raise DataFormatError(path, f"no 'Query Parameters' sheet (sheets: {workbook.sheetnames})")
    out: dict[str, object] = {}
    for row in _rows(workbook, "Query Parameters"):
        if row and row[0] is not None and len(row) > 1 and row[0] not in out:
            out[str(row[0]).strip()] = row[1]
    if not isinstance(out.get("Download Date"), dt.datetime):
        raise DataFormatError(path, "sheet 'Query Parameters': no 'Download Date'", column="Download Date")
    return out


def _ytd_months(title: object, path: Path, sheet: str) -> tuple[int, int]:
    match = _MONTHS.search(str(title or ""))
    if match is None or match["first"] not in _MONTH_NUMBER or match["last"] not in _MONTH_NUMBER:
        raise DataFormatError(path, f"sheet {sheet!r}: title {title!r} names no 'from Mon - Mon' months", row=1)
    return _MONTH_NUMBER[match["first"]], _MONTH_NUMBER[match["last"]]


def _header_row(rows: list[tuple], path: Path, sheet: str) -> int:
    for index, row in enumerate(rows[:20]):
        if tuple(str(c).strip() if c is not None else "" for c in row[:5]) == HEADER:
            return index
    raise DataFormatError(path, f"sheet {sheet!r}: no header row ({', '.join(HEADER)}, <years>)")


def _period_columns(header: tuple, path: Path, sheet: str, row: int) -> list[tuple[int, int, bool]]:
    """(column index, year, is-suppressed-column) for every column after the five key columns."""
    out = []
    ytd_sheet = sheet.endswith(" YTD")
    for index, name in enumerate(header[5:], start=5):
        match = _PERIOD.match(str(name).strip()) if name is not None else None
        if match is None or bool(match["ytd"]) != ytd_sheet:
            raise DataFormatError(path, f"sheet {sheet!r}: unexpected column {name!r}", row=row,
                                  column=str(name))
        out.append((index, int(match["year"]), bool(match["suppressed"])))
    return out


def _number(cell: object, path: Path, sheet: str, row: int, column: str) -> float:
    if isinstance(cell, bool) or not isinstance(cell, int | float) or not np.isfinite(cell) or cell < 0:
        raise DataFormatError(path, f"sheet {sheet!r}: {cell!r} is not a non-negative number", row=row,
                              column=column)
    return float(cell)


def _check_total(total: tuple, frame: pd.DataFrame, path: Path, sheet: str, row: int, header: tuple) -> None:
    """The value sheets' ``Total:`` row (text with thousands separators) must equal the sum of the rows."""
    sums = frame[~frame["is_suppressed"]].groupby("column")["value"].sum()
    for column, published in enumerate(total):
        if column < 5 or column not in sums.index:
            continue
        try:
            number = float(str(published).replace(",", ""))
        except ValueError:
            raise DataFormatError(path, f"sheet {sheet!r}: Total {published!r} is not a number", row=row,
                                  column=str(header[column])) from None
        if abs(number - sums[column]) > 0.5:
            raise DataFormatError(path, f"sheet {sheet!r}: rows sum to {sums[column]:,.0f}, Total row says "
                                        f"{published}", row=row, column=str(header[column]))


def _read_sheet(rows: list[tuple], path: Path, sheet: str) -> pd.DataFrame:
    """One data sheet → long rows (key columns, ``year``, ``is_suppressed`` column?, ``value``, ``row``)."""
    at = _header_row(rows, path, sheet)
    header = rows[at]
    periods = _period_columns(header, path, sheet, at + 1)
    data_type = sheet.removesuffix(" YTD")
    records, total_at = [], None
    for index in range(at + 1, len(rows)):
        row = rows[index]
        first = str(row[0]).strip() if row and row[0] is not None else ""
        if first.startswith("Total"):
            total_at = index
            break
        if not first:
            continue
        if first != data_type:
            raise DataFormatError(path, f"sheet {sheet!r}: Data Type {first!r}, expected {data_type!r}",
                                  row=index + 1, column="Data Type")
        keys = [str(c).strip() if c is not None else "" for c in row[1:5]]
        for column, year, suppressed in periods:
            value = _number(row[column] if column < len(row) else None, path, sheet, index + 1,
                            str(header[column]))
            records.append((*keys, year, suppressed, column, value, index + 1))
    frame = pd.DataFrame(records, columns=["country", "hs4", "description", "quantity_description", "year",
                                           "is_suppressed", "column", "value", "row"])
    duplicated = frame.drop_duplicates("row").duplicated(["country", "hs4", "quantity_description"])
    if duplicated.any():
        row = int(frame.drop_duplicates("row")[duplicated]["row"].iloc[0])
        raise DataFormatError(path, f"sheet {sheet!r}: second row for the same country, heading and unit", row=row)
    counted = [r[1] for r in rows[:at] if r and r[0] == "Data Row Count"]
    found = frame["row"].nunique()
    if counted and int(counted[0]) != found:
        raise DataFormatError(path, f"sheet {sheet!r}: 'Data Row Count' says {int(counted[0])}, {found} data rows")
    if total_at is not None:
        _check_total(rows[total_at], frame, path, sheet, total_at + 1, header)
    return frame


def read_dataweb(path: str | Path, flow: str) -> pd.DataFrame:
    """Every number of a DataWeb workbook, long: one row per sheet × data row × period column.

    Returns ``data_type`` (Customs Value / FAS Value / First Unit of Quantity / Second Unit of Quantity),
    ``ytd`` (bool), ``months`` (12, or the year-to-date month count), ``country``, ``hs4``, ``description``,
    ``quantity_description`` (as published), ``year``, ``value`` (the cell: USD or quantity), ``suppressed``
    (the period's ``_Suppressed`` cell, NaN on sheets without one) and ``row`` (the 1-based sheet row).
    ``attrs`` holds ``download_date``, ``trade_flow`` and ``ytd_months`` (first, last month).  ``flow`` is
    ``"import"`` or ``"export"``; a workbook of the other flow raises :class:`DataFormatError`.
    """
    path = Path(path)
    if flow not in FILES:
        raise ValueError(f"flow must be one of {sorted(FILES)}, got {flow!r}")
    _, trade_flow, value_type = FILES[flow]
    workbook = _open(path)
    try:
        params = _parameters(workbook, path)
        if params.get("Trade Flow") != trade_flow:
            raise DataFormatError(path, f"Trade Flow is {params.get('Trade Flow')!r}, expected {trade_flow!r} "
                                        f"for flow {flow!r}", column="Trade Flow")
        frames, ytd_months = [], None
        for data_type in (value_type, *QUANTITY_TYPES):
            for sheet in (data_type, f"{data_type} YTD"):
                if sheet not in workbook.sheetnames:
                    raise DataFormatError(path, f"no sheet {sheet!r} (sheets: {workbook.sheetnames})")
                rows = _rows(workbook, sheet)
                frame = _read_sheet(rows, path, sheet)
                ytd = sheet.endswith(" YTD")
                if ytd:
                    ytd_months = _ytd_months(rows[0][0] if rows and rows[0] else None, path, sheet)
                frames.append(frame.assign(data_type=data_type, ytd=ytd))
    finally:
        workbook.close()
    return _long(frames, path, params, trade_flow, ytd_months)


def _long(frames: list[pd.DataFrame], path: Path, params: dict, trade_flow: str,
          ytd_months: tuple[int, int] | None) -> pd.DataFrame:
    """Put each ``_Suppressed`` cell beside the quantity of its period."""
    raw = pd.concat(frames, ignore_index=True)
    keys = ["data_type", "ytd", "country", "hs4", "description", "quantity_description", "year"]
    values = raw[~raw["is_suppressed"]].drop(columns=["is_suppressed", "column"])
    suppressed = raw[raw["is_suppressed"]][[*keys, "value"]].rename(columns={"value": "suppressed"})
    out = values.merge(suppressed, on=keys, how="left", validate="one_to_one")
    first, last = ytd_months or (1, 12)
    out.insert(2, "months", np.where(out["ytd"], last - first + 1, 12).astype("int16"))
    out.attrs.update(download_date=params["Download Date"], trade_flow=trade_flow, ytd_months=(first, last),
                     path=str(path))
    return out[["data_type", "ytd", "months", "country", "hs4", "description", "quantity_description", "year",
                "value", "suppressed", "row"]]


def _period(year: pd.Series, ytd: pd.Series, ytd_months: tuple[int, int]) -> pd.Series:
    first, last = ytd_months
    text = year.astype(str)
    return text.where(~ytd, text + f"-{first:02d}.." + text + f"-{last:02d}")


def _partners(names: pd.Series, rows: pd.Series, path: Path) -> pd.Series:
    """Partner names → ISO3 ('WLD' for a world total); an unknown name raises, naming its first row."""
    mapping = {}
    for name in names.unique():
        if name.lower() in TOTAL_NAMES:
            mapping[name] = countries.WORLD
        elif name in PARTNER_NAMES:
            mapping[name] = PARTNER_NAMES[name]
        else:
            try:
                mapping[name] = countries.iso3_from_name(name)
            except countries.UnknownCountryError as exc:
                raise DataFormatError(path, str(exc), row=int(rows[names == name].iloc[0]),
                                      column="Country") from None
    return names.map(mapping)


def _first_unit(raw: pd.DataFrame, value_type: str, path: Path) -> pd.DataFrame:
    """Value rows paired with the first-unit quantity rows of the same partner, heading, unit and period."""
    keys = ["ytd", "months", "country", "hs4", "quantity_unit", "year"]
    values = raw[raw["data_type"] == value_type]
    no_prefix = ~values["quantity_description"].str.startswith(VALUE_PREFIX)
    if no_prefix.any():
        bad = values[no_prefix].iloc[0]
        raise DataFormatError(path, f"value row's Quantity Description {bad.quantity_description!r} does not "
                                    f"start with {VALUE_PREFIX!r}", row=int(bad.row), column="Quantity Description")
    values = values.assign(quantity_unit=values["quantity_description"].str.removeprefix(VALUE_PREFIX))
    quantities = raw[raw["data_type"] == "First Unit of Quantity"]
    quantities = quantities.assign(quantity_unit=quantities["quantity_description"])
    merged = values[[*keys, "description", "value", "row"]].merge(
        quantities[[*keys, "value", "suppressed"]].rename(columns={"value": "quantity"}),
        on=keys, how="outer", indicator=True, validate="one_to_one")
    unpaired = merged[merged["_merge"] != "both"]
    if len(unpaired):
        first = unpaired.iloc[0]
        side = "value sheet" if first["_merge"] == "left_only" else "quantity sheet"
        raise DataFormatError(path, f"{first.country} {first.hs4} {first.quantity_unit!r} {first.year}: only "
                                    f"on the {side}; the value and first-unit sheets must pair row by row")
    return merged.drop(columns="_merge").rename(columns={"value": "value_usd"}).assign(quantity_kind="first")


def _second_unit(raw: pd.DataFrame) -> pd.DataFrame:
    """Second-unit rows: a quantity for the lines that have one, no value (DataWeb values the first unit)."""
    rows = raw[raw["data_type"] == "Second Unit of Quantity"]
    return pd.DataFrame({
        "ytd": rows["ytd"], "months": rows["months"], "country": rows["country"], "hs4": rows["hs4"],
        "quantity_unit": rows["quantity_description"], "year": rows["year"], "description": rows["description"],
        "value_usd": np.nan, "row": rows["row"], "quantity": rows["value"], "suppressed": rows["suppressed"],
        "quantity_kind": "second"})


def _flags(frame: pd.DataFrame) -> pd.DataFrame:
    """Zero quantities that are not zeros become NaN with the reason; published zeros stay (no trade)."""
    suppressed = frame["suppressed"].fillna(0) > 0
    no_unit = frame["quantity_unit"] == "no units collected"
    valued = frame["value_usd"].fillna(0) > 0
    zero = frame["quantity"] == 0
    flag = np.select(
        [no_unit, suppressed & zero, suppressed, valued & zero],
        ["no_quantity_unit", "quantity_suppressed", "quantity_partly_suppressed", "quantity_not_reported"],
        default="reported")
    missing = no_unit | (suppressed & zero) | (valued & zero)
    return frame.assign(flag=flag, quantity=frame["quantity"].mask(missing))


def _flow_table(raw: pd.DataFrame, flow: str, report: LoadReport) -> pd.DataFrame:
    """One workbook's long rows → ``us_trade`` rows of that flow."""
    path = Path(raw.attrs["path"])
    download_year = raw.attrs["download_date"].year
    # the annual column of the download year is written as 0 in every row: the year is not over
    incomplete = (~raw["ytd"]) & (raw["year"] >= download_year)
    if incomplete.any():
        nonzero = int((raw.loc[incomplete, "value"] > 0).sum())
        years = sorted(int(y) for y in raw.loc[incomplete, "year"].unique())
        report.gaps.append(f"{path.name}: annual column(s) {years} not read (year incomplete at download "
                           f"{raw.attrs['download_date']:%Y-%m-%d}; {nonzero} non-zero cells); the year-to-date "
                           f"period stands for it")
    raw = raw[~incomplete]
    frame = pd.concat([_first_unit(raw, FILES[flow][2], path), _second_unit(raw)], ignore_index=True)
    unknown = sorted(set(frame["quantity_unit"]) - set(UNITS))
    if unknown:
        row = int(frame.loc[frame["quantity_unit"] == unknown[0], "row"].iloc[0])
        raise DataFormatError(path, f"unknown unit of quantity {unknown[0]!r} (known: {sorted(UNITS)})", row=row,
                              column="Quantity Description")
    headings = hts4_materials()
    missing = sorted(set(frame["hs4"]) - set(headings.index))
    if missing:
        row = int(frame.loc[frame["hs4"] == missing[0], "row"].iloc[0])
        raise DataFormatError(path, f"HS-4 heading {missing[0]!r} has no row in the catalogue's "
                                    f"hts4_materials.csv", row=row, column="HTS Number")
    frame = _flags(frame)
    to_t = frame["quantity_unit"].map({unit: factor for unit, (factor, _) in UNITS.items()})
    spec = headings.loc[frame["hs4"]]
    out = pd.DataFrame({
        "reporter": "USA", "partner": _partners(frame["country"], frame["row"], path).to_numpy(), "flow": flow,
        "hs4": frame["hs4"].to_numpy(), "material": spec["material"].to_numpy(), "stage": spec["stage"].to_numpy(),
        "mixed": (spec["mixed"] == "yes").to_numpy(),
        "period": _period(frame["year"], frame["ytd"], raw.attrs["ytd_months"]).to_numpy(),
        "year": frame["year"].astype("int16").to_numpy(), "months": frame["months"].astype("int16").to_numpy(),
        "quantity_kind": frame["quantity_kind"].to_numpy(), "value_usd": frame["value_usd"].to_numpy(),
        "quantity": frame["quantity"].to_numpy(), "quantity_unit": frame["quantity_unit"].to_numpy(),
        "quantity_t": (frame["quantity"] * to_t).to_numpy(),
        "quantity_basis": frame["quantity_unit"].map({u: basis for u, (_, basis) in UNITS.items()}).to_numpy(),
        "flag": frame["flag"].to_numpy(), "source": SOURCE})
    _report_flags(out, path, report)
    return out


def _report_flags(table: pd.DataFrame, path: Path, report: LoadReport) -> None:
    counts = table["flag"].value_counts()
    for flag in ("quantity_suppressed", "quantity_partly_suppressed", "no_quantity_unit", "quantity_not_reported"):
        if counts.get(flag, 0):
            report.gaps.append(f"{path.name}: {counts[flag]} rows flagged {flag}")


def tidy(raw_dir: str | Path, report: LoadReport | None = None) -> pd.DataFrame:
    """The ``us_trade`` table (columns of ``dataset.SCHEMA['us_trade']``) from ``raw_dir/usitc_dataweb/``
    (``raw_dir`` is the raw-data directory, ``data/raw``): both flows, every partner, heading, unit group and
    period (calendar years and year-to-date months), sorted."""
    report = report if report is not None else LoadReport()
    directory = Path(raw_dir) / SOURCE
    frames = []
    for flow, (name, _, _) in FILES.items():
        frames.append(_flow_table(read_dataweb(directory / name, flow), flow, report))
        report.files.append(name)
    report.gaps.append("partners: the 18 countries of the DataWeb query only, no world total; U.S. totals over "
                       "all partners are not in this source")
    table = pd.concat(frames, ignore_index=True)
    table = table.sort_values(["flow", "partner", "hs4", "quantity_kind", "quantity_unit", "year", "months"],
                              kind="stable", ignore_index=True)
    return table[list(dataset.SCHEMA["us_trade"])]


def unit_values(table: pd.DataFrame, by: tuple[str, ...] = ("flow", "partner", "hs4", "period")) -> pd.DataFrame:
    """USD per tonne of product from ``us_trade``: ``Σ value_usd / Σ quantity_t`` per group, over the first-unit
    line groups counted in gross mass (kilograms, metric tons, grams); line groups counted in number, in
    content or without a quantity are left out of value and tonnes alike."""
    known = table[(table["quantity_kind"] == "first") & (table["quantity_basis"] == "gross")
                  & (table["quantity_t"] > 0) & table["value_usd"].notna()]
    out = known.groupby(list(by), observed=True)[["value_usd", "quantity_t"]].sum().reset_index()
    out["unit_value_usd_per_t"] = out["value_usd"] / out["quantity_t"]
    return out


# --------------------------------------------------------------------------------------------- periods
#: the text of a us_trade period: "2025" (calendar year) or "2026-01..2026-04" (year to date)
PERIOD_TEXT = re.compile(r"^(?P<year>\d{4})(?:-(?P<first>\d{2})\.\.(?P=year)-(?P<last>\d{2}))?$")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")


def parse_period(period: str) -> tuple[int, int, int]:
    """``'2025'`` → (2025, 1, 12); ``'2026-01..2026-04'`` → (2026, 1, 4): year, first and last month."""
    match = PERIOD_TEXT.match(str(period).strip())
    if match is None:
        raise InputError(f"period {period!r}: give a year such as 2025, a year-to-date period such as "
                         "2026-01..2026-04, 'latest' or 'all'")
    first, last = (int(match["first"]), int(match["last"])) if match["first"] else (1, 12)
    if not 1 <= first <= last <= 12:
        raise InputError(f"period {period!r}: months must run from 01 to 12")
    return int(match["year"]), first, last


def period_label(period: str) -> str:
    """``'2026-01..2026-04'`` → ``'January–April 2026'``; ``'2025'`` → ``'2025'``."""
    year, first, last = parse_period(period)
    return str(year) if (first, last) == (1, 12) and ".." not in period else \
        f"{MONTHS[first - 1]}–{MONTHS[last - 1]} {year}"


def prior_period(period: str) -> str:
    """The same months a year earlier: ``'2026-01..2026-04'`` → ``'2025-01..2025-04'``, ``'2025'`` → ``'2024'``."""
    year, first, last = parse_period(period)
    return str(year - 1) if ".." not in period else f"{year - 1}-{first:02d}..{year - 1}-{last:02d}"
