"""The credit-note split (domain/invoice.py): any sequence of credit notes adds up, to the cent,
to the exact reverse of the invoice's issue posting."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import FieldError
from domain.invoice import budget_floor, credit_split, member_budget
from domain.money import to_cents

FEE_RATE = Decimal("0.065")
FUND_SHARE = Decimal("0.30")
CENT = Decimal("0.01")


def _issue(excl: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """The invoice_issued posting's fee income, fund contribution and member budget."""
    fee = to_cents(excl * FEE_RATE)
    fund = to_cents(fee * FUND_SHARE)
    return fee - fund, fund, excl - fee


@settings(max_examples=300, deadline=None)
@given(
    excl_cents=st.integers(min_value=1, max_value=10_000_000),
    rate=st.sampled_from([Decimal(0), Decimal(6), Decimal(12), Decimal(21)]),
    cuts=st.lists(st.integers(min_value=1, max_value=10_000), min_size=0, max_size=6),
    expenses_cents=st.integers(min_value=0, max_value=500_000),
    paid_after=st.integers(min_value=0, max_value=7),
)
def test_credit_notes_add_up_to_the_reverse_of_the_issue(
    excl_cents: int, rate: Decimal, cuts: list[int], expenses_cents: int, paid_after: int
) -> None:
    excl = Decimal(excl_cents) / 100
    expenses = min(Decimal(expenses_cents) / 100, member_budget(excl, FEE_RATE))
    vat = to_cents(excl * rate / 100)
    incl = excl + vat
    credited = Decimal("0.00")
    base = excl
    totals = dict.fromkeys(("vat", "excl", "fee", "fund", "member", "fund_bears"), Decimal(0))
    amounts = [min(Decimal(c) / 100, incl) for c in cuts]
    for index, amount in enumerate([*amounts, incl]):
        amount = min(amount, incl - credited)
        if amount <= 0:
            continue
        salary_paid = index >= paid_after
        split = credit_split(
            invoice_excl_vat=excl,
            invoice_vat=vat,
            invoice_incl_vat=incl,
            credited_before=credited,
            amount_incl_vat=amount,
            fee_rate=FEE_RATE,
            fund_share_of_fee=FUND_SHARE,
            salary_base_before=base,
            salary_floor=base if salary_paid else budget_floor(expenses, FEE_RATE),
        )
        parts = (split.fee_income, split.fund_contribution, split.member_share, split.fund_share)
        assert split.vat_amount + split.amount_excl_vat == amount
        assert sum(parts) == split.amount_excl_vat
        assert all(part >= 0 for part in (split.vat_amount, *parts))
        assert split.salary_base_after <= base
        # The salary left still reimburses the expenses: the member never pays anything back.
        if not salary_paid and split.salary_base_after < base:
            assert member_budget(split.salary_base_after, FEE_RATE) >= expenses
        credited += amount
        base = split.salary_base_after
        for key, value in zip(
            totals, (split.vat_amount, split.amount_excl_vat, *parts), strict=True
        ):
            totals[key] += value
    fee, fund, member = _issue(excl)
    assert credited == incl
    assert (totals["vat"], totals["excl"], totals["fee"], totals["fund"]) == (vat, excl, fee, fund)
    assert totals["member"] + totals["fund_bears"] == member
    # What the member's salary budget gave back is what the salary is no longer paid on.
    assert totals["member"] == member - member_budget(base, FEE_RATE)


def test_budget_floor_is_the_smallest_price_covering_the_expenses() -> None:
    for cents in (1, 99, 100, 12_345, 93_500):
        expenses = Decimal(cents) / 100
        floor = budget_floor(expenses, FEE_RATE)
        assert member_budget(floor, FEE_RATE) >= expenses
        assert member_budget(floor - CENT, FEE_RATE) < expenses
    assert budget_floor(Decimal("0.00"), FEE_RATE) == 0


def test_a_credit_above_what_is_left_is_refused() -> None:
    with pytest.raises(FieldError) as err:
        credit_split(
            invoice_excl_vat=Decimal("100.00"),
            invoice_vat=Decimal("21.00"),
            invoice_incl_vat=Decimal("121.00"),
            credited_before=Decimal("21.00"),
            amount_incl_vat=Decimal("100.01"),
            fee_rate=FEE_RATE,
            fund_share_of_fee=FUND_SHARE,
            salary_base_before=Decimal("100.00"),
            salary_floor=Decimal("0.00"),
        )
    assert err.value.field == "amount_incl_vat"
