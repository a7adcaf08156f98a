"""Double-entry ledger: one balanced transaction per business event, at most once per event key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models import LedgerEntry, LedgerTransaction

# Chart of accounts. Balances are debits minus credits; a credit-balance account reads negative.
ACCOUNTS = (
    "bank",
    "client_receivables",
    "payments_suspense",
    "guarantee_fund",
    "member_salary_payable",
    "social_contributions_payable",
    "withholding_tax_payable",
    "vat_payable",
    "fee_income",
    "late_fee_income",
    "bad_debt_expense",
)


@dataclass(frozen=True)
class Line:
    account: str
    amount: Decimal  # debit positive, credit negative
    client_id: int | None = None


class UnbalancedTransaction(ValueError):
    pass


async def post(
    session: AsyncSession,
    *,
    event_key: str,
    kind: str,
    business_date: date,
    description: str,
    lines: Sequence[Line],
    mission_id: int | None = None,
) -> LedgerTransaction:
    """Record a business event's money movement; a second call with the same key is a no-op."""
    existing = await session.scalar(
        select(LedgerTransaction).where(LedgerTransaction.event_key == event_key)
    )
    if existing is not None:
        return existing
    kept = [line for line in lines if line.amount != 0]
    if not kept:
        raise UnbalancedTransaction(f"{event_key}: a transaction needs at least one movement")
    total = sum((line.amount for line in kept), Decimal("0"))
    if total != 0:
        raise UnbalancedTransaction(f"{event_key}: debits and credits differ by {total}")
    for line in kept:
        if line.account not in ACCOUNTS:
            raise UnbalancedTransaction(f"{event_key}: unknown account {line.account}")
        if line.amount != line.amount.quantize(Decimal("0.01")):
            raise UnbalancedTransaction(f"{event_key}: {line.amount} is not in cents")
    txn = LedgerTransaction(
        event_key=event_key,
        kind=kind,
        mission_id=mission_id,
        business_date=business_date,
        description=description,
    )
    session.add(txn)
    await session.flush()
    session.add_all(
        LedgerEntry(
            transaction_id=txn.id,
            account=line.account,
            client_id=line.client_id,
            amount=line.amount,
        )
        for line in kept
    )
    await session.flush()
    return txn


async def balances(session: AsyncSession) -> dict[str, Decimal]:
    """Balance of every account of the chart, zero included."""
    rows = await session.execute(
        select(LedgerEntry.account, func.sum(LedgerEntry.amount)).group_by(LedgerEntry.account)
    )
    result = {account: Decimal("0.00") for account in ACCOUNTS}
    for account, amount in rows:
        result[account] = Decimal(amount or 0).quantize(Decimal("0.01"))
    return result


async def account_balance(session: AsyncSession, account: str) -> Decimal:
    amount = await session.scalar(
        select(func.sum(LedgerEntry.amount)).where(LedgerEntry.account == account)
    )
    return Decimal(amount or 0).quantize(Decimal("0.01"))
