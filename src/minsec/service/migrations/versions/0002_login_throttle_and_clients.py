"""login throttling per (account, address); organisations' clients

Revision ID: 0002
Revises: 0001
Account lockout (``users.failed_logins``, ``users.locked_until``) gives way to throttling per submitted user
name and client address (``login_throttle``): a lockout let anyone lock any account from anywhere and told
which names exist.  ``organisation_clients`` records which organisations are another's clients, the only ones
a recipient of a TLP:AMBER alert may pass it on to (TLP 2.0); none by default.

Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("blocked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("username", "client"),
    )
    op.create_table(
        "organisation_clients",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("client_org_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["organisations.id"]),
        sa.ForeignKeyConstraint(["client_org_id"], ["organisations.id"]),
        sa.PrimaryKeyConstraint("org_id", "client_org_id"),
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("failed_logins", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("locked_until", sa.DateTime(), nullable=True))
    op.drop_table("organisation_clients")
    op.drop_table("login_throttle")
