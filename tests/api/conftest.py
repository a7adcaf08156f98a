"""Helpers for the API tests: field-level refusals, row counts, and two members with a client each.

The accounts are made once per session through the real API (no workflow involved) and shared:
tests never delete rows, and every token stays valid for the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from api.app import create_app
from core.db import Database
from core.settings import Settings
from models import Base
from tests.conftest import Stack, api_client

# Every table a refused request must leave untouched; the clock anchor is written on first use
# by any request, so it is the one table not watched.
UNWATCHED = {"clock_anchor"}


async def count(db: Database, model: Any, *where: Any) -> int:
    async with db.session() as session:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)))


async def snapshot(db: Database) -> dict[str, int]:
    """Row counts of every table: equal before and after a refusal = nothing was written."""
    counts = {}
    async with db.session() as session:
        for name, table in sorted(Base.metadata.tables.items()):
            if name not in UNWATCHED:
                counts[name] = int(await session.scalar(select(func.count()).select_from(table)))
    return counts


def field_loc(field: str) -> list[Any]:
    """The `loc` of a body field written "expenses.0.amount" (same rule as api.app._loc)."""
    return ["body", *(int(p) if p.isdigit() else p for p in field.split("."))]


def assert_refused(
    response: httpx.Response, status: int, field: str | None, *reason: str
) -> dict[str, Any]:
    """A 4xx in the API's error shape whose first error names `field` and gives the reason."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    detail = body["detail"]
    assert isinstance(detail, list) and detail, body
    first = detail[0]
    assert set(first) >= {"loc", "msg", "type"}, first
    if field is not None:
        expected = field_loc(field)
        # FastAPI's own errors may add a type tag after the field (["body", "vat_rate", "str"]).
        assert first["loc"][: len(expected)] == expected, (first["loc"], expected)
    assert isinstance(first["msg"], str) and first["msg"].strip(), first
    for word in reason:
        assert word.lower() in first["msg"].lower(), (word, first["msg"])
    return first


@dataclass(frozen=True)
class Account:
    """A member, their bearer headers and one client of theirs."""

    member: dict[str, Any]
    headers: dict[str, str]
    client: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.member["id"])


@pytest.fixture(scope="session")
async def accounts(db: Database, settings: Settings) -> tuple[Account, Account]:
    """Members A and B, each with a Belgian business client, made through the API.

    Accounts need no Temporal: the app is built without a client (it connects only on need).
    """
    made = []
    async with api_client(create_app(settings, db, None)) as http:
        setup = Stack(None, http, db, settings)  # type: ignore[arg-type]
        # One advisor for the whole session: the members made here are assigned to them, so the
        # advisor of the tests below follows A and B (advisors see their own members only).
        if "advisor" not in _staff_headers:
            _staff_headers["advisor"] = await setup.advisor()
        setup._advisor = _staff_headers["advisor"]
        for _ in range(2):
            member, headers = await setup.new_member(iban="BE71096123456769")
            client = await setup.new_client(member["id"])
            made.append(Account(member, headers, client))
    return made[0], made[1]


_staff_headers: dict[str, dict[str, str]] = {}


@pytest.fixture
async def stack(stack: Stack) -> Stack:
    """The shared stack, with advisor and ops logins ready before the test takes a snapshot.

    The logins are made once per session (password hashing is deliberately slow) and reused.
    """
    if "advisor" not in _staff_headers:
        _staff_headers["advisor"] = await stack.advisor()
    if "ops" not in _staff_headers:
        _staff_headers["ops"] = await stack.ops()
    stack._advisor = _staff_headers["advisor"]
    stack._ops = _staff_headers["ops"]
    return stack
