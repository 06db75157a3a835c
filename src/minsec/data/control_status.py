"""The status of recorded export-control measures on an as-of date: one rule for every consumer.

The early warnings (:mod:`minsec.signals`), the commitments check (:mod:`minsec.rules.commitments`), the web
material page and the briefing (:mod:`minsec.web`) and the ensemble's recorded-restriction prior
(:mod:`minsec.scenarios.ensemble`) all call :func:`status_on`, so that for one as-of date they say the same
thing.  None of them reads the compilers' ``status_as_recorded`` text: a status is *computed* from dates.

The rule (deterministic; the same table and date always give the same answer).  For each measure, in order:

1. ``lifted`` — ``ended_date`` is set and the as-of date is after it (``ended_date`` is the last day it applied).
2. ``not_yet_in_force`` — the as-of date is before the announcement date ("not yet announced").
3. A **suspension instrument** (a row whose ``suspends`` lists measure ids, e.g. MOFCOM/GAC Ann. 70/2025):
   ``not_yet_in_force`` before its effective date, ``in_force`` up to and including ``suspended_until``,
   ``suspension_ended`` after it.
4. A measure named in some instrument's ``suspends``: ``suspended`` while an instrument covers the as-of date
   (from the instrument's effective date up to and including its ``suspended_until``).  A suspension of part
   of a measure (``"CN-2024-46 (Art. 2)"``) still reports ``suspended``, the text names the part, and the rest
   of the measure ``applies``.
5. ``not_yet_in_force`` — before the measure's effective date (first date of a staged entry into force).
6. ``suspension_ended`` — a suspension of the measure ran out before the as-of date and no later instrument
   covers it: the record holds nothing after the end date, so the text says "suspension ended on D — check
   current status" (a computed fact, not an assertion that the controls are back).
7. ``in_force`` otherwise.  A row recorded in force by a compiler on a date (``recorded_on``, e.g. USGS MCS 2026
   Table 4 for January 2026) says so in its text once the as-of date is past that date.

``applies`` is True for ``in_force``, ``suspension_ended`` (the measure applies again unless it was extended)
and a partial suspension; False otherwise.  For suspension instruments ``applies`` means the suspension runs.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

STATUSES = ("in_force", "suspended", "suspension_ended", "not_yet_in_force", "lifted")
STATUS_COLUMNS = ["measure_id", "imposing_country", "computed_status", "status_text", "as_of", "applies",
                  "is_suspension", "suspension_end", "suspension_by", "suspension_part"]
NEEDED = ["measure_id", "imposing_country", "announcement_en", "issuing_authority", "announced_date",
          "effective_date", "effective_date_text", "suspends", "suspended_until", "ended_date", "recorded_on",
          "record_source"]
_TARGET = re.compile(r"^\s*([^()]+?)\s*(?:\(([^)]*)\))?\s*$")


@dataclass(frozen=True)
class _Suspension:
    start: pd.Timestamp
    until: pd.Timestamp
    label: str
    part: str


def parse_suspends(text: object) -> list[tuple[str, str]]:
    """``"CN-2024-46 (Art. 2); CN-2025-55"`` → ``[("CN-2024-46", "Art. 2"), ("CN-2025-55", "")]``."""
    out = []
    for item in str(text or "").split(";"):
        if not item.strip():
            continue
        match = _TARGET.match(item)
        if match is None:
            raise ValueError(f"suspends: {item!r} is not 'MEASURE_ID' or 'MEASURE_ID (part)'")
        out.append((match.group(1), match.group(2) or ""))
    return out


def instrument_label(row) -> str:
    """Short citation of a measure: ``"MOFCOM/GAC Ann. 70/2025"`` from its authority and announcement."""
    authority = str(row.issuing_authority)
    who = "MOFCOM/GAC" if "Customs" in authority or "GAC" in authority else authority.split(";")[0].strip()
    number = re.search(r"No\.\s*(\d+)\s+of\s+(\d{4})", str(row.announcement_en))
    return f"{who} Ann. {number.group(1)}/{number.group(2)}" if number else str(row.measure_id)


def _as_date(value: dt.date | str | pd.Timestamp) -> dt.date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def _day(value: object) -> str:
    return str(pd.Timestamp(value).date())


def _links(frame: pd.DataFrame) -> dict[str, list[_Suspension]]:
    """Measure id → the suspensions that instruments in the table declare for it."""
    links: dict[str, list[_Suspension]] = {}
    for row in frame[frame["suspends"].str.strip() != ""].itertuples():
        start = row.effective_date if pd.notna(row.effective_date) else row.announced_date
        for target, part in parse_suspends(row.suspends):
            links.setdefault(target, []).append(_Suspension(start, row.suspended_until, instrument_label(row), part))
    return links


def _instrument(row, day: pd.Timestamp) -> tuple[str, str, bool, object, str, str]:
    until, start = row.suspended_until, row.effective_date if pd.notna(row.effective_date) else row.announced_date
    targets = ", ".join(f"{t} ({p})" if p else t for t, p in parse_suspends(row.suspends))
    if pd.notna(start) and day < start:
        return "not_yet_in_force", f"not yet in force: suspends {targets} from {_day(start)}", False, until, "", ""
    if pd.isna(until) or day <= until:
        end = f" until {_day(until)}" if pd.notna(until) else ""
        return "in_force", f"in force: suspends {targets}{end}", True, until, "", ""
    return "suspension_ended", f"suspension ended on {_day(until)} — check current status", False, until, "", ""


def _measure(row, day: pd.Timestamp, suspensions: list[_Suspension]) -> tuple[str, str, bool, object, str, str]:
    start = row.effective_date if pd.notna(row.effective_date) else row.announced_date
    active = [s for s in suspensions if pd.notna(s.start) and s.start <= day and (pd.isna(s.until) or day <= s.until)]
    if active:      # the longest-running active suspension speaks; ties by label, so the choice is stable
        chosen = max(active, key=lambda s: (s.until if pd.notna(s.until) else pd.Timestamp.max, s.label))
        until = f" until {_day(chosen.until)}" if pd.notna(chosen.until) else ""
        if chosen.part:
            return ("suspended", f"{chosen.part} suspended{until} by {chosen.label}; the rest in force", True,
                    chosen.until, chosen.label, chosen.part)
        return "suspended", f"suspended{until} by {chosen.label}", False, chosen.until, chosen.label, ""
    if pd.notna(start) and day < start:
        return "not_yet_in_force", f"not yet in force: takes effect {row.effective_date_text or _day(start)}", \
            False, pd.NaT, "", ""
    ended = [s for s in suspensions if pd.notna(s.start) and s.start <= day and pd.notna(s.until) and s.until < day]
    if ended:
        last = max(ended, key=lambda s: (s.until, s.label))
        what = f"suspension of {last.part}" if last.part else "suspension"
        return ("suspension_ended", f"{what} ended on {_day(last.until)} — check current status", True, last.until,
                last.label, last.part)
    since = row.effective_date_text or (_day(start) if pd.notna(start) else "a date not recorded")
    text = f"in force since {since}"
    if pd.notna(row.recorded_on) and day >= row.recorded_on:
        text += (f"; recorded in force for {row.recorded_on:%B %Y} by {row.record_source}, not re-checked "
                 "since")
    return "in_force", text, True, pd.NaT, "", ""


def _one(row, day: pd.Timestamp, links: dict[str, list[_Suspension]]) -> tuple[str, str, bool, object, str, str]:
    if pd.notna(row.ended_date) and day > row.ended_date:
        return "lifted", f"ended on {_day(row.ended_date)}", False, pd.NaT, "", ""
    if pd.notna(row.announced_date) and day < row.announced_date:
        return "not_yet_in_force", f"not yet announced (announced {_day(row.announced_date)})", False, pd.NaT, "", ""
    if str(row.suspends).strip():
        return _instrument(row, day)
    return _measure(row, day, links.get(str(row.measure_id), []))


def status_on(measures: pd.DataFrame, as_of: dt.date | str | pd.Timestamp) -> pd.DataFrame:
    """Each measure's status on ``as_of`` (see the module docstring for the rule).

    ``measures``: the ``export_controls`` table (or a CSV-loaded copy: date columns are parsed here).  Returns
    one row per measure, on the same index, with columns :data:`STATUS_COLUMNS`: ``computed_status`` (one of
    :data:`STATUSES`), ``status_text`` (e.g. "suspended until 2026-11-10 by MOFCOM/GAC Ann. 70/2025",
    "suspension ended on 2026-11-10 — check current status"), ``as_of`` (a date), ``applies`` (bool),
    ``is_suspension`` (the row is a suspension instrument), ``suspension_end``, ``suspension_by`` and
    ``suspension_part`` (the suspension that applies or last applied, and the part it covers; NaT / "" where
    none or where it covers the whole measure).  Pass the whole table, not a subset: a
    measure's suspension is declared by the instrument's row.
    """
    missing = [c for c in NEEDED if c not in measures.columns]
    if missing:
        raise KeyError(f"export_controls lacks columns {missing}: rebuild the dataset (`minsec data build`)")
    day_date = _as_date(as_of)
    day = pd.Timestamp(day_date)
    frame = measures[NEEDED].copy()
    for column in ("announced_date", "effective_date", "suspended_until", "ended_date", "recorded_on"):
        frame[column] = pd.to_datetime(frame[column], errors="coerce")
    for column in ("suspends", "effective_date_text", "record_source", "imposing_country"):
        frame[column] = frame[column].fillna("").astype(str)
    links = _links(frame)
    rows = [_one(row, day, links) for row in frame.itertuples()]
    status, text, applies, end, by, part = (list(column) for column in zip(*rows, strict=True)) if rows else ([],) * 6
    return pd.DataFrame({
        "measure_id": frame["measure_id"].astype(str), "imposing_country": frame["imposing_country"],
        "computed_status": status, "status_text": text, "as_of": [day_date] * len(frame),
        "applies": pd.Series(applies, index=frame.index, dtype=bool),
        "is_suspension": frame["suspends"].str.strip() != "",
        "suspension_end": pd.to_datetime(pd.Series(end, index=frame.index, dtype="object")),
        "suspension_by": by, "suspension_part": part}, index=frame.index)[STATUS_COLUMNS]
