"""Pay dates by the labour-law calendar, the guarantee decided before signature, wages always paid

A legal review (domain.md, "Corrections", December 2026) found two faults:

- "7 working days" counted Monday-Friday. In wage law a working day is every day but Sundays and
  public holidays (law of 26/12/2022): the salary must be credited at the latest on the 7th such
  day after the work (`missions.pay_due_date`, new), and the transfer executes on the last TARGET2
  day on or before it (`missions.pay_date`, unchanged meaning: the day the workflow pays).
  Existing rows get their legal date computed here (Belgian public holidays, Saturdays count,
  the lifecycle policy's `advance_working_days` in force on their creation day). Their
  `pay_date` is left alone: running workflows carry it in their input.
- the fund's rules could withhold an earned salary. They now decide before signature whether
  the fund guarantees the mission (`guarantee_status`, `guarantee_reasons`, cleared by an
  advisor's or ops' approval, or by a client deposit: `guarantee_deposits`); the salary is
  always paid, and when an advance takes the fund below its floor the cooperative's treasury
  covers the shortfall and a `fund_alerts` row tells ops. Missions already there are
  "guaranteed" (the gate did not exist when they were made; signing re-checks it anyway).

`fund.rules` gets a new dated row (2026-12-07) with the gate's parameters:
`near_floor_margin` (a mission needs approval when it would leave the fund less than this above
its floor) and `deposit_share` (the client deposit that clears the gate, as a share of the
mission's expected salary cost). Floor and cap are unchanged; `retry_days` is gone (nothing is
withheld any more).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import holidays
import sqlalchemy as sa

from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FUND_RULES = "fund.rules"
VALID_FROM = dt.date(2026, 12, 7)
RULES = {
    "floor": "10000.00",
    "client_exposure_cap": "25000.00",
    "near_floor_margin": "5000.00",
    "deposit_share": "1.00",
    "description": "floor: the available balance below which the fund asks the treasury to "
    "cover an advance (and raises an alert); client_exposure_cap: most the fund may have "
    "advanced for one client's unpaid invoices before a new mission for that client needs "
    "approval; near_floor_margin: a new mission whose expected salary cost would leave the fund "
    "less than this above its floor needs approval (the gate counts only advances already made, "
    "not salaries of missions signed and not yet paid: the margin is room for those, about five "
    "missions of 1,000 EUR in the pipeline); deposit_share: the client deposit that clears the "
    "gate, as a share of the mission's expected salary cost (1.00: all of it, so the fund risks "
    "nothing on that mission)",
    "source": "ASSUMPTION: domain.md §1.6 and its December 2026 corrections publish no figure; "
    "floor and cap as in migration 0006, margin and deposit share are starting values for the "
    "board to set (a new dated row replaces them)",
    "confidence": "L",
}
SOURCE = (
    "ASSUMPTION (board parameters, no published figure): domain.md 'Corrections' (December "
    "2026): the fund's rules gate new contracts before signature, never earned wages"
)
PAY_DATE_MAX_N = 31

parameters = sa.table(
    "parameters",
    sa.column("key", sa.String),
    sa.column("valid_from", sa.Date),
    sa.column("valid_to", sa.Date),
    sa.column("value", sa.JSON),
    sa.column("source", sa.Text),
)
missions = sa.table(
    "missions",
    sa.column("id", sa.Integer),
    sa.column("end_date", sa.Date),
    sa.column("created_on", sa.Date),
    sa.column("pay_due_date", sa.Date),
)


_HOLIDAYS: dict[int, frozenset[dt.date]] = {}


def _legal_pay_date(end: dt.date, n: int) -> dt.date:
    """domain.calendar.legal_pay_date as of this revision (kept here: a migration must not
    change when the code does): the n-th day after `end` that is neither a Sunday nor a Belgian
    public holiday."""
    current, remaining = end, n
    while remaining:
        current += dt.timedelta(days=1)
        year = _HOLIDAYS.setdefault(
            current.year, frozenset(holidays.country_holidays("BE", years=current.year))
        )
        if current.weekday() != 6 and current not in year:
            remaining -= 1
    return current


def _advance_days(bind: sa.engine.Connection) -> list[tuple[dt.date, int]]:
    """The lifecycle policy's rows (valid_from, advance_working_days), newest first."""
    rows = bind.execute(
        sa.select(parameters.c.valid_from, parameters.c.value)
        .where(parameters.c.key == "policy.lifecycle")
        .order_by(parameters.c.valid_from.desc())
    ).all()
    out = []
    for valid_from, value in rows:
        n = int(dict(value).get("advance_working_days", 7))
        out.append((valid_from, n if 1 <= n <= PAY_DATE_MAX_N else 7))
    return out


def upgrade() -> None:
    with op.batch_alter_table("missions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pay_due_date", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "guarantee_status",
                sa.String(length=16),
                nullable=False,
                server_default="guaranteed",
            )
        )
        batch_op.add_column(sa.Column("guarantee_reasons", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("guarantee_cleared_by", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column("guarantee_cleared_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("guarantee_note", sa.Text(), nullable=True))
    op.create_table(
        "guarantee_deposits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("required", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name=op.f("fk_guarantee_deposits_mission_id_missions")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_guarantee_deposits_recorded_by_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_guarantee_deposits")),
        sa.UniqueConstraint("reference", name=op.f("uq_guarantee_deposits_reference")),
    )
    op.create_index(
        op.f("ix_guarantee_deposits_mission_id"), "guarantee_deposits", ["mission_id"]
    )
    op.create_table(
        "fund_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("mission_id", sa.Integer(), nullable=False),
        sa.Column("business_date", sa.Date(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("advance", sa.BigInteger(), nullable=False),
        sa.Column("available_before", sa.BigInteger(), nullable=False),
        sa.Column("floor", sa.BigInteger(), nullable=False),
        sa.Column("covered_by_treasury", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["mission_id"], ["missions.id"], name=op.f("fk_fund_alerts_mission_id_missions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fund_alerts")),
        sa.UniqueConstraint("kind", "mission_id", name=op.f("uq_fund_alerts_kind_mission_id")),
    )
    op.create_index(op.f("ix_fund_alerts_mission_id"), "fund_alerts", ["mission_id"])
    op.bulk_insert(
        parameters,
        [
            {
                "key": FUND_RULES,
                "valid_from": VALID_FROM,
                "valid_to": None,
                "value": RULES,
                "source": SOURCE,
            }
        ],
    )
    bind = op.get_bind()
    policies = _advance_days(bind)
    rows = bind.execute(sa.select(missions.c.id, missions.c.end_date, missions.c.created_on)).all()
    for mission_id, end_date, created_on in rows:
        n = next((days for since, days in policies if since <= created_on), 7)
        bind.execute(
            missions.update()
            .where(missions.c.id == mission_id)
            .values(pay_due_date=_legal_pay_date(end_date, n))
        )


def downgrade() -> None:
    op.execute(
        parameters.delete().where(
            parameters.c.key == FUND_RULES, parameters.c.valid_from == VALID_FROM
        )
    )
    op.drop_index(op.f("ix_fund_alerts_mission_id"), table_name="fund_alerts")
    op.drop_table("fund_alerts")
    op.drop_index(op.f("ix_guarantee_deposits_mission_id"), table_name="guarantee_deposits")
    op.drop_table("guarantee_deposits")
    with op.batch_alter_table("missions", schema=None) as batch_op:
        for column in (
            "guarantee_note",
            "guarantee_cleared_at",
            "guarantee_cleared_by",
            "guarantee_reasons",
            "guarantee_status",
            "pay_due_date",
        ):
            batch_op.drop_column(column)
