"""Bank statements (camt.053) and their entries, each booked once

issue 15 §2: statements are imported from camt.053 files (page, CLI, API).

* `bank_statements`: one row per imported statement, UNIQUE(account, statement_id): a re-import
  of the same statement answers the earlier result.
* `bank_entries`: one row per statement line, UNIQUE(account, reference): the same file twice,
  or two overlapping statements, book each line once (INV-7). A credit points at its `payments`
  row (which keeps UNIQUE(bank_account, bank_transaction_id)); a debit is recorded, not applied.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-08
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0027"
down_revision: str | Sequence[str] | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bank_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=34), nullable=False),
        sa.Column("statement_id", sa.String(length=35), nullable=False),
        sa.Column("message_id", sa.String(length=35), nullable=False),
        sa.Column("version", sa.String(length=40), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=True),
        sa.Column("from_date", sa.Date(), nullable=True),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("opening_balance", sa.BigInteger(), nullable=True),
        sa.Column("closing_balance", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("ignored", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Integer(), nullable=False),
        sa.Column("suspense", sa.Integer(), nullable=False),
        sa.Column("debits", sa.Integer(), nullable=False),
        sa.Column("imported_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["imported_by_user_id"],
            ["users.id"],
            name=op.f("fk_bank_statements_imported_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_statements")),
        sa.UniqueConstraint(
            "account", "statement_id", name=op.f("uq_bank_statements_account_statement_id")
        ),
    )
    op.create_index(op.f("ix_bank_statements_sha256"), "bank_statements", ["sha256"])
    op.create_table(
        "bank_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account", sa.String(length=34), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("statement_id", sa.Integer(), nullable=False),
        sa.Column("direction", sa.String(length=4), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("booked_on", sa.Date(), nullable=False),
        sa.Column("counterparty", sa.String(length=140), nullable=True),
        sa.Column("counterparty_iban", sa.String(length=34), nullable=True),
        sa.Column("communication", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("suggestions", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["statement_id"],
            ["bank_statements.id"],
            name=op.f("fk_bank_entries_statement_id_bank_statements"),
        ),
        sa.ForeignKeyConstraint(
            ["payment_id"], ["payments.id"], name=op.f("fk_bank_entries_payment_id_payments")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bank_entries")),
        sa.UniqueConstraint("account", "reference", name=op.f("uq_bank_entries_account_reference")),
    )
    op.create_index(op.f("ix_bank_entries_statement_id"), "bank_entries", ["statement_id"])
    op.create_index(op.f("ix_bank_entries_payment_id"), "bank_entries", ["payment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_bank_entries_payment_id"), table_name="bank_entries")
    op.drop_index(op.f("ix_bank_entries_statement_id"), table_name="bank_entries")
    op.drop_table("bank_entries")
    op.drop_index(op.f("ix_bank_statements_sha256"), table_name="bank_statements")
    op.drop_table("bank_statements")
