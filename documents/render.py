"""Every document kind rendered to PDF: the one entry point for activities, storage and routes.

`render_pdf(kind, data)` takes that kind's frozen dataclass (services/document_data.py builds it
from the database) and returns the PDF bytes; `TEMPLATE_VERSIONS` says which wording produced
them, so a stored document can be told apart from one a changed template would give today.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from core.templating import environment
from documents import wording
from documents.common import (
    format_day,
    format_enterprise_number,
    format_iban,
    format_money,
    format_national_number,
    format_percent,
    format_vat_number,
    html_to_pdf,
    locale_of,
    safe_filename_part,
)
from documents.kinds import (
    DUNNING_KINDS,
    ContractAmendmentDocument,
    ContractDocument,
    CreditNoteDocument,
    DunningLetterDocument,
    OrderFormDocument,
    PayslipDocument,
    PayslipEstimateDocument,
    TaxSummaryDocument,
    WriteOffNoticeDocument,
)
from documents.payslip import SUMMARY_FIGURES, Reason
from documents.pdf import InvoiceDocument, Seller, render_invoice_html
from documents.texts import TEXTS

KINDS: tuple[str, ...] = (
    "order_form",
    "contract",
    "invoice",
    "credit_note",
    "reminder_1",
    "reminder_2",
    "formal_notice",
    "payslip_estimate",
    "write_off_notice",
    "payslip",
    "contract_amendment",
    "tax_summary",
)

# Bump a kind's version whenever its template, texts or data change what the PDF says.
TEMPLATE_VERSIONS: dict[str, str] = {
    "order_form": "order_form@2026-12-07.1",
    "contract": "contract@2026-12-07.1",
    "invoice": "invoice@2026-11-29.2",
    "credit_note": "credit_note@2026-11-29.2",
    "reminder_1": "reminder_1@2026-12-07.1",
    "reminder_2": "reminder_2@2026-12-07.1",
    "formal_notice": "formal_notice@2026-12-07.1",
    "payslip_estimate": "payslip_estimate@2026-12-07.1",
    "write_off_notice": "write_off_notice@2026-11-29.2",
    "payslip": "payslip@2026-12-07.1",
    "contract_amendment": "contract_amendment@2026-12-07.1",
    "tax_summary": "tax_summary@2026-12-07.1",
}

_TYPES: dict[str, type] = {
    "order_form": OrderFormDocument,
    "contract": ContractDocument,
    "invoice": InvoiceDocument,
    "credit_note": CreditNoteDocument,
    "reminder_1": DunningLetterDocument,
    "reminder_2": DunningLetterDocument,
    "formal_notice": DunningLetterDocument,
    "payslip_estimate": PayslipEstimateDocument,
    "write_off_notice": WriteOffNoticeDocument,
    "payslip": PayslipDocument,
    "contract_amendment": ContractAmendmentDocument,
    "tax_summary": TaxSummaryDocument,
}

_TEMPLATES: dict[str, str] = {
    "order_form": "documents/order_form.html",
    "contract": "documents/contract.html",
    "credit_note": "documents/credit_note.html",
    "reminder_1": "documents/dunning_letter.html",
    "reminder_2": "documents/dunning_letter.html",
    "formal_notice": "documents/dunning_letter.html",
    "payslip_estimate": "documents/payslip_estimate.html",
    "write_off_notice": "documents/write_off_notice.html",
    "payslip": "documents/payslip.html",
    "contract_amendment": "documents/contract_amendment.html",
    "tax_summary": "documents/tax_summary.html",
}


def _check(kind: str, data: Any) -> None:
    if kind not in _TYPES:
        raise ValueError(f"unknown document kind {kind!r}; one of {', '.join(KINDS)}")
    expected = _TYPES[kind]
    if not isinstance(data, expected):
        raise TypeError(f"a {kind} is rendered from {expected.__name__}, not {type(data).__name__}")
    letter_kind = getattr(data, "kind", None)
    if kind in DUNNING_KINDS and letter_kind != kind:
        raise ValueError(f"this letter's data is for {letter_kind}, not {kind}")


def _coop(data: Any) -> Seller:
    coop = getattr(data, "seller", None) or getattr(data, "employer", None)
    assert isinstance(coop, Seller)
    return coop


def _context(kind: str, data: Any) -> dict[str, Any]:
    language: str = data.language
    locale = locale_of(language)
    texts = TEXTS[language]

    def tr(key: str, **values: Any) -> str:
        # Values are substituted as text: a "{" in a client's name is never a placeholder.
        return texts[key].format(**values)

    def explain(reason: Reason) -> str:
        return wording.explain(reason, language)

    def signed(value: Decimal) -> str:
        return wording.signed_money(value, language)

    coop = _coop(data)
    buyer = getattr(data, "buyer", None)
    person = getattr(data, "worker", None) or getattr(data, "member", None)
    mention: Callable[[], str | None] | None = getattr(data, "mention", None)
    return {
        "doc": data,
        "kind": kind,
        "t": texts,
        "tr": tr,
        "lang": language,
        "money": lambda value: format_money(value, locale),
        "day": lambda value: format_day(value, locale),
        "percent": lambda value: format_percent(value, locale),
        "coop": coop,
        "coop_vat": format_vat_number(coop.vat_number),
        "coop_enterprise": format_enterprise_number(coop.enterprise_number),
        "coop_iban": format_iban(coop.iban),
        "buyer_vat": format_vat_number(buyer.vat_number) if buyer is not None else "",
        "niss": format_national_number(person.national_number) if person is not None else "",
        "worker_iban": format_iban(person.iban) if person is not None else "",
        "mention": mention() if mention is not None else None,
        "explain": explain,
        "signed": signed,
        "figures": SUMMARY_FIGURES,
    }


def render_html(kind: str, data: Any) -> str:
    """The document's HTML (what the PDF is made from), in the data's language."""
    _check(kind, data)
    if kind == "invoice":
        return render_invoice_html(data)
    template = environment().get_template(_TEMPLATES[kind])
    return template.render(**_context(kind, data))


def render_pdf(kind: str, data: Any) -> bytes:
    """Render one document of `kind` from its dataclass to A4 PDF bytes."""
    return html_to_pdf(render_html(kind, data))


def filename(kind: str, data: Any) -> str:
    """A safe ASCII file name: the kind and the document's own reference, e.g.
    "invoice-F2026-000123.pdf", "reminder-1-F2026-000123.pdf", "contract-M000042.pdf"."""
    _check(kind, data)
    reference = data.number if kind == "invoice" else data.reference
    return f"{kind.replace('_', '-')}-{safe_filename_part(str(reference))}.pdf"
