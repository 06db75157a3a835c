"""Errors raised at the data boundary. Each names the file, the row and the column that is wrong."""

from __future__ import annotations

from pathlib import Path

from minsec.errors import InputError


class DataFormatError(InputError):
    """A source file that does not have the layout or values its loader expects.

    ``row`` is the 1-based line number in the file (header = 1) where known.
    """

    def __init__(self, path: str | Path, message: str, *, row: int | None = None, column: str | None = None):
        self.path = str(path)
        self.row = row
        self.column = column
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {message}")


def read_text_table(path: str | Path, columns: list[str], encoding: str = "utf-8"):
    """A publisher's CSV as text cells (nothing parsed, blanks kept as ""), with ``columns`` required: any way
    the file is unreadable, or a missing column, is a :class:`DataFormatError` naming the file."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding=encoding)
    except (OSError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise DataFormatError(path, f"cannot read as CSV: {exc}") from None
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataFormatError(path, f"missing columns {missing}", row=1)
    return table
