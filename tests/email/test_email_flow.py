"""The send_email activity through a real worker whose mailer is SendGrid (the local fake)."""

from __future__ import annotations

from sqlalchemy import select

from models import OutboxEmail
from tests.conftest import Stack
from tests.email.conftest import FakeSendGrid, Reply
from tests.workflows.conftest import new_run, steps


async def _outbox_row(stack: Stack, mission_id: int, step: str) -> OutboxEmail:
    async with stack.db.session() as session:
        row = await session.scalar(
            select(OutboxEmail).where(
                OutboxEmail.mission_id == mission_id, OutboxEmail.step == step
            )
        )
    assert row is not None
    return row


async def test_invoice_email_refused_flags_the_mission_then_ops_retry_sends_it(
    sendgrid_stack: Stack, fake_sendgrid: FakeSendGrid
) -> None:
    stack = sendgrid_stack
    fake_sendgrid.default = Reply(
        400, body={"errors": [{"message": "Does not contain a valid address."}]}
    )
    run = await new_run(stack)
    await run.to_invoiced()

    m = await run.wait(lambda m: m["needs_attention"])
    assert m["attention_step"] == "email:invoice"
    assert "SendGrid refused the email (400)" in m["attention_reason"]
    assert "valid address" in m["attention_reason"]
    assert "email_sent" not in steps(m)
    # Non-retryable: one request only, whatever the step's retry policy allows.
    assert len(fake_sendgrid.requests) == 1
    sent = fake_sendgrid.requests[0].body
    assert sent["personalizations"][0]["to"] == [{"email": run.client["email"]}]
    assert sent["personalizations"][0]["custom_args"]["mission_id"] == str(run.mission_id)
    row = await _outbox_row(stack, run.mission_id, "invoice")
    assert row.status == "failed" and row.provider == "sendgrid"
    assert row.provider_message_id is None
    assert sent["personalizations"][0]["custom_args"]["outbox_id"] == str(row.id)

    # The provider takes it now: ops retry sends that same email (same outbox row), once.
    fake_sendgrid.default = None
    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/retry",
        json={"reason": "address checked"},
        headers=await stack.ops(),
    )
    assert r.status_code == 200, r.text
    m = await run.wait(lambda m: not m["needs_attention"] and "email_sent" in steps(m))
    assert len(fake_sendgrid.requests) == 2
    assert fake_sendgrid.requests[1].body == sent
    row = await _outbox_row(stack, run.mission_id, "invoice")
    assert row.status == "sent"
    assert row.provider_message_id == fake_sendgrid.message_ids[0]
    emails = await run.outbox()
    assert [(e["step"], e["status"]) for e in emails] == [("invoice", "sent")]


async def test_server_errors_are_retried_by_the_activity(
    sendgrid_stack: Stack, fake_sendgrid: FakeSendGrid
) -> None:
    stack = sendgrid_stack
    fake_sendgrid.script = [Reply(503), Reply(500)]  # the third attempt gets 202
    run = await new_run(stack)
    await run.to_invoiced()
    m = await run.wait(lambda m: "email_sent" in steps(m))
    assert not m["needs_attention"]
    assert len(fake_sendgrid.requests) == 3
    assert fake_sendgrid.requests[0].body == fake_sendgrid.requests[2].body
    row = await _outbox_row(stack, run.mission_id, "invoice")
    assert row.status == "sent" and row.provider_message_id == fake_sendgrid.message_ids[0]
