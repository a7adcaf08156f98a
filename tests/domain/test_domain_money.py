"""Strict money / VAT rate / count parsing (reliability.md "Bad inputs": money and rates)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from domain.errors import FieldError
from domain.money import CENT, parse_money, parse_positive_int, parse_vat_rate, to_cents

RATES = [Decimal("0"), Decimal("6"), Decimal("12"), Decimal("21")]


def test_field_error_shape() -> None:
    err = FieldError("amount", "must be greater than 0")
    assert isinstance(err, ValueError)
    assert err.field == "amount"
    assert err.message == "must be greater than 0"
    assert str(err) == "amount: must be greater than 0"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (Decimal("0.005"), Decimal("0.01")),
        (Decimal("0.0049"), Decimal("0.00")),
        (Decimal("2.675"), Decimal("2.68")),
        (Decimal("-2.675"), Decimal("-2.68")),
        (Decimal("202.1397"), Decimal("202.14")),
        (Decimal("10"), Decimal("10.00")),
    ],
)
def test_to_cents_rounds_half_up(raw: Decimal, expected: Decimal) -> None:
    result = to_cents(raw)
    assert result == expected
    assert result.as_tuple().exponent == -2
    assert CENT == Decimal("0.01")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234.50", Decimal("1234.50")),
        ("1234.5", Decimal("1234.50")),
        ("1234", Decimal("1234.00")),
        ("0.01", Decimal("0.01")),
        ("007.10", Decimal("7.10")),
        ("1000000.00", Decimal("1000000.00")),
        ("1000000", Decimal("1000000.00")),
    ],
)
def test_parse_money_accepts_decimal_strings(raw: str, expected: Decimal) -> None:
    result = parse_money(raw, field="amount")
    assert result == expected
    assert result.as_tuple().exponent == -2


def test_parse_money_zero_only_when_allowed() -> None:
    assert parse_money("0", field="amount", allow_zero=True) == Decimal("0.00")
    assert parse_money("0.00", field="amount", allow_zero=True) == Decimal("0.00")
    with pytest.raises(FieldError, match="greater than 0"):
        parse_money("0", field="amount")
    with pytest.raises(FieldError, match="greater than 0"):
        parse_money("0.00", field="amount")


def test_parse_money_custom_maximum() -> None:
    assert parse_money("50.00", field="amount", maximum=Decimal("50")) == Decimal("50.00")
    with pytest.raises(FieldError, match=r"must not exceed 50\.00"):
        parse_money("50.01", field="amount", maximum=Decimal("50"))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("", "is required"),
        (None, "is required"),
        ("0", "greater than 0"),
        ("-1", "negative"),
        ("-0.50", "negative"),
        ("+1", "sign"),
        ("0.001", "at most 2 decimals"),
        ("12.345", "at most 2 decimals"),
        ("1E-5", "exponent"),
        ("1e999", "exponent"),
        ("1e3", "exponent"),
        ("NaN", "finite"),
        ("nan", "finite"),
        ("sNaN", "finite"),
        ("Infinity", "finite"),
        ("-Infinity", "finite"),
        ("inf", "finite"),
        ("1_000", "'_'"),
        ("1 000,00", "spaces"),
        (" 12.50", "spaces"),
        ("12.50 ", "spaces"),
        ("1000,00", "decimal separator"),
        ("1,000.00", "decimal separator"),
        ("12.50€", "ASCII"),
        ("€12.50", "ASCII"),
        ("$12.50", "not a valid amount"),
        ("١٢٣", "ASCII"),  # Arabic-Indic digits
        ("１２３", "ASCII"),  # full-width digits
        ("12\u200b3", "ASCII"),  # zero-width space
        ("12.", "not a valid amount"),
        (".50", "not a valid amount"),
        ("1.2.3", "not a valid amount"),
        ("0x10", "not a valid amount"),
        ("abc", "not a valid amount"),
        ("1000000.01", "must not exceed 1000000.00"),
        ("99999999", "must not exceed 1000000.00"),
        ("1" * 40, "too long"),
        (12.5, 'decimal strings like "1234.50"'),
        (12, 'decimal strings like "1234.50"'),
        (True, 'decimal strings like "1234.50"'),
        (Decimal("12.50"), 'decimal strings like "1234.50"'),
        (["12.50"], 'decimal strings like "1234.50"'),
    ],
)
def test_parse_money_refusals(raw: object, reason: str) -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_money(raw, field="amount")
    assert excinfo.value.field == "amount"
    assert reason in excinfo.value.message


def test_parse_money_float_message_names_the_contract() -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_money(12.5, field="unit_price")
    assert (
        str(excinfo.value) == 'unit_price: amounts are decimal strings like "1234.50", not a float'
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("21", Decimal("21.00")),
        ("21.00", Decimal("21.00")),
        ("21.0", Decimal("21.00")),
        ("6", Decimal("6.00")),
        ("12", Decimal("12.00")),
        ("0", Decimal("0.00")),
        (21, Decimal("21.00")),
        (0, Decimal("0.00")),
    ],
)
def test_parse_vat_rate_accepts_percentages(raw: object, expected: Decimal) -> None:
    assert parse_vat_rate(raw, field="vat_rate", allowed=RATES) == expected


def test_parse_vat_rate_accepts_generator_of_allowed() -> None:
    assert parse_vat_rate("6", field="vat_rate", allowed=iter(RATES)) == Decimal("6")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("21%", "without the '%' sign"),
        ("0.21", "0.21 is not an allowed VAT rate; give the percentage, e.g. 21"),
        ("0.06", "0.06 is not an allowed VAT rate; give the percentage, e.g. 6"),
        ("-1", "must not be negative"),
        (-1, "must not be negative"),
        ("100.01", "between 0 and 100"),
        (101, "between 0 and 100"),
        ("19", "19 is not an allowed VAT rate (allowed: 0, 6, 12, 21)"),
        ("5.5", "5.5 is not an allowed VAT rate (allowed: 0, 6, 12, 21)"),
        ("21.001", "at most 2 decimals"),
        ("2e1", "exponent"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("２１", "ASCII"),
        ("", "is required"),
        (None, "is required"),
        (21.0, "not a float"),
        (0.21, "not a float"),
        (True, "not a boolean"),
        (Decimal("21"), "VAT rates are percentages"),
    ],
)
def test_parse_vat_rate_refusals(raw: object, reason: str) -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_vat_rate(raw, field="vat_rate", allowed=RATES)
    assert excinfo.value.field == "vat_rate"
    assert reason in excinfo.value.message


def test_parse_vat_rate_accepts_0_21_only_if_explicitly_allowed() -> None:
    allowed = [Decimal("0.21")]
    assert parse_vat_rate("0.21", field="vat_rate", allowed=allowed) == Decimal("0.21")


@pytest.mark.parametrize("raw", [1, 5, 10])
def test_parse_positive_int_accepts(raw: int) -> None:
    assert parse_positive_int(raw, field="days", maximum=10) == raw


def test_parse_positive_int_custom_minimum() -> None:
    assert parse_positive_int(0, field="offset", minimum=0, maximum=10) == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (0, "at least 1"),
        (-1, "at least 1"),
        (11, "must not exceed 10"),
        (2**63, "must not exceed 10"),
        (True, "not a boolean"),
        (False, "not a boolean"),
        (1.0, "not a float"),
        ("1", "must be an integer"),
        (None, "is required"),
    ],
)
def test_parse_positive_int_refusals(raw: object, reason: str) -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_positive_int(raw, field="days", maximum=10)
    assert excinfo.value.field == "days"
    assert reason in excinfo.value.message
