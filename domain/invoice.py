"""Invoice totals: one VAT rate per invoice, VAT computed on the total excl. VAT, to the cent."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from domain.errors import FieldError
from domain.money import to_cents

__all__ = ["InvoiceLine", "InvoiceTotals", "invoice_totals"]

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
