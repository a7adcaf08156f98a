"""Payslip wording outside the PDF: the portal shows the same labels and explanations.

`explain(reason, language)` words one documents.payslip.Reason with its values formatted for the
language (money, percent, dates), exactly as the payslip PDF prints it.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from documents.common import format_day, format_money, format_percent, locale_of
from documents.payslip import Reason
from documents.texts import TEXTS


def format_value(value: Any, language: str) -> str:
    locale = locale_of(language)
    if isinstance(value, tuple) and len(value) == 2 and value[0] == "percent":
        return format_percent(Decimal(value[1]) * 100, locale)
    if isinstance(value, Decimal):
        return format_money(value, locale)
    if isinstance(value, date):
        return format_day(value, locale)
    return str(value)


def explain(reason: Reason, language: str) -> str:
    """One reason why a payslip line differs from the estimate, in `language`."""
    values = {name: format_value(value, language) for name, value in reason.values}
    return TEXTS[language][reason.key].format(**values)


def signed_money(value: Decimal, language: str) -> str:
    text = format_money(abs(value), locale_of(language))
    return f"+ {text}" if value > 0 else (f"− {text}" if value < 0 else text)


def line_label(code: str, language: str) -> str:
    return TEXTS[language][f"line_{code}"]
