"""POST /api/estimates: the members' simulator, both directions, and every bad input refused.

No mission or workflow is involved; the `stack` fixture only gives the real API on the test DB.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.calendar import salary_transfer_date
from domain.payroll import weekdays_between
from tests.api.conftest import assert_refused
from tests.conftest import Stack

URL = "/api/estimates"
MONEY_KEYS = (
    "amount_excl_vat",
    "vat",
    "amount_incl_vat",
    "fee",
    "fund_contribution",
    "employer_contributions",
    "exit_holiday_pay",
    "holiday_contribution",
    "gross_salary",
    "employee_contributions",
    "work_bonus",
    "special_contribution",
    "taxable_pay",
    "withholding_tax",
    "net_salary",
    "net_paid",
    "expenses",
)
# The price's split (the exit holiday pay is inside the net; the work bonus is given back).
SPLIT = (
    "fee",
    "expenses",
    "employer_contributions",
    "holiday_contribution",
    "other_employer_charges",
    "employee_contributions",
    "special_contribution",
    "withholding_tax",
    "net_salary",
)
LINE_KEYS = {"code", "amount", "base", "rate", "rule", "valid_from", "source"}

# One member for the whole module: tokens stay valid, password hashing is deliberately slow.
_member: dict[str, dict[str, str]] = {}


async def member_headers(stack: Stack) -> dict[str, str]:
    if "headers" not in _member:
        _, headers = await stack.new_member(iban="BE71096123456769")
        _member["headers"] = headers
    return _member["headers"]


async def post(stack: Stack, body: dict[str, Any]) -> Any:
    return await stack.http.post(URL, json=body, headers=await member_headers(stack))


def assert_consistent(answer: dict[str, Any]) -> None:
    for key in MONEY_KEYS:
        assert isinstance(answer[key], str), key
        assert Decimal(answer[key]).as_tuple().exponent == -2, (key, answer[key])
    total = sum((Decimal(answer[k]) for k in SPLIT), Decimal(0)) - Decimal(answer["work_bonus"])
    assert total == Decimal(answer["amount_excl_vat"])
    assert Decimal(answer["net_paid"]) == Decimal(answer["net_salary"]) + Decimal(
        answer["expenses"]
    )
    lines = answer["lines"]
    assert all(set(line) == LINE_KEYS for line in lines), lines
    by_code = {line["code"]: line for line in lines}
    for key in ("gross_salary", "employee_contributions", "withholding_tax", "net_salary"):
        assert by_code[key]["amount"] == answer[key], key
    assert "simplified" not in answer["basis"]
    assert Decimal(answer["amount_excl_vat"]) + Decimal(answer["vat"]) == Decimal(
        answer["amount_incl_vat"]
    )


def rules_by_key(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rules = answer["rules"]
    assert all(set(r) == {"key", "valid_from", "value", "description", "source"} for r in rules)
    assert all(r["source"] for r in rules if r["key"].startswith("payroll.")), rules
    return {r["key"]: r for r in rules}


async def test_estimate_from_price(stack: Stack) -> None:
    r = await post(stack, {"amount_excl_vat": "1000.00", "contract_type": "ordinary"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_consistent(answer)
    assert {k: answer[k] for k in MONEY_KEYS} == {
        "amount_excl_vat": "1000.00",
        "vat": "210.00",
        "amount_incl_vat": "1210.00",
        "fee": "65.00",
        "fund_contribution": "19.50",
        # 935 pays gross + 15.34 % exit holiday pay + 25 % on gross and its simple part
        "employer_contributions": "176.92",
        "exit_holiday_pay": "100.82",
        "holiday_contribution": "0.00",
        "gross_salary": "657.26",  # not 748.00 (935 / 1.25 forgot the holiday pay)
        "employee_contributions": "92.49",
        "work_bonus": "92.49",
        "special_contribution": "0.00",
        "taxable_pay": "758.08",
        "withholding_tax": "0.00",  # key formula: 758.08 a month is below the tax-free amount
        "net_salary": "758.08",
        "net_paid": "758.08",
        "expenses": "0.00",
    }
    assert answer["contract_type"] == "ordinary"
    assert "key formula" in answer["basis"]
    assert "only pay of the month" in answer["basis"]
    today = await stack.today()
    assert answer["pay_date"] == salary_transfer_date(today, 7).isoformat()
    rules = rules_by_key(answer)
    assert set(rules) == {
        "payroll.fee_rate",
        "payroll.fund_share_of_fee",
        "payroll.employer_contribution_rate",
        "payroll.employee_contribution_rate",
        "payroll.exit_holiday_pay",
        "payroll.work_bonus",
        "payroll.special_contribution",
        "payroll.withholding_key_formula",
        "vat.rates",
        "policy.lifecycle.advance_working_days",
    }
    assert rules["payroll.fee_rate"] == {
        "key": "payroll.fee_rate",
        "valid_from": "2026-01-01",
        "value": "0.065",
        "description": rules["payroll.fee_rate"]["description"],
        "source": rules["payroll.fee_rate"]["source"],
    }
    formula = rules["payroll.withholding_key_formula"]
    assert formula["valid_from"] == "2026-01-01"
    assert formula["value"]["expenses_cap"] == "6070.00"
    assert "ESS-SR/2025-0928" in formula["source"]
    assert rules["payroll.exit_holiday_pay"]["value"] == "0.1534"
    assert rules["vat.rates"]["value"] == "21"
    assert rules["policy.lifecycle.advance_working_days"]["value"] == 7
    codes = [line["code"] for line in answer["lines"]]
    assert codes == [
        "price_excl_vat",
        "fee",
        "expenses",
        "employment_budget",
        "employer_contributions",
        "exit_holiday_pay",
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
    ]
    holiday = answer["lines"][5]
    assert holiday == {
        "code": "exit_holiday_pay",
        "amount": "100.82",
        "base": "657.26",
        "rate": "0.1534",
        "rule": "payroll.exit_holiday_pay",
        "valid_from": "2026-01-01",
        "source": holiday["source"],
    }
    assert "AR 30/03/1967" in holiday["source"]


async def test_short_contract_prorates_the_work_bonus(stack: Stack) -> None:
    body = {"amount_excl_vat": "1000.00", "contract_type": "ordinary"}
    month = (await post(stack, body)).json()
    r = await post(stack, {**body, "days_worked": 1})
    assert r.status_code == 200, r.text
    one_day = r.json()
    assert_consistent(one_day)
    assert one_day["paid_days"] == 1 and one_day["working_days"] >= 20
    # Same price, same gross (the employer side does not depend on the days)...
    assert one_day["gross_salary"] == month["gross_salary"] == "657.26"
    # ... but 657.26 for one day is a full-month equivalent far above the bonus range.
    assert Decimal(one_day["work_bonus"]) < Decimal(month["work_bonus"])
    assert Decimal(one_day["net_salary"]) < Decimal(month["net_salary"])


async def test_artistic_estimate_flat_withholding(stack: Stack) -> None:
    r = await post(stack, {"amount_excl_vat": "1000.00", "contract_type": "artistic"})
    assert r.status_code == 200, r.text
    answer = r.json()
    assert_consistent(answer)
    assert answer["gross_salary"] == "648.82"
    assert answer["holiday_contribution"] == "111.00"
    assert answer["exit_holiday_pay"] == "0.00"
    assert answer["withholding_tax"] == "72.08"  # 11.11 % of 648.82
    rules = rules_by_key(answer)
    assert "payroll.artistic_withholding" in rules
    assert "payroll.withholding_key_formula" not in rules
    assert rules["payroll.artistic_holiday_contribution"]["value"] == "0.1584"


async def test_estimate_from_gross_is_the_inverse(stack: Stack) -> None:
    """gross -> price -> gross and price -> gross -> price through the API, artistic contract."""
    r = await post(
        stack,
        {
            "gross_salary": "2000.00",
            "expenses": "150.00",
            "contract_type": "artistic",
            "vat_rate": "6",
            "end_date": "2027-01-29",
        },
    )
    assert r.status_code == 200, r.text
    from_gross = r.json()
    assert_consistent(from_gross)
    assert from_gross["gross_salary"] == "2000.00"
    assert from_gross["expenses"] == "150.00"
    assert from_gross["contract_type"] == "artistic"
    # 1.08 base: employer ONSS = 2000 x 1.08 x 25 % = 540.00 exactly (no rounding remainder).
    assert from_gross["employer_contributions"] == "540.00"
    assert from_gross["employee_contributions"] == "282.31"  # 2000 x 1.08 x 13.07 % = 282.312
    assert from_gross["holiday_contribution"] == "342.14"  # 2160 x 15.84 % = 342.144
    assert from_gross["vat"] == f"{Decimal(from_gross['amount_excl_vat']) * 6 / 100:.2f}"
    assert from_gross["pay_date"] == salary_transfer_date(date(2027, 1, 29), 7).isoformat()
    # 7th wage working day after Fri 29 Jan 2027 is Sat 6 Feb (Saturdays count): paid Fri 5 Feb.
    assert from_gross["pay_date"] == "2027-02-05"
    rules = rules_by_key(from_gross)
    assert rules["payroll.artistic_contribution_base"]["value"] == "1.08"
    assert rules["vat.rates"]["value"] == "6"

    r = await post(
        stack,
        {
            "amount_excl_vat": from_gross["amount_excl_vat"],
            "expenses": "150.00",
            "contract_type": "artistic",
            "vat_rate": "6",
            "end_date": "2027-01-29",
        },
    )
    assert r.status_code == 200, r.text
    from_price = r.json()
    assert {k: v for k, v in from_price.items() if k != "computed_from"} == {
        k: v for k, v in from_gross.items() if k != "computed_from"
    }
    assert (from_gross["computed_from"], from_price["computed_from"]) == (
        "gross_salary",
        "amount_excl_vat",
    )
    # One cent less no longer pays that gross: the inverse gives the smallest price.
    cheaper = f"{Decimal(from_gross['amount_excl_vat']) - Decimal('0.01'):.2f}"
    r = await post(
        stack, {"amount_excl_vat": cheaper, "expenses": "150.00", "contract_type": "artistic"}
    )
    assert Decimal(r.json()["gross_salary"]) < Decimal("2000.00")


async def test_vat_rate_as_integer_and_expenses_equal_to_budget(stack: Stack) -> None:
    r = await post(
        stack,
        {
            "amount_excl_vat": "100.00",
            "expenses": "93.50",
            "contract_type": "ordinary",
            "vat_rate": 0,
        },
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert (answer["vat"], answer["gross_salary"], answer["net_salary"]) == ("0.00", "0.00", "0.00")


async def test_requires_login(stack: Stack) -> None:
    r = await stack.http.post(URL, json={"amount_excl_vat": "1000.00", "contract_type": "ordinary"})
    assert_refused(r, 401, None, "not authenticated")
    r = await stack.http.post(
        URL,
        json={"amount_excl_vat": "1000.00", "contract_type": "ordinary"},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert r.status_code == 401


async def test_staff_may_estimate_too(stack: Stack) -> None:
    r = await stack.http.post(
        URL,
        json={"gross_salary": "657.26", "contract_type": "ordinary"},
        headers=await stack.advisor(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["amount_excl_vat"] == "1000.00"


ORDINARY = {"contract_type": "ordinary"}
BAD = [
    pytest.param({"amount_excl_vat": "-5.00"}, "amount_excl_vat", ["negative"], id="negative"),
    pytest.param({"amount_excl_vat": "0.00"}, "amount_excl_vat", ["greater than 0"], id="zero"),
    pytest.param({"amount_excl_vat": "0.001"}, "amount_excl_vat", ["2 decimals"], id="sub-cent"),
    pytest.param({"amount_excl_vat": "1e3"}, "amount_excl_vat", ["exponent"], id="exponent"),
    pytest.param({"amount_excl_vat": 1000}, "amount_excl_vat", ["string"], id="json-int"),
    pytest.param({"amount_excl_vat": 12.5}, "amount_excl_vat", ["string"], id="json-float"),
    pytest.param({"amount_excl_vat": "NaN"}, "amount_excl_vat", ["finite"], id="nan"),
    pytest.param(
        {"amount_excl_vat": "1000000.01"}, "amount_excl_vat", ["exceed"], id="absurd-price"
    ),
    pytest.param({"gross_salary": "-1.00"}, "gross_salary", ["negative"], id="gross-negative"),
    pytest.param({"gross_salary": "0"}, "gross_salary", ["greater than 0"], id="gross-zero"),
    pytest.param({"gross_salary": "999999.00"}, "gross_salary", ["maximum"], id="gross-absurd"),
    pytest.param(
        {"amount_excl_vat": "100.00", "gross_salary": "50.00"},
        "gross_salary",
        ["not both"],
        id="both-amounts",
    ),
    pytest.param({}, "amount_excl_vat", ["required", "gross_salary"], id="neither-amount"),
    pytest.param(
        {"amount_excl_vat": "100.00", "expenses": "93.51"},
        "expenses",
        ["exceed what the price leaves after the fee"],
        id="expenses-too-high",
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "expenses": "-1.00"}, "expenses", ["negative"], id="exp-neg"
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "expenses": 5}, "expenses", ["string"], id="exp-number"
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "contract_type": "freelance"},
        "contract_type",
        ["unknown contract type"],
        id="unknown-contract-type",
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "contract_type": None},
        "contract_type",
        [],
        id="null-contract-type",
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "vat_rate": "7"},
        "vat_rate",
        ["not an allowed vat rate"],
        id="unknown-vat-rate",
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "vat_rate": "0.21"}, "vat_rate", ["percentage"], id="vat-0.21"
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "end_date": "2027-02-30"},
        "end_date",
        ["not a day"],
        id="end-date-impossible",
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "end_date": "2099-01-01"},
        "end_date",
        ["ahead"],
        id="end-date-far",
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "net_salary": "50.00"}, "net_salary", ["extra"], id="extra"
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "days_worked": 0}, "days_worked", ["at least 1"], id="days-0"
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "days_worked": 32}, "days_worked", ["exceed"], id="days-32"
    ),
    pytest.param(
        {"amount_excl_vat": "100.00", "days_worked": "3"}, "days_worked", [], id="days-string"
    ),
]


@pytest.mark.parametrize(("override", "field", "reason"), BAD)
async def test_bad_input_refused(
    stack: Stack, override: dict[str, Any], field: str, reason: list[str]
) -> None:
    r = await post(stack, {**ORDINARY, **override})
    assert_refused(r, 422, field, *reason)


async def test_missing_contract_type_refused(stack: Stack) -> None:
    r = await post(stack, {"amount_excl_vat": "100.00"})
    assert_refused(r, 422, "contract_type", "required")


async def test_signature_stores_the_same_estimate(stack: Stack) -> None:
    """The estimate a mission keeps at signature is the simulator's answer for its price."""
    member, headers = await stack.new_member(iban="BE71096123456769")
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(headers, member["id"], client["id"], amount="1234.56")
    r = await stack.http.post(f"/api/missions/{mission['id']}/sign", headers=headers)
    assert r.status_code == 200, r.text
    stored = (await stack.wait_mission(mission["id"], lambda m: m["estimate"] is not None))[
        "estimate"
    ]
    r = await post(
        stack,
        {
            "amount_excl_vat": "1234.56",
            "contract_type": "ordinary",
            "vat_rate": "21",
            "end_date": mission["end_date"],
            # the contract's working days: the work bonus is prorated on them
            "days_worked": weekdays_between(
                date.fromisoformat(mission["start_date"]), date.fromisoformat(mission["end_date"])
            ),
        },
    )
    assert r.status_code == 200, r.text
    assert stored == r.json()
    assert stored["pay_date"] == mission["pay_date"]
    assert_consistent(stored)


async def test_an_artist_sees_the_withholding_rate_they_chose(stack: Stack) -> None:
    """The simulator answers a member with their own choice of rate on an artistic contract
    (what the signature and the payout will use); an ordinary contract keeps the key formula."""
    member, headers = await stack.new_member()
    body = {"amount_excl_vat": "3000.00", "contract_type": "artistic", "vat_rate": "21"}
    r = await stack.http.post(URL, json=body, headers=headers)
    assert r.status_code == 200, r.text
    flat = r.json()
    r = await stack.http.put(
        f"/api/members/{member['id']}/artistic-withholding-rate",
        json={"rate": "30"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    r = await stack.http.post(URL, json=body, headers=headers)
    assert r.status_code == 200, r.text
    chosen = r.json()
    assert chosen["gross_salary"] == flat["gross_salary"]
    taxable = Decimal(chosen["taxable_pay"])
    assert Decimal(flat["withholding_tax"]) == (taxable * Decimal("0.1111")).quantize(
        Decimal("0.01")
    )
    assert Decimal(chosen["withholding_tax"]) == (taxable * Decimal("0.30")).quantize(
        Decimal("0.01")
    )
    ordinary = {**body, "contract_type": "ordinary"}
    r1 = await stack.http.post(URL, json=ordinary, headers=headers)
    assert (
        r1.status_code == 200
        and r1.json()["withholding_tax"] == (await post(stack, ordinary)).json()["withholding_tax"]
    )
