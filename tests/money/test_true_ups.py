"""A paid salary is corrected by true-ups recorded beside it, never by an edit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db import Database
from core.errors import DomainError
from domain.errors import FieldError
from models import LedgerEntry, LedgerTransaction, Payout
from services import payroll
from services.invoicing import issue_invoice
from tests.conftest import Stack
from tests.money.conftest import new_client, new_member, new_mission, own_day


async def _paid_mission(db: Database) -> tuple[int, Payout]:
    day = own_day()
    async with db.session() as session:
        # 4 000 excl. VAT: enough pay for some withholding tax to correct (a 1 000 job has none).
        mission = await new_mission(
            session, await new_member(session), await new_client(session), amount=Decimal("4000")
        )
        await issue_invoice(session, mission.id, day, 30)
    async with db.session() as session:
        payout = await payroll.pay_salary(session, mission.id, day)
    assert isinstance(payout, Payout)
    return mission.id, payout


async def _lines(db: Database, event_key: str) -> dict[str, Decimal]:
    async with db.session() as session:
        rows = await session.execute(
            select(LedgerEntry.account, LedgerEntry.amount)
            .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
            .where(LedgerTransaction.event_key == event_key)
        )
        return {account: amount for account, amount in rows}


async def test_higher_contributions_lower_the_net_and_the_fund_bears_it(db: Database) -> None:
    mission_id, payout = await _paid_mission(db)
    paid = {k: Decimal(payout.payroll[k]) for k in payroll.TRUE_UP_FIELDS + ("net_salary",)}
    corrected = {
        "employer_contributions": f"{paid['employer_contributions'] + Decimal('1.00'):.2f}",
        "employee_contributions": f"{paid['employee_contributions'] + Decimal('0.50'):.2f}",
        "withholding_tax": f"{paid['withholding_tax']:.2f}",
    }
    async with db.session() as session:
        row = await payroll.record_true_up(
            session,
            mission_id=mission_id,
            corrected=corrected,
            reason="DmfA Q4 rectified",
            today=own_day(),
            recorded_by_user_id=None,
        )
    # Budget fixed: 1.00 more employer cost is 1.00 less gross; net loses that and the 0.50.
    assert row.net_salary_delta == Decimal("-1.50")
    lines = await _lines(db, f"payroll_true_up:{row.id}")
    assert lines == {
        "social_contributions_payable": Decimal("-1.50"),
        "guarantee_fund": Decimal("1.50"),
    }
    async with db.session() as session:
        unchanged = await session.get(Payout, payout.id)
        assert unchanged is not None and unchanged.payroll == payout.payroll, "never an edit"
        now = payroll.current_payroll(unchanged, await payroll.true_ups(session, payout.id))
    assert now["net_salary"] == paid["net_salary"] - Decimal("1.50")
    assert now["employer_contributions"] == paid["employer_contributions"] + 1


async def test_lower_tax_pays_the_member_the_difference(db: Database) -> None:
    mission_id, payout = await _paid_mission(db)
    corrected = {k: payout.payroll[k] for k in payroll.TRUE_UP_FIELDS}
    corrected["withholding_tax"] = f"{Decimal(payout.payroll['withholding_tax']) - 10:.2f}"
    async with db.session() as session:
        row = await payroll.record_true_up(
            session,
            mission_id=mission_id,
            corrected=corrected,
            reason="tax scale",
            today=own_day(),
            recorded_by_user_id=None,
        )
    assert row.net_salary_delta == Decimal("10.00")
    assert await _lines(db, f"payroll_true_up:{row.id}") == {
        "withholding_tax_payable": Decimal("10.00"),
        "bank": Decimal("-10.00"),
    }
    # A second true-up builds on the first one.
    corrected["withholding_tax"] = payout.payroll["withholding_tax"]
    async with db.session() as session:
        second = await payroll.record_true_up(
            session,
            mission_id=mission_id,
            corrected=corrected,
            reason="reverted",
            today=own_day(),
            recorded_by_user_id=None,
        )
    assert second.sequence == 2 and second.net_salary_delta == Decimal("-10.00")


async def test_refusals_change_nothing(db: Database) -> None:
    mission_id, payout = await _paid_mission(db)
    same = {k: payout.payroll[k] for k in payroll.TRUE_UP_FIELDS}
    cases = [
        ({**same, "withholding_tax": "-1"}, FieldError, "withholding_tax"),
        ({**same, "withholding_tax": "1e3"}, FieldError, "withholding_tax"),
        ({**same, "employer_contributions": "99999.00"}, FieldError, "employer_contributions"),
        ({**same, "withholding_tax": "9999.00"}, FieldError, "withholding_tax"),
        (same, DomainError, "employer_contributions"),
    ]
    for corrected, error, field in cases:
        with pytest.raises(error) as caught:
            async with db.session() as session:
                await payroll.record_true_up(
                    session,
                    mission_id=mission_id,
                    corrected=corrected,
                    reason="probe",
                    today=own_day(),
                    recorded_by_user_id=None,
                )
        assert caught.value.field == field
    async with db.session() as session:
        assert await payroll.true_ups(session, payout.id) == []


async def test_api_true_up_needs_a_paid_salary(stack: Stack) -> None:
    member, member_headers = await stack.new_member()
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(member_headers, member["id"], client["id"])
    body = {
        "employer_contributions": "1.00",
        "employee_contributions": "1.00",
        "withholding_tax": "1.00",
        "reason": "DmfA",
    }
    url = f"/api/missions/{mission['id']}/payroll/true-ups"
    r = await stack.http.post(url, json=body, headers=await stack.ops())
    assert r.status_code == 409, r.text
    assert "no salary has been paid" in r.json()["detail"][0]["msg"]
    r = await stack.http.post(url, json=body, headers=member_headers)
    assert r.status_code == 403
    r = await stack.http.post(url, json={**body, "withholding_tax": 1.0}, headers=await stack.ops())
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "withholding_tax"]
