"""The guarantee fund's rules on PostgreSQL: wages always paid (the treasury covers the fund
below its floor), the gate before signature, concurrency, write-off, top-ups.

Missions are made directly through the services (no workflow); each test works on business days
of its own, where `fund.rules` puts the floor where the test needs it (tests/money/conftest.py).
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.settings import Settings
from domain.errors import FieldError
from models import Client, FundAlert, LedgerEntry, Payout, TimelineEvent, WriteOff
from services import collection, fund, ledger, payroll
from services.invoicing import issue_credit_note, issue_invoice
from services.people import create_staff_user
from tests.conftest import api_client, unique
from tests.money.conftest import (
    ledger_kinds,
    new_client,
    new_member,
    new_mission,
    own_day,
    set_fund_rules,
    unbalanced_transactions,
)

ADVANCE = Decimal("935.00")  # 1,000.00 excl. VAT less the 6.5 % fee: the salary's whole cost
TOTAL = Decimal("1210.00")  # 1,000.00 + 21 % VAT


async def ready_missions(
    db: Database, n: int, on: date, *, one_client: bool = False, country: str = "BE"
) -> list[int]:
    """`n` missions of 1,000.00 excl. VAT with their invoice issued, EU clients, confirmed."""
    async with db.session() as session:
        member = await new_member(session)
        shared = await new_client(session, country) if one_client else None
        ids = []
        for _ in range(n):
            client = shared or await new_client(session, country)
            mission = await new_mission(session, member, client, on=on)
            await issue_invoice(session, mission.id, on - timedelta(days=1), 30)
            ids.append(mission.id)
        return ids


async def pay_all(db: Database, mission_ids: list[int], on: date, attempt: int = 0) -> list[Payout]:
    """Pay every salary at once, each in its own session and transaction."""

    async def one(mission_id: int) -> Payout:
        async with db.session() as session:
            return await payroll.pay_salary(session, mission_id, on, attempt)

    return list(await asyncio.gather(*(one(m) for m in mission_ids)))


async def available(db: Database) -> Decimal:
    async with db.session() as session:
        return await fund.available(session)


async def treasury(db: Database) -> Decimal:
    """What the cooperative's treasury has put into the fund (a debit balance: positive)."""
    async with db.session() as session:
        return await ledger.account_balance(session, fund.TREASURY)


async def pay_invoice(db: Database, mission_id: int, amount: Decimal, on: date) -> None:
    async with db.session() as session:
        invoice = await collection.mission_invoice(session, mission_id)
        await collection.record_payment(
            session,
            amount=amount,
            received_on=on,
            structured_communication=invoice.structured_communication,
            bank_transaction_id=unique("BANK-"),
            today=on,
            recorded_by_user_id=None,
        )


async def alerts_of(db: Database, mission_ids: list[int]) -> dict[int, FundAlert]:
    async with db.session() as session:
        rows = await session.scalars(select(FundAlert).where(FundAlert.mission_id.in_(mission_ids)))
        return {a.mission_id: a for a in rows}


# ---------------------------------------------------------------- always paid (INV-6)


async def test_concurrent_advances_below_the_floor_are_all_paid_and_covered(db: Database) -> None:
    """30 advances at once against room for 7 above the floor: all 30 are paid on the day; the
    treasury covers what each advance took below the floor, and each of those raises an alert."""
    day = own_day()
    ids = await ready_missions(db, 30, day)
    before = await available(db)
    floor = before - (7 * ADVANCE + Decimal("500.00"))
    async with db.session() as session:
        await set_fund_rules(session, day, floor=floor)
    covered_before = await treasury(db)

    results = await pay_all(db, ids, day)

    assert len(results) == 30 and all(isinstance(r, Payout) for r in results)
    assert all(p.source == "fund" and p.paid_on == day for p in results)
    # The fund ends at its floor exactly: 7 advances fit, the 8th is covered for 435.00 (the
    # part below the floor), the 22 others in full.
    assert await available(db) == floor
    assert await treasury(db) - covered_before == 23 * ADVANCE - Decimal("500.00")
    alerts = await alerts_of(db, ids)
    assert len(alerts) == 23
    assert {a.kind for a in alerts.values()} == {"below_floor"}
    assert sorted(a.covered_by_treasury for a in alerts.values()) == [
        ADVANCE - Decimal("500.00"),
        *[ADVANCE] * 22,
    ]
    async with db.session() as session:
        assert await unbalanced_transactions(session) == []
        shown = await session.scalars(
            select(TimelineEvent.mission_id).where(
                TimelineEvent.mission_id.in_(ids), TimelineEvent.step == "fund_below_floor"
            )
        )
        assert set(shown) == set(alerts), "every cover is on its mission's timeline"
        report = await fund.guarantee_fund(session, day, top=100)
        assert {a["mission_id"] for a in report["alerts"]} >= set(alerts)
    # Paid once: asked again (a retried activity), nothing moves.
    again = await pay_all(db, ids, day, attempt=1)
    assert [p.id for p in again] == [p.id for p in results]
    assert await available(db) == floor


async def test_client_never_pays_and_fund_at_its_floor_still_pays_the_salary(db: Database) -> None:
    """INV-6 at the service level: the fund is exactly at its floor, the client has paid nothing,
    outside the EU and over its cap: the salary is paid on its date all the same."""
    day = own_day()
    [mission_id] = await ready_missions(db, 1, day, country="US")
    async with db.session() as session:
        await set_fund_rules(session, day, floor=await fund.available(session), cap=Decimal("1"))
    before = await available(db)
    async with db.session() as session:
        payout = await payroll.pay_salary(session, mission_id, day)
        assert isinstance(payout, Payout)
        assert (payout.source, payout.paid_on) == ("fund", day)
        assert payout.net_amount > 0
        assert await fund.mission_advance(session, mission_id) == ADVANCE
        assert await ledger_kinds(session, mission_id) == [
            "invoice_issued",
            "salary_paid",
            "treasury_cover",
        ]
        assert await unbalanced_transactions(session) == []
        paid = await session.scalar(
            select(TimelineEvent.detail).where(
                TimelineEvent.mission_id == mission_id, TimelineEvent.step == "salary_paid"
            )
        )
        assert paid is not None and paid["treasury_cover"] == f"{ADVANCE:.2f}"
    assert await available(db) == before, "the treasury put back all the fund advanced"
    [alert] = (await alerts_of(db, [mission_id])).values()
    assert alert.available_before == before and alert.covered_by_treasury == ADVANCE
    assert "floor" in alert.message


async def test_unconfirmed_or_non_eu_client_does_not_hold_back_wages(db: Database) -> None:
    day = own_day()
    async with db.session() as session:
        member = await new_member(session)
        unconfirmed = await new_mission(session, member, await new_client(session), confirmed=False)
        abroad = await new_mission(session, member, await new_client(session, "US"))
        for m in (unconfirmed, abroad):
            await issue_invoice(session, m.id, day, 30)
    async with db.session() as session:
        no_order = await payroll.pay_salary(session, unconfirmed.id, day)
        not_eu = await payroll.pay_salary(session, abroad.id, day)
        assert no_order.source == not_eu.source == "fund"
        assert no_order.paid_on == not_eu.paid_on == day
    # The client pays later: the fund is reimbursed first, as for any advance.
    await pay_invoice(db, abroad.id, Decimal("1000.00"), day)  # out of scope: no VAT
    async with db.session() as session:
        assert await fund.mission_advance(session, abroad.id) == 0
        assert await ledger_kinds(session, abroad.id) == [
            "invoice_issued",
            "salary_paid",
            "client_payment",
        ]


async def test_the_client_cap_does_not_hold_back_wages(db: Database) -> None:
    """12 salaries for one client at once, room under the cap for 3: all 12 are paid (the cap
    gates new missions before signature, not payday); when the client pays one invoice the fund
    is reimbursed first."""
    day = own_day()
    ids = await ready_missions(db, 12, day, one_client=True)
    async with db.session() as session:
        await set_fund_rules(
            session, day, floor=Decimal("0.00"), cap=3 * ADVANCE + Decimal("400.00")
        )
    results = await pay_all(db, ids, day)
    assert len(results) == 12 and all(p.source == "fund" for p in results)
    async with db.session() as session:
        client_id = (await collection.mission_invoice(session, ids[0])).client_id
        assert await fund.client_exposure(session, client_id) == 12 * ADVANCE
    await pay_invoice(db, ids[0], TOTAL, day)
    async with db.session() as session:
        assert await fund.client_exposure(session, client_id) == 11 * ADVANCE
        assert await fund.mission_advance(session, ids[0]) == 0


# ---------------------------------------------------------------- the gate before signature


async def test_gate_each_rule_asks_for_approval(db: Database) -> None:
    """Each rule alone makes a mission need approval; none of them: the fund guarantees it."""
    day = own_day()
    async with db.session() as session:
        free = await fund.available(session)
        cost = await fund.expected_salary_cost(session, Decimal("1000.00"), day)
        assert cost == ADVANCE
        eu = await new_client(session, "FR", "consumer")
        abroad = await new_client(session, "US")
        await set_fund_rules(
            session,
            day,
            floor=free - ADVANCE - Decimal("600.00"),
            margin=Decimal("500.00"),
            cap=ADVANCE,
        )
        assert await fund.gate_reasons(session, eu, cost, day) == []
        [outside] = await fund.gate_reasons(session, abroad, cost, day)
        assert outside.rule == "eu_client" and "outside the EU (US)" in outside.message
        [capped] = await fund.gate_reasons(session, eu, cost + Decimal("0.01"), day)
        assert capped.rule == "client_cap"
        assert capped.facts == {"exposure": "0.00", "cap": "935.00", "expected_cost": "935.01"}
        # 100.01 more than this mission would leave the fund less than its margin above the floor.
        near = await fund.gate_reasons(session, eu, cost + Decimal("100.01"), day)
        assert [r.rule for r in near] == ["client_cap", "near_floor"]
        assert near[1].facts["margin"] == "500.00"
        assert await fund.required_deposit(session, cost, day) == ADVANCE


async def test_gate_counts_the_clients_exposure(db: Database) -> None:
    day = own_day()
    [first] = await ready_missions(db, 1, day)
    async with db.session() as session:
        await set_fund_rules(session, day, floor=Decimal("0.00"), cap=2 * ADVANCE)
    await pay_all(db, [first], day)
    async with db.session() as session:
        client = await collection.mission_invoice(session, first)
        c = await session.get(Client, client.client_id)
        assert c is not None
        assert await fund.gate_reasons(session, c, ADVANCE, day) == []
        [capped] = await fund.gate_reasons(session, c, ADVANCE + Decimal("0.01"), day)
        assert capped.rule == "client_cap" and capped.facts["exposure"] == "935.00"


# ---------------------------------------------------------------- one advance


async def test_client_money_received_before_payday_reduces_the_advance(db: Database) -> None:
    day = own_day()
    async with db.session() as session:
        member = await new_member(session)
        mission = await new_mission(session, member, await new_client(session))
        await issue_invoice(session, mission.id, day, 30)
    await pay_invoice(db, mission.id, Decimal("500.00"), day)
    before = await available(db)
    async with db.session() as session:
        payout = await payroll.pay_salary(session, mission.id, day)
        assert isinstance(payout, Payout) and payout.source == "fund"
        assert await fund.mission_advance(session, mission.id) == ADVANCE - 500
    assert await available(db) == before - (ADVANCE - 500)

    # The rest of the payment reimburses the fund first, up to what it advanced.
    await pay_invoice(db, mission.id, TOTAL - 500, day)
    async with db.session() as session:
        assert await fund.mission_advance(session, mission.id) == 0
    assert await available(db) == before


# ---------------------------------------------------------------- write-off and recovery


async def _advanced_mission(db: Database, day: date) -> int:
    [mission_id] = await ready_missions(db, 1, day)
    [result] = await pay_all(db, [mission_id], day)
    assert result.source == "fund"
    return mission_id


async def write_off_of(session: AsyncSession, mission_id: int) -> WriteOff:
    invoice = await collection.mission_invoice(session, mission_id)
    return (await session.scalars(select(WriteOff).where(WriteOff.invoice_id == invoice.id))).one()


async def _holdings(db: Database) -> tuple[Decimal, Decimal, Decimal]:
    async with db.session() as session:
        balances = await ledger.balances(session)
    return (
        -balances["guarantee_fund"] - balances["fund_advances"],
        -balances["guarantee_fund"],
        -balances["vat_payable"],
    )


async def test_certain_loss_recovers_the_vat_and_a_recovery_owes_it_back(db: Database) -> None:
    day = own_day()
    mission_id = await _advanced_mission(db, day)
    held, free, vat = await _holdings(db)

    async with db.session() as session:
        amount, acted = await collection.write_off_invoice(
            session, mission_id, day, cause="bankruptcy", note="judgment of the 3rd"
        )
    assert acted and amount == TOTAL
    async with db.session() as session:
        written = await write_off_of(session, mission_id)
        assert written.cause == "bankruptcy" and written.vat_recoverable
        assert written.vat_recovered == Decimal("210.00")
        assert "bankrupt" in written.reason and "judgment of the 3rd" in written.reason
        assert await fund.mission_advance(session, mission_id) == 0
    held2, free2, vat2 = await _holdings(db)
    assert held - held2 == TOTAL - Decimal("210.00"), "the fund bears the loss net of VAT"
    assert free - free2 == TOTAL - Decimal("210.00") - ADVANCE, "the advance was already out"
    assert vat - vat2 == Decimal("210.00")

    # Paid back in two halves after the write-off: each refills the fund, the VAT is due again.
    await pay_invoice(db, mission_id, Decimal("605.00"), day)
    held3, _, vat3 = await _holdings(db)
    assert held3 - held2 == Decimal("500.00") and vat3 - vat2 == Decimal("105.00")
    await pay_invoice(db, mission_id, Decimal("605.00"), day)
    held4, _, vat4 = await _holdings(db)
    assert (held4, vat4) == (held, vat), "a full recovery undoes the loss exactly"
    async with db.session() as session:
        assert await ledger_kinds(session, mission_id) == [
            "invoice_issued",
            "salary_paid",
            "write_off",
            "recovery",
            "recovery",
        ]
        assert await unbalanced_transactions(session) == []


async def test_end_of_the_ladder_is_not_a_certain_loss(db: Database) -> None:
    day = own_day()
    mission_id = await _advanced_mission(db, day)
    held, free, vat = await _holdings(db)
    async with db.session() as session:
        await collection.write_off_invoice(session, mission_id, day)
    held2, free2, vat2 = await _holdings(db)
    assert held - held2 == TOTAL, "no VAT back: the fund absorbs the VAT too"
    assert free - free2 == TOTAL - ADVANCE
    assert vat2 == vat
    async with db.session() as session:
        written = await write_off_of(session, mission_id)
        assert (written.cause, written.vat_recoverable, written.vat_recovered) == (
            "dunning_exhausted",
            False,
            Decimal("0.00"),
        )
    # A recovery refills the fund with everything: there is no VAT to owe back.
    await pay_invoice(db, mission_id, TOTAL, day)
    held3, _, vat3 = await _holdings(db)
    assert (held3, vat3) == (held, vat)


async def test_credit_note_after_an_advance_closes_it(db: Database) -> None:
    """The client will never pay what a credit note cancels: the fund bears the member's part
    out of the advance outstanding, not a second time out of what it may still advance."""
    day = own_day()
    mission_id = await _advanced_mission(db, day)
    held, free, _ = await _holdings(db)
    async with db.session() as session:
        invoice = await collection.mission_invoice(session, mission_id)
        note, _ = await issue_credit_note(
            session,
            invoice.id,
            amount_incl_vat=None,
            full=True,
            reason="the festival was cancelled",
            issue_date=day,
            actor="ops:test",
        )
        assert (note.fund_contribution, note.fund_share) == (Decimal("19.50"), ADVANCE)
        assert await fund.mission_advance(session, mission_id) == 0
        assert await unbalanced_transactions(session) == []
    held2, free2, _ = await _holdings(db)
    assert free - free2 == Decimal("19.50"), "only its fee share leaves what it may advance"
    assert held - held2 == Decimal("19.50") + ADVANCE, "the advance is lost"


async def test_unknown_write_off_cause_is_refused(db: Database) -> None:
    day = own_day()
    [mission_id] = await ready_missions(db, 1, day)
    with pytest.raises(FieldError) as err:
        async with db.session() as session:
            await collection.write_off_invoice(session, mission_id, day, cause="boredom")
    assert err.value.field == "cause"


# ---------------------------------------------------------------- append-only ledger


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE ledger_entries SET amount = amount + 1",
        "UPDATE ledger_transactions SET kind = 'edited'",
        "DELETE FROM ledger_entries",
        "DELETE FROM ledger_transactions",
    ],
)
async def test_the_ledger_refuses_updates_and_deletes(db: Database, statement: str) -> None:
    async with db.session() as session:
        assert session.get_bind().dialect.name == "postgresql"
        count = len((await session.scalars(select(LedgerEntry.id))).all())
        assert count > 0
    with pytest.raises(DBAPIError, match="append-only"):
        async with db.session() as session:
            await session.execute(text(statement))
    async with db.session() as session:
        assert len((await session.scalars(select(LedgerEntry.id))).all()) == count


# ---------------------------------------------------------------- the API


async def _login(http: Any, db: Database, role: str) -> dict[str, str]:
    email = f"{unique(role)}@coop.example"
    async with db.session() as session:
        await create_staff_user(session, email, "staff password 123", role)
    r = await http.post(
        "/api/auth/token", data={"username": email, "password": "staff password 123"}
    )
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_top_ups_and_the_fund_report(db: Database, settings: Settings) -> None:
    from api.app import create_app

    async with api_client(create_app(settings, db, None)) as http:
        ops = await _login(http, db, "ops")
        advisor = await _login(http, db, "advisor")
        before = (await http.get("/api/guarantee-fund", headers=advisor)).json()
        reference = unique("TRANSFER-")
        body = {"amount": "5000.00", "reference": reference, "reason": "board decision"}

        r = await http.post("/api/guarantee-fund/top-ups", json=body, headers=ops)
        assert r.status_code == 201, r.text
        assert r.json()["amount"] == "5000.00" and r.json()["reference"] == reference
        again = await http.post("/api/guarantee-fund/top-ups", json=body, headers=ops)
        assert again.status_code == 201 and again.json() == r.json(), "idempotent by reference"
        other = await http.post(
            "/api/guarantee-fund/top-ups", json={**body, "amount": "5000.01"}, headers=ops
        )
        assert other.status_code == 409, other.text
        assert other.json()["detail"][0]["loc"] == ["body", "reference"]
        denied = await http.post("/api/guarantee-fund/top-ups", json=body, headers=advisor)
        assert denied.status_code == 403
        for bad in ("0", "-5.00", "1e3", "10.001", "NaN", ""):
            r = await http.post(
                "/api/guarantee-fund/top-ups",
                json={**body, "reference": unique("BAD-"), "amount": bad},
                headers=ops,
            )
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["detail"][0]["loc"] == ["body", "amount"]
        r = await http.post(
            "/api/guarantee-fund/top-ups",
            json={**body, "reference": unique("R-"), "reason": ""},
            headers=ops,
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "reason"]

        after = (await http.get("/api/guarantee-fund", headers=advisor)).json()
        assert Decimal(after["balance"]) - Decimal(before["balance"]) == Decimal("5000.00")
        assert Decimal(after["available"]) - Decimal(before["available"]) == Decimal("5000.00")
        assert after["top_ups"]["count"] == before["top_ups"]["count"] + 1

        # A big advance for one client and member shows at the top of the exposure lists.
        day = own_day()
        async with db.session() as session:
            member = await new_member(session)
            client = await new_client(session)
            mission = await new_mission(session, member, client, amount=Decimal("20000.00"))
            await issue_invoice(session, mission.id, day, 30)
            result = await payroll.pay_salary(session, mission.id, day)
            assert isinstance(result, Payout) and result.source == "fund"
        report = (await http.get("/api/guarantee-fund", headers=ops)).json()
        assert report["exposure_by_client"][0] == {
            "client_id": client.id,
            "name": client.name,
            "amount": "18700.00",
        }
        assert {
            "member_id": member.id,
            "name": member.name,
            "amount": "18700.00",
        } in report["exposure_by_member"]
        amounts = [Decimal(row["amount"]) for row in report["exposure_by_member"]]
        assert amounts == sorted(amounts, reverse=True), "largest first"
        assert report["outstanding_advances"]["count"] == (
            after["outstanding_advances"]["count"] + 1
        )
        assert Decimal(report["balance"]) == Decimal(report["available"]) + Decimal(
            report["outstanding_advances"]["amount"]
        )
        assert report["floor"] == "10000.00" and report["client_exposure_cap"] == "25000.00"
        assert report["near_floor_margin"] == "5000.00" and report["deposit_share"] == "1.00"
        assert isinstance(report["alerts"], list)
        for key in ("write_offs", "recoveries"):
            assert set(report[key]) >= {"count", "amount"}
        balances = (await http.get("/api/ledger/balances", headers=ops)).json()
        assert {b["account"] for b in balances} >= {"guarantee_fund", "fund_advances"}
        assert sum(Decimal(b["balance"]) for b in balances) == 0
        member_view = await http.get("/api/guarantee-fund", headers={})
        assert member_view.status_code == 401
