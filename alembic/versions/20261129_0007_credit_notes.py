"""Credit notes in their own table and series; an invoice's VAT category and legal mention.

Credit notes get their own table rather than rows of kind "credit_note" in `invoices`: an invoice
row carries what only an invoice has (due date, structured communication, open balance, dunning),
and UNIQUE(mission_id, kind) keeps meaning "one invoice per mission" on PostgreSQL and SQLite
alike, while a mission may have several credit notes, unique per (series, year, sequence).

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("vat_category", sa.String(length=2), nullable=False, server_default="S")
        )
        batch_op.add_column(sa.Column("vat_mention", sa.Text(), nullable=True))
    # Invoices issued before this revision carried the mission's Belgian rate.
    op.execute("UPDATE invoices SET vat_category = 'E' WHERE vat_rate = 0")
    # The default only served the existing rows: new invoices always state their category.
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.alter_column("vat_category", server_default=None)
    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("series", sa.String(length=8), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("issue_date", sa.Date(), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("vat_rate", sa.BigInteger(), nullable=False),
        sa.Column("vat_category", sa.String(length=2), nullable=False),
        sa.Column("amount_excl_vat", sa.BigInteger(), nullable=False),
        sa.Column("vat_amount", sa.BigInteger(), nullable=False),
        sa.Column("amount_incl_vat", sa.BigInteger(), nullable=False),
        sa.Column("fee_income", sa.BigInteger(), nullable=False),
        sa.Column("fund_contribution", sa.BigInteger(), nullable=False),
        sa.Column("member_share", sa.BigInteger(), nullable=False),
        sa.Column("fund_share", sa.BigInteger(), nullable=False),
        sa.Column("salary_base_after", sa.BigInteger(), nullable=False),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"], ["clients.id"], name=op.f("fk_credit_notes_client_id_clients")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["users.id"],
            name=op.f("fk_credit_notes_created_by_user_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")
        ),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name=op.f("fk_credit_notes_mission_id_missions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
        sa.UniqueConstraint(
            "series", "year", "sequence", name=op.f("uq_credit_notes_series_year_sequence")
        ),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_notes_client_id"), ["client_id"])
        batch_op.create_index(batch_op.f("ix_credit_notes_invoice_id"), ["invoice_id"])
        batch_op.create_index(batch_op.f("ix_credit_notes_mission_id"), ["mission_id"])


def downgrade() -> None:
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_mission_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_invoice_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_client_id"))
    op.drop_table("credit_notes")
    # The credit-note series of the counter table goes with its table.
    op.execute("DELETE FROM invoice_counters WHERE series = 'C'")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("vat_mention")
        batch_op.drop_column("vat_category")
