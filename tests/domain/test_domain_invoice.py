"""Invoice totals (domain.md §1.3 worked example 1)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import FieldError
from domain.invoice import InvoiceLine, InvoiceTotals, invoice_totals


def test_worked_example_962_57_at_21() -> None:
    totals = invoice_totals([InvoiceLine("Illustration work", Decimal("962.57"))], Decimal("21"))
    assert totals == InvoiceTotals(
        total_excl_vat=Decimal("962.57"),
        vat_amount=Decimal("202.14"),
        total_incl_vat=Decimal("1164.71"),
    )


def test_vat_on_total_not_per_line() -> None:
    # 3 x 0.07: per line 0.0147 -> 0.01 each (0.03); on the total 0.21 * 21 % = 0.0441 -> 0.04.
    lines = [InvoiceLine(f"item {i}", Decimal("0.07")) for i in range(3)]
    totals = invoice_totals(lines, Decimal("21"))
    assert totals.total_excl_vat == Decimal("0.21")
    assert totals.vat_amount == Decimal("0.04")
    assert totals.total_incl_vat == Decimal("0.25")


@pytest.mark.parametrize(
    ("amount", "rate", "vat"),
    [
        ("100.00", "6", "6.00"),
        ("100.00", "12", "12.00"),
        ("100.00", "0", "0.00"),
        ("0.50", "21", "0.11"),  # 0.105 -> half up
        ("2.50", "6", "0.15"),
        ("1000000.00", "21", "210000.00"),
    ],
)
def test_rates_and_half_up(amount: str, rate: str, vat: str) -> None:
    totals = invoice_totals([InvoiceLine("x", Decimal(amount))], Decimal(rate))
    assert totals.vat_amount == Decimal(vat)
    assert totals.total_incl_vat == Decimal(amount) + Decimal(vat)
    assert totals.vat_amount.as_tuple().exponent == -2


def test_discount_line_allowed_if_total_not_negative() -> None:
    lines = [InvoiceLine("work", Decimal("100.00")), InvoiceLine("discount", Decimal("-10.00"))]
    assert invoice_totals(lines, Decimal("21")).total_incl_vat == Decimal("108.90")


@pytest.mark.parametrize(
    ("lines", "rate", "field"),
    [
        ([], Decimal("21"), "lines"),
        ([InvoiceLine("x", Decimal("-1.00"))], Decimal("21"), "lines"),
        ([InvoiceLine("x", Decimal("1.001"))], Decimal("21"), "lines[0].amount_excl_vat"),
        ([InvoiceLine("x", Decimal("NaN"))], Decimal("21"), "lines[0].amount_excl_vat"),
        ([InvoiceLine("x", Decimal("1e40"))], Decimal("21"), "lines[0].amount_excl_vat"),
        ([InvoiceLine("x", Decimal("1.00"))], Decimal("-1"), "vat_rate"),
        ([InvoiceLine("x", Decimal("1.00"))], Decimal("100.01"), "vat_rate"),
        ([InvoiceLine("x", Decimal("1.00"))], Decimal("Infinity"), "vat_rate"),
    ],
)
def test_refusals(lines: list[InvoiceLine], rate: Decimal, field: str) -> None:
    with pytest.raises(FieldError) as excinfo:
        invoice_totals(lines, rate)
    assert excinfo.value.field == field
