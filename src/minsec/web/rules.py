"""The shared rules as the dashboard page ``/rules``: a bill of materials (pasted or uploaded) checked against a
policy, verdict rule by rule with the lines behind it and the remedy (the document of ``minsec rules check -f
json``, drawn by :func:`verdict_view`); the shipped policies.

Pure: takes the supply chain or a verdict document, returns a view (tables with sources and formulas, figures)."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd

from minsec.web import figures
from minsec.web.views import Column, Table, _rows

#: the example the page opens with, checked today against the partnership's baseline (a version of it is in
#: force from 2026-03-01 on, with no end: the page never opens on a policy out of force)
EXAMPLE_BOM, EXAMPLE_POLICY = "ev_battery_pack.json", "partnership_baseline"
RULE_COLUMNS = ["rule", "type", "verdict", "measured_pct", "threshold_pct", "gap_pct", "amount_usd", "explanation",
                "remedy"]
#: what a rule reports per line (origin content: line, amount, qualifies, why) or per material × stage (single
#: supplier: the top country's share, and the share of unknown origin)
LINE_COLUMNS = ["rule", "line", "material", "stage", "top_country", "share_pct", "unknown_pct", "amount", "qualifies",
                "why"]
LINE_LABELS = {"rule": ("Rule", ""), "line": ("Line", ""), "material": ("Material", "link"), "stage": ("Stage", ""),
               "top_country": ("Top supplier", ""), "share_pct": ("Its share %", "float"),
               "unknown_pct": ("Unknown origin %", "float"), "amount": ("Amount", "float"),
               "qualifies": ("Qualifies", ""), "why": ("Why", "")}


def policies_table(table: pd.DataFrame, table_id: str, title: str, download: str | None = None) -> Table:
    """Policy versions with their dates and rules (``minsec rules list`` / ``rules validate``)."""
    return Table(table_id, title, [
        Column("policy", "Policy"), Column("version", "Version"), Column("title", "Title"),
        Column("effective_from", "In force from"), Column("effective_to", "Until"), Column("rules", "Rules")],
        _rows(table), source="minsec/data/library/policies (YAML, each rule with its legal source)",
        download=download)


def policies_view(chain) -> dict[str, Any]:
    """The shipped policies, every version with its dates and rules; the CRMA's 65 % benchmark on what it
    concerns, the Union's annual consumption (``minsec rules consumption``)."""
    table = chain.rules.policies()
    shares = chain.rules.consumption("eu_crma")
    top = shares.head(25).assign(label=lambda t: t["material"] + " · " + t["stage"] + " (" +
                                 t["top_country"].fillna("none") + ")")
    figure = figures.bars(top.iloc[::-1], "label", "top_share_pct", "EU27 consumption from the largest single "
                          "third country, %", "% of EU27 consumption", threshold=65.0,
                          threshold_label="CRMA 65 %")
    consumption = Table("crma-consumption", "EU27 annual consumption by the largest single third country (CRMA "
                                            "Art. 5(1)(b))", [
        Column("material", "Material", "link"), Column("stage", "Stage"),
        Column("consumption_t_per_yr", "Consumption t/yr", "float"), Column("top_country", "Largest third country"),
        Column("top_share_pct", "Its share %", "float"), Column("unnamed_share_pct", "Unnamed producers %", "float"),
        Column("own_share_pct", "EU's own %", "float"), Column("status", "Against 65 %"),
        Column("sourcing_basis", "Split by producer from"), Column("demand_basis", "Consumption basis")],
        _rows(shares), source="minsec rules consumption --policy eu_crma: the supply-chain baseline's partner "
                              "demand split by producing country",
        formula="share = supply from one third country / EU27 consumption of the material at that stage; "
                "unknown where the largest named share is within 65 % but the unnamed producers could tip it",
        download="/data/rules-consumption.csv")
    return {"policies": policies_table(table, "policies", "Shipped policies (every version with the dates it is "
                                                          "in force)", "/data/rules-policies.csv"),
            "choices": sorted(set(table["policy"])), "consumption": consumption, "figures": {"crma": figure}}


def verdict_frames(document: dict[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per rule and one per rule × line of a verdict document."""
    rules = pd.DataFrame([{k: r.get(k) for k in RULE_COLUMNS} for r in document.get("rules", [])],
                         columns=RULE_COLUMNS)
    lines = pd.DataFrame([{"rule": r["rule"], **{k: line.get(k) for k in LINE_COLUMNS[1:]}}
                          for r in document.get("rules", []) for line in r.get("lines") or []], columns=LINE_COLUMNS)
    return rules, lines


def verdict_csv(document: dict[str, Any]) -> str:
    """The verdict's rules and the lines behind them as one CSV (a rule's row, then its lines)."""
    rules, lines = verdict_frames(document)
    merged = pd.concat([rules.assign(line=None), lines], ignore_index=True)
    order = {rule: i for i, rule in enumerate(rules["rule"])}
    merged = merged.assign(_order=merged["rule"].map(order), _is_line=merged["line"].notna())
    merged = merged.sort_values(["_order", "_is_line"], kind="stable").drop(columns=["_order", "_is_line"])
    buffer = io.StringIO()
    merged[["rule", "line", *[c for c in merged.columns if c not in ("rule", "line")]]].to_csv(buffer, index=False)
    return buffer.getvalue()


def verdict_view(document: dict[str, Any]) -> dict[str, Any]:
    """A verdict: the overall verdict, each rule's verdict with the measured share against the threshold (chart),
    the explanation and remedy, and the lines behind each rule."""
    rules, lines = verdict_frames(document)
    measured = rules.dropna(subset=["measured_pct", "threshold_pct"])
    figs = {}
    if len(measured):
        long = pd.concat([measured.assign(series="measured", pct=measured["measured_pct"]),
                          measured.assign(series="threshold", pct=measured["threshold_pct"])])
        figs["verdict-shares"] = figures.bars(long, "rule", "pct", "Measured share against the policy's threshold",
                                              "% of the covered value", color="series")
    counts = rules["verdict"].value_counts()
    keys = [{"label": "Verdict", "value": str(document.get("verdict", "unknown")).upper()},
            {"label": "Rules", "value": ", ".join(f"{counts[v]} {v}" for v in ("fail", "unknown", "pass", "info")
                                                  if v in counts) or "none"},
            {"label": "Policy", "value": f"{document.get('policy')} {document.get('version')} on "
                                         f"{document.get('date')}"}]
    tables = [Table("verdict-rules", f"Rule by rule: {document.get('product') or 'the bill of materials'}", [
        Column("rule", "Rule"), Column("type", "Type"), Column("verdict", "Verdict"),
        Column("measured_pct", "Measured %", "float"), Column("threshold_pct", "Threshold %", "float"),
        Column("gap_pct", "Gap (points)", "float"), Column("amount_usd", "Amount (USD)", "usd"),
        Column("explanation", "Why"), Column("remedy", "Remedy")], _rows(rules),
        source="the policy's rules (minsec/data/library/policies) applied to the bill of materials and the "
               "ownership chains it names", formula="docs/rules.md: origin content = qualifying value / covered "
                                                    "value; foreign-entity-of-concern status through ownership "
                                                    "≥ the policy's threshold",
        empty="The policy has no rule in force on this date."),
        Table("verdict-lines", "The lines behind each rule",
              [Column(c, *LINE_LABELS[c]) for c in LINE_COLUMNS if c == "rule" or lines[c].notna().any()],
              _rows(lines), empty="No rule looks at individual lines.")]
    return {"figures": figs, "tables": tables, "key_figures": keys, "csv": verdict_csv(document)}
