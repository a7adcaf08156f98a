"""Staff tasks, and the request for each new late-payment rate before its period starts

issue 13 #7: the B2B interest rates (law of 2 Aug 2002, one per half-year) and the legal rates
(law of 5 May 1865, one per year) end on 2027-12-31; a dunning step on a later date found no
rate and failed with a raw ValueError. A rate table that runs out uses nothing silently: the step
waits, flagged with which rate is missing, and a staff task asks ops for the new rate weeks before
each period starts.

* `staff_tasks`: a generic staff task (issue 15 grows it into the task inbox): `key` UNIQUE makes
  the periodic job that creates a task idempotent across workers and runs
  (e.g. "rate:b2b_interest:2028-01-01"); `title` + `params` are translated by the pages.
* `staff_tasks.rate_request`: how many weeks before a rate period starts the task is created
  (6), a dated parameter like every other policy value (services/rates.py).

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-08
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0025"
down_revision: str | Sequence[str] | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RATE_REQUEST_KEY = "staff_tasks.rate_request"
RATE_REQUEST_FROM = dt.date(2023, 1, 1)
RATE_REQUEST_SOURCE = (
    "Coopflow policy (issue 13 #7): ask ops for the next late-payment rate 6 weeks before its "
    "period starts. The SPF Finances publishes the 2002-law rate for each half-year in the "
    "Moniteur shortly before 1 January / 1 July; the legal rate (law of 5 May 1865) in January"
)
RATE_REQUEST = {"weeks_before": 6, "source": RATE_REQUEST_SOURCE, "confidence": "H"}

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def upgrade() -> None:
    op.create_table(
        "staff_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("link", sa.String(length=500), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'done')", name=op.f("ck_staff_tasks_status_known")
        ),
        sa.ForeignKeyConstraint(
            ["done_by"], ["users.id"], name=op.f("fk_staff_tasks_done_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_tasks")),
        sa.UniqueConstraint("key", name=op.f("uq_staff_tasks_key")),
    )
    op.create_index(op.f("ix_staff_tasks_kind"), "staff_tasks", ["kind"], unique=False)
    op.create_index(op.f("ix_staff_tasks_status"), "staff_tasks", ["status"], unique=False)
    op.bulk_insert(
        parameters,
        [
            {
                "key": RATE_REQUEST_KEY,
                "valid_from": RATE_REQUEST_FROM,
                "valid_to": None,
                "value": RATE_REQUEST,
                "source": RATE_REQUEST_SOURCE,
            }
        ],
    )


def downgrade() -> None:
    op.execute(
        parameters.delete().where(
            parameters.c.key == RATE_REQUEST_KEY, parameters.c.valid_from == RATE_REQUEST_FROM
        )
    )
    op.drop_index(op.f("ix_staff_tasks_status"), table_name="staff_tasks")
    op.drop_index(op.f("ix_staff_tasks_kind"), table_name="staff_tasks")
    op.drop_table("staff_tasks")
