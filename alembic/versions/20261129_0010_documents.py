"""Documents stored once (bytes, SHA-256, template version), the Peppol outbox, email attachments

Documents are immutable: UPDATE and DELETE are refused by triggers on PostgreSQL and SQLite.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: str | Sequence[str] | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _immutable_up(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION coopflow_documents_immutable() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'documents are immutable: % on % refused', TG_OP, TG_TABLE_NAME
                    USING ERRCODE = 'integrity_constraint_violation',
                          HINT = 'issue a new document (a credit note, a new letter) instead';
            END
            $$
            """
        )
        op.execute(
            "CREATE TRIGGER documents_immutable BEFORE UPDATE OR DELETE ON documents "
            "FOR EACH ROW EXECUTE FUNCTION coopflow_documents_immutable()"
        )
    elif dialect == "sqlite":
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER documents_no_{event.lower()} BEFORE {event} ON documents "
                f"BEGIN SELECT RAISE(ABORT, 'documents are immutable: {event} on documents "
                "refused'); END"
            )


def _immutable_down(dialect: str) -> None:
    if dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS documents_immutable ON documents")
        op.execute("DROP FUNCTION IF EXISTS coopflow_documents_immutable()")
    elif dialect == "sqlite":
        for event in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS documents_no_{event}")


def upgrade() -> None:
    op.create_table('documents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('audience', sa.String(length=8), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('filename', sa.String(length=128), nullable=False),
    sa.Column('media_type', sa.String(length=64), nullable=False),
    sa.Column('template_version', sa.String(length=64), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mission_id', 'key')
    )
    op.create_index(op.f('ix_documents_mission_id'), 'documents', ['mission_id'], unique=False)
    op.create_table('email_attachments',
    sa.Column('email_id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.ForeignKeyConstraint(['email_id'], ['outbox_emails.id'], ),
    sa.PrimaryKeyConstraint('email_id', 'document_id')
    )
    op.create_table('peppol_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('receiver_scheme', sa.String(length=8), nullable=False),
    sa.Column('receiver_id', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('provider', sa.String(length=32), nullable=False),
    sa.Column('provider_message_id', sa.String(length=128), nullable=True),
    sa.Column('error', sa.String(length=500), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['documents.id'], ),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('document_id')
    )
    op.create_index(op.f('ix_peppol_messages_mission_id'), 'peppol_messages', ['mission_id'], unique=False)
    _immutable_up(op.get_bind().dialect.name)


def downgrade() -> None:
    _immutable_down(op.get_bind().dialect.name)
    op.drop_index(op.f('ix_peppol_messages_mission_id'), table_name='peppol_messages')
    op.drop_table('peppol_messages')
    op.drop_table('email_attachments')
    op.drop_index(op.f('ix_documents_mission_id'), table_name='documents')
    op.drop_table('documents')
