"""The project pipeline: real announced mines, refineries and recycling plants (``data/raw/projects``: EU CRMA
strategic projects, US-backed projects, partner flagships) plus the user's own, normalised for selection.

Each project gets a minsec material, the stages it adds, its capacity in tonnes a year on minsec's basis for
that material (converted from the product the source states with ``conversions.csv``), its capex, start year
and ramp-up.  Nothing is guessed: a project without capex or without a convertible capacity is kept with the
reason it cannot be evaluated, and the user fills the gap with a CSV (``project_id`` and any of
``capex_usd, capacity_t_per_yr, expected_start_year, ramp_up_years``) or adds projects of their own (the
pipeline's columns).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from minsec.data import catalogue, countries, files
from minsec.data import library as shipped
from minsec.errors import InputError
from minsec.investment.benchmarks import adds

PIPELINE_COLUMNS = ("project_id", "name", "country_iso3", "materials", "stage", "capacity_value", "capacity_unit",
                    "capex_usd", "expected_start_year", "status", "owner", "owner_country_iso3", "source_url")
FILL_COLUMNS = ("capex_usd", "capacity_t_per_yr", "expected_start_year", "ramp_up_years")
BENCHMARK_STAGES = ("extraction", "processing", "recycling")
DEFAULT_RAMP_UP_YEARS = 3
#: a material name of the pipeline → minsec material: rare-earth metals count as rare earths; magnet plants as NdFeB
#: magnets (USA Rare Earth's second plant, "type not stated", makes the company's NdFeB, as its Stillwater plant)
ALIASES = {"bauxite/alumina/aluminium": "aluminium", "ndfeb magnets": "ndfeb_magnets", "ndpr metal": "rare_earths",
           "permanent magnets (type not stated)": "ndfeb_magnets", "rare earth metals/alloys": "rare_earths",
           "ndfeb magnets (rare earths)": "ndfeb_magnets"}


class PipelineError(InputError):
    """A pipeline or fill file that cannot be used: the message names the row and column."""


def bundled_pipeline_path() -> Path:
    """The shipped pipeline (``minsec/data/library/projects``)."""
    return shipped.folder("projects") / "critical_mineral_projects.csv"


def minsec_material(name: str) -> str | None:
    """The minsec material a pipeline material name means (None: not one minsec tracks, or ambiguous)."""
    text = name.strip().lower()
    known = set(catalogue.materials().index)
    if text.replace(" ", "_") in known:
        return text.replace(" ", "_")
    if text in ALIASES:
        return ALIASES[text]
    if text.startswith("ndfeb"):
        return "ndfeb_magnets"
    if text.startswith("rare earth"):
        return "rare_earths"
    return None


def convert_capacity(material: str, value: float, unit: str) -> tuple[float | None, str]:
    """Tonnes a year on minsec's basis, and how (or why not)."""
    if not np.isfinite(value):
        return None, "no capacity stated"
    table = catalogue.conversions()
    for row in table[table["material"] == material].itertuples():
        if re.search(row.unit_pattern, str(unit), flags=re.IGNORECASE):
            return value * row.factor, f"{value:,.0f} {unit} × {row.factor:g} ({row.note}) → t {row.basis}"
    return None, f"capacity unit {unit!r} has no conversion to minsec's basis for {material}"


def read_pipeline(path: str | Path | None = None) -> pd.DataFrame:
    """The pipeline in the publisher's format (the compiled CSV), validated: required columns, numbers."""
    path = Path(path) if path is not None else bundled_pipeline_path()
    table = files.read_csv(path, "pipeline CSV", dtype={"project_id": str})
    missing = [c for c in PIPELINE_COLUMNS if c not in table.columns]
    if missing:
        raise PipelineError(f"{path}: missing column(s) {', '.join(missing)}")
    for column in ("capacity_value", "capex_usd", "expected_start_year"):
        numbers = pd.to_numeric(table[column], errors="coerce")
        bad = table[column].notna() & numbers.isna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise PipelineError(f"{path}, row {row}: {column} {table[column][bad].iloc[0]!r} is not a number")
        if (numbers < 0).any():
            row = int(np.flatnonzero((numbers < 0).to_numpy())[0]) + 2
            raise PipelineError(f"{path}, row {row}: {column} is negative")
        table[column] = numbers
    duplicated = table["project_id"][table["project_id"].duplicated()]
    if len(duplicated):
        raise PipelineError(f"{path}: project_id {duplicated.iloc[0]!r} appears twice")
    return table


def normalise(table: pd.DataFrame) -> pd.DataFrame:
    """One row per project with its minsec material, stages, converted capacity and evaluability."""
    rows = []
    for p in table.itertuples(index=False):
        materials = [m for m in (minsec_material(x) for x in str(p.materials).split(";")) if m]
        stages = [s.strip() for s in str(p.stage).split(";") if s.strip()]
        # the project's material is the one its stated capacity measures (else the first one named)
        material, capacity, how = (materials[0], None, "") if materials else (None, None, "no minsec material")
        for candidate in materials:
            converted, note = convert_capacity(candidate, float(p.capacity_value), str(p.capacity_unit))
            if converted is not None:
                material, capacity, how = candidate, converted, note
                break
            how = how or note
        country = str(p.country_iso3).split(";")[0].strip()
        rows.append({"project_id": p.project_id, "name": p.name, "country": country, "material": material,
                     "materials": ";".join(dict.fromkeys(materials)), "stages": ";".join(stages),
                     "capacity_t_per_yr": capacity, "capacity_basis": how, "capex_usd": p.capex_usd,
                     "expected_start_year": p.expected_start_year, "ramp_up_years": DEFAULT_RAMP_UP_YEARS,
                     "status": p.status, "owner": p.owner, "owner_country": p.owner_country_iso3,
                     "source_url": p.source_url})
    return _evaluable(pd.DataFrame(rows))


def _evaluable(frame: pd.DataFrame) -> pd.DataFrame:
    reasons = []
    for p in frame.itertuples():
        why = []
        if not p.material:
            why.append("no material minsec tracks")
        if not any(adds(str(p.stages), s, str(p.material)) for s in BENCHMARK_STAGES):
            why.append(f"stage {p.stages!r} is not extraction, processing or recycling")
        if pd.isna(p.capex_usd):
            why.append("capex missing")
        if pd.isna(p.capacity_t_per_yr):
            why.append(str(p.capacity_basis) if str(p.capacity_basis).startswith("capacity unit") else
                       "capacity missing")
        reasons.append("; ".join(why))
    frame = frame.copy()
    frame["not_evaluable"] = reasons
    frame["evaluable"] = frame["not_evaluable"] == ""
    return frame


def apply_fill(projects: pd.DataFrame, fill: pd.DataFrame, origin: str = "fill") -> pd.DataFrame:
    """Fill gaps (or override figures) per project_id; new project_ids are new projects (then ``name,
    country, material, stages`` are required)."""
    unknown = [c for c in fill.columns if c not in ("project_id", "name", "country", "material", "stages",
                                                   "status", *FILL_COLUMNS)]
    if unknown or "project_id" not in fill.columns:
        raise PipelineError(f"{origin}: columns are project_id and any of {', '.join(FILL_COLUMNS)} (new projects "
                            f"also name, country, material, stages); unknown: {', '.join(unknown) or 'none'}")
    out = projects.drop(columns=["evaluable", "not_evaluable"], errors="ignore").set_index("project_id").copy()
    known_materials = set(catalogue.materials().index)
    for i, row in enumerate(fill.to_dict(orient="records"), start=2):
        pid = str(row["project_id"])
        for column in FILL_COLUMNS:
            value = row.get(column)
            if value is None or (isinstance(value, float) and np.isnan(value)):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                raise PipelineError(f"{origin}, row {i}: {column} {value!r} is not a number") from None
            if not np.isfinite(number) or number < 0 or (column == "ramp_up_years" and number < 1):
                raise PipelineError(f"{origin}, row {i}: {column} {number:g} is out of range")
            row[column] = number
        if pid not in out.index:
            for column in ("name", "country", "material", "stages"):
                if not row.get(column) or (isinstance(row[column], float) and np.isnan(row[column])):
                    raise PipelineError(f"{origin}, row {i}: new project {pid}: {column} is missing")
            if row["material"] not in known_materials:
                raise PipelineError(f"{origin}, row {i}: unknown material {row['material']!r}")
            try:
                row["country"] = countries.normalise_iso3(str(row["country"]))
            except countries.UnknownCountryError:
                raise PipelineError(f"{origin}, row {i}: unknown country {row['country']!r}") from None
            out.loc[pid] = {"name": row["name"], "country": row["country"], "material": row["material"],
                            "materials": row["material"], "stages": row["stages"],
                            "capacity_basis": "given by the user",
                            "capacity_t_per_yr": np.nan, "capex_usd": np.nan, "expected_start_year": np.nan,
                            "ramp_up_years": DEFAULT_RAMP_UP_YEARS, "status": row.get("status") or "user project",
                            "owner": "", "owner_country": "", "source_url": origin}
        for column in FILL_COLUMNS:
            value = row.get(column)
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                out.loc[pid, column] = value
                if column == "capacity_t_per_yr":
                    out.loc[pid, "capacity_basis"] = f"given by the user ({origin})"
    return _evaluable(out.reset_index())


def load_projects(path: str | Path | None = None, fill: str | Path | None = None) -> pd.DataFrame:
    projects = normalise(read_pipeline(path))
    if fill is not None:
        table = files.read_csv(fill, "fill CSV", dtype={"project_id": str})
        projects = apply_fill(projects, table, str(fill))
    return projects
