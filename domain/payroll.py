"""Belgian payroll for one mission: price excl. VAT -> employer cost -> gross -> net.

Pure arithmetic, no I/O. Every rate, threshold and table comes from a `PayrollParameters` value
built from dated parameter rows (services/parameters.py, seeded by migrations 0003 and 0018, each
row citing its source in ../shared/payroll-2026.md); never from a literal in this module. Money
is Decimal rounded half up to the cent (`domain.money.to_cents`) at every step, as Annexe III
n° 3 AR/CIR 92 asks for the withholding tax.

Employer side (the employment budget pays all of it):

    fee                    = cents(price x fee_rate)               (6.5 %, fund share inside it)
    employment_budget      = price - fee - expenses                (expenses at face value)
    ordinary (white-collar employee):
        exit_holiday_pay   = cents(G x 15.34 %)   paid to the member with the salary (AR
                             30/03/1967 art. 46: each mission is a contract that ends, so the
                             holiday pay earned on it is paid on exit); its simple part
                             cents(G x 7.67 %) is subject to contributions (law 29/06/1981
                             art. 23bis), so the ONSS base is G + simple part
    artistic (art. 1bis):
        ONSS base          = cents(G x 108 %); the holiday pay is paid later by ONVA/RJV, the
                             employer pays the holiday contribution (annual 10.27 % + quarterly
                             part) on the 108 % base instead
    employer_contributions = cents(ONSS base x 25 %)  (+ the rounding remainder, see below)
    other_employer_charges = each sourced rate x ONSS base (none seeded today)

Gross G is solved exactly: the largest cent amount whose total employer cost
G + holiday pay + contributions + charges fits in the budget (the cost is strictly increasing in
G, so a few steps from the real-valued solution find it). The rest of the budget (a few cents at
most, from the roundings) is booked as employer contributions, so that to the cent

    price = fee + expenses + employer_contributions + holiday_contribution
            + other_employer_charges + (employee_contributions - work_bonus)
            + special_contribution + withholding_tax + net_salary

(the exit holiday pay is inside net_salary: it is paid to the member with the salary).

`estimate_payroll(..., gross=...)` pays a given gross instead (the gross signed in the contract),
the whole rest of the budget again going to employer contributions; a budget too small for it
is refused (the caller records a contract amendment instead of silently paying less).

Employee side:

    employee_contributions = cents(ONSS base x 13.07 %)
    work_bonus             = social work bonus A + B (ONSS instructions), on the reference pay
                             S = gross at 100 % (exit holiday pay excluded, as the DmfA's wage
                             mass W excludes the "pécule simple de sortie"), S as a full-month
                             equivalent S = W x working days / paid days and the bonus prorated
                             by paid days / working days (payroll-2026.md §3.2); part B is cut
                             first when A + B exceeds the contributions
    special_contribution   = CSSS monthly advance (law 30/03/1994 art. 106-112) on the month's
                             ONSS base R
    taxable_pay            = gross + exit holiday pay - (employee_contributions - work_bonus)
    withholding_tax        ordinary: Annexe III key formula on the month's cumulated taxable pay
                             (x 12, 30 % lump-sum expenses capped, the scale, the tax-free amount
                             as a tax reduction, / 12), minus the fiscal work bonus (33.14 % A +
                             52.54 % B of the bonus actually granted), minus what earlier payouts
                             of the same calendar month already withheld, never below zero;
                             artistic: the flat rate (Annexe III point 80, 11.11 %) or the higher
                             rate the member chose, on this payout's taxable pay, no reductions
    net_salary             = taxable_pay - special_contribution - withholding_tax
    net_paid               = net_salary + expenses  (the transfer)

Several payouts in one calendar month (`MonthToDate`): the work bonus, the CSSS and (ordinary
contracts) the key-formula tax are computed on the month's cumulated figures, and this payout
takes the difference with what the earlier ones already got or withheld. A difference that
would be negative (e.g. a bonus that shrinks as the month's pay grows) is not clawed back here:
it is 0 on this payout and the quarterly DmfA regularises it (services/payroll.record_true_up).
Estimates before any payout use an empty `MonthToDate`: as if it were the month's only pay.

Not modelled (left to the DmfA and the yearly tax assessment, see payroll-2026.md §7): the
special 13.07 % on the double part of the exit holiday pay, the Annexe III n° 53 exceptional
allowance rates for holiday pay (the key formula is applied to the month's total instead),
dependants (barème I, single person, is used), the quarterly regularisation of the CSSS.

Inverse (`price_for_gross`): the smallest price whose forward gives exactly the wanted gross.
The employment budget moves by 0 or 1 cent per cent of price, so every gross is reachable.
Price -> gross is many-to-one (a cent of gross costs about 1.5 cents of price), so
price -> gross -> price comes back to the smallest price with the same gross and net.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal
from typing import Any, Literal, get_args

from domain.errors import FieldError
from domain.money import CENT, require_cents, to_cents

__all__ = [
    "CONTRACT_TYPES",
    "PAYROLL_LINE_CODES",
    "RULES",
    "BonusPart",
    "ContractType",
    "CsssTier",
    "EmployerCharge",
    "KeyFormula",
    "MonthToDate",
    "Payroll",
    "PayrollEstimate",
    "PayrollLine",
    "PayrollParameters",
    "TaxBracket",
    "WorkBonus",
    "WorkPeriod",
    "contribution_base",
    "employer_contributions_on",
    "employer_cost",
    "estimate_payroll",
    "gross_up_expenses",
    "key_formula_tax",
    "parse_contract_type",
    "price_for_cost",
    "price_for_gross",
    "scale_tax",
    "special_contribution",
    "weekdays_between",
    "work_bonus_parts",
]

ContractType = Literal["ordinary", "artistic"]
CONTRACT_TYPES: tuple[ContractType, ...] = get_args(ContractType)

# The payslip order of the lines (`PayrollLine.code`): every payroll JSON's `lines` use them.
PAYROLL_LINE_CODES = (
    "price_excl_vat",
    "fee",
    "expenses",
    "employment_budget",
    "employer_contributions",
    "exit_holiday_pay",
    "holiday_contribution",
    "other_employer_charges",
    "gross_salary",
    "employee_contributions",
    "work_bonus",
    "special_contribution",
    "taxable_pay",
    "withholding_tax_formula",
    "fiscal_work_bonus",
    "withheld_earlier_this_month",
    "withholding_tax",
    "net_salary",
    "net_paid",
)

# The parameter key each line's rule names (services/parameters.py reads the same keys).
RULES = {
    "fee_rate": "payroll.fee_rate",
    "fund_share_of_fee": "payroll.fund_share_of_fee",
    "employer_contribution_rate": "payroll.employer_contribution_rate",
    "employee_contribution_rate": "payroll.employee_contribution_rate",
    "artistic_contribution_base": "payroll.artistic_contribution_base",
    "exit_holiday_pay": "payroll.exit_holiday_pay",
    "artistic_holiday_contribution": "payroll.artistic_holiday_contribution",
    "other_employer_charges": "payroll.other_employer_charges",
    "key_formula": "payroll.withholding_key_formula",
    "work_bonus": "payroll.work_bonus",
    "special_contribution": "payroll.special_contribution",
    "artistic_withholding": "payroll.artistic_withholding",
}

_ZERO = Decimal("0.00")
_ONE = Decimal(1)


# ---------------------------------------------------------------- parameters


@dataclass(frozen=True)
class TaxBracket:
    """One band of a progressive scale: `rate` on the part of the amount up to `up_to`
    (None: no upper bound, the last band)."""

    up_to: Decimal | None
    rate: Decimal


@dataclass(frozen=True)
class KeyFormula:
    """Annexe III AR/CIR 92 key formula, barème I (single person without dependants)."""

    annual_factor: int  # monthly taxable x 12 (n° 7)
    expenses_rate: Decimal  # lump-sum professional expenses, 30 % (n° 8, 1°)
    expenses_cap: Decimal  # ... capped (6 070 EUR in 2026)
    scale: tuple[TaxBracket, ...]  # basic scale, communal surcharge included (annex 1)
    tax_free_amount: Decimal  # deducted as tax at the first band's rate (n° 11 a)
    fiscal_bonus_rate_a: Decimal  # fiscal work bonus on social bonus part A (n° 20-21)
    fiscal_bonus_rate_b: Decimal  # ... on part B

    def __post_init__(self) -> None:
        if not isinstance(self.annual_factor, int) or self.annual_factor < 1:
            raise ValueError("annual_factor must be a positive integer")
        _check_fraction("expenses_rate", self.expenses_rate)
        _check_amount("expenses_cap", self.expenses_cap)
        _check_scale(self.scale)
        _check_amount("tax_free_amount", self.tax_free_amount)
        _check_fraction("fiscal_bonus_rate_a", self.fiscal_bonus_rate_a)
        _check_fraction("fiscal_bonus_rate_b", self.fiscal_bonus_rate_b)


@dataclass(frozen=True)
class BonusPart:
    """One part of the social work bonus: `amount` up to a reference pay of `low`, then
    amount - coef x (S - low), nothing from `high` on."""

    amount: Decimal
    low: Decimal
    high: Decimal
    coef: Decimal

    def __post_init__(self) -> None:
        for name in ("amount", "low", "high"):
            _check_amount(name, getattr(self, name))
        _check_fraction("coef", self.coef)
        if self.high < self.low:
            raise ValueError("a work-bonus part's high bound must not be below its low bound")

    def value(self, reference: Decimal) -> Decimal:
        """The full-month part for a reference pay S, rounded to the cent, within [0, amount]."""
        if reference <= self.low:
            return self.amount
        if reference >= self.high:
            return _ZERO
        return min(
            self.amount, max(_ZERO, to_cents(self.amount - self.coef * (reference - self.low)))
        )


@dataclass(frozen=True)
class WorkBonus:
    part_a: BonusPart
    part_b: BonusPart


@dataclass(frozen=True)
class CsssTier:
    """CSSS monthly advance for a monthly ONSS pay R up to `up_to` (None: above the last):
    fixed + rate x (R - over)."""

    up_to: Decimal | None
    fixed: Decimal
    rate: Decimal
    over: Decimal

    def __post_init__(self) -> None:
        if self.up_to is not None:
            _check_amount("up_to", self.up_to)
        _check_amount("fixed", self.fixed)
        _check_fraction("rate", self.rate)
        _check_amount("over", self.over)


@dataclass(frozen=True)
class EmployerCharge:
    """Another employer charge, a rate on the ONSS base, named by its parameter (`code`)."""

    code: str
    rate: Decimal

    def __post_init__(self) -> None:
        _check_fraction(f"other employer charge {self.code}", self.rate)


def _check_fraction(name: str, value: object, *, upper: Decimal | None = _ONE) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise ValueError(f"{name} must be a finite Decimal, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value}")
    if upper is not None and value > upper:
        raise ValueError(f"{name} must not exceed {upper}, got {value}")


def _check_amount(name: str, value: object) -> None:
    _check_fraction(name, value, upper=None)
    assert isinstance(value, Decimal)
    if to_cents(value) != value:
        raise ValueError(f"{name} must be in cents, got {value}")


def _check_scale(scale: Sequence[TaxBracket]) -> None:
    if not isinstance(scale, tuple) or not scale:
        raise ValueError("a tax scale must be a non-empty tuple of TaxBracket")
    previous = _ZERO
    for index, bracket in enumerate(scale):
        if not isinstance(bracket, TaxBracket):
            raise ValueError(f"scale[{index}] must be a TaxBracket")
        _check_fraction(f"scale[{index}].rate", bracket.rate)
        last = index == len(scale) - 1
        if bracket.up_to is None:
            if not last:
                raise ValueError("only the last bracket of a scale may be unbounded")
            continue
        if last:
            raise ValueError("the last bracket of a scale must be unbounded (None)")
        _check_amount(f"scale[{index}].up_to", bracket.up_to)
        if bracket.up_to <= previous:
            raise ValueError("scale bounds must increase strictly from 0")
        previous = bracket.up_to


def _check_csss(tiers: Sequence[CsssTier]) -> None:
    if not isinstance(tiers, tuple) or not tiers or tiers[-1].up_to is not None:
        raise ValueError("the CSSS table must be a tuple of tiers ending with an unbounded one")
    previous = _ZERO
    for tier in tiers[:-1]:
        if tier.up_to is None or tier.up_to <= previous:
            raise ValueError("CSSS tier bounds must increase strictly")
        previous = tier.up_to


@dataclass(frozen=True)
class PayrollParameters:
    """Every rate of the payroll as fractions (0.065 means 6.5 %), from dated parameter rows."""

    fee_rate: Decimal  # coop fee on the price excl. VAT (6.5 %), below 1
    fund_share_of_fee: Decimal  # share of the fee that flows into the guarantee fund
    employer_contribution_rate: Decimal  # employer ONSS (25 %); may exceed 1
    employee_contribution_rate: Decimal  # employee ONSS (13.07 %)
    artistic_contribution_base: Decimal  # artists' contributions are on 108 % of gross
    exit_holiday_pay_rate: Decimal  # white-collar exit holiday pay, 15.34 % of gross
    exit_holiday_pay_simple_rate: Decimal  # its simple part (7.67 %), subject to ONSS
    artistic_holiday_annual_rate: Decimal  # ONVA/RJV holiday contribution, annual 10.27 %
    artistic_holiday_quarterly_rate: Decimal  # ... and its quarterly part
    other_employer_charges: tuple[EmployerCharge, ...]
    key_formula: KeyFormula
    work_bonus: WorkBonus
    special_contribution: tuple[CsssTier, ...]
    artistic_withholding_rate: Decimal  # flat legal minimum on artistic contracts (11.11 %)
    artistic_withholding_choices: tuple[Decimal, ...] = ()  # the higher rates one may choose

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
        _check_fraction("exit_holiday_pay_rate", self.exit_holiday_pay_rate)
        _check_fraction("exit_holiday_pay_simple_rate", self.exit_holiday_pay_simple_rate)
        if self.exit_holiday_pay_simple_rate > self.exit_holiday_pay_rate:
            raise ValueError("the simple part of the exit holiday pay exceeds the whole")
        _check_fraction("artistic_holiday_annual_rate", self.artistic_holiday_annual_rate)
        _check_fraction("artistic_holiday_quarterly_rate", self.artistic_holiday_quarterly_rate)
        if not isinstance(self.other_employer_charges, tuple):
            raise ValueError("other_employer_charges must be a tuple")
        if not isinstance(self.key_formula, KeyFormula):
            raise ValueError("key_formula must be a KeyFormula")
        if not isinstance(self.work_bonus, WorkBonus):
            raise ValueError("work_bonus must be a WorkBonus")
        _check_csss(self.special_contribution)
        _check_fraction("artistic_withholding_rate", self.artistic_withholding_rate)
        for choice in self.artistic_withholding_choices:
            _check_fraction("artistic_withholding_choices", choice)

    @property
    def artistic_holiday_rate(self) -> Decimal:
        return self.artistic_holiday_annual_rate + self.artistic_holiday_quarterly_rate


# ---------------------------------------------------------------- month and period


@dataclass(frozen=True)
class WorkPeriod:
    """The paid days of this pay and the working days of its calendar month (5-day week).

    A full month has paid_days == working_days; a short contract pays fewer days, which
    scales the work bonus's reference pay up and the bonus down (payroll-2026.md §3.2)."""

    paid_days: int
    working_days: int

    def __post_init__(self) -> None:
        if self.working_days < 1 or self.paid_days < 0:
            raise ValueError("working_days must be positive and paid_days not negative")

    @classmethod
    def full_month(cls) -> WorkPeriod:
        return cls(paid_days=1, working_days=1)

    @classmethod
    def of(cls, paid_days: int, month_of: date) -> WorkPeriod:
        """`paid_days` (at least 1, at most the month's working days) in the month of a day."""
        first = month_of.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        working = weekdays_between(first, following - timedelta(days=1))
        return cls(paid_days=min(max(paid_days, 1), working), working_days=working)


def weekdays_between(start: date, end: date) -> int:
    """Monday-to-Friday days from start to end inclusive (a 5-day week's working days)."""
    if end < start:
        return 0
    days = (end - start).days + 1
    full_weeks, rest = divmod(days, 7)
    count = full_weeks * 5
    for offset in range(rest):
        if (start + timedelta(days=full_weeks * 7 + offset)).weekday() < 5:
            count += 1
    return count


@dataclass(frozen=True)
class MonthToDate:
    """What the member's earlier payouts of the same calendar month already counted.

    `reference_pay` (gross at 100 %) and `paid_days` feed the month's work bonus, `onss_base`
    the month's CSSS, `taxable` and `withheld` the key formula (ordinary contracts only)."""

    reference_pay: Decimal = _ZERO
    onss_base: Decimal = _ZERO
    paid_days: int = 0
    employee_contributions: Decimal = _ZERO
    work_bonus_a: Decimal = _ZERO
    work_bonus_b: Decimal = _ZERO
    special_contribution: Decimal = _ZERO
    taxable: Decimal = _ZERO
    withheld: Decimal = _ZERO

    def plus(self, other: MonthToDate) -> MonthToDate:
        return MonthToDate(
            **{
                name: getattr(self, name) + getattr(other, name)
                for name in MonthToDate.__dataclass_fields__
            }
        )

    def to_json(self) -> dict[str, Any]:
        return {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in ((n, getattr(self, n)) for n in MonthToDate.__dataclass_fields__)
        }

    @classmethod
    def from_json(cls, value: Mapping[str, Any]) -> MonthToDate:
        figures: dict[str, Any] = {
            name: Decimal(str(value.get(name, "0.00")))
            for name in MonthToDate.__dataclass_fields__
            if name != "paid_days"
        }
        return cls(paid_days=int(value.get("paid_days", 0)), **figures)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class PayrollLine:
    """One line of the payslip; `amount` >= 0, its meaning given by `code`."""

    code: str
    amount: Decimal
    base: Decimal | None
    rate: Decimal | None
    rule: str


@dataclass(frozen=True)
class PayrollEstimate:
    """The flat figures every payroll JSON keeps (payouts.payroll, estimates), EUR cents."""

    contract_type: ContractType
    invoiced_excl_vat: Decimal
    fee: Decimal
    fund_contribution: Decimal  # part of `fee`, not on top of it
    expenses: Decimal
    employment_budget: Decimal
    employer_contributions: Decimal
    gross_salary: Decimal
    employee_contributions: Decimal  # 13.07 % of the ONSS base, before the work bonus
    withholding_tax: Decimal
    net_salary: Decimal


@dataclass(frozen=True)
class Payroll(PayrollEstimate):
    """The full payroll of one payout: the flat figures, the new parts and the payslip lines."""

    exit_holiday_pay: Decimal = _ZERO
    holiday_contribution: Decimal = _ZERO
    other_employer_charges: Decimal = _ZERO
    onss_base: Decimal = _ZERO
    work_bonus: Decimal = _ZERO
    special_contribution: Decimal = _ZERO
    taxable_pay: Decimal = _ZERO
    withholding_tax_formula: Decimal = _ZERO
    fiscal_work_bonus: Decimal = _ZERO
    withheld_earlier_this_month: Decimal = _ZERO
    net_paid: Decimal = _ZERO
    lines: tuple[PayrollLine, ...] = ()
    month_before: MonthToDate = field(default_factory=MonthToDate)
    month_share: MonthToDate = field(default_factory=MonthToDate)  # this payout's own part

    @property
    def employer_cost(self) -> Decimal:
        """Everything the budget pays besides the gross."""
        return (
            self.employer_contributions
            + self.exit_holiday_pay
            + self.holiday_contribution
            + self.other_employer_charges
        )

    @property
    def net_employee_contributions(self) -> Decimal:
        return self.employee_contributions - self.work_bonus

    def line(self, code: str) -> PayrollLine | None:
        return next((ln for ln in self.lines if ln.code == code), None)


# ---------------------------------------------------------------- pieces


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
    """The share of gross social contributions are computed on: 108 % for artists, else 100 %
    (for ordinary contracts the simple exit holiday pay is added to the base besides)."""
    return params.artistic_contribution_base if contract_type == "artistic" else _ONE


@dataclass(frozen=True)
class _EmployerSide:
    exit_holiday_pay: Decimal
    holiday_pay_simple: Decimal
    onss_base: Decimal
    employer_contributions: Decimal
    holiday_contribution: Decimal
    other_charges: tuple[tuple[EmployerCharge, Decimal], ...]

    @property
    def total(self) -> Decimal:
        return (
            self.exit_holiday_pay
            + self.employer_contributions
            + self.holiday_contribution
            + sum((amount for _, amount in self.other_charges), _ZERO)
        )


def _employer_side(
    gross: Decimal, params: PayrollParameters, contract_type: ContractType
) -> _EmployerSide:
    if contract_type == "artistic":
        holiday = simple = _ZERO
        base = to_cents(gross * params.artistic_contribution_base)
        holiday_contribution = to_cents(base * params.artistic_holiday_rate)
    else:
        holiday = to_cents(gross * params.exit_holiday_pay_rate)
        simple = to_cents(gross * params.exit_holiday_pay_simple_rate)
        base = gross + simple
        holiday_contribution = _ZERO
    return _EmployerSide(
        exit_holiday_pay=holiday,
        holiday_pay_simple=simple,
        onss_base=base,
        employer_contributions=to_cents(base * params.employer_contribution_rate),
        holiday_contribution=holiday_contribution,
        other_charges=tuple(
            (charge, to_cents(base * charge.rate)) for charge in params.other_employer_charges
        ),
    )


def employer_contributions_on(
    gross: Decimal, params: PayrollParameters, contract_type: ContractType
) -> Decimal:
    """Employer ONSS on a gross salary's ONSS base (before any rounding remainder)."""
    return _employer_side(gross, params, contract_type).employer_contributions


def employer_cost(
    gross: Decimal, params: PayrollParameters, contract_type: ContractType
) -> Decimal:
    """What a gross salary costs the employment budget: gross + holiday pay + every employer
    contribution and charge (strictly increasing in gross)."""
    return gross + _employer_side(gross, params, contract_type).total


def _gross_for_budget(
    budget: Decimal, params: PayrollParameters, contract_type: ContractType
) -> Decimal:
    """The largest cent amount G with employer_cost(G) <= budget."""
    base = contribution_base(params, contract_type)
    if contract_type == "artistic":
        rate = base * (
            params.employer_contribution_rate
            + params.artistic_holiday_rate
            + sum((c.rate for c in params.other_employer_charges), Decimal(0))
        )
    else:
        rate = params.exit_holiday_pay_rate + (_ONE + params.exit_holiday_pay_simple_rate) * (
            params.employer_contribution_rate
            + sum((c.rate for c in params.other_employer_charges), Decimal(0))
        )
    gross = max(_ZERO, (budget / (1 + rate)).quantize(CENT, rounding=ROUND_DOWN))
    while employer_cost(gross + CENT, params, contract_type) <= budget:
        gross += CENT
    while gross > 0 and employer_cost(gross, params, contract_type) > budget:
        gross -= CENT
    return gross


def scale_tax(amount: Decimal, scale: Sequence[TaxBracket]) -> Decimal:
    """Progressive tax: each band's rate on its slice, each slice rounded to the cent (the
    published "tax already due on the lower bands" figures are these rounded slices)."""
    tax = _ZERO
    lower = _ZERO
    for bracket in scale:
        upper = amount if bracket.up_to is None else min(amount, bracket.up_to)
        if upper > lower:
            tax += to_cents((upper - lower) * bracket.rate)
        if bracket.up_to is None or amount <= bracket.up_to:
            break
        lower = bracket.up_to
    return tax


def key_formula_tax(monthly_taxable: Decimal, formula: KeyFormula) -> Decimal:
    """Annexe III key formula, monthly withholding before the fiscal work bonus, rounding at
    every step (n° 3): 3 000.00 taxable -> 36 000 - 6 070 -> 10 151.10 - 2 987.98 -> 596.93."""
    if monthly_taxable <= 0:
        return _ZERO
    annual = to_cents(monthly_taxable * formula.annual_factor)
    expenses = min(to_cents(annual * formula.expenses_rate), formula.expenses_cap)
    net = annual - expenses
    tax = scale_tax(net, formula.scale)
    reduction = to_cents(formula.tax_free_amount * formula.scale[0].rate)
    annual_tax = max(_ZERO, tax - reduction)
    return to_cents(annual_tax / formula.annual_factor)


def special_contribution(monthly_onss_pay: Decimal, tiers: Sequence[CsssTier]) -> Decimal:
    """CSSS monthly advance for a month's pay subject to ONSS (108 % for artists)."""
    for tier in tiers:
        if tier.up_to is None or monthly_onss_pay <= tier.up_to:
            return max(_ZERO, to_cents(tier.fixed + tier.rate * (monthly_onss_pay - tier.over)))
    raise AssertionError("the CSSS table ends with an unbounded tier")  # pragma: no cover


def work_bonus_parts(
    reference_pay: Decimal,
    period: WorkPeriod,
    contributions: Decimal,
    bonus: WorkBonus,
) -> tuple[Decimal, Decimal]:
    """Social work bonus (A, B) for `reference_pay` earned over `period`, capped at the
    personal contributions (B cut first). Short contract: S = W x working / paid days as a
    full-month equivalent, each part then prorated by paid / working days."""
    if reference_pay <= 0 or period.paid_days <= 0:
        return _ZERO, _ZERO
    if period.paid_days >= period.working_days:
        reference = reference_pay
        fraction = _ONE
    else:
        reference = to_cents(reference_pay * period.working_days / period.paid_days)
        fraction = Decimal(period.paid_days) / Decimal(period.working_days)
    part_a = to_cents(bonus.part_a.value(reference) * fraction)
    part_b = to_cents(bonus.part_b.value(reference) * fraction)
    part_a = min(part_a, contributions)
    part_b = min(part_b, contributions - part_a)
    return part_a, part_b


def _clamp(value: Decimal, upper: Decimal) -> Decimal:
    return max(_ZERO, min(value, upper))


# ---------------------------------------------------------------- the whole payroll


def estimate_payroll(
    invoiced_excl_vat: Decimal,
    expenses: Decimal,
    params: PayrollParameters,
    contract_type: ContractType = "ordinary",
    *,
    gross: Decimal | None = None,
    period: WorkPeriod | None = None,
    month: MonthToDate | None = None,
    withholding_rate: Decimal | None = None,
) -> Payroll:
    """The payroll of one payout of a price excl. VAT (expenses included at their invoiced,
    grossed-up value), see the module docstring.

    `gross`: pay this gross (the one signed) instead of the largest the budget allows.
    `period`: paid days and the month's working days (default: a full month).
    `month`: the member's earlier payouts this calendar month (default: none).
    `withholding_rate`: artistic contracts, the rate the member chose (default: the flat one).
    """
    invoiced = require_cents(invoiced_excl_vat, "invoiced_excl_vat")
    expenses = require_cents(expenses, "expenses")
    contract_type = parse_contract_type(contract_type)
    period = period or WorkPeriod.full_month()
    before = month or MonthToDate()
    fee = to_cents(invoiced * params.fee_rate)
    fund_contribution = to_cents(fee * params.fund_share_of_fee)
    budget = invoiced - fee - expenses
    if budget < 0:
        raise FieldError(
            "expenses",
            f"expenses exceed what the price leaves after the fee: {expenses} > "
            f"{invoiced - fee} ({invoiced} minus the fee {fee})",
        )
    if gross is None:
        pay = _gross_for_budget(budget, params, contract_type)
    else:
        pay = require_cents(gross, "gross_salary")
        cost = employer_cost(pay, params, contract_type)
        if cost > budget:
            raise FieldError(
                "gross_salary",
                f"a gross of {pay} costs {cost} with holiday pay and contributions, more than "
                f"the employment budget of {budget}",
            )
    employer = _employer_side(pay, params, contract_type)
    remainder = budget - pay - employer.total
    employer_contributions = employer.employer_contributions + remainder
    others = sum((amount for _, amount in employer.other_charges), _ZERO)

    # Employee side, on the month's cumulated figures.
    base = employer.onss_base
    employee = to_cents(base * params.employee_contribution_rate)
    month_days = before.paid_days + period.paid_days
    month_period = WorkPeriod(min(month_days, period.working_days), period.working_days)
    month_reference = before.reference_pay + pay
    month_contributions = before.employee_contributions + employee
    month_a, month_b = work_bonus_parts(
        month_reference, month_period, month_contributions, params.work_bonus
    )
    bonus_a = _clamp(month_a - before.work_bonus_a, employee)
    bonus_b = _clamp(month_b - before.work_bonus_b, employee - bonus_a)
    bonus = bonus_a + bonus_b
    taxable = pay + employer.exit_holiday_pay - (employee - bonus)
    month_csss = special_contribution(before.onss_base + base, params.special_contribution)
    csss = _clamp(month_csss - before.special_contribution, taxable)
    formula = fiscal = _ZERO
    month_taxable = before.taxable
    if contract_type == "artistic":
        rate = params.artistic_withholding_rate if withholding_rate is None else withholding_rate
        if rate < params.artistic_withholding_rate or rate >= 1:
            raise FieldError(
                "artistic_withholding_rate",
                f"must be at least the flat rate of {params.artistic_withholding_rate * 100:.2f} %"
                " and below 100 %",
            )
        withholding = _clamp(to_cents(taxable * rate), taxable - csss)
        withheld_here = _ZERO  # flat per payout: nothing cumulates
    else:
        rate = None
        month_taxable = before.taxable + taxable
        formula = key_formula_tax(month_taxable, params.key_formula)
        granted_a = before.work_bonus_a + bonus_a
        granted_b = before.work_bonus_b + bonus_b
        fiscal = to_cents(granted_a * params.key_formula.fiscal_bonus_rate_a) + to_cents(
            granted_b * params.key_formula.fiscal_bonus_rate_b
        )
        month_withholding = max(_ZERO, formula - fiscal)
        withholding = _clamp(month_withholding - before.withheld, taxable - csss)
        withheld_here = withholding
    net = taxable - csss - withholding
    share = MonthToDate(
        reference_pay=pay,
        onss_base=base,
        paid_days=period.paid_days,
        employee_contributions=employee,
        work_bonus_a=bonus_a,
        work_bonus_b=bonus_b,
        special_contribution=csss,
        taxable=taxable if contract_type == "ordinary" else _ZERO,
        withheld=withheld_here,
    )

    def ln(
        code: str, amount: Decimal, rule: str, b: Decimal | None = None, r: Decimal | None = None
    ) -> PayrollLine:
        return PayrollLine(code=code, amount=amount, base=b, rate=r, rule=rule)

    lines = [
        ln("price_excl_vat", invoiced, "domain.md §1.3: labour + grossed-up expenses"),
        ln("fee", fee, RULES["fee_rate"], invoiced, params.fee_rate),
        ln("expenses", expenses, "expenses reimbursed at face value, outside the salary"),
        ln("employment_budget", budget, "price - fee - expenses"),
        ln(
            "employer_contributions",
            employer_contributions,
            RULES["employer_contribution_rate"],
            base,
            params.employer_contribution_rate,
        ),
    ]
    if contract_type == "ordinary":
        lines.append(
            ln(
                "exit_holiday_pay",
                employer.exit_holiday_pay,
                RULES["exit_holiday_pay"],
                pay,
                params.exit_holiday_pay_rate,
            )
        )
    else:
        lines.append(
            ln(
                "holiday_contribution",
                employer.holiday_contribution,
                RULES["artistic_holiday_contribution"],
                base,
                params.artistic_holiday_rate,
            )
        )
    if params.other_employer_charges:
        lines.append(ln("other_employer_charges", others, RULES["other_employer_charges"], base))
    lines += [
        ln("gross_salary", pay, "the gross written in the contract"),
        ln(
            "employee_contributions",
            employee,
            RULES["employee_contribution_rate"],
            base,
            params.employee_contribution_rate,
        ),
        ln("work_bonus", bonus, RULES["work_bonus"]),
        ln("special_contribution", csss, RULES["special_contribution"], before.onss_base + base),
        ln("taxable_pay", taxable, "gross + holiday pay - net employee contributions"),
    ]
    if contract_type == "ordinary":
        lines += [
            ln("withholding_tax_formula", formula, RULES["key_formula"], month_taxable),
            ln("fiscal_work_bonus", fiscal, RULES["key_formula"]),
            ln("withheld_earlier_this_month", before.withheld, RULES["key_formula"]),
            ln("withholding_tax", withholding, RULES["key_formula"]),
        ]
    else:
        lines.append(
            ln("withholding_tax", withholding, RULES["artistic_withholding"], taxable, rate)
        )
    lines += [
        ln("net_salary", net, "taxable pay - special contribution - withholding tax"),
        ln("net_paid", net + expenses, "net salary + expenses: the transfer"),
    ]
    return Payroll(
        contract_type=contract_type,
        invoiced_excl_vat=invoiced,
        fee=fee,
        fund_contribution=fund_contribution,
        expenses=expenses,
        employment_budget=budget,
        employer_contributions=employer_contributions,
        gross_salary=pay,
        employee_contributions=employee,
        withholding_tax=withholding,
        net_salary=net,
        exit_holiday_pay=employer.exit_holiday_pay,
        holiday_contribution=employer.holiday_contribution,
        other_employer_charges=others,
        onss_base=base,
        work_bonus=bonus,
        special_contribution=csss,
        taxable_pay=taxable,
        withholding_tax_formula=formula,
        fiscal_work_bonus=fiscal,
        withheld_earlier_this_month=before.withheld if contract_type == "ordinary" else _ZERO,
        net_paid=net + expenses,
        lines=tuple(lines),
        month_before=before,
        month_share=share,
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
    """The smallest price excl. VAT whose payroll pays exactly `gross_salary` plus `expenses`."""
    gross = require_cents(gross_salary, "gross_salary")
    expenses = require_cents(expenses, "expenses")
    contract_type = parse_contract_type(contract_type)
    needed = employer_cost(gross, params, contract_type) + expenses

    def enough(price: Decimal) -> bool:
        return price - to_cents(price * params.fee_rate) >= needed

    # Start from the cost-side formula; the fee's rounding moves the answer by a cent at most.
    price = price_for_cost(needed - expenses, expenses, params.fee_rate)
    while price > 0 and enough(price - CENT):
        price -= CENT
    while not enough(price):
        price += CENT
    return price


def _budget(price: Decimal, expenses: Decimal, fee_rate: Decimal) -> Decimal:
    return price - to_cents(price * fee_rate) - expenses


def gross_up_expenses(
    labour_price: Decimal, expenses: Sequence[Decimal], fee_rate: Decimal
) -> list[Decimal]:
    """Each expense as invoiced: grossed up for the fee, e / (1 - fee), so that the employment
    budget of labour + expenses is never below the labour price's alone (no declared expense
    lowers the gross). The last line takes the fee's rounding: the smallest amount that keeps
    the budget, so at most a cent above it."""
    labour_price = require_cents(labour_price, "amount_excl_vat")
    amounts = [require_cents(e, "expenses") for e in expenses]
    if not amounts:
        return []
    lines = [to_cents(e / (1 - fee_rate)) for e in amounts]
    target = _budget(labour_price, _ZERO, fee_rate)
    total = sum(amounts, _ZERO)

    def fits(last: Decimal) -> bool:
        return _budget(labour_price + sum(lines[:-1], _ZERO) + last, total, fee_rate) >= target

    while not fits(lines[-1]):
        lines[-1] += CENT
    while lines[-1] > amounts[-1] and fits(lines[-1] - CENT):
        lines[-1] -= CENT
    return lines
