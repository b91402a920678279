"""Alerts from monitoring: groups (one Slack message each), alerts, detection times.

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-04 14:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.store.types import UTCDateTime

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "alert_group",
        sa.Column("id", BigId, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("group_key", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("service", sa.String(length=80), nullable=True),
        sa.Column("severity", sa.String(length=40), nullable=True),
        sa.Column("channel", sa.String(length=80), nullable=False),
        sa.Column("external_url", sa.String(length=500), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("message_channel_id", sa.String(length=32), nullable=True),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("rendered_version", sa.Integer(), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("post_count", sa.Integer(), nullable=False),
        sa.Column("edit_count", sa.Integer(), nullable=False),
        sa.Column("acknowledged_by", sa.String(length=32), nullable=True),
        sa.Column("acknowledged_at", UTCDateTime(), nullable=True),
        sa.Column("silenced_by", sa.String(length=32), nullable=True),
        sa.Column("silenced_at", UTCDateTime(), nullable=True),
        sa.Column("silenced_until", UTCDateTime(), nullable=True),
        sa.Column("silenced_until_resolved", sa.Boolean(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("linked_by", sa.String(length=32), nullable=True),
        sa.Column("auto_declare_severity", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "group_key", name="uq_alert_group_key"),
    )
    op.create_index("ix_alert_group_incident_id", "alert_group", ["incident_id"])
    op.create_index("ix_alert_group_rendered_version", "alert_group", ["rendered_version"])
    op.create_table(
        "alert",
        sa.Column("id", BigId, nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("fingerprint", sa.String(length=128), nullable=False),
        sa.Column("group_id", BigId, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=40), nullable=True),
        sa.Column("service", sa.String(length=80), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("labels", sa.JSON(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["group_id"], ["alert_group.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "fingerprint", name="uq_alert_fingerprint"),
    )
    op.create_index("ix_alert_group_id", "alert", ["group_id"])
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("detected_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("acknowledged_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_at")
        batch_op.drop_column("detected_at")
    op.drop_index("ix_alert_group_id", table_name="alert")
    op.drop_table("alert")
    op.drop_index("ix_alert_group_rendered_version", table_name="alert_group")
    op.drop_index("ix_alert_group_incident_id", table_name="alert_group")
    op.drop_table("alert_group")
