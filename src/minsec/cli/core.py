"""The ``minsec`` command line's core: the Typer app, the global options, output, and the one error guard.

Every command is a thin layer over the Python API (:func:`minsec.load` and its accessors): parse options, call
the accessor, print the DataFrame it returns.  Heavy libraries (pandas, xarray) are imported inside the commands so
that ``minsec --help`` stays fast.  Every command that prints data takes ``--format table|json|csv``.

Errors: a :class:`~minsec.errors.MinsecError` (bad input the user can correct) is printed as one line on stderr
with exit code 2 — a selection the data hold no figure for too (:class:`~minsec.errors.NoDataError`: the line
says why and which source, stage or year has one; nothing is printed on stdout, whatever the format).
Anything else is a bug and is reported as one (exit code 1); ``--debug`` (or ``MINSEC_DEBUG=1``) shows its
traceback, and that of a MinsecError too.
"""

from __future__ import annotations

import math
import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import click
import typer
from typer.core import TyperGroup


class GuardedGroup(TyperGroup):
    """The root command group: its ``invoke`` is the single place where errors become exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        from minsec.errors import MinsecError

        try:
            return super().invoke(ctx)
        # typer >= 0.2x raises its own Exit (a RuntimeError, not click's) for --help and typer.Exit(n)
        # typer >= 0.2x also has its own ClickException family (its BadParameter for an Option's min/max)
        except (click.exceptions.Exit, typer.Exit, click.exceptions.Abort, click.ClickException,
                typer.TyperException):
            raise
        except BrokenPipeError:   # `minsec … | head`: the reader has gone; nothing more to say
            sys.stderr.close()
            raise typer.Exit(0) from None
        except MinsecError as exc:
            if State.debug:
                raise
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:
            if State.debug:
                raise
            typer.echo(f"minsec: internal error — this is a bug, please report it: {exc.__class__.__name__}: "
                       f"{exc}\n(run again with --debug for the traceback)", err=True)
            raise typer.Exit(1) from None


app = typer.Typer(cls=GuardedGroup, help="minsec — supply-chain map, supply-risk indices, emergency planning, "
                                         "stockpiles, markets and rules for critical minerals.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class State:
    """The global options of this invocation."""

    data: Path | None = None
    groups: Path | None = None
    debug: bool = os.environ.get("MINSEC_DEBUG", "") not in ("", "0")


DataOption = Annotated[Path | None, typer.Option("--data", help="Tidy data directory (default: bundled dataset).")]
FormatOption = Annotated[Format, typer.Option("--format", "-f", help="Output format.")]


@app.callback()
def _global(data: DataOption = None,
            groups: Annotated[Path | None, typer.Option("--groups", help="Country-groups YAML file.")] = None,
            debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (of bugs and of input errors).")]
            = False,
            verbose: Annotated[bool, typer.Option("--verbose", help="Also show what the solvers print (HiGHS's "
                                                                   "banner and log), on stderr.")] = False) -> None:
    from minsec.optimization import SOLVER_OUTPUT

    State.data = data
    State.groups = groups
    State.debug = debug or os.environ.get("MINSEC_DEBUG", "") not in ("", "0")
    SOLVER_OUTPUT["verbose"] = verbose or os.environ.get("MINSEC_VERBOSE", "") not in ("", "0")


def chain():
    """The SupplyChain of ``--data`` / ``--groups`` (the bundled dataset by default), with its accessors."""
    import minsec

    return minsec.load(State.data, groups=State.groups)


def fail(message: str) -> None:
    """Stop with one line on stderr and exit code 2 (for checks the CLI itself makes)."""
    from minsec.errors import InputError

    raise InputError(message)


# ------------------------------------------------------------------------------------------------ output
def jsonable(value: Any) -> Any:
    """Plain JSON values: non-finite floats become null (JSON has no NaN), numpy scalars their Python value,
    anything else unknown its string."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:          # numpy scalars
        return jsonable(value.item())
    if hasattr(value, "tolist"):                                           # numpy arrays
        return jsonable(value.tolist())
    try:
        if value != value:                                                 # NaT
            return None
    except TypeError:                                                      # pandas.NA refuses to be a bool
        return None
    return str(value)


def emit_json(payload: Any) -> None:
    import json

    sys.stdout.write(json.dumps(jsonable(payload), indent=1, ensure_ascii=False) + "\n")


def records(frame) -> list[dict]:
    """A DataFrame's rows as JSON-ready dicts (missing → null)."""
    return jsonable(frame.to_dict(orient="records"))


def _plain_columns(frame) -> bool:
    """Whether every column is numeric, boolean or text (with missing values) — what pandas' own JSON
    writer renders exactly as :func:`jsonable` would (NaN and ±inf → null)."""
    import pandas as pd

    for column in frame.columns:
        series = frame[column]
        if (pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series)
                or (series.dtype != object and pd.api.types.is_string_dtype(series))):
            continue
        if series.dtype == object and pd.api.types.infer_dtype(series, skipna=True) in ("string", "empty"):
            continue
        return False
    return True


def emit(frame, fmt: Format, title: str = "") -> None:
    """Print a DataFrame as a Rich table, JSON records or CSV.

    JSON of plain tables goes through pandas' C writer (15 significant digits): GeoPolRisk for every
    importer × material × year is ~13 MB, which the pure-Python encoder takes seconds to write."""
    if fmt is Format.json:
        if len(frame) > 1000 and _plain_columns(frame):
            sys.stdout.write(frame.to_json(orient="records", indent=1, double_precision=15, force_ascii=False) + "\n")
        else:
            emit_json(frame.to_dict(orient="records"))
    elif fmt is Format.csv:
        import json

        # mapping cells (e.g. concentration's per-country ``shares``) are one JSON object per cell, not a repr
        frame = frame.apply(lambda c: c.map(lambda v: json.dumps(v) if isinstance(v, dict) else v)
                            if c.dtype == object else c)
        frame.to_csv(sys.stdout, index=False)
    else:
        from rich.console import Console
        from rich.table import Table

        table = Table(title=title or None, show_lines=False)
        for column in frame.columns:
            table.add_column(str(column), overflow="fold")
        years = [_is_year_column(str(c)) for c in frame.columns]
        for row in frame.itertuples(index=False):
            table.add_row(*[_cell(v, year) for v, year in zip(row, years, strict=True)])
        # a file or a pipe has no width: Rich would assume 80 columns and fold words every few characters
        Console(width=None if sys.stdout.isatty() else PIPE_WIDTH).print(table)


def emit_record(record: dict, fmt: Format, title: str = "") -> None:
    """Print one record: JSON object, one-row CSV, or a field/value table."""
    import pandas as pd

    if fmt is Format.json:
        emit_json(record)
    elif fmt is Format.csv:
        emit(pd.DataFrame([record]), fmt)
    else:
        emit(pd.DataFrame({"field": list(record), "value": [str(v) for v in record.values()]}), fmt, title)


def note(message: str) -> None:
    typer.echo(f"note: {message}", err=True)


#: the width of a table written to a file or a pipe (a terminal's own width otherwise)
PIPE_WIDTH = 240
#: below this magnitude a float is rounding noise of a difference of near-equal numbers, shown as 0
FLOAT_NOISE = 1e-9


def _is_year_column(name: str) -> bool:
    return name == "year" or name.endswith(("_year", "year_met")) or name.startswith("year_")


def _cell(value, year: bool = False) -> str:
    """A table cell: missing (NaN, None, pandas NA, NaT) is "—", never "0", "nan", "None" or "<NA>"; a year never
    with a thousands separator (2026, not 2,026); float noise (|x| < 1e-9, e.g. 1.11e-14) as 0."""
    if value is None:
        return "—"
    if year and isinstance(value, int | float) and value == value and float(value).is_integer():
        return str(int(value))
    if isinstance(value, dict):            # shares by country: the three largest, the count of the rest
        shown = ", ".join(f"{k} {v:.1%}" if isinstance(v, float) else f"{k} {v}" for k, v in list(value.items())[:3])
        return shown + (f" (+{len(value) - 3})" if len(value) > 3 else "") if value else "—"
    if isinstance(value, float):
        if value != value:
            return "—"
        if abs(value) < FLOAT_NOISE:
            return "0"
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    try:
        if value != value:                 # NaT
            return "—"
    except TypeError:                      # pandas.NA refuses to be a bool
        return "—"
    return str(value)


class ProgressBar:
    """A Rich progress bar on stderr for table output (silent for JSON/CSV) that appears only when work is first
    reported, so input refused before any work leaves no bar behind; :meth:`advance` is the callback."""

    def __init__(self, fmt: Format, description: str, total: int, transient: bool = True) -> None:
        self.enabled, self.transient = fmt is Format.table, transient
        self.description, self.total = description, total
        self.bar = None
        self.task = None

    def advance(self, k: int) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

            self.bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), transient=self.transient, console=Console(stderr=True))
            self.bar.start()
            self.task = self.bar.add_task(self.description, total=self.total)
        self.bar.advance(self.task, k)

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *_exc) -> None:
        if self.bar is not None:
            self.bar.stop()


class Working:
    """A spinner on stderr naming the work under way, for runs with no count to report (a PDF printed by
    Chromium, a Monte Carlo valuation, an optimisation); shown only when stderr is a terminal, and gone when the
    work ends (``with Working("printing the briefing"): …``)."""

    def __init__(self, what: str) -> None:
        self.what, self.status = what, None

    def __enter__(self) -> Working:
        from rich.console import Console

        console = Console(stderr=True)
        if console.is_terminal:
            self.status = console.status(f"{self.what}…")
            self.status.start()
        return self

    def __exit__(self, *_exc) -> None:
        if self.status is not None:
            self.status.stop()
