"""Policies for outside suppliers, written as data (YAML): who is a partner, who is a foreign entity of concern,
which origin-content, FEOC, single-supplier, recycled-content and tariff rules apply, and when.

A policy file holds one policy (``policy``, ``version``, ``effective``) or a ``versions`` list of the same
policy whose effective ranges must not overlap; :func:`load_policies` validates everything and names the file
line of any error.  Shares are written in percent (0–100) because that is how the regulations state them.
"""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from minsec.data import countries, files
from minsec.data import library as shipped
from minsec.errors import InputError

Stage = Literal["extraction", "processing", "recycling", "manufacturing"]
Percent = Annotated[float, Field(ge=0, le=100, description="percent, 0–100")]


class PolicyError(InputError):
    """A policy that cannot be used: the message names the file, line and field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DateRange(_Strict):
    start: dt.date = Field(alias="from")
    end: dt.date | None = Field(None, alias="to", description="last day in force (open-ended if missing)")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.end is not None and self.end < self.start:
            raise ValueError(f"'to' ({self.end}) is before 'from' ({self.start})")
        return self

    def covers(self, day: dt.date) -> bool:
        return self.start <= day and (self.end is None or day <= self.end)

    def overlaps(self, other: DateRange) -> bool:
        return (other.end is None or self.start <= other.end) and (self.end is None or other.start <= self.end)


def _no_overlap(ranges: list[DateRange], what: str) -> None:
    ordered = sorted(ranges, key=lambda r: r.start)
    for first, second in itertools.pairwise(ordered):
        if first.overlaps(second):
            raise ValueError(f"{what}: {first.start}–{first.end or '…'} overlaps {second.start}–{second.end or '…'}")


class Step(_Strict):
    """One step of a schedule: ``minimum_pct`` in force over a date range."""

    start: dt.date = Field(alias="from")
    end: dt.date | None = Field(None, alias="to")
    minimum_pct: Percent

    @property
    def range(self) -> DateRange:
        return DateRange.model_validate({"from": self.start, "to": self.end})


class _Rule(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_]+$")]
    description: str = ""
    effective: DateRange | None = Field(None, description="default: the policy's range")
    citation: str = ""


class OriginContent(_Rule):
    """At least ``minimum_pct`` of the value (or tonnes) of the covered lines must have been produced at a
    qualifying stage in a partner country — e.g. IRC §30D: critical minerals *extracted or processed* in the US
    or a free-trade partner (or recycled in North America)."""

    type: Literal["origin_content"]
    stages: list[Stage] = Field(min_length=1, description="a line qualifies when its value was produced at ANY of "
                                                          "these stages in a partner country")
    recycled_in: list[str] = Field(default_factory=list, description="also qualifies: recycled in these "
                                                                     "countries (e.g. North America)")

    @field_validator("recycled_in")
    @classmethod
    def _iso3(cls, codes: list[str]) -> list[str]:
        return _iso3_list(codes)
    basis: Literal["value", "quantity"] = "value"
    materials: list[str] = Field(default_factory=list, description="lines covered (empty: all)")
    exclude_feoc: bool = Field(False, description="value from a foreign entity of concern does not qualify")
    exclude_feoc_from: dt.date | None = Field(None, description="… only from this date (default: always)")
    schedule: list[Step] = Field(min_length=1)

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, steps: list[Step]) -> list[Step]:
        _no_overlap([s.range for s in steps], "schedule")
        return steps

    def excludes_feoc_on(self, day: dt.date) -> bool:
        return self.exclude_feoc and (self.exclude_feoc_from is None or day >= self.exclude_feoc_from)

    def minimum_on(self, day: dt.date) -> float | None:
        return next((s.minimum_pct for s in self.schedule if s.range.covers(day)), None)


class FeocExclusion(_Rule):
    """No covered line may have any of ``stages`` carried out by a foreign entity of concern."""

    type: Literal["feoc_exclusion"]
    stages: list[Stage] = Field(min_length=1)
    materials: list[str] = Field(default_factory=list)


class SingleSupplier(_Rule):
    """No single non-partner country may supply more than ``maximum_pct`` of a material at a stage — the
    CRMA's diversification benchmark (Regulation (EU) 2024/1252, Art. 5(1)(b): 65 %).  ``scope: product``
    judges a bill of materials; ``scope: consumption`` says the rule concerns the parties' annual consumption
    (the CRMA's is the Union's): it is judged on the region's consumption (``minsec rules consumption``) and a
    product check reports the bill's figure as context (verdict ``info``), never as the product's verdict."""

    type: Literal["single_supplier"]
    stages: list[Stage] = Field(min_length=1)
    maximum_pct: Percent
    basis: Literal["value", "quantity"] = "quantity"
    scope: Literal["product", "consumption"] = "product"


class RecycledContent(_Rule):
    """At least ``minimum_pct[material]`` of a material's tonnes must come from recycling — e.g. the EU
    Batteries Regulation (EU) 2023/1542, Art. 8: 16 % cobalt, 6 % lithium, 6 % nickel from 18 Aug 2031."""

    type: Literal["recycled_content"]
    minimum_pct: dict[str, Percent] = Field(min_length=1)


class Tariff(_Rule):
    """A duty on lines whose ``origin_stage`` took place outside the partners: ``rate_pct`` of the value, and/or
    a border adjustment up to a reference price, max(0, reference − unit price) × tonnes."""

    type: Literal["tariff"]
    origin_stage: Stage
    rate_pct: Percent = 0.0
    reference_price_usd_per_t: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    exempt_partners: bool = True


Rule = Annotated[OriginContent | FeocExclusion | SingleSupplier | RecycledContent | Tariff,
                 Field(discriminator="type")]


def _iso3_list(codes: list[str]) -> list[str]:
    out = []
    for i, code in enumerate(codes):
        try:
            out.append(countries.normalise_iso3(code))
        except countries.UnknownCountryError:
            raise ValueError(f"[{i}]: unknown country {code!r}") from None
    return out


def _known_materials(names, where: str) -> None:
    from minsec.data import catalogue

    unknown = sorted(set(names) - set(catalogue.materials().index))
    if unknown:
        raise ValueError(f"{where}: unknown material(s) {', '.join(unknown)} (see `minsec materials`)")


class Parties(_Strict):
    countries: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list, description="groups of minsec's groups.yaml, e.g. EU27")

    @field_validator("countries")
    @classmethod
    def _iso3(cls, codes: list[str]) -> list[str]:
        return _iso3_list(codes)


class Feoc(_Strict):
    """Foreign entities of concern: entities of ``countries`` (incorporated there or headquartered there), the
    ``entities`` named, and any entity in which these hold ``control_threshold_pct`` or more of the board seats,
    voting rights or equity — directly or through other entities (see :mod:`minsec.rules.feoc`)."""

    countries: list[str] = Field(default_factory=list)
    entities: list[str] = Field(default_factory=list)
    control_threshold_pct: Percent = 25.0

    @field_validator("countries")
    @classmethod
    def _iso3(cls, codes: list[str]) -> list[str]:
        return _iso3_list(codes)


class Policy(_Strict):
    policy: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[a-z0-9_]+$")]
    version: Annotated[str, Field(min_length=1, max_length=40)]
    title: str
    jurisdiction: str = ""
    effective: DateRange
    sources: list[str] = Field(default_factory=list)
    partners: Parties
    feoc: Feoc = Field(default_factory=Feoc)
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Policy:
        ids = [r.id for r in self.rules]
        duplicated = sorted({i for i in ids if ids.count(i) > 1})
        if duplicated:
            raise ValueError(f"rule ids must be unique: {', '.join(duplicated)}")
        for i, rule in enumerate(self.rules):
            listed = list(getattr(rule, "materials", []) or [])
            if isinstance(rule, RecycledContent):
                listed = list(rule.minimum_pct)
            if isinstance(rule, Tariff):
                listed = list(rule.reference_price_usd_per_t)
            _known_materials(listed, f"rules[{i}] ({rule.id})")
        return self

    def in_force(self, day: dt.date) -> list:
        """The rules in force on ``day`` (a rule's own range within the policy's)."""
        if not self.effective.covers(day):
            return []
        return [r for r in self.rules if r.effective is None or r.effective.covers(day)]


# ------------------------------------------------------------------------------------------------ loading
def _line_of(node: yaml.Node, location: tuple) -> int | None:
    """The 1-based line of the YAML node at a pydantic error location (the deepest node that exists)."""
    line = node.start_mark.line + 1
    for part in location:
        if isinstance(node, yaml.MappingNode):
            found = next((v for k, v in node.value if k.value == part), None)
            if found is None:
                key = next((k for k, _ in node.value if k.value == part), None)
                return key.start_mark.line + 1 if key is not None else line
            node = found
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            continue            # a discriminator tag in the location: not a YAML level
        line = node.start_mark.line + 1
    return line


def _problems(exc: ValidationError, node: yaml.Node | None, origin: str) -> str:
    out = []
    for error in exc.errors():
        location = tuple(p for p in error["loc"] if p not in ("origin_content", "feoc_exclusion", "single_supplier",
                                                               "recycled_content", "tariff"))
        where = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in location).replace(".[", "[")
        line = _line_of(node, location) if node is not None else None
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown field"
        out.append(f"{origin}{f', line {line}' if line else ''}: {where or 'policy'}: {message}")
    return "\n".join(out)


def parse_policies(text: str, origin: str = "policy") -> list[Policy]:
    """Policies from YAML text: a single policy, or ``{policy, title, …, versions: [ {version, effective,
    rules, …}, … ]}`` whose versions inherit the top-level fields and must not overlap in time."""
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{origin}: not valid YAML: {exc}") from None
    except ValueError as exc:           # e.g. a date that does not exist, 2026-02-30
        raise PolicyError(f"{origin}: {exc} (dates are YYYY-MM-DD)") from None
    if not isinstance(data, dict):
        raise PolicyError(f"{origin}: expected a mapping with policy, version, effective, partners, rules")
    if "versions" in data:
        common = {k: v for k, v in data.items() if k != "versions"}
        versions = data["versions"]
        if not isinstance(versions, list) or not versions:
            raise PolicyError(f"{origin}: versions must be a non-empty list")
        policies = []
        version_nodes = next((v for k, v in node.value if k.value == "versions"), None)
        for i, version in enumerate(versions):
            if not isinstance(version, dict):
                raise PolicyError(f"{origin}: versions[{i}]: expected a mapping")
            try:
                policies.append(Policy.model_validate(common | version))
            except ValidationError as exc:
                sub = version_nodes.value[i] if version_nodes is not None else None
                raise PolicyError(_problems(exc, sub, f"{origin} versions[{i}]")) from None
        labels = [p.version for p in policies]
        if len(set(labels)) != len(labels):
            raise PolicyError(f"{origin}: versions must have distinct version labels ({', '.join(labels)})")
        try:
            _no_overlap([p.effective for p in policies], "versions")
        except ValueError as exc:
            raise PolicyError(f"{origin}: {exc}") from None
        return policies
    try:
        return [Policy.model_validate(data)]
    except ValidationError as exc:
        raise PolicyError(_problems(exc, node, origin)) from None


def load_policies(path: str | Path) -> list[Policy]:
    """Read a policy file, or a shipped policy by name (:func:`library`)."""
    path = Path(path)
    if not path.exists():
        shipped = library()
        if str(path) in shipped:
            path = shipped[str(path)]
        else:
            raise PolicyError(f"{path}: no such file and no shipped policy of that name; shipped: "
                              f"{', '.join(shipped)}")
    return parse_policies(files.read_text(path, "policy file"), str(path))


def policy_on(policies: list[Policy], day: dt.date) -> Policy:
    """The version in force on ``day``."""
    for policy in policies:
        if policy.effective.covers(day):
            return policy
    ranges = ", ".join(f"{p.version}: {p.effective.start}–{p.effective.end or '…'}" for p in policies)
    raise PolicyError(f"{policies[0].policy}: no version in force on {day} ({ranges})")


def library() -> dict[str, Path]:
    """Policy name (file stem) → file of the policies shipped with minsec."""
    return shipped.items("policies")


def members(parties: Parties, groups) -> frozenset[str]:
    """ISO3 codes of the parties (groups expanded)."""
    found = {countries.normalise_iso3(c) for c in parties.countries}
    for group in parties.groups:
        if group not in groups:
            raise PolicyError(f"unknown group {group!r}; known: {', '.join(groups.names)}")
        found |= groups.members(group)
    return frozenset(found)


def describe(policy: Policy) -> dict[str, Any]:
    """A summary for listings (`minsec rules validate`)."""
    return {"policy": policy.policy, "version": policy.version, "title": policy.title,
            "effective_from": str(policy.effective.start), "effective_to": str(policy.effective.end or ""),
            "rules": ", ".join(f"{r.id} ({r.type})" for r in policy.rules)}
