"""One filter over missions for the staff lists, their CSV export and bulk actions alike, so that a
bulk preview lists exactly the missions the list shows and the run acts on."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.mission import ClockSpec
from contracts.stages import STAGES
from domain.errors import FieldError
from domain.identifiers import clean_text, parse_id
from domain.money import parse_money
from models import Client, ClockAnchor, Invoice, Member, Mission, utcnow
from services.access import Viewer, scope_missions

MAX_OVERDUE_DAYS = 3650


@dataclass(frozen=True)
class MissionFilter:
    """What a staff list is narrowed to; every field optional (None: no condition)."""

    member_id: int | None = None
    client_id: int | None = None
    stage: str | None = None
    overdue_min_days: int | None = None  # the invoice's due date at least this many days ago
    amount_min: Decimal | None = None  # on the mission's amount excl. VAT
    amount_max: Decimal | None = None
    needs_attention: bool | None = None
    q: str | None = None  # in the title, the member's or the client's name

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is not None:
                out[f.name] = str(value) if isinstance(value, Decimal) else value
        return out


def _int(value: object, field: str, lower: int, upper: int) -> int:
    if isinstance(value, str) and value.isascii() and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, "an integer")
    if not lower <= value <= upper:
        raise FieldError(field, f"between {lower} and {upper}")
    return value


def _bool(value: object, field: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "1", "yes", "on"):
        return True
    if value in ("false", "0", "no", "off"):
        return False
    raise FieldError(field, "true or false")


def parse_filter(data: dict[str, Any]) -> MissionFilter:
    """A filter from JSON or query parameters; an unknown key or a bad value names its field."""
    known = {f.name for f in fields(MissionFilter)}
    for key in data:
        if key not in known:
            raise FieldError(f"filter.{key}", "not a filter")
    values: dict[str, Any] = {}
    for key, raw in data.items():
        if raw is None or raw == "":
            continue
        field = f"filter.{key}"
        if key in ("member_id", "client_id"):
            if isinstance(raw, str):
                raw = _int(raw, field, 1, 2**31 - 1)
            values[key] = parse_id(raw, field)
        elif key == "stage":
            if raw not in STAGES:
                raise FieldError(field, f"one of {', '.join(STAGES)}")
            values[key] = raw
        elif key == "overdue_min_days":
            values[key] = _int(raw, field, 0, MAX_OVERDUE_DAYS)
        elif key in ("amount_min", "amount_max"):
            values[key] = parse_money(raw, field=field)
        elif key == "needs_attention":
            values[key] = _bool(raw, field)
        elif key == "q":
            values[key] = clean_text(raw, field=field, max_length=100)
    parsed = MissionFilter(**values)
    if (
        parsed.amount_min is not None
        and parsed.amount_max is not None
        and parsed.amount_max < parsed.amount_min
    ):
        raise FieldError("filter.amount_max", "below amount_min")
    return parsed


def apply(
    query: Select[Any], f: MissionFilter, viewer: Viewer, today: date | None = None
) -> Select[Any]:
    """Narrow a select over `missions` to the filter and to what the viewer may see.

    `today` (the business date, e.g. `anchored_today`) counts the overdue days; by default the
    calendar date in UTC."""
    today = today or utcnow().date()
    query = scope_missions(query, viewer)
    if f.member_id is not None:
        query = query.where(Mission.member_id == f.member_id)
    if f.client_id is not None:
        query = query.where(Mission.client_id == f.client_id)
    if f.stage is not None:
        query = query.where(Mission.stage == f.stage)
    if f.needs_attention is not None:
        query = query.where(Mission.needs_attention.is_(f.needs_attention))
    if f.amount_min is not None:
        query = query.where(Mission.amount_excl_vat >= f.amount_min)
    if f.amount_max is not None:
        query = query.where(Mission.amount_excl_vat <= f.amount_max)
    if f.overdue_min_days is not None:
        cutoff = today - timedelta(days=f.overdue_min_days)
        query = query.where(
            exists().where(
                and_(
                    Invoice.mission_id == Mission.id,
                    Invoice.kind == "invoice",
                    Invoice.balance > 0,
                    Invoice.status.notin_(("paid", "written_off")),
                    Invoice.due_date <= cutoff,
                    Invoice.due_date < today,
                )
            )
        )
    if f.q:
        pattern = "%" + f.q.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"
        query = query.where(
            or_(
                Mission.title.ilike(pattern, escape="\\"),
                exists().where(
                    and_(Member.id == Mission.member_id, Member.name.ilike(pattern, escape="\\"))
                ),
                exists().where(
                    and_(Client.id == Mission.client_id, Client.name.ilike(pattern, escape="\\"))
                ),
            )
        )
    return query


def filtered_missions(f: MissionFilter, viewer: Viewer, today: date | None = None) -> Select[Any]:
    """The missions of the filter, in the lists' order (newest first)."""
    return apply(select(Mission), f, viewer, today).order_by(Mission.id.desc())


async def anchored_today(session: AsyncSession) -> date:
    """The business date of the clock anchored in the database (without re-anchoring it)."""
    anchor = await session.scalar(select(ClockAnchor).order_by(ClockAnchor.id.desc()).limit(1))
    if anchor is None:
        return utcnow().date()
    spec = ClockSpec(
        anchor_real=anchor.anchor_real,
        anchor_date=anchor.anchor_date,
        day_seconds=anchor.day_seconds,
    )
    return spec.to_clock().date_at(utcnow())
