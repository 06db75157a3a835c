"""What several routers share: the documented error responses, the id path parameter, and tables as the CLI
writes them in JSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path

from minsec.service.schemas import Problem

MAX_ID = 2**53 - 1          # ids beyond this are not ids (and overflow SQLite's 64-bit integers)
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Not authenticated"},
    403: {"model": Problem, "description": "Not allowed for this organisation or role"},
    404: {"model": Problem, "description": "Not found (or not visible to the caller)"},
    422: {"description": "InvalidError input; the message names the field"},
}


def table_rows(frame) -> list[dict[str, Any]]:
    """A result table's rows as ``minsec … -f json`` writes them: full precision, NaN as null."""
    from minsec.model.records import records
    from minsec.service.jobs import _jsonable

    return _jsonable(records(frame))
