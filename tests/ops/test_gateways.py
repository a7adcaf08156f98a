"""The simulated email and bank gateways of the embedded default, broken and fixed by ops at
runtime (time-skipping server, one workflow per test): the failing step is flagged with the
gateway's error, then repaired by a retry or done by hand, and nothing happens twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import pytest
from sqlalchemy import func, select

from models import OutboxEmail, Payout
from tests.api.conftest import assert_refused
from tests.conftest import Stack
from tests.ops.conftest import repair, set_gateway
from tests.workflows.conftest import event, new_run, skip_to, steps


@pytest.fixture
async def healthy_gateways(stack: Stack) -> AsyncIterator[None]:
    yield
    for name in ("email", "bank"):
        await set_gateway(stack, name, 0.0, reason="test: back to healthy")


async def test_gateways_listed_and_read(stack: Stack, healthy_gateways: None) -> None:
    ops = await stack.ops()
    await set_gateway(stack, "bank", 0.25, latency=0.5, reason="training")
    r = await stack.http.get("/api/ops/gateways", headers=ops)
    assert r.status_code == 200, r.text
    assert [g["name"] for g in r.json()] == ["declaration", "email", "bank"]
    r = await stack.http.get("/api/ops/gateways/bank", headers=ops)
    assert r.json() == {"name": "bank", "failure_rate": 0.25, "latency_seconds": 0.5}


async def test_bank_down_flags_the_salary_then_retry_pays_once(
    stack: Stack, healthy_gateways: None
) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    await set_gateway(stack, "bank", 1.0, reason="training: the bank is down")
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    m = await run.wait(lambda m: m["needs_attention"])
    assert m["attention_step"] == "salary"
    assert "bank payout gateway unavailable" in m["attention_reason"]
    r = await repair(stack, run.mission_id, "skip", reference="paid by hand")
    assert_refused(r, 409, "mission", "cannot be done by hand")
    await set_gateway(stack, "bank", 0.0, reason="training: the bank is back")
    r = await repair(stack, run.mission_id, "retry", "bank is back")
    assert r.status_code == 200, r.text
    m = await run.wait(lambda m: not m["needs_attention"] and m["advance"] is not None)
    assert m["advance"]["source"] == "fund"
    async with stack.db.session() as session:
        payouts = await session.scalar(
            select(func.count()).select_from(Payout).where(Payout.mission_id == run.mission_id)
        )
    assert payouts == 1


async def test_email_down_then_the_invoice_email_sent_by_hand(
    stack: Stack, healthy_gateways: None
) -> None:
    run = await new_run(stack)
    await set_gateway(stack, "email", 1.0, reason="training: the mail relay is down")
    m = await run.to_work_report()
    await run.report(3)
    m = await run.wait(lambda m: m["needs_attention"])
    assert m["attention_step"] == "email:invoice" and m["stage"] == "invoiced"
    assert "email gateway unavailable" in m["attention_reason"]
    r = await repair(
        stack, run.mission_id, "skip", "relay down all day", reference="posted 2 Dec, registered"
    )
    assert r.status_code == 200, r.text
    m = await run.wait(lambda m: not m["needs_attention"])
    skipped = event(m, "step_skipped")
    assert skipped["detail"]["step"] == "email:invoice"
    assert skipped["detail"]["reference"] == "posted 2 Dec, registered"
    assert "email_sent" not in steps(m)
    async with stack.db.session() as session:
        status = await session.scalar(
            select(OutboxEmail.status).where(OutboxEmail.mission_id == run.mission_id)
        )
    assert status == "queued"  # written, never handed to the relay
