"""Two members created at once with one national number (issue 13, #8): one is made, the other
is refused with 409 on `national_number`, never a 500 from the database's unique constraint.
No Temporal needed: the app is built without a client."""

from __future__ import annotations

import asyncio

import pytest

from api.app import create_app
from core.db import Database
from core.errors import DomainError
from core.settings import Settings
from services import people
from tests.api.conftest import assert_refused
from tests.conftest import Stack, api_client, member_payload


async def test_two_requests_at_once_one_201_one_409(db: Database, settings: Settings) -> None:
    async with api_client(create_app(settings, db, None)) as http:
        advisor = await Stack(None, http, db, settings).advisor()  # type: ignore[arg-type]
        first = member_payload()
        second = member_payload(national_number=first["national_number"])
        replies = await asyncio.gather(
            *(http.post("/api/members", json=p, headers=advisor) for p in (first, second))
        )
    statuses = sorted(r.status_code for r in replies)
    assert statuses == [201, 409], [r.text for r in replies]
    refused = next(r for r in replies if r.status_code == 409)
    assert_refused(refused, 409, "national_number", "already exists")


@pytest.mark.parametrize("field", ["national_number", "email"])
async def test_the_race_lost_at_the_constraint_is_409(db: Database, field: str) -> None:
    """The second transaction checks before the first commits, so only the unique constraint
    sees the duplicate: its IntegrityError becomes the same 409 as the check's."""
    first = member_payload()
    second = member_payload(**{field: first[field]})

    async def make(payload: dict[str, object], hold: float) -> None:
        async with db.session() as session:
            await people.create_member(session, **payload)  # type: ignore[arg-type]
            await asyncio.sleep(hold)  # the other one checks and inserts meanwhile

    winner = asyncio.create_task(make(first, hold=1.0))
    await asyncio.sleep(0.3)  # the first is flushed, not committed
    with pytest.raises(DomainError) as refused:
        await make(second, hold=0)
    await winner
    assert refused.value.status_code == 409
    assert refused.value.field == field
