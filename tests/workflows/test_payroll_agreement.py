"""One salary, told five times: the estimate API, the estimate signed (the portal shows it), the
contract PDF, the payslip and the ledger agree to the cent, for an ordinary and an artistic
mission (issue 12, "Done when"). End to end on the time-skipping server."""

from __future__ import annotations

import subprocess
from datetime import date
from decimal import Decimal

import pytest

from domain.payroll import weekdays_between
from tests.conftest import Stack
from tests.workflows.conftest import new_run, skip_to

# The figures every telling must give alike.
SAME = ("gross_salary", "employer_contributions", "employee_contributions", "withholding_tax")


def _pdf_text(pdf: bytes) -> str:
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True)
    assert out.returncode == 0, out.stderr
    return out.stdout.decode()


def _amounts(lines: list[dict[str, str]]) -> dict[str, str]:
    return {line["code"]: line["amount"] for line in lines}


@pytest.mark.parametrize("contract_type", ["ordinary", "artistic"])
async def test_estimate_contract_payslip_and_ledger_agree(stack: Stack, contract_type: str) -> None:
    run = await new_run(stack, amount="2400.00", contract_type=contract_type, length=3)
    headers = run.member_headers
    await run.sign()
    await run.confirm()
    m = await run.wait(lambda m: m["estimate"] is not None and m["stage"] == "in_progress")
    assert m["contract_type"] == contract_type
    signed = m["estimate"]
    start, end = date.fromisoformat(m["start_date"]), date.fromisoformat(m["end_date"])
    days = weekdays_between(start, end)

    # 1. The simulator, asked the same question, gives the same answer as the one signed.
    r = await stack.http.post(
        "/api/estimates",
        json={
            "amount_excl_vat": "2400.00",
            "contract_type": contract_type,
            "vat_rate": "21",
            "end_date": m["end_date"],
            "days_worked": days,
        },
        headers=run.member_headers,
    )
    assert r.status_code == 200, r.text
    simulated = r.json()
    assert _amounts(simulated["lines"]) == _amounts(signed["lines"])
    assert all(simulated[k] == signed[k] for k in SAME)
    if contract_type == "ordinary":
        assert (
            Decimal(signed["exit_holiday_pay"]) > 0 and Decimal(signed["holiday_contribution"]) == 0
        )
    else:
        assert (
            Decimal(signed["holiday_contribution"]) > 0 and Decimal(signed["exit_holiday_pay"]) == 0
        )

    # 2. The contract the member signs states that gross and that contract type.
    r = await stack.http.get(
        f"/api/missions/{run.mission_id}/documents", headers=run.member_headers
    )
    assert r.status_code == 200, r.text
    contract = next(d for d in r.json() if d["kind"] == "contract")
    r = await stack.http.get(f"/api/documents/{contract['id']}", headers=run.member_headers)
    assert r.status_code == 200
    text = _pdf_text(r.content)
    gross = Decimal(signed["gross_salary"])
    assert f"{gross:,.2f}" in text, (gross, text[:2000])
    assert ("1bis" in text) == (contract_type == "artistic")

    # 3. The work is done and reported; payday comes.
    await skip_to(stack, end)
    await run.wait(lambda m: m["stage"] == "work_report")
    await run.report(days)
    m = await run.wait(lambda m: m["invoice"] is not None)
    await skip_to(stack, date.fromisoformat(m["pay_date"]))
    m = await run.wait(lambda m: m["advance"] is not None)
    assert m["advance"]["paid_on"] == m["pay_date"]

    # 4. The payslip: the signed figures, line by line, nothing to explain.
    r = await stack.http.get(f"/api/missions/{run.mission_id}/payslips", headers=headers)
    assert r.status_code == 200, r.text
    [slip] = r.json()
    assert slip["contract_type"] == contract_type
    final = _amounts(slip["lines"])
    assert final["gross_salary"] == signed["gross_salary"]
    assert {k: final.get(k) for k in _amounts(signed["lines"])} == _amounts(signed["lines"])
    assert Decimal(m["advance"]["net_amount"]) == Decimal(final["net_salary"])

    # 5. The ledger: the member's bank transfer is the payslip's net paid, the payables its
    # contributions and tax, and the transaction balances.
    r = await stack.http.get(f"/api/missions/{run.mission_id}/ledger", headers=await stack.ops())
    assert r.status_code == 200, r.text
    [salary] = [t for t in r.json() if t["kind"] == "salary_paid"]
    entries: dict[str, Decimal] = {}
    for e in salary["entries"]:
        entries[e["account"]] = entries.get(e["account"], Decimal(0)) + Decimal(e["amount"])
    assert sum(entries.values()) == 0
    assert -entries["bank"] == Decimal(final["net_paid"])
    assert -entries["withholding_tax_payable"] == Decimal(final["withholding_tax"])
    holiday = entries.get("holiday_contributions_payable", Decimal(0))
    assert -holiday == Decimal(final.get("holiday_contribution", "0.00"))
