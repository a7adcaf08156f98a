"""VAT regimes at issue time (domain.md §2.2), through issue_invoice on PostgreSQL."""

from __future__ import annotations

from decimal import Decimal

import pytest
from stdnum.be import ogm_vcs

from core.db import Database
from core.settings import Settings
from domain.errors import FieldError
from domain.invoice import (
    EXEMPT_MENTION,
    OUT_OF_SCOPE_MENTION,
    REVERSE_CHARGE_MENTION,
    vat_treatment,
)
from services.invoicing import issue_invoice
from tests.invoicing.conftest import new_party, reported_mission, today, transaction_lines

D = Decimal


BE_VAT = "BE0403170701"
RC, OOS, EX = REVERSE_CHARGE_MENTION, OUT_OF_SCOPE_MENTION, EXEMPT_MENTION
FIELDS = "kind,country,vat_number,rate,expenses,category,mention,excl,vat,incl"
CASES = [
    # Belgian business at 21 %: expenses are rebilled with the work, grossed up for the fee
    # (58.50 / 0.935 = 62.57, so the invoice is 1000 + 62.57).
    ("business", "BE", BE_VAT, "21", "58.50", "S", None, "1062.57", "223.14", "1285.71"),
    ("consumer", "BE", None, "6", "0", "S", None, "1000.00", "60.00", "1060.00"),
    ("business", "BE", BE_VAT, "12", "0", "S", None, "1000.00", "120.00", "1120.00"),
    ("business", "BE", BE_VAT, "0", "0", "E", EX, "1000.00", "0.00", "1000.00"),
    # EU business with a VAT number: the client self-assesses, whatever the mission's rate.
    ("business", "DE", "DE136695976", "21", "0", "AE", RC, "1000.00", "0.00", "1000.00"),
    ("business", "NL", "NL004495445B01", "6", "0", "AE", RC, "1000.00", "0.00", "1000.00"),
    # EU business without a VAT number cannot self-assess: Belgian VAT.
    ("business", "FR", None, "21", "0", "S", None, "1000.00", "210.00", "1210.00"),
    # Consumers anywhere pay Belgian VAT.
    ("consumer", "FR", None, "21", "0", "S", None, "1000.00", "210.00", "1210.00"),
    ("consumer", "US", None, "21", "0", "S", None, "1000.00", "210.00", "1210.00"),
    # A business outside the EU is out of scope of Belgian VAT.
    ("business", "CH", "CHE-123.456.788", "21", "0", "O", OOS, "1000.00", "0.00", "1000.00"),
    ("business", "US", None, "21", "0", "O", OOS, "1000.00", "0.00", "1000.00"),
]


@pytest.mark.parametrize(FIELDS, CASES)
async def test_vat_regime_at_issue(
    db: Database,
    settings: Settings,
    kind: str,
    country: str,
    vat_number: str | None,
    rate: str,
    expenses: str,
    category: str,
    mention: str | None,
    excl: str,
    vat: str,
    incl: str,
) -> None:
    issued_on = await today(db, settings)
    async with db.session() as session:
        party = await new_party(session, kind=kind, country=country, vat_number=vat_number)
        extra = [("Train tickets", D(expenses))] if D(expenses) else []
        mission = await reported_mission(session, settings, party, vat_rate=rate, expenses=extra)
        invoice = await issue_invoice(session, mission.id, issued_on, 30)
        lines = await transaction_lines(session, f"invoice_issued:{invoice.id}")
    assert invoice.vat_category == category
    assert invoice.vat_mention == mention
    assert (invoice.total_excl_vat, invoice.vat_amount, invoice.total_incl_vat) == (
        D(excl),
        D(vat),
        D(incl),
    )
    assert invoice.vat_rate == (D(rate) if category in ("S", "E") else D("0"))
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
    from services.missions import mission_detail

    issued_on = await today(db, settings)
    async with db.session() as session:
        party = await new_party(session, country="DE", vat_number="DE 136 695 976")
        mission = await reported_mission(session, settings, party)
        await issue_invoice(session, mission.id, issued_on, 30)
        detail = await mission_detail(session, mission)
    assert detail["invoice"]["vat_category"] == "AE"
    assert detail["invoice"]["vat_mention"] == REVERSE_CHARGE_MENTION
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
