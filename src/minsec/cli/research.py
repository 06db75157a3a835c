"""``minsec research …``: the registry of public R&D programmes and the gaps between research effort and risk
(``sc.research``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, ProgressBar, chain, emit, emit_json, note, records

research_app = typer.Typer(help="Research programmes: the registry and where research misses risk.",
                           no_args_is_help=True)

REGISTRY_HELP = "A registry CSV of your own in the shipped columns (data/raw/research/PROVENANCE.md)."


@research_app.command("list")
def research_list(
    material: Annotated[str | None, typer.Option(help="Material id: its programmes and the general ones.")] = None,
    stage: Annotated[str | None, typer.Option(help="exploration, extraction, separation, refining, "
                                                   "magnets_alloys, substitution or recycling.")] = None,
    partner: Annotated[str | None, typer.Option(help="USA, EU27, JPN, KOR, CAN, AUS, GBR, DEU … or MULTI.")] = None,
    registry: Annotated[Path | None, typer.Option(help=REGISTRY_HELP)] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Public R&D programmes on critical-mineral supply chains, each with its source: funder, partner, budget as
    published and in US dollars (2023 annual-average rates, Federal Reserve G.5A), years, materials, stages."""
    table = chain().research.programmes(material=material, stage=stage, partner=partner, path=registry)
    shown = table.assign(materials=table["materials"].map(";".join), stages=table["stages"].map(";".join))
    if fmt is Format.json:
        emit_json(records(table))
        return
    if fmt is Format.csv:
        emit(shown, fmt)
        return
    emit(shown[["programme", "project", "partner", "budget", "currency", "budget_usd", "start_year", "materials",
                "stages", "confidence"]], fmt,
         f"Research programmes ({len(table)}; budgets as published, and in USD; a programme's rows are not sums)")
    if table.empty:
        note("no programme matches; try without --stage or --partner, or `minsec research list`")


@research_app.command("gaps")
def research_gaps(
    n: Annotated[int, typer.Option("--n", min=100, max=200_000,
                                   help="Year-long scenarios for the expected GDP loss.")] = 4_000,
    seed: Annotated[int, typer.Option(min=0, help="Seed of the ensemble.")] = 0,
    top: Annotated[int, typer.Option(min=1, help="Rows shown in the table.")] = 25,
    registry: Annotated[Path | None, typer.Option(help=REGISTRY_HELP)] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Material × stage ranked by the partnership's expected GDP loss (weighted by the stage's concentration) per
    dollar of research; overlaps where several partners research the same thing (candidates for joint
    programmes). Method: docs/methods.md, "Research programmes"."""
    sc = chain()
    with ProgressBar(fmt, "scenarios", n) as bar:
        table = sc.research.gaps(n, seed, path=registry, progress=bar.advance)
    if fmt is Format.json:
        emit_json({"gaps": records(table), "general_programmes": table.attrs.get("general_programmes")})
        return
    if fmt is Format.csv:
        emit(table, fmt)
        return
    columns = ["gap_rank", "material", "stage", "expected_gdp_loss_usd", "top_country", "top_share", "programmes",
               "partners", "research_usd", "attention_per_research_usd"]
    emit(table[columns].head(top), fmt, "Research gaps: expected loss (× the stage's concentration) per research "
                                        "dollar, a year")
    overlaps = table[table["overlap"]].sort_values("attention_usd", ascending=False)
    emit(overlaps[["material", "stage", "partners", "programmes", "research_usd"]].head(top), fmt,
         "Overlaps: the same material and stage researched by several partners (joint-programme candidates)")
    note(f"{table.attrs.get('general_programmes', 0)} programmes on critical minerals in general are not spread "
         "over materials")
