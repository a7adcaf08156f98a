"""What every printed document shares: locales, babel formatting, identifiers' layout, HTML → PDF.

Money is rounded half up to the cent before babel formats it (babel itself rounds half-even).
"""

from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from core.settings import ROOT

LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en"}
LANGUAGES: tuple[str, ...] = tuple(LOCALES)
CENT = Decimal("0.01")
TEMPLATES_DIR = ROOT / "templates" / "documents"


def locale_of(language: str) -> str:
    """The babel locale of a document language; refuses a language we have no texts for."""
    if language not in LOCALES:
        raise ValueError(f"unsupported language {language!r}")
    return LOCALES[language]


def format_money(value: Decimal, locale: str) -> str:
    return format_currency(
        Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP), "EUR", locale=locale
    )


def format_percent(value: Decimal, locale: str) -> str:
    """A rate in percent (21 → "21 %", 10.5 → "10,5 %" in fr_BE); a no-break space keeps the
    sign on the number's line."""
    return format_decimal(Decimal(value).normalize(), format="#,##0.##", locale=locale) + "\u00a0%"


def format_day(value: date, locale: str) -> str:
    return format_date(value, "long", locale=locale)


def format_vat_number(vat: str | None) -> str:
    """BE0123456749 → BE0123.456.749 (the usual Belgian layout); other countries unchanged."""
    if not vat:
        return ""
    compact = vat.replace(" ", "").replace(".", "").upper()
    if compact.startswith("BE") and len(compact) == 12 and compact[2:].isdigit():
        return f"BE{compact[2:6]}.{compact[6:9]}.{compact[9:]}"
    return compact


def format_enterprise_number(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit())
    if len(digits) == 10:
        return f"{digits[:4]}.{digits[4:7]}.{digits[7:]}"
    return number


def format_iban(iban: str) -> str:
    compact = iban.replace(" ", "").upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def format_national_number(niss: str) -> str:
    """85010100133 → 85.01.01-001.33 (the layout printed on Belgian social documents)."""
    digits = "".join(c for c in niss if c.isdigit())
    if len(digits) == 11:
        return f"{digits[:2]}.{digits[2:4]}.{digits[4:6]}-{digits[6:9]}.{digits[9:]}"
    return niss


def safe_filename_part(text: str) -> str:
    """Keep ASCII letters, digits, dots and dashes: file names travel in HTTP headers."""
    cleaned = re.sub(r"[^A-Za-z0-9.-]+", "-", text).strip("-.")
    return cleaned or "document"


def html_to_pdf(html: str) -> bytes:
    """Render a document's HTML to PDF bytes with WeasyPrint (A4 and page boxes come from CSS)."""
    from weasyprint import HTML  # heavy import, only when a PDF is made

    pdf = HTML(string=html, base_url=str(TEMPLATES_DIR)).write_pdf()
    assert pdf is not None
    return bytes(pdf)
