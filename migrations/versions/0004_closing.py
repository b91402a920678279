"""Closing archives the channel later; scribes curate timeline entries.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04 14:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.store.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.add_column(sa.Column("archive_due_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_incident_archive_due_at", ["archive_due_at"], unique=False)
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("curated_text", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("curated_by", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("curated_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("struck_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("timeline_event", schema=None) as batch_op:
        batch_op.drop_column("struck_at")
        batch_op.drop_column("curated_at")
        batch_op.drop_column("curated_by")
        batch_op.drop_column("curated_text")
    with op.batch_alter_table("incident", schema=None) as batch_op:
        batch_op.drop_index("ix_incident_archive_due_at")
        batch_op.drop_column("archived_at")
        batch_op.drop_column("archive_due_at")
