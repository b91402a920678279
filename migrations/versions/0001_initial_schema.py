"""Initial schema: incidents, roles, timeline, updates, action items, reminders.

Revision ID: 0001
Revises:
Create Date: 2026-11-29 12:25:37.603292
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.store.types import UTCDateTime

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "apscheduler_jobs",
        sa.Column("id", sa.Unicode(length=191), nullable=False),
        sa.Column("next_run_time", sa.Float(precision=25), nullable=True),
        sa.Column("job_state", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_apscheduler_jobs_next_run_time"), ["next_run_time"], unique=False
        )

    op.create_table(
        "incident",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("highest_severity", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("is_private", sa.Boolean(), nullable=False),
        sa.Column("declared_by", sa.String(length=32), nullable=False),
        sa.Column("declared_at", UTCDateTime(), nullable=False),
        sa.Column("mitigated_at", UTCDateTime(), nullable=True),
        sa.Column("resolved_at", UTCDateTime(), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("channel_id", sa.String(length=32), nullable=True),
        sa.Column("channel_name", sa.String(length=80), nullable=True),
        sa.Column("card_ts", sa.String(length=32), nullable=True),
        sa.Column("announcement_channel_id", sa.String(length=32), nullable=True),
        sa.Column("announcement_ts", sa.String(length=32), nullable=True),
        sa.Column("last_update_at", UTCDateTime(), nullable=True),
        sa.Column("setup_steps", sa.JSON(), nullable=False),
        sa.Column("setup_complete", sa.Boolean(), nullable=False),
        sa.Column("setup_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel_id"),
        sa.UniqueConstraint("team_id", "number", name="uq_incident_team_number"),
    )
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_incident_setup_complete"), ["setup_complete"], unique=False
        )
        batch_op.create_index("ix_incident_team_status", ["team_id", "status"], unique=False)

    op.create_table(
        "incident_counter",
        sa.Column("team_id", sa.String(length=32), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("team_id"),
    )
    op.create_table(
        "processed_request",
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("processed_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processed_request_received_at"), ["received_at"], unique=False
        )

    op.create_table(
        "action_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=True),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("created_by", sa.String(length=32), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("done_by", sa.String(length=32), nullable=True),
        sa.Column("done_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_action_item_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "reminder_state",
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=True),
        sa.Column("last_sent_at", UTCDateTime(), nullable=True),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.Column("last_reminder_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("incident_id"),
    )
    with op.batch_alter_table("reminder_state", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reminder_state_next_due_at"), ["next_due_at"], unique=False
        )

    op.create_table(
        "role_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("assigned_by", sa.String(length=32), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("relieved_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_role_assignment_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            "ux_role_assignment_current",
            ["incident_id", "role"],
            unique=True,
            sqlite_where=sa.text("relieved_at IS NULL"),
            postgresql_where=sa.text("relieved_at IS NULL"),
        )

    op.create_table(
        "stakeholder_update",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("severity", sa.String(length=20), nullable=False),
        sa.Column("what_we_know", sa.Text(), nullable=False),
        sa.Column("what_we_are_doing", sa.Text(), nullable=False),
        sa.Column("next_update_minutes", sa.Integer(), nullable=True),
        sa.Column("posted_by", sa.String(length=32), nullable=False),
        sa.Column("posted_at", UTCDateTime(), nullable=False),
        sa.Column("channel_ts", sa.String(length=32), nullable=True),
        sa.Column("thread_ts", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stakeholder_update", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_stakeholder_update_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "timeline_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("original_text", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("message_ts", sa.String(length=32), nullable=True),
        sa.Column("permalink", sa.String(length=500), nullable=True),
        sa.Column("edited_at", UTCDateTime(), nullable=True),
        sa.Column("removed_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["incident_id"], ["incident.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timeline_event_incident_time", ["incident_id", "occurred_at", "id"], unique=False
        )
        batch_op.create_index(
            "ux_timeline_event_message",
            ["incident_id", "kind", "message_ts"],
            unique=True,
            sqlite_where=sa.text("message_ts IS NOT NULL"),
            postgresql_where=sa.text("message_ts IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_timeline_event_message",
            sqlite_where=sa.text("message_ts IS NOT NULL"),
            postgresql_where=sa.text("message_ts IS NOT NULL"),
        )
        batch_op.drop_index("ix_timeline_event_incident_time")

    op.drop_table("timeline_event")
    with op.batch_alter_table("stakeholder_update", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stakeholder_update_incident_id"))

    op.drop_table("stakeholder_update")
    with op.batch_alter_table("role_assignment", schema=None) as batch_op:
        batch_op.drop_index(
            "ux_role_assignment_current",
            sqlite_where=sa.text("relieved_at IS NULL"),
            postgresql_where=sa.text("relieved_at IS NULL"),
        )
        batch_op.drop_index(batch_op.f("ix_role_assignment_incident_id"))

    op.drop_table("role_assignment")
    with op.batch_alter_table("reminder_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reminder_state_next_due_at"))

    op.drop_table("reminder_state")
    with op.batch_alter_table("action_item", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_action_item_incident_id"))

    op.drop_table("action_item")
    with op.batch_alter_table("processed_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_processed_request_received_at"))

    op.drop_table("processed_request")
    op.drop_table("incident_counter")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_team_status")
        batch_op.drop_index(batch_op.f("ix_incident_setup_complete"))

    op.drop_table("incident")
    with op.batch_alter_table("apscheduler_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_apscheduler_jobs_next_run_time"))

    op.drop_table("apscheduler_jobs")
