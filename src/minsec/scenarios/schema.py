"""Disruption scenarios as data: a YAML/JSON file or the same structure in Python, validated with pydantic.

A scenario has *events* (what goes wrong) and *responses* (what partners do).  Times are months from the
scenario's start (``start_month``) with a ``duration_months``; ``start_date`` is informative only.

Events
  ``export_restriction``  a country withholds a share of its exports of some materials (optionally one stage)
                          from target importers: ``all`` (every destination outside its own region), a group
                          (``partnership``) or a list of regions/countries.
  ``production_outage``   a country loses a share of its output (mine accident, flood, strike …).
  ``demand_shock``        demand of some regions for some materials changes by a share (+ or −).
Responses
  ``stock_release``       a region releases tonnes of a material from stocks, evenly over the duration.
  ``demand_restraint``    regions cut their demand for a material by a share.
  ``substitution``        a share of demand for a material switches to substitutes, ramping up linearly.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from minsec.data import library as shipped
from minsec.errors import InputError

#: a supply-chain stage (:data:`minsec.data.catalogue.STAGES`)
Stage = Literal["mining", "refining", "metal", "manufacturing"]


class ScenarioError(InputError):
    """An invalid scenario: the message names the file and the field (e.g. ``events[0].fraction``)."""


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Timed(_Base):
    start_month: float = Field(0.0, ge=0, description="months after the scenario start")
    duration_months: float = Field(gt=0, description="length of the event in months")


def _materials(value: str | list[str]) -> list[str]:
    items = [value] if isinstance(value, str) else list(value)
    if not items:
        raise ValueError("name at least one material")
    return items


class ExportRestriction(_Timed):
    type: Literal["export_restriction"]
    country: str = Field(description="restricting country (ISO3 or name)")
    materials: list[str]
    stage: Stage | None = Field(None, description="only this stage (default: all)")
    targets: str | list[str] = Field("all", description="'all', a group name, or a list of regions/countries")
    fraction: float = Field(1.0, ge=0, le=1, description="share of exports to the targets withheld")
    leakage: float | None = Field(None, ge=0, le=1, description="override the market's leakage parameter")

    _check_materials = field_validator("materials", mode="before")(_materials)


class ProductionOutage(_Timed):
    type: Literal["production_outage"]
    country: str
    materials: list[str]
    stage: Stage | None = None
    fraction: float = Field(1.0, ge=0, le=1, description="share of the country's output lost")

    _check_materials = field_validator("materials", mode="before")(_materials)


class DemandShock(_Timed):
    type: Literal["demand_shock"]
    regions: str | list[str] = Field("all", description="'all', a group, or a list of regions")
    materials: list[str]
    stage: Stage | None = None
    change: float = Field(gt=-1, le=10, description="relative change of demand, e.g. 0.2 = +20 %")

    _check_materials = field_validator("materials", mode="before")(_materials)


class StockRelease(_Timed):
    type: Literal["stock_release"]
    region: str = Field(description="holder: a region of the model (e.g. USA, EU27, JPN)")
    material: str
    stage: Stage | None = None
    tonnes: float = Field(ge=0, description="total released over the duration")


class DemandRestraint(_Timed):
    type: Literal["demand_restraint"]
    regions: str | list[str]
    materials: list[str]
    stage: Stage | None = None
    fraction: float = Field(ge=0, le=1, description="share of demand given up")

    _check_materials = field_validator("materials", mode="before")(_materials)


class Substitution(_Base):
    type: Literal["substitution"]
    materials: list[str]
    stage: Stage | None = None
    regions: str | list[str] = "all"
    fraction: float = Field(ge=0, le=1, description="share of demand that can switch to substitutes")
    start_month: float = Field(0.0, ge=0)
    ramp_months: float = Field(6.0, ge=0, description="months to reach the full share")

    _check_materials = field_validator("materials", mode="before")(_materials)


Event = Annotated[ExportRestriction | ProductionOutage | DemandShock, Field(discriminator="type")]
Response = Annotated[StockRelease | DemandRestraint | Substitution, Field(discriminator="type")]


class Scenario(_Base):
    """A disruption scenario (see the module docstring)."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    start_date: str | None = Field(None, description="calendar date of month 0 (informative)")
    horizon_months: int = Field(24, ge=1, le=120)
    period_months: float = Field(1.0, gt=0, le=12, description="length of a model period")
    events: list[Event] = Field(min_length=1)
    responses: list[Response] = Field(default_factory=list)
    parameters: dict[str, dict[str, float]] = Field(
        default_factory=dict, description="per market/material ('*' = all) parameter overrides")
    sources: list[str] = Field(default_factory=list, description="where the scenario's facts come from")

    @property
    def n_periods(self) -> int:
        return int(-(-self.horizon_months // self.period_months))


def _location(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("export_restriction", "production_outage", "demand_shock", "stock_release",
                      "demand_restraint", "substitution"):
            continue  # the discriminator tag pydantic inserts
        else:
            out += f".{part}" if out else str(part)
    return out


def parse_scenario(data: object, origin: str = "scenario") -> Scenario:
    """Validate a mapping as a :class:`Scenario`; errors name ``origin`` and every offending field."""
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_location(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ScenarioError(f"{origin}: {problems}") from None


def read_scenario(path: str | Path) -> Scenario:
    """Read a scenario file (``.yaml``/``.yml`` or ``.json``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (expected UTF-8 YAML or JSON)") from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path}: not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") \
            from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a mapping with name, events, …")
    return parse_scenario(data, str(path))


def library_dir() -> Path:
    """The shipped scenarios' folder (``minsec/data/library/scenarios``)."""
    return shipped.folder("scenarios")


def library() -> dict[str, Path]:
    """Scenario name (file stem) → file of the scenarios shipped with minsec."""
    return shipped.items("scenarios")


def load_scenario(file_or_name: str | Path) -> Scenario:
    """A scenario file path, or the name of a shipped scenario (``minsec scenario list``)."""
    path = Path(file_or_name)
    if path.exists():
        return read_scenario(path)
    shipped = library()
    if str(file_or_name) in shipped:
        return read_scenario(shipped[str(file_or_name)])
    raise ScenarioError(f"{file_or_name}: no such file and no shipped scenario of that name; "
                        f"shipped: {', '.join(shipped)}")
