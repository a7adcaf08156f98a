"""Seed the dated parameter table: lifecycle policy, simplified payroll, VAT rates.

A new rate or policy later is a new row with its own valid_from, never an edit of these.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VALID_FROM = dt.date(2026, 1, 1)

LIFECYCLE = {
    # Contract: member signature and client confirmation within 14 days, else cancelled.
    "confirmation_days": 14,
    "invoice_due_days": 30,
    # Salary "within seven working days after the performance" (domain.md §1.2, [S4]).
    "advance_working_days": 7,
    "report_reminder_days": 3,
    "report_reminder_repeat_days": 7,
    "report_reminders_max": 3,
    # Days after the due date (assumption until the "Money" issue applies Book XIX / B2B law).
    "dunning_ladder": [
        {"step": "reminder_1", "days_after_due": 7},
        {"step": "reminder_2", "days_after_due": 21},
        {"step": "formal_notice", "days_after_due": 35},
        {"step": "write_off", "days_after_due": 65},
    ],
    # A failing external step is retried this often before ops are asked to look at it.
    "step_max_attempts": 5,
    "step_retry_initial_seconds": 1.0,
    "step_retry_max_seconds": 30.0,
    "step_timeout_seconds": 60.0,
    "update_step_attempts": 3,
    "update_wait_seconds": 30.0,
}

PAYROLL = {
    "fee_rate": "0.065",  # 6.5 % of the amount invoiced excl. VAT [S1]
    "fund_share_of_fee": "0.30",  # assumption: share of the fee pooled in the guarantee fund
    "employer_contribution_rate": "0.25",  # facial base rate, category 1 [L35][L36]
    "employee_contribution_rate": "0.1307",  # [L34][L36]
    "withholding_tax_rate": "0.20",  # simplified flat rate, labelled as such everywhere
}

VAT_RATES = {"rates": ["0", "6", "12", "21"]}  # [L43]; 0 for exempt / reverse charge

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
            {"key": "policy.lifecycle", "valid_from": VALID_FROM, "valid_to": None,
             "value": LIFECYCLE, "source": "domain.md §1.2, §1.6; durations are policy"},
            {"key": "payroll.simplified", "valid_from": VALID_FROM, "valid_to": None,
             "value": PAYROLL, "source": "domain.md §1.3-1.4 (simplified estimate)"},
            {"key": "vat.rates", "valid_from": VALID_FROM, "valid_to": None,
             "value": VAT_RATES, "source": "domain.md §2.2"},
        ],
    )


def downgrade() -> None:
    op.execute(
        parameters.delete().where(
            parameters.c.key.in_(["policy.lifecycle", "payroll.simplified", "vat.rates"]),
            parameters.c.valid_from == VALID_FROM,
        )
    )
