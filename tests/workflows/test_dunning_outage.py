"""Issue 13 #2 (INV-8): a dunning letter that leaves late shifts the ladder behind it.

An email outage holds the first reminder for a month. Before the fix the ladder then caught up
within a second: the second reminder with its Book XIX penalty and the formal notice the same
day the first letter left, the write-off on its old date, and a payment arriving after that
date booked as a recovery. Now every waiting period counts from the day the letter really left.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from documents.kinds import DUNNING_KINDS
from models import Document, EmailAttachment, GatewaySetting, OutboxEmail
from tests.conftest import Stack
from tests.workflows.conftest import (
    Run,
    assert_books,
    record_history,
    skip_to,
    steps,
    wait_emails,
)

OUTAGE_DAYS = 30


async def set_email_gateway(stack: Stack, failure_rate: float) -> None:
    async with stack.db.session() as session:
        await session.merge(
            GatewaySetting(name="email", failure_rate=failure_rate, latency_seconds=0)
        )


async def letters(stack: Stack, mission_id: int) -> list[tuple[str, str | None]]:
    """The mission's dunning letters (document keys) and the email each went with."""
    async with stack.db.session() as session:
        rows = await session.execute(
            select(Document.key, OutboxEmail.step)
            .outerjoin(EmailAttachment, EmailAttachment.document_id == Document.id)
            .outerjoin(OutboxEmail, OutboxEmail.id == EmailAttachment.email_id)
            .where(Document.mission_id == mission_id, Document.kind.in_(DUNNING_KINDS))
            .order_by(Document.id)
        )
        return [(key, step) for key, step in rows.all()]


def day(m: dict, key: str) -> date:
    return date.fromisoformat(m[key])


async def test_letter_sent_late_shifts_the_ladder(stack: Stack) -> None:
    # A consumer: Book XIX gives 14 days from the first reminder before any cost (INV-8).
    member, headers = await stack.new_member()
    client = await stack.new_client(member["id"], kind="consumer", vat_number=None)
    mission = await stack.new_mission(headers, member["id"], client["id"], start_in=2, length=3)
    run = Run(stack, mission["id"], member, headers, client)
    m = await run.to_invoiced()
    due = date.fromisoformat(m["invoice"]["due_date"])

    # The first reminder comes due during an email outage: its rung is recorded, its letter
    # cannot leave, ops are asked to look.
    await set_email_gateway(stack, 1.0)
    try:
        await skip_to(stack, due + timedelta(days=7))
        m = await run.wait(lambda m: m["needs_attention"] and m["dunning_level"] == 1)
        assert m["attention_step"] == "email:reminder_1"
        # A month later the email service is back and ops retry: the letter leaves today.
        await skip_to(stack, due + timedelta(days=7 + OUTAGE_DAYS))
    finally:
        await set_email_gateway(stack, 0.0)
    r = await stack.http.post(
        f"/api/missions/{run.mission_id}/retry",
        json={"reason": "email service back"},
        headers=await stack.ops(),
    )
    assert r.status_code == 200, r.text
    await wait_emails(run, ["invoice", "reminder_1"])
    sent = due + timedelta(days=7 + OUTAGE_DAYS)

    # The second reminder keeps its 14 days after the day the first letter really left.
    await skip_to(stack, due + timedelta(days=21 + OUTAGE_DAYS + 1))
    m = await run.wait(lambda m: m["dunning_level"] >= 2)
    r1, r2 = m["dunning_steps"][:2]
    assert day(r1, "business_date") == due + timedelta(days=7)
    assert day(r2, "business_date") == sent + timedelta(days=14), (
        f"reminder 2 on {r2['business_date']}, the first letter left on {sent}: "
        "the ladder caught up instead of shifting"
    )
    assert r1.get("sent_on") == sent.isoformat()
    # Nothing charged before the Book XIX period (from the real sending day) has run.
    assert Decimal(r2["penalty"]) == Decimal(r2["reminder_fee"]) == Decimal("0.00")
    assert m["dunning_level"] == 2, "the formal notice waits for its own, shifted date"
    email_sent = [t for t in m["timeline"] if t["step"] == "email_sent"]
    assert email_sent[1]["business_date"] == sent.isoformat(), "the email is dated when it left"
    # The letter that left is dated the day it left; the one made for the failed attempt stays
    # for the record, attached to nothing.
    assert await letters(stack, run.mission_id) == [
        ("reminder_1", None),
        (f"reminder_1@{sent.isoformat()}", "reminder_1"),
        ("reminder_2", "reminder_2"),
    ]

    # The formal notice on its shifted date; then the client pays after the ladder's old
    # write-off date (due + 65) but before the shifted one: an ordinary payment.
    await skip_to(stack, due + timedelta(days=35 + OUTAGE_DAYS))
    m = await run.wait(lambda m: m["dunning_level"] == 3)
    notice = m["dunning_steps"][2]
    assert day(notice, "business_date") == due + timedelta(days=35 + OUTAGE_DAYS)
    assert day(notice, "business_date") >= day(m["dunning_steps"][1], "sent_on") + timedelta(14)
    await skip_to(stack, due + timedelta(days=65 + 5))
    m = await run.get()
    assert m["stage"] == "dunning" and "written_off" not in steps(m)
    await run.pay(m["invoice"]["balance"])
    m = await run.wait(lambda m: m["stage"] == "paid")
    assert await run.result() == "paid"
    m = await run.get()
    assert m["invoice"]["status"] == "paid"
    assert "recovery" not in steps(m), "paid before the write-off: no recovery"
    await assert_books(
        stack,
        run.mission_id,
        kinds=["invoice_issued", "salary_paid", *["late_charges"] * 1, "client_payment"],
    )
    await record_history(run, "dunning_letter_sent_late")
