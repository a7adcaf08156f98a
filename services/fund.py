"""The guarantee fund: what it holds and what it has advanced that clients still owe."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    Invoice,
    Payout,
)
from services import ledger


async def guarantee_fund(session: AsyncSession) -> dict[str, object]:
    """The fund's balance (what it holds) and the salaries it advanced that clients still owe."""
    fund = -await ledger.account_balance(session, "guarantee_fund")
    rows = (
        await session.execute(
            select(Payout, Invoice)
            .join(Invoice, (Invoice.mission_id == Payout.mission_id) & (Invoice.kind == "invoice"))
            .where(Payout.source == "fund", Invoice.status == "open")
        )
    ).all()
    outstanding = sum(
        (min(p.net_amount + p.expenses + _withheld(p), inv.balance) for p, inv in rows),
        Decimal("0.00"),
    )
    return {
        "balance": f"{fund:.2f}",
        "outstanding_advances": {"count": len(rows), "amount": f"{outstanding:.2f}"},
    }


def _withheld(payout: Payout) -> Decimal:
    """What the coop paid on the member's behalf besides the net: contributions and tax."""
    p = payout.payroll
    return sum(
        (
            Decimal(p.get(k, "0"))
            for k in ("employer_contributions", "employee_contributions", "withholding_tax")
        ),
        Decimal("0.00"),
    )
