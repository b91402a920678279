"""Integrations: the outbound-call outbox and what PagerDuty, Jira and Statuspage return.

Revision ID: 0009
Revises: 0007
Create Date: 2026-12-10 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.store.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "outbound_call",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("service", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("outbound_call", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_call_incident_id", ["incident_id"], unique=False)
        batch_op.create_index(
            "ix_outbound_call_pending", ["done_at", "next_attempt_at"], unique=False
        )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pagerduty_status", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column("statuspage_incident_id", sa.String(length=64), nullable=True)
        )
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("jira_requested_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("jira_issue_key", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.drop_column("jira_issue_key")
        batch_op.drop_column("jira_requested_at")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("statuspage_incident_id")
        batch_op.drop_column("pagerduty_status")
    with op.batch_alter_table("outbound_call", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_call_pending")
        batch_op.drop_index("ix_outbound_call_incident_id")
    op.drop_table("outbound_call")
