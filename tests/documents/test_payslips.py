"""The final payslip, its line-by-line differences from the estimate, the contract type on the
contract, and the yearly 281.10 summary (no database: payroll JSON as the engine writes it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from documents.kinds import SummaryRow
from documents.payslip import (
    PAYROLL_LINE_CODES,
    Amendment,
    add_up,
    differences,
    payroll_lines,
    summary_figures,
)
from documents.render import render_pdf
from documents.texts import TEXTS
from documents.wording import explain
from tests.documents import payroll_json
from tests.documents.samples import sample
from tests.documents.test_letters_pdf import money, pdf_text

LANGUAGES = ("fr", "nl", "en")


def test_every_line_code_has_a_label_and_an_explanation_in_every_language() -> None:
    for language in LANGUAGES:
        for code in PAYROLL_LINE_CODES:
            assert TEXTS[language][f"line_{code}"], (language, code)
            assert TEXTS[language][f"line_{code}_x"], (language, code)


def test_lines_are_read_from_the_engine_json_in_payslip_order() -> None:
    lines = payroll_lines(payroll_json.ordinary_payout())
    codes = [line.code for line in lines]
    assert codes == sorted(codes, key=PAYROLL_LINE_CODES.index)
    fee = next(line for line in lines if line.code == "fee")
    assert (fee.base, fee.rate, fee.amount) == (
        Decimal("4502.89"),
        Decimal("0.065"),
        Decimal("292.69"),
    )
    assert fee.rule == "payroll.fee_rate" and fee.valid_from == date(2026, 1, 1)
    # An unknown code or a line without amount is not a line of the payslip.
    bad = {"lines": [{"code": "bonus", "amount": "1.00"}, {"code": "fee", "amount": None}]}
    assert payroll_lines(bad) == ()


def test_a_payroll_without_lines_is_rebuilt_from_its_flat_keys() -> None:
    """Payouts written before the engine kept lines still get a payslip and a summary row."""
    legacy = {
        "basis": "simplified estimate",
        "contract_type": "ordinary",
        "invoiced_excl_vat": "1100.00",
        "fee": "71.50",
        "fund_contribution": "21.45",
        "expenses": "100.00",
        "employment_budget": "928.50",
        "employer_contributions": "185.70",
        "gross_salary": "742.80",
        "employee_contributions": "97.08",
        "withholding_tax": "129.14",
        "net_salary": "516.58",
    }
    lines = {line.code: line for line in payroll_lines(legacy)}
    assert lines["taxable_pay"].amount == Decimal("645.72")
    assert lines["net_paid"].amount == Decimal("616.58")
    assert summary_figures(legacy)["taxable_pay"] == Decimal("645.72")


def test_differences_explain_each_changed_line() -> None:
    estimate = payroll_lines(payroll_json.ordinary_estimate())
    payout = payroll_json.ordinary_payout()
    diffs = {d.code: d for d in differences(estimate, payroll_lines(payout), (), payout["month"])}
    # Unchanged lines are not listed; every changed one is, with its reasons.
    assert set(diffs) == {
        "withholding_tax_formula",
        "withheld_earlier_this_month",
        "withholding_tax",
        "net_salary",
        "net_paid",
    }
    earlier = diffs["withheld_earlier_this_month"]
    assert (earlier.estimated, earlier.final, earlier.difference) == (
        None,
        Decimal("120.00"),
        Decimal("120.00"),
    )
    assert explain(earlier.reasons[0], "en") == (
        "other pay in the same month: €120.00 of withholding tax already withheld"
    )
    formula = [explain(r, "en") for r in diffs["withholding_tax_formula"].reasons]
    assert "computed on the month's cumulated taxable pay, €800.00 of it already paid" in formula
    assert "rule changed on July 1, 2026 (payroll.withholding_key_formula)" in formula
    assert diffs["withholding_tax"].difference == Decimal("-18.00")
    assert [r.key for r in diffs["net_salary"].reasons] == ["diff_follows"]
    fr = [explain(r, "fr") for r in diffs["withholding_tax_formula"].reasons]
    assert any(x.startswith("règle modifiée le 1 juillet 2026") for x in fr), fr
    nl = [explain(r, "nl") for r in diffs["withholding_tax_formula"].reasons]
    assert any(x.startswith("regel gewijzigd op 1 juli 2026") for x in nl), nl


def test_an_amendment_explains_a_changed_gross() -> None:
    estimate = payroll_lines(payroll_json.ordinary_estimate())
    final = payroll_json.ordinary_estimate()
    for x in final["lines"]:
        if x["code"] == "gross_salary":
            x["amount"] = "3200.00"
    amended = Amendment(1, date(2026, 8, 3), Decimal("3000.00"), Decimal("3200.00"), "one day more")
    (diff,) = differences(estimate, payroll_lines(final), (amended,))
    assert diff.code == "gross_salary" and diff.difference == Decimal("200.00")
    assert explain(diff.reasons[0], "en") == (
        "written amendment of August 3, 2026: gross from €3,000.00 to €3,200.00 (one day more)"
    )
    # A rate that changed between the estimate and the payout is named with both values.
    final = payroll_json.ordinary_estimate()
    for x in final["lines"]:
        if x["code"] == "fee":
            x.update(amount="315.20", rate="0.07")
    (diff,) = differences(estimate, payroll_lines(final))
    assert explain(diff.reasons[-1], "en") == "rate from 6.5 % to 7 %".replace(" %", "\u00a0%")


@pytest.mark.parametrize("language", LANGUAGES)
def test_payslip_pdf_prints_every_line_and_the_differences(language: str) -> None:
    data = sample("payslip", language)
    text = pdf_text(render_pdf("payslip", data))
    for line in data.lines:
        assert TEXTS[language][f"line_{line.code}"].split()[0] in text
        assert money(line.amount, language) in text
    heading = {"fr": "Différences avec l'estimation", "nl": "Verschillen met de raming"}
    assert heading.get(language, "Differences from the estimate") in text
    same_month = {
        "fr": "autre rémunération payée le même mois",
        "nl": "ander loon betaald in dezelfde maand",
        "en": "other pay in the same month",
    }
    assert same_month[language] in text
    assert "payroll.withholding_key_formula" in text
    # The source of the rule is printed with it.
    assert "ESS-SR/" in text


def test_payslip_without_difference_or_estimate_says_so() -> None:
    data = replace(sample("payslip", "en"), differences=())
    assert "No difference: every amount is the estimate's." in pdf_text(render_pdf("payslip", data))
    data = replace(data, estimate_date=None)
    assert "No signed estimate is on record" in pdf_text(render_pdf("payslip", data))


@pytest.mark.parametrize("language", LANGUAGES)
def test_artistic_payslip_shows_the_chosen_flat_rate(language: str) -> None:
    lines = payroll_lines(payroll_json.artistic_payout())
    data = replace(
        sample("payslip", language),
        contract_type="artistic",
        lines=lines,
        differences=(),
        month=None,
        withholding_rate=Decimal("18"),
    )
    text = pdf_text(render_pdf("payslip", data))
    assert {"fr": "artistique (art. 1bis", "nl": "artistiek (art. 1bis"}.get(
        language, "artistic (art. 1bis"
    ) in text
    assert {"fr": "18 %", "nl": "18 %", "en": "18 %"}[language] in text.replace("\u00a0", " ")
    assert money(Decimal("154.59"), language) in text
    assert "dev.amplo.be" in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_contract_pdf_says_which_contract_type(language: str) -> None:
    ordinary = pdf_text(render_pdf("contract", sample("contract", language)))
    artistic = pdf_text(
        render_pdf("contract", replace(sample("contract", language), contract_type="artistic"))
    )
    art_1bis = {
        "fr": "article 1bis de la loi du 27 juin 1969",
        "nl": "artikel 1bis van de wet van 27 juni 1969",
        "en": "article 1bis of the law of 27 June 1969",
    }[language]
    employee = {"fr": "comme employé", "nl": "als bediende", "en": "white-collar employee"}
    assert art_1bis in artistic and art_1bis not in ordinary
    assert employee[language] in ordinary and employee[language] not in artistic


def test_summary_totals_are_the_sum_of_the_payouts() -> None:
    ordinary, artistic = payroll_json.ordinary_payout(), payroll_json.artistic_payout()
    rows = [summary_figures(ordinary), summary_figures(artistic)]
    totals = add_up(rows)
    assert totals["gross_salary"] == Decimal("4000.00")
    assert totals["taxable_pay"] == Decimal("3007.95") + Decimal("858.84")
    assert totals["withholding_tax"] == Decimal("580.00") + Decimal("154.59")
    assert totals["employee_contributions"] == Decimal("452.25") + Decimal("141.16")
    assert totals["special_contribution"] == Decimal("19.24")
    assert totals["exit_holiday_pay"] == Decimal("460.20")
    data = sample("tax_summary", "fr")
    assert data.totals == add_up(r.figures for r in data.rows)
    assert isinstance(data.rows[0], SummaryRow)
