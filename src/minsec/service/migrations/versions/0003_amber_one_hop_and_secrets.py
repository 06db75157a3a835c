"""who passed a TLP:AMBER alert on to a recipient organisation; the server's shared secrets

Revision ID: 0003
Revises: 0002
``alert_recipient_orgs.passed_on_by``: null where the author's organisation named the recipient, else the
recipient organisation that passed the alert on to it (one of its clients).  Only the author's own recipients
may pass an AMBER alert on, so it travels one hop from them and no further (a client of a client is not the
author's audience).  ``service_secrets``: secrets drawn once per database and shared by every server process —
the key that makes the live stream's event ids opaque and per reader (``minsec.service.stream_ids``).
``job_runners`` and ``jobs.runner_id``: each server process's job runner with its heartbeat, and the runner of
each job, so that a process starting up fails only the jobs of runners that are gone — not another live
worker's (``--workers > 1``).

Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "job_runners",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("runner_id", sa.String(length=36), nullable=True))
        batch.create_index("ix_jobs_runner_id", ["runner_id"])
    with op.batch_alter_table("alert_recipient_orgs") as batch:
        batch.add_column(sa.Column("passed_on_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_alert_recipient_orgs_passed_on_by", "organisations", ["passed_on_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("alert_recipient_orgs") as batch:
        batch.drop_constraint("fk_alert_recipient_orgs_passed_on_by", type_="foreignkey")
        batch.drop_column("passed_on_by")
    op.drop_table("service_secrets")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_runner_id")
        batch.drop_column("runner_id")
    op.drop_table("job_runners")
