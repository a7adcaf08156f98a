"""Money, VAT rates and counts: strict parsers and the project's single rounding rule.

Amounts travel as JSON *strings* ("1234.50") and live as `Decimal` quantized to cents.
Every refusal raises `FieldError` with the offending field and a specific reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from domain.errors import FieldError

__all__ = [
    "CENT",
    "MAX_AMOUNT",
    "parse_money",
    "parse_positive_int",
    "parse_vat_rate",
    "to_cents",
]

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("1000000.00")

_EXAMPLE = 'amounts are decimal strings like "1234.50"'
_MONEY_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_VAT_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_MAX_MONEY_CHARS = 32


def to_cents(value: Decimal) -> Decimal:
    """Round an amount to the cent, half up (the project's one explicit rounding rule)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    return type(value).__name__


def _check_numeric_text(text: str, *, field: str, example: str) -> None:
    """Refuse the common malformed spellings of a number with a specific reason."""
    if not text.isascii():
        raise FieldError(field, f"must use plain ASCII digits 0-9 only; {example}")
    lowered = text.lower()
    if "nan" in lowered or "inf" in lowered:
        raise FieldError(field, f"must be a finite number, not NaN or Infinity; {example}")
    if text.startswith("-"):
        raise FieldError(field, "must not be negative")
    if text.startswith("+"):
        raise FieldError(field, f"must not have a sign; {example}")
    if "e" in lowered:
        raise FieldError(field, f"exponent notation is not allowed; {example}")
    if "_" in text:
        raise FieldError(field, f"digit separators '_' are not allowed; {example}")
    if any(ch.isspace() for ch in text):
        raise FieldError(field, f"must not contain spaces; {example}")
    if "," in text:
        raise FieldError(
            field, f"use '.' as the decimal separator and no thousands separator; {example}"
        )


def parse_money(
    value: object,
    *,
    field: str,
    allow_zero: bool = False,
    maximum: Decimal = MAX_AMOUNT,
) -> Decimal:
    """Accept an amount given as a strict decimal string and return it in cents, else refuse it."""
    if value is None:
        raise FieldError(field, f"is required; {_EXAMPLE}")
    if not isinstance(value, str):
        raise FieldError(field, f"{_EXAMPLE}, not {_type_name(value)}")
    if value == "":
        raise FieldError(field, f"is required; {_EXAMPLE}")
    if len(value) > _MAX_MONEY_CHARS:
        raise FieldError(field, f"is too long; {_EXAMPLE}")
    _check_numeric_text(value, field=field, example=_EXAMPLE)
    if _MONEY_RE.fullmatch(value) is None:
        raise FieldError(field, f"is not a valid amount; {_EXAMPLE}")
    _, _, decimals = value.partition(".")
    if len(decimals) > 2:
        raise FieldError(field, "at most 2 decimals")
    amount = Decimal(value)
    if amount == 0 and not allow_zero:
        raise FieldError(field, "must be greater than 0")
    if amount > maximum:
        raise FieldError(field, f"must not exceed {to_cents(maximum)}")
    return to_cents(amount)


def _format_rate(rate: Decimal) -> str:
    """Render a rate without useless trailing zeros ("21", "5.5")."""
    text = format(rate, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_vat_rate(value: object, *, field: str, allowed: Iterable[Decimal]) -> Decimal:
    """Accept a VAT rate given in percent ("21", 21) only if it is one of the allowed rates."""
    allowed_rates = sorted(set(allowed))
    allowed_text = ", ".join(_format_rate(r) for r in allowed_rates)
    example = 'VAT rates are percentages like "21"'
    if value is None:
        raise FieldError(field, f"is required; {example}")
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise FieldError(field, f"{example}, not {_type_name(value)}")
    if isinstance(value, int):
        rate = Decimal(value)
        if rate < 0:
            raise FieldError(field, "must not be negative")
    else:
        text = value
        if text == "":
            raise FieldError(field, f"is required; {example}")
        if len(text) > 16:
            raise FieldError(field, f"is too long; {example}")
        if "%" in text:
            raise FieldError(field, "give the number without the '%' sign, e.g. 21")
        _check_numeric_text(text, field=field, example=example)
        if _VAT_RE.fullmatch(text) is None:
            raise FieldError(field, f"is not a valid rate; {example}")
        _, _, decimals = text.partition(".")
        if len(decimals) > 2:
            raise FieldError(field, "at most 2 decimals")
        rate = Decimal(text)
    if rate > 100:
        raise FieldError(field, "must be between 0 and 100")
    if not any(rate == r for r in allowed_rates):
        if 0 < rate < 1:
            raise FieldError(
                field,
                f"{_format_rate(rate)} is not an allowed VAT rate; give the percentage, "
                f"e.g. {_format_rate(rate * 100)}",
            )
        raise FieldError(
            field, f"{_format_rate(rate)} is not an allowed VAT rate (allowed: {allowed_text})"
        )
    return to_cents(rate)


def parse_positive_int(value: object, *, field: str, minimum: int = 1, maximum: int) -> int:
    """Accept a whole count (a JSON integer) within [minimum, maximum], else refuse it."""
    if value is None:
        raise FieldError(field, "is required")
    if isinstance(value, bool) or not isinstance(value, int):
        raise FieldError(field, f"must be an integer, not {_type_name(value)}")
    if value < minimum:
        raise FieldError(field, f"must be at least {minimum}")
    if value > maximum:
        raise FieldError(field, f"must not exceed {maximum}")
    return value


def require_cents(value: object, field: str) -> Decimal:
    """Refuse a non-Decimal, non-finite, negative or sub-cent amount; return it in cents.

    For amounts that already are Decimals inside the domain (parse_money reads user input).
    """
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        raise FieldError(field, "must be a finite Decimal amount")
    if value < 0:
        raise FieldError(field, "must not be negative")
    try:
        cents = to_cents(value)
    except InvalidOperation:
        raise FieldError(field, "is too large") from None
    if cents != value:
        raise FieldError(field, "at most 2 decimals")
    return cents


def money_text(value: Decimal | None) -> str | None:
    """An amount as the JSON contract writes it: a decimal string with two places ("1234.50")."""
    return None if value is None else f"{value:.2f}"
