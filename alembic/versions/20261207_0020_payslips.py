"""Payslips: written contract amendments, and the withholding rates an artist may choose

The gross of a signed contract changes only by a written amendment (a new document, numbered per
mission), never by a silent recalculation: `contract_amendments` keeps each one.

Members on artistic contracts choose their withholding rate in their profile among the values of
the dated parameter `payroll.artistic_withholding_rates` (percent): the flat 11.11 % of Annexe III
point 80 AR/CIR 92, or the higher rates of market practice (Amplo's FAQ: 18 % recommended, 22.8 %,
30 %), payroll-2026.md §1.3.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07

"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0020'
down_revision: str | Sequence[str] | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALID_FROM = dt.date(2026, 1, 1)
RATES_KEY = 'payroll.artistic_withholding_rates'
RATES_VALUE = {
    'value': ['11.11', '18', '22.8', '30'],
    'default': '11.11',
    'description': (
        'withholding tax rates (percent) a member on an artistic contract may choose: the flat '
        'legal rate, or a higher one to avoid a tax bill later'
    ),
    'source': (
        '11.11 %: Annexe III AR/CIR 92 point 80, artists and musicians (Securex lex4you, '
        '"Artistes et musiciens (point 80)"); 18 % (recommended), 22.8 %, 30 %: market practice, '
        'Amplo FAQ https://dev.amplo.be/en/faq/withholding-tax (payroll-2026.md §1.3)'
    ),
    'confidence': 'M-H for 11.11 %, M for the higher rates (a payroll office practice, not a law)',
}
RATES_SOURCE = (
    'Annexe III AR/CIR 92 point 80 (11.11 %); dev.amplo.be/en/faq/withholding-tax (18, 22.8, 30 %)'
)

parameters = sa.table(
    'parameters',
    sa.column('key', sa.String),
    sa.column('valid_from', sa.Date),
    sa.column('valid_to', sa.Date),
    sa.column('value', sa.JSON),
    sa.column('source', sa.Text),
)


def upgrade() -> None:
    op.create_table('contract_amendments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mission_id', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('old_gross', sa.BigInteger(), nullable=False),
    sa.Column('new_gross', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mission_id'], ['missions.id'], name=op.f('fk_contract_amendments_mission_id_missions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contract_amendments')),
    sa.UniqueConstraint('mission_id', 'sequence', name=op.f('uq_contract_amendments_mission_id_sequence'))
    )
    with op.batch_alter_table('contract_amendments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contract_amendments_mission_id'), ['mission_id'], unique=False)
    op.bulk_insert(
        parameters,
        [
            {
                'key': RATES_KEY,
                'valid_from': VALID_FROM,
                'valid_to': None,
                'value': RATES_VALUE,
                'source': RATES_SOURCE,
            }
        ],
    )


def downgrade() -> None:
    op.execute(
        parameters.delete().where(
            parameters.c.key == RATES_KEY, parameters.c.valid_from == VALID_FROM
        )
    )
    with op.batch_alter_table('contract_amendments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contract_amendments_mission_id'))
    op.drop_table('contract_amendments')
