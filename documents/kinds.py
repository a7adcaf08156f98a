"""The frozen data each document kind is rendered from (built by services/document_data.py).

Every figure arrives computed: the templates format and place, they never calculate. Amounts are
Decimal EUR, rates are percentages (21 means 21 %), dates are business dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from documents.payslip import LineDifference, PayslipLine, amount_of
from documents.pdf import DEFAULT_MENTIONS, Buyer, Seller

__all__ = [
    "Buyer",
    "ContractAmendmentDocument",
    "ContractDocument",
    "CreditNoteDocument",
    "DunningLetterDocument",
    "LatePaymentTerms",
    "OrderFormDocument",
    "PayMonth",
    "PayslipDocument",
    "PayslipEstimateDocument",
    "Person",
    "Seller",
    "SummaryRow",
    "TaxSummaryDocument",
    "WriteOffNoticeDocument",
    "localized_mention",
]

DUNNING_KINDS: tuple[str, ...] = ("reminder_1", "reminder_2", "formal_notice")


def localized_mention(category: str, language: str, custom: str | None) -> str | None:
    """The VAT mention to print: the document's own, else the standard one in its language."""
    if custom:
        return custom
    return DEFAULT_MENTIONS.get(category, {}).get(language)


@dataclass(frozen=True)
class Person:
    """A member as an employee: what a contract, a payslip and a letter to them print."""

    name: str
    email: str = ""
    national_number: str = ""
    iban: str = ""


@dataclass(frozen=True)
class LatePaymentTerms:
    """What the client is told, before ordering, about paying late (from dated parameters)."""

    regime: str  # "b2b" | "b2c"
    annual_rate: Decimal  # law-of-2002 rate in force on the order date, percent per year
    fixed_compensation: Decimal  # B2B flat compensation per late invoice
    reminder_fee_max: Decimal  # B2C, per reminder after the first (free) one
    waiting_days: int  # B2C period after the first reminder
    penalty_cap: Decimal  # B2C Book XIX cap for this order's total
    legal_rate: Decimal | None = None  # B2C: law of 5 May 1865 rate on the order date
    # B2C: the reciprocal clause's version when the order form stipulates the 2002-law rate and
    # a penalty both ways (else a consumer owes the legal rate and no penalty).
    reciprocal_clause: str | None = None


@dataclass(frozen=True)
class OrderFormDocument:
    """The client's order form (quote): the coop supplies the member's work at this price."""

    seller: Seller
    buyer: Buyer
    reference: str
    issue_date: date
    member_name: str
    title: str
    start_date: date
    end_date: date
    vat_category: str
    vat_rate: Decimal
    amount_excl_vat: Decimal
    vat_amount: Decimal
    total_incl_vat: Decimal
    payment_days: int
    late_payment: LatePaymentTerms
    contract_type: str  # the member's employment for this work: "ordinary" | "artistic"
    vat_mention: str | None = None
    confirmed_on: date | None = None
    confirmation_method: str | None = None
    language: str = "fr"

    def mention(self) -> str | None:
        return localized_mention(self.vat_category, self.language, self.vat_mention)


@dataclass(frozen=True)
class ContractDocument:
    """The member's fixed-term employment contract with the coop for one mission."""

    employer: Seller
    worker: Person
    reference: str
    issue_date: date
    job_title: str
    client_name: str
    place_of_work: str
    start_date: date
    end_date: date
    contract_type: str  # "ordinary" | "artistic"
    gross_salary: Decimal
    pay_date: date
    signed_on: date | None = None
    language: str = "fr"


@dataclass(frozen=True)
class CreditNoteDocument:
    """A credit note cancelling all or part of an invoice (its own gap-free series)."""

    seller: Seller
    buyer: Buyer
    number: str
    issue_date: date
    invoice_number: str
    invoice_issue_date: date
    reason: str
    full: bool
    vat_category: str
    vat_rate: Decimal
    amount_excl_vat: Decimal
    vat_amount: Decimal
    amount_incl_vat: Decimal
    vat_mention: str | None = None
    language: str = "fr"

    @property
    def reference(self) -> str:
        return self.number

    def mention(self) -> str | None:
        return localized_mention(self.vat_category, self.language, self.vat_mention)

    def vat_to_repay(self) -> bool:
        """A business that deducted the VAT must pay it back: the note says so (domain.md §3.4)."""
        return self.vat_amount > 0 and bool(self.buyer.vat_number)


@dataclass(frozen=True)
class DunningLetterDocument:
    """Reminder 1, reminder 2 or the formal notice, with what was charged up to this letter."""

    kind: str  # one of DUNNING_KINDS
    seller: Seller
    buyer: Buyer
    letter_date: date
    regime: str  # "b2b" | "b2c"
    invoice_number: str
    invoice_issue_date: date
    due_date: date
    title: str
    invoice_total: Decimal
    credited: Decimal
    paid: Decimal
    principal_open: Decimal
    interest: Decimal  # accrued to the letter's date (charged by the rungs, and since)
    fixed_compensation: Decimal
    penalty: Decimal
    reminder_fee: Decimal
    amount_due: Decimal
    pay_by: date
    structured_communication: str
    annual_rate: Decimal  # rate applied on the letter date (B2C: legal rate unless stipulated)
    rate_is_estimate: bool
    b2b_fixed_compensation: Decimal  # the parameter, stated in B2B letters
    b2c_penalty: Decimal  # what WILL be claimed if the 14 days pass (Book XIX cap)
    b2c_reminder_fee_max: Decimal
    waiting_days: int
    waiting_start: date | None = None  # B2C: day 1 of the period after the first reminder
    costs_from: date | None = None  # B2C: first day costs may be claimed
    language: str = "fr"

    @property
    def reference(self) -> str:
        return self.invoice_number

    @property
    def charges(self) -> Decimal:
        return self.interest + self.fixed_compensation + self.penalty + self.reminder_fee

    @property
    def waiting_end(self) -> date | None:
        return None if self.costs_from is None else self.costs_from - timedelta(days=1)

    @property
    def costs_charged(self) -> bool:
        return self.charges > 0


@dataclass(frozen=True)
class PayslipEstimateDocument:
    """The member's salary for one mission, from price to net, as estimated before the work.

    `lines` are the engine's payroll lines (documents.payslip): each with its base, rate and the
    dated rule that produced it."""

    employer: Seller
    member: Person
    reference: str
    issue_date: date
    title: str
    start_date: date
    end_date: date
    contract_type: str
    lines: tuple[PayslipLine, ...]
    pay_date: date
    advance_working_days: int  # policy: the salary is paid this many working days after the end
    paid: bool = False
    source: str | None = None  # "fund" | "client" once paid
    withholding_rate: Decimal | None = None  # artistic contracts: the flat rate, percent
    language: str = "fr"

    def amount(self, code: str) -> Decimal | None:
        return amount_of(self.lines, code)


@dataclass(frozen=True)
class PayMonth:
    """The calendar month a payout belongs to, and what earlier payouts of it already counted."""

    month: str  # "YYYY-MM"
    taxable_before: Decimal
    withheld_before: Decimal


@dataclass(frozen=True)
class PayslipDocument:
    """The final payslip of one payout: every line with its rule, and how it differs from the
    estimate the member signed for."""

    employer: Seller
    member: Person
    reference: str
    issue_date: date
    title: str
    start_date: date
    end_date: date
    contract_type: str
    lines: tuple[PayslipLine, ...]
    paid_on: date
    source: str  # "fund" | "client"
    differences: tuple[LineDifference, ...] = ()
    estimate_date: date | None = None  # None: no signed estimate on record
    month: PayMonth | None = None
    withholding_rate: Decimal | None = None  # artistic contracts: the flat rate, percent
    language: str = "fr"

    def amount(self, code: str) -> Decimal | None:
        return amount_of(self.lines, code)


@dataclass(frozen=True)
class ContractAmendmentDocument:
    """A written amendment to the employment contract: the gross changes only this way."""

    employer: Seller
    worker: Person
    reference: str
    contract_reference: str
    sequence: int
    issue_date: date
    title: str
    client_name: str
    start_date: date
    end_date: date
    contract_type: str
    old_gross: Decimal
    new_gross: Decimal
    reason: str
    language: str = "fr"


@dataclass(frozen=True)
class SummaryRow:
    """One payout (or a later correction of one) in the yearly summary; figures by name
    (documents.payslip.SUMMARY_FIGURES)."""

    paid_on: date
    mission_id: int
    title: str
    kind: str  # "payout" | "correction"
    figures: dict[str, Decimal]


@dataclass(frozen=True)
class TaxSummaryDocument:
    """Per member and calendar year of payment: the figures of the 281.10 tax form."""

    employer: Seller
    member: Person
    reference: str
    year: int
    issue_date: date
    rows: tuple[SummaryRow, ...]
    totals: dict[str, Decimal]
    language: str = "fr"


@dataclass(frozen=True)
class WriteOffNoticeDocument:
    """Tells the member the client's debt was written off and that their salary is safe."""

    employer: Seller
    member: Person
    reference: str
    title: str
    client_name: str
    invoice_number: str
    invoice_issue_date: date
    amount_written_off: Decimal
    write_off_date: date
    cause: str  # services/fund.py WRITE_OFF_CAUSES key
    net_salary: Decimal | None = None
    salary_paid_on: date | None = None
    language: str = "fr"
