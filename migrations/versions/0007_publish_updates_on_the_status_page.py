"""Stakeholder updates may be published on the status page.

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-04 14:05:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("stakeholder_update", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
    # The status page reads the public updates of each incident.
    op.create_index("ix_stakeholder_update_public", "stakeholder_update", ["public", "incident_id"])


def downgrade() -> None:
    op.drop_index("ix_stakeholder_update_public", table_name="stakeholder_update")
    with op.batch_alter_table("stakeholder_update", schema=None) as batch_op:
        batch_op.drop_column("public")
