"""Payroll estimate parameters: one dated row per rate, and a simplified withholding scale.

Each rate is its own row so that a new rate is one new row with its own valid_from, and the
estimate can name exactly which dated rows it used. The flat `payroll.simplified` row of 0002 is
left as it was (no longer read by the code).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALID_FROM = dt.date(2026, 1, 1)

SCALE_DESCRIPTION = (
    "simplified scale, not the official précompte tables: marginal rates applied to one "
    "contract's gross minus employee contributions, modelled loosely on the Belgian income-tax "
    "brackets for a single person without dependants; the payroll applies the official tables"
)

ROWS: list[tuple[str, dict[str, object], str]] = [
    (
        "payroll.fee_rate",
        {"value": "0.065", "description": "coop fee: 6.5 % of the price excl. VAT"},
        "domain.md §1.3 [S1]",
    ),
    (
        "payroll.fund_share_of_fee",
        {"value": "0.30", "description": "share of the fee pooled in the guarantee fund"},
        "assumption (same value as payroll.simplified in 0002)",
    ),
    (
        "payroll.employer_contribution_rate",
        {"value": "0.25", "description": "employer ONSS, facial base rate (category 1)"},
        "domain.md §1.4 [L35][L36]",
    ),
    (
        "payroll.employee_contribution_rate",
        {"value": "0.1307", "description": "employee ONSS, no ceiling"},
        "domain.md §1.4 [L34][L36]",
    ),
    (
        "payroll.artistic_contribution_base",
        {
            "value": "1.08",
            "description": "artistic contracts: employer and employee contributions "
            "on 108 % of gross (holiday pay is paid by ONVA)",
        },
        "domain.md §1.4 [L34][S3]",
    ),
    (
        "payroll.withholding_scale",
        {
            "value": [
                {"up_to": "500.00", "rate": "0.10"},
                {"up_to": "1500.00", "rate": "0.25"},
                {"up_to": "3000.00", "rate": "0.40"},
                {"up_to": "5000.00", "rate": "0.45"},
                {"up_to": None, "rate": "0.50"},
            ],
            "description": SCALE_DESCRIPTION,
        },
        "simplified scale (assumption), domain.md §1.4 [L37]",
    ),
]

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def upgrade() -> None:
    op.bulk_insert(
        parameters,
        [
            {"key": key, "valid_from": VALID_FROM, "valid_to": None, "value": value,
             "source": source}
            for key, value, source in ROWS
        ],
    )


def downgrade() -> None:
    op.execute(
        parameters.delete().where(
            parameters.c.key.in_([key for key, _, _ in ROWS]),
            parameters.c.valid_from == VALID_FROM,
        )
    )
