"""Seed the late-payment parameters: B2B statutory rates by half-year, B2B and B2C amounts.

Read by domain/late_payment.py (RatePeriod.from_row, B2BParameters.from_value,
B2CParameters.from_value). Rates are percentages per year; amounts are decimal strings.
A new half-yearly rate later is a new row with its own valid_from, never an edit of these.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

B2B_RATES_KEY = "late_payment.b2b_rates"
B2B_KEY = "late_payment.b2b"
B2C_KEY = "late_payment.b2c"

_RATES_SOURCE = "domain.md §3.1, Belgian B2B statutory rate by half-year [L6][L7][L8]"

# (valid_from, valid_to, annual rate in percent, estimate?, note). Both dates inclusive.
B2B_RATES: list[tuple[dt.date, dt.date, str, bool, str]] = [
    (dt.date(2023, 1, 1), dt.date(2023, 6, 30), "10.50", False, "H1 2023"),
    (dt.date(2023, 7, 1), dt.date(2023, 12, 31), "12.00", False, "H2 2023"),
    (dt.date(2024, 1, 1), dt.date(2024, 6, 30), "12.50", False, "H1 2024"),
    (dt.date(2024, 7, 1), dt.date(2024, 12, 31), "12.50", False, "H2 2024"),
    (dt.date(2025, 1, 1), dt.date(2025, 6, 30), "11.50", False, "H1 2025"),
    (dt.date(2025, 7, 1), dt.date(2025, 12, 31), "10.50", False, "H2 2025"),
    (dt.date(2026, 1, 1), dt.date(2026, 6, 30), "10.50", False,
     "H1 2026 ('unchanged', not yet published in the Moniteur)"),
    (dt.date(2026, 7, 1), dt.date(2026, 12, 31), "10.50", True,
     "H2 2026 ESTIMATE: not found; rule-based (reference rate + 8 points, rounded up to the "
     "next half point). Replace with the published rate"),
    # Not published yet either: carried forward so that interest keeps accruing (as an estimate,
    # said so on every amount) instead of blocking the dunning ladder on New Year's Day.
    (dt.date(2027, 1, 1), dt.date(2027, 6, 30), "10.50", True,
     "H1 2027 ESTIMATE: carried forward from H2 2026. Replace with the published rate"),
    (dt.date(2027, 7, 1), dt.date(2027, 12, 31), "10.50", True,
     "H2 2027 ESTIMATE: carried forward from H2 2026. Replace with the published rate"),
]

# Flat compensation per late B2B invoice (law of 2 Aug 2002, art. 6; 40 EUR since 2013).
B2B_VALID_FROM = dt.date(2023, 1, 1)
B2B = {"fixed_compensation": "40.00"}

# Book XIX CDE: applies to every consumer debt falling due from 1 Dec 2023 (domain.md §3.2).
B2C_VALID_FROM = dt.date(2023, 12, 1)
B2C = {
    "reminder_fee_max": "7.50",
    "waiting_days": 14,
    "letter_start_working_days": 3,
    # cap = base + percent_above % of (balance - above), at most `maximum`; up_to inclusive.
    "bands": [
        {"up_to": "150.00", "base": "20.00", "percent_above": "0", "above": "0.00",
         "maximum": None},
        {"up_to": "500.00", "base": "30.00", "percent_above": "10", "above": "150.00",
         "maximum": None},
        {"up_to": None, "base": "65.00", "percent_above": "5", "above": "500.00",
         "maximum": "2000.00"},
    ],
}

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)


def _rows() -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    for valid_from, valid_to, rate, estimate, note in B2B_RATES:
        value: dict[str, object] = {"annual_rate": rate}
        if estimate:
            value["estimate"] = True
        rows.append({"key": B2B_RATES_KEY, "valid_from": valid_from, "valid_to": valid_to,
                     "value": value, "source": f"{_RATES_SOURCE}: {note}"})
    rows.append({"key": B2B_KEY, "valid_from": B2B_VALID_FROM, "valid_to": None, "value": B2B,
                 "source": "domain.md §3.1, law of 2 Aug 2002: 40 EUR per late invoice [L9][L10]"})
    rows.append({"key": B2C_KEY, "valid_from": B2C_VALID_FROM, "valid_to": None, "value": B2C,
                 "source": "domain.md §3.2, Book XIX CDE (law of 4 May 2023): free first reminder, "
                           "14-day period, reminders <= 7.50 EUR, penalty bands [L1][L2][L3]"})
    return rows


def upgrade() -> None:
    op.bulk_insert(parameters, _rows())


def downgrade() -> None:
    for row in _rows():
        op.execute(
            parameters.delete().where(
                parameters.c.key == row["key"],
                parameters.c.valid_from == row["valid_from"],
            )
        )
