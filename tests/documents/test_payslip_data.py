"""Payslips on PostgreSQL: one stored payslip per payout, read from `payouts.payroll` as the engine
writes it (fixture JSON, not the engine's code), compared with the signed estimate; written
contract amendments; the yearly 281.10 summary with its access rules, CSV and PDF; the artist's
withholding rate choice; the contract type on every member document."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from activities.mission import MissionActivities
from contracts.mission import DeclarationRequest
from core.db import Database
from core.errors import NotFound
from domain.errors import FieldError
from models import (
    ContractAmendment,
    Document,
    Member,
    Mission,
    Payout,
    PayrollTrueUp,
    TimelineEvent,
)
from services import documents, payslips, people
from services.access import Viewer
from services.document_data import document_data
from services.gateways import DeclarationPayload
from services.timeline import add_timeline
from tests.conftest import BELGIAN_VAT, member_payload, unique
from tests.documents import payroll_json

D = Decimal
TODAY = date(2026, 12, 7)


@dataclass
class Slips:
    member_id: int
    other_member_id: int
    ordinary_mission: int
    artistic_mission: int
    payouts: list[int]


async def _member(session: Any, language: str) -> Member:
    payload = member_payload()
    return await people.create_member(
        session,
        name=payload["name"],
        email=payload["email"],
        password=payload["password"],
        iban=payload["iban"],
        national_number=payload["national_number"],
        language=language,
    )


async def _mission(
    session: Any, member: Member, client_id: int, contract_type: str, estimate: Any, start: date
) -> Mission:
    mission = Mission(
        member_id=member.id,
        client_id=client_id,
        title=f'=HYPERLINK("x") {contract_type}',  # a formula: the CSV must neutralise it
        start_date=start,
        end_date=start,
        amount_excl_vat=D("4502.89") if contract_type == "ordinary" else D("1550.04"),
        vat_rate=D("21.00"),
        contract_type=contract_type,
        stage="paid",
        created_on=date(2026, 2, 10),
        pay_date=start,
        days_worked=1,
        signed_at=datetime.now(UTC) if estimate else None,
        client_confirmed_at=datetime.now(UTC),
        estimate=estimate,
    )
    session.add(mission)
    await session.flush()
    if estimate:
        await add_timeline(session, mission.id, "signed", "signed", date(2026, 2, 11), "member")
    return mission


def _payout(mission: Mission, payroll: dict[str, Any], paid_on: date) -> Payout:
    return Payout(
        mission_id=mission.id,
        period="salary",
        source="client",
        paid_on=paid_on,
        iban="BE71096123456769",
        end_to_end_id=unique("SAL-")[:35],
        gross_salary=D(payroll["gross_salary"]),
        net_amount=D(payroll["net_salary"]),
        expenses=D(payroll["expenses"]),
        payroll=payroll,
    )


@pytest.fixture(scope="module")
async def slips(db: Database) -> Slips:
    async with db.session() as session:
        member = await _member(session, "fr")
        other = await _member(session, "en")
        client = await people.create_client(
            session,
            name="Théâtre du Parc",
            email=f"{unique('ps')}@example.be",
            kind="business",
            country="BE",
            address="Rue de la Loi 3, 1000 Bruxelles",
            vat_number=BELGIAN_VAT,
            language="nl",
            owner_member_id=member.id,
        )
        ordinary = await _mission(
            session,
            member,
            client.id,
            "ordinary",
            payroll_json.ordinary_estimate(),
            date(2026, 9, 4),
        )
        artistic = await _mission(session, member, client.id, "artistic", None, date(2026, 3, 6))
        foreign = await _mission(session, other, client.id, "ordinary", None, date(2026, 5, 6))
        rows = [
            _payout(ordinary, payroll_json.ordinary_payout(), date(2026, 9, 15)),
            _payout(artistic, payroll_json.artistic_payout(), date(2026, 3, 17)),
            _payout(foreign, payroll_json.artistic_payout(), date(2026, 5, 17)),
        ]
        session.add_all(rows)
        await session.flush()
        return Slips(member.id, other.id, ordinary.id, artistic.id, [r.id for r in rows])


def _text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", out)


async def test_payslip_data_reads_the_payout_and_explains_the_differences(
    db: Database, slips: Slips
) -> None:
    async with db.session() as session:
        doc = await document_data(
            session, slips.ordinary_mission, "payslip", payout_id=slips.payouts[0]
        )
        with pytest.raises(NotFound):  # another mission's payout
            await document_data(
                session, slips.ordinary_mission, "payslip", payout_id=slips.payouts[1]
            )
    assert doc.audience == "member" and doc.language == "fr"
    slip = doc.data
    assert slip.contract_type == "ordinary" and slip.paid_on == date(2026, 9, 15)
    assert slip.amount("net_paid") == D("2408.71")
    assert slip.estimate_date == date(2026, 2, 11)
    assert slip.month is not None and slip.month.withheld_before == D("120.00")
    codes = {d.code: [r.key for r in d.reasons] for d in slip.differences}
    assert codes["withheld_earlier_this_month"] == ["diff_same_month"]
    assert "diff_rule_changed" in codes["withholding_tax_formula"]


async def test_one_payslip_per_payout_stored_once(db: Database, slips: Slips) -> None:
    first = await documents.ensure_payslips(db, slips.ordinary_mission)
    again = await documents.ensure_payslips(db, slips.ordinary_mission)
    assert [d.id for d in first] == [d.id for d in again]
    (doc,) = first
    assert doc.kind == "payslip" and doc.key == f"payslip:{slips.payouts[0]}"
    assert doc.audience == "member" and doc.language == "fr"
    async with db.session() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(Document)
            .where(Document.mission_id == slips.ordinary_mission, Document.kind == "payslip")
        )
    assert count == 1
    text = _text(doc.content)
    assert "Fiche de paie" in text and "Différences avec l'estimation" in text
    assert "autre rémunération payée le même mois" in text
    assert "modifiée le 1 juillet 2026 (payroll.withholding_key_formula)" in text


async def test_artistic_documents_use_the_missions_contract_type(
    db: Database, slips: Slips
) -> None:
    async with db.session() as session:
        member = await session.get(Member, slips.member_id)
        assert member is not None
        member.artistic_withholding_rate = D("22.8")
        contract = (await document_data(session, slips.artistic_mission, "contract")).data
        order = (await document_data(session, slips.artistic_mission, "order_form")).data
        estimate = (await document_data(session, slips.artistic_mission, "payslip_estimate")).data
        slip = (
            await document_data(
                session, slips.artistic_mission, "payslip", payout_id=slips.payouts[1]
            )
        ).data
        await session.rollback()
    assert contract.contract_type == order.contract_type == "artistic"
    assert estimate.contract_type == "artistic" and estimate.withholding_rate == D("22.8")
    assert slip.contract_type == "artistic"
    assert slip.withholding_rate == D("18")  # what the payout withheld at, not today's choice
    assert slip.estimate_date is None and slip.differences == ()


async def test_amendment_is_a_new_document_never_a_recalculation(
    db: Database, slips: Slips
) -> None:
    doc = await documents.store_amendment(
        db, slips.ordinary_mission, D("3000.00"), D("3200.00"), "one more day", TODAY
    )
    again = await documents.store_amendment(
        db, slips.ordinary_mission, "3000.00", "3200.00", "one more day", TODAY
    )
    assert doc.id == again.id and doc.kind == "contract_amendment"
    assert doc.key == "contract_amendment:1"
    assert "Avenant n° 1" in _text(doc.content) and "3 200,00 €" in _text(doc.content)
    # Amending a figure that is no longer the contract's is refused, and nothing is written.
    with pytest.raises(FieldError) as stale:
        await documents.store_amendment(
            db, slips.ordinary_mission, D("3000.00"), D("3100.00"), "typo", TODAY
        )
    assert stale.value.field == "old_gross"
    with pytest.raises(FieldError) as same:
        await documents.store_amendment(
            db, slips.ordinary_mission, D("3200.00"), D("3200.00"), "nothing", TODAY
        )
    assert same.value.field == "new_gross"
    second = await documents.store_amendment(
        db, slips.ordinary_mission, D("3200.00"), D("3150.00"), "half a day less", TODAY
    )
    assert second.key == "contract_amendment:2"
    async with db.session() as session:
        amendments = await session.scalar(
            select(func.count())
            .select_from(ContractAmendment)
            .where(ContractAmendment.mission_id == slips.ordinary_mission)
        )
        steps = await session.scalar(
            select(func.count())
            .select_from(TimelineEvent)
            .where(
                TimelineEvent.mission_id == slips.ordinary_mission,
                TimelineEvent.step == "contract_amended",
            )
        )
    assert amendments == steps == 2


async def test_year_summary_totals_csv_pdf_and_access(db: Database, slips: Slips) -> None:
    me = Viewer(user_id=1, role="member", member_id=slips.member_id)
    other = Viewer(user_id=2, role="member", member_id=slips.other_member_id)
    ops = Viewer(user_id=3, role="ops", member_id=None)
    advisor = Viewer(user_id=4, role="advisor", member_id=None)
    async with db.session() as session:
        summary = await payslips.year_summary(session, me, slips.member_id, "2026", TODAY)
        as_ops = await payslips.year_summary(session, ops, slips.member_id, 2026, TODAY)
        for viewer in (other, advisor):  # another member's, an advisor not theirs: not found
            with pytest.raises(NotFound):
                await payslips.year_summary(session, viewer, slips.member_id, "2026", TODAY)
        for bad in ("1999", "2027", "26", "20x6"):
            with pytest.raises(FieldError) as refused:
                await payslips.year_summary(session, me, slips.member_id, bad, TODAY)
            assert refused.value.field == "year"
        empty = await payslips.year_summary(session, me, slips.member_id, "2025", TODAY)
    doc = summary.document
    assert as_ops.document.totals == doc.totals and not empty.document.rows
    assert [r.paid_on for r in doc.rows] == [date(2026, 3, 17), date(2026, 9, 15)]
    for name in ("gross_salary", "taxable_pay", "withholding_tax", "employee_contributions"):
        assert doc.totals[name] == sum((r.figures[name] for r in doc.rows), D("0.00"))
    assert doc.totals["gross_salary"] == D("4000.00")
    assert doc.totals["withholding_tax"] == D("734.59")
    assert doc.language == "fr"
    out = payslips.summary_out(summary)
    assert out["totals"]["taxable_pay"] == "3866.79" and len(out["rows"]) == 2
    rows = list(csv.reader(io.StringIO("".join(payslips.summary_csv(summary)))))
    assert rows[0][:4] == ["paid_on", "mission_id", "title", "kind"]
    assert rows[1][2].startswith("'=HYPERLINK")  # formula-safe
    assert rows[-1][3] == "total" and rows[-1][-1] == "3112.96"
    text = _text(await payslips.summary_pdf(summary))
    assert "Récapitulatif annuel des rémunérations 2026" in text and "734,59 €" in text


async def test_withholding_rate_choice(db: Database, slips: Slips) -> None:
    async with db.session() as session:
        member = await session.get(Member, slips.member_id)
        assert member is not None
        allowed = await payslips.allowed_withholding_rates(session, TODAY)
        assert allowed == [D("11.11"), D("18"), D("22.8"), D("30")]
        for given, kept in (("18", D("18")), ("22,8", D("22.8")), (30, D("30"))):
            assert await payslips.set_withholding_rate(session, member, given, TODAY) == kept
            assert member.artistic_withholding_rate == kept
        for bad in ("20", "", None, "11.1", "NaN", "1e1", True, "30.000001", ["18"]):
            with pytest.raises(FieldError) as refused:
                await payslips.set_withholding_rate(session, member, bad, TODAY)
            assert refused.value.field == "artistic_withholding_rate"
            assert "11.11, 18, 22.8, 30" in refused.value.message
            assert member.artistic_withholding_rate == D("30")
        await session.rollback()


async def test_a_correction_of_a_payout_counts_in_its_year(db: Database, slips: Slips) -> None:
    me = Viewer(user_id=1, role="member", member_id=slips.member_id)
    async with db.session() as session:
        before = (await payslips.year_summary(session, me, slips.member_id, "2026", TODAY)).document
        session.add(
            PayrollTrueUp(
                mission_id=slips.artistic_mission,
                payout_id=slips.payouts[1],
                sequence=1,
                business_date=date(2026, 7, 1),
                reason="DmfA Q1",
                employer_contributions_delta=D("0.00"),
                employee_contributions_delta=D("0.00"),
                withholding_tax_delta=D("10.00"),
                net_salary_delta=D("-10.00"),
                corrected={},
            )
        )
        await session.flush()
        after = (await payslips.year_summary(session, me, slips.member_id, "2026", TODAY)).document
        await session.rollback()
    assert [r.kind for r in after.rows] == ["payout", "correction", "payout"]
    assert after.totals["withholding_tax"] == before.totals["withholding_tax"] + D("10.00")
    assert after.totals["net_salary"] == before.totals["net_salary"] - D("10.00")
    assert after.totals["gross_salary"] == before.totals["gross_salary"]


async def test_the_declaration_carries_the_contract_type(db: Database, slips: Slips) -> None:
    sent: list[DeclarationPayload] = []

    class Recording:
        def __init__(self, failure_rate: float, latency: float) -> None:
            pass

        async def submit(self, payload: DeclarationPayload) -> str:
            sent.append(payload)
            return f"DIMONA-{len(sent)}"

    acts = MissionActivities(db, declaration_gateway=Recording)
    req = DeclarationRequest(mission_id=slips.artistic_mission, business_date=date(2026, 3, 1))
    reference = await acts.file_declaration(req)
    assert [p.contract_type for p in sent] == ["artistic"]
    async with db.session() as session:
        detail = await session.scalar(
            select(TimelineEvent.detail).where(
                TimelineEvent.mission_id == slips.artistic_mission,
                TimelineEvent.key == "declaration:in",
            )
        )
    assert detail == {"reference": reference, "late": False, "contract_type": "artistic"}


async def test_payouts_made_before_payslips_get_theirs_once(db: Database, slips: Slips) -> None:
    async with db.session() as session:
        foreign = await session.scalar(
            select(Payout.mission_id).where(Payout.id == slips.payouts[2])
        )
    assert foreign is not None
    assert await documents.backfill_payslips(db, mission_ids=[foreign]) == 1
    assert await documents.backfill_payslips(db, mission_ids=[foreign]) == 0
    async with db.session() as session:
        keys = list(
            await session.scalars(select(Document.key).where(Document.mission_id == foreign))
        )
    assert keys == [f"payslip:{slips.payouts[2]}"]
