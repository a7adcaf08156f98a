"""Credit notes through the API, on a mission driven to "invoiced" by its real workflow
(time-skipping server: one mission per test)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from core.db import Database
from services import collection
from tests.api.conftest import assert_refused
from tests.conftest import Stack
from tests.workflows.conftest import assert_books, new_run, skip_to


def _url(invoice_id: int | str) -> str:
    return f"/api/invoices/{invoice_id}/credit-notes"


def _keyed(headers: dict[str, str]) -> dict[str, str]:
    """Credit notes require an Idempotency-Key: a new one per note meant."""
    return {**headers, "Idempotency-Key": f"credit-{uuid.uuid4()}"}


async def _invoice(stack: Stack, invoice_id: int, headers: dict[str, str]) -> dict[str, Any]:
    r = await stack.http.get(f"/api/invoices/{invoice_id}", headers=headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_full_credit_note_settles_the_mission(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    issued = m["invoice"]
    r = await stack.http.post(
        _url(issued["id"]),
        json={"full": True, "reason": "the festival was cancelled"},
        headers=_keyed(await stack.ops()),
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["number"].startswith(f"C{date.fromisoformat(note['issue_date']).year}-")
    assert note["invoice_number"] == issued["number"]
    assert note["reason"] == "the festival was cancelled"
    # Its PDF and, the client being a business, its e-credit note (381) are stored with it.
    made = {d["kind"]: d for d in note["documents"]}
    assert set(made) == {"credit_note", "ubl_credit_note"}, note
    xml = await stack.http.get(made["ubl_credit_note"]["url"], headers=run.member_headers)
    assert b"<cbc:CreditNoteTypeCode>381</cbc:CreditNoteTypeCode>" in xml.content
    assert issued["number"].encode() in xml.content
    pdf = await stack.http.get(made["credit_note"]["url"], headers=run.member_headers)
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    assert (note["amount_excl_vat"], note["vat_amount"], note["amount_incl_vat"]) == (
        issued["total_excl_vat"],
        issued["vat_amount"],
        issued["total_incl_vat"],
    )
    # The workflow hears it like a payment, settles its collection, and finds no salary due.
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    assert await run.result() == "paid"
    m = await run.get()
    assert m["stage"] == "paid"
    invoice = m["invoice"]
    for key in ("number", "total_excl_vat", "vat_amount", "total_incl_vat", "due_date"):
        assert invoice[key] == issued[key], key
    assert (invoice["status"], invoice["balance"]) == ("credited", "0.00")
    assert [n["number"] for n in invoice["credit_notes"]] == [note["number"]]
    assert invoice["vat_category"] == "S" and invoice["vat_mention"] is None
    assert m["advance"]["source"] == "credited" and m["advance"]["net_amount"] == "0.00"
    # The member sees their own invoice, lines and credit note included.
    mine = await _invoice(stack, issued["id"], run.member_headers)
    assert mine["status"] == "credited" and mine["lines"]
    assert mine["credit_notes"][0]["amount_incl_vat"] == issued["total_incl_vat"]
    await assert_books(stack, run.mission_id, kinds=["invoice_issued", "credit_note"], payouts=1)


async def test_bad_credit_notes_are_refused_and_change_nothing(stack: Stack) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    invoice_id = m["invoice"]["id"]
    total = m["invoice"]["total_incl_vat"]
    above = f"{Decimal(total) + Decimal('0.01'):.2f}"
    ops = await stack.ops()
    before = await _invoice(stack, invoice_id, ops)

    async def post(body: Any, headers: dict[str, str] = ops, target: Any = invoice_id) -> Any:
        return await stack.http.post(_url(target), json=body, headers=_keyed(headers))

    reason = "wrong number of days"
    first = assert_refused(
        await post({"amount_incl_vat": above, "reason": reason}), 422, "amount_incl_vat"
    )
    assert f"at most {total}" in first["msg"]
    for amount, why in [
        ("1e3", "exponent"),
        ("0", "greater than 0"),
        ("0.00", "greater than 0"),
        ("-5.00", "negative"),
        ("12.345", "2 decimals"),
        ("NaN", "finite"),
        ("1_000", "separators"),
        ("", "required"),
    ]:
        refused = await post({"amount_incl_vat": amount, "reason": reason})
        assert_refused(refused, 422, "amount_incl_vat", why)
    assert_refused(await post({"amount_incl_vat": 12.5, "reason": reason}), 422, "amount_incl_vat")
    assert_refused(
        await post({"amount_incl_vat": "10.00", "full": True, "reason": reason}),
        422,
        "amount_incl_vat",
        "either",
    )
    assert_refused(await post({"reason": reason}), 422, "amount_incl_vat", "required")
    assert_refused(await post({"full": True, "reason": ""}), 422, "reason")
    assert_refused(await post({"full": True}), 422, "reason")
    assert_refused(await post({"full": True, "reason": reason, "status": "paid"}), 422, "status")
    # Without an Idempotency-Key (a retry could issue a second note), or with a bad one: refused.
    for bad_key in ({}, {"Idempotency-Key": ""}, {"Idempotency-Key": "k" * 101}):
        r = await stack.http.post(
            _url(invoice_id), json={"full": True, "reason": reason}, headers={**ops, **bad_key}
        )
        assert_refused(r, 422, None, "required" if not bad_key else "1 to 100")
        assert r.json()["detail"][0]["loc"] == ["header", "Idempotency-Key"]
    # Who may: ops only; a missing or absurd invoice id answers like a missing one.
    assert_refused(await post({"full": True, "reason": reason}, run.member_headers), 403, None)
    assert_refused(await post({"full": True, "reason": reason}, await stack.advisor()), 403, None)
    for missing in (999_999, 0, -1, 2**40):
        assert_refused(await post({"full": True, "reason": reason}, target=missing), 404, None)
    other, other_headers = await stack.new_member()
    r = await stack.http.get(f"/api/invoices/{invoice_id}", headers=other_headers)
    assert_refused(r, 404, None, "not found")
    # An unknown VAT rate never reaches an invoice: the mission is refused.
    client = await stack.new_client(other["id"])
    r = await stack.http.post(
        "/api/missions",
        json={
            "member_id": other["id"],
            "client_id": client["id"],
            "title": "Rate probe",
            "start_date": (await stack.today()).isoformat(),
            "end_date": (await stack.today()).isoformat(),
            "amount_excl_vat": "100.00",
            "vat_rate": "7",
            "contract_type": "ordinary",
        },
        headers=other_headers,
    )
    assert_refused(r, 422, "vat_rate", "not an allowed vat rate")

    after = await _invoice(stack, invoice_id, ops)
    assert after == before
    assert after["credit_notes"] == [] and after["balance"] == total
    await assert_books(stack, run.mission_id, kinds=["invoice_issued"], payouts=0)


async def test_written_off_invoice_cannot_be_credited(stack: Stack, db: Database) -> None:
    run = await new_run(stack)
    m = await run.to_invoiced()
    async with db.session() as session:
        await collection.write_off_invoice(session, run.mission_id, await stack.today())
    r = await stack.http.post(
        _url(m["invoice"]["id"]),
        json={"amount_incl_vat": "10.00", "reason": "goodwill"},
        headers=_keyed(await stack.ops()),
    )
    assert_refused(r, 409, "invoice_id", "written off")
    invoice = await _invoice(stack, m["invoice"]["id"], await stack.ops())
    assert invoice["status"] == "written_off" and invoice["credit_notes"] == []


async def test_ten_identical_credit_notes_issue_one(stack: Stack) -> None:
    """Issue 13 #6: 10 identical concurrent POSTs with one Idempotency-Key issue one note and get
    10 identical replies; the same key with another body is a 422 on the header."""
    run = await new_run(stack)
    m = await run.to_invoiced()
    invoice_id = m["invoice"]["id"]
    headers = {**await stack.ops(), "Idempotency-Key": f"credit-{uuid.uuid4()}"}
    body = {"amount_incl_vat": "10.00", "reason": "one day less"}
    replies = await asyncio.gather(
        *(stack.http.post(_url(invoice_id), json=body, headers=headers) for _ in range(10))
    )
    assert [r.status_code for r in replies] == [201] * 10, [r.text for r in replies]
    first = replies[0].json()
    assert all(r.json() == first for r in replies), [r.json() for r in replies]
    assert {d["kind"] for d in first["documents"]} == {"credit_note", "ubl_credit_note"}
    invoice = await _invoice(stack, invoice_id, headers)
    assert [n["number"] for n in invoice["credit_notes"]] == [first["number"]]
    # Later, the same again answers the same; another body with the same key is refused.
    again = await stack.http.post(_url(invoice_id), json=body, headers=headers)
    assert again.status_code == 201 and again.json() == first
    other = await stack.http.post(
        _url(invoice_id), json={**body, "amount_incl_vat": "20.00"}, headers=headers
    )
    refused = assert_refused(other, 422, None, "already used")
    assert refused["loc"] == ["header", "Idempotency-Key"]
    assert len((await _invoice(stack, invoice_id, headers))["credit_notes"]) == 1
