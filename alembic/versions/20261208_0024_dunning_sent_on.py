"""The day each dunning letter really left

`dunning_steps.sent_on`: the business day the rung's letter (its email) actually went out, or
was recorded sent by hand. A legal waiting period (Book XIX 14 days, the formal notice's) counts
from it, not from the day the rung was recorded: after an email outage the letter may leave
weeks later (issue 13 #2, INV-8). Rows from before know only the rung's date: they keep it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0024"
down_revision: str | Sequence[str] | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("dunning_steps") as batch_op:
        batch_op.add_column(sa.Column("sent_on", sa.Date(), nullable=True))
    op.execute("UPDATE dunning_steps SET sent_on = business_date")


def downgrade() -> None:
    with op.batch_alter_table("dunning_steps") as batch_op:
        batch_op.drop_column("sent_on")
