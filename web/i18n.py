"""FR / NL / EN for the pages: gettext catalogues and locale-aware money and dates.

The catalogues are `locale/<lang>/LC_MESSAGES/messages.po`, compiled in memory on first use
(babel), so a .po edit needs no build step and no stale .mo can linger. To add strings:
`pybabel extract -F web/babel.cfg -o locale/messages.pot .` then
`pybabel update -i locale/messages.pot -d locale` and translate the new entries.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import NullTranslations, Translations

from core.settings import ROOT

LANGUAGES = ("fr", "nl", "en")
DEFAULT_LANGUAGE = "fr"
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en"}
LANGUAGE_NAMES = {"fr": "Français", "nl": "Nederlands", "en": "English"}
LOCALE_DIR = ROOT / "locale"
BRUSSELS = ZoneInfo("Europe/Brussels")


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark a string for the catalogues; it is translated where it is shown."""
    return message


@lru_cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of `language` (the English source strings for "en")."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"
    if language not in LANGUAGES or not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer)


def pick_language(*candidates: str | None) -> str:
    """The first supported language among the candidates (cookie, profile, browser)."""
    for value in candidates:
        if value and value[:2].lower() in LANGUAGES:
            return value[:2].lower()
    return DEFAULT_LANGUAGE


def accept_language(header: str | None) -> str | None:
    """The browser's preferred supported language, from an Accept-Language header."""
    if not header:
        return None
    ranked = []
    for part in header.split(",")[:20]:
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag[:2].lower() in LANGUAGES:
            ranked.append((weight, tag[:2].lower()))
    return max(ranked)[1] if ranked else None


@dataclass(frozen=True)
class Formatter:
    """Gettext and formatting for one request's language; handed to every template."""

    language: str

    @property
    def locale(self) -> str:
        return LOCALES[self.language]

    def gettext(self, message: str, **values: Any) -> str:
        text = translations(self.language).gettext(message)
        return text % values if values else text

    def ngettext(self, singular: str, plural: str, n: int, **values: Any) -> str:
        text = translations(self.language).ngettext(singular, plural, n)
        return text % {"num": n, **values}

    def money(self, value: Decimal | str | None) -> str:
        """1234.5 -> "1 234,50 €" (fr_BE) / "€ 1.234,50" (nl_BE) / "€1,234.50" (en)."""
        if value is None or value == "":
            return "—"
        amount = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        return format_currency(amount, "EUR", locale=self.locale)

    def number(self, value: Decimal | str | int) -> str:
        return format_decimal(Decimal(str(value)), locale=self.locale)

    def date(self, value: date | str | None, form: str = "medium") -> str:
        """A business date: "mar. 9 déc. 2026" (fr_BE, form "weekday") or "9 Dec 2026"."""
        if value is None or value == "":
            return "—"
        day = date.fromisoformat(value) if isinstance(value, str) else value
        if form == "weekday":
            return format_date(day, "EEE d MMM y", locale=self.locale)
        return format_date(day, form, locale=self.locale)

    def datetime(self, value: datetime | str | None) -> str:
        if value is None or value == "":
            return "—"
        moment = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(moment, "medium", tzinfo=BRUSSELS, locale=self.locale)

    def language_name(self, code: str) -> str:
        return LANGUAGE_NAMES.get(code, code)
