"""Lifecycle paths off the happy line: never confirmed, a failing gateway, cancellations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest

from models import GatewaySetting
from tests.conftest import Stack
from tests.workflows.conftest import (
    Run,
    assert_books,
    assert_timeline,
    declarations,
    event,
    new_run,
    record_history,
    skip_to,
    steps,
    wait_emails,
    workflow_today,
)


async def test_never_confirmed_is_cancelled(stack: Stack) -> None:
    run = await new_run(stack)
    await run.sign()
    m = await run.get()
    assert m["stage"] == "contract" and m["signed_at"] is not None
    created = date.fromisoformat(m["created_on"])

    await skip_to(stack, created + timedelta(days=13))
    m = await run.get()
    assert m["stage"] == "contract", "the client still has until the 14th day"

    await skip_to(stack, created + timedelta(days=14))
    assert await run.result() == "cancelled"
    m = await run.get()
    assert m["stage"] == "cancelled"
    assert "client's confirmation" in m["cancel_reason"]
    assert "signature" not in m["cancel_reason"]
    cancelled = event(m, "cancelled")
    assert cancelled["detail"]["reason"] == m["cancel_reason"]
    assert cancelled["actor"] == "system"
    assert cancelled["business_date"] == (created + timedelta(days=14)).isoformat()
    assert steps(m) == ["created", "signed", "cancelled"]
    assert m["client_confirmed_at"] is None and m["invoice"] is None and m["advance"] is None
    assert await declarations(stack, run.mission_id) == []
    assert await run.outbox() == []
    # The mission is closed: a late confirmation is refused and changes nothing.
    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/client-confirmation",
        json={"method": "too late"},
        headers=await stack.ops(),
    )
    assert r.status_code == 409, r.text
    assert (await run.get())["client_confirmed_at"] is None
    await assert_books(stack, run.mission_id, invoices=0, payouts=0, kinds=[])
    await record_history(run, "never_confirmed")


async def set_declaration_gateway(stack: Stack, failure_rate: float) -> None:
    async with stack.db.session() as session:
        await session.merge(
            GatewaySetting(name="declaration", failure_rate=failure_rate, latency_seconds=0)
        )


@pytest.fixture
async def failing_gateway(stack: Stack) -> AsyncIterator[None]:
    """The simulated declaration gateway refuses everything until the test says otherwise."""
    await set_declaration_gateway(stack, 1.0)
    try:
        yield
    finally:
        await set_declaration_gateway(stack, 0.0)


def attention_events(m: dict) -> list[dict]:
    return [t for t in m["timeline"] if t["step"] == "needs_attention"]


async def retry(run: Run) -> int:
    r = await run.stack.http.post(
        f"/api/missions/{run.mission_id}/retry",
        json={"reason": "gateway back?"},
        headers=await run.stack.ops(),
    )
    return r.status_code


async def test_gateway_failing_needs_attention_then_ops_retry(
    stack: Stack, failing_gateway: None
) -> None:
    run = await new_run(stack)
    assert await retry(run) == 409, "nothing to retry on a healthy mission"
    await run.sign()
    await run.confirm()

    m = await run.wait(lambda m: m["needs_attention"])
    assert m["stage"] == "declaration"
    assert m["attention_step"] == "declaration"
    assert "declaration gateway unavailable" in m["attention_reason"]
    assert len(attention_events(m)) == 1
    assert attention_events(m)[0]["detail"]["attempts"] == 3
    assert await declarations(stack, run.mission_id) == []
    listed = await stack.http.get(
        "/api/missions", params={"needs_attention": "true"}, headers=await stack.ops()
    )
    assert run.mission_id in [x["id"] for x in listed.json()]
    # Only ops may ask for a retry.
    r = await stack.http.post(f"/api/missions/{run.mission_id}/retry", headers=run.member_headers)
    assert r.status_code == 403, r.text

    # Retry while the gateway still fails: the step runs again and is flagged again.
    assert await retry(run) == 200
    m = await run.wait(lambda m: m["needs_attention"] and len(attention_events(m)) == 2)
    assert m["attention_step"] == "declaration" and m["stage"] == "declaration"
    assert steps(m).count("retry") == 1
    assert await declarations(stack, run.mission_id) == []

    await set_declaration_gateway(stack, 0.0)
    assert await retry(run) == 200
    m = await run.wait(lambda m: m["stage"] == "in_progress")
    assert m["needs_attention"] is False
    assert m["attention_step"] is None and m["attention_reason"] is None
    assert steps(m).count("retry") == 2 and steps(m).count("declaration_accepted") == 1
    assert await declarations(stack, run.mission_id) == ["in"]
    assert await retry(run) == 409, "nothing left to retry"

    # And the mission goes on to the end.
    await skip_to(stack, date.fromisoformat(m["end_date"]))
    await run.wait(lambda m: m["stage"] == "work_report")
    await run.report(3)
    m = await run.wait(lambda m: m["invoice"] is not None)
    await wait_emails(run, ["invoice"])  # the invoice (PDF attached) has gone out
    await run.pay(m["invoice"]["total_incl_vat"])
    await run.wait(lambda m: m["stage"] == "paid")
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"
    m = await run.get()
    assert m["advance"]["source"] == "client" and m["needs_attention"] is False
    assert_timeline(
        m,
        "created",
        "signed",
        "client_confirmed",
        "needs_attention",
        "retry",
        "needs_attention",
        "retry",
        "declaration_accepted",
        "work_report_due",
        "work_reported",
        "invoiced",
        "email_sent",
        {"client_payment", "paid"},
        "salary_paid",
    )
    await wait_emails(run, ["invoice"])
    await assert_books(
        stack, run.mission_id, kinds=["invoice_issued", "client_payment", "salary_paid"]
    )
    await record_history(run, "gateway_retry")


async def test_work_report_taken_while_the_declaration_waits(
    stack: Stack, failing_gateway: None
) -> None:
    """Issue 13, defect 9: the workflow behind the calendar (here its declaration step waits for
    ops; a worker catching up after an outage is the same) still takes the report of ended work.
    It used to answer "no work report is expected at stage declaration"."""
    run = await new_run(stack)
    await run.sign()
    await run.confirm()
    m = await run.wait(lambda m: m["needs_attention"])
    assert m["stage"] == "declaration"
    await skip_to(stack, date.fromisoformat(m["end_date"]) + timedelta(days=1))

    await run.report(2)
    m = await run.get()
    assert m["days_worked"] == 2 and steps(m).count("work_reported") == 1

    await set_declaration_gateway(stack, 0.0)
    assert await retry(run) == 200
    m = await run.wait(lambda m: m["invoice"] is not None)
    assert m["days_worked"] == 2 and steps(m).count("work_reported") == 1
    templates = [e["template"] for e in await run.outbox()]
    assert "work_report_reminder" not in templates, "no reminder for a report already in"


async def test_cancelled_while_needing_attention(stack: Stack, failing_gateway: None) -> None:
    run = await new_run(stack)
    await run.sign()
    await run.confirm()
    await run.wait(lambda m: m["needs_attention"])

    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/cancel",
        json={"reason": "no declaration possible in time"},
        headers=await stack.ops(),
    )
    assert r.status_code == 200, r.text
    assert await run.result() == "cancelled"
    m = await run.get()
    assert m["stage"] == "cancelled" and m["needs_attention"] is False
    assert m["cancel_reason"] == "no declaration possible in time"
    assert steps(m)[-2:] == ["cancel_requested", "cancelled"]
    assert await declarations(stack, run.mission_id) == [], "nothing was filed, nothing to cancel"
    assert await retry(run) == 409
    await assert_books(stack, run.mission_id, invoices=0, payouts=0, kinds=[])
    await record_history(run, "cancelled_while_needing_attention")


async def test_cancelled_before_start(stack: Stack) -> None:
    run = await new_run(stack, start_in=3)
    await run.sign()
    await run.confirm()
    m = await run.wait(lambda m: m["stage"] == "in_progress")
    assert await declarations(stack, run.mission_id) == ["in"]
    await skip_to(stack, date.fromisoformat(m["start_date"]) - timedelta(days=1))

    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/cancel",
        json={"reason": "the festival is postponed"},
        headers=run.member_headers,
    )
    assert r.status_code == 200, r.text
    assert await run.result() == "cancelled"
    m = await run.get()
    assert m["stage"] == "cancelled"
    assert m["cancel_reason"] == "the festival is postponed"
    cancelled = event(m, "cancelled")
    assert cancelled["detail"]["reason"] == "the festival is postponed"
    assert cancelled["actor"].startswith("member:")
    assert_timeline(
        m,
        "created",
        "signed",
        "client_confirmed",
        "declaration_accepted",
        "declaration_cancelled",
        "cancelled",
    )
    assert await declarations(stack, run.mission_id) == ["in", "cancel"]
    assert m["invoice"] is None and m["advance"] is None
    assert await run.outbox() == []
    # A second cancellation of a closed mission is refused.
    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/cancel",
        json={"reason": "again"},
        headers=run.member_headers,
    )
    assert r.status_code == 409, r.text
    await assert_books(stack, run.mission_id, invoices=0, payouts=0, kinds=[])
    await record_history(run, "cancelled_before_start")


async def test_cancel_after_start_is_refused(stack: Stack) -> None:
    run = await new_run(stack, start_in=2)
    await run.sign()
    await run.confirm()
    m = await run.wait(lambda m: m["stage"] == "in_progress")
    await skip_to(stack, date.fromisoformat(m["start_date"]))
    assert await workflow_today(stack) == date.fromisoformat(m["start_date"])

    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/cancel",
        json={"reason": "changed my mind"},
        headers=run.member_headers,
    )
    assert r.status_code == 409, r.text
    assert "the work has started" in r.text
    m = await run.get()
    assert m["stage"] == "in_progress" and m["cancel_reason"] is None
    assert "cancelled" not in steps(m)
    assert await declarations(stack, run.mission_id) == ["in"]
    # The refusal left the workflow on its way: it still asks for the work report.
    await skip_to(stack, date.fromisoformat(m["end_date"]))
    await run.wait(lambda m: m["stage"] == "work_report")


async def test_late_work_report_reminded_then_flagged(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_work_report()
    end = date.fromisoformat(m["end_date"])

    await skip_to(stack, end + timedelta(days=3))
    emails = await wait_emails(run, ["reminder_1"])
    m = await run.get()
    assert emails[0]["template"] == "work_report_reminder"
    assert emails[0]["recipient"] == run.member["email"]
    assert m["needs_attention"] is False and m["stage"] == "work_report"

    # Three reminders unanswered: ops see it, but only the member can move it on.
    await skip_to(stack, end + timedelta(days=17))
    m = await run.wait(lambda m: m["needs_attention"])
    assert m["attention_step"] == "work_report"
    assert "3 reminders" in m["attention_reason"]
    await wait_emails(run, ["reminder_1", "reminder_2", "reminder_3"])
    r = await stack.http.post(f"/api/missions/{run.mission_id}/retry", headers=await stack.ops())
    assert r.status_code == 409 and "waits for the member" in r.text, r.text

    await run.report(2)
    m = await run.wait(lambda m: m["invoice"] is not None)
    assert m["needs_attention"] is False and m["attention_step"] is None
    assert m["invoice"]["issue_date"] == (end + timedelta(days=17)).isoformat()

    # The client's first dunning reminder is a different email from the member's first reminder.
    await skip_to(stack, date.fromisoformat(m["invoice"]["due_date"]) + timedelta(days=7))
    m = await run.wait(lambda m: m["dunning_level"] == 1)
    emails = await wait_emails(
        run, ["reminder_1", "reminder_2", "reminder_3", "invoice", "reminder_1"]
    )
    assert len({(e["template"], e["step"]) for e in emails}) == 5
    m = await run.wait(lambda m: steps(m).count("email_sent") == 5)
    outbox_ids = sorted(
        t["detail"]["outbox_id"] for t in m["timeline"] if t["step"] == "email_sent"
    )
    assert outbox_ids == sorted(e["id"] for e in emails), "every email on the timeline"

    await run.pay(m["invoice"]["balance"])  # the principal plus the charges of reminder 1
    await run.wait(lambda m: m["stage"] == "paid")
    assert await run.result() == "paid"
    await assert_books(
        stack,
        run.mission_id,
        kinds=["invoice_issued", "salary_paid", "late_charges", "client_payment"],
    )
    await record_history(run, "late_work_report")
