"""VAT regimes at issue time (domain.md §2.2), through issue_invoice on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum.be import ogm_vcs

from core.db import Database
from core.settings import Settings
from domain.errors import FieldError
from domain.invoice import vat_treatment
from services import vat_grounds
from services.invoicing import issue_invoice
from tests.invoicing.conftest import new_party, reported_mission, today, transaction_lines

D = Decimal


BE_VAT = "BE0403170701"
FIELDS = "kind,country,vat_number,rate,ground,expenses,category,excl,vat,incl"
CASES = [
    # Belgian business at 21 %: expenses are rebilled with the work, grossed up for the fee
    # (58.50 / 0.935 = 62.57, so the invoice is 1000 + 62.57).
    ("business", "BE", BE_VAT, "21", None, "58.50", "S", "1062.57", "223.14", "1285.71"),
    ("consumer", "BE", None, "6", None, "0", "S", "1000.00", "60.00", "1060.00"),
    ("business", "BE", BE_VAT, "12", None, "0", "S", "1000.00", "120.00", "1120.00"),
    # 0 % only under a legal ground chosen on the mission (migration 0022).
    ("business", "BE", BE_VAT, "0", "art44_performer", "0", "E", "1000.00", "0.00", "1000.00"),
    (
        "business",
        "BE",
        BE_VAT,
        "0",
        "be_reverse_charge_works",
        "0",
        "AE",
        "1000.00",
        "0.00",
        "1000.00",
    ),
    # EU business with a VAT number: the client self-assesses (reverse charge).
    (
        "business",
        "DE",
        "DE136695976",
        "0",
        "eu_reverse_charge",
        "0",
        "AE",
        "1000.00",
        "0.00",
        "1000.00",
    ),
    (
        "business",
        "NL",
        "NL004495445B01",
        "0",
        "intra_eu_goods",
        "0",
        "K",
        "1000.00",
        "0.00",
        "1000.00",
    ),
    # EU business without a VAT number cannot self-assess: Belgian VAT.
    ("business", "FR", None, "21", None, "0", "S", "1000.00", "210.00", "1210.00"),
    # Consumers anywhere pay Belgian VAT.
    ("consumer", "FR", None, "21", None, "0", "S", "1000.00", "210.00", "1210.00"),
    ("consumer", "US", None, "21", None, "0", "S", "1000.00", "210.00", "1210.00"),
    # A business outside the EU is out of scope of Belgian VAT; goods leaving the EU are exports.
    (
        "business",
        "CH",
        "CHE-123.456.788",
        "0",
        "outside_eu_business",
        "0",
        "O",
        "1000.00",
        "0.00",
        "1000.00",
    ),
    ("business", "US", None, "0", "export_goods", "0", "G", "1000.00", "0.00", "1000.00"),
]


@pytest.mark.parametrize(FIELDS, CASES)
async def test_vat_regime_at_issue(
    db: Database,
    settings: Settings,
    kind: str,
    country: str,
    vat_number: str | None,
    rate: str,
    ground: str | None,
    expenses: str,
    category: str,
    excl: str,
    vat: str,
    incl: str,
) -> None:
    issued_on = await today(db, settings)
    async with db.session() as session:
        party = await new_party(session, kind=kind, country=country, vat_number=vat_number)
        extra = [("Train tickets", D(expenses))] if D(expenses) else []
        mission = await reported_mission(
            session, settings, party, vat_rate=rate, expenses=extra, vat_exemption=ground
        )
        invoice = await issue_invoice(session, mission.id, issued_on, 30)
        lines = await transaction_lines(session, f"invoice_issued:{invoice.id}")
        grounds = {g.code: g for g in await vat_grounds.grounds(session, issued_on)}
    assert invoice.vat_category == category
    assert invoice.vat_exemption == ground
    # The ground's mention, in the client's language (English: the default of new_party).
    assert invoice.vat_mention == (None if ground is None else grounds[ground].mention("en"))
    assert invoice.vat_exemption_code == (None if ground is None else grounds[ground].vatex)
    assert (invoice.total_excl_vat, invoice.vat_amount, invoice.total_incl_vat) == (
        D(excl),
        D(vat),
        D(incl),
    )
    assert invoice.vat_rate == D(rate)
    assert invoice.balance == invoice.principal_open == D(incl)
    # The books: the client owes the total incl. VAT, the State gets exactly the VAT charged.
    assert lines["client_receivables"] == D(incl)
    assert lines.get("vat_payable", D("0")) == -D(vat)
    assert sum(lines.values()) == 0
    # Structured communication: from the number, check digits by python-stdnum.
    digits = f"{invoice.year:04d}{invoice.sequence:06d}"
    assert invoice.number == f"F{invoice.year}-{invoice.sequence:06d}"
    expected = ogm_vcs.format(digits + ogm_vcs.calc_check_digits(digits))
    assert invoice.structured_communication == f"+++{expected}+++"
    assert ogm_vcs.is_valid(invoice.structured_communication)


async def test_mission_shows_the_vat_regime(db: Database, settings: Settings) -> None:
    from services.views import mission_detail

    issued_on = await today(db, settings)
    async with db.session() as session:
        party = await new_party(session, country="DE", vat_number="DE 136 695 976")
        mission = await reported_mission(
            session, settings, party, vat_rate="0", vat_exemption="eu_reverse_charge"
        )
        await issue_invoice(session, mission.id, issued_on, 30)
        detail = await mission_detail(session, mission)
    assert detail["vat_exemption"] == "eu_reverse_charge"
    assert detail["invoice"]["vat_category"] == "AE"
    assert detail["invoice"]["vat_exemption"] == "eu_reverse_charge"
    assert detail["invoice"]["vat_exemption_code"] == "VATEX-EU-AE"
    assert detail["invoice"]["vat_mention"].startswith("Reverse charge")
    # The embedded default checks nothing, and says so: ops see "not_checked".
    assert detail["invoice"]["vat_check"]["status"] == "not_checked"
    assert detail["invoice"]["vat_amount"] == "0.00"
    assert detail["invoice"]["credit_notes"] == []


def test_unknown_rate_is_refused_at_issue() -> None:
    with pytest.raises(FieldError) as err:
        vat_treatment(
            client_kind="business",
            client_country="BE",
            client_vat_number="BE0403170701",
            rate=D("7"),
            allowed_rates=[D("0"), D("6"), D("12"), D("21")],
        )
    assert err.value.field == "vat_rate"
    assert "allowed: 0, 6, 12, 21" in err.value.message


def test_invalid_eu_vat_number_is_not_reverse_charged() -> None:
    treatment = vat_treatment(
        client_kind="business",
        client_country="DE",
        client_vat_number="DE136695977",  # bad check digit
        rate=D("21.00"),
        allowed_rates=[D("0"), D("6"), D("12"), D("21")],
    )
    assert (treatment.category, treatment.rate, treatment.mention) == ("S", D("21.00"), None)
