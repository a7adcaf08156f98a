"""The one Jinja2 environment: HTML autoescaped, text templates rendered as plain text.

Money, rates and dates go through filters that format them for the template's language
(`lang` in the context: fr → fr_BE, nl → nl_BE, en), the same way the PDFs do:
`{{ invoice.balance | money }}`, `{{ invoice.vat_rate | percent }}`, `{{ invoice.due_date | day }}`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from core.settings import ROOT


def _locale(context: Any) -> str:
    from documents.common import LOCALES

    return LOCALES.get(str(context.get("lang", "en")), "en")


@pass_context
def _money(context: Any, value: Decimal | str) -> str:
    from documents.common import format_money

    return format_money(Decimal(value), _locale(context))


@pass_context
def _percent(context: Any, value: Decimal | str) -> str:
    from documents.common import format_percent

    return format_percent(Decimal(value), _locale(context))


@pass_context
def _day(context: Any, value: date | str) -> str:
    from documents.common import format_day

    return format_day(
        value if isinstance(value, date) else date.fromisoformat(value), _locale(context)
    )


@lru_cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(ROOT / "templates"),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(money=_money, percent=_percent, day=_day)
    return env
