"""Money POSTs with an `Idempotency-Key`: the same key and body sent 10 times at once make one
effect and 10 identical replies; the same key with another body is a 422 on the header; a bad key
is a 422 on the header and changes nothing (services/idempotency.py). Credit notes:
tests/invoicing/test_credit_notes_api.py."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from models import FundTopUp, GuaranteeDeposit, IdempotencyKey, Payment, utcnow
from services import idempotency
from tests.api.conftest import assert_refused, count, snapshot
from tests.conftest import Stack, unique


def _key() -> str:
    return f"test-{uuid.uuid4()}"


async def _ten(stack: Stack, url: str, body: dict[str, Any], key: str) -> list[httpx.Response]:
    headers = {**await stack.ops(), "Idempotency-Key": key}
    return list(
        await asyncio.gather(*(stack.http.post(url, json=body, headers=headers) for _ in range(10)))
    )


def _identical(replies: list[httpx.Response]) -> dict[str, Any]:
    assert [r.status_code for r in replies] == [201] * 10, [
        (r.status_code, r.text) for r in replies
    ]
    first = replies[0].json()
    assert all(r.json() == first for r in replies), [r.json() for r in replies]
    return dict(first)


def _header_loc(response: httpx.Response) -> None:
    assert response.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"], response.text


async def test_ten_identical_payments_record_one(stack: Stack) -> None:
    tx = unique("BANK-IDEM-")
    body = {
        "amount": "100.00",
        "received_on": (await stack.today()).isoformat(),
        "structured_communication": None,
        "bank_transaction_id": tx,
    }
    key = _key()
    first = _identical(await _ten(stack, "/api/payments", body, key))
    assert await count(stack.db, Payment, Payment.bank_transaction_id == tx) == 1
    assert first["amount"] == "100.00"
    # Later, the same again: the same answer, nothing new.
    before = await snapshot(stack.db)
    again = await stack.http.post(
        "/api/payments", json=body, headers={**await stack.ops(), "Idempotency-Key": key}
    )
    assert again.status_code == 201 and again.json() == first
    assert await snapshot(stack.db) == before
    # The same key with another body: refused on the header, nothing written.
    other = await stack.http.post(
        "/api/payments",
        json={**body, "bank_transaction_id": unique("BANK-IDEM-")},
        headers={**await stack.ops(), "Idempotency-Key": key},
    )
    assert_refused(other, 422, None, "already used")
    _header_loc(other)
    assert await snapshot(stack.db) == before


async def test_ten_identical_top_ups_make_one(stack: Stack) -> None:
    reference = unique("TOPUP-IDEM-")
    body = {"amount": "10.00", "reference": reference, "reason": "idempotency test"}
    key = _key()
    first = _identical(await _ten(stack, "/api/guarantee-fund/top-ups", body, key))
    assert first["reference"] == reference
    assert await count(stack.db, FundTopUp, FundTopUp.reference == reference) == 1
    before = await snapshot(stack.db)
    other = await stack.http.post(
        "/api/guarantee-fund/top-ups",
        json={**body, "reference": unique("TOPUP-IDEM-")},
        headers={**await stack.ops(), "Idempotency-Key": key},
    )
    assert_refused(other, 422, None, "already used")
    _header_loc(other)
    assert await snapshot(stack.db) == before


async def test_bad_keys_are_refused_on_the_header(stack: Stack) -> None:
    body = {"amount": "10.00", "reference": unique("TOPUP-BAD-"), "reason": "bad key"}
    before = await snapshot(stack.db)
    for bad, why in [("", "1 to 100"), ("k" * 101, "1 to 100"), ("caf\x7f", "printable")]:
        r = await stack.http.post(
            "/api/guarantee-fund/top-ups",
            json=body,
            headers={**await stack.ops(), "Idempotency-Key": bad},
        )
        assert_refused(r, 422, None, why)
        _header_loc(r)
    assert await snapshot(stack.db) == before


async def test_ten_identical_deposits_record_one(stack: Stack) -> None:
    # A mission over its client's cap needs a deposit before signature (tests/workflows/
    # test_fund_paths.py): 10 identical deposit POSTs with one key record it once.
    member, headers = await stack.new_member()
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(
        headers, member["id"], client["id"], start_in=2, length=3, amount="30000.00"
    )
    assert mission["guarantee"]["status"] == "needs_approval", mission["guarantee"]
    url = f"/api/missions/{mission['id']}/guarantee/deposits"
    reference = unique("DEP-IDEM-")
    body = {"amount": "28050.00", "reference": reference, "reason": "client paid in advance"}
    key = _key()
    first = _identical(await _ten(stack, url, body, key))
    assert first["reference"] == reference and first["amount"] == "28050.00"
    assert await count(stack.db, GuaranteeDeposit, GuaranteeDeposit.reference == reference) == 1
    # (The mission's workflow is live and may store its documents meanwhile: count deposits.)
    other = await stack.http.post(
        url,
        json={**body, "reference": unique("DEP-IDEM-")},
        headers={**await stack.ops(), "Idempotency-Key": key},
    )
    assert_refused(other, 422, None, "already used")
    _header_loc(other)
    on_mission = GuaranteeDeposit.mission_id == mission["id"]
    assert await count(stack.db, GuaranteeDeposit, on_mission) == 1


async def test_unfinished_answer_is_409_in_flight_then_replayed_once_stale(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An answer still being completed (a credit note's documents) makes duplicates wait, then
    # 409; one never completed (the process died) is answered as stored once stale.
    monkeypatch.setattr(idempotency, "WAIT_SECONDS", 0.3)
    key = _key()
    headers = {**await stack.ops(), "Idempotency-Key": key}
    body = {"amount": "10.00", "reference": unique("TOPUP-FLIGHT-"), "reason": "in flight"}
    first = await stack.http.post("/api/guarantee-fund/top-ups", json=body, headers=headers)
    assert first.status_code == 201, first.text
    row = IdempotencyKey.key == key

    async def set_row(**values: Any) -> None:
        async with stack.db.session() as session:
            await session.execute(update(IdempotencyKey).where(row).values(**values))

    await set_row(final=False)
    r = await stack.http.post("/api/guarantee-fund/top-ups", json=body, headers=headers)
    assert_refused(r, 409, None, "in flight")
    _header_loc(r)
    await set_row(created_at=utcnow() - timedelta(hours=1))
    r = await stack.http.post("/api/guarantee-fund/top-ups", json=body, headers=headers)
    assert r.status_code == 201 and r.json() == first.json()
    assert await count(stack.db, FundTopUp, FundTopUp.reference == body["reference"]) == 1


async def test_a_mission_created_twice_with_one_key_is_one_mission(stack: Stack) -> None:
    """The chaos campaign's finding: a create whose reply was lost in a network cut, sent again,
    made a second mission. With one Idempotency-Key, five identical POSTs make one."""
    member, headers = await stack.new_member()
    client = await stack.new_client(member["id"])
    today = await stack.today()
    body = {
        "member_id": member["id"],
        "client_id": client["id"],
        "title": "Sound for a wedding",
        "start_date": (today + timedelta(days=3)).isoformat(),
        "end_date": (today + timedelta(days=4)).isoformat(),
        "amount_excl_vat": "800.00",
        "vat_rate": "21",
        "vat_exemption": None,
        "contract_type": "ordinary",
    }
    keyed = {**headers, "Idempotency-Key": _key()}
    replies = await asyncio.gather(
        *(stack.http.post("/api/missions", json=body, headers=keyed) for _ in range(5))
    )
    assert {r.status_code for r in replies} == {201}, [(r.status_code, r.text) for r in replies]
    ids = {r.json()["id"] for r in replies}
    assert len(ids) == 1, ids
    stack.mission_ids.extend(ids)
    listed = await stack.http.get(
        "/api/missions", params={"client_id": client["id"]}, headers=headers
    )
    assert [m["id"] for m in listed.json()] == list(ids)
    # Another body with the same key is refused on the header and makes nothing.
    other = await stack.http.post(
        "/api/missions", json={**body, "title": "Another job"}, headers=keyed
    )
    assert other.status_code == 422
    _header_loc(other)
