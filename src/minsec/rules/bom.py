"""Bills of materials for compliance checks: what a product contains and, per line and stage, where and by
whom it was produced, and who owns whom.

JSON::

    {"product": "EV battery pack X", "lines": [
        {"line": "L1", "material": "lithium", "quantity_t": 0.008, "value_usd": 950,
         "stages": [{"stage": "extraction", "country": "AUS", "facility": "Greenbushes", "owner": "Talison"},
                    {"stage": "processing", "country": "CHN", "facility": "…", "owner": "Tianqi Lithium"}]}],
     "entities": [{"name": "Talison", "country": "AUS",
                   "owners": [{"owner": "Tianqi Lithium", "share_pct": 51, "basis": "equity"}]}]}

CSV: one row per line × stage with the columns ``line, material, quantity_t, value_usd, stage, country,
facility, owner`` (a line's quantity and value on its first row, or repeated identically); ownership in a
second CSV ``entity, country, owner, share_pct, basis`` (optional ``owners_complete``).  Errors name the line
or row; nothing is guessed: a missing country or owner is kept as unknown and reported by the check.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from minsec.data import countries, files
from minsec.errors import InputError
from minsec.rules.policy import Stage


class BomError(InputError):
    """A bill of materials that cannot be checked: the message names the line or row."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _country(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return countries.normalise_iso3(str(value).strip())
    except countries.UnknownCountryError:
        raise ValueError(f"unknown country {value!r} (ISO 3166-1 alpha-3 code or name)") from None


class StageRecord(_Strict):
    stage: Stage
    country: str | None = Field(None, description="ISO3; missing = unknown origin")
    facility: str | None = None
    owner: str | None = Field(None, description="the entity operating the stage (missing = unknown)")

    @field_validator("country")
    @classmethod
    def _iso3(cls, value: str | None) -> str | None:
        return _country(value)


class Line(_Strict):
    line: Annotated[str, Field(min_length=1, max_length=80)]
    material: Annotated[str, Field(min_length=1, max_length=64)]
    quantity_t: float = Field(ge=0, allow_inf_nan=False)
    value_usd: float = Field(ge=0, allow_inf_nan=False)
    stages: list[StageRecord] = Field(default_factory=list)

    @field_validator("material")
    @classmethod
    def _known(cls, material: str) -> str:
        from minsec.data import catalogue

        if material not in catalogue.materials().index:
            raise ValueError(f"unknown material {material!r} (minsec material ids, see `minsec materials`)")
        return material

    @model_validator(mode="after")
    def _stages_once(self) -> Line:
        names = [s.stage for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError(f"a stage is listed twice: {', '.join(names)}")
        return self

    def at(self, stage: str) -> StageRecord | None:
        return next((s for s in self.stages if s.stage == stage), None)


class Holding(_Strict):
    owner: Annotated[str, Field(min_length=1)]
    share_pct: float = Field(gt=0, le=100, allow_inf_nan=False)
    basis: Literal["equity", "voting", "board"] = "equity"


class Entity(_Strict):
    """An entity and its holders.  Holdings listed on a basis that add up to less than 100 % leave the rest
    unknown (it could be held by a FEOC) unless ``owners_complete`` says the rest is dispersed among holders not
    worth naming; an entity with no holders listed is taken to have none of note."""

    name: Annotated[str, Field(min_length=1)]
    country: str | None = None
    owners: list[Holding] = Field(default_factory=list)
    owners_complete: bool = False

    @field_validator("country")
    @classmethod
    def _iso3(cls, value: str | None) -> str | None:
        return _country(value)

    @model_validator(mode="after")
    def _at_most_whole(self) -> Entity:
        if any(h.owner == self.name for h in self.owners):
            raise ValueError(f"{self.name} is listed as its own owner")
        for basis in ("equity", "voting", "board"):
            total = sum(h.share_pct for h in self.owners if h.basis == basis)
            if total > 100 + 1e-9:
                raise ValueError(f"{basis} holdings add up to {total:g} % (> 100 %)")
        return self


class BillOfMaterials(_Strict):
    product: str = ""
    lines: list[Line] = Field(min_length=1)
    entities: list[Entity] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> BillOfMaterials:
        for what, names in (("line", [x.line for x in self.lines]), ("entity", [e.name for e in self.entities])):
            duplicated = sorted({n for n in names if names.count(n) > 1})
            if duplicated:
                raise ValueError(f"{what} names must be unique: {', '.join(duplicated)}")
        return self


def _where(loc: tuple, data: dict) -> str:
    """'line L2 (lines[1]).stages[0].country' from a pydantic location."""
    parts, node = [], data
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            node = node[part]
            label = node.get("line") or node.get("name") if isinstance(node, dict) else None
            parts.append(f"[{part}]" + (f" ({label})" if label else ""))
        else:
            node = node.get(part) if isinstance(node, dict) else None
            parts.append(f".{part}" if parts else str(part))
    return "".join(parts)


def _message(error: dict) -> str:
    return "unknown field" if error["type"] == "extra_forbidden" else error["msg"].removeprefix("Value error, ")


def parse_bom(data: object, origin: str = "bill of materials") -> BillOfMaterials:
    if not isinstance(data, dict):
        raise BomError(f"{origin}: expected an object with lines (and entities)")
    try:
        return BillOfMaterials.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_where(e['loc'], data)}: {_message(e)}" for e in exc.errors())
        raise BomError(f"{origin}: {problems}") from None


LINE_COLUMNS = ("line", "material", "quantity_t", "value_usd", "stage", "country", "facility", "owner")
ENTITY_COLUMNS = ("entity", "country", "owner", "share_pct", "basis")


def _rows(text: str, origin: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
          ) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise BomError(f"{origin}: missing column(s) {', '.join(missing)} (expected {', '.join(required)})")
    unknown = [c for c in header if c not in required and c not in optional]
    if unknown:
        raise BomError(f"{origin}: unknown column(s) {', '.join(unknown)} (expected {', '.join(required)})")
    rows = []
    for i, row in enumerate(reader):
        if None in row:          # more fields than the header has
            raise BomError(f"{origin}, row {i + 2}: {len(header) + len(row[None])} fields, the header has "
                           f"{len(header)}")
        rows.append((i + 2, {k.strip(): (v or "").strip() for k, v in row.items()}))
    return rows


def _number(text: str, origin: str, row: int, column: str) -> float | None:
    if text == "":
        return None
    try:
        value = float(text)
    except ValueError:
        raise BomError(f"{origin}, row {row}: {column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise BomError(f"{origin}, row {row}: {column} {text!r} is not a finite number")
    return value


def read_csv(lines_text: str, entities_text: str | None = None, origin: str = "bill of materials") -> BillOfMaterials:
    """A bill of materials from the flat CSV form (rows are numbered as in a spreadsheet, header = row 1)."""
    lines: dict[str, dict] = {}
    for row_no, row in _rows(lines_text, origin, LINE_COLUMNS):
        name = row["line"]
        if not name:
            raise BomError(f"{origin}, row {row_no}: line is empty")
        entry = lines.setdefault(name, {"line": name, "material": row["material"], "quantity_t": None,
                                        "value_usd": None, "stages": [], "_row": row_no})
        for column in ("quantity_t", "value_usd"):
            value = _number(row[column], origin, row_no, column)
            if value is not None:
                if entry[column] is not None and entry[column] != value:
                    raise BomError(f"{origin}, row {row_no}: line {name}: {column} {value:g} differs from "
                                   f"{entry[column]:g} given on row {entry['_row']}")
                entry[column] = value
        if row["material"] and row["material"] != entry["material"]:
            raise BomError(f"{origin}, row {row_no}: line {name}: material {row['material']!r} differs from "
                           f"{entry['material']!r} given on row {entry['_row']}")
        if row["stage"]:
            try:
                entry["stages"].append(StageRecord.model_validate(
                    {"stage": row["stage"], "country": row["country"] or None, "facility": row["facility"] or None,
                     "owner": row["owner"] or None}))
            except ValidationError as exc:
                problem = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
                                    for e in exc.errors())
                raise BomError(f"{origin}, row {row_no}: {problem}") from None
    for name, entry in lines.items():
        for column in ("material", "quantity_t", "value_usd"):
            if entry[column] in (None, ""):
                raise BomError(f"{origin}, row {entry['_row']}: line {name}: {column} is missing")
    data = {"lines": [{k: v for k, v in e.items() if k != "_row"} for e in lines.values()],
            "entities": entities_from_csv(entities_text, f"{origin} (entities)") if entities_text is not None else []}
    return parse_bom(data, origin)


def entities_from_csv(text: str, origin: str) -> list[dict]:
    """Entities and their owners from the ownership CSV (one row per holding; a row without an owner just
    gives the entity's country)."""
    entities: dict[str, dict] = {}
    for row_no, row in _rows(text, origin, ENTITY_COLUMNS, ("owners_complete",)):
        if not row["entity"]:
            raise BomError(f"{origin}, row {row_no}: entity is empty")
        entry = entities.setdefault(row["entity"], {"name": row["entity"], "country": None, "owners": []})
        if row["country"]:
            entry["country"] = row["country"]
        flag = row.get("owners_complete", "").lower()
        if flag:
            if flag not in ("true", "false", "yes", "no", "1", "0"):
                raise BomError(f"{origin}, row {row_no}: owners_complete {flag!r}: true or false")
            entry["owners_complete"] = flag in ("true", "yes", "1")
        if row["owner"]:
            share = _number(row["share_pct"], origin, row_no, "share_pct")
            if share is None:
                raise BomError(f"{origin}, row {row_no}: share_pct is missing")
            entry["owners"].append({"owner": row["owner"], "share_pct": share, "basis": row["basis"] or "equity"})
    return list(entities.values())


def load_bom(path: str | Path, entities: str | Path | None = None) -> BillOfMaterials:
    """A bill of materials from ``.json`` or ``.csv`` (with an optional ownership CSV)."""
    path = Path(path)
    text = files.read_text(path, "bill of materials")
    entity_text = files.read_text(entities, "ownership CSV") if entities is not None else None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BomError(f"{path}: not valid JSON: {exc}") from None
        if entity_text is not None and isinstance(data, dict):
            data = data | {"entities": [*data.get("entities", []), *entities_from_csv(entity_text, str(entities))]}
        return parse_bom(data, str(path))
    if path.suffix.lower() == ".csv":
        return read_csv(text, entity_text, str(path))
    raise BomError(f"{path}: a bill of materials is .json or .csv")
