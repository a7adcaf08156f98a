"""Ops enter a late-payment rate through the API (issue 13 #7): bad rates are refused with the
field and the reason and change nothing (reliability.md "Rates"); a good one is a dated row with
its source, audited, and closes the staff task asking for it. No Temporal needed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from api.app import create_app
from core.db import Database
from core.settings import Settings
from models import AuditEntry, StaffTask
from services import rates, staff_tasks
from tests.api.conftest import assert_refused, snapshot
from tests.conftest import Stack, api_client


@pytest.fixture
async def api(db: Database, settings: Settings) -> AsyncIterator[Stack]:
    async with api_client(create_app(settings, db, None)) as http:
        yield Stack(None, http, db, settings)  # type: ignore[arg-type]


async def _next(stack: Stack, table: str) -> str:
    r = await stack.http.get("/api/ops/rates", headers=await stack.ops())
    assert r.status_code == 200, r.text
    found = next(t for t in r.json() if t["table"] == table)
    return str(found["next_missing"])


def _body(valid_from: str, **over: Any) -> dict[str, Any]:
    return {
        "table": "legal_interest",
        "valid_from": valid_from,
        "annual_rate": "4.75",
        "source": "Moniteur belge, avis du SPF Finances (test)",
        "confidence": "H",
        "reason": "rate published",
        **over,
    }


async def test_bad_rates_are_refused_with_field_and_reason(api: Stack) -> None:
    ops = await api.ops()
    start = await _next(api, "legal_interest")
    year = int(start[:4])
    cases: list[tuple[dict[str, Any], int, str, tuple[str, ...]]] = [
        (_body(start, annual_rate="-1"), 422, "annual_rate", ("negative",)),
        (_body(start, annual_rate="100.01"), 422, "annual_rate", ("between 0 and 100",)),
        (_body(start, annual_rate="21%"), 422, "annual_rate", ("'%'",)),
        (_body(start, annual_rate="0.21"), 422, "annual_rate", ("fraction", "21.00")),
        (_body(start, table="b2b_interest", annual_rate="7.99"), 422, "annual_rate", ("8.00",)),
        (_body(start, annual_rate="4.755"), 422, "annual_rate", ("2 decimals",)),
        (_body(start, annual_rate="1e1"), 422, "annual_rate", ("exponent",)),
        (_body(start, annual_rate="４.75"), 422, "annual_rate", ("ASCII",)),
        (_body(start, annual_rate="NaN"), 422, "annual_rate", ("finite",)),
        (_body(start, annual_rate=""), 422, "annual_rate", ("required",)),
        (_body(start, annual_rate=4.75), 422, "annual_rate", ()),  # a JSON float: strings only
        (_body(start, table="vat"), 422, "table", ("b2b_interest",)),
        (_body(f"{year}-07-01"), 422, "valid_from", ("first day of a year",)),
        (_body(f"{year}-02-29" if year % 4 else "2026-02-29"), 422, "valid_from", ()),
        (_body("01/01/2028"), 422, "valid_from", ("YYYY-MM-DD",)),
        (_body(f"{year + 1}-01-01"), 422, "valid_from", (start, "no gap")),
        (_body("2025-01-01"), 409, "valid_from", ("already has a rate",)),
        (_body(start, source=""), 422, "source", ("required",)),
        (_body(start, source="x" * 2001), 422, "source", ("at most 2000",)),
        (_body(start, source="<a>\u202e</a>"), 422, "source", ("text-direction",)),
        (_body(start, confidence="very"), 422, "confidence", ("H, M-H, M, L",)),
        (_body(start, reason=""), 422, "reason", ()),
        (_body(start, estimate="yes"), 422, "estimate", ()),
        (_body(start, status="done"), 422, "status", ()),  # unknown field
    ]
    before = await snapshot(api.db)
    for body, status, field, words in cases:
        r = await api.http.post("/api/ops/rates", json=body, headers=ops)
        assert_refused(r, status, field, *words)
    assert await snapshot(api.db) == before


async def test_ops_enter_a_rate_audited_and_the_task_is_done(api: Stack) -> None:
    ops = await api.ops()
    start = await _next(api, "legal_interest")
    key = f"rate:legal_interest:{start}"
    async with api.db.session() as session:  # the periodic job asked for it
        made = await rates.request_missing_rates(session, date.fromisoformat(start))
        assert key in [t.key for t in made] or await session.scalar(
            select(StaffTask.id).where(StaffTask.key == key)
        )
    r = await api.http.get("/api/staff-tasks", params={"status": "open"}, headers=ops)
    assert r.status_code == 200, r.text
    task = next(t for t in r.json() if t["key"] == key)
    assert task["title"] == (
        f"Enter the legal interest rate (law of 5 May 1865) for the year from {start}"
    )
    assert task["due_on"] == start and task["link"] == rates.RATES_PAGE

    # Advisors and members are refused; ops enter it.
    r = await api.http.post("/api/ops/rates", json=_body(start), headers=await api.advisor())
    assert_refused(r, 403, None)
    r = await api.http.post("/api/ops/rates", json=_body(start), headers=ops)
    assert r.status_code == 201, r.text
    assert r.json() == {
        "table": "legal_interest",
        "key": "late_payment.legal_rates",
        "valid_from": start,
        "valid_to": f"{start[:4]}-12-31",
        "annual_rate": "4.75",
        "estimate": False,
        "source": "Moniteur belge, avis du SPF Finances (test)",
        "confidence": "H",
    }
    r = await api.http.post("/api/ops/rates", json=_body(start), headers=ops)
    assert_refused(r, 409, "valid_from", "already has a rate")
    assert await _next(api, "legal_interest") == f"{int(start[:4]) + 1}-01-01"

    r = await api.http.get("/api/staff-tasks", params={"status": "done"}, headers=ops)
    done = next(t for t in r.json() if t["key"] == key)
    assert done["status"] == "done" and done["done_by"] is not None
    r = await api.http.get("/api/staff-tasks", params={"status": "open"}, headers=ops)
    assert key not in [t["key"] for t in r.json()]
    r = await api.http.get("/api/staff-tasks", params={"status": "closed"}, headers=ops)
    assert_refused(r, 422, None, "open, done")
    async with api.db.session() as session:
        entry = await session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "enter_rate",
                AuditEntry.target_id == f"late_payment.legal_rates:{start}",
            )
        )
        assert entry is not None and entry.reason == "rate published"
        assert entry.after is not None and entry.after["annual_rate"] == "4.75"
        assert (await staff_tasks.close_task(session, key, None)) is not None
