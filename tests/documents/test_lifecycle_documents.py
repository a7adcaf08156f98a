"""Documents made by the workflow's activities, end to end on the time-skipping server.

A consumer who never pays walks the whole ladder: every document a mission can produce exists
once, in the client's or the member's language, the letters go out attached to their emails, and
the files are served by the API to the right people only. A business client's invoice also leaves
as a Peppol e-invoice (the outbox sender).
"""

from __future__ import annotations

import hashlib
import subprocess
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from documents.validation import fatal_errors
from models import Document, EmailAttachment, OutboxEmail, PeppolMessage
from tests.conftest import Stack
from tests.workflows.conftest import Run, skip_to, wait_emails
from tests.workflows.test_payment_paths import due


async def _run(stack: Stack, **client: Any) -> Run:
    member, headers = await stack.new_member(language="nl")
    made = await stack.new_client(member["id"], **client)
    mission = await stack.new_mission(headers, member["id"], made["id"], start_in=2, length=3)
    return Run(stack, mission["id"], member, headers, made)


async def _documents(run: Run, headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await run.stack.http.get(f"/api/missions/{run.mission_id}/documents", headers=headers)
    assert r.status_code == 200, r.text
    return list(r.json())


def _text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    )
    return out.stdout.decode()


async def test_every_document_of_a_written_off_consumer_mission(stack: Stack) -> None:
    run = await _run(stack, kind="consumer", vat_number=None, language="fr")
    m = await run.to_invoiced()
    await skip_to(stack, due(m) + timedelta(days=65))
    assert await run.result() == "written_off"
    await wait_emails(run, ["invoice", "reminder_1", "reminder_2", "formal_notice", "write_off"])

    docs = await _documents(run, run.member_headers)
    by_kind = {d["kind"]: d for d in docs}
    assert sorted(by_kind) == sorted(
        [
            "order_form",
            "contract",
            "payslip_estimate",
            "invoice",
            "reminder_1",
            "reminder_2",
            "formal_notice",
            "write_off_notice",
            "payslip",  # the salary advanced on day 7
        ]
    ), "a consumer gets no e-invoice; every other document exists once"
    assert len(docs) == len(by_kind)
    # Client documents in the client's language, member documents in the member's.
    for kind in ("order_form", "invoice", "reminder_1", "reminder_2", "formal_notice"):
        assert by_kind[kind]["language"] == "fr" and by_kind[kind]["audience"] == "client"
    for kind in ("contract", "payslip_estimate", "write_off_notice", "payslip"):
        assert by_kind[kind]["language"] == "nl" and by_kind[kind]["audience"] == "member"

    # The file is the stored file: same bytes, same hash, every time.
    invoice = by_kind["invoice"]
    first = await stack.http.get(invoice["url"], headers=run.member_headers)
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(first.content).hexdigest() == invoice["sha256"]
    assert first.headers["etag"] == f'"{invoice["sha256"]}"'
    again = await stack.http.get(invoice["url"], headers=await stack.ops())
    assert again.content == first.content
    cached = await stack.http.get(
        invoice["url"], headers={**run.member_headers, "If-None-Match": first.headers["etag"]}
    )
    assert cached.status_code == 304
    assert m["invoice"]["number"] in _text(first.content)

    # B2C formal notice: the Book XIX content (the amount, and what will be claimed after 14 days).
    notice = await stack.http.get(by_kind["formal_notice"]["url"], headers=run.member_headers)
    assert "14" in _text(notice.content)

    # The letters went out attached to their emails, each exactly once.
    async with stack.db.session() as session:
        rows = (
            await session.execute(
                select(OutboxEmail.step, Document.kind)
                .join(EmailAttachment, EmailAttachment.email_id == OutboxEmail.id)
                .join(Document, Document.id == EmailAttachment.document_id)
                .where(OutboxEmail.mission_id == run.mission_id)
            )
        ).all()
    assert sorted(rows) == sorted(
        [
            ("invoice", "invoice"),
            ("reminder_1", "reminder_1"),
            ("reminder_2", "reminder_2"),
            ("formal_notice", "formal_notice"),
            ("write_off", "write_off_notice"),
        ]
    )

    # Someone else's documents answer 404, exactly like missing ones.
    _, stranger = await stack.new_member()
    r = await stack.http.get(f"/api/missions/{run.mission_id}/documents", headers=stranger)
    assert r.status_code == 404
    r = await stack.http.get(invoice["url"], headers=stranger)
    missing = await stack.http.get("/api/documents/2147483647", headers=stranger)
    assert r.status_code == missing.status_code == 404
    assert r.json() == missing.json()


async def test_business_invoice_leaves_as_a_peppol_e_invoice(stack: Stack) -> None:
    run = await _run(stack)  # a Belgian business client
    m = await run.to_invoiced()
    docs = {d["kind"]: d for d in await _documents(run, await stack.advisor())}
    assert {"order_form", "contract", "payslip_estimate", "invoice", "ubl_invoice"} <= set(docs)
    xml = await stack.http.get(docs["ubl_invoice"]["url"], headers=run.member_headers)
    assert xml.status_code == 200 and xml.headers["content-type"].startswith("application/xml")
    assert fatal_errors(xml.content) == []
    assert m["invoice"]["number"].encode() in xml.content
    async with stack.db.session() as session:
        sent = list(
            await session.scalars(
                select(PeppolMessage).where(PeppolMessage.mission_id == run.mission_id)
            )
        )
    assert [(p.status, p.receiver_scheme, p.document_id) for p in sent] == [
        ("stored", "0208", docs["ubl_invoice"]["id"])
    ]
