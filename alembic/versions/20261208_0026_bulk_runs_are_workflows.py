"""Bulk runs are Temporal workflows: no runner, no heartbeat

issue 14: a bulk run was driven by a background task of an API process that claimed it
(`bulk_runs.runner`, 0015) and refreshed `bulk_runs.heartbeat_at` (0012) within a lease, with a
sweep loop resuming runs whose heartbeat went stale. Each run is now a `BulkRepairWorkflow`
(`bulk-<id>`): its history is the durable state, so the claim and the heartbeat go. Runs are
`queued` until their workflow starts (default of `status` is the model's).

Runs still `running` under the old code when this is deployed have no workflow: they are put back
to `queued` and the worker's sweep starts one for each (it continues with their pending items).

Drops the columns only if they exist (databases created by `create_all` in old tooling may lack
`runner`). The downgrade adds them back (runner empty, heartbeat now: the old sweep then sees
every running run as live for one lease, then resumes it).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

import models.base
from alembic import op

revision: str = "0026"
down_revision: str | Sequence[str] | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _columns() -> set[str]:
    return {c["name"] for c in sa.inspect(op.get_bind()).get_columns("bulk_runs")}


def upgrade() -> None:
    existing = _columns()
    with op.batch_alter_table("bulk_runs", schema=None) as batch_op:
        for name in ("runner", "heartbeat_at"):
            if name in existing:
                batch_op.drop_column(name)
    op.execute("UPDATE bulk_runs SET status = 'queued' WHERE status = 'running'")


def downgrade() -> None:
    existing = _columns()
    with op.batch_alter_table("bulk_runs", schema=None) as batch_op:
        if "runner" not in existing:
            batch_op.add_column(sa.Column("runner", sa.String(length=128), nullable=True))
        if "heartbeat_at" not in existing:
            batch_op.add_column(
                sa.Column(
                    "heartbeat_at",
                    models.base.UTCDateTime(),
                    nullable=False,
                    server_default=sa.func.now(),
                )
            )
    op.execute("UPDATE bulk_runs SET status = 'running' WHERE status = 'queued'")
