"""Double-entry ledger: one balanced transaction per business event, at most once per event key.

Rows are append-only: migration 0006 installs triggers that refuse any UPDATE or DELETE of
`ledger_transactions` and `ledger_entries` (PostgreSQL and SQLite alike). A correction is a new,
reversing transaction, never an edit.
"""

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
    # The guarantee fund's resources, split in two (see services/fund.py): what it may still
    # advance (`guarantee_fund`) and what it has advanced and clients still owe (`fund_advances`).
    # Both are credit-balance accounts.
    "guarantee_fund",
    "fund_advances",
    "member_salary_payable",
    "social_contributions_payable",
    "withholding_tax_payable",
    "vat_payable",
    "fee_income",
    "late_fee_income",
    "bad_debt_expense",
)


# Every kind of business event that may move an account; post() refuses any other kind, so no
# account moves without a known event. A new event kind is added here, with its posting rule.
EVENT_KINDS = frozenset(
    {
        "invoice_issued",  # Dr receivables / Cr VAT, fee income, fund share, salary payable
        "salary_paid",  # Dr salary payable / Cr bank, contributions, tax (+ the fund's advance)
        "client_payment",  # Dr bank / Cr receivables (+ the fund's advance reimbursed)
        "payment_suspense",  # Dr bank / Cr suspense: a payment that matched no invoice
        "late_charges",  # Dr receivables / Cr late-fee income: interest and fixed charges
        "credit_note",  # the reverse of (part of) an invoice
        "write_off",  # Cr receivables / Dr the fund (and VAT when the loss is certain)
        "recovery",  # Dr bank / Cr the fund (and VAT due again): a payment after write-off
        "fund_top_up",  # Dr bank / Cr the fund
        "payroll_true_up",  # contributions and tax corrected; the net difference paid or borne
    }
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
    if kind not in EVENT_KINDS:
        raise UnbalancedTransaction(
            f"{event_key}: unknown event kind {kind!r} (add it to services.ledger.EVENT_KINDS)"
        )
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
