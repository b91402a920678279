"""The Slack outbox: what Slack must still be told about committed changes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 14:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.store.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slack_effect",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.Column("error", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("slack_effect", schema=None) as batch_op:
        batch_op.create_index("ix_slack_effect_incident_id", ["incident_id"], unique=False)
        batch_op.create_index(
            "ix_slack_effect_pending", ["done_at", "next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("slack_effect", schema=None) as batch_op:
        batch_op.drop_index("ix_slack_effect_pending")
        batch_op.drop_index("ix_slack_effect_incident_id")
    op.drop_table("slack_effect")
