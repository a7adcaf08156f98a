"""Payroll: a SIMPLIFIED ESTIMATE of how an invoiced amount becomes a net salary.

This is a first, deliberately simple model (flat rates, flat withholding tax, no 108 % base,
no work bonus, no holiday pay). Figures are estimates to be reconciled with the quarterly DmfA
(domain.md §1.4); a later issue makes the computation exact. Every rate comes from a
`PayrollParameters` value (a dated parameter table), never from a literal in this module.

Split of the amount invoiced excl. VAT, exact to the cent:
invoiced = fee + expenses + employer_contributions + employee_contributions
           + withholding_tax + net_salary
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation

from domain.errors import FieldError
from domain.money import to_cents

__all__ = ["PayrollEstimate", "PayrollParameters", "estimate_payroll"]


@dataclass(frozen=True)
class PayrollParameters:
    """Rates of the simplified payroll estimate, as fractions (0.065 means 6.5 %)."""

    fee_rate: Decimal  # coop fee on the amount invoiced excl. VAT (6.5 %)
    fund_share_of_fee: Decimal  # share of the fee that flows into the guarantee fund
    employer_contribution_rate: Decimal  # employer ONSS on gross (25 %)
    employee_contribution_rate: Decimal  # employee ONSS on gross (13.07 %)
    withholding_tax_rate: Decimal  # flat simplified withholding tax on gross minus employee ONSS

    def __post_init__(self) -> None:
        """Refuse rates that are not Decimal fractions in [0, 1] (employer rate may exceed 1)."""
        for f in fields(self):
            rate = getattr(self, f.name)
            if not isinstance(rate, Decimal) or not rate.is_finite():
                raise ValueError(f"{f.name} must be a finite Decimal, got {rate!r}")
            if rate < 0:
                raise ValueError(f"{f.name} must not be negative, got {rate}")
            if f.name != "employer_contribution_rate" and rate > 1:
                raise ValueError(f"{f.name} is a fraction and must not exceed 1, got {rate}")


@dataclass(frozen=True)
class PayrollEstimate:
    """Simplified estimate of one payroll, all amounts in EUR cents (not the final DmfA figures)."""

    invoiced_excl_vat: Decimal
    fee: Decimal
    fund_contribution: Decimal  # part of `fee`, not on top of it
    expenses: Decimal
    employment_budget: Decimal
    employer_contributions: Decimal
    gross_salary: Decimal
    employee_contributions: Decimal
    withholding_tax: Decimal
    net_salary: Decimal


def _require_cents(value: Decimal, field: str) -> Decimal:
    """Refuse a non-Decimal, non-finite, negative or sub-cent amount."""
    if not isinstance(value, Decimal) or not value.is_finite():
        raise FieldError(field, "must be a finite Decimal amount")
    if value < 0:
        raise FieldError(field, "must not be negative")
    try:
        cents = to_cents(value)
    except InvalidOperation:
        raise FieldError(field, "is too large") from None
    if cents != value:
        raise FieldError(field, "at most 2 decimals")
    return cents


def estimate_payroll(
    invoiced_excl_vat: Decimal, expenses: Decimal, params: PayrollParameters
) -> PayrollEstimate:
    """Estimate (simplified) the fee, contributions, tax and net salary for an invoiced amount."""
    invoiced = _require_cents(invoiced_excl_vat, "invoiced_excl_vat")
    expenses = _require_cents(expenses, "expenses")
    fee = to_cents(invoiced * params.fee_rate)
    fund_contribution = to_cents(fee * params.fund_share_of_fee)
    employment_budget = invoiced - fee - expenses
    if employment_budget < 0:
        raise FieldError(
            "expenses",
            f"expenses ({expenses}) exceed the amount invoiced minus the fee ({invoiced - fee})",
        )
    gross = to_cents(employment_budget / (1 + params.employer_contribution_rate))
    employer = employment_budget - gross
    employee = to_cents(gross * params.employee_contribution_rate)
    withholding = to_cents((gross - employee) * params.withholding_tax_rate)
    net = gross - employee - withholding
    return PayrollEstimate(
        invoiced_excl_vat=invoiced,
        fee=fee,
        fund_contribution=fund_contribution,
        expenses=expenses,
        employment_budget=employment_budget,
        employer_contributions=employer,
        gross_salary=gross,
        employee_contributions=employee,
        withholding_tax=withholding,
        net_salary=net,
    )
