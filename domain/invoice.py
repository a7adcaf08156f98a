"""Invoices and credit notes: VAT regime, totals to the cent, and how a credit note is split.

One VAT rate per invoice, VAT computed on the total excl. VAT (domain.md §2.1-2.2). The VAT
categories are the EN 16931 / Peppol codes (domain.md §2.5): S standard, E exempt, AE reverse
charge, O out of scope.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from domain.errors import FieldError
from domain.identifiers import EU_COUNTRIES, normalize_country, normalize_vat_number
from domain.money import CENT, to_cents

__all__ = [
    "EXEMPT_MENTION",
    "OUT_OF_SCOPE_MENTION",
    "REVERSE_CHARGE_MENTION",
    "CreditSplit",
    "InvoiceLine",
    "InvoiceTotals",
    "VatCategory",
    "VatTreatment",
    "budget_floor",
    "credit_split",
    "invoice_totals",
    "member_budget",
    "vat_treatment",
]

VatCategory = Literal["S", "E", "AE", "O"]

# Legal mentions printed on the invoice (domain.md §2.1 item 9, §2.2).
REVERSE_CHARGE_MENTION = "Autoliquidation / Reverse charge – art. 196 Directive 2006/112/EC"
OUT_OF_SCOPE_MENTION = "Hors champ de la TVA belge – art. 21 §2 Code TVA"
EXEMPT_MENTION = "Exonération de la TVA – art. 44 Code TVA"

_HUNDRED = Decimal(100)


@dataclass(frozen=True)
class InvoiceLine:
    """One line of an invoice: what was supplied and its amount excl. VAT (EUR cents)."""

    label: str
    amount_excl_vat: Decimal


@dataclass(frozen=True)
class InvoiceTotals:
    """The three totals printed on an invoice (EUR cents)."""

    total_excl_vat: Decimal
    vat_amount: Decimal
    total_incl_vat: Decimal


def invoice_totals(lines: Sequence[InvoiceLine], vat_rate_percent: Decimal) -> InvoiceTotals:
    """Compute an invoice's totals: VAT = rate x total excl. VAT, rounded half up to the cent."""
    if not lines:
        raise FieldError("lines", "an invoice needs at least one line")
    if not isinstance(vat_rate_percent, Decimal) or not vat_rate_percent.is_finite():
        raise FieldError("vat_rate", "must be a finite Decimal percentage")
    if not 0 <= vat_rate_percent <= _HUNDRED:
        raise FieldError("vat_rate", "must be between 0 and 100")
    for index, line in enumerate(lines):
        amount = line.amount_excl_vat
        if not isinstance(amount, Decimal) or not amount.is_finite():
            raise FieldError(f"lines[{index}].amount_excl_vat", "must be a finite Decimal amount")
        try:
            cents = to_cents(amount)
        except InvalidOperation:
            raise FieldError(f"lines[{index}].amount_excl_vat", "is too large") from None
        if cents != amount:
            raise FieldError(f"lines[{index}].amount_excl_vat", "at most 2 decimals")
    total_excl_vat = to_cents(sum((line.amount_excl_vat for line in lines), Decimal(0)))
    if total_excl_vat < 0:
        raise FieldError("lines", "the total excl. VAT must not be negative")
    vat_amount = to_cents(total_excl_vat * vat_rate_percent / _HUNDRED)
    return InvoiceTotals(
        total_excl_vat=total_excl_vat,
        vat_amount=vat_amount,
        total_incl_vat=total_excl_vat + vat_amount,
    )


# ---------------------------------------------------------------- VAT regime


@dataclass(frozen=True)
class VatTreatment:
    """The VAT an invoice carries: the rate applied, its EN 16931 category, its legal mention."""

    rate: Decimal
    category: VatCategory
    mention: str | None


def _format_rate(rate: Decimal) -> str:
    text = format(rate, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def vat_treatment(
    *,
    client_kind: str,
    client_country: str,
    client_vat_number: str | None,
    rate: Decimal,
    allowed_rates: Iterable[Decimal],
) -> VatTreatment:
    """Choose the VAT regime of an invoice from its client and the mission's rate (§2.2).

    Belgian clients and consumers anywhere pay the mission's Belgian rate (0 % = exempt); an EU
    business outside Belgium with a valid VAT number self-assesses (reverse charge); a business
    outside the EU is out of scope of Belgian VAT.
    """
    if client_kind not in ("business", "consumer"):
        raise FieldError("kind", "must be 'business' or 'consumer'")
    country = normalize_country(client_country)
    if not isinstance(rate, Decimal) or not rate.is_finite():
        raise FieldError("vat_rate", "must be a finite Decimal percentage")
    allowed = sorted(set(allowed_rates))
    if not any(rate == r for r in allowed):
        raise FieldError(
            "vat_rate",
            f"{_format_rate(rate)} is not an allowed VAT rate "
            f"(allowed: {', '.join(_format_rate(r) for r in allowed)})",
        )
    if client_kind == "business" and country != "BE":
        if country not in EU_COUNTRIES:
            return VatTreatment(Decimal("0.00"), "O", OUT_OF_SCOPE_MENTION)
        if client_vat_number and _valid_vat_number(client_vat_number, country):
            return VatTreatment(Decimal("0.00"), "AE", REVERSE_CHARGE_MENTION)
        # Without a valid VAT number the client cannot self-assess: Belgian VAT applies.
    if rate == 0:
        return VatTreatment(to_cents(rate), "E", EXEMPT_MENTION)
    return VatTreatment(to_cents(rate), "S", None)


def _valid_vat_number(number: str, country: str) -> bool:
    try:
        normalize_vat_number(number, country)
    except FieldError:
        return False
    return True


# ---------------------------------------------------------------- credit notes


def member_budget(billed_excl_vat: Decimal, fee_rate: Decimal) -> Decimal:
    """What a price excl. VAT leaves for the member after the coop's fee (as in the payroll)."""
    return billed_excl_vat - to_cents(billed_excl_vat * fee_rate)


def budget_floor(expenses: Decimal, fee_rate: Decimal) -> Decimal:
    """The smallest price excl. VAT whose member budget still reimburses `expenses`."""
    if expenses <= 0:
        return Decimal("0.00")
    price = to_cents(expenses / (1 - fee_rate))
    while price > 0 and member_budget(price - CENT, fee_rate) >= expenses:
        price -= CENT
    while member_budget(price, fee_rate) < expenses:
        price += CENT
    return price


@dataclass(frozen=True)
class CreditSplit:
    """One credit note's amounts and where each part of it is taken back from (EUR cents).

    amount_incl_vat = vat_amount + amount_excl_vat and
    amount_excl_vat = fee_income + fund_contribution + member_share + fund_share.
    """

    amount_incl_vat: Decimal
    vat_amount: Decimal
    amount_excl_vat: Decimal
    fee_income: Decimal  # the coop's fee, less the fund's contribution, given back
    fund_contribution: Decimal  # the fund's share of the fee, given back
    member_share: Decimal  # taken back from the member's unpaid salary budget
    fund_share: Decimal  # the member's part that the guarantee fund bears instead
    salary_base_after: Decimal  # the price excl. VAT the member's salary is computed on


def credit_split(
    *,
    invoice_excl_vat: Decimal,
    invoice_vat: Decimal,
    invoice_incl_vat: Decimal,
    credited_before: Decimal,
    amount_incl_vat: Decimal,
    fee_rate: Decimal,
    fund_share_of_fee: Decimal,
    salary_base_before: Decimal,
    salary_floor: Decimal,
) -> CreditSplit:
    """Split a credit note in the invoice's own proportions, cumulatively to the cent.

    Every share is the difference between the invoice's split of what is credited after and
    before this note, so the credit notes of an invoice add up to the exact reverse of its
    issue: a full credit gives back exactly the VAT, fee, fund contribution and member budget
    that were posted. The member's part comes from the salary budget down to `salary_floor`
    (the salary already paid, or the expenses still to reimburse); the guarantee fund bears
    the rest, so the member is never asked to pay anything back.
    """
    for name, value in (
        ("invoice_excl_vat", invoice_excl_vat),
        ("invoice_vat", invoice_vat),
        ("invoice_incl_vat", invoice_incl_vat),
        ("credited_before", credited_before),
        ("amount_incl_vat", amount_incl_vat),
        ("salary_base_before", salary_base_before),
        ("salary_floor", salary_floor),
    ):
        if not isinstance(value, Decimal) or not value.is_finite() or to_cents(value) != value:
            raise ValueError(f"{name} must be a Decimal in cents, got {value!r}")
        if value < 0:
            raise ValueError(f"{name} must not be negative, got {value}")
    if invoice_excl_vat + invoice_vat != invoice_incl_vat or invoice_incl_vat <= 0:
        raise ValueError("the invoice's totals do not add up")
    if amount_incl_vat <= 0:
        raise FieldError("amount_incl_vat", "must be greater than 0")
    if credited_before + amount_incl_vat > invoice_incl_vat:
        raise FieldError(
            "amount_incl_vat",
            f"exceeds what is left to credit on the invoice "
            f"({invoice_incl_vat - credited_before:.2f})",
        )

    def vat_of(credited: Decimal) -> Decimal:
        return to_cents(credited * invoice_vat / invoice_incl_vat)

    def fee_of(billed: Decimal) -> Decimal:
        return to_cents(billed * fee_rate)

    def fund_of(billed: Decimal) -> Decimal:
        return to_cents(fee_of(billed) * fund_share_of_fee)

    after = credited_before + amount_incl_vat
    vat_amount = vat_of(after) - vat_of(credited_before)
    excl = amount_incl_vat - vat_amount
    billed_before = invoice_excl_vat - (credited_before - vat_of(credited_before))
    billed_after = billed_before - excl
    fund_contribution = fund_of(billed_before) - fund_of(billed_after)
    fee_income = fee_of(billed_before) - fee_of(billed_after) - fund_contribution
    member_total = excl - fee_income - fund_contribution
    # The salary base only ever goes down, and never below the floor.
    base_after = min(salary_base_before, max(billed_after, salary_floor))
    member_share = member_budget(salary_base_before, fee_rate) - member_budget(base_after, fee_rate)
    if not 0 <= member_share <= member_total:
        raise ValueError("the salary base is out of step with the credit notes already issued")
    return CreditSplit(
        amount_incl_vat=amount_incl_vat,
        vat_amount=vat_amount,
        amount_excl_vat=excl,
        fee_income=fee_income,
        fund_contribution=fund_contribution,
        member_share=member_share,
        fund_share=member_total - member_share,
        salary_base_after=base_after,
    )
