"""POST /api/estimates: the members' simulator, both directions, and every bad input refused.

No mission or workflow is involved; the `stack` fixture only gives the real API on the test DB.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from domain.calendar import salary_transfer_date
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
    "gross_salary",
    "employee_contributions",
    "withholding_tax",
    "net_salary",
    "expenses",
)
SPLIT = (
    "fee",
    "expenses",
    "employer_contributions",
    "employee_contributions",
    "withholding_tax",
    "net_salary",
)

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
    total = sum((Decimal(answer[k]) for k in SPLIT), Decimal(0))
    assert total == Decimal(answer["amount_excl_vat"])
    assert Decimal(answer["amount_excl_vat"]) + Decimal(answer["vat"]) == Decimal(
        answer["amount_incl_vat"]
    )


def rules_by_key(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    rules = answer["rules"]
    assert all(set(r) == {"key", "valid_from", "value", "description"} for r in rules), rules
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
        "employer_contributions": "187.00",
        "gross_salary": "748.00",
        "employee_contributions": "97.76",
        "withholding_tax": "87.56",
        "net_salary": "562.68",
        "expenses": "0.00",
    }
    assert answer["contract_type"] == "ordinary"
    today = await stack.today()
    assert answer["pay_date"] == salary_transfer_date(today, 7).isoformat()
    rules = rules_by_key(answer)
    assert set(rules) == {
        "payroll.fee_rate",
        "payroll.fund_share_of_fee",
        "payroll.employer_contribution_rate",
        "payroll.employee_contribution_rate",
        "payroll.withholding_scale",
        "vat.rates",
        "policy.lifecycle.advance_working_days",
    }
    assert rules["payroll.fee_rate"] == {
        "key": "payroll.fee_rate",
        "valid_from": "2026-01-01",
        "value": "0.065",
        "description": rules["payroll.fee_rate"]["description"],
    }
    scale = rules["payroll.withholding_scale"]
    assert "simplified scale, not the official précompte tables" in scale["description"]
    assert scale["value"][-1] == {"up_to": None, "rate": "0.50"}
    assert rules["vat.rates"]["value"] == "21"
    assert rules["policy.lifecycle.advance_working_days"]["value"] == 7


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
        json={"gross_salary": "748.00", "contract_type": "ordinary"},
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
        },
    )
    assert r.status_code == 200, r.text
    assert stored == r.json()
    assert stored["pay_date"] == mission["pay_date"]
    assert_consistent(stored)
