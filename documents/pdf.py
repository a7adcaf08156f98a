"""Invoice PDF: an `InvoiceDocument` rendered with Jinja2 (the shared environment) and WeasyPrint.

Every Belgian mandatory mention (domain.md §2.1) is printed, with the structured communication and
an EPC QR code. Labels exist in French, Dutch and English; money and dates are formatted by babel
for the document's locale, after rounding half-up to the cent.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from core.settings import Settings, get_settings
from core.templating import environment
from documents.common import (  # noqa: F401 (CENT, LOCALES: re-exported)
    CENT,
    LOCALES,
    format_day,
    format_enterprise_number,
    format_iban,
    format_money,
    format_percent,
    format_vat_number,
    html_to_pdf,
)
from documents.qr import epc_qr_png

LABELS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice": "Facture",
        "number": "Numéro de facture",
        "issue_date": "Date de facture",
        "due_date": "Date d'échéance",
        "supply_dates": "Date(s) de prestation",
        "seller": "Prestataire",
        "buyer": "Client",
        "vat_number": "N° TVA",
        "enterprise_number": "N° d'entreprise",
        "register": "RPM",
        "legal_form": "Forme juridique",
        "description": "Nature des services",
        "amount_excl_vat": "Montant HTVA",
        "vat_rate": "Taux TVA",
        "taxable_base": "Base imposable",
        "vat_amount": "Montant TVA",
        "total_excl_vat": "Total HTVA",
        "total_vat": "Total TVA",
        "total_incl_vat": "Total TVAC",
        "category": "Catégorie TVA",
        "payment": "Paiement",
        "pay_to": "À verser sur le compte",
        "communication": "Communication structurée",
        "scan": "Scannez ce code avec votre application bancaire pour payer.",
        "reverse_charge": "Autoliquidation",
        "page": "Page",
    },
    "nl": {
        "invoice": "Factuur",
        "number": "Factuurnummer",
        "issue_date": "Factuurdatum",
        "due_date": "Vervaldatum",
        "supply_dates": "Datum/data van de dienst",
        "seller": "Dienstverlener",
        "buyer": "Klant",
        "vat_number": "Btw-nr.",
        "enterprise_number": "Ondernemingsnr.",
        "register": "RPR",
        "legal_form": "Rechtsvorm",
        "description": "Aard van de diensten",
        "amount_excl_vat": "Bedrag excl. btw",
        "vat_rate": "Btw-tarief",
        "taxable_base": "Maatstaf van heffing",
        "vat_amount": "Btw-bedrag",
        "total_excl_vat": "Totaal excl. btw",
        "total_vat": "Totaal btw",
        "total_incl_vat": "Totaal incl. btw",
        "category": "Btw-categorie",
        "payment": "Betaling",
        "pay_to": "Te betalen op rekening",
        "communication": "Gestructureerde mededeling",
        "scan": "Scan deze code met uw bankapp om te betalen.",
        "reverse_charge": "Verlegging van heffing",
        "page": "Pagina",
    },
    "en": {
        "invoice": "Invoice",
        "number": "Invoice number",
        "issue_date": "Invoice date",
        "due_date": "Due date",
        "supply_dates": "Date(s) of supply",
        "seller": "Supplier",
        "buyer": "Customer",
        "vat_number": "VAT no.",
        "enterprise_number": "Enterprise no.",
        "register": "RLE",
        "legal_form": "Legal form",
        "description": "Nature of services",
        "amount_excl_vat": "Amount excl. VAT",
        "vat_rate": "VAT rate",
        "taxable_base": "Taxable base",
        "vat_amount": "VAT amount",
        "total_excl_vat": "Total excl. VAT",
        "total_vat": "Total VAT",
        "total_incl_vat": "Total incl. VAT",
        "category": "VAT category",
        "payment": "Payment",
        "pay_to": "Pay to account",
        "communication": "Structured communication",
        "scan": "Scan this code with your banking app to pay.",
        "reverse_charge": "Reverse charge",
        "page": "Page",
    },
}

# Default legal mentions per VAT category, used when the invoice carries none of its own.
DEFAULT_MENTIONS: dict[str, dict[str, str]] = {
    "AE": {
        "fr": "Autoliquidation – TVA due par le cocontractant (art. 196 Directive 2006/112/CE).",
        "nl": "Verlegging van heffing – btw verschuldigd door de medecontractant "
        "(art. 196 Richtlijn 2006/112/EG).",
        "en": "Reverse charge – VAT due by the customer (art. 196 Directive 2006/112/EC).",
    },
    "E": {
        "fr": "Exonération de TVA – art. 44 du Code de la TVA.",
        "nl": "Vrijgesteld van btw – art. 44 van het Btw-wetboek.",
        "en": "VAT exempt – art. 44 of the Belgian VAT Code.",
    },
    "O": {
        "fr": "Hors du champ d'application de la TVA belge (art. 21, § 2 du Code de la TVA).",
        "nl": "Buiten het toepassingsgebied van de Belgische btw (art. 21, § 2 Btw-wetboek).",
        "en": "Outside the scope of Belgian VAT (art. 21 § 2 of the Belgian VAT Code).",
    },
}


@dataclass(frozen=True)
class Party:
    name: str
    street: str
    postal_zone: str
    city: str
    country: str
    vat_number: str | None = None


@dataclass(frozen=True)
class Seller(Party):
    enterprise_number: str = ""
    legal_form: str = ""
    register_court: str = "Bruxelles"
    iban: str = ""

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Seller:
        s = settings or get_settings()
        return cls(
            name=s.coop_name,
            street=s.coop_address_street,
            postal_zone=s.coop_address_postal_zone,
            city=s.coop_address_city,
            country=s.coop_address_country,
            vat_number=s.coop_vat_number,
            enterprise_number=s.coop_enterprise_number,
            legal_form=s.coop_legal_form,
            iban=s.coop_iban,
        )


@dataclass(frozen=True)
class Buyer:
    name: str
    address: str
    country: str
    vat_number: str | None = None


@dataclass(frozen=True)
class InvoiceLine:
    label: str
    amount_excl_vat: Decimal


@dataclass(frozen=True)
class VatBreakdown:
    rate: Decimal
    category: str
    taxable_base: Decimal
    vat_amount: Decimal


@dataclass(frozen=True)
class InvoiceDocument:
    seller: Seller
    buyer: Buyer
    number: str
    issue_date: date
    due_date: date
    supply_start: date
    supply_end: date
    lines: tuple[InvoiceLine, ...]
    vat_category: str
    vat_rate: Decimal
    total_excl_vat: Decimal
    vat_amount: Decimal
    total_incl_vat: Decimal
    structured_communication: str
    language: str = "fr"
    vat_mention: str | None = None
    breakdown: tuple[VatBreakdown, ...] = field(default=())

    def vat_breakdown(self) -> tuple[VatBreakdown, ...]:
        if self.breakdown:
            return self.breakdown
        return (
            VatBreakdown(self.vat_rate, self.vat_category, self.total_excl_vat, self.vat_amount),
        )

    def mention(self) -> str | None:
        if self.vat_mention:
            return self.vat_mention
        return DEFAULT_MENTIONS.get(self.vat_category, {}).get(self.language)


# Kept under their historical names for the callers of this module.
_money = format_money
_percent = format_percent
_format_vat_number = format_vat_number
_format_enterprise_number = format_enterprise_number
_format_iban = format_iban


def template_context(doc: InvoiceDocument) -> dict[str, Any]:
    if doc.language not in LOCALES:
        raise ValueError(f"unsupported language {doc.language!r}")
    locale = LOCALES[doc.language]
    labels = LABELS[doc.language]

    def money(value: Decimal) -> str:
        return _money(value, locale)

    def day(value: date) -> str:
        return format_day(value, locale)

    qr = epc_qr_png(
        doc.seller.name, doc.seller.iban, doc.total_incl_vat, doc.structured_communication
    )
    return {
        "doc": doc,
        "t": labels,
        "lang": doc.language,
        "money": money,
        "day": day,
        "percent": lambda v: _percent(v, locale),
        "seller_vat": _format_vat_number(doc.seller.vat_number),
        "buyer_vat": _format_vat_number(doc.buyer.vat_number),
        "enterprise_number": _format_enterprise_number(doc.seller.enterprise_number),
        "iban": _format_iban(doc.seller.iban),
        "mention": doc.mention(),
        "breakdown": doc.vat_breakdown(),
        "qr_data_uri": "data:image/png;base64," + base64.b64encode(qr).decode("ascii"),
    }


def render_invoice_html(doc: InvoiceDocument) -> str:
    return environment().get_template("documents/invoice.html").render(**template_context(doc))


def render_invoice_pdf(doc: InvoiceDocument) -> bytes:
    return html_to_pdf(render_invoice_html(doc))
