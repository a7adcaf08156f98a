"""Contract type on every mission, and the artist's chosen withholding rate

A mission is an ordinary (white-collar) or an artistic (art. 1bis) employment: the form asks, the
payroll and every document follow it. Missions created before this revision were all computed as
ordinary, so that is what they keep.

Members on artistic contracts may ask for more than the flat 11.11 % withholding (18, 22.8 or
30 %: Amplo's practice, payroll-2026.md §1.3); 11.11 % until they choose.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07

"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0017'
down_revision: str | Sequence[str] | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('missions', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('contract_type', sa.String(length=16), nullable=False, server_default='ordinary')
        )
    with op.batch_alter_table('members', schema=None) as batch_op:
        # Money: integer cents of a percent (1111 = 11.11 %)
        batch_op.add_column(
            sa.Column('artistic_withholding_rate', sa.BigInteger(), nullable=False, server_default='1111')
        )


def downgrade() -> None:
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('artistic_withholding_rate')
    with op.batch_alter_table('missions', schema=None) as batch_op:
        batch_op.drop_column('contract_type')
