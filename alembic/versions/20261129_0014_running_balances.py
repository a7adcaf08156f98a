"""Running balances kept by ledger.post, and the index the ops console's active missions need

Found by bench/large_book.py (100,000 missions, ~0.9 M ledger lines): every balance was a sum
over the ledger's lines at read time (the fund's exposure per mission joined every
`fund_advances` line to its transaction, the balances page summed 0.9 M lines).

- `ledger_balances`: one row per account, what its lines sum to.
- `fund_advance_balances`: the `fund_advances` lines summed per (mission, client), with a partial
  index on the rows still outstanding; `fund_client_exposures` and `fund_member_exposures`: the
  same lines summed per client and per member of the mission, indexed by amount (top N).
- `missions (updated_at)`: the ops console reads the most recently active missions first.

`ledger.post` adds each new posting to them in the posting's own transaction; this migration
fills them from the lines already there (a `fund_advances` line without its mission or client
cannot be attributed: the backfill then fails on NOT NULL rather than give a wrong exposure).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: str | Sequence[str] | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same backfill runs after bench/book.py's COPY (it imports this module).
BACKFILL = (
    """
    INSERT INTO ledger_balances (account, balance)
    SELECT account, sum(amount) FROM ledger_entries GROUP BY account
    """,
    """
    INSERT INTO fund_advance_balances (mission_id, client_id, amount)
    SELECT t.mission_id, e.client_id, sum(e.amount)
    FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
    WHERE e.account = 'fund_advances'
    GROUP BY t.mission_id, e.client_id
    """,
    """
    INSERT INTO fund_client_exposures (client_id, amount)
    SELECT client_id, sum(amount) FROM fund_advance_balances GROUP BY client_id
    """,
    """
    INSERT INTO fund_member_exposures (member_id, amount)
    SELECT m.member_id, sum(f.amount)
    FROM fund_advance_balances f JOIN missions m ON m.id = f.mission_id
    GROUP BY m.member_id
    """,
)


def upgrade() -> None:
    op.create_table('ledger_balances',
    sa.Column('account', sa.String(length=48), nullable=False),
    sa.Column('balance', models.base.Money(), nullable=False),
    sa.PrimaryKeyConstraint('account', name=op.f('pk_ledger_balances'))
    )
    op.create_table('fund_advance_balances',
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('amount', models.base.Money(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fund_advance_balances_client_id_clients')),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_fund_advance_balances_mission_id_missions')),
    sa.PrimaryKeyConstraint('mission_id', 'client_id', name=op.f('pk_fund_advance_balances'))
    )
    op.create_index(op.f('ix_fund_advance_balances_client_id'), 'fund_advance_balances', ['client_id'], unique=False)
    op.create_index('ix_fund_advance_balances_outstanding', 'fund_advance_balances', ['mission_id'], unique=False, postgresql_include=['amount'], postgresql_where=sa.text('amount <> 0'), sqlite_where=sa.text('amount <> 0'))
    op.create_table('fund_client_exposures',
    sa.Column('client_id', sa.Integer(), nullable=False),
    sa.Column('amount', models.base.Money(), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['clients.id'], name=op.f('fk_fund_client_exposures_client_id_clients')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_fund_client_exposures'))
    )
    op.create_index('ix_fund_client_exposures_amount', 'fund_client_exposures', ['amount', 'client_id'], unique=False)
    op.create_table('fund_member_exposures',
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('amount', models.base.Money(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_fund_member_exposures_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_fund_member_exposures'))
    )
    op.create_index('ix_fund_member_exposures_amount', 'fund_member_exposures', ['amount', 'member_id'], unique=False)
    op.create_index(op.f('ix_missions_updated_at'), 'missions', ['updated_at'], unique=False)
    for statement in BACKFILL:
        op.execute(statement)


def downgrade() -> None:
    op.drop_index(op.f('ix_missions_updated_at'), table_name='missions')
    op.drop_index('ix_fund_member_exposures_amount', table_name='fund_member_exposures')
    op.drop_table('fund_member_exposures')
    op.drop_index('ix_fund_client_exposures_amount', table_name='fund_client_exposures')
    op.drop_table('fund_client_exposures')
    op.drop_index('ix_fund_advance_balances_outstanding', table_name='fund_advance_balances')
    op.drop_index(op.f('ix_fund_advance_balances_client_id'), table_name='fund_advance_balances')
    op.drop_table('fund_advance_balances')
    op.drop_table('ledger_balances')
