"""Lifecycle paths decided by the guarantee fund's rules (issue 12): the rules gate the signature
(an advisor's approval or a client deposit clears them), and the salary of work done is paid on
its date whatever the client or the fund does (INV-6).

One mission per test on the time-skipping server (see test_payment_paths.py for the method).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select

from models import AuditEntry, Parameter
from services import fund as fund_service
from tests.conftest import Stack, unique
from tests.workflows.conftest import (
    Run,
    assert_books,
    assert_timeline,
    event,
    fund,
    new_run,
    record_history,
    skip_to,
    steps,
    wait_emails,
)

LIFECYCLE_START = [
    "created",
    "signed",
    "client_confirmed",
    "declaration_accepted",
    "work_report_due",
    "work_reported",
    "invoiced",
    "email_sent",
]


def due(m: dict[str, Any]) -> date:
    return date.fromisoformat(m["invoice"]["due_date"])


@asynccontextmanager
async def fund_rules_on(stack: Stack, day: date, floor: Decimal) -> AsyncIterator[None]:
    """The fund's floor at `floor` on business day `day` only; removed afterwards (the suite's
    tests share the database and, on their own servers, the same business dates)."""
    async with stack.db.session() as session:
        row = Parameter(
            key=fund_service.FUND_RULES,
            valid_from=day,
            valid_to=day,
            value={"floor": f"{floor:.2f}", "client_exposure_cap": "1000000000.00"},
            source="test: the fund at its floor on payday",
        )
        session.add(row)
        await session.commit()
        row_id = row.id
    try:
        yield
    finally:
        async with stack.db.session() as session:
            await session.execute(delete(Parameter).where(Parameter.id == row_id))
            await session.commit()


async def sign(run: Run) -> Any:
    return await run.stack.http.post(
        f"/api/missions/{run.mission_id}/sign", headers=run.member_headers
    )


def refused_on_guarantee(r: Any) -> str:
    assert r.status_code == 409, r.text
    [detail] = r.json()["detail"]
    assert detail["loc"] == ["body", "guarantee"]
    return str(detail["msg"])


async def test_salary_paid_on_its_date_when_the_client_never_pays_and_the_fund_is_at_its_floor(
    stack: Stack,
) -> None:
    """Issue 12's "done when": the client never pays, the fund is exactly at its floor on payday:
    the salary is paid on its date; the treasury covers the advance and ops get an alert."""
    run = await new_run(stack)
    m = await run.to_invoiced()
    assert m["guarantee"]["status"] == "guaranteed"
    pay_date = date.fromisoformat(m["pay_date"])
    assert pay_date <= date.fromisoformat(m["pay_due_date"])
    before = await fund(stack)
    floor = Decimal(before["available"])

    async with fund_rules_on(stack, pay_date, floor):
        await skip_to(stack, pay_date)
        m = await run.wait(lambda m: m["advance"] is not None)
    assert m["advance"]["source"] == "fund"
    assert m["advance"]["paid_on"] == m["pay_date"]
    paid = event(m, "salary_paid")
    advance = paid["detail"]["fund_advance"]
    assert Decimal(advance) > 0
    assert paid["detail"]["treasury_cover"] == advance, "at its floor: the treasury covers all"
    cover = event(m, "fund_below_floor")
    assert cover["business_date"] == m["pay_date"]
    assert cover["detail"]["covered_by_treasury"] == advance
    assert cover["detail"]["available_before"] == f"{floor:.2f}"
    report = await fund(stack)
    assert Decimal(report["available"]) == floor, "the fund is back at its floor"
    [alert] = [a for a in report["alerts"] if a["mission_id"] == run.mission_id]
    assert alert["kind"] == "below_floor" and alert["covered_by_treasury"] == advance
    assert Decimal(report["treasury_cover"]) - Decimal(before["treasury_cover"]) == Decimal(advance)

    # The client never pays: the ladder runs to the write-off; the member keeps the salary.
    await skip_to(stack, due(m) + timedelta(days=65))
    assert await run.result() == "written_off"
    m = await run.get()
    assert m["advance"]["source"] == "fund" and m["advance"]["paid_on"] == m["pay_date"]
    assert_timeline(
        m,
        *LIFECYCLE_START,
        {"fund_below_floor", "salary_paid"},
        "reminder_1",
        "email_sent",
        "reminder_2",
        "email_sent",
        "formal_notice",
        "email_sent",
        "written_off",
        "email_sent",
    )
    await wait_emails(run, ["invoice", "reminder_1", "reminder_2", "formal_notice", "write_off"])
    await assert_books(
        stack,
        run.mission_id,
        kinds=[
            "invoice_issued",
            "salary_paid",
            "treasury_cover",
            # three rungs, then the interest run on to the write-off date (domain.late_payment)
            *["late_charges"] * 4,
            "write_off",
        ],
    )
    await record_history(run, "salary_paid_with_the_fund_at_its_floor")


async def test_non_eu_client_needs_approval_before_signing(stack: Stack) -> None:
    """A client outside the EU: the member may not sign until their advisor approves; then the
    mission runs, and the salary is paid on its date although the client has not paid yet."""
    member, headers = await stack.new_member()
    client = await stack.new_client(
        member["id"], country="US", vat_number=None, address="1 Broadway, New York, NY 10004"
    )
    mission = await stack.new_mission(
        headers,
        member["id"],
        client["id"],
        start_in=2,
        length=3,
        vat_rate="0",
        vat_exemption="outside_eu_business",
    )
    run = Run(stack, mission["id"], member, headers, client)
    assert mission["guarantee"]["status"] == "needs_approval"
    assert [r["rule"] for r in mission["guarantee"]["reasons"]] == ["eu_client"]
    gate = event(mission, "guarantee_needs_approval")
    assert gate["detail"]["rules"] == ["eu_client"] and Decimal(gate["detail"]["required_deposit"])

    # Signing is refused, before the workflow is asked: nothing moves.
    message = refused_on_guarantee(await sign(run))
    assert "outside the EU (US)" in message and "advisor" in message
    m = await run.get()
    assert m["signed_at"] is None and m["stage"] == "contract"

    # Who may approve: not the member, not another advisor; a reason is required.
    approval = f"/api/missions/{run.mission_id}/guarantee/approval"
    r = await stack.http.post(approval, json={"reason": "I know them"}, headers=headers)
    assert r.status_code == 403, r.text
    other = await stack.staff("advisor")
    r = await stack.http.post(approval, json={"reason": "not mine"}, headers=other)
    assert r.status_code == 404, r.text
    r = await stack.http.post(approval, json={"reason": " "}, headers=await stack.advisor())
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]
    r = await stack.http.post(
        approval,
        json={"reason": "long-standing client, paid upfront before"},
        headers=await stack.advisor(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["guarantee"]["status"] == "approved"
    again = await stack.http.post(approval, json={"reason": "twice"}, headers=await stack.ops())
    assert again.status_code == 409, again.text
    async with stack.db.session() as session:
        audited = (
            await session.scalars(select(AuditEntry).where(AuditEntry.mission_id == run.mission_id))
        ).all()
    assert [(a.action, a.role) for a in audited] == [("guarantee_approved", "advisor")]
    assert audited[0].before == {
        "guarantee_status": "needs_approval",
        "guarantee_cleared_by": None,
        "guarantee_note": None,
    }

    # Now the member signs, and the mission runs; payday comes before the client pays.
    m = await run.to_invoiced()
    assert m["signed_at"] is not None
    assert steps(m)[:3] == ["created", "guarantee_needs_approval", "guarantee_cleared"]
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    m = await run.wait(lambda m: m["advance"] is not None)
    assert m["advance"]["source"] == "fund" and m["advance"]["paid_on"] == m["pay_date"]
    assert "advance_withheld" not in steps(m)

    await run.pay(m["invoice"]["total_incl_vat"])
    assert await run.result() == "paid"
    m = await run.get()
    assert m["stage"] == "paid" and m["advance"]["source"] == "fund"
    assert_timeline(
        m,
        "created",
        "guarantee_needs_approval",
        "guarantee_cleared",
        *LIFECYCLE_START[1:],
        "salary_paid",
        {"client_payment", "paid"},
    )
    await assert_books(
        stack, run.mission_id, kinds=["invoice_issued", "salary_paid", "client_payment"]
    )
    await record_history(run, "non_eu_client_approved_then_paid")


async def test_client_over_its_cap_signs_after_a_deposit(stack: Stack) -> None:
    """A mission whose expected salary cost alone passes the client cap: ops record the client's
    deposit (at least what the rules ask), then the member signs."""
    member, headers = await stack.new_member()
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(
        headers, member["id"], client["id"], start_in=2, length=3, amount="30000.00"
    )
    run = Run(stack, mission["id"], member, headers, client)
    assert mission["guarantee"]["status"] == "needs_approval"
    assert [r["rule"] for r in mission["guarantee"]["reasons"]] == ["client_cap"]
    required = Decimal(event(mission, "guarantee_needs_approval")["detail"]["required_deposit"])
    assert required == Decimal("28050.00")  # 30,000.00 less the 6.5 % fee, all of it
    refused_on_guarantee(await sign(run))

    deposits = f"/api/missions/{run.mission_id}/guarantee/deposits"
    reference = unique("DEP-")
    body = {"amount": "28049.99", "reference": reference, "reason": "client paid in advance"}
    r = await stack.http.post(deposits, json=body, headers=await stack.advisor())
    assert r.status_code == 403, r.text
    r = await stack.http.post(deposits, json=body, headers=await stack.ops())
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "amount"]
    assert "28050.00" in r.json()["detail"][0]["msg"]
    refused_on_guarantee(await sign(run))

    body["amount"] = "28050.00"
    r = await stack.http.post(deposits, json=body, headers=await stack.ops())
    assert r.status_code == 201, r.text
    assert r.json()["amount"] == "28050.00" and r.json()["required"] == "28050.00"
    same = await stack.http.post(deposits, json=body, headers=await stack.ops())
    assert same.status_code == 201 and same.json() == r.json(), "once per reference"
    m = await run.get()
    assert m["guarantee"]["status"] == "deposit"
    assert event(m, "guarantee_cleared")["detail"]["deposit"] == "28050.00"

    signed = await sign(run)
    assert signed.status_code == 200, signed.text
    assert signed.json()["signed_at"] is not None
    balances = {
        b["account"]: Decimal(b["balance"])
        for b in (await stack.http.get("/api/ledger/balances", headers=await stack.ops())).json()
    }
    assert balances["client_deposits"] <= Decimal("-28050.00")
    assert sum(balances.values()) == 0
