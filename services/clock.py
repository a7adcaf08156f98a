"""The business clock shared by the API and the worker, anchored once per database."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.mission import ClockSpec
from models import ClockAnchor, utcnow


async def current_clock(session: AsyncSession, day_seconds: float, timezone: str) -> ClockSpec:
    """The clock in force; anchored on first use, re-anchored when the day length changes.

    Re-anchoring keeps business dates continuous (today stays today). Missions already running
    keep the clock they were started with, which is why a database is meant to keep one day length.
    """
    anchor = await session.scalar(select(ClockAnchor).order_by(ClockAnchor.id.desc()).limit(1))
    if anchor is not None and anchor.day_seconds == day_seconds:
        return ClockSpec(
            anchor_real=anchor.anchor_real,
            anchor_date=anchor.anchor_date,
            day_seconds=anchor.day_seconds,
        )
    now = utcnow()
    if anchor is None:
        today = now.astimezone(ZoneInfo(timezone)).date()
        # Business day N begins at local midnight: with 86400-second days dates match the calendar.
        start = datetime.combine(today, time(0), tzinfo=ZoneInfo(timezone))
        anchor_real, anchor_date = start.astimezone(now.tzinfo), today
        if day_seconds != 86400:
            anchor_real = now
    else:
        previous = ClockSpec(
            anchor_real=anchor.anchor_real,
            anchor_date=anchor.anchor_date,
            day_seconds=anchor.day_seconds,
        ).to_clock()
        anchor_date = previous.date_at(now)
        anchor_real = now
    row = ClockAnchor(anchor_real=anchor_real, anchor_date=anchor_date, day_seconds=day_seconds)
    session.add(row)
    await session.flush()
    return ClockSpec(anchor_real=anchor_real, anchor_date=anchor_date, day_seconds=day_seconds)


def business_today(clock: ClockSpec) -> date:
    return clock.to_clock().date_at(utcnow())
