"""Lifecycle paths that end in money: paid early, paid late, dunned, partly paid, written off.

One mission per test on the time-skipping server: the test skips business days forward with
`skip_to` (timers fire on the way) and reads the outcome through the API and the database.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from tests.conftest import Stack
from tests.workflows.conftest import (
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
FULL_PAYMENT = {"client_payment", "paid"}  # one transaction: the payment marks the mission paid


def due(m: dict) -> date:
    return date.fromisoformat(m["invoice"]["due_date"])


async def test_paid_before_day_7(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced(3, [{"label": "train", "amount": "45.50"}])
    inv = m["invoice"]
    assert inv["number"].startswith(f"F{date.fromisoformat(inv['issue_date']).year}-")
    assert inv["issue_date"] == m["end_date"]
    assert due(m) == date.fromisoformat(inv["issue_date"]) + timedelta(days=30)
    # The expense is invoiced grossed up for the fee: 45.50 / 0.935 = 48.66.
    assert Decimal(inv["total_excl_vat"]) == Decimal("1048.66")
    assert Decimal(inv["total_incl_vat"]) == Decimal("1268.88")  # 21 % VAT
    assert inv["balance"] == inv["total_incl_vat"] and inv["status"] == "open"
    assert m["advance"] is None

    await run.pay(inv["total_incl_vat"])
    m = await run.wait(lambda m: m["stage"] == "paid")
    assert m["advance"] is None, "the salary waits for day 7 even when the client paid"
    assert m["invoice"]["balance"] == "0.00" and m["invoice"]["status"] == "paid"

    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"
    m = await run.get()
    assert m["stage"] == "paid"
    assert m["needs_attention"] is False and m["dunning_level"] == 0
    assert m["advance"]["source"] == "client"
    assert m["advance"]["paid_on"] == m["pay_date"]
    assert Decimal(m["advance"]["net_amount"]) > 0
    assert Decimal(m["advance"]["expenses"]) == Decimal("45.50")
    assert_timeline(m, *LIFECYCLE_START, FULL_PAYMENT, "salary_paid")
    assert event(m, "salary_paid")["business_date"] == m["pay_date"]
    emails = await wait_emails(run, ["invoice"])
    assert emails[0]["recipient"] == run.client["email"]
    assert inv["number"] in emails[0]["body"] or inv["number"] in emails[0]["subject"]
    await assert_books(
        stack, run.mission_id, kinds=["invoice_issued", "client_payment", "salary_paid"]
    )
    await record_history(run, "paid_before_day_7")


async def test_paid_after_the_advance(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    before = await fund(stack)

    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    m = await run.wait(lambda m: m["advance"] is not None)
    assert m["advance"]["source"] == "fund"
    assert m["advance"]["paid_on"] == m["pay_date"]
    assert m["stage"] == "invoiced"
    assert "fund" in event(m, "salary_paid")["detail"]["note"]
    advanced = await fund(stack)
    assert advanced["outstanding_advances"]["count"] == (
        before["outstanding_advances"]["count"] + 1
    )

    await run.pay(m["invoice"]["total_incl_vat"])
    m = await run.wait(lambda m: m["stage"] == "paid")
    assert await run.result() == "paid"
    m = await run.get()
    assert m["invoice"]["balance"] == "0.00" and m["invoice"]["status"] == "paid"
    assert m["dunning_level"] == 0
    assert m["advance"]["source"] == "fund", "the advance is not paid a second time"
    assert_timeline(m, *LIFECYCLE_START, "salary_paid", FULL_PAYMENT)
    settled = await fund(stack)
    assert settled["outstanding_advances"]["count"] == before["outstanding_advances"]["count"]
    await wait_emails(run, ["invoice"])
    await assert_books(
        stack, run.mission_id, kinds=["invoice_issued", "salary_paid", "client_payment"]
    )
    await record_history(run, "paid_after_advance")


async def test_paid_after_reminder_2(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()

    await skip_to(stack, due(m) + timedelta(days=7))
    m = await run.wait(lambda m: m["dunning_level"] == 1)
    assert m["stage"] == "dunning"
    await wait_emails(run, ["invoice", "reminder_1"])

    await skip_to(stack, due(m) + timedelta(days=21))
    m = await run.wait(lambda m: m["dunning_level"] == 2)
    assert m["stage"] == "dunning"
    emails = await wait_emails(run, ["invoice", "reminder_1", "reminder_2"])
    for e in emails:
        assert e["recipient"] == run.client["email"]
    assert {e["template"] for e in emails} == {
        "invoice",
        "dunning_reminder_1",
        "dunning_reminder_2",
    }
    r2 = event(m, "reminder_2")
    assert r2["business_date"] == (due(m) + timedelta(days=21)).isoformat()
    # A business client owes, by the law of 2 Aug 2002, 40 EUR once and interest from due + 1.
    rung1, rung2 = m["dunning_steps"]
    assert rung1["regime"] == "b2b" and rung1["fixed_compensation"] == "40.00"
    assert Decimal(rung1["interest"]) > 0 and Decimal(rung2["interest"]) > 0
    assert rung2["fixed_compensation"] == "0.00" and rung2["penalty"] == "0.00"
    assert "2 Aug 2002" in rung1["rule"]
    charges = sum(Decimal(r[k]) for r in (rung1, rung2) for k in ("fixed_compensation", "interest"))
    total = Decimal(m["invoice"]["total_incl_vat"])
    assert r2["detail"]["balance"] == m["invoice"]["balance"] == f"{total + charges:.2f}"
    assert m["invoice"]["principal_open"] == f"{total:.2f}"
    assert Decimal(m["invoice"]["costs_open"]) == Decimal("40.00")

    await run.pay(m["invoice"]["balance"])
    m = await run.wait(lambda m: m["stage"] == "paid")
    assert await run.result() == "paid"
    m = await run.get()
    assert m["dunning_level"] == 2
    assert m["invoice"]["status"] == "paid" and m["invoice"]["balance"] == "0.00"
    assert m["advance"]["source"] == "fund"
    assert_timeline(
        m,
        *LIFECYCLE_START,
        "salary_paid",
        "reminder_1",
        "email_sent",
        "reminder_2",
        "email_sent",
        FULL_PAYMENT,
    )
    assert "formal_notice" not in steps(m)
    await wait_emails(run, ["invoice", "reminder_1", "reminder_2"])
    await assert_books(
        stack,
        run.mission_id,
        kinds=["invoice_issued", "salary_paid", "late_charges", "late_charges", "client_payment"],
    )
    await record_history(run, "paid_after_reminder_2")


async def test_partial_then_full_payment(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    total = Decimal(m["invoice"]["total_incl_vat"])

    await skip_to(stack, due(m) + timedelta(days=7))
    m = await run.wait(lambda m: m["dunning_level"] == 1)
    b1 = Decimal(m["invoice"]["balance"])  # the principal plus what reminder 1 charged
    assert b1 > total

    await run.pay("500.00")
    m = await run.wait(lambda m: m["invoice"]["balance"] == f"{b1 - 500:.2f}")
    assert m["invoice"]["status"] == "open"
    # Costs, then interest, then principal: the charges of reminder 1 are paid first.
    assert m["invoice"]["costs_open"] == "0.00" and m["invoice"]["interest_open"] == "0.00"
    assert m["invoice"]["principal_open"] == f"{b1 - 500:.2f}"
    # A partial payment does not stop the ladder: the next reminder asks for what is left.
    await skip_to(stack, due(m) + timedelta(days=21))
    m = await run.wait(lambda m: m["dunning_level"] == 2)
    assert m["stage"] == "dunning"
    b2 = b1 - 500 + Decimal(m["dunning_steps"][1]["interest"])
    assert event(m, "reminder_2")["detail"]["balance"] == f"{b2:.2f}"

    await run.pay("200.00")
    m = await run.wait(lambda m: m["invoice"]["balance"] == f"{b2 - 200:.2f}")
    assert m["stage"] == "dunning"

    await run.pay(b2 - 200)
    m = await run.wait(lambda m: m["stage"] == "paid")
    assert await run.result() == "paid"
    m = await run.get()
    assert m["invoice"]["balance"] == "0.00" and m["invoice"]["status"] == "paid"
    assert m["dunning_level"] == 2
    payments = [t for t in m["timeline"] if t["step"] == "client_payment"]
    assert [p["detail"]["balance"] for p in payments] == [
        f"{b1 - 500:.2f}",
        f"{b2 - 200:.2f}",
        "0.00",
    ]
    assert_timeline(
        m,
        *LIFECYCLE_START,
        "salary_paid",
        "reminder_1",
        "email_sent",
        "client_payment",
        "reminder_2",
        "email_sent",
        "client_payment",
        FULL_PAYMENT,
    )
    await wait_emails(run, ["invoice", "reminder_1", "reminder_2"])
    await assert_books(
        stack,
        run.mission_id,
        kinds=[
            "invoice_issued",
            "salary_paid",
            "late_charges",
            "client_payment",
            "late_charges",
            "client_payment",
            "client_payment",
        ],
    )
    await record_history(run, "partial_then_full_payment")


async def test_never_paid_is_written_off(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    inv = m["invoice"]

    await skip_to(stack, due(m) + timedelta(days=35))
    m = await run.wait(lambda m: m["dunning_level"] == 3)
    assert m["stage"] == "dunning" and m["advance"]["source"] == "fund"
    before = Decimal((await fund(stack))["balance"])

    await skip_to(stack, due(m) + timedelta(days=65))
    assert await run.result() == "written_off"
    m = await run.get()
    assert m["stage"] == "written_off"
    assert m["invoice"]["status"] == "written_off"
    assert m["invoice"]["principal_open"] == inv["total_incl_vat"], "nothing was received"
    charges = Decimal(m["invoice"]["interest_open"]) + Decimal(m["invoice"]["costs_open"])
    assert Decimal(m["invoice"]["balance"]) == Decimal(inv["total_incl_vat"]) + charges
    written_off = event(m, "written_off")
    assert written_off["business_date"] == (due(m) + timedelta(days=65)).isoformat()
    assert written_off["detail"]["amount"] == inv["total_incl_vat"]
    assert written_off["detail"]["charges_reversed"] == f"{charges:.2f}"
    # The end of the ladder is not a certain loss: no VAT comes back, the fund absorbs it all.
    assert written_off["detail"]["cause"] == "dunning_exhausted"
    assert written_off["detail"]["vat_recovered"] == "0.00"
    after = Decimal((await fund(stack))["balance"])
    assert before - after == Decimal(inv["total_incl_vat"])
    # The member keeps the salary: still one payout, never reversed.
    assert m["advance"]["source"] == "fund" and m["advance"]["paid_on"] == m["pay_date"]
    emails = await wait_emails(
        run, ["invoice", "reminder_1", "reminder_2", "formal_notice", "write_off"]
    )
    notice = next(e for e in emails if e["step"] == "write_off")
    assert notice["template"] == "write_off_notice"
    assert notice["recipient"] == run.member["email"]
    assert_timeline(
        m,
        *LIFECYCLE_START,
        "salary_paid",
        "reminder_1",
        "email_sent",
        "reminder_2",
        "email_sent",
        "formal_notice",
        "email_sent",
        "written_off",
        "email_sent",
    )
    await assert_books(
        stack,
        run.mission_id,
        # Three rungs, then the interest that ran on from the formal notice to the write-off
        # date (issue 12 §5), claimed and reversed with the other charges.
        kinds=["invoice_issued", "salary_paid", *["late_charges"] * 4, "write_off"],
    )
    last = m["dunning_steps"][-1]
    assert last["step"] == "write_off" and Decimal(last["interest"]) > 0
    assert last["business_date"] == written_off["business_date"]
    accrued = sum(Decimal(r["interest"]) for r in m["dunning_steps"])
    assert written_off["detail"]["interest_to_write_off"] == f"{accrued:.2f}"
    assert m["invoice"]["late_interest"]["accrued"] == f"{accrued:.2f}"
    assert m["invoice"]["late_interest"]["as_of"] == written_off["business_date"]
    await record_history(run, "written_off")
