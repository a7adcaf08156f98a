"""One realistic dataclass per document kind (no database), for the rendering tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

from documents.kinds import (
    ContractAmendmentDocument,
    ContractDocument,
    CreditNoteDocument,
    DunningLetterDocument,
    LatePaymentTerms,
    OrderFormDocument,
    PayMonth,
    PayslipDocument,
    PayslipEstimateDocument,
    Person,
    SummaryRow,
    TaxSummaryDocument,
    WriteOffNoticeDocument,
)
from documents.payslip import add_up, differences, payroll_lines, summary_figures
from documents.pdf import Buyer, InvoiceDocument, InvoiceLine, Seller
from tests.documents import payroll_json

OGM = "+++202/6000/04236+++"

SELLER = Seller(
    name="Coopflow SCRL",
    street="Rue Coenraets 72",
    postal_zone="1060",
    city="Bruxelles",
    country="BE",
    vat_number="BE0123456749",
    enterprise_number="0123456749",
    legal_form="SC / CV",
    register_court="Bruxelles",
    iban="BE71096123456769",
)
BUSINESS = Buyer(
    name="Atelier Lumière SRL",
    address="Rue de la Loi 16\n1000 Bruxelles",
    country="BE",
    vat_number="BE0851927541",
)
CONSUMER = Buyer(name="Jeanne Peeters", address="Kerkstraat 3\n2000 Antwerpen", country="BE")
MEMBER = Person(
    name="Alice Dubois",
    email="alice@example.be",
    national_number="85010100133",
    iban="BE62510007547061",
)


def order_form(regime: str = "b2b") -> OrderFormDocument:
    return OrderFormDocument(
        seller=SELLER,
        buyer=BUSINESS if regime == "b2b" else CONSUMER,
        reference="OF-000042",
        issue_date=date(2026, 2, 20),
        member_name=MEMBER.name,
        title="Conception graphique du catalogue",
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 6),
        vat_category="S",
        vat_rate=Decimal("21"),
        amount_excl_vat=Decimal("1000.00"),
        vat_amount=Decimal("210.00"),
        total_incl_vat=Decimal("1210.00"),
        payment_days=30,
        late_payment=LatePaymentTerms(
            regime=regime,
            annual_rate=Decimal("10.50"),
            fixed_compensation=Decimal("40.00"),
            reminder_fee_max=Decimal("7.50"),
            waiting_days=14,
            penalty_cap=Decimal("100.50"),
            legal_rate=Decimal("4.50"),
            # The order form with the reciprocal clause (migration 0021, from 8 Dec 2026).
            reciprocal_clause="OF-2026-12" if regime == "b2c" else None,
        ),
        contract_type="ordinary",
        confirmed_on=date(2026, 2, 22),
        confirmation_method="signed order form",
    )


def contract() -> ContractDocument:
    return ContractDocument(
        employer=SELLER,
        worker=MEMBER,
        reference="CT-000042",
        issue_date=date(2026, 2, 20),
        job_title="Conception graphique du catalogue",
        client_name=BUSINESS.name,
        place_of_work="Atelier Lumière SRL\nRue de la Loi 16, 1000 Bruxelles",
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 6),
        contract_type="ordinary",
        gross_salary=Decimal("699.38"),
        pay_date=date(2026, 3, 17),
        signed_on=date(2026, 2, 21),
    )


def invoice() -> InvoiceDocument:
    return InvoiceDocument(
        seller=SELLER,
        buyer=BUSINESS,
        number="F2026-000042",
        issue_date=date(2026, 3, 9),
        due_date=date(2026, 4, 8),
        supply_start=date(2026, 3, 2),
        supply_end=date(2026, 3, 6),
        lines=(InvoiceLine("Conception graphique du catalogue", Decimal("1000.00")),),
        vat_category="S",
        vat_rate=Decimal("21"),
        total_excl_vat=Decimal("1000.00"),
        vat_amount=Decimal("210.00"),
        total_incl_vat=Decimal("1210.00"),
        structured_communication=OGM,
    )


def credit_note() -> CreditNoteDocument:
    return CreditNoteDocument(
        seller=SELLER,
        buyer=BUSINESS,
        number="C2026-000007",
        issue_date=date(2026, 3, 20),
        invoice_number="F2026-000042",
        invoice_issue_date=date(2026, 3, 9),
        reason="Une journée non prestée",
        full=False,
        vat_category="S",
        vat_rate=Decimal("21"),
        amount_excl_vat=Decimal("200.00"),
        vat_amount=Decimal("42.00"),
        amount_incl_vat=Decimal("242.00"),
    )


def letter(kind: str, regime: str = "b2b") -> DunningLetterDocument:
    """Invoice of 1,210.00 due 8 April 2026, 210.00 paid; charges as the ladder would put them."""
    base = DunningLetterDocument(
        kind=kind,
        seller=SELLER,
        buyer=BUSINESS if regime == "b2b" else CONSUMER,
        letter_date=date(2026, 4, 15),
        regime=regime,
        invoice_number="F2026-000042",
        invoice_issue_date=date(2026, 3, 9),
        due_date=date(2026, 4, 8),
        title="Conception graphique du catalogue",
        invoice_total=Decimal("1210.00"),
        credited=Decimal("0.00"),
        paid=Decimal("210.00"),
        principal_open=Decimal("1000.00"),
        interest=Decimal("0.00"),
        fixed_compensation=Decimal("0.00"),
        penalty=Decimal("0.00"),
        reminder_fee=Decimal("0.00"),
        amount_due=Decimal("1000.00"),
        pay_by=date(2026, 4, 29),
        structured_communication=OGM,
        annual_rate=Decimal("10.50"),
        rate_is_estimate=False,
        b2b_fixed_compensation=Decimal("40.00"),
        b2c_penalty=Decimal("90.00"),
        b2c_reminder_fee_max=Decimal("7.50"),
        waiting_days=14,
        waiting_start=date(2026, 4, 16) if regime == "b2c" else None,
        costs_from=date(2026, 4, 30) if regime == "b2c" else None,
    )
    if regime == "b2b" and kind != "reminder_1":
        day = date(2026, 4, 29) if kind == "reminder_2" else date(2026, 5, 13)
        interest = Decimal("6.04") if kind == "reminder_2" else Decimal("10.07")
        return replace(
            base,
            letter_date=day,
            interest=interest,
            fixed_compensation=Decimal("40.00"),
            amount_due=Decimal("1040.00") + interest,
            pay_by=date(2026, 5, 13) if kind == "reminder_2" else date(2026, 6, 12),
        )
    if regime == "b2c" and kind == "reminder_2":
        return replace(base, letter_date=date(2026, 4, 29), pay_by=date(2026, 5, 13))
    if regime == "b2c" and kind == "formal_notice":
        return replace(
            base,
            letter_date=date(2026, 5, 13),
            interest=Decimal("4.03"),
            penalty=Decimal("90.00"),
            reminder_fee=Decimal("7.50"),
            amount_due=Decimal("1101.53"),
            pay_by=date(2026, 6, 12),
        )
    return base


def payslip(paid: bool = True) -> PayslipEstimateDocument:
    return PayslipEstimateDocument(
        employer=SELLER,
        member=MEMBER,
        reference="M000042",
        issue_date=date(2026, 3, 17),
        title="Conception graphique du catalogue",
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 6),
        contract_type="ordinary",
        lines=payroll_lines(payroll_json.ordinary_estimate()),
        pay_date=date(2026, 3, 17),
        advance_working_days=7,
        paid=paid,
        source="fund" if paid else None,
    )


def final_payslip() -> PayslipDocument:
    """The payout of payslip()'s estimate: other pay that month, a key formula of July."""
    estimate = payroll_lines(payroll_json.ordinary_estimate())
    payout = payroll_json.ordinary_payout()
    final = payroll_lines(payout)
    return PayslipDocument(
        employer=SELLER,
        member=MEMBER,
        reference="PS-000042-7",
        issue_date=date(2026, 9, 15),
        title="Conception graphique du catalogue",
        start_date=date(2026, 9, 1),
        end_date=date(2026, 9, 4),
        contract_type="ordinary",
        lines=final,
        paid_on=date(2026, 9, 15),
        source="client",
        differences=differences(estimate, final, (), payout["month"]),
        estimate_date=date(2026, 2, 21),
        month=PayMonth("2026-09", Decimal("800.00"), Decimal("120.00")),
    )


def amendment() -> ContractAmendmentDocument:
    return ContractAmendmentDocument(
        employer=SELLER,
        worker=MEMBER,
        reference="CT-000042-A1",
        contract_reference="CT-000042",
        sequence=1,
        issue_date=date(2026, 3, 10),
        title="Conception graphique du catalogue",
        client_name=BUSINESS.name,
        start_date=date(2026, 3, 2),
        end_date=date(2026, 3, 6),
        contract_type="artistic",
        old_gross=Decimal("699.38"),
        new_gross=Decimal("750.00"),
        reason="two more days of work agreed with the client",
    )


def tax_summary() -> TaxSummaryDocument:
    rows = (
        SummaryRow(
            date(2026, 3, 17),
            42,
            "Conception graphique du catalogue",
            "payout",
            summary_figures(payroll_json.ordinary_payout()),
        ),
        SummaryRow(
            date(2026, 9, 15),
            43,
            "Concert à Liège",
            "payout",
            summary_figures(payroll_json.artistic_payout()),
        ),
    )
    return TaxSummaryDocument(
        employer=SELLER,
        member=MEMBER,
        reference="281.10-2026-000007",
        year=2026,
        issue_date=date(2027, 1, 15),
        rows=rows,
        totals=add_up(r.figures for r in rows),
    )


def write_off() -> WriteOffNoticeDocument:
    return WriteOffNoticeDocument(
        employer=SELLER,
        member=MEMBER,
        reference="F2026-000042",
        title="Conception graphique du catalogue",
        client_name=BUSINESS.name,
        invoice_number="F2026-000042",
        invoice_issue_date=date(2026, 3, 9),
        amount_written_off=Decimal("1000.00"),
        write_off_date=date(2026, 6, 12),
        cause="dunning_exhausted",
        net_salary=Decimal("516.58"),
        salary_paid_on=date(2026, 3, 17),
    )


def sample(kind: str, language: str, regime: str = "b2b") -> Any:
    """The sample of `kind` in `language`."""
    builders = {
        "order_form": lambda: order_form(regime),
        "contract": contract,
        "invoice": invoice,
        "credit_note": credit_note,
        "reminder_1": lambda: letter("reminder_1", regime),
        "reminder_2": lambda: letter("reminder_2", regime),
        "formal_notice": lambda: letter("formal_notice", regime),
        "payslip_estimate": payslip,
        "write_off_notice": write_off,
        "payslip": final_payslip,
        "contract_amendment": amendment,
        "tax_summary": tax_summary,
    }
    return replace(builders[kind](), language=language)
