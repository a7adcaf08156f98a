"""What every console page shares: who may open it, the business date, the list's query string."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends
from sqlalchemy.ext.asyncio import AsyncSession

from contracts.stages import STAGES
from core.errors import DomainError
from core.settings import Settings
from domain.errors import FieldError
from domain.money import parse_money
from services.clock import business_today, current_clock
from services.dashboard import SORTS, ListRequest
from services.mission_filters import MissionFilter
from web.auth import user_page_dep
from web.render import Page

PAGE_SIZE = 50


async def staff_page_dep(page: Annotated[Page, Depends(user_page_dep)]) -> Page:
    """A console page: advisors and ops (a member gets the 403 page)."""
    if page.viewer is None or not page.viewer.is_staff:
        raise DomainError("advisors and ops only", 403)
    return page


async def ops_page_dep(page: Annotated[Page, Depends(staff_page_dep)]) -> Page:
    """An ops console page."""
    assert page.viewer is not None
    if page.viewer.role != "ops":
        raise DomainError("ops only", 403)
    return page


StaffPage = Annotated[Page, Depends(staff_page_dep)]
OpsPage = Annotated[Page, Depends(ops_page_dep)]


async def business_date(session: AsyncSession, settings: Settings) -> date:
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    return business_today(clock)


def _id(value: str, field: str) -> int | None:
    if not value:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 10 or int(value) < 1:
        raise FieldError(field, "an id (a positive whole number)")
    if int(value) > 2**31 - 1:
        raise FieldError(field, "an id (a positive whole number)")
    return int(value)


def _whole(value: str, field: str, low: int, high: int) -> int | None:
    if not value:
        return None
    if (
        not value.isascii()
        or not value.isdigit()
        or len(value) > 6
        or not low <= int(value) <= high
    ):
        raise FieldError(field, f"a whole number between {low} and {high}")
    return int(value)


LIST_FIELDS = (
    "member_id",
    "client_id",
    "stage",
    "overdue_min_days",
    "amount_min",
    "amount_max",
    "needs_attention",
    "q",
    "sort",
    "dir",
    "page",
)


def list_values(params: Mapping[str, str]) -> dict[str, str]:
    """The list's query string as typed (trimmed, bounded): what the form shows back."""
    return {k: str(params.get(k, "")).strip()[:200] for k in LIST_FIELDS if params.get(k)}


def parse_list(values: Mapping[str, str]) -> tuple[ListRequest, dict[str, str]]:
    """The list request and the refused fields (field -> message); every field is checked."""
    errors: dict[str, str] = {}
    parsed: dict[str, Any] = {}

    def check(name: str, parse: Any) -> None:
        try:
            parsed[name] = parse(values.get(name, ""))
        except FieldError as err:
            errors[name] = err.message

    check("member_id", lambda v: _id(v, "member_id"))
    check("client_id", lambda v: _id(v, "client_id"))
    check("overdue_min_days", lambda v: _whole(v, "overdue_min_days", 0, 36500))
    check(
        "amount_min",
        lambda v: parse_money(v, field="amount_min", allow_zero=True) if v else None,
    )
    check(
        "amount_max",
        lambda v: parse_money(v, field="amount_max", allow_zero=True) if v else None,
    )
    check("page", lambda v: _whole(v, "page", 1, 100000) or 1)
    stage = values.get("stage") or None
    if stage is not None and stage not in STAGES:
        errors["stage"] = f"one of {', '.join(STAGES)}"
    attention = values.get("needs_attention") or ""
    if attention not in ("", "yes", "no"):
        errors["needs_attention"] = "yes, no or empty"
    sort = values.get("sort") or "id"
    if sort not in SORTS:
        errors["sort"] = f"one of {', '.join(SORTS)}"
    direction = values.get("dir") or "desc"
    if direction not in ("asc", "desc"):
        errors["dir"] = "asc or desc"
    if errors:
        return ListRequest(limit=PAGE_SIZE), errors
    flt = MissionFilter(
        member_id=parsed["member_id"],
        client_id=parsed["client_id"],
        stage=stage,
        overdue_min_days=parsed["overdue_min_days"],
        amount_min=parsed["amount_min"],
        amount_max=parsed["amount_max"],
        needs_attention={"yes": True, "no": False}.get(attention),
        q=(values.get("q") or None),
    )
    page = parsed["page"]
    return (
        ListRequest(
            filter=flt,
            sort=sort,
            descending=direction == "desc",
            limit=PAGE_SIZE,
            offset=(page - 1) * PAGE_SIZE,
        ),
        errors,
    )


def query_string(values: Mapping[str, str], **over: str | int | None) -> str:
    """The same list with some parameters changed (None drops one)."""
    merged: dict[str, Any] = {**values, **over}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})
