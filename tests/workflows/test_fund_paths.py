"""Lifecycle paths decided by the guarantee fund's rules: an advance the fund may not make waits,
visibly, and the salary is paid from the client's money when it comes.

One mission per test on the time-skipping server (see test_payment_paths.py for the method).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.conftest import Stack
from tests.workflows.conftest import (
    Run,
    assert_books,
    assert_timeline,
    event,
    fund,
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


async def test_salary_waits_for_a_non_eu_client(stack: Stack) -> None:
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
    m = await run.to_invoiced()
    inv = m["invoice"]
    before = await fund(stack)

    # Salary day: the fund does not guarantee a client outside the EU; the timeline says why.
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    m = await run.wait(lambda m: "advance_withheld" in steps(m))
    withheld = event(m, "advance_withheld")
    assert withheld["business_date"] == m["pay_date"]
    assert withheld["detail"]["rule"] == "eu_client"
    assert "outside the EU (US)" in withheld["detail"]["reason"]
    assert m["advance"] is None and m["stage"] == "invoiced"
    waiting = await fund(stack)
    assert waiting["outstanding_advances"] == before["outstanding_advances"]
    assert waiting["available"] == before["available"], "the fund advanced nothing"

    # The client pays: the salary is paid at once, from the client's money.
    await run.pay(inv["total_incl_vat"])
    m = await run.wait(lambda m: m["advance"] is not None)
    assert m["advance"]["source"] == "client"
    assert Decimal(m["advance"]["net_amount"]) > 0
    assert await run.result() == "paid"
    m = await run.get()
    assert m["stage"] == "paid" and m["invoice"]["status"] == "paid"
    assert m["needs_attention"] is False
    paid = event(m, "salary_paid")
    assert paid["detail"]["source"] == "client" and paid["detail"]["fund_advance"] == "0.00"
    assert_timeline(
        m, *LIFECYCLE_START, "advance_withheld", {"client_payment", "paid"}, "salary_paid"
    )
    after = await fund(stack)
    assert after["outstanding_advances"] == before["outstanding_advances"]
    assert all(row["client_id"] != client["id"] for row in after["exposure_by_client"])
    await wait_emails(run, ["invoice"])
    await assert_books(
        stack, run.mission_id, kinds=["invoice_issued", "client_payment", "salary_paid"]
    )
    await record_history(run, "salary_waits_for_non_eu_client")
