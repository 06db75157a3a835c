"""``sc.rules``: shared rules for outside suppliers (policies as data, compliance checks of bills of materials)
and the partnership's commitments register, over a SupplyChain's country groups and recorded measures.

Dates are ``YYYY-MM-DD`` strings or :class:`datetime.date`; the default is today, so that rules in force,
suspensions and schedules are computed against the as-of date the caller means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from minsec.errors import InputError
from minsec.model.records import records
from minsec.model.supply_chain import register_accessor
from minsec.scenarios.accessor import ScenariosAccessor  # noqa: F401 - sc.scenarios, for rules on consumption

if TYPE_CHECKING:
    import pandas as pd

    from minsec.model.supply_chain import SupplyChain
    from minsec.rules.bom import BillOfMaterials
    from minsec.rules.check import Report
    from minsec.rules.commitments import Finding, Register

FINDING_COLUMNS = ["commitment", "kind", "country", "materials", "detail", "measure_id", "affected_parties"]


def as_date(value: str | dt.date | None, option: str = "--date") -> dt.date:
    """A date from ``YYYY-MM-DD`` (or a date); None → today."""
    if value is None:
        return dt.date.today()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"{option} {value!r}: expected YYYY-MM-DD") from None


@dataclass
class CommitmentsCheck:
    """Recorded measures checked against a commitments register on ``date``: ``findings`` (breaches and overdue
    reports, a DataFrame) and what was checked."""

    register: Register
    date: dt.date
    measures_checked: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def table(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame([f.record() for f in self.findings], columns=FINDING_COLUMNS)

    def to_dict(self, published: dict | None = None) -> dict[str, Any]:
        """The CLI's JSON (``minsec commitments check -f json``)."""
        return {"register": self.register.name, "date": str(self.date), "measures_checked": self.measures_checked,
                "findings": records(self.table), "published": published}


@register_accessor("rules")
class RulesAccessor:
    """Policies and compliance: ``sc.rules.check("bom.json", policy="us_30d", date="2025-06-01")``."""

    def __init__(self, chain: SupplyChain) -> None:
        self._chain = chain

    def policies(self) -> pd.DataFrame:
        """The policies shipped with minsec: every version with its dates, rules and source file."""
        import pandas as pd

        from minsec.rules.policy import describe, library, load_policies

        return pd.DataFrame([describe(p) | {"file": name} for name in library() for p in load_policies(name)])

    def validate(self, policy: str | Path) -> pd.DataFrame:
        """A policy file (or shipped name) validated — unknown fields, thresholds outside 0–100 %, overlapping
        dates, unknown countries — and its versions listed; raises :class:`~minsec.rules.policy.PolicyError`
        with the file line of the first problems."""
        import pandas as pd

        from minsec.rules.policy import describe, load_policies

        return pd.DataFrame([describe(p) for p in load_policies(policy)])

    def check(self, bom: str | Path | Mapping[str, Any] | BillOfMaterials, policy: str | Path, *,
              entities: str | Path | None = None, date: str | dt.date | None = None) -> Report:
        """Verdict per rule (pass / fail / unknown / info) of a bill of materials — a ``.json``/``.csv`` file
        (or a shipped example's name, e.g. ``"ev_battery_pack.json"``), its dict, or a parsed
        :class:`~minsec.rules.bom.BillOfMaterials` — against the version of ``policy`` in
        force on ``date``, with the content percentages, the lines behind them and the remedy.  Foreign-entity-
        of-concern status is traced through ownership chains (``entities``: an ownership CSV)."""
        from minsec.rules.bom import BillOfMaterials, load_bom, parse_bom
        from minsec.rules.check import check
        from minsec.rules.policy import load_policies, policy_on

        # the bill first: a broken file is named before a date or a policy version is looked at
        if isinstance(bom, BillOfMaterials):
            parsed = bom
        elif isinstance(bom, Mapping):
            parsed = parse_bom(dict(bom))
        else:
            parsed = load_bom(_shipped_example(bom), entities)
        day = as_date(date)
        chosen = policy_on(load_policies(policy), day)
        context = None
        if any(getattr(r, "scope", "product") == "consumption" for r in chosen.in_force(day)):
            from minsec.rules.consumption import context_line

            try:
                shares = self._consumption_shares(chosen, day, sorted({x.material for x in parsed.lines}))
                context = [context_line(shares, m) for m in sorted(set(shares["material"]))]
            except InputError as exc:        # the bill is still checked; the rule says why it has no context
                context = [{"unavailable": str(exc)}]
        return check(parsed, chosen, day, self._chain.groups, context)

    def consumption(self, policy: str | Path = "eu_crma", *, date: str | dt.date | None = None,
                    material: str | None = None) -> pd.DataFrame:
        """The policy's single-third-country rule on what it concerns, the parties' annual consumption (the
        CRMA's 65 % of the Union's): per market the region buys, its consumption (t/yr, with its basis), the
        largest third country's share, the unnamed producers' share and ``exceeds`` / ``within`` / ``unknown``
        (:mod:`minsec.rules.consumption`)."""
        from minsec.rules.policy import load_policies, policy_on

        day = as_date(date)
        chosen = policy_on(load_policies(policy), day)
        materials = None if material is None else [self._chain.check_material(material)]
        return self._consumption_shares(chosen, day, materials)

    def _consumption_shares(self, policy, day: dt.date, materials: list[str] | None) -> pd.DataFrame:
        from minsec.rules.consumption import single_supplier_shares
        from minsec.rules.policy import SingleSupplier, members

        rules = [r for r in policy.in_force(day) if isinstance(r, SingleSupplier) and r.scope == "consumption"]
        if not rules:
            raise InputError(f"policy {policy.policy} {policy.version} has no single-supplier rule on consumption "
                             f"in force on {day} (scope: consumption); eu_crma has one")
        from minsec.data import catalogue

        baseline = self._chain.scenarios.context().baseline
        region = _consumption_region(policy, baseline.regions)
        return single_supplier_shares(baseline, region, members(policy.partners, self._chain.groups),
                                      rules[0].maximum_pct, materials, catalogue.benchmark_scope(region),
                                      list(rules[0].stages))

    def commitments(self, register: str | Path | None = None, measures: str | Path | None = None,
                    date: str | dt.date | None = None) -> CommitmentsCheck:
        """The recorded export measures (the bundled MOFCOM/GAC record and the user's ``measures`` CSV) checked
        against the register's no-export-restriction commitment on ``date``: only a party's restriction reaching
        another party is a breach.  (Overdue stock reports need the service database:
        ``minsec commitments check --database``.)"""
        from minsec.rules.commitments import (
            check_export_commitments,
            load_register,
            read_measures_csv,
            recorded_measures,
        )

        day = as_date(date)
        chosen = load_register(register)
        recorded = recorded_measures(self._chain.export_controls, day)
        if measures is not None:
            from minsec.data.files import read_text

            recorded += read_measures_csv(read_text(measures, "measures CSV"), str(measures))
        return CommitmentsCheck(chosen, day, len(recorded),
                                check_export_commitments(chosen, recorded, day, self._chain.groups))


def _consumption_region(policy, regions: tuple[str, ...]) -> str:
    """The one baseline region a policy's parties are (the CRMA's: EU27)."""
    named = [*policy.partners.groups, *policy.partners.countries]
    if len(named) != 1 or named[0] not in regions:
        raise InputError(f"policy {policy.policy}: a rule on consumption needs its parties to be one region of the "
                         f"supply-chain baseline ({', '.join(r for r in regions if r != 'ROW')}); it names "
                         f"{', '.join(named) or 'none'}")
    return named[0]


def _shipped_example(path: str | Path) -> str | Path:
    """``path`` itself, or the shipped example of that name when no such file exists (``ev_battery_pack.json``)."""
    from minsec.data import library

    if Path(path).exists() or Path(path).name != str(path):
        return path
    try:
        return library.example(str(path))
    except KeyError:
        return path               # not an example either: the loader says the file cannot be read
