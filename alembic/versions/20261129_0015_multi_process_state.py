"""State that must hold across API processes: login failures and the driver of a bulk run

With several API processes (`COOPFLOW_API_WORKERS`, replicas), what one process kept in memory
was wrong for the others:

- `login_failures`: the failed logins per normalised email, shared by every process (they were
  counted in each process's memory: N processes allowed N times the configured failures, and a
  restart forgot them). Indexed by (key, failed_at) for the check, and by failed_at for pruning.
- `bulk_runs.runner`: the process that claimed the run; one process drives a run at a time,
  refreshing `heartbeat_at` within its lease (several processes resumed the same interrupted run
  and together went faster than its rate).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: str | Sequence[str] | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=320), nullable=False),
    sa.Column('failed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_failures'))
    )
    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.create_index('ix_login_failures_key_failed_at', ['key', 'failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_login_failures_failed_at'), ['failed_at'], unique=False)

    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('runner', sa.String(length=128), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.drop_column('runner')

    with op.batch_alter_table('login_failures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_login_failures_failed_at'))
        batch_op.drop_index('ix_login_failures_key_failed_at')
    op.drop_table('login_failures')
