"""Payroll lines as the documents read them: the payslip, the estimate, their differences, the year.

The payroll engine writes every computation as a list of lines (`payouts.payroll["lines"]`,
`missions.estimate["lines"]`, the estimates API), each

    {"code": str, "amount": "123.45", "base": "1000.00"|null, "rate": "0.1307"|null,
     "rule": str, "valid_from": "YYYY-MM-DD"|null, "source": str|null}

with `code` one of PAYROLL_LINE_CODES. This module reads them (or, for a payroll written before
the lines existed, rebuilds them from its flat keys), says line by line why a payslip differs from
the estimate the member signed for, and adds payouts up into the yearly 281.10 summary. It
computes nothing of the payroll itself: every amount is the engine's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.payroll import PAYROLL_LINE_CODES

# How each line reads in the table: a subtotal, something taken off the line above, something
# added, or a figure shown for information (it is already inside another line).
LINE_ROLES: dict[str, str] = {
    "price_excl_vat": "total",
    "fee": "minus",
    "expenses": "minus",
    "employment_budget": "total",
    "employer_contributions": "minus",
    "exit_holiday_pay": "minus",
    "holiday_contribution": "minus",
    "other_employer_charges": "minus",
    "gross_salary": "total",
    "employee_contributions": "minus",
    "work_bonus": "plus",
    "special_contribution": "minus",
    "taxable_pay": "info",
    "withholding_tax_formula": "info",
    "fiscal_work_bonus": "info",
    "withheld_earlier_this_month": "info",
    "withholding_tax": "minus",
    "net_salary": "total",
    "net_paid": "grand",
}
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class PayslipLine:
    """One line of a payroll computation, with the rule (dated parameter) that produced it."""

    code: str
    amount: Decimal
    base: Decimal | None = None
    rate: Decimal | None = None  # fraction: 0.1307
    rule: str = ""
    valid_from: date | None = None
    source: str | None = None

    @property
    def role(self) -> str:
        return LINE_ROLES.get(self.code, "info")

    @property
    def rate_percent(self) -> Decimal | None:
        return None if self.rate is None else (self.rate * 100).normalize()


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _day(value: object) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def line_from_json(raw: Mapping[str, Any]) -> PayslipLine | None:
    """One serialised line; None when it is not one (no known code, no amount)."""
    code = raw.get("code")
    amount = _decimal(raw.get("amount"))
    if code not in PAYROLL_LINE_CODES or amount is None:
        return None
    return PayslipLine(
        code=str(code),
        amount=amount,
        base=_decimal(raw.get("base")),
        rate=_decimal(raw.get("rate")),
        rule=str(raw.get("rule") or ""),
        valid_from=_day(raw.get("valid_from")),
        source=None if raw.get("source") in (None, "") else str(raw.get("source")),
    )


@dataclass(frozen=True)
class RuleRow:
    """A dated parameter row a legacy payroll used: its value, since when, from which source."""

    key: str
    value: Decimal | None
    valid_from: date | None
    source: str | None


def rules_from_estimate(payroll: Mapping[str, Any]) -> dict[str, RuleRow]:
    """The `rules` list of an estimate (key, valid_from, value), by key."""
    out: dict[str, RuleRow] = {}
    for rule in payroll.get("rules") or ():
        if isinstance(rule, Mapping) and isinstance(rule.get("key"), str):
            out[rule["key"]] = RuleRow(
                key=rule["key"],
                value=_decimal(rule.get("value")),
                valid_from=_day(rule.get("valid_from")),
                source=rule.get("source") if isinstance(rule.get("source"), str) else None,
            )
    return out


def _legacy_lines(payroll: Mapping[str, Any], rules: Mapping[str, RuleRow]) -> list[PayslipLine]:
    """Lines rebuilt from the flat keys of a payroll written before the engine kept lines."""

    def figure(*keys: str) -> Decimal | None:
        for key in keys:
            value = _decimal(payroll.get(key))
            if value is not None:
                return value
        return None

    def rule(key: str) -> dict[str, Any]:
        row = rules.get(key)
        if row is None:
            return {"rule": key}
        return {"rule": key, "valid_from": row.valid_from, "source": row.source}

    def rate(key: str) -> Decimal | None:
        row = rules.get(key)
        return None if row is None else row.value

    price = figure("invoiced_excl_vat", "price_excl_vat", "amount_excl_vat")
    fee = figure("fee")
    expenses = figure("expenses")
    budget = figure("employment_budget")
    employer = figure("employer_contributions")
    gross = figure("gross_salary")
    employee = figure("employee_contributions")
    tax = figure("withholding_tax")
    net = figure("net_salary")
    artistic = payroll.get("contract_type") == "artistic"
    share = rate("payroll.artistic_contribution_base") if artistic else Decimal(1)
    onss_base = None if gross is None or share is None else (gross * share).quantize(ZERO)
    lines: list[PayslipLine] = []
    if price is not None:
        lines.append(PayslipLine("price_excl_vat", price, rule="invoice"))
    if fee is not None:
        lines.append(
            PayslipLine("fee", fee, price, rate("payroll.fee_rate"), **rule("payroll.fee_rate"))
        )
    if expenses is not None:
        lines.append(PayslipLine("expenses", expenses, rule="work report"))
    if budget is not None:
        lines.append(PayslipLine("employment_budget", budget, rule="price - fee - expenses"))
    if employer is not None:
        key = "payroll.employer_contribution_rate"
        lines.append(
            PayslipLine("employer_contributions", employer, onss_base, rate(key), **rule(key))
        )
    if gross is not None:
        lines.append(PayslipLine("gross_salary", gross, rule="contract"))
    if employee is not None:
        key = "payroll.employee_contribution_rate"
        lines.append(
            PayslipLine("employee_contributions", employee, onss_base, rate(key), **rule(key))
        )
    taxable = figure("taxable_pay")
    if taxable is None and gross is not None and employee is not None:
        taxable = gross - employee
    if taxable is not None:
        lines.append(PayslipLine("taxable_pay", taxable, rule="gross - employee contributions"))
    if tax is not None:
        lines.append(
            PayslipLine("withholding_tax", tax, taxable, **rule("payroll.withholding_scale"))
        )
    if net is not None:
        lines.append(PayslipLine("net_salary", net, rule="taxable pay - withholding tax"))
        lines.append(
            PayslipLine("net_paid", net + (expenses or ZERO), rule="net salary + expenses")
        )
    return lines


def payroll_lines(
    payroll: Mapping[str, Any] | None, rules: Mapping[str, RuleRow] | None = None
) -> tuple[PayslipLine, ...]:
    """The lines of a payroll JSON in payslip order: its `lines`, or rebuilt from flat keys."""
    if not payroll:
        return ()
    raw = payroll.get("lines")
    if isinstance(raw, list) and raw:
        lines = [line_from_json(item) for item in raw if isinstance(item, Mapping)]
        found = [line for line in lines if line is not None]
    else:
        found = _legacy_lines(payroll, {**rules_from_estimate(payroll), **(rules or {})})
    order = {code: i for i, code in enumerate(PAYROLL_LINE_CODES)}
    return tuple(sorted(found, key=lambda line: order[line.code]))


def amount_of(lines: Iterable[PayslipLine], code: str) -> Decimal | None:
    for line in lines:
        if line.code == code:
            return line.amount
    return None


# ---------------------------------------------------------------- estimate vs payslip


@dataclass(frozen=True)
class Amendment:
    """A written amendment to the contract (a new gross), as the diff cites it."""

    sequence: int
    business_date: date
    old_gross: Decimal
    new_gross: Decimal
    reason: str


@dataclass(frozen=True)
class Reason:
    """Why a line differs: a text key of documents/texts.py and the values it names.

    `values` hold Decimals (money), `percent:`-prefixed Decimals (rates, fractions), dates and
    plain strings; the renderer formats each for the document's language."""

    key: str
    values: tuple[tuple[str, Any], ...] = ()


@dataclass(frozen=True)
class LineDifference:
    code: str
    estimated: Decimal | None
    final: Decimal | None
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def difference(self) -> Decimal:
        return (self.final or ZERO) - (self.estimated or ZERO)


def _reasons(
    code: str,
    est: PayslipLine | None,
    fin: PayslipLine | None,
    amendments: Sequence[Amendment],
    month: Mapping[str, Any] | None,
) -> list[Reason]:
    out: list[Reason] = []
    if code == "withheld_earlier_this_month" and fin is not None:
        out.append(Reason("diff_same_month", (("amount", fin.amount),)))
    if code == "withholding_tax_formula" and month:
        before = _decimal(month.get("taxable_before"))
        if before:
            out.append(Reason("diff_month_taxable", (("amount", before),)))
    if code == "gross_salary":
        for a in amendments:
            out.append(
                Reason(
                    "diff_amendment",
                    (
                        ("date", a.business_date),
                        ("old", a.old_gross),
                        ("new", a.new_gross),
                        ("reason", a.reason),
                    ),
                )
            )
    if code == "price_excl_vat":
        out.append(Reason("diff_invoiced"))
    if code == "expenses":
        out.append(Reason("diff_expenses"))
    if est is None and code != "withheld_earlier_this_month":
        out.append(Reason("diff_new_line"))
    elif fin is None:
        out.append(Reason("diff_dropped_line"))
    if est is not None and fin is not None:
        if fin.valid_from is not None and (
            est.valid_from is None or fin.valid_from > est.valid_from
        ):
            out.append(Reason("diff_rule_changed", (("date", fin.valid_from), ("rule", fin.rule))))
        if est.rate is not None and fin.rate is not None and est.rate != fin.rate:
            out.append(
                Reason(
                    "diff_rate", (("old", ("percent", est.rate)), ("new", ("percent", fin.rate)))
                )
            )
        if est.base is not None and fin.base is not None and est.base != fin.base:
            out.append(Reason("diff_base", (("old", est.base), ("new", fin.base))))
    if not out:
        out.append(Reason("diff_follows"))
    return out


def differences(
    estimate: Sequence[PayslipLine],
    final: Sequence[PayslipLine],
    amendments: Sequence[Amendment] = (),
    month: Mapping[str, Any] | None = None,
) -> tuple[LineDifference, ...]:
    """Every line whose amount differs between the estimate and the payslip, each explained."""
    est = {line.code: line for line in estimate}
    fin = {line.code: line for line in final}
    out: list[LineDifference] = []
    for code in PAYROLL_LINE_CODES:
        a, b = est.get(code), fin.get(code)
        if a is None and b is None:
            continue
        if a is not None and b is not None and a.amount == b.amount:
            continue
        if a is None and b is not None and b.amount == 0:
            continue
        out.append(
            LineDifference(
                code=code,
                estimated=None if a is None else a.amount,
                final=None if b is None else b.amount,
                reasons=tuple(_reasons(code, a, b, amendments, month)),
            )
        )
    return tuple(out)


# ---------------------------------------------------------------- the year (281.10)

SUMMARY_FIGURES: tuple[str, ...] = (
    "gross_salary",
    "exit_holiday_pay",
    "employee_contributions",
    "work_bonus",
    "special_contribution",
    "taxable_pay",
    "withholding_tax",
    "fiscal_work_bonus",
    "net_salary",
)


def summary_figures(payroll: Mapping[str, Any]) -> dict[str, Decimal]:
    """The figures of one payout that go to the 281.10: flat keys, else its lines."""
    lines = {line.code: line.amount for line in payroll_lines(payroll)}
    out: dict[str, Decimal] = {}
    for name in SUMMARY_FIGURES:
        value = _decimal(payroll.get(name))
        if value is None:
            value = lines.get(name, ZERO)
        out[name] = value
    if _decimal(payroll.get("taxable_pay")) is None and "taxable_pay" not in lines:
        out["taxable_pay"] = (
            out["gross_salary"]
            + out["exit_holiday_pay"]
            - (out["employee_contributions"] - out["work_bonus"])
        )
    return out


def add_up(rows: Iterable[Mapping[str, Decimal]]) -> dict[str, Decimal]:
    totals = dict.fromkeys(SUMMARY_FIGURES, ZERO)
    for row in rows:
        for name in SUMMARY_FIGURES:
            totals[name] += row.get(name, ZERO)
    return totals
