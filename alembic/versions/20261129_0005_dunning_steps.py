"""Dunning steps with their legal charges; an invoice's open balance split by kind.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dunning_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=32), nullable=False),
        sa.Column("regime", sa.String(length=8), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("fixed_compensation", sa.BigInteger(), nullable=False),
        sa.Column("interest", sa.BigInteger(), nullable=False),
        sa.Column("penalty", sa.BigInteger(), nullable=False),
        sa.Column("reminder_fee", sa.BigInteger(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_dunning_steps_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name=op.f("fk_dunning_steps_mission_id_missions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dunning_steps")),
        sa.UniqueConstraint("invoice_id", "level", name=op.f("uq_dunning_steps_invoice_id_level")),
    )
    with op.batch_alter_table("dunning_steps", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dunning_steps_invoice_id"), ["invoice_id"])
        batch_op.create_index(batch_op.f("ix_dunning_steps_mission_id"), ["mission_id"])
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in ("principal_open", "interest_open", "costs_open"):
            batch_op.add_column(
                sa.Column(column, sa.BigInteger(), nullable=False, server_default="0")
            )
    # Invoices issued before this revision owe principal only.
    op.execute("UPDATE invoices SET principal_open = balance")
    # The default only served the existing rows: new invoices always state their split.
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in ("principal_open", "interest_open", "costs_open"):
            batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        for column in ("costs_open", "interest_open", "principal_open"):
            batch_op.drop_column(column)
    with op.batch_alter_table("dunning_steps", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dunning_steps_mission_id"))
        batch_op.drop_index(batch_op.f("ix_dunning_steps_invoice_id"))
    op.drop_table("dunning_steps")
