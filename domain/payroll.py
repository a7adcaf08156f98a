"""Payroll estimate: how a price excl. VAT becomes fee, contributions, tax and net salary.

These are ESTIMATES (domain.md §1.4): the real figures come out of the quarterly DmfA and the
official withholding-tax tables, and are reconciled later as true-ups. Every rate comes from a
`PayrollParameters` value built from dated parameter rows, never from a literal in this module.

Forward (price -> salary), all amounts in EUR cents, rounded half up (`domain.money.to_cents`):

    fee                    = cents(price x fee_rate)
    fund_contribution      = cents(fee x fund_share_of_fee)       (part of the fee, not on top)
    employment_budget      = price - fee - expenses               (refused when negative)
    gross_salary           = the largest G with G + employer(G) <= employment_budget
    employer_contributions = employment_budget - gross_salary
    employee_contributions = cents(G x base x employee_contribution_rate)
    withholding_tax        = the simplified scale applied to G - employee_contributions
    net_salary             = G - employee_contributions - withholding_tax

with employer(G) = cents(G x base x employer_contribution_rate). `base` is 1 for an ordinary
contract and `artistic_contribution_base` (1.08) for an artistic one: for artists BOTH the
employer and the employee contributions are computed on 108 % of gross (domain.md §1.4, holiday
pay is paid by ONVA, not by the employer). The employment budget is always used exactly: the
rounding remainder B - G - employer(G) (at most one cent while base x rate <= 1) is booked as
employer contributions, so that, to the cent,

    price = fee + expenses + employer_contributions + employee_contributions
            + withholding_tax + net_salary

Inverse (`price_for_gross`): the smallest price whose forward gives exactly the wanted gross.
The employment budget moves by 0 or 1 cent per cent of price, so every gross is reachable and the
forward of that price spends exactly gross + employer(gross). Price -> gross is many-to-one (a
cent of gross costs about 1.4 cents of price), so price -> gross -> price comes back to the
smallest price with the same gross: at most 2 cents below the original, same gross and net.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Literal, get_args

from domain.errors import FieldError
from domain.money import CENT, require_cents, to_cents

__all__ = [
    "CONTRACT_TYPES",
    "WITHHOLDING_SCALE_LABEL",
    "ContractType",
    "PayrollEstimate",
    "PayrollParameters",
    "TaxBracket",
    "contribution_base",
    "employer_contributions_on",
    "estimate_payroll",
    "parse_contract_type",
    "price_for_cost",
    "price_for_gross",
    "withholding_tax",
]

ContractType = Literal["ordinary", "artistic"]
CONTRACT_TYPES: tuple[ContractType, ...] = get_args(ContractType)

WITHHOLDING_SCALE_LABEL = "simplified scale, not the official précompte tables"

_ZERO = Decimal("0.00")
_ONE = Decimal(1)


@dataclass(frozen=True)
class TaxBracket:
    """One band of the simplified withholding scale: `rate` on the part of the taxable amount up
    to `up_to` (None: no upper bound, the last band)."""

    up_to: Decimal | None
    rate: Decimal


def _check_fraction(name: str, value: object, *, upper: Decimal | None = _ONE) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must not exceed {upper}, got {value}")


def _check_scale(scale: Sequence[TaxBracket]) -> None:
    if not isinstance(scale, tuple) or not scale:
        raise ValueError("withholding_scale must be a non-empty tuple of TaxBracket")
    previous = _ZERO
    for index, bracket in enumerate(scale):
        if not isinstance(bracket, TaxBracket):
            raise ValueError(f"withholding_scale[{index}] must be a TaxBracket")
        _check_fraction(f"withholding_scale[{index}].rate", bracket.rate)
        last = index == len(scale) - 1
        if bracket.up_to is None:
            if not last:
                raise ValueError("only the last bracket of withholding_scale may be unbounded")
            continue
        if last:
            raise ValueError("the last bracket of withholding_scale must be unbounded (None)")
        _check_fraction(f"withholding_scale[{index}].up_to", bracket.up_to, upper=None)
        if to_cents(bracket.up_to) != bracket.up_to:
            raise ValueError(f"withholding_scale[{index}].up_to must be in cents")
        if bracket.up_to <= previous:
            raise ValueError("withholding_scale bounds must increase strictly from 0")
        previous = bracket.up_to


@dataclass(frozen=True)
class PayrollParameters:
    """Rates of the payroll estimate as fractions (0.065 means 6.5 %), from dated parameters."""

    fee_rate: Decimal  # coop fee on the price excl. VAT (6.5 %), below 1
    fund_share_of_fee: Decimal  # share of the fee that flows into the guarantee fund
    employer_contribution_rate: Decimal  # employer ONSS on gross (25 %); may exceed 1
    employee_contribution_rate: Decimal  # employee ONSS on gross (13.07 %)
    artistic_contribution_base: Decimal  # artists' contributions are on 108 % of gross
    withholding_scale: tuple[TaxBracket, ...]  # simplified, see WITHHOLDING_SCALE_LABEL

    def __post_init__(self) -> None:
        """Refuse values that would break the exact split or the inverse."""
        _check_fraction("fee_rate", self.fee_rate)
        if self.fee_rate >= 1:
            raise ValueError(f"fee_rate must be below 1, got {self.fee_rate}")
        _check_fraction("fund_share_of_fee", self.fund_share_of_fee)
        _check_fraction("employer_contribution_rate", self.employer_contribution_rate, upper=None)
        _check_fraction("employee_contribution_rate", self.employee_contribution_rate)
        _check_fraction("artistic_contribution_base", self.artistic_contribution_base, upper=None)
        if self.artistic_contribution_base < 1:
            raise ValueError("artistic_contribution_base must be at least 1")
        if self.employee_contribution_rate * self.artistic_contribution_base > 1:
            raise ValueError("employee contributions on the artistic base would exceed the gross")
        _check_scale(self.withholding_scale)


@dataclass(frozen=True)
class PayrollEstimate:
    """Estimate of one payroll, all amounts in EUR cents (not the final DmfA figures)."""

    contract_type: ContractType
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


def parse_contract_type(value: object, *, field: str = "contract_type") -> ContractType:
    """Accept "ordinary" or "artistic" (exactly), else refuse with the allowed values."""
    allowed = " or ".join(f'"{c}"' for c in CONTRACT_TYPES)
    if not isinstance(value, str) or value == "":
        raise FieldError(field, f"is required: {allowed}")
    for contract_type in CONTRACT_TYPES:
        if value == contract_type:
            return contract_type
    raise FieldError(field, f"unknown contract type; use {allowed}")


def contribution_base(params: PayrollParameters, contract_type: ContractType) -> Decimal:
    """The share of gross social contributions are computed on: 108 % for artists, else 100 %."""
    return params.artistic_contribution_base if contract_type == "artistic" else _ONE


def employer_contributions_on(
    gross: Decimal, params: PayrollParameters, contract_type: ContractType
) -> Decimal:
    """Employer ONSS on a gross salary (on 108 % of it for an artistic contract), to the cent."""
    base = contribution_base(params, contract_type)
    return to_cents(gross * base * params.employer_contribution_rate)


def withholding_tax(taxable: Decimal, scale: Sequence[TaxBracket]) -> Decimal:
    """Simplified progressive withholding tax: each bracket's rate on its slice, rounded once."""
    tax = Decimal(0)
    lower = _ZERO
    for bracket in scale:
        upper = taxable if bracket.up_to is None else min(taxable, bracket.up_to)
        if upper > lower:
            tax += (upper - lower) * bracket.rate
        if bracket.up_to is None or taxable <= bracket.up_to:
            break
        lower = bracket.up_to
    return to_cents(tax)


def _gross_for_budget(
    budget: Decimal, params: PayrollParameters, contract_type: ContractType
) -> Decimal:
    """The largest cent amount G such that G + employer(G) <= budget (G + employer(G) is
    strictly increasing in G, so a few steps from the real-valued solution find it)."""
    factor = 1 + contribution_base(params, contract_type) * params.employer_contribution_rate
    gross = (budget / factor).quantize(CENT, rounding=ROUND_DOWN)

    def cost(g: Decimal) -> Decimal:
        return g + employer_contributions_on(g, params, contract_type)

    while cost(gross + CENT) <= budget:
        gross += CENT
    while gross > 0 and cost(gross) > budget:
        gross -= CENT
    return gross


def estimate_payroll(
    invoiced_excl_vat: Decimal,
    expenses: Decimal,
    params: PayrollParameters,
    contract_type: ContractType = "ordinary",
) -> PayrollEstimate:
    """Split a price excl. VAT (expenses included) into fee, contributions, tax and net salary."""
    invoiced = require_cents(invoiced_excl_vat, "invoiced_excl_vat")
    expenses = require_cents(expenses, "expenses")
    contract_type = parse_contract_type(contract_type)
    fee = to_cents(invoiced * params.fee_rate)
    fund_contribution = to_cents(fee * params.fund_share_of_fee)
    employment_budget = invoiced - fee - expenses
    if employment_budget < 0:
        raise FieldError(
            "expenses",
            f"expenses exceed what the price leaves after the fee: {expenses} > "
            f"{invoiced - fee} ({invoiced} minus the fee {fee})",
        )
    gross = _gross_for_budget(employment_budget, params, contract_type)
    base = contribution_base(params, contract_type)
    employee = to_cents(gross * base * params.employee_contribution_rate)
    withholding = withholding_tax(gross - employee, params.withholding_scale)
    return PayrollEstimate(
        contract_type=contract_type,
        invoiced_excl_vat=invoiced,
        fee=fee,
        fund_contribution=fund_contribution,
        expenses=expenses,
        employment_budget=employment_budget,
        employer_contributions=employment_budget - gross,
        gross_salary=gross,
        employee_contributions=employee,
        withholding_tax=withholding,
        net_salary=gross - employee - withholding,
    )


def price_for_cost(labour_cost: Decimal, expenses: Decimal, fee_rate: Decimal) -> Decimal:
    """The price excl. VAT built from the cost side (domain.md §1.3):
    (labour cost + expenses) / (1 - fee rate), to the cent. 800 + 100 at 6.5 % -> 962.57."""
    labour_cost = require_cents(labour_cost, "labour_cost")
    expenses = require_cents(expenses, "expenses")
    if not isinstance(fee_rate, Decimal) or not 0 <= fee_rate < 1:
        raise ValueError(f"fee_rate must be a Decimal in [0, 1), got {fee_rate!r}")
    return to_cents((labour_cost + expenses) / (1 - fee_rate))


def price_for_gross(
    gross_salary: Decimal,
    expenses: Decimal,
    params: PayrollParameters,
    contract_type: ContractType = "ordinary",
) -> Decimal:
    """The smallest price excl. VAT whose estimate pays exactly `gross_salary` plus `expenses`."""
    gross = require_cents(gross_salary, "gross_salary")
    expenses = require_cents(expenses, "expenses")
    contract_type = parse_contract_type(contract_type)
    needed = gross + employer_contributions_on(gross, params, contract_type) + expenses

    def enough(price: Decimal) -> bool:
        return price - to_cents(price * params.fee_rate) >= needed

    # Start from the cost-side formula; the fee's rounding moves the answer by a cent at most.
    price = price_for_cost(needed - expenses, expenses, params.fee_rate)
    while price > 0 and enough(price - CENT):
        price -= CENT
    while not enough(price):
        price += CENT
    return price
