"""``minsec materials`` and ``minsec data …``: the catalogue and the bundled dataset (build it, describe it)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from minsec.cli.core import Format, FormatOption, chain, emit

data_app = typer.Typer(help="The bundled dataset: build it from the publishers' files, show what is in it.",
                       no_args_is_help=True)


def materials(fmt: FormatOption = Format.table) -> None:
    """The material catalogue: id, name, family, EU CRMA status, stages and sources that cover it."""
    emit(chain().materials(), fmt, "minsec materials")


@data_app.command("info")
def data_info(fmt: FormatOption = Format.table) -> None:
    """Every source of the dataset: edition, years, licence, row counts and known gaps."""
    sc = chain()
    table = sc.sources()
    if fmt is not Format.json:
        table = table.assign(first_gaps=table["known_gaps"].map(lambda gaps: " | ".join(gaps[:2])),
                             known_gaps=table["known_gaps"].map(len))
    else:
        table["first_gaps"] = table["known_gaps"].map(lambda gaps: " | ".join(gaps[:2]))
    emit(table, fmt, f"dataset format {sc.manifest['format']}, built {sc.manifest['built']}")


@data_app.command("schema")
def data_schema() -> None:
    """Print the tidy data format (tables, columns, types, meanings) as Markdown."""
    from minsec.data import dataset

    typer.echo(dataset.format_markdown())


@data_app.command("build")
def data_build(
    raw: Annotated[Path, typer.Option(help="Directory with the publishers' original files.")] = Path("data/raw"),
    out: Annotated[Path | None, typer.Option(help="Output directory (default: the bundled dataset).")] = None,
) -> None:
    """Rebuild the tidy dataset from the publishers' original files (all or nothing)."""
    from minsec.data import build, dataset

    result = build.build(raw)
    target = build.write(result, out or dataset.bundled_dir())
    for name, meta in result.manifest["tables"].items():
        typer.echo(f"{name:16s} {meta['rows']:>8,d} rows")
    typer.echo(f"written to {target}")


