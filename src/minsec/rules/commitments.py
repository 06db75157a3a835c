"""The commitments register: partners' commitments as data (no export bans or restrictions on critical minerals
between partners; stock-reporting duties), recorded measures checked against them, breaches as alerts.

A restriction breaches ``no_export_restrictions`` only when a party imposes it *and* another party is among its
destinations: a partner's own restriction toward non-partners is not a breach, and neither is an outsider's
restriction toward partners (that is what the early warnings report).  Measures come from the bundled record
(China's MOFCOM/GAC announcements, USGS MCS 2026 Table 4; status on the check's date from
:func:`minsec.data.control_status.status_on`) and from the user's own CSV (``measure_id, country, materials,
measure_type, destinations, start, end, source``).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Literal, get_args

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from minsec.data import catalogue, countries, files
from minsec.data import library as shipped
from minsec.rules.policy import DateRange, Parties, PolicyError, _problems, members

MeasureType = Literal["export_ban", "export_licence", "export_quota", "export_tax", "export_price_floor",
                      "end_use_control"]
MEASURE_TYPES: tuple[str, ...] = get_args(MeasureType)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoExportRestrictions(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    type: Literal["no_export_restrictions"]
    parties: Parties
    materials: list[str] | Literal["all"] = "all"
    measure_types: list[MeasureType] = Field(default_factory=lambda: list(MEASURE_TYPES))
    effective: DateRange
    source: str = ""


class StockReporting(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9_]+$")]
    type: Literal["stock_reporting"]
    parties: Parties
    materials: list[str] = Field(min_length=1)
    every_days: int = Field(gt=0, le=3660, description="a holding report at least this often")
    effective: DateRange
    source: str = ""


Commitment = Annotated[NoExportRestrictions | StockReporting, Field(discriminator="type")]


class Register(_Strict):
    name: str = Field(alias="register")
    title: str = ""
    commitments: list[Commitment] = Field(min_length=1)

    @field_validator("commitments")
    @classmethod
    def _known_materials(cls, items: list) -> list:
        known = set(catalogue.materials().index)
        for i, item in enumerate(items):
            listed = [] if item.materials == "all" else item.materials
            unknown = [m for m in listed if m not in known]
            if unknown:
                raise ValueError(f"commitments[{i}] ({item.id}): unknown material(s) {', '.join(unknown)}")
        return items


def load_register(path: str | Path | None = None) -> Register:
    """The shipped partnership register, or a register file of your own."""
    path = Path(path) if path is not None else shipped.folder("commitments") / "partnership.yaml"
    text = files.read_text(path, "commitments register")
    try:
        node, data = yaml.compose(text), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from None
    try:
        return Register.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(_problems(exc, node, str(path))) from None


# ------------------------------------------------------------------------------------------------ measures
@dataclass(frozen=True)
class Measure:
    measure_id: str
    country: str
    materials: tuple[str, ...]
    measure_type: str
    destinations: tuple[str, ...]      # ISO3 codes or group names, or ("all",)
    start: dt.date
    end: dt.date | None
    source: str
    suspended_until: dt.date | None = None     # suspended (not applied) until and including this date
    status: str = ""                           # recorded measures: the computed status text on the check's date

    def in_force(self, day: dt.date) -> bool:
        return (self.start <= day and (self.end is None or day <= self.end)
                and (self.suspended_until is None or day > self.suspended_until))


MEASURE_COLUMNS = ("measure_id", "country", "materials", "measure_type", "destinations", "start", "end", "source")


def read_measures_csv(text: str, origin: str = "measures") -> list[Measure]:
    """User-entered measures; every problem names its row (header = row 1); all rows or none."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if set(header) != set(MEASURE_COLUMNS):
        raise PolicyError(f"{origin}: columns must be {', '.join(MEASURE_COLUMNS)} (got {', '.join(header)})")
    known = set(catalogue.materials().index)
    known_groups = catalogue.load_groups()
    out = []
    for number, row in enumerate(reader, start=2):
        if None in row:
            raise PolicyError(f"{origin}, row {number}: more fields than the header's {len(header)}")
        row = {k.strip(): (v or "").strip() for k, v in row.items()}
        where = f"{origin}, row {number}"
        try:
            country = countries.normalise_iso3(row["country"])
        except countries.UnknownCountryError:
            raise PolicyError(f"{where}: unknown country {row['country']!r}") from None
        materials = tuple(m.strip() for m in row["materials"].split(";") if m.strip())
        unknown = [m for m in materials if m not in known]
        if not materials or unknown:
            raise PolicyError(f"{where}: materials {row['materials']!r}: give material ids separated by ';' "
                              f"(unknown: {', '.join(unknown) or 'none given'})")
        if row["measure_type"] not in MEASURE_TYPES:
            raise PolicyError(f"{where}: measure_type {row['measure_type']!r}: one of {', '.join(MEASURE_TYPES)}")
        try:
            start = dt.date.fromisoformat(row["start"])
            end = dt.date.fromisoformat(row["end"]) if row["end"] else None
        except ValueError:
            raise PolicyError(f"{where}: start/end must be dates YYYY-MM-DD") from None
        if end is not None and end < start:
            raise PolicyError(f"{where}: end {end} is before start {start}")
        destinations = tuple("all" if d.strip().lower() == "all" else d.strip()
                             for d in row["destinations"].split(";") if d.strip()) or ("all",)
        for item in destinations:
            if item != "all" and item not in known_groups:
                try:
                    countries.normalise_iso3(item)
                except countries.UnknownCountryError:
                    raise PolicyError(f"{where}: destination {item!r} is not a country, a group or 'all'") from None
        out.append(Measure(row["measure_id"] or f"row-{number}", country, materials, row["measure_type"],
                           destinations, start, end, row["source"]))
    return out


def recorded_measures(controls: pd.DataFrame, as_of: dt.date | None = None) -> list[Measure]:
    """The bundled record (MOFCOM/GAC, USGS MCS 2026 Table 4) as measures, with their status on ``as_of``
    (default today) from :func:`minsec.data.control_status.status_on`, the rule every consumer shares: a
    measure suspended as a whole is not in force up to the suspension's last day; after it, or when only a
    part is suspended, it is (so ``in_force(as_of)`` is the rule's ``applies``; other days are read against
    the record as of ``as_of``).  Suspension instruments are not measures of their own."""
    from minsec.data.control_status import status_on

    day = as_of or dt.date.today()
    out = []
    for row, now in zip(controls.itertuples(), status_on(controls, day).itertuples(), strict=True):
        if now.is_suspension or pd.isna(row.effective_date):
            continue
        scope = str(row.destination_scope).lower()
        us_only = any(marker in scope for marker in ("us-specific", "(us)", "united states", "u.s."))
        destinations = ("USA",) if us_only else ("all",)
        control = str(row.control_type).lower()
        kind = "export_quota" if "quota" in control else "export_ban" if "ban" in control or "prohibit" in control \
            else "export_licence"
        # a whole-measure suspension (running or run out) is not in force up to its last day; a partial one is
        whole = now.computed_status in ("suspended", "suspension_ended") and not now.suspension_part
        suspended = now.suspension_end.date() if whole else None
        ended = row.ended_date.date() if pd.notna(row.ended_date) else None
        materials = tuple(catalogue.control_materials(row.elements, row.materials_scope))
        out.append(Measure(row.measure_id, now.imposing_country, materials,
                           kind, destinations, row.effective_date.date(), ended, str(row.primary_source_url),
                           suspended, now.status_text))
    return out


# ---------------------------------------------------------------------------------------------- the check
@dataclass
class Finding:
    commitment: str
    kind: str                       # breach | overdue_report
    country: str
    materials: list[str]
    detail: str
    measure_id: str | None = None
    affected_parties: list[str] | None = None

    def record(self) -> dict:
        return asdict(self)


def _destinations(measure: Measure, groups) -> frozenset[str] | None:
    """ISO3 codes a measure applies to (None = every destination)."""
    if "all" in measure.destinations:
        return None
    out: set[str] = set()
    for item in measure.destinations:
        out |= groups.resolve(item)
    return frozenset(out)


def check_export_commitments(register: Register, measures: list[Measure], day: dt.date, groups) -> list[Finding]:
    """Breaches: a measure in force on ``day`` imposed by a party on a covered material whose destinations
    include another party."""
    findings = []
    for commitment in register.commitments:
        if not isinstance(commitment, NoExportRestrictions) or not commitment.effective.covers(day):
            continue
        parties = members(commitment.parties, groups)
        for measure in measures:
            if measure.country not in parties or not measure.in_force(day):
                continue
            if measure.measure_type not in commitment.measure_types:
                continue
            covered = [m for m in measure.materials if commitment.materials == "all" or m in commitment.materials]
            if not covered:
                continue
            reach = _destinations(measure, groups)
            hit = sorted((parties if reach is None else parties & reach) - {measure.country})
            if not hit:
                continue                    # toward non-partners only: not a breach
            shown = ", ".join(hit[:8]) + (f" and {len(hit) - 8} more" if len(hit) > 8 else "")
            kind = measure.measure_type.replace("_", " ")
            findings.append(Finding(commitment.id, "breach", measure.country, covered,
                                    f"{measure.country}'s {kind} {measure.measure_id} on {', '.join(covered)} (in "
                                    f"force since {measure.start}) applies to partners {shown}", measure.measure_id,
                                    hit))
    return findings


REPORT_COLUMNS = ["commitment", "organisation", "country", "material", "every_days", "last_report", "due_by",
                  "days_overdue", "status"]


def stock_report_status(register: Register, submissions: pd.DataFrame, organisations: pd.DataFrame, day: dt.date,
                        groups) -> pd.DataFrame:
    """Every stock-reporting obligation in force on ``day``: one row per party organisation × listed material
    with its latest holding report, when the next is due (latest + ``every_days``) and ``status`` — ``ok``,
    ``overdue`` or ``never reported`` (``days_overdue`` null then: there is no date to count from).  Only the
    dates of reports are read, never a quantity.  ``submissions``: org_id, kind, material, as_of;
    ``organisations``: id, slug, country, kind (member organisations report)."""
    rows = []
    holdings = submissions[submissions["kind"] == "stockpile_holding"] if len(submissions) else submissions
    for commitment in register.commitments:
        if not isinstance(commitment, StockReporting) or not commitment.effective.covers(day):
            continue
        parties = members(commitment.parties, groups)
        speaks_for_party = organisations["country"].map(lambda code, parties=parties: _speaks_for(code, parties,
                                                                                                  groups))
        reporters = organisations[(organisations["kind"] == "member") & speaks_for_party]
        for org in reporters.itertuples():
            for material in commitment.materials:
                mine = holdings[(holdings["org_id"] == org.id) & (holdings["material"] == material)] \
                    if len(holdings) else holdings
                latest = max(mine["as_of"]) if len(mine) else None
                due = latest + dt.timedelta(days=commitment.every_days) if latest is not None else None
                late = (day - due).days if due is not None else None
                status = "never reported" if latest is None else ("overdue" if late > 0 else "ok")
                rows.append([commitment.id, org.slug, str(org.country), material, commitment.every_days, latest,
                             due, max(late, 0) if late is not None else None, status])
    return pd.DataFrame(rows, columns=REPORT_COLUMNS)


def overdue_reports(status: pd.DataFrame) -> list[Finding]:
    """The findings of a :func:`stock_report_status` table: a party organisation whose latest holding report of
    a listed material is older than ``every_days``, or missing."""
    return [Finding(row.commitment, "overdue_report", row.country, [row.material],
                    f"{row.organisation}: {row.material} stock report overdue "
                    f"({f'last report {row.last_report}' if row.status == 'overdue' else 'no report'}; due every "
                    f"{row.every_days} days)")
            for row in status.itertuples() if row.status != "ok"]


def _speaks_for(code, parties: frozenset[str], groups) -> bool:
    """An organisation speaks for a country or for a group (the Commission for EU27) within the parties."""
    if not isinstance(code, str):
        return False
    return code in parties or (code in groups and groups.members(code) <= parties)


def as_warnings(findings: list[Finding], day: dt.date) -> list:
    """Breaches as early warnings for the information-sharing service (TLP:GREEN: the partner community)."""
    from minsec.signals import EarlyWarning

    return [EarlyWarning("commitment_breach", f"{f.commitment}|{f.measure_id}|{f.country}",
                         f"Commitment {f.commitment}: {f.country} restricts exports of {', '.join(f.materials)} to "
                         "partners", f.detail + f". Checked on {day}.", "high", "GREEN", f.materials, [f.country],
                         None, "minsec commitments register", f.record())
            for f in findings if f.kind == "breach"]
