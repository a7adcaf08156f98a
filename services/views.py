"""Read models: the mission, its invoice and credit notes as the JSON API and the pages show them.

They read across the write-side services (missions, invoicing, collection, payroll); none of
those imports this module, so reads never close an import cycle."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from domain.calendar import iso_text
from domain.money import money_text
from models import CreditNote, DunningStep, Expense, Invoice, Mission, Payout, TimelineEvent
from services import payroll
from services.collection import interest_json
from services.invoicing import credit_notes_of
from services.missions import mission_summary


def credit_note_out(note: CreditNote, invoice: Invoice) -> dict[str, Any]:
    return {
        "id": note.id,
        "number": note.number,
        "issue_date": note.issue_date.isoformat(),
        "invoice_id": invoice.id,
        "invoice_number": invoice.number,
        "full": note.full,
        "reason": note.reason,
        "vat_rate": money_text(note.vat_rate),
        "vat_category": note.vat_category,
        "amount_excl_vat": money_text(note.amount_excl_vat),
        "vat_amount": money_text(note.vat_amount),
        "amount_incl_vat": money_text(note.amount_incl_vat),
    }


async def invoice_extras(session: AsyncSession, invoice: Invoice) -> dict[str, Any]:
    """What the mission page adds to its invoice: the VAT regime and the credit notes, and the
    late-payment interest accrued to date (services.collection.interest_json)."""
    return {
        "vat_category": invoice.vat_category,
        "vat_mention": invoice.vat_mention,
        "vat_exemption": invoice.vat_exemption,
        "vat_exemption_code": invoice.vat_exemption_code,
        # The client's VAT number as checked at issue time; "not_checked" says no proof exists.
        "vat_check": None
        if invoice.vat_check_status is None
        else {
            "status": invoice.vat_check_status,
            "checked_at": None
            if invoice.vat_checked_at is None
            else invoice.vat_checked_at.isoformat(),
            "reference": invoice.vat_check_reference,
            **(invoice.vat_check_detail or {}),
        },
        "credit_notes": [
            credit_note_out(n, invoice) for n in await credit_notes_of(session, invoice.id)
        ],
        "late_interest": await interest_json(session, invoice),
    }


async def invoice_out(session: AsyncSession, invoice: Invoice) -> dict[str, Any]:
    """The invoice as issued, its lines and VAT regime, its open balance and credit notes."""
    return {
        "id": invoice.id,
        "mission_id": invoice.mission_id,
        "client_id": invoice.client_id,
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat(),
        "structured_communication": invoice.structured_communication,
        "lines": invoice.lines,
        "vat_rate": money_text(invoice.vat_rate),
        "total_excl_vat": money_text(invoice.total_excl_vat),
        "vat_amount": money_text(invoice.vat_amount),
        "total_incl_vat": money_text(invoice.total_incl_vat),
        "balance": money_text(invoice.balance),
        "principal_open": money_text(invoice.principal_open),
        "interest_open": money_text(invoice.interest_open),
        "costs_open": money_text(invoice.costs_open),
        "status": invoice.status,
        "paid_on": None if invoice.paid_on is None else invoice.paid_on.isoformat(),
        **await invoice_extras(session, invoice),
    }


async def mission_detail(session: AsyncSession, mission: Mission) -> dict[str, Any]:
    """The mission as the API shows it: stage, timeline, invoice, advance."""
    timeline = (
        await session.scalars(
            select(TimelineEvent)
            .where(TimelineEvent.mission_id == mission.id)
            .order_by(TimelineEvent.occurred_at, TimelineEvent.id)
        )
    ).all()
    invoice = await session.scalar(
        select(Invoice).where(Invoice.mission_id == mission.id, Invoice.kind == "invoice")
    )
    payout = await session.scalar(select(Payout).where(Payout.mission_id == mission.id))
    corrections = await payroll.true_ups(session, payout.id) if payout is not None else []
    dunning = (
        await session.scalars(
            select(DunningStep)
            .where(DunningStep.mission_id == mission.id)
            .order_by(DunningStep.level)
        )
    ).all()
    expenses = (
        await session.scalars(
            select(Expense).where(Expense.mission_id == mission.id).order_by(Expense.position)
        )
    ).all()
    return {
        **mission_summary(mission),
        "signed_at": iso_text(mission.signed_at),
        "client_confirmed_at": iso_text(mission.client_confirmed_at),
        "client_confirmation_method": mission.client_confirmation_method,
        "days_worked": mission.days_worked,
        "expenses": [{"label": e.label, "amount": money_text(e.amount)} for e in expenses],
        "cancel_reason": mission.cancel_reason,
        "estimate": mission.estimate,
        "guarantee": {
            "status": mission.guarantee_status,
            "reasons": mission.guarantee_reasons or [],
            "cleared_by": mission.guarantee_cleared_by,
            "cleared_at": iso_text(mission.guarantee_cleared_at),
            "note": mission.guarantee_note,
        },
        "workflow_id": mission.workflow_id,
        # False until Temporal confirmed the start (the worker's sweep retries it).
        "workflow_started": mission.workflow_started_at is not None,
        "timeline": [
            {
                "step": t.step,
                "key": t.key,
                "occurred_at": iso_text(t.occurred_at),
                "business_date": iso_text(t.business_date),
                "actor": t.actor,
                "detail": t.detail or {},
            }
            for t in timeline
        ],
        "invoice": None
        if invoice is None
        else {
            "id": invoice.id,
            "number": invoice.number,
            "issue_date": iso_text(invoice.issue_date),
            "due_date": iso_text(invoice.due_date),
            "total_excl_vat": money_text(invoice.total_excl_vat),
            "vat_amount": money_text(invoice.vat_amount),
            "total_incl_vat": money_text(invoice.total_incl_vat),
            "structured_communication": invoice.structured_communication,
            "balance": money_text(invoice.balance),
            "principal_open": money_text(invoice.principal_open),
            "interest_open": money_text(invoice.interest_open),
            "costs_open": money_text(invoice.costs_open),
            "status": invoice.status,
            "paid_on": iso_text(invoice.paid_on),
            **await invoice_extras(session, invoice),  # VAT regime, credit notes
        },
        "dunning_steps": [
            {
                "level": d.level,
                "step": d.step,
                "regime": d.regime,
                "business_date": iso_text(d.business_date),
                # The day its letter really left (None: not yet); its period counts from it.
                "sent_on": iso_text(d.sent_on),
                "fixed_compensation": money_text(d.fixed_compensation),
                "interest": money_text(d.interest),
                "penalty": money_text(d.penalty),
                "reminder_fee": money_text(d.reminder_fee),
                "rule": d.rule,
            }
            for d in dunning
        ],
        "advance": None
        if payout is None
        else {
            "paid_on": iso_text(payout.paid_on),
            "net_amount": money_text(payout.net_amount),
            "gross_salary": money_text(payout.gross_salary),
            "expenses": money_text(payout.expenses),
            "source": payout.source,
            # The final payroll as paid, then each later correction: never an edit.
            "payroll": payout.payroll,
            "true_ups": [
                {
                    "sequence": t.sequence,
                    "business_date": iso_text(t.business_date),
                    "reason": t.reason,
                    "net_salary_delta": money_text(t.net_salary_delta),
                    "corrected": t.corrected,
                }
                for t in corrections
            ],
            "current": {
                k: money_text(v) for k, v in payroll.current_payroll(payout, corrections).items()
            },
        },
    }
