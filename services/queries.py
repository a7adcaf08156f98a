"""Read-side queries and the JSON shapes the API answers with."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import NotFound
from models import (
    Client,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Member,
    Mission,
    OutboxEmail,
    Payment,
)
from services.access import Viewer, scope_clients, scope_missions, sees_member
from services.collection import SuspensePosition, suspense_filter
from services.missions import S


def member_out(member: Member) -> dict[str, Any]:
    return {
        "id": member.id,
        "name": member.name,
        "email": member.email,
        "iban": member.iban,
        "national_number": member.national_number,
        "language": member.language,
    }


def client_out(client: Client) -> dict[str, Any]:
    return {
        "id": client.id,
        "name": client.name,
        "email": client.email,
        "email_valid": client.email_valid,
        "kind": client.kind,
        "country": client.country,
        "address": client.address,
        "vat_number": client.vat_number,
        "language": client.language,
        "member_id": client.owner_member_id,
    }


def payment_out(
    payment: Payment, invoice: Invoice | None, suspense: SuspensePosition | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": payment.id,
        "amount": f"{payment.amount:.2f}",
        "received_on": payment.received_on.isoformat(),
        "structured_communication": payment.structured_communication,
        "bank_transaction_id": payment.bank_transaction_id,
        "matched": payment.matched,
        "invoice_id": payment.invoice_id,
        "communication": payment.communication,
    }
    if suspense is not None:
        # INV-7: the bank line is booked whole, applied to invoices or held in suspense.
        out["applied"] = f"{suspense.applied:.2f}"
        out["suspense"] = f"{suspense.open:.2f}"
        out["refunded"] = f"{suspense.refunded:.2f}"
        out["suspense_reason"] = suspense.reason if suspense.open > 0 else None
    if invoice is not None:
        out["invoice_number"] = invoice.number
        out["invoice_balance"] = f"{invoice.balance:.2f}"
        out["invoice_status"] = invoice.status
    return out


async def visible_member(session: AsyncSession, viewer: Viewer, member_id: int) -> Member:
    if not 1 <= member_id <= 2**31 - 1:
        raise NotFound("member")
    member = await session.get(Member, member_id)
    if member is None or not await sees_member(session, viewer, member.id):
        raise NotFound("member")
    return member


async def list_clients(
    session: AsyncSession, viewer: Viewer, limit: int, offset: int
) -> list[Client]:
    query = scope_clients(select(Client).order_by(Client.id), viewer)
    return list((await session.scalars(query.limit(limit).offset(offset))).all())


async def mission_ledger(session: AsyncSession, mission_id: int) -> list[dict[str, Any]]:
    txns = (
        await session.scalars(
            select(LedgerTransaction)
            .where(LedgerTransaction.mission_id == mission_id)
            .order_by(LedgerTransaction.id)
        )
    ).all()
    entries = (
        await session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.transaction_id.in_([t.id for t in txns]))
            .order_by(LedgerEntry.id)
        )
    ).all()
    by_txn: dict[int, list[dict[str, Any]]] = {}
    for e in entries:
        by_txn.setdefault(e.transaction_id, []).append(
            {"account": e.account, "amount": f"{e.amount:.2f}", "client_id": e.client_id}
        )
    return [
        {
            "id": t.id,
            "event_key": t.event_key,
            "kind": t.kind,
            "business_date": t.business_date.isoformat(),
            "description": t.description,
            "entries": by_txn.get(t.id, []),
        }
        for t in txns
    ]


def scope_emails(query: S, viewer: Viewer) -> S:
    """Emails the viewer may read: an advisor those of the missions of their members (an email
    of no mission, e.g. an IBAN notice, is ops only); ops every email."""
    if viewer.sees_everyone:
        return query
    return query.where(OutboxEmail.mission_id.in_(scope_missions(select(Mission.id), viewer)))


def scope_payments(query: S, viewer: Viewer) -> S:
    """Payments the viewer may see: an advisor those matched to an invoice of a mission of their
    members; a payment in suspense (matched to no invoice) concerns no member yet: ops only."""
    if viewer.sees_everyone:
        return query
    invoices = scope_missions(
        select(Invoice.id).join(Mission, Mission.id == Invoice.mission_id), viewer
    )
    return query.where(Payment.invoice_id.in_(invoices))


async def payments(
    session: AsyncSession, viewer: Viewer, matched: bool | None, suspense: bool | None = None
) -> list[Payment]:
    """The latest 500 payments the viewer may see, `matched` or not, with money in suspense
    or not."""
    query = scope_payments(select(Payment).order_by(Payment.id.desc()), viewer)
    if matched is not None:
        query = query.where(Payment.matched.is_(matched))
    query = suspense_filter(query, suspense)
    return list((await session.scalars(query.limit(500))).all())


async def outbox(
    session: AsyncSession, viewer: Viewer, mission_id: int | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    query = scope_emails(select(OutboxEmail).order_by(OutboxEmail.id.desc()), viewer)
    if mission_id is not None:
        query = query.where(OutboxEmail.mission_id == mission_id)
    rows = (await session.scalars(query.limit(limit).offset(offset))).all()
    return [
        {
            "id": e.id,
            "mission_id": e.mission_id,
            "template": e.template,
            "step": e.step,
            "language": e.language,
            "recipient": e.recipient,
            "subject": e.subject,
            "body": e.body,
            "status": e.status,
            "provider_message_id": e.provider_message_id,
            "created_at": e.created_at.isoformat(),
        }
        for e in rows
    ]


async def ping(session: AsyncSession) -> None:
    await session.execute(text("SELECT 1"))
