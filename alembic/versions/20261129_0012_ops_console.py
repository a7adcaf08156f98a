"""Ops console: the append-only audit log, bulk runs and their items

`audit_log` refuses UPDATE, DELETE (and TRUNCATE on PostgreSQL) by triggers, like the ledger (0006)
and the documents (0010): a repair is never erased, a correction is a new row.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: str | Sequence[str] | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _append_only_up(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION coopflow_audit_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'the audit log is append-only: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation',
                          HINT = 'record a new audit row instead';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION coopflow_audit_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
            "FOR EACH STATEMENT EXECUTE FUNCTION coopflow_audit_append_only()"
        )
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
                f"BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: {event} on audit_log "
                "refused'); END"
            )


def _append_only_down(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION IF EXISTS coopflow_audit_append_only()")
    elif dialect == "sqlite":
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS audit_log_no_{event}")


def upgrade() -> None:
    op.create_table('bulk_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('rate_per_second', sa.Float(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('heartbeat_at', models.base.UTCDateTime(), nullable=False),
    sa.Column('finished_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_bulk_runs_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_runs'))
    )
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_runs_status'), ['status'], unique=False)

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('user_label', sa.String(length=254), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('at', models.base.UTCDateTime(), nullable=False),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=False),
    sa.Column('target_id', sa.String(length=64), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.Column('bulk_run_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("length(trim(reason)) > 0", name=op.f('ck_audit_log_reason_required')),
    sa.ForeignKeyConstraint(['bulk_run_id'], ['bulk_runs.id'], name=op.f('fk_audit_log_bulk_run_id_bulk_runs')),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_audit_log_mission_id_missions')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_log_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_bulk_run_id'), ['bulk_run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_mission_id'), ['mission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_user_id'), ['user_id'], unique=False)

    op.create_table('bulk_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('result', sa.Text(), nullable=True),
    sa.Column('done_at', models.base.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_bulk_items_mission_id_missions')),
    sa.ForeignKeyConstraint(['run_id'], ['bulk_runs.id'], name=op.f('fk_bulk_items_run_id_bulk_runs')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bulk_items')),
    sa.UniqueConstraint('run_id', 'mission_id', name=op.f('uq_bulk_items_run_id_mission_id'))
    )
    with op.batch_alter_table('bulk_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bulk_items_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_bulk_items_status'), ['status'], unique=False)

    _append_only_up(op.get_bind().dialect.name)


def downgrade() -> None:
    _append_only_down(op.get_bind().dialect.name)
    with op.batch_alter_table('bulk_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_items_status'))
        batch_op.drop_index(batch_op.f('ix_bulk_items_run_id'))
    op.drop_table('bulk_items')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_user_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_mission_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_bulk_run_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))
    op.drop_table('audit_log')
    with op.batch_alter_table('bulk_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bulk_runs_status'))
    op.drop_table('bulk_runs')
