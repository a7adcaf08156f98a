"""FR / NL / EN: every string of the pages is in the catalogues, translated with the same
placeholders, and money and dates are written the local way."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.conftest import ROOT
from web.i18n import Formatter

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _catalogue(path: Path) -> dict[str, str]:
    with path.open("rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


# The member portal's files (the consoles have their own pages and check them likewise).
PORTAL = """
[python: web/auth.py]
[python: web/render.py]
[python: web/member.py]
[python: web/narrative.py]
[python: web/messages.py]
[jinja2: templates/web/*.html]
"""


def test_every_string_of_the_pages_is_translated(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"
    cfg = tmp_path / "babel.cfg"
    cfg.write_text(PORTAL)
    subprocess.run(
        [
            str(Path(sys.executable).parent / "pybabel"),
            "-q",
            "extract",
            "-F",
            str(cfg),
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    wanted = set(_catalogue(pot))
    assert len(wanted) > 150
    for language in ("fr", "nl"):
        po = _catalogue(ROOT / "locale" / language / "LC_MESSAGES" / "messages.po")
        missing = sorted(m for m in wanted if not po.get(m))
        assert missing == [], f"{language}: untranslated {missing[:5]} (run pybabel update)"
        for message in wanted:
            assert set(PLACEHOLDER.findall(po[message])) == set(PLACEHOLDER.findall(message)), (
                language,
                message,
            )


@pytest.mark.parametrize(
    ("language", "money", "day"),
    [
        ("fr", "1\u202f234,56\xa0€", "mer. 9 déc. 2026"),
        ("nl", "€\xa01.234,56", "wo 9 dec 2026"),
        ("en", "€1,234.56", "Wed 9 Dec 2026"),
    ],
)
def test_money_and_dates_in_the_local_way(language: str, money: str, day: str) -> None:
    t = Formatter(language)
    assert t.money(Decimal("1234.555")) == money  # rounded half up: .555 -> .56
    assert t.date(date(2026, 12, 9), "weekday").replace(".", "") == day.replace(".", "")
    assert t.gettext("My missions") == {"fr": "Mes missions", "nl": "Mijn opdrachten"}.get(
        language, "My missions"
    )


def test_a_missing_rate_reason_is_shown_in_the_page_language() -> None:
    """A flagged step's reason and a staff task's title carry values (a date): the pages
    translate them whole (web/messages.py), and leave any other text as it is."""
    from web.messages import known_message

    reason = (
        "ParameterMissing: The B2B legal interest rate (law of 2 August 2002) for the half-year "
        "from 2028-01-01 is missing: enter it on the ops console's Rates page (or POST "
        "/api/ops/rates), then retry the step."
    )
    fr = known_message(Formatter("fr").gettext, reason)
    assert fr.startswith("Le taux d'intérêt légal B2B (loi du 2 août 2002) du semestre")
    assert "2028-01-01" in fr and "page Taux" in fr
    nl = known_message(Formatter("nl").gettext, reason)
    assert "halfjaar vanaf 2028-01-01 ontbreekt" in nl
    title = "Enter the legal interest rate (law of 5 May 1865) for the year from 2028-01-01"
    assert known_message(Formatter("fr").gettext, title).endswith("commençant le 2028-01-01")
    other = "GatewayUnavailable: declaration gateway unavailable (simulated failure, rate 100%)"
    assert known_message(Formatter("fr").gettext, other) == other
