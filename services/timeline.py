"""A mission's timeline: each business step written once, keyed, whoever writes it."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import exc, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import TimelineEvent


async def add_timeline(
    session: AsyncSession,
    mission_id: int,
    key: str,
    step: str,
    business_date: date,
    actor: str | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Write a timeline step once; False if that step was already recorded (a retried activity)."""
    exists = await session.scalar(
        select(TimelineEvent.id).where(
            TimelineEvent.mission_id == mission_id, TimelineEvent.key == key
        )
    )
    if exists is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(
                TimelineEvent(
                    mission_id=mission_id,
                    key=key,
                    step=step,
                    business_date=business_date,
                    actor=actor,
                    detail=detail or {},
                )
            )
    except exc.IntegrityError:
        return False
    return True
