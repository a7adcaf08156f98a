"""Member portal: browser sessions and IBAN changes waiting for their notice

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: str | Sequence[str] | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_expires_at'), ['expires_at'], unique=False)

    op.create_table('iban_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('old_iban', sa.String(length=34), nullable=False),
    sa.Column('new_iban', sa.String(length=34), nullable=False),
    sa.Column('notice_email_id', sa.Integer(), nullable=True),
    sa.Column('notice_sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('applied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('requested_by_user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_iban_changes_member_id_members')),
    sa.ForeignKeyConstraint(['notice_email_id'], ['outbox_emails.id'], name=op.f('fk_iban_changes_notice_email_id_outbox_emails')),
    sa.ForeignKeyConstraint(['requested_by_user_id'], ['users.id'], name=op.f('fk_iban_changes_requested_by_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_iban_changes'))
    )
    with op.batch_alter_table('iban_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_iban_changes_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('iban_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_iban_changes_member_id'))
    op.drop_table('iban_changes')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_expires_at'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_user_id'))
    op.drop_table('web_sessions')
