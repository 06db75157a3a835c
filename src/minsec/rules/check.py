"""Compliance of a product's supply chain with a policy: a verdict per rule with the numbers behind it, the
content percentages, and what would have to change.

Verdicts: ``pass``, ``fail``, ``unknown`` (the answer depends on an origin or an owner the bill of materials
does not give: computed both ways — unknowns qualifying and not — and reported as unknown when they differ;
never assumed compliant) and ``info`` (a tariff: what is due).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from minsec.rules.bom import BillOfMaterials, Line
from minsec.rules.feoc import FeocStatus, feoc_status
from minsec.rules.policy import (
    FeocExclusion,
    OriginContent,
    Policy,
    RecycledContent,
    SingleSupplier,
    Tariff,
    members,
)


@dataclass
class Verdict:
    rule: str
    type: str
    verdict: str                         # pass | fail | unknown | info
    explanation: str
    measured_pct: float | None = None
    threshold_pct: float | None = None
    gap_pct: float | None = None         # how far from the threshold (positive: short of it)
    remedy: str = ""
    lines: list[dict[str, Any]] = field(default_factory=list)   # per-line evidence
    amount_usd: float | None = None      # tariffs: duty due

    def record(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Report:
    policy: str
    version: str
    date: str
    product: str
    verdict: str                          # fail if any rule fails, else unknown if any is unknown, else pass
    rules: list[Verdict]
    entities: list[dict[str, Any]]
    title: str = ""                       # the policy version's title, for people

    def record(self) -> dict[str, Any]:
        return {"policy": self.policy, "version": self.version, "date": self.date, "product": self.product,
                "verdict": self.verdict, "rules": [r.record() for r in self.rules], "entities": self.entities}

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON (``minsec rules check -f json``)."""
        return self.record()

    @property
    def table(self):
        """One row per rule: verdict, measured and threshold %, gap, explanation, remedy (pandas)."""
        import pandas as pd

        return pd.DataFrame([{k: v for k, v in r.record().items() if k != "lines"} for r in self.rules])

    @property
    def evidence(self):
        """The lines behind each rule's verdict, one row per rule × line (pandas)."""
        import pandas as pd

        return pd.DataFrame([line | {"rule": r.rule} for r in self.rules for line in r.lines])

    @property
    def entities_table(self):
        """Every entity of the ownership chains with its foreign-entity-of-concern status (pandas)."""
        import pandas as pd

        return pd.DataFrame(self.entities)


def _covered(lines: list[Line], materials: list[str]) -> list[Line]:
    return [x for x in lines if not materials or x.material in materials]


def _amount(line: Line, basis: str) -> float:
    return line.value_usd if basis == "value" else line.quantity_t


def _fmt(value: float, basis: str) -> str:
    return f"US${value:,.2f}" if basis == "value" else f"{value:,.6g} t"


def check_origin_content(rule: OriginContent, lines: list[Line], partners: frozenset[str],
                         covered_nations: frozenset[str], status: dict[str, FeocStatus], day: dt.date) -> Verdict:
    """Qualifying share = Σ qualifying amount / Σ amount over the covered lines (26 CFR 1.30D-3(c): the
    applicable critical-mineral percentage is computed on value)."""
    minimum = rule.minimum_on(day)
    covered = _covered(lines, rule.materials)
    if minimum is None:
        return Verdict(rule.id, rule.type, "info", f"no minimum in force on {day}")
    recycled_in = set(rule.recycled_in)
    exclude_feoc = rule.excludes_feoc_on(day)
    total = sum(_amount(x, rule.basis) for x in covered)
    if total <= 0:
        return Verdict(rule.id, rule.type, "pass", "no covered lines (or all of zero amount)", None, minimum)
    sure, maybe, evidence = 0.0, 0.0, []
    for line in covered:
        state, why = _qualifies(line, rule, partners, recycled_in, covered_nations, status, exclude_feoc)
        amount = _amount(line, rule.basis)
        sure += amount if state == "yes" else 0.0
        maybe += amount if state == "unknown" else 0.0
        evidence.append({"line": line.line, "material": line.material, "amount": amount, "qualifies": state,
                         "why": why})
    low, high = 100 * sure / total, 100 * (sure + maybe) / total
    needed = minimum / 100 * total - sure
    unit = "value" if rule.basis == "value" else "tonnes"
    if low >= minimum - 1e-9:
        verdict, text = "pass", f"{low:.2f} % of the covered {unit} qualifies (minimum {minimum:g} %)"
        remedy = ""
    elif high < minimum - 1e-9:
        verdict = "fail"
        text = f"{low:.2f} % of the covered {unit} qualifies, {minimum - low:.2f} points short of {minimum:g} %"
        candidates = sorted((e for e in evidence if e["qualifies"] == "no"), key=lambda e: -e["amount"])
        picked, running = [], 0.0
        for e in candidates:
            if running >= needed:
                break
            picked.append(e["line"])
            running += e["amount"]
        remedy = (f"{_fmt(needed, rule.basis)} more must qualify: e.g. line(s) {', '.join(picked)} "
                  f"({' or '.join(rule.stages)}) in a partner country" + (" by an entity that is not a foreign "
                                                                          "entity of concern" if exclude_feoc
                                                                          else ""))
    else:
        verdict = "unknown"
        text = (f"between {low:.2f} % and {high:.2f} % qualifies (minimum {minimum:g} %): the origin or owner of "
                f"{', '.join(e['line'] for e in evidence if e['qualifies'] == 'unknown')} is not given")
        remedy = f"give the missing origins/owners; with them unknown, {_fmt(needed, rule.basis)} more must qualify"
    return Verdict(rule.id, rule.type, verdict, text, round(low, 6), minimum, round(max(minimum - low, 0.0), 6),
                   remedy, evidence)


def _qualifies(line: Line, rule: OriginContent, partners: frozenset[str], recycled_in: set[str],
               covered_nations: frozenset[str], status: dict[str, FeocStatus], exclude_feoc: bool
               ) -> tuple[str, str]:
    """yes / no / unknown for one line, with the reason."""
    unknown_reasons = []
    for stage in [*rule.stages, *(["recycling"] if recycled_in else [])]:
        record = line.at(stage)
        if record is None:
            continue
        where = recycled_in if stage == "recycling" and stage not in rule.stages else partners
        if record.country is None:
            unknown_reasons.append(f"{stage} country not given")
            continue
        if record.country not in where:
            continue
        if exclude_feoc:
            if record.country in covered_nations:
                continue            # carried out in a covered nation: by a FEOC for this activity
            owner = status.get(record.owner) if record.owner else None
            if owner is None or not owner.known:
                unknown_reasons.append(f"{stage} in {record.country}, owner {record.owner or 'not given'} of "
                                       "unknown FEOC status")
                continue
            if owner.feoc:
                continue
        return "yes", f"{stage} in {record.country}" + (f" by {record.owner}" if record.owner else "")
    if unknown_reasons:
        return "unknown", "; ".join(unknown_reasons)
    places = ", ".join(f"{s.stage} in {s.country}" for s in line.stages if s.country) or "no stage given"
    return "no", f"no qualifying stage ({places})"


def check_feoc(rule: FeocExclusion, lines: list[Line], status: dict[str, FeocStatus],
               covered_nations: frozenset[str]) -> Verdict:
    """A stage is carried out by a FEOC when its operator is one, or when it takes place in a covered nation (an
    entity performing the activity there is subject to that nation's jurisdiction: 88 FR 84082).  Every mineral
    is extracted and processed somewhere: a covered line without those records is unknown; recycling is
    checked where it is recorded."""
    found, unknown, evidence = [], [], []
    for line in _covered(lines, rule.materials):
        for stage in rule.stages:
            record = line.at(stage)
            if record is None:
                if stage in ("extraction", "processing"):
                    unknown.append(f"{line.line} ({stage} not given)")
                    evidence.append({"line": line.line, "stage": stage, "owner": None, "feoc": None,
                                     "why": f"{stage} not given"})
                continue
            owner = status.get(record.owner) if record.owner else None
            if record.country in covered_nations:
                found.append(f"{line.line} ({stage} in {record.country}, a covered nation)")
                evidence.append({"line": line.line, "stage": stage, "owner": record.owner, "feoc": True,
                                 "why": f"carried out in {record.country}, a covered nation"})
            elif owner is not None and owner.feoc:
                found.append(f"{line.line} ({stage}: {record.owner} — {owner.reason})")
                evidence.append({"line": line.line, "stage": stage, "owner": record.owner, "feoc": True,
                                 "why": owner.reason})
            elif owner is None or not owner.known:
                unknown.append(f"{line.line} ({stage}: {record.owner or 'owner not given'})")
                evidence.append({"line": line.line, "stage": stage, "owner": record.owner, "feoc": None,
                                 "why": owner.reason if owner else "owner not given"})
    if found:
        return Verdict(rule.id, rule.type, "fail", f"carried out by a foreign entity of concern: {'; '.join(found)}",
                       remedy="source these stages from entities that are not foreign entities of concern",
                       lines=evidence)
    if unknown:
        return Verdict(rule.id, rule.type, "unknown", f"FEOC status not established for {'; '.join(unknown)}",
                       remedy="give the owners and their ownership (entities)", lines=evidence)
    return Verdict(rule.id, rule.type, "pass", "no covered stage is carried out by a foreign entity of concern",
                   lines=evidence)


def check_single_supplier(rule: SingleSupplier, lines: list[Line], partners: frozenset[str],
                          context: list[dict] | None = None) -> Verdict:
    """Per material × stage: the largest share of one non-partner country (unknown origins reported).  A rule
    on consumption (``scope: consumption``) is reported as context, verdict ``info``, with the region's own
    figure for each material of the bill where ``context`` gives it (:mod:`minsec.rules.consumption`)."""
    verdict = _single_supplier_in_product(rule, lines, partners)
    if rule.scope == "product":
        return verdict
    union = [c for c in context or [] if c is not None and "unavailable" not in c]
    missing = [c["unavailable"] for c in context or [] if c is not None and "unavailable" in c]
    text = (f"context, not a product verdict: the benchmark concerns annual consumption, not one product. In this "
            f"bill: {verdict.explanation}")
    if missing:
        text += f". No consumption figure beside it: {missing[0]}"
    if union:
        text += ". Consumption: " + "; ".join(
            f"{c['material']} {c['stage']}: {c['top_country'] or 'no third country'} {c['share_pct']:.1f} % of "
            f"{c['scope']} ({c['status']})" for c in union)
    return Verdict(rule.id, rule.type, "info", text, verdict.measured_pct, rule.maximum_pct,
                   remedy="judged on consumption: minsec rules consumption --policy <this policy>",
                   lines=verdict.lines + [{"consumption": c} for c in union])


def _single_supplier_in_product(rule: SingleSupplier, lines: list[Line], partners: frozenset[str]) -> Verdict:
    worst: tuple[float, str] = (0.0, "")
    evidence, failures, unknowns = [], [], []
    for material in sorted({x.material for x in lines}):
        for stage in rule.stages:
            shares: dict[str | None, float] = {}
            for line in (x for x in lines if x.material == material):
                record = line.at(stage)
                if record is None and stage == "recycling":
                    continue        # not recycled: no recycling origin to count
                origin = record.country if record is not None else None        # not given: unknown
                shares[origin] = shares.get(origin, 0.0) + _amount(line, rule.basis)
            total = sum(shares.values())
            if total <= 0:
                continue
            outside = {c: v for c, v in shares.items() if c is not None and c not in partners}
            unknown = shares.get(None, 0.0)
            top = max(outside.items(), key=lambda kv: kv[1]) if outside else (None, 0.0)
            low, high = 100 * top[1] / total, 100 * (top[1] + unknown) / total
            evidence.append({"material": material, "stage": stage, "top_country": top[0], "share_pct": round(low, 6),
                             "unknown_pct": round(100 * unknown / total, 6)})
            if low > rule.maximum_pct + 1e-9:
                failures.append(f"{material} {stage}: {top[0]} {low:.2f} % (maximum {rule.maximum_pct:g} %)")
            elif high > rule.maximum_pct + 1e-9:
                unknowns.append(f"{material} {stage}: {low:.2f}–{high:.2f} % with unknown origins")
            worst = max(worst, (low, f"{material} {stage}"))
    if failures:
        return Verdict(rule.id, rule.type, "fail", "; ".join(failures), worst[0], rule.maximum_pct,
                       round(worst[0] - rule.maximum_pct, 6), "diversify these supplies to partners or other "
                       "countries", evidence)
    if unknowns:
        return Verdict(rule.id, rule.type, "unknown", "; ".join(unknowns), worst[0], rule.maximum_pct,
                       remedy="give the missing origins", lines=evidence)
    return Verdict(rule.id, rule.type, "pass", f"largest single non-partner share {worst[0]:.2f} % ({worst[1]})",
                   worst[0], rule.maximum_pct, lines=evidence)


def check_recycled(rule: RecycledContent, lines: list[Line]) -> Verdict:
    evidence, failures = [], []
    for material, minimum in sorted(rule.minimum_pct.items()):
        relevant = [x for x in lines if x.material == material]
        total = sum(x.quantity_t for x in relevant)
        if total <= 0:
            continue
        recycled = sum(x.quantity_t for x in relevant if x.at("recycling") is not None)
        share = 100 * recycled / total
        evidence.append({"material": material, "recycled_pct": round(share, 6), "minimum_pct": minimum,
                         "recycled_t": recycled, "total_t": total})
        if share < minimum - 1e-9:
            failures.append(f"{material}: {share:.2f} % recycled, minimum {minimum:g} % (needs "
                            f"{minimum / 100 * total - recycled:,.6g} t more recycled)")
    if failures:
        return Verdict(rule.id, rule.type, "fail", "; ".join(failures), remedy="raise the recycled tonnes as shown",
                       lines=evidence)
    return Verdict(rule.id, rule.type, "pass", "recycled content at or above every minimum" if evidence else
                   "no covered material in the bill", lines=evidence)


def check_tariff(rule: Tariff, lines: list[Line], partners: frozenset[str]) -> Verdict:
    """Duty = rate × value + max(0, reference − value/tonnes) × tonnes on lines whose origin stage is outside
    the partners (unknown origins: the duty that would be due is reported separately)."""
    due, if_unknown, evidence = 0.0, 0.0, []
    for line in lines:
        record = line.at(rule.origin_stage)
        origin = record.country if record else None
        if origin is not None and rule.exempt_partners and origin in partners:
            continue
        duty = rule.rate_pct / 100 * line.value_usd
        reference = rule.reference_price_usd_per_t.get(line.material)
        if reference is not None and line.quantity_t > 0:
            duty += max(0.0, reference - line.value_usd / line.quantity_t) * line.quantity_t
        if duty <= 0:
            continue
        evidence.append({"line": line.line, "origin": origin, "duty_usd": round(duty, 2)})
        if origin is None and rule.exempt_partners:       # it would be exempt if of partner origin
            if_unknown += duty
        else:
            due += duty
    text = f"US${due:,.2f} due on lines of non-partner origin"
    if if_unknown:
        text += f"; US${if_unknown:,.2f} more if the lines of unknown origin are not of partner origin"
    return Verdict(rule.id, rule.type, "info", text, lines=evidence, amount_usd=round(due, 2))


def check(bom: BillOfMaterials, policy: Policy, day: dt.date, groups, context: list[dict] | None = None
          ) -> Report:
    """Every rule of ``policy`` in force on ``day`` applied to ``bom``; ``context``: the region's consumption
    figures beside a rule on consumption (:func:`check_single_supplier`)."""
    partners = members(policy.partners, groups)
    covered_nations = frozenset(policy.feoc.countries)
    status = feoc_status(bom, covered_nations, frozenset(policy.feoc.entities), policy.feoc.control_threshold_pct)
    verdicts = []
    for rule in policy.in_force(day):
        if isinstance(rule, OriginContent):
            verdicts.append(check_origin_content(rule, list(bom.lines), partners, covered_nations, status, day))
        elif isinstance(rule, FeocExclusion):
            verdicts.append(check_feoc(rule, list(bom.lines), status, covered_nations))
        elif isinstance(rule, SingleSupplier):
            verdicts.append(check_single_supplier(rule, list(bom.lines), partners, context))
        elif isinstance(rule, RecycledContent):
            verdicts.append(check_recycled(rule, list(bom.lines)))
        elif isinstance(rule, Tariff):
            verdicts.append(check_tariff(rule, list(bom.lines), partners))
    states = {v.verdict for v in verdicts}
    overall = "fail" if "fail" in states else "unknown" if "unknown" in states else "pass"
    entities = [{"entity": s.entity, "feoc": s.feoc, "known": s.known, "reason": s.reason} for s in status.values()]
    return Report(policy.policy, policy.version, day.isoformat(), bom.product, overall, verdicts, entities,
                  policy.title)
