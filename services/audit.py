"""The audit trail: one append-only row per ops action and target {who, role, UTC time, action,
target, reason, before, after}, shown on the mission and on the audit page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.errors import FieldError
from domain.identifiers import clean_text
from models import AuditEntry, utcnow
from services.access import Viewer

MAX_REASON = 500


def require_reason(value: object, field: str = "reason") -> str:
    """Every repair says why: a non-empty, clean reason of at most 500 characters."""
    return clean_text(value, field=field, max_length=MAX_REASON)


async def record(
    session: AsyncSession,
    viewer: Viewer,
    *,
    action: str,
    target_type: str,
    target_id: int | str,
    reason: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    mission_id: int | None = None,
    bulk_run_id: int | None = None,
) -> AuditEntry:
    """Append one audit row for an action on one target (never updated, never deleted)."""
    if not reason or not reason.strip():
        raise FieldError("reason", "required: say why")
    entry = AuditEntry(
        user_id=viewer.user_id,
        user_label=viewer.label,
        role=viewer.role,
        at=utcnow(),
        action=action,
        target_type=target_type,
        target_id=str(target_id),
        mission_id=mission_id,
        reason=reason,
        before=before,
        after=after,
        bulk_run_id=bulk_run_id,
    )
    session.add(entry)
    await session.flush()
    return entry


@dataclass(frozen=True)
class AuditFilter:
    mission_id: int | None = None
    user_id: int | None = None
    action: str | None = None
    since: date | None = None  # UTC dates, both included
    until: date | None = None


def _filtered(query: Select[Any], f: AuditFilter) -> Select[Any]:
    if f.mission_id is not None:
        query = query.where(AuditEntry.mission_id == f.mission_id)
    if f.user_id is not None:
        query = query.where(AuditEntry.user_id == f.user_id)
    if f.action is not None:
        query = query.where(AuditEntry.action == f.action)
    if f.since is not None:
        query = query.where(AuditEntry.at >= datetime.combine(f.since, time(), UTC))
    if f.until is not None:
        end = datetime.combine(f.until + timedelta(days=1), time(), UTC)
        query = query.where(AuditEntry.at < end)
    return query


async def list_entries(
    session: AsyncSession, f: AuditFilter, *, limit: int = 50, offset: int = 0
) -> tuple[list[AuditEntry], int]:
    """Audit rows matching the filter, newest first, one page; and how many match in all."""
    if f.since is not None and f.until is not None and f.until < f.since:
        raise FieldError("until", "before since")
    if f.action is not None and "\x00" in f.action:
        return [], 0  # no action has a NUL, which PostgreSQL's text cannot even compare
    rows = await session.scalars(
        _filtered(select(AuditEntry), f)
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
        .limit(limit)
        .offset(offset)
    )
    total = await session.scalar(_filtered(select(func.count(AuditEntry.id)), f))
    return list(rows.all()), int(total or 0)


def entry_out(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "who": {"user_id": entry.user_id, "label": entry.user_label},
        "role": entry.role,
        "at": entry.at.isoformat(),
        "action": entry.action,
        "target": {"type": entry.target_type, "id": entry.target_id},
        "mission_id": entry.mission_id,
        "reason": entry.reason,
        "before": entry.before,
        "after": entry.after,
        "bulk_run_id": entry.bulk_run_id,
    }
