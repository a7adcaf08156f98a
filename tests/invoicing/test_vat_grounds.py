"""0 % invoices under a legal ground, on PostgreSQL: what the invoice row keeps (the ground, its
VATEX code, the VAT number check), what ops see, and what the PDF and the UBL carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from lxml import etree
from sqlalchemy import select

from core.db import Database
from core.settings import Settings
from documents import render
from documents.validation import fatal_errors
from domain.invoice import OUT_OF_SCOPE_MENTION, REVERSE_CHARGE_MENTION
from models import Client, Mission, TimelineEvent
from services import documents, vat_grounds
from services.document_data import document_data
from services.invoicing import issue_invoice
from services.vat_check import NoVatCheck, VatCheck, checker_from_settings
from services.views import invoice_out
from tests.documents.test_invoice_pdf import norm, pdf_text
from tests.invoicing.conftest import new_party, reported_mission, today

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
DE_VAT = "DE136695976"


@dataclass
class FakeChecker:
    """A VIES stand-in that answers what the test says and counts its calls."""

    status: str
    reference: str | None = None
    calls: int = 0
    name: str = "fake"

    async def check(self, country: str, number: str) -> VatCheck:
        self.calls += 1
        return VatCheck(
            self.status,  # type: ignore[arg-type]
            datetime(2026, 12, 7, 10, 30, tzinfo=UTC),
            self.name,
            name="Beispiel GmbH" if self.status == "valid" else None,
            reference=self.reference,
        )


async def _issue(
    db: Database,
    settings: Settings,
    *,
    country: str = "DE",
    vat_number: str | None = DE_VAT,
    ground: str | None = "eu_reverse_charge",
    rate: str = "0",
    language: str = "en",
    checker: object | None = None,
) -> tuple[int, int]:
    issued_on = await today(db, settings)
    async with db.session() as session:
        party = await new_party(session, country=country, vat_number=vat_number)
        client = await session.get(Client, party.client_id)
        assert client is not None
        client.language = language
        mission = await reported_mission(
            session, settings, party, vat_rate=rate, vat_exemption=ground
        )
        invoice = await issue_invoice(
            session,
            mission.id,
            issued_on,
            30,
            **({} if checker is None else {"vat_checker": checker}),
        )
        return mission.id, invoice.id


async def test_the_embedded_default_records_not_checked_for_ops(
    db: Database, settings: Settings
) -> None:
    assert isinstance(checker_from_settings(settings), NoVatCheck)
    mission_id, invoice_id = await _issue(db, settings)
    async with db.session() as session:
        from models import Invoice

        invoice = await session.get(Invoice, invoice_id)
        mission = await session.get(Mission, mission_id)
        assert invoice is not None and mission is not None
        out = await invoice_out(session, invoice)
    assert (invoice.vat_exemption, invoice.vat_exemption_code) == (
        "eu_reverse_charge",
        "VATEX-EU-AE",
    )
    assert invoice.vat_check_status == "not_checked"
    assert invoice.vat_checked_at is not None and invoice.vat_check_reference is None
    assert out["vat_check"]["status"] == "not_checked"
    assert out["vat_check"]["checker"] == "none"
    assert "COOPFLOW_VAT_CHECKER=none" in out["vat_check"]["detail"]
    assert not mission.needs_attention, "not checked is shown, not an alarm"


async def test_a_valid_number_keeps_the_vies_reference(db: Database, settings: Settings) -> None:
    checker = FakeChecker("valid", reference="WAPIAAAAYxyz123")
    _, invoice_id = await _issue(db, settings, checker=checker)
    async with db.session() as session:
        from models import Invoice

        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        out = await invoice_out(session, invoice)
    assert checker.calls == 1
    assert out["vat_check"] == {
        "status": "valid",
        "checked_at": "2026-12-07T10:30:00+00:00",
        "reference": "WAPIAAAAYxyz123",
        "checker": "fake",
        "name": "Beispiel GmbH",
    }


async def test_an_invalid_number_still_issues_the_invoice_and_flags_ops(
    db: Database, settings: Settings
) -> None:
    """The invoice is issued (the law requires it, its number is taken) and the mission is
    flagged for ops in the same transaction, before any document leaves."""
    checker = FakeChecker("invalid")
    mission_id, invoice_id = await _issue(db, settings, checker=checker)
    async with db.session() as session:
        from models import Invoice

        invoice = await session.get(Invoice, invoice_id)
        mission = await session.get(Mission, mission_id)
        assert invoice is not None and mission is not None
        step = await session.scalar(
            select(TimelineEvent).where(
                TimelineEvent.mission_id == mission_id, TimelineEvent.key == "vat_number_checked"
            )
        )
    assert invoice.status == "open" and invoice.vat_check_status == "invalid"
    assert mission.needs_attention and mission.attention_step == "vat_number"
    assert invoice.number in (mission.attention_reason or "")
    assert "invalid" in (mission.attention_reason or "")
    assert step is not None and step.detail == {
        "invoice": invoice.number,
        "status": "invalid",
        "checker": "fake",
        "reference": None,
    }


async def test_only_a_ground_that_relies_on_the_number_checks_it(
    db: Database, settings: Settings
) -> None:
    checker = FakeChecker("invalid")
    _, invoice_id = await _issue(
        db,
        settings,
        country="BE",
        vat_number="BE0403170701",
        ground="art44_performer",
        checker=checker,
    )
    async with db.session() as session:
        from models import Invoice

        invoice = await session.get(Invoice, invoice_id)
        assert invoice is not None
        out = await invoice_out(session, invoice)
    assert checker.calls == 0
    assert invoice.vat_check_status is None and out["vat_check"] is None
    assert (invoice.vat_category, invoice.vat_exemption_code) == ("E", None)


async def test_a_mission_from_before_the_grounds_keeps_the_automatic_regime(
    db: Database, settings: Settings
) -> None:
    """Missions created before migration 0022 have no ground: the regime of the client decides,
    as it did, and a reverse charge is still checked."""
    issued_on = await today(db, settings)
    checker = FakeChecker("valid", reference="REF-1")
    async with db.session() as session:
        de = await new_party(session, country="DE", vat_number=DE_VAT)
        us = await new_party(session, country="US", vat_number=None)
        old_de = await reported_mission(
            session, settings, de, vat_rate="0", vat_exemption="eu_reverse_charge"
        )
        old_us = await reported_mission(
            session, settings, us, vat_rate="0", vat_exemption="outside_eu_business"
        )
        for mission in (old_de, old_us):  # as the rows were before the column existed
            mission.vat_exemption = None
        reverse = await issue_invoice(session, old_de.id, issued_on, 30, vat_checker=checker)
        outside = await issue_invoice(session, old_us.id, issued_on, 30, vat_checker=checker)
    assert (reverse.vat_category, reverse.vat_mention, reverse.vat_exemption) == (
        "AE",
        REVERSE_CHARGE_MENTION,
        None,
    )
    assert (reverse.vat_check_status, reverse.vat_check_reference) == ("valid", "REF-1")
    assert (outside.vat_category, outside.vat_mention, outside.vat_check_status) == (
        "O",
        OUT_OF_SCOPE_MENTION,
        None,
    )
    assert checker.calls == 1


@pytest.mark.parametrize(
    ("country", "vat_number", "ground", "category", "vatex"),
    [
        ("DE", DE_VAT, "eu_reverse_charge", "AE", "VATEX-EU-AE"),
        ("BE", "BE0403170701", "be_reverse_charge_works", "AE", "VATEX-EU-AE"),
        ("BE", "BE0403170701", "art44_performer", "E", None),
        ("CH", "CHE-123.456.788", "outside_eu_business", "O", "VATEX-EU-O"),
        ("NL", "NL004495445B01", "intra_eu_goods", "K", "VATEX-EU-IC"),
        ("US", None, "export_goods", "G", "VATEX-EU-G"),
    ],
)
async def test_the_e_invoice_carries_the_ground_and_stays_valid(
    db: Database,
    settings: Settings,
    country: str,
    vat_number: str | None,
    ground: str,
    category: str,
    vatex: str | None,
) -> None:
    mission_id, _ = await _issue(
        db, settings, country=country, vat_number=vat_number, ground=ground, language="fr"
    )
    doc = await documents.ensure_ubl(db, mission_id, settings=settings)
    assert doc is not None
    assert fatal_errors(doc.content) == []  # UBL 2.1 XSD + CEN EN 16931 rules
    root = etree.fromstring(doc.content)
    tax = root.find("cac:TaxTotal/cac:TaxSubtotal/cac:TaxCategory", NS)
    assert tax is not None
    assert tax.findtext("cbc:ID", namespaces=NS) == category
    assert tax.findtext("cbc:TaxExemptionReasonCode", namespaces=NS) == vatex
    async with db.session() as session:
        mention = {g.code: g for g in await vat_grounds.grounds(session, await today(db, settings))}
    assert tax.findtext("cbc:TaxExemptionReason", namespaces=NS) == mention[ground].mention("fr")


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("fr", ["Autoliquidation – TVA due par le preneur", "art. 21, § 2 du Code de la TVA"]),
        ("nl", ["Verlegging van heffing – btw verschuldigd door de afnemer", "Btw-wetboek"]),
        ("en", ["Reverse charge – VAT due by the customer", "art. 21 § 2 Belgian VAT Code"]),
    ],
)
async def test_the_invoice_pdf_prints_the_ground_mention_in_the_client_language(
    db: Database, settings: Settings, language: str, words: list[str]
) -> None:
    mission_id, _ = await _issue(db, settings, language=language)
    async with db.session() as session:
        data = await document_data(session, mission_id, "invoice")
    assert data.language == language
    text = norm(pdf_text(render.render_pdf("invoice", data.data)))
    for word in words:
        assert norm(word) in text
    assert DE_VAT in text  # the customer's VAT number, required on a reverse-charge invoice


async def test_the_art44_pdf_names_the_paragraph(db: Database, settings: Settings) -> None:
    mission_id, _ = await _issue(
        db,
        settings,
        country="BE",
        vat_number="BE0403170701",
        ground="art44_performer",
        language="nl",
    )
    async with db.session() as session:
        data = await document_data(session, mission_id, "invoice")
        order_form = await document_data(session, mission_id, "order_form")
    assert "Vrijstelling van btw – art. 44, § 2, 8° Btw-wetboek." in norm(
        pdf_text(render.render_pdf("invoice", data.data))
    )
    # The order form the client confirmed says the same as the invoice will.
    assert order_form.data.vat_category == "E"
    assert order_form.data.mention() == "Vrijstelling van btw – art. 44, § 2, 8° Btw-wetboek."


async def test_ops_see_the_check_on_the_console_mission_page(
    db: Database, settings: Settings
) -> None:
    """ "not checked" and "invalid" are in plain sight for ops, beside the invoice."""
    import re

    import httpx

    from api.app import create_app
    from services import people
    from tests.conftest import unique

    email = f"{unique('vat-ops')}@coop.example"
    async with db.session() as session:
        await people.create_staff_user(session, email, "staff password 123", "ops")
    not_checked, _ = await _issue(db, settings)
    invalid, _ = await _issue(db, settings, checker=FakeChecker("invalid"))
    app = create_app(settings, db, None)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://coopflow.test",
        headers={"Accept-Language": "en"},
    ) as http:
        form = await http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        r = await http.post(
            "/login",
            data={"email": email, "password": "staff password 123", "csrf_token": token[1]},
        )
        assert r.status_code == 303, r.text
        page = (await http.get(f"/console/missions/{not_checked}")).text
        assert "0 % VAT ground" in page and "eu_reverse_charge" in page
        assert "<strong>not checked</strong>" in page
        page = (await http.get(f"/console/missions/{invalid}")).text
        assert "<strong>INVALID in VIES</strong>" in page
        assert "VIES says the client&#39;s VAT number is invalid" in page  # the attention reason
