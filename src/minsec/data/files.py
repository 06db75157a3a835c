"""Reading the files a user names (CSV tables, YAML/JSON documents): one place where every way a file can be
unreadable — missing, a directory, not text, empty, not CSV — becomes a one-line
:class:`~minsec.errors.MinsecError` naming the file, instead of whatever the library happens to raise."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pandas as pd

from minsec.errors import InputError, MissingFileError


@contextlib.contextmanager
def _reading(path: Path, what: str, kind: str):
    """Translate every way reading ``path`` can fail into a one-line MinsecError naming the file."""
    try:
        yield
    except FileNotFoundError:
        raise MissingFileError(f"{path}: no such {what}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a {what}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not a text {what} (expected {kind})") from None
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the {what} is empty") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a readable {what}: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def read_text(path: str | Path, what: str = "file") -> str:
    """The UTF-8 text of a user's file."""
    with _reading(Path(path), what, "UTF-8"):
        return Path(path).read_text(encoding="utf-8")


def read_csv(path: str | Path, what: str = "CSV file", **options) -> pd.DataFrame:
    """A user's CSV table (``options`` go to :func:`pandas.read_csv`)."""
    with _reading(Path(path), what, "UTF-8 CSV"):
        return pd.read_csv(path, **options)


def writable(path: str | Path, option: str) -> Path:
    """``path`` if a file can be written there (its folder exists); a one-line error naming ``option`` if not."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory; give a file name")
    if not path.parent.is_dir():
        raise MissingFileError(f"{option} {path}: the folder {path.parent} does not exist")
    return path
