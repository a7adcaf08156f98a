"""Every document kind in French, Dutch and English: mentions, babel formatting, page numbers,
Book XIX content of consumer letters, a page image per document, and hostile names (no database).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal

from documents.common import LOCALES
from documents.kinds import Buyer, Person
from documents.render import KINDS, TEMPLATE_VERSIONS, filename, render_html, render_pdf
from tests.documents.samples import MEMBER, sample

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "documents"
LANGUAGES = ("fr", "nl", "en")
PAGE = {"fr": "Page", "nl": "Pagina", "en": "Page"}

MISSING = [tool for tool in ("pdftotext", "pdftoppm") if not shutil.which(tool)]
assert not MISSING, f"{MISSING} missing: run .ci/system-deps (poppler-utils)"


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return norm(out)


def norm(text: str) -> str:
    """Collapse every kind of whitespace (incl. babel's no-break and narrow no-break spaces)."""
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text)


def money(value: Any, language: str) -> str:
    return norm(format_currency(value, "EUR", locale=LOCALES[language]))


def day(value: Any, language: str) -> str:
    return norm(format_date(value, "long", locale=LOCALES[language]))


def percent(value: Any, language: str) -> str:
    return norm(format_decimal(value, format="#,##0.##", locale=LOCALES[language]) + " %")


@cache
def rendered(kind: str, language: str, regime: str = "b2b") -> tuple[bytes, str]:
    """Each PDF is made once per run and shared by the tests that read it."""
    pdf = render_pdf(kind, sample(kind, language, regime))
    return pdf, pdf_text(pdf)


def expected_strings(kind: str, language: str, data: Any) -> list[str]:
    """The amounts and dates each document must print, formatted by babel for its locale."""
    m = lambda v: money(v, language)  # noqa: E731
    d = lambda v: day(v, language)  # noqa: E731
    p = lambda v: percent(v, language)  # noqa: E731
    if kind == "order_form":
        return [
            data.reference,
            data.title,
            data.member_name,
            d(data.issue_date),
            d(data.start_date),
            d(data.end_date),
            m(data.amount_excl_vat),
            m(data.vat_amount),
            m(data.total_incl_vat),
            p(data.vat_rate),
            p(data.late_payment.annual_rate),
            m(data.late_payment.fixed_compensation),
            "BE0851.927.541",
            TYPES[data.contract_type][language],
        ]
    if kind == "contract":
        return [
            data.worker.name,
            "85.01.01-001.33",
            data.job_title,
            data.client_name,
            d(data.start_date),
            d(data.end_date),
            d(data.pay_date),
            d(data.signed_on),
            m(data.gross_salary),
            "BE62 5100 0754 7061",
            "Rue de la Loi 16, 1000 Bruxelles",
            {"fr": "3 juillet 1978", "nl": "3 juli 1978", "en": "3 July 1978"}[language],
            TYPES[data.contract_type][language],
        ]
    if kind == "invoice":
        return [data.number, data.structured_communication, m(data.total_incl_vat)]
    if kind == "credit_note":
        return [
            data.number,
            data.invoice_number,
            d(data.issue_date),
            d(data.invoice_issue_date),
            data.reason,
            m(data.amount_excl_vat),
            m(data.vat_amount),
            m(data.amount_incl_vat),
            p(data.vat_rate),
            "BE0851.927.541",
            {
                "fr": "TVA à reverser à l'État dans la mesure où elle a été initialement déduite",
                "nl": "Btw terug te storten aan de Staat in de mate waarin ze oorspronkelijk",
                "en": "VAT to be repaid to the State insofar as it was initially deducted",
            }[language],
        ]
    if kind in ("reminder_1", "reminder_2", "formal_notice"):
        out = [
            data.invoice_number,
            data.structured_communication,
            d(data.letter_date),
            d(data.invoice_issue_date),
            d(data.due_date),
            d(data.pay_by),
            m(data.invoice_total),
            m(data.paid),
            m(data.principal_open),
            m(data.amount_due),
            "BE71 0961 2345 6769",
        ]
        if data.regime == "b2b":
            out += [p(data.annual_rate), m(data.b2b_fixed_compensation)]
            if data.interest:
                out += [m(data.interest)]
        return out
    if kind in ("payslip_estimate", "payslip"):
        # Every line: its amount, its base x rate, the date its rule took effect.
        out = [d(data.issue_date), TYPES[data.contract_type][language]]
        for line in data.lines:
            out.append(m(line.amount))
            if line.base is not None and line.rate is not None:
                out.append(f"{m(line.base)} × {p(line.rate_percent)} = {m(line.amount)}")
            if line.valid_from is not None:
                out.append(d(line.valid_from))
        if kind == "payslip_estimate":
            out.append(d(data.pay_date))
        return out
    if kind == "contract_amendment":
        return [
            data.reference,
            data.contract_reference,
            data.reason,
            m(data.old_gross),
            m(data.new_gross),
            TYPES[data.contract_type][language],
        ]
    if kind == "tax_summary":
        out = [data.reference, str(data.year), "281.10"]
        for row in data.rows:
            out += [d(row.paid_on), row.title.split()[0]]  # long titles wrap in the column
        out += [m(value) for value in data.totals.values()]
        return out
    assert kind == "write_off_notice"
    return [
        data.member.name,
        data.client_name,
        data.invoice_number,
        d(data.invoice_issue_date),
        d(data.write_off_date),
        d(data.salary_paid_on),
        m(data.amount_written_off),
        m(data.net_salary),
    ]


TITLES = {
    "order_form": {"fr": "Bon de commande", "nl": "Bestelbon", "en": "Order form"},
    "contract": {
        "fr": "Contrat de travail à durée déterminée",
        "nl": "Arbeidsovereenkomst voor een bepaalde tijd",
        "en": "Fixed-term employment contract",
    },
    "invoice": {"fr": "Facture", "nl": "Factuur", "en": "Invoice"},
    "credit_note": {"fr": "Note de crédit", "nl": "Creditnota", "en": "Credit note"},
    "reminder_1": {
        "fr": "Rappel de paiement",
        "nl": "Betalingsherinnering",
        "en": "Payment reminder",
    },
    "reminder_2": {"fr": "Second rappel", "nl": "Tweede herinnering", "en": "Second reminder"},
    "formal_notice": {"fr": "Mise en demeure", "nl": "Ingebrekestelling", "en": "Formal notice"},
    "payslip_estimate": {
        "fr": "Estimation de fiche de paie",
        "nl": "Raming van de loonfiche",
        "en": "Payslip estimate",
    },
    "write_off_notice": {
        "fr": "Avis d'abandon de créance",
        "nl": "Kennisgeving van afboeking",
        "en": "Notice of debt write-off",
    },
    "payslip": {"fr": "Fiche de paie", "nl": "Loonbrief", "en": "Payslip"},
    "contract_amendment": {
        "fr": "Avenant au contrat de travail",
        "nl": "Wijziging van de arbeidsovereenkomst",
        "en": "Amendment to the employment contract",
    },
    "tax_summary": {
        "fr": "Récapitulatif annuel des rémunérations",
        "nl": "Jaaroverzicht van de lonen",
        "en": "Yearly pay summary",
    },
}
# How the contract type reads on the contract, the order form, the estimate and the payslip.
TYPES = {
    "ordinary": {"fr": "ordinaire (employé)", "nl": "gewoon (bediende)", "en": "ordinary"},
    "artistic": {
        "fr": "artistique (art. 1bis",
        "nl": "artistiek (art. 1bis",
        "en": "artistic (art. 1bis",
    },
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_every_document_in_every_language(kind: str, language: str, tmp_path: Path) -> None:
    data = sample(kind, language)
    pdf, text = rendered(kind, language)
    assert pdf.startswith(b"%PDF-")
    assert TITLES[kind][language] in text
    for expected in expected_strings(kind, language, data):
        assert expected in text, (kind, language, expected)
    # The coop's identity (domain.md §2.1 item 10) is on every document.
    for expected in ("Coopflow SCRL", "BE0123.456.749", "0123.456.749", "SC / CV"):
        assert expected in text, expected
    if kind != "invoice":  # the invoice keeps its own "1/1" footer (test_invoice_pdf.py)
        assert re.search(rf"{PAGE[language]} 1 / \d", text), "page number"
    # One page image per document, kept for a human to look at.
    src = tmp_path / f"{kind}-{language}.pdf"
    src.write_bytes(pdf)
    out = tmp_path / f"{kind}-{language}"
    cmd = ["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", str(src), str(out)]
    subprocess.run(cmd, check=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out.with_suffix(".png"), ARTIFACTS / f"{kind}-{language}.png")


B2C_PERIOD = {"fr": "14 jours", "nl": "14 dagen", "en": "14 days"}
BOOK_XIX = {
    "fr": "livre XIX du Code de droit économique",
    "nl": "boek XIX van het Wetboek van economisch recht",
    "en": "Book XIX of the Belgian Code of Economic Law",
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_consumer_first_reminder_carries_book_xix_content(language: str, tmp_path: Path) -> None:
    data = sample("reminder_1", language, "b2c")
    pdf, text = rendered("reminder_1", language, "b2c")
    src = tmp_path / "r1.pdf"
    src.write_bytes(pdf)
    out = tmp_path / "r1"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", str(src), str(out)], check=True)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(out.with_suffix(".png"), ARTIFACTS / f"reminder_1-{language}-b2c.png")
    assert B2C_PERIOD[language] in text
    assert BOOK_XIX[language] in text
    for expected in (
        money(data.amount_due, language),  # the amount outstanding
        money(data.b2c_penalty, language),  # the penalty that WILL be claimed
        money(data.b2c_reminder_fee_max, language),
        percent(data.annual_rate, language),
        day(data.waiting_start, language),
        day(data.waiting_end, language),
        day(data.costs_from, language),
        day(data.due_date, language),  # the due date
        data.title,  # the product
        "Coopflow SCRL",  # creditor's name ...
        "0123.456.749",  # ... and enterprise number
    ):
        assert expected in text, expected
    # Nothing is charged on the free first reminder, and no B2B wording reaches a consumer.
    assert money(data.b2b_fixed_compensation, language) not in text
    assert "2 août 2002 concernant" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_consumer_reminder_2_within_the_period_warns_again(language: str) -> None:
    data = sample("reminder_2", language, "b2c")
    assert data.letter_date < data.costs_from
    _, text = rendered("reminder_2", language, "b2c")
    for expected in (
        B2C_PERIOD[language],
        money(data.b2c_penalty, language),
        day(data.waiting_end, language),
    ):
        assert expected in text, expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_consumer_formal_notice_shows_what_was_charged(language: str) -> None:
    data = sample("formal_notice", language, "b2c")
    _, text = rendered("formal_notice", language, "b2c")
    for value in (data.penalty, data.reminder_fee, data.interest, data.amount_due):
        assert money(value, language) in text, value
    assert B2C_PERIOD[language] in text
    assert BOOK_XIX[language] in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_consumer_order_form_states_the_book_xix_terms(language: str) -> None:
    data = sample("order_form", language, "b2c")
    _, text = rendered("order_form", language, "b2c")
    assert BOOK_XIX[language] in text
    assert money(data.late_payment.penalty_cap, language) in text
    assert money(data.late_payment.reminder_fee_max, language) in text
    assert money(data.late_payment.fixed_compensation, language) not in text


RECIPROCAL_CLAUSE = {
    "fr": (
        "Clause réciproque (OF-2026-12) : l'intérêt de retard au taux de la loi du 2 août 2002 et "
        "l'indemnité forfaitaire ci-dessus valent dans les deux sens. Si la coopérative ne vous "
        "paie pas à l'échéance une somme qu'elle vous doit"
    ),
    "nl": (
        "Wederkerig beding (OF-2026-12): de verwijlintrest tegen de rentevoet van de wet van "
        "2 augustus 2002 en de forfaitaire schadevergoeding hierboven gelden in beide richtingen."
    ),
    "en": (
        "Reciprocal clause (OF-2026-12): the late-payment interest at the rate of the law of "
        "2 August 2002 and the flat-rate penalty above apply both ways. If the cooperative does "
        "not pay you a sum it owes you"
    ),
}
LEGAL_RATE_LAW = {"fr": "loi du 5 mai 1865", "nl": "wet van 5 mei 1865", "en": "law of 5 May 1865"}


@pytest.mark.parametrize("language", LANGUAGES)
def test_consumer_order_form_prints_the_reciprocal_clause(language: str) -> None:
    # Issue 12 §5: the 2002-law rate and a penalty bind a consumer only under a reciprocal
    # clause: the order form that stipulates them prints it, in the client's language.
    data = sample("order_form", language, "b2c")
    assert data.late_payment.reciprocal_clause == "OF-2026-12"
    _, text = rendered("order_form", language, "b2c")
    assert norm(RECIPROCAL_CLAUSE[language]) in text
    assert percent(data.late_payment.annual_rate, language) in text
    # A business client's order form has no consumer clause.
    assert "OF-2026-12" not in rendered("order_form", language, "b2b")[1]


@pytest.mark.parametrize("language", LANGUAGES)
def test_consumer_order_form_without_the_clause_states_the_legal_rate_only(language: str) -> None:
    data = sample("order_form", language, "b2c")
    plain = replace(data, late_payment=replace(data.late_payment, reciprocal_clause=None))
    text = pdf_text(render_pdf("order_form", plain))
    assert LEGAL_RATE_LAW[language] in text
    assert percent(Decimal("4.50"), language) in text
    assert "OF-2026-12" not in text
    # No penalty and no 2002-law rate are stipulated against the consumer.
    assert money(data.late_payment.penalty_cap, language) not in text
    assert percent(data.late_payment.annual_rate, language) not in text


def test_unsigned_documents_leave_room_for_signatures() -> None:
    contract = replace(sample("contract", "fr"), signed_on=None)
    text = pdf_text(render_pdf("contract", contract))
    assert "Signé électroniquement" not in text
    assert "Le travailleur – Alice Dubois – Date, signature" in text
    order = replace(sample("order_form", "en"), confirmed_on=None, confirmation_method=None)
    assert "Agreed — customer's date and signature:" in pdf_text(render_pdf("order_form", order))


def test_payslip_before_payday_does_not_say_it_was_paid() -> None:
    text = pdf_text(
        render_pdf(
            "payslip_estimate", replace(sample("payslip_estimate", "en"), paid=False, source=None)
        )
    )
    assert "even if the client pays late" in text
    assert "Paid on" not in text


def test_kinds_versions_and_filenames() -> None:
    assert set(TEMPLATE_VERSIONS) == set(KINDS)
    assert all(v.startswith(f"{k}@") for k, v in TEMPLATE_VERSIONS.items())
    names = {kind: filename(kind, sample(kind, "fr")) for kind in KINDS}
    assert names["invoice"] == "invoice-F2026-000042.pdf"
    assert names["reminder_1"] == "reminder-1-F2026-000042.pdf"
    assert names["credit_note"] == "credit-note-C2026-000007.pdf"
    for name in names.values():
        assert re.fullmatch(r"[a-z0-9-]+-[A-Za-z0-9.-]+\.pdf", name), name
    hostile = replace(sample("contract", "fr"), reference='../../etc/passwd "<x>"')
    assert re.fullmatch(r"[A-Za-z0-9.-]+", filename("contract", hostile))
    with pytest.raises(TypeError):
        render_pdf("contract", sample("invoice", "fr"))
    with pytest.raises(ValueError):
        render_pdf("reminder_2", sample("reminder_1", "fr"))
    with pytest.raises(ValueError):
        filename("quote", sample("invoice", "fr"))


HOSTILE = ("<script>alert(1)</script>", "{{7*7}}")


def hostile_data(kind: str, name: str) -> Any:
    """`kind`'s sample with every free text a client or member controls set to `name`."""
    data = sample(kind, "fr")
    buyer = Buyer(name=name, address=f"{name}\n1000 Bruxelles", country="BE")
    person = Person(name=name, email="x@example.be", national_number="", iban=MEMBER.iban)
    if kind == "order_form":
        return replace(data, buyer=buyer, member_name=name, title=name)
    if kind == "contract":
        return replace(data, worker=person, client_name=name, job_title=name, place_of_work=name)
    if kind == "invoice":
        from documents.pdf import InvoiceLine

        return replace(data, buyer=buyer, lines=(InvoiceLine(name, data.total_excl_vat),))
    if kind == "credit_note":
        return replace(data, buyer=buyer, reason=name)
    if kind in ("reminder_1", "reminder_2", "formal_notice"):
        return replace(data, buyer=buyer, title=name)
    if kind in ("payslip_estimate", "payslip"):
        return replace(data, member=person, title=name)
    if kind == "contract_amendment":
        return replace(data, worker=person, title=name, reason=name)
    if kind == "tax_summary":
        rows = tuple(replace(r, title=name) for r in data.rows)
        return replace(data, member=person, rows=rows)
    return replace(data, member=person, client_name=name, title=name)


@pytest.mark.parametrize("name", HOSTILE)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_names_render_literally(kind: str, name: str) -> None:
    data = hostile_data(kind, name)
    html = render_html(kind, data)
    assert "<script>" not in html
    text = pdf_text(render_pdf(kind, data))
    assert text.count(name) >= 2, text
    assert not re.search(r"\b49\b", text)
