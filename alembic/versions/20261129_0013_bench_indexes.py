"""Indexes found by bench/large_book.py (100,000 missions, ~0.9 M ledger lines)

- ledger_entries (account, transaction_id) INCLUDE (amount, client_id): the balance of one
  account (`SELECT sum(amount) ... WHERE account = ?`, asked on every fund check and fund page),
  the balance of every account, and the fund's advances per mission / client / member all read
  ledger lines by account; with the amount and client in the index they are index-only scans
  instead of a bitmap heap scan or a parallel seq scan of the whole ledger (up to 280 ms each).
  SQLite has no INCLUDE: there the index is (account, transaction_id).
- ledger_transactions (kind): the dashboard's recoveries and write-offs filter transactions by
  kind; without it every request seq-scans all transactions.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        'ix_ledger_entries_account_transaction_id',
        'ledger_entries',
        ['account', 'transaction_id'],
        postgresql_include=['amount', 'client_id'],
    )
    op.create_index('ix_ledger_transactions_kind', 'ledger_transactions', ['kind'])


def downgrade() -> None:
    op.drop_index('ix_ledger_transactions_kind', table_name='ledger_transactions')
    op.drop_index('ix_ledger_entries_account_transaction_id', table_name='ledger_entries')
