"""Email templates exist in French, Dutch and English with the same context, and print hostile
names literally (no database: the context is what activities.mission.send_email passes)."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
from jinja2 import meta

from core.templating import environment
from services.mail import render_email

ROOT = Path(__file__).resolve().parents[2]
EMAILS = ROOT / "templates" / "emails"
TEMPLATES = sorted({p.name.split(".")[0] for p in EMAILS.glob("*.en.txt")})
LANGUAGES = ("fr", "nl", "en")
HOSTILE = ("<script>alert(1)</script>", "{{7*7}}")


def context(name: str = "Atelier Lumière SRL") -> dict[str, object]:
    mission = SimpleNamespace(
        title=f"Catalogue {name}",
        end_date=date(2026, 3, 6),
        pay_date=date(2026, 3, 17),
    )
    invoice = SimpleNamespace(
        number="F2026-000042",
        issue_date=date(2026, 3, 9),
        due_date=date(2026, 4, 8),
        balance=Decimal("1210.00"),
        structured_communication="+++202/6000/04236+++",
        total_excl_vat=Decimal("1000.00"),
        vat_rate=Decimal("21.00"),
        vat_amount=Decimal("210.00"),
        total_incl_vat=Decimal("1210.00"),
    )
    return {
        "mission": mission,
        "client": SimpleNamespace(name=name),
        "member": SimpleNamespace(name=name),
        "invoice": invoice,
        "business_date": date(2026, 4, 15),
        # The IBAN change notice's own context (services.people): the old and the new account.
        "old_iban": "BE71096123456769",
        "new_iban": "BE62510007547061",
        "change": SimpleNamespace(id=7),
    }


def variables(template: str, language: str) -> set[str]:
    env = environment()
    assert env.loader is not None
    source = env.loader.get_source(env, f"emails/{template}.{language}.txt")[0]
    return set(meta.find_undeclared_variables(env.parse(source)))


def test_every_template_is_translated() -> None:
    assert "invoice" in TEMPLATES and "dunning_formal_notice" in TEMPLATES
    for template in TEMPLATES:
        for language in LANGUAGES:
            assert (EMAILS / f"{template}.{language}.txt").exists(), (template, language)
            assert variables(template, language) == variables(template, "en"), (template, language)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_renders_in_its_language(template: str, language: str) -> None:
    email = render_email(template, language, context())
    assert email.language == language
    assert email.subject and "\n" not in email.subject
    if template.startswith(("invoice", "dunning")):
        assert "F2026-000042" in email.subject + email.body
    if template == "iban_change_notice":
        assert "BE71096123456769" in email.body and "BE62510007547061" in email.body
    if template == "dunning_formal_notice":
        word = {"fr": "mise en demeure", "nl": "in gebreke", "en": "formal notice"}[language]
        assert word in (email.subject + email.body).lower()


@pytest.mark.parametrize("hostile", HOSTILE)
@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("template", TEMPLATES)
def test_hostile_names_render_literally(template: str, language: str, hostile: str) -> None:
    email = render_email(template, language, context(hostile))
    text = email.subject + "\n" + email.body
    assert hostile in text
    assert not re.search(r"\b49\b", text)


@pytest.mark.parametrize("language", LANGUAGES)
def test_money_and_dates_are_written_for_the_reader(language: str) -> None:
    """Amounts and dates in the reader's locale (babel), never "1210.00 EUR" or an ISO date."""
    from babel.dates import format_date
    from babel.numbers import format_currency

    locale = {"fr": "fr_BE", "nl": "nl_BE", "en": "en"}[language]
    invoice = render_email("invoice", language, context())
    assert format_currency(Decimal("1210.00"), "EUR", locale=locale) in invoice.body
    assert format_date(date(2026, 4, 8), "long", locale=locale) in invoice.body
    reminder = render_email("dunning_reminder_1", language, context())
    assert format_currency(Decimal("1210.00"), "EUR", locale=locale) in reminder.body
    for body in (invoice.body, reminder.body):
        assert "2026-04-08" not in body and "1210.00 EUR" not in body
