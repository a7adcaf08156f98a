"""The late-payment rate tables: ops enter each new rate; a staff task asks for it in time.

The law of 2 Aug 2002 rate is published per half-year, the legal rate (law of 5 May 1865) per
year; both live in the dated `parameters` table, one row per period (migrations 0004, 0021). A
table that runs out is never extended by a guess: a dunning step on a day without a rate waits,
flagged (services.parameters.rate_missing), and `request_missing_rates` (run by the worker's
periodic sweep) opens a staff task `staff_tasks.rate_request` weeks before each period starts
while its rate is missing. Entering the rate (`enter_rate`, ops, audited) closes the task; ops
then retry the flagged steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.errors import DomainError
from core.settings import Settings
from domain.calendar import parse_date
from domain.errors import FieldError
from domain.identifiers import clean_text
from domain.late_payment import (
    B2B_LAW,
    LEGAL_RATE_LAW,
    parse_annual_rate,
    rate_period_end,
    rate_period_start,
)
from models import Parameter, StaffTask
from services import audit, parameters, staff_tasks
from services.access import Viewer
from services.clock import business_today, current_clock
from services.parameters import N_

RATE_REQUEST = "staff_tasks.rate_request"  # {"weeks_before": 6}, migration 0025
TASK_KIND = "rate_request"
CONFIDENCES = ("H", "M-H", "M", "L")  # as the seeded rows say it (0018, 0021)
MAX_SOURCE = 2000
RATES_PAGE = "/console/ops/rates"


@dataclass(frozen=True)
class RateTable:
    """One dated rate table ops keep up to date."""

    name: str  # the API's name of the table
    key: str  # its dated parameter
    law: str
    minimum: Decimal  # below it the rate cannot be the law's (a fraction typed for a percentage)
    task_title: str


RATE_TABLES = {
    t.name: t
    for t in (
        # ECB main refinancing rate + 8 points (art. 5): never below 8.
        RateTable(
            "b2b_interest",
            parameters.B2B_RATES,
            B2B_LAW,
            Decimal("8.00"),
            N_(
                "Enter the B2B legal interest rate (law of 2 August 2002) for the half-year "
                "from %(valid_from)s"
            ),
        ),
        # 1-year Euribor rounded up to 1/4 % + 2 points: 1.75 % at its lowest (2019-2022).
        RateTable(
            "legal_interest",
            parameters.LEGAL_RATES,
            LEGAL_RATE_LAW,
            Decimal("1.00"),
            N_(
                "Enter the legal interest rate (law of 5 May 1865) for the year from %(valid_from)s"
            ),
        ),
    )
}


def task_key(table: RateTable, valid_from: date) -> str:
    return f"rate:{table.name}:{valid_from.isoformat()}"


def parse_table(value: object) -> RateTable:
    if not isinstance(value, str) or value not in RATE_TABLES:
        raise FieldError("table", f"must be one of {', '.join(RATE_TABLES)}")
    return RATE_TABLES[value]


def next_period(table: RateTable, start: date) -> date:
    """The first day of the period after the one starting on `start`."""
    return rate_period_end(table.law, start) + timedelta(days=1)


async def next_missing_period(session: AsyncSession, table: RateTable) -> date | None:
    """The first period after the table's last row (None: the table is empty)."""
    rows = await parameters.parameter_rows(session, table.key)
    ends = [r.valid_to for r in rows if r.valid_to is not None]
    return max(ends) + timedelta(days=1) if ends else None


def _covered(rows: list[Parameter], day: date) -> bool:
    return any(r.valid_from <= day and (r.valid_to is None or day <= r.valid_to) for r in rows)


def rate_out(table: RateTable, row: Parameter) -> dict[str, Any]:
    value = dict(row.value)
    return {
        "table": table.name,
        "key": row.key,
        "valid_from": row.valid_from.isoformat(),
        "valid_to": None if row.valid_to is None else row.valid_to.isoformat(),
        "annual_rate": str(value.get("annual_rate")),
        "estimate": bool(value.get("estimate", False)),
        "source": value.get("source") or row.source,
        "confidence": value.get("confidence"),
    }


async def rate_tables_out(session: AsyncSession) -> list[dict[str, Any]]:
    """Every rate table with its rows and the first period without a rate."""
    out = []
    for table in RATE_TABLES.values():
        rows = await parameters.parameter_rows(session, table.key)
        missing = await next_missing_period(session, table)
        out.append(
            {
                "table": table.name,
                "key": table.key,
                "law": table.law,
                "minimum": f"{table.minimum:.2f}",
                "next_missing": None if missing is None else missing.isoformat(),
                "rows": [rate_out(table, r) for r in rows],
            }
        )
    return out


async def enter_rate(
    session: AsyncSession,
    viewer: Viewer,
    *,
    table: object,
    valid_from: object,
    annual_rate: object,
    source: object,
    confidence: object,
    estimate: object = False,
    reason: object = None,
) -> tuple[RateTable, Parameter]:
    """Ops: add the rate of the next period without one (a dated row with its source),
    audited; the staff task asking for it is done. Flagged steps waiting for it run again when
    ops retry them."""
    if viewer.role != "ops":
        raise DomainError("ops only", 403)
    rate_table = parse_table(table)
    start = parse_date(valid_from, "valid_from")
    if start != rate_period_start(rate_table.law, start):
        what = "a half-year (1 January or 1 July)" if rate_table.law == B2B_LAW else "a year"
        raise FieldError("valid_from", f"must be the first day of {what}")
    rate = parse_annual_rate(annual_rate, field="annual_rate", minimum=rate_table.minimum)
    cited = clean_text(source, field="source", max_length=MAX_SOURCE)
    if confidence not in CONFIDENCES:
        raise FieldError("confidence", f"must be one of {', '.join(CONFIDENCES)}")
    if not isinstance(estimate, bool):
        raise FieldError("estimate", "must be true or false")
    why = audit.require_reason(reason)
    expected = await next_missing_period(session, rate_table)
    if expected is not None and start < expected:
        raise DomainError(
            f"the {rate_table.name} table already has a rate on {start.isoformat()}: a rate is "
            "entered for the next period without one",
            409,
            "valid_from",
        )
    if expected is not None and start > expected:
        raise FieldError(
            "valid_from",
            f"the next period without a rate starts on {expected.isoformat()}: enter that one "
            "first (no gap in the table)",
        )
    value: dict[str, Any] = {
        "annual_rate": f"{rate:.2f}",
        "source": cited,
        "confidence": confidence,
    }
    if estimate:
        value["estimate"] = True
    row = Parameter(
        key=rate_table.key,
        valid_from=start,
        valid_to=rate_period_end(rate_table.law, start),
        value=value,
        source=cited,
    )
    try:
        async with session.begin_nested():  # two ops entering the same period at once
            session.add(row)
            await session.flush()
    except IntegrityError:
        raise DomainError(
            f"the {rate_table.name} rate from {start.isoformat()} was just entered by someone else",
            409,
            "valid_from",
        ) from None
    await audit.record(
        session,
        viewer,
        action="enter_rate",
        target_type="parameter",
        target_id=f"{rate_table.key}:{start.isoformat()}",
        reason=why,
        before=None,
        after=rate_out(rate_table, row),
    )
    await staff_tasks.close_task(session, task_key(rate_table, start), viewer.user_id)
    return rate_table, row


async def request_missing_rates(session: AsyncSession, today: date) -> list[StaffTask]:
    """Open a staff task for each rate period that starts within the policy's weeks (or has
    started) without a rate; returns the tasks made now (none made twice: unique key)."""
    weeks = int((await parameters.parameter(session, RATE_REQUEST, today))["weeks_before"])
    made: list[StaffTask] = []
    for table in RATE_TABLES.values():
        rows = await parameters.parameter_rows(session, table.key)
        current = rate_period_start(table.law, today)
        for start in (current, next_period(table, current)):
            if _covered(rows, start) or today < start - timedelta(weeks=weeks):
                continue
            task, new = await staff_tasks.ensure_task(
                session,
                kind=TASK_KIND,
                key=task_key(table, start),
                title=table.task_title,
                params={"table": table.name, "valid_from": start.isoformat()},
                due_on=start,
                link=RATES_PAGE,
            )
            if new:
                made.append(task)
    return made


async def request_rates(db: Database, settings: Settings) -> list[StaffTask]:
    """The periodic job (worker sweep): the rate requests due on the business clock's today."""
    async with db.session() as session:
        clock = await current_clock(session, settings.day_seconds, settings.timezone)
        return await request_missing_rates(session, business_today(clock))
