"""Repairs by business step, each an Update of the mission's workflow, on the time-skipping server
(one workflow per test): skip with a manual reference, hold/resume (and expiry), pause and restart
the dunning ladder, retry, cancel, and a suspense payment matched by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from contracts.mission import MissionStatus
from models import AuditEntry, Declaration, DunningStep
from tests.api.conftest import assert_refused, snapshot
from tests.conftest import Stack, unique
from tests.ops.conftest import audit_rows, repair, set_gateway
from tests.workflows.conftest import (
    assert_books,
    declarations,
    event,
    new_run,
    record_history,
    skip_to,
    steps,
    wait_emails,
    workflow_today,
)


@pytest.fixture
async def failing_declarations(stack: Stack) -> AsyncIterator[None]:
    await set_gateway(stack, "declaration", 1.0, reason="test: the declaration gateway is down")
    try:
        yield
    finally:
        await set_gateway(stack, "declaration", 0.0, reason="test: gateway back")


async def test_skip_declaration_filed_by_hand(stack: Stack, failing_declarations: None) -> None:
    run = await new_run(stack)
    r = await repair(stack, run.mission_id, "skip", reference="DIMONA-HAND-1")
    assert_refused(r, 409, "mission", "nothing to skip")
    await run.sign()
    await run.confirm()
    m = await run.wait(lambda m: m["needs_attention"])
    assert m["attention_step"] == "declaration"
    r = await stack.http.get(f"/api/missions/{run.mission_id}/repairs", headers=await stack.ops())
    assert r.status_code == 200, r.text
    assert r.json()["available"] == ["retry", "skip", "hold", "cancel"]
    assert r.json()["workflow"]["attention"] == "declaration"
    assert r.json()["params"]["skip"] == ["reference"]
    r = await stack.http.get(
        f"/api/missions/{run.mission_id}/repairs", headers=await stack.advisor()
    )
    assert r.status_code == 200 and r.json()["available"] == []

    before = await snapshot(stack.db)
    for params, field in (({}, "params.reference"), ({"reference": "x" * 65}, "params.reference")):
        r = await repair(stack, run.mission_id, "skip", **params)
        assert_refused(r, 422, field)
    r = await repair(stack, run.mission_id, "skip", reason="  ", reference="DIMONA-HAND-1")
    assert_refused(r, 422, "reason", "required")
    r = await repair(stack, run.mission_id, "skip", headers=run.member_headers, reference="X")
    assert_refused(r, 403, None, "ops only")
    r = await repair(stack, run.mission_id, "skip", headers=await stack.advisor(), reference="X")
    assert_refused(r, 403, None, "ops only")
    assert await snapshot(stack.db) == before

    r = await repair(
        stack, run.mission_id, "skip", "filed on the portal by hand", reference="DIMONA-HAND-1"
    )
    assert r.status_code == 200, r.text
    m = await run.wait(lambda m: m["stage"] == "in_progress" and not m["needs_attention"])
    assert await declarations(stack, run.mission_id) == ["in"]
    async with stack.db.session() as session:
        ref = await session.scalar(
            select(Declaration.reference).where(Declaration.mission_id == run.mission_id)
        )
    assert ref == "DIMONA-HAND-1"
    skipped = event(m, "step_skipped")
    assert skipped["detail"] == {
        "step": "declaration",
        "reference": "DIMONA-HAND-1",
        "reason": "filed on the portal by hand",
    }
    assert "declaration_accepted" not in steps(m)
    status = await stack.handle(run.mission_id).query("status", result_type=MissionStatus)
    assert status.declaration_filed and status.attention is None
    rows = await audit_rows(stack, run.mission_id)
    assert [(a.action, a.reason, a.role) for a in rows] == [
        ("skip", "filed on the portal by hand", "ops")
    ]
    assert (rows[0].before or {})["needs_attention"] is True
    assert rows[0].target_type == "mission" and rows[0].target_id == str(run.mission_id)
    # Nothing left to skip or retry.
    r = await repair(stack, run.mission_id, "skip", reference="AGAIN")
    assert_refused(r, 409, "mission", "nothing to skip")

    # The mission goes on to the end as usual.
    await set_gateway(stack, "declaration", 0.0)
    await skip_to(stack, date.fromisoformat(m["end_date"]))
    await run.wait(lambda m: m["stage"] == "work_report")
    await run.report(3)
    m = await run.wait(lambda m: m["invoice"] is not None)
    await run.pay(m["invoice"]["total_incl_vat"])
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"
    await assert_books(stack, run.mission_id)
    await record_history(run, "declaration_skipped_by_ops")


async def test_hold_expires_by_itself_then_hold_and_resume(stack: Stack) -> None:
    run = await new_run(stack, start_in=2, length=3)
    await run.sign()
    await run.confirm()
    m = await run.wait(lambda m: m["stage"] == "in_progress")
    end = date.fromisoformat(m["end_date"])
    today = await workflow_today(stack)

    r = await repair(stack, run.mission_id, "resume")
    assert_refused(r, 409, "mission", "not held")
    for bad, why in ((today.isoformat(), "after today"), ("2026-02-30", "not a day")):
        r = await repair(stack, run.mission_id, "hold", until=bad)
        assert_refused(r, 422, "params.until", why)
    r = await repair(stack, run.mission_id, "hold", until=(today + timedelta(days=400)).isoformat())
    assert_refused(r, 422, "params.until", "at most")

    until = end + timedelta(days=3)
    r = await repair(
        stack, run.mission_id, "hold", "client disputes the dates", until=until.isoformat()
    )
    assert r.status_code == 200, r.text
    assert (
        await stack.handle(run.mission_id).query("status", result_type=MissionStatus)
    ).held_until == until
    r = await repair(stack, run.mission_id, "hold", until=until.isoformat())
    assert_refused(r, 409, "mission", "already held")
    r = await stack.http.get(f"/api/missions/{run.mission_id}/repairs", headers=await stack.ops())
    assert r.json()["available"] == ["resume", "cancel"]
    assert r.json()["workflow"]["held_until"] == until.isoformat()

    # The end of the work comes while held: the work report is not asked for.
    await skip_to(stack, end + timedelta(days=1))
    m = await run.get()
    assert m["stage"] == "in_progress" and "work_report_due" not in steps(m)
    # At the hold's expiry the mission resumes by itself.
    await skip_to(stack, until)
    m = await run.wait(lambda m: m["stage"] == "work_report")
    order = steps(m)
    assert order.index("held") < order.index("hold_expired") < order.index("work_report_due")
    assert event(m, "held")["detail"] == {
        "reason": "client disputes the dates",
        "until": until.isoformat(),
    }

    # A second hold, lifted by hand: the report reminders wait meanwhile.
    today = await workflow_today(stack)
    until = today + timedelta(days=30)
    r = await repair(stack, run.mission_id, "hold", "member on sick leave", until=until.isoformat())
    assert r.status_code == 200, r.text
    r = await repair(stack, run.mission_id, "resume", "member back")
    assert r.status_code == 200, r.text
    status = await stack.handle(run.mission_id).query("status", result_type=MissionStatus)
    assert status.held_until is None
    r = await repair(stack, run.mission_id, "resume", "again")
    assert_refused(r, 409, "mission", "not held")
    m = await run.get()
    assert steps(m)[-2:] == ["held", "resumed"]
    assert [a.action for a in await audit_rows(stack, run.mission_id)] == [
        "hold",
        "hold",
        "resume",
    ]
    await run.report(3)
    await run.wait(lambda m: m["invoice"] is not None)
    await record_history_after_payment(run)


async def record_history_after_payment(run) -> None:  # type: ignore[no-untyped-def]
    m = await run.get()
    await run.pay(m["invoice"]["total_incl_vat"])
    await skip_to(run.stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"
    await record_history(run, "held_expired_then_resumed")


async def test_pause_and_restart_the_dunning_ladder(stack: Stack) -> None:
    run = await new_run(stack)
    r = await repair(stack, run.mission_id, "pause_dunning")
    assert_refused(r, 409, "mission", "no dunning")
    m = await run.to_invoiced()
    due = date.fromisoformat(m["invoice"]["due_date"])

    r = await repair(stack, run.mission_id, "restart_dunning")
    assert_refused(r, 409, "mission", "not paused")
    await skip_to(stack, due)
    r = await repair(stack, run.mission_id, "pause_dunning", "client asked for a payment plan")
    assert r.status_code == 200, r.text
    r = await repair(stack, run.mission_id, "pause_dunning")
    assert_refused(r, 409, "mission", "already paused")
    assert (
        await stack.handle(run.mission_id).query("status", result_type=MissionStatus)
    ).dunning_paused

    # Reminder 1 was due at due + 7: paused, nothing happens.
    await skip_to(stack, due + timedelta(days=12))
    m = await run.get()
    assert m["dunning_level"] == 0 and m["stage"] == "invoiced"
    r = await repair(stack, run.mission_id, "restart_dunning", "the plan was not kept")
    assert r.status_code == 200, r.text
    assert "pushed back 12 days" in r.json()["result"]
    # Pushed back by the 12 days paused: not at due + 18 ...
    await skip_to(stack, due + timedelta(days=18))
    assert (await run.get())["dunning_level"] == 0
    # ... but at due + 7 + 12.
    await skip_to(stack, due + timedelta(days=19))
    m = await run.wait(lambda m: m["dunning_level"] == 1)
    await wait_emails(run, ["invoice", "reminder_1"])
    async with stack.db.session() as session:
        rung = await session.scalar(
            select(DunningStep).where(DunningStep.mission_id == run.mission_id)
        )
    assert rung is not None and rung.business_date == due + timedelta(days=19)
    assert [s for s in steps(m) if s.startswith("dunning_")] == [
        "dunning_paused",
        "dunning_restarted",
    ]
    await run.pay(m["invoice"]["balance"])
    m = await run.wait(lambda m: m["stage"] == "paid")
    assert await run.result() == "paid"
    actions = [a.action for a in await audit_rows(stack, run.mission_id)]
    assert actions == ["pause_dunning", "restart_dunning"]
    await record_history(run, "dunning_paused_and_restarted")


async def test_retry_and_cancel_are_repairs_too(stack: Stack, failing_declarations: None) -> None:
    run = await new_run(stack, start_in=5)
    await run.sign()
    await run.confirm()
    await run.wait(lambda m: m["needs_attention"])
    r = await repair(stack, run.mission_id, "retry", "gateway still down?")
    assert r.status_code == 200, r.text
    await run.wait(lambda m: m["needs_attention"] and steps(m).count("needs_attention") == 2)
    r = await repair(stack, run.mission_id, "cancel", "the client withdrew the order")
    assert r.status_code == 200, r.text
    assert await run.result() == "cancelled"
    m = await run.get()
    assert m["stage"] == "cancelled" and m["cancel_reason"] == "the client withdrew the order"
    rows = await audit_rows(stack, run.mission_id)
    assert [a.action for a in rows] == ["retry", "cancel"]
    until = (await stack.today()) + timedelta(days=10)
    r = await repair(stack, run.mission_id, "hold", until=until.isoformat())
    assert_refused(r, 409, "mission", "closed")
    assert len(await audit_rows(stack, run.mission_id)) == 2


async def test_match_a_suspense_payment_by_hand(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    total = Decimal(m["invoice"]["total_incl_vat"])
    ops = await stack.ops()
    r = await stack.http.post(
        "/api/payments",
        json={
            "amount": f"{total:.2f}",
            "received_on": (await stack.today()).isoformat(),
            "structured_communication": None,
            "bank_transaction_id": unique("SUSPENSE-"),
        },
        headers=ops,
    )
    assert r.status_code == 201, r.text
    payment = r.json()
    assert payment["matched"] is False
    r = await stack.http.get("/api/ops/stuck", headers=ops)
    assert any(
        c["kind"] == "payment_in_suspense" and c["payment_id"] == payment["id"] for c in r.json()
    )

    before = await snapshot(stack.db)
    invoice_id = m["invoice"]["id"]
    for body, status, field in (
        ({"invoice_id": invoice_id, "reason": ""}, 422, "reason"),
        ({"invoice_id": 999_999, "reason": "x"}, 404, "invoice_id"),
        ({"invoice_id": "1", "reason": "x"}, 422, "invoice_id"),
        ({"invoice_id": invoice_id, "reason": "x", "matched": True}, 422, "matched"),
    ):
        r = await stack.http.post(f"/api/payments/{payment['id']}/match", json=body, headers=ops)
        assert_refused(r, status, field)
    r = await stack.http.post(
        "/api/payments/999999/match", json={"invoice_id": invoice_id, "reason": "x"}, headers=ops
    )
    assert_refused(r, 404, None, "payment not found")
    assert await snapshot(stack.db) == before

    r = await stack.http.post(
        f"/api/payments/{payment['id']}/match",
        json={"invoice_id": invoice_id, "reason": "client forgot the structured communication"},
        headers=ops,
    )
    assert r.status_code == 200, r.text
    assert r.json()["matched"] is True and r.json()["invoice_balance"] == "0.00"
    m = await run.wait(lambda m: m["stage"] == "paid")
    # Told by the signal, the workflow settles the mission.
    status = await stack.handle(run.mission_id).query("status", result_type=MissionStatus)
    assert status.stage == "paid"
    r = await stack.http.post(
        f"/api/payments/{payment['id']}/match",
        json={"invoice_id": invoice_id, "reason": "twice"},
        headers=ops,
    )
    assert_refused(r, 409, "payment", "already matched")
    async with stack.db.session() as session:
        rows = (
            await session.scalars(
                select(AuditEntry).where(
                    AuditEntry.target_type == "payment", AuditEntry.target_id == str(payment["id"])
                )
            )
        ).all()
    assert [(a.action, (a.before or {})["matched"], (a.after or {})["matched"]) for a in rows] == [
        ("match_payment", False, True)
    ]
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"
    await assert_books(
        stack,
        run.mission_id,
        kinds=["invoice_issued", "client_payment", "salary_paid"],
    )
