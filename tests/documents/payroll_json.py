"""Payroll JSON exactly as the engine writes it (flat keys + `lines` of
`domain.payroll.PayrollLine`), so the payslip tests do not depend on the engine's code: an
estimate, its payout, an artist's payout."""

from __future__ import annotations

from typing import Any


def line(
    code: str,
    amount: str,
    base: str | None = None,
    rate: str | None = None,
    rule: str = "",
    valid_from: str | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    return {
        "code": code,
        "amount": amount,
        "base": base,
        "rate": rate,
        "rule": rule,
        "valid_from": valid_from,
        "source": source,
    }


KEY_FORMULA_SOURCE = "Annexe III AR/CIR 92, formule-clé 2026 (ESS-SR/2025-0928)"


def ordinary_estimate() -> dict[str, Any]:
    """What the member signed for: 3,000.00 gross, white-collar, no other pay that month."""
    return {
        "basis": "payroll.* rules of 2026-01-01",
        "contract_type": "ordinary",
        "invoiced_excl_vat": "4502.89",
        "fee": "292.69",
        "fund_contribution": "87.81",
        "expenses": "0.00",
        "employment_budget": "4210.20",
        "employer_contributions": "750.00",
        "exit_holiday_pay": "460.20",
        "holiday_contribution": "0.00",
        "gross_salary": "3000.00",
        "employee_contributions": "452.25",
        "work_bonus": "0.00",
        "special_contribution": "19.24",
        "taxable_pay": "3007.95",
        "fiscal_work_bonus": "0.00",
        "withholding_tax": "598.00",
        "net_salary": "2390.71",
        "lines": [
            line("price_excl_vat", "4502.89", rule="order form"),
            line(
                "fee",
                "292.69",
                "4502.89",
                "0.065",
                "payroll.fee_rate",
                "2026-01-01",
                "domain.md §1.3",
            ),
            line("expenses", "0.00", rule="work report"),
            line("employment_budget", "4210.20", rule="price - fee - expenses"),
            line(
                "employer_contributions",
                "750.00",
                "3000.00",
                "0.25",
                "payroll.employer_contribution_rate",
                "2026-01-01",
                "socialsecurity.be",
            ),
            line(
                "exit_holiday_pay",
                "460.20",
                "3000.00",
                "0.1534",
                "payroll.exit_holiday_pay_rate",
                "2026-01-01",
                "law of 28 June 1971",
            ),
            line("gross_salary", "3000.00", rule="contract"),
            line(
                "employee_contributions",
                "452.25",
                "3460.20",
                "0.1307",
                "payroll.employee_contribution_rate",
                "2026-01-01",
                "socialsecurity.be",
            ),
            line(
                "special_contribution",
                "19.24",
                "3460.20",
                None,
                "payroll.special_contribution_scale",
                "2026-01-01",
                "socialsecurity.be CSSS",
            ),
            line("taxable_pay", "3007.95", rule="gross + holiday pay - employee contributions"),
            line(
                "withholding_tax_formula",
                "598.00",
                "3007.95",
                None,
                "payroll.withholding_key_formula",
                "2026-01-01",
                KEY_FORMULA_SOURCE,
            ),
            line("withholding_tax", "598.00", rule="payroll.withholding_key_formula"),
            line("net_salary", "2390.71", rule="taxable pay - withholding - CSSS"),
            line("net_paid", "2390.71", rule="net salary + expenses"),
        ],
    }


def ordinary_payout() -> dict[str, Any]:
    """The payout of that estimate: other pay earlier in September, and a key formula of July."""
    payroll = ordinary_estimate()
    payroll.update(
        {
            "withholding_tax": "580.00",
            "net_salary": "2408.71",
            "month": {"month": "2026-09", "taxable_before": "800.00", "withheld_before": "120.00"},
        }
    )
    lines = [dict(x) for x in payroll["lines"]]
    for x in lines:
        if x["code"] == "withholding_tax_formula":
            x.update(amount="700.00", base="3807.95", valid_from="2026-07-01")
        elif x["code"] == "withholding_tax":
            x["amount"] = "580.00"
        elif x["code"] in ("net_salary", "net_paid"):
            x["amount"] = "2408.71"
    at = next(i for i, x in enumerate(lines) if x["code"] == "withholding_tax")
    lines.insert(at, line("withheld_earlier_this_month", "120.00", rule="payouts of 2026-09"))
    payroll["lines"] = lines
    return payroll


def artistic_payout() -> dict[str, Any]:
    """An art. 1bis contract: contributions on 108 % of 1,000.00, 18 % withheld by choice."""
    return {
        "basis": "payroll.* rules of 2026-01-01; artistic",
        "contract_type": "artistic",
        "invoiced_excl_vat": "1550.04",
        "fee": "100.75",
        "fund_contribution": "30.23",
        "expenses": "0.00",
        "employment_budget": "1449.29",
        "employer_contributions": "270.00",
        "exit_holiday_pay": "0.00",
        "holiday_contribution": "175.72",
        "gross_salary": "1000.00",
        "employee_contributions": "141.16",
        "work_bonus": "0.00",
        "special_contribution": "0.00",
        "taxable_pay": "858.84",
        "fiscal_work_bonus": "0.00",
        "withholding_tax": "154.59",
        "net_salary": "704.25",
        "lines": [
            line("price_excl_vat", "1550.04", rule="invoice"),
            line("fee", "100.75", "1550.04", "0.065", "payroll.fee_rate", "2026-01-01"),
            line("employment_budget", "1449.29", rule="price - fee - expenses"),
            line(
                "employer_contributions",
                "270.00",
                "1080.00",
                "0.25",
                "payroll.employer_contribution_rate",
                "2026-01-01",
            ),
            line(
                "holiday_contribution",
                "175.72",
                "1080.00",
                "0.1627",
                "payroll.artistic_holiday_contribution_rate",
                "2026-01-01",
                "ONSS instructions 2007/3",
            ),
            line("gross_salary", "1000.00", rule="contract"),
            line(
                "employee_contributions",
                "141.16",
                "1080.00",
                "0.1307",
                "payroll.employee_contribution_rate",
                "2026-01-01",
            ),
            line("taxable_pay", "858.84", rule="gross - employee contributions"),
            line(
                "withholding_tax",
                "154.59",
                "858.84",
                "0.18",
                "payroll.artistic_withholding_rates",
                "2026-01-01",
                "dev.amplo.be/en/faq/withholding-tax",
            ),
            line("net_salary", "704.25", rule="taxable pay - withholding tax"),
            line("net_paid", "704.25", rule="net salary + expenses"),
        ],
    }
