"""Shared fixtures: paths to the raw-file extracts and the (session-cached) bundled dataset."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RAW_DIR = ROOT / "data" / "raw"


@pytest.fixture(scope="session")
def chain():
    import minsec

    return minsec.load()


@pytest.fixture(scope="session")
def rebuilt():
    """The dataset rebuilt from the publishers' files in data/raw (nothing written)."""
    from minsec.data import build

    if not RAW_DIR.is_dir():
        pytest.skip("data/raw not present")
    return build.build(RAW_DIR)


# ------------------------------------------------------------------------------------------- service fixtures
def _postgres_admin_url() -> str | None:
    import os

    return os.environ.get("MINSEC_TEST_POSTGRES")


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """A fresh, migrated service database: SQLite in a temporary file, or a new PostgreSQL database on the
    server that `python3 make.py test` starts (MINSEC_TEST_POSTGRES)."""
    import uuid

    from minsec.service.db import connect, upgrade

    if request.param == "sqlite":
        db = connect(f"sqlite:///{tmp_path / 'service.db'}")
        upgrade(db)
        yield db
        db.dispose()
        return
    admin_url = _postgres_admin_url()
    if not admin_url:
        pytest.skip("PostgreSQL not configured (MINSEC_TEST_POSTGRES); `python3 make.py test` starts one")
    from sqlalchemy import create_engine, text

    name = f"minsec_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    db = connect(admin_url.rsplit("/", 1)[0] + f"/{name}")
    upgrade(db)
    yield db
    db.dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()
