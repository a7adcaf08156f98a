"""Double-entry ledger: one balanced transaction per business event, at most once per event key.

Rows are append-only: migration 0006 installs triggers that refuse any UPDATE or DELETE of
`ledger_transactions` and `ledger_entries` (PostgreSQL and SQLite alike). A correction is a new,
reversing transaction, never an edit.

Balances are read from running sums that `post` keeps in the posting's own database transaction
(migration 0014), so that no page sums the whole ledger: `ledger_balances` per account and, for
the fund's advances, `fund_advance_balances` per mission and client, `fund_client_exposures` per
client and `fund_member_exposures` per member. Each is what the lines sum to, by construction:
lines are only ever inserted by `post`, which adds them to the sums in the same transaction.
The sums' rows are hot (every payment moves `bank`): `post` locks them in one order (accounts
sorted by name, then the advance rows: mission, client, member) as the last locks of its
transaction — the lock order everywhere is the mission, its invoice, the fund (`fund.lock`), then
these rows — so that concurrent postings wait for each other instead of deadlocking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from models import (
    FundAdvanceBalance,
    FundClientExposure,
    FundMemberExposure,
    LedgerBalance,
    LedgerEntry,
    LedgerTransaction,
    Mission,
)

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
    # Artists' ONVA/RJV holiday contribution and the CSSS advance (both due to the ONSS, kept
    # apart because they are declared and regularised apart: yearly and quarterly).
    "holiday_contributions_payable",
    "special_contribution_payable",
    "withholding_tax_payable",
    "vat_payable",
    "fee_income",
    "late_fee_income",
    "bad_debt_expense",
    # Issue 12: the cooperative's own reserves cover the fund below its floor (wages are always
    # paid), and client deposits held for a mission the fund would not guarantee alone.
    "coop_treasury",
    "client_deposits",
    # Issue 13 (INV-7): money from the bank held in suspense that ops chose to pay back, until
    # it leaves the bank (a credit-balance account: the refund queue).
    "refunds_payable",
)
# The fund's advances are also summed per mission and client (services/fund.py): each of their
# lines must say which client owes it and the transaction which mission it was advanced on.
ADVANCES = "fund_advances"


# Every kind of business event that may move an account; post() refuses any other kind, so no
# account moves without a known event. A new event kind is added here, with its posting rule.
EVENT_KINDS = frozenset(
    {
        "invoice_issued",  # Dr receivables / Cr VAT, fee income, fund share, salary payable
        "salary_paid",  # Dr salary payable / Cr bank, contributions, tax (+ the fund's advance)
        "client_payment",  # Dr bank / Cr receivables (+ the fund's advance reimbursed)
        "payment_suspense",  # Dr bank / Cr suspense: a payment (or its rest) no invoice took
        "suspense_refund",  # Dr suspense / Cr refunds payable: ops queue it to be paid back
        "late_charges",  # Dr receivables / Cr late-fee income: interest and fixed charges
        "credit_note",  # the reverse of (part of) an invoice
        "write_off",  # Cr receivables / Dr the fund (and VAT when the loss is certain)
        "recovery",  # Dr bank / Cr the fund (and VAT due again): a payment after write-off
        "fund_top_up",  # Dr bank / Cr the fund
        "payroll_true_up",  # contributions and tax corrected; the net difference paid or borne
        "treasury_cover",  # Dr coop treasury / Cr the fund: an advance took it below its floor
        "client_deposit",  # Dr bank / Cr client deposits: clears a mission's guarantee gate
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
        if line.account == ADVANCES and (line.client_id is None or mission_id is None):
            raise UnbalancedTransaction(f"{event_key}: a fund advance needs its mission and client")
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
    await _add_to_balances(session, kept, mission_id)
    return txn


async def _add_to_balances(
    session: AsyncSession, lines: Sequence[Line], mission_id: int | None
) -> None:
    """Add a posting's lines to the running balances (see the module's docstring)."""
    per_account: dict[str, Decimal] = {}
    per_client: dict[int, Decimal] = {}
    for line in lines:
        per_account[line.account] = per_account.get(line.account, Decimal("0")) + line.amount
        if line.account == ADVANCES:
            assert line.client_id is not None  # checked by post()
            per_client[line.client_id] = per_client.get(line.client_id, Decimal("0")) + line.amount
    # Sorted: every posting locks the rows it moves in the same order.
    accounts = [(account, amount) for account, amount in sorted(per_account.items()) if amount]
    if accounts:
        await _add(session, LedgerBalance, "account", "balance", accounts)
    clients = [(client_id, amount) for client_id, amount in sorted(per_client.items()) if amount]
    if not clients:
        return
    assert mission_id is not None  # checked by post()
    await _add(
        session,
        FundAdvanceBalance,
        "client_id",
        "amount",
        clients,
        {"mission_id": mission_id},
    )
    await _add(session, FundClientExposure, "client_id", "amount", clients)
    member_id = await session.scalar(select(Mission.member_id).where(Mission.id == mission_id))
    total = sum((amount for _, amount in clients), Decimal("0"))
    if member_id is not None and total:
        await _add(session, FundMemberExposure, "member_id", "amount", [(member_id, total)])


SummedRow = LedgerBalance | FundAdvanceBalance | FundClientExposure | FundMemberExposure


async def _add(
    session: AsyncSession,
    model: type[SummedRow],
    key: str,
    column: str,
    amounts: Sequence[tuple[object, Decimal]],
    fixed: Mapping[str, object] | None = None,
) -> None:
    """Add each amount to its row's `column` (the row made if new), in the order given."""
    fixed = dict(fixed or {})
    rows = [{**fixed, key: value, column: amount} for value, amount in amounts]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(model).values(rows)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[*fixed, key],
            set_={column: getattr(model, column) + getattr(statement.excluded, column)},
        )
    )


async def balances(session: AsyncSession) -> dict[str, Decimal]:
    """Balance of every account of the chart, zero included."""
    rows = await session.execute(select(LedgerBalance.account, LedgerBalance.balance))
    result = {account: Decimal("0.00") for account in ACCOUNTS}
    for account, amount in rows:
        result[account] = Decimal(amount or 0).quantize(Decimal("0.01"))
    return result


async def account_balance(session: AsyncSession, account: str) -> Decimal:
    amount = await session.scalar(
        select(LedgerBalance.balance).where(LedgerBalance.account == account)
    )
    return Decimal(amount or 0).quantize(Decimal("0.01"))
