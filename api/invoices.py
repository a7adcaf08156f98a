"""Invoices and credit notes: GET /api/invoices/{id}, POST /api/invoices/{id}/credit-notes."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import APIRouter, Request
from pydantic import Field, StrictBool, StrictStr

from api.deps import IdempotencyKeyDep, OpsDep, SessionDep, SettingsDep, ViewerDep
from api.routes import _notify_payment
from api.schemas import Body
from core.errors import NotFound
from domain.errors import FieldError
from domain.money import parse_money
from services import documents, idempotency, invoicing, peppol, views
from services.clock import business_today, current_clock

router = APIRouter(prefix="/api")
log = logging.getLogger(__name__)


class CreditNoteCreate(Body):
    amount_incl_vat: StrictStr | None = Field(
        None, description='amount to credit incl. VAT, "121.00"; or "full": true'
    )
    full: StrictBool = Field(False, description="credit all of the invoice's open principal")
    reason: StrictStr = Field(description="why the invoice is corrected or cancelled")


@router.get("/invoices/{invoice_id}", tags=["money"])
async def get_invoice(invoice_id: int, session: SessionDep, viewer: ViewerDep) -> dict[str, Any]:
    """The invoice with its lines, VAT regime, open balance and credit notes (a member: own)."""
    invoice = await invoicing.visible_invoice(session, viewer, invoice_id)
    return await views.invoice_out(session, invoice)


@router.post("/invoices/{invoice_id}/credit-notes", status_code=201, tags=["money"])
async def create_credit_note(
    invoice_id: int,
    body: CreditNoteCreate,
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
    key: IdempotencyKeyDep,
) -> dict[str, Any]:
    """Ops: cancel all (`"full": true`) or part of an invoice's open principal.

    Requires an `Idempotency-Key` (422 without): the same request again answers the first reply
    and issues no second note."""
    if not 1 <= invoice_id <= 2**31 - 1:
        raise NotFound("invoice")
    guard = await idempotency.begin(session, viewer.user_id, key, request, body, required=True)
    if body.full and body.amount_incl_vat is not None:
        raise FieldError("amount_incl_vat", 'give either an amount or "full": true, not both')
    if not body.full and body.amount_incl_vat is None:
        raise FieldError("amount_incl_vat", 'is required unless "full" is true')
    amount = (
        None
        if body.amount_incl_vat is None
        else parse_money(body.amount_incl_vat, field="amount_incl_vat")
    )
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    note, invoice = await invoicing.issue_credit_note(
        session,
        invoice_id,
        amount_incl_vat=amount,
        full=body.full,
        reason=body.reason,
        issue_date=business_today(clock),
        actor=viewer.label,
        user_id=viewer.user_id,
    )
    out = views.credit_note_out(note, invoice)
    # Stored with the note; completed with its documents below (duplicates wait for that).
    await guard.store(session, 201, out, final=False)
    await session.commit()
    # The note is booked; its PDF and, for a business client, its e-credit note (sent over
    # Peppol) are stored once. A failure here is shown, not hidden: the note stands either way.
    try:
        made = await documents.credit_note_documents(
            request.app.state.db,
            invoice.mission_id,
            note.id,
            peppol.sender_for(settings),
            settings,
        )
        out["documents"] = [documents.document_out(d) for d in made]
    except Exception as err:  # noqa: BLE001 - reported in the answer and the log
        log.exception("credit note %s: documents not made", note.number)
        out["documents"] = []
        out["documents_error"] = f"the credit note's documents could not be made: {err}"
    await guard.finish(request.app.state.db, out)
    # Like a payment: the workflow settles its collection once the balance reaches 0.
    await _notify_payment(request, invoice.mission_id, 0, invoice.balance)
    return out
