"""who passed a TLP:AMBER alert on to a recipient organisation

Revision ID: 0003
Revises: 0002
``alert_recipient_orgs.passed_on_by``: null where the author's organisation named the recipient, else the
recipient organisation that passed the alert on to it (one of its clients).  Only the author's own recipients
may pass an AMBER alert on, so it travels one hop from them and no further (a client of a client is not the
author's audience).

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
    with op.batch_alter_table("alert_recipient_orgs") as batch:
        batch.add_column(sa.Column("passed_on_by", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_alert_recipient_orgs_passed_on_by", "organisations", ["passed_on_by"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("alert_recipient_orgs") as batch:
        batch.drop_constraint("fk_alert_recipient_orgs_passed_on_by", type_="foreignkey")
        batch.drop_column("passed_on_by")
