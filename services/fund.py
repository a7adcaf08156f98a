"""The guarantee fund: what it holds, what it has advanced, and when it may advance a salary.

What the numbers mean, in ledger terms (services/ledger.py; a balance is debits minus credits,
so these credit-balance accounts read negative):

- `guarantee_fund` holds what the fund may still advance. **available = -balance(guarantee_fund)**.
- `fund_advances` holds what the fund has advanced on salaries whose client has not paid yet,
  line by line with the client (`client_id`) and the mission (the transaction's `mission_id`).
  **advances outstanding = -balance(fund_advances)**; a client's **exposure** is the same sum
  over that client's lines, a member's over their missions' transactions. `ledger.post` keeps
  these sums per mission and client in `fund_advance_balances` (and every account's balance in
  `ledger_balances`), so the fund's checks and pages read them instead of summing lines.
- **the fund's balance** (what it holds) = available + advances outstanding
  = fee shares + top-ups + recoveries - losses (write-offs, credit notes it bears).

Both accounts are the two halves of the fund's resources (equity-like, credit balance). An
advance does not make the fund poorer, it ties part of it up: the money left the bank in the
salary's own transaction (Cr bank), and the claim on the client is the receivable already on
the books (booking it a second time as an asset would count it twice). Only a write-off makes
the fund poorer, and a recovery after it refills the fund.

Each event is ONE balanced transaction, posted in the same database transaction as the state
change and idempotent by its event key; the fund's lines in each:

| event (kind)        | the fund's lines                                                    |
|---------------------|---------------------------------------------------------------------|
| invoice_issued      | Cr guarantee_fund: the fund's share of the fee                      |
| salary_paid         | if the client's money does not cover the salary cost S: the advance |
|                     | A = S - client money received; Dr guarantee_fund A / Cr fund_adv. A |
| client_payment      | the fund is reimbursed first: r = min(payment, the mission's        |
|                     | advance outstanding); Dr fund_advances r / Cr guarantee_fund r      |
| write_off (P)       | (charges reversed, Cr receivables); Dr vat_payable V (the VAT of    |
|                     | the principal P, only on a certain loss); Dr fund_advances A (closes|
|                     | the mission's advance); Dr guarantee_fund P - V - A (the rest)      |
| recovery (R)        | Dr bank R; Cr late_fee_income (charges, income again); Cr           |
|                     | vat_payable v (the VAT recovered at write-off, pro rata, due again);|
|                     | Cr guarantee_fund the rest of the principal                         |
| credit_note         | Dr fund_advances c (the member's part the fund bears after payday,  |
|                     | out of the advance first: c = min(that part, advance outstanding)); |
|                     | Dr guarantee_fund its fee share given back + the rest of that part  |
| fund_top_up         | Dr bank / Cr guarantee_fund                                         |

Rules (dated parameter `fund.rules`, migrations 0006 and 0019) decide **before signature**
whether the fund stands behind a mission (`gate_reasons`: a client outside the EU, the client's
exposure + this mission's expected salary cost over `client_exposure_cap`, or available - that
cost under `floor` + `near_floor_margin`); such a mission needs an advisor's approval or a client
deposit of `deposit_share` x its expected cost before the member may sign (services/missions.py,
services/guarantee.py). They never decide whether earned wages are paid (INV-6): on payday the
fund advances what the client has not paid, always. If that takes its available balance below
the floor, the cooperative's treasury covers the part of this advance below the floor in a
transaction of its own (`treasury_cover`: Dr coop_treasury / Cr guarantee_fund) and a
`fund_alerts` row tells ops (`cover_shortfall`). The advance itself stays whole, so a client
payment reimburses `fund_advances` exactly as before; whether the fund later pays the treasury
back is a board decision, not an automatic posting.

The decision and the payout are serialised by `lock()`: a transaction-scoped advisory lock on
PostgreSQL, held until commit, so that each advance sees the others' committed effect (SQLite
serialises writers by itself). A write-off takes the same lock; a loss may still take the fund
below its floor (it cannot be refused); the next advance is then covered by the treasury.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, exc, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError
from domain.errors import FieldError
from domain.identifiers import EU_COUNTRIES, clean_text
from domain.money import to_cents
from models import (
    Client,
    FundAdvanceBalance,
    FundAlert,
    FundClientExposure,
    FundMemberExposure,
    FundTopUp,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Member,
    Mission,
    WriteOff,
)
from services import ledger, parameters
from services.ledger import Line
from services.timeline import add_timeline

FUND_RULES = "fund.rules"
AVAILABLE = "guarantee_fund"
ADVANCES = ledger.ADVANCES
TREASURY = "coop_treasury"
DEPOSITS = "client_deposits"
BELOW_FLOOR = "below_floor"
ZERO = Decimal("0.00")

# One constant for the whole database: pg_advisory_xact_lock(LOCK_KEY) serialises the fund.
LOCK_KEY = 0x636F_6F70_6675_6E64  # "coopfund"

# Why an invoice is written off, and whether that makes the loss certain (VAT restitution,
# art. 77 §1 7° CTVA, domain.md §3.4). The end of the dunning ladder is not a certain loss.
WRITE_OFF_CAUSES: dict[str, tuple[bool, str]] = {
    "dunning_exhausted": (False, "dunning ladder exhausted without payment"),
    "bankruptcy": (True, "the client was declared bankrupt"),
    "judicial_reorganisation": (True, "a judicial reorganisation plan was homologated"),
    "proven_irrecoverable": (True, "proven irrecoverable: all remedies exhausted"),
}


@dataclass(frozen=True)
class FundRules:
    floor: Decimal
    client_exposure_cap: Decimal
    # Rows older than migration 0019 have no gate parameters: no margin above the floor, and a
    # deposit covering the mission's whole expected cost.
    near_floor_margin: Decimal
    deposit_share: Decimal
    valid_from: date


async def fund_rules(session: AsyncSession, on: date) -> FundRules:
    row = await parameters.dated_parameter(session, FUND_RULES, on)
    return FundRules(
        floor=Decimal(str(row.value["floor"])),
        client_exposure_cap=Decimal(str(row.value["client_exposure_cap"])),
        near_floor_margin=Decimal(str(row.value.get("near_floor_margin", "0.00"))),
        deposit_share=Decimal(str(row.value.get("deposit_share", "1"))),
        valid_from=row.valid_from,
    )


async def lock(session: AsyncSession) -> None:
    """Serialise every decision on the fund until the caller's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})


async def available(session: AsyncSession) -> Decimal:
    return -await ledger.account_balance(session, AVAILABLE)


async def advances_outstanding(session: AsyncSession) -> Decimal:
    return -await ledger.account_balance(session, ADVANCES)


async def client_exposure(session: AsyncSession, client_id: int) -> Decimal:
    """What the fund has advanced for this client's invoices and not got back."""
    amount = await session.scalar(
        select(FundClientExposure.amount).where(FundClientExposure.client_id == client_id)
    )
    return -(amount or ZERO)


async def mission_advance(session: AsyncSession, mission_id: int) -> Decimal:
    """What the fund has advanced on this mission's salary and not got back."""
    amount = await session.scalar(
        select(func.sum(FundAdvanceBalance.amount)).where(
            FundAdvanceBalance.mission_id == mission_id
        )
    )
    return -(amount or ZERO)


async def advances_per_mission(
    session: AsyncSession, missions: Select[Any] | None = None
) -> tuple[int, Decimal]:
    """How many missions (of `missions`, None: all) the fund has advanced on and not got back,
    and how much (a credit balance: negative)."""
    advance_sum = func.sum(FundAdvanceBalance.amount)
    # Only the rows still outstanding (a partial index): a mission owing nothing has none.
    owing = (
        select(FundAdvanceBalance.mission_id, advance_sum.label("amount"))
        .where(FundAdvanceBalance.amount != 0)
        .group_by(FundAdvanceBalance.mission_id)
        .having(advance_sum != 0)
    )
    if missions is not None:
        owing = owing.where(FundAdvanceBalance.mission_id.in_(missions))
    per_mission = owing.subquery()
    count, amount = (
        await session.execute(select(func.count(), func.sum(per_mission.c.amount)))
    ).one()
    return int(count), amount or ZERO


# ---------------------------------------------------------------- the gate before signature


@dataclass(frozen=True)
class GateReason:
    """Why the fund does not stand behind a mission by itself: `rule` is one of eu_client,
    client_cap, near_floor (pages translate by it); `facts` are the figures, as strings."""

    rule: str
    message: str
    facts: dict[str, str]

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "message": self.message, **self.facts}


async def expected_salary_cost(
    session: AsyncSession, amount_excl_vat: Decimal, on: date
) -> Decimal:
    """What the fund would advance on payday if the client paid nothing: the price less the
    coop's fee (the whole employment budget, as `payroll.pay_salary` computes its advance)."""
    params = await parameters.payroll_parameters(session, on)
    return amount_excl_vat - to_cents(amount_excl_vat * params.fee_rate)


async def gate_reasons(
    session: AsyncSession, client: Client, cost: Decimal, on: date
) -> list[GateReason]:
    """Why the fund's rules in force on `on` do not let a mission of expected salary cost `cost`
    for `client` go ahead by itself (empty: the fund guarantees it)."""
    rules = await fund_rules(session, on)
    reasons: list[GateReason] = []
    if client.country not in EU_COUNTRIES:
        reasons.append(
            GateReason(
                "eu_client",
                f"the client is based outside the EU ({client.country}): the guarantee fund "
                "cannot count on recovering an unpaid invoice there",
                {"country": client.country},
            )
        )
    exposure = await client_exposure(session, client.id)
    if exposure + cost > rules.client_exposure_cap:
        reasons.append(
            GateReason(
                "client_cap",
                f"the fund has advanced {exposure:.2f} EUR on this client's unpaid invoices; "
                f"this mission's {cost:.2f} EUR would pass its cap of "
                f"{rules.client_exposure_cap:.2f} EUR per client",
                {
                    "exposure": f"{exposure:.2f}",
                    "cap": f"{rules.client_exposure_cap:.2f}",
                    "expected_cost": f"{cost:.2f}",
                },
            )
        )
    free = await available(session)
    if free - cost < rules.floor + rules.near_floor_margin:
        reasons.append(
            GateReason(
                "near_floor",
                f"the fund has {free:.2f} EUR available; this mission's {cost:.2f} EUR would leave "
                f"it less than {rules.near_floor_margin:.2f} EUR above its floor of "
                f"{rules.floor:.2f} EUR",
                {
                    "available": f"{free:.2f}",
                    "floor": f"{rules.floor:.2f}",
                    "margin": f"{rules.near_floor_margin:.2f}",
                    "expected_cost": f"{cost:.2f}",
                },
            )
        )
    return reasons


async def required_deposit(session: AsyncSession, cost: Decimal, on: date) -> Decimal:
    """The client deposit that clears the gate: `deposit_share` of the expected salary cost."""
    rules = await fund_rules(session, on)
    return to_cents(cost * rules.deposit_share)


# ---------------------------------------------------------------- payday: always paid


async def cover_shortfall(
    session: AsyncSession, *, mission_id: int, advance: Decimal, business_date: date
) -> FundAlert | None:
    """After the salary's transaction advanced `advance` (the caller holds `lock()`): if the fund
    is now below its floor, the treasury covers what this advance took below it (Dr
    coop_treasury / Cr guarantee_fund, its own transaction) and an alert tells ops. None when
    the fund stayed at or above its floor. Once per mission (the salary is paid once)."""
    if advance <= 0:
        return None
    rules = await fund_rules(session, business_date)
    after = await available(session)
    if after >= rules.floor:
        return None
    before = after + advance
    covered = min(advance, rules.floor - after)
    message = (
        f"the salary of mission {mission_id} needed an advance of {advance:.2f} EUR with "
        f"{before:.2f} EUR available: the fund went below its floor of {rules.floor:.2f} EUR, "
        f"the treasury covered {covered:.2f} EUR; top the fund up or review its rules"
    )
    await ledger.post(
        session,
        event_key=f"treasury_cover:{mission_id}",
        kind="treasury_cover",
        mission_id=mission_id,
        business_date=business_date,
        description=f"Treasury covers the guarantee fund below its floor: {message}"[:2000],
        lines=[Line(TREASURY, covered), Line(AVAILABLE, -covered)],
    )
    alert = FundAlert(
        kind=BELOW_FLOOR,
        mission_id=mission_id,
        business_date=business_date,
        message=message,
        advance=advance,
        available_before=before,
        floor=rules.floor,
        covered_by_treasury=covered,
    )
    session.add(alert)
    await session.flush()
    await add_timeline(
        session,
        mission_id,
        "fund_below_floor",
        "fund_below_floor",
        business_date,
        None,
        {
            "advance": f"{advance:.2f}",
            "available_before": f"{before:.2f}",
            "floor": f"{rules.floor:.2f}",
            "covered_by_treasury": f"{covered:.2f}",
        },
    )
    return alert


async def open_alerts(
    session: AsyncSession, limit: int = 50, advisor_user_id: int | None = None
) -> list[FundAlert]:
    """The fund's alerts ops have not dealt with yet, newest first (an advisor's: those of
    their members' missions)."""
    query = select(FundAlert).where(FundAlert.resolved_at.is_(None))
    if advisor_user_id is not None:
        query = query.where(FundAlert.mission_id.in_(_advised_missions(advisor_user_id)))
    rows = await session.scalars(query.order_by(FundAlert.id.desc()).limit(limit))
    return list(rows.all())


def _advised_members(advisor_user_id: int) -> Any:
    return select(Member.id).where(Member.advisor_user_id == advisor_user_id)


def _advised_missions(advisor_user_id: int) -> Any:
    return select(Mission.id).where(Mission.member_id.in_(_advised_members(advisor_user_id)))


def alert_out(alert: FundAlert) -> dict[str, Any]:
    return {
        "id": alert.id,
        "kind": alert.kind,
        "mission_id": alert.mission_id,
        "business_date": alert.business_date.isoformat(),
        "message": alert.message,
        "advance": _money(alert.advance),
        "available_before": _money(alert.available_before),
        "floor": _money(alert.floor),
        "covered_by_treasury": _money(alert.covered_by_treasury),
    }


# ---------------------------------------------------------------- the fund's ledger lines


def advance_lines(client_id: int, amount: Decimal) -> list[Line]:
    """The salary's transaction: part of the fund's resources is tied up until the client pays."""
    if amount <= 0:
        return []
    return [Line(AVAILABLE, amount), Line(ADVANCES, -amount, client_id)]


async def reimbursement_lines(session: AsyncSession, invoice: Invoice, paid: Decimal) -> list[Line]:
    """A client payment reimburses the fund first, up to the mission's advance outstanding."""
    back = min(paid, await mission_advance(session, invoice.mission_id))
    if back <= 0:
        return []
    return [Line(ADVANCES, back, invoice.client_id), Line(AVAILABLE, -back)]


def write_off_cause(cause: str) -> tuple[bool, str]:
    """(certain loss?, description) of a write-off cause; an unknown cause is refused."""
    if cause not in WRITE_OFF_CAUSES:
        raise FieldError("cause", f"one of {', '.join(sorted(WRITE_OFF_CAUSES))}")
    return WRITE_OFF_CAUSES[cause]


async def write_off_lines(
    session: AsyncSession, invoice: Invoice, principal: Decimal, vat_recoverable: bool
) -> tuple[list[Line], Decimal]:
    """The fund's side of a write-off of `principal`, and the VAT it recovers.

    Only a certain loss gives the VAT back (art. 77 CTVA), pro rata of the unpaid principal;
    otherwise the fund absorbs the VAT too. The mission's advance outstanding is closed: that
    part of the loss was already taken from what the fund may advance.
    """
    await lock(session)
    vat = ZERO
    if vat_recoverable and invoice.total_incl_vat > 0:
        vat = to_cents(principal * invoice.vat_amount / invoice.total_incl_vat)
    advanced = await mission_advance(session, invoice.mission_id)
    lines = [Line("vat_payable", vat), Line(AVAILABLE, principal - vat - advanced)]
    if advanced:
        lines.append(Line(ADVANCES, advanced, invoice.client_id))
    return lines, vat


async def recovery_lines(
    session: AsyncSession, invoice: Invoice, amount: Decimal, charges: Decimal, principal: Decimal
) -> list[Line]:
    """A payment after write-off (`charges` + `principal` = `amount`, as the payment was
    allocated): the charges reversed at write-off are income again, the principal refills the
    fund, and the VAT recovered at write-off is due again pro rata (cumulated, so that
    recovering everything owes back exactly what was recovered).

    `invoice.principal_open` is already reduced by `principal`.
    """
    write_off = await session.scalar(select(WriteOff).where(WriteOff.invoice_id == invoice.id))
    vat = ZERO
    if write_off is not None and write_off.vat_recovered and write_off.amount > 0:
        share, whole = write_off.vat_recovered, write_off.amount
        after = whole - invoice.principal_open
        vat = to_cents(after * share / whole) - to_cents((after - principal) * share / whole)
    return [
        Line("bank", amount),
        Line("late_fee_income", -charges),
        Line("vat_payable", -vat),
        Line(AVAILABLE, -(principal - vat)),
    ]


async def credit_note_lines(
    session: AsyncSession, invoice: Invoice, fund_contribution: Decimal, fund_share: Decimal
) -> list[Line]:
    """The fund's side of a credit note: it gives back its share of the fee, and bears the
    member's part of the credited amount once the salary is paid (`fund_share`). That part comes
    out of the mission's advance outstanding first: the client will never reimburse it now."""
    closed = min(max(fund_share, ZERO), await mission_advance(session, invoice.mission_id))
    lines = [Line(AVAILABLE, fund_contribution + fund_share - closed)]
    if closed > 0:
        lines.append(Line(ADVANCES, closed, invoice.client_id))
    return lines


# ---------------------------------------------------------------- top-ups


async def top_up(
    session: AsyncSession,
    *,
    amount: Decimal,
    reference: object,
    reason: object,
    business_date: date,
    recorded_by_user_id: int | None,
) -> FundTopUp:
    """Put money into the fund once per reference: Dr bank / Cr guarantee_fund.

    The same reference again with the same amount answers the first top-up; with another
    amount it is refused (409), never applied twice.
    """
    ref = clean_text(reference, field="reference", max_length=64)
    if not ref.isascii() or not ref.isprintable():
        raise FieldError("reference", "printable ASCII characters only")
    why = clean_text(reason, field="reason", max_length=500)
    if amount <= 0 or to_cents(amount) != amount:
        raise FieldError("amount", "a positive amount in cents")
    existing = await _top_up_of(session, ref)
    if existing is None:
        row = FundTopUp(
            reference=ref,
            amount=amount,
            reason=why,
            business_date=business_date,
            recorded_by_user_id=recorded_by_user_id,
        )
        try:
            async with session.begin_nested():
                session.add(row)
        except exc.IntegrityError:
            existing = await _top_up_of(session, ref)  # a concurrent request won the race
        else:
            await ledger.post(
                session,
                event_key=f"fund_top_up:{ref}",
                kind="fund_top_up",
                business_date=business_date,
                description=f"Guarantee fund top-up {ref}: {why}"[:2000],
                lines=[Line("bank", amount), Line(AVAILABLE, -amount)],
            )
            return row
    assert existing is not None
    if existing.amount != amount:
        raise DomainError(
            f"reference {ref} already topped up the fund with {existing.amount:.2f}, "
            f"not {amount:.2f}",
            409,
            "reference",
        )
    return existing


async def _top_up_of(session: AsyncSession, reference: str) -> FundTopUp | None:
    return await session.scalar(select(FundTopUp).where(FundTopUp.reference == reference))


def top_up_out(row: FundTopUp) -> dict[str, Any]:
    return {
        "id": row.id,
        "reference": row.reference,
        "amount": f"{row.amount:.2f}",
        "reason": row.reason,
        "business_date": row.business_date.isoformat(),
    }


# ---------------------------------------------------------------- the fund as ops see it


async def guarantee_fund(
    session: AsyncSession, on: date, top: int = 20, advisor_user_id: int | None = None
) -> dict[str, Any]:
    """The fund's balance, what it may still advance, and who owes it what (largest first).

    The fund's own figures are the cooperative's; for an advisor (`advisor_user_id`) the
    exposure per member and per client and the alerts are those of their members only."""
    rules = await fund_rules(session, on)
    free = await available(session)
    advanced = await advances_outstanding(session)
    missions_count, _ = await advances_per_mission(session)
    clients = (
        select(Client.id, Client.name, FundClientExposure.amount)
        .join(Client, Client.id == FundClientExposure.client_id)
        .where(FundClientExposure.amount != 0)
    )
    members = (
        select(Member.id, Member.name, FundMemberExposure.amount)
        .join(Member, Member.id == FundMemberExposure.member_id)
        .where(FundMemberExposure.amount != 0)
    )
    if advisor_user_id is not None:
        clients = clients.where(Client.owner_member_id.in_(_advised_members(advisor_user_id)))
        members = members.where(Member.advisor_user_id == advisor_user_id)
    by_client = (
        await session.execute(
            clients.order_by(FundClientExposure.amount, FundClientExposure.client_id).limit(top)
        )
    ).all()
    by_member = (
        await session.execute(
            members.order_by(FundMemberExposure.amount, FundMemberExposure.member_id).limit(top)
        )
    ).all()
    write_offs = (
        await session.execute(
            select(
                func.count(WriteOff.id), func.sum(WriteOff.amount), func.sum(WriteOff.vat_recovered)
            )
        )
    ).one()
    recoveries = (
        await session.execute(
            select(func.count(LedgerEntry.id), func.sum(LedgerEntry.amount))
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerTransaction.kind == "recovery", LedgerEntry.account == "bank")
        )
    ).one()
    top_ups = (
        await session.execute(select(func.count(FundTopUp.id), func.sum(FundTopUp.amount)))
    ).one()
    alerts = await open_alerts(session, top, advisor_user_id)
    return {
        "balance": _money(free + advanced),
        "available": _money(free),
        "floor": _money(rules.floor),
        "headroom": _money(max(free - rules.floor, ZERO)),
        "client_exposure_cap": _money(rules.client_exposure_cap),
        "rules_valid_from": rules.valid_from.isoformat(),
        "outstanding_advances": {"count": missions_count, "amount": _money(advanced)},
        "exposure_by_client": [
            {"client_id": cid, "name": name, "amount": _money(-amount)}
            for cid, name, amount in by_client
        ],
        "exposure_by_member": [
            {"member_id": mid, "name": name, "amount": _money(-amount)}
            for mid, name, amount in by_member
        ],
        "write_offs": {
            "count": write_offs[0],
            "amount": _money(write_offs[1]),
            "vat_recovered": _money(write_offs[2]),
        },
        "recoveries": {"count": recoveries[0], "amount": _money(recoveries[1])},
        "top_ups": {"count": top_ups[0], "amount": _money(top_ups[1])},
        "near_floor_margin": _money(rules.near_floor_margin),
        "deposit_share": str(rules.deposit_share),
        "treasury_cover": _money(await ledger.account_balance(session, TREASURY)),
        "alerts": [alert_out(a) for a in alerts],
    }


def _money(value: Decimal | None) -> str:
    return f"{(value or ZERO):.2f}"
