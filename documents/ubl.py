"""Peppol BIS Billing 3.0 e-invoices: UBL 2.1 Invoice (380) and CreditNote (381) (domain.md §2.5).

Pure functions from frozen dataclasses to XML bytes, built with lxml so that every name, address
and label is escaped by the serializer, never pasted into markup. Amounts follow EN 16931: each
line is rounded half up to the cent, VAT is computed per (category, rate) on the sum of its lines.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Literal

from lxml import etree

if TYPE_CHECKING:
    from core.settings import Settings

__all__ = [
    "CUSTOMIZATION_ID",
    "PROFILE_ID",
    "Buyer",
    "CreditedInvoice",
    "Document",
    "Line",
    "PostalAddress",
    "Seller",
    "VatBreakdown",
    "VatCategoryCode",
    "build_credit_note",
    "enterprise_number_of",
    "build_invoice",
    "seller_from_settings",
    "vat_breakdown",
]

CUSTOMIZATION_ID = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
PROFILE_ID = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
BE_ENTERPRISE_SCHEME = "0208"
SEPA_CREDIT_TRANSFER = "58"

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"

VatCategoryCode = Literal["S", "AE", "K", "G", "E", "O"]
_CATEGORIES = ("S", "AE", "K", "G", "E", "O")
_ZERO_RATED = ("AE", "K", "G", "E", "O")

# What the invoice must say when no VAT is charged (BR-AE-10, BR-IC-10, BR-G-10, BR-E-10,
# BR-O-10), with the VATEX code where one fits every case of the category.
_EXEMPTION: dict[str, tuple[str | None, str]] = {
    "AE": ("VATEX-EU-AE", "Autoliquidation / Reverse charge – art. 196 Directive 2006/112/EC"),
    "K": ("VATEX-EU-IC", "Livraison intracommunautaire exonérée – art. 138 Directive 2006/112/EC"),
    "G": ("VATEX-EU-G", "Exportation exonérée – art. 146 Directive 2006/112/EC"),
    "E": (None, "Exonération de la TVA – art. 44 Code TVA"),
    "O": ("VATEX-EU-O", "Hors champ de la TVA belge – art. 21 §2 Code TVA"),
}

_CENT = Decimal("0.01")
_HUNDRED = Decimal(100)
_ENTERPRISE_NUMBER = re.compile(r"[01]\d{9}")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def enterprise_number_of(vat_number: str) -> str:
    """The 10-digit KBO/BCE enterprise number inside a Belgian VAT number (BE0403170701)."""
    compact = re.sub(r"[\s.\-/]", "", vat_number).upper().removeprefix("BE")
    if len(compact) == 9:
        compact = "0" + compact
    if not _ENTERPRISE_NUMBER.fullmatch(compact):
        raise ValueError(f"not a Belgian VAT number: {vat_number!r}")
    return compact


# ---------------------------------------------------------------- input


@dataclass(frozen=True)
class PostalAddress:
    """A postal address; EN 16931 requires only the country code (BR-9, BR-11)."""

    country: str
    street: str | None = None
    additional_street: str | None = None
    city: str | None = None
    postal_zone: str | None = None

    @classmethod
    def from_text(cls, text: str, country: str) -> PostalAddress:
        """Split a free-text address (lines or commas; last part "1000 City") into fields."""
        parts = [p.strip() for p in re.split(r"[\n,]", text) if p.strip()]
        city = postal_zone = None
        if parts:
            match = re.fullmatch(
                r"(?:[A-Z]{1,2}-)?(\d{4,5}(?:\s?[A-Z]{2}(?=\s))?)\s+(.+)", parts[-1]
            )
            if match:
                postal_zone, city = match.group(1), match.group(2)
                parts.pop()
        return cls(
            country=country.upper(),
            street=parts[0] if parts else None,
            additional_street=", ".join(parts[1:]) or None,
            city=city,
            postal_zone=postal_zone,
        )


@dataclass(frozen=True)
class Seller:
    """The cooperative issuing the document (BG-4), paid by SEPA transfer to `iban`."""

    name: str
    enterprise_number: str
    vat_number: str
    address: PostalAddress
    iban: str
    legal_form: str | None = None


@dataclass(frozen=True)
class Buyer:
    """The client (BG-7). Belgian buyers are addressed on Peppol by 0208 + enterprise number."""

    name: str
    address: PostalAddress
    vat_number: str | None = None
    enterprise_number: str | None = None
    # Peppol electronic address (scheme, id) for non-Belgian buyers, when known.
    endpoint: tuple[str, str] | None = None

    def peppol_endpoint(self) -> tuple[str, str] | None:
        number = self.belgian_enterprise_number()
        if number is not None:
            return (BE_ENTERPRISE_SCHEME, number)
        return self.endpoint

    def belgian_enterprise_number(self) -> str | None:
        if self.address.country != "BE":
            return None
        if self.enterprise_number:
            return enterprise_number_of(self.enterprise_number)
        if self.vat_number:
            return enterprise_number_of(self.vat_number)
        return None


@dataclass(frozen=True)
class Line:
    """One invoiced (or credited) line: quantity x unit price excl. VAT, with its VAT category."""

    label: str
    quantity: Decimal
    unit_price: Decimal
    vat_category: VatCategoryCode
    vat_rate: Decimal
    unit_code: str = "C62"  # UN/ECE rec 20: C62 one, HUR hour, DAY day
    description: str | None = None

    @property
    def amount(self) -> Decimal:
        return _cents(self.quantity * self.unit_price)


@dataclass(frozen=True)
class CreditedInvoice:
    """The invoice a credit note corrects (BT-25, BT-26)."""

    number: str
    issue_date: date


@dataclass(frozen=True)
class Document:
    """What an invoice or a credit note says; amounts are derived from the lines."""

    number: str
    issue_date: date
    seller: Seller
    buyer: Buyer
    lines: Sequence[Line]
    buyer_reference: str
    due_date: date | None = None
    structured_communication: str | None = None
    note: str | None = None
    credited_invoice: CreditedInvoice | None = None
    # Intra-community supplies (K) need the delivery date and country (BR-IC-11, BR-IC-12).
    delivery_date: date | None = None
    delivery_country: str | None = None
    # Overrides of the default exemption text per zero-rated category, e.g. (("E", "...")).
    exemption_reasons: tuple[tuple[str, str], ...] = field(default=())
    # Overrides of the VATEX code per zero-rated category (BT-121), from the invoice's legal
    # ground; None drops the code where no VATEX code fits (BR-E-10 accepts the text alone).
    exemption_codes: tuple[tuple[str, str | None], ...] = field(default=())
    currency: str = "EUR"


@dataclass(frozen=True)
class VatBreakdown:
    """One VAT breakdown (BG-23): the lines of one category and rate, and the VAT on them."""

    category: VatCategoryCode
    rate: Decimal
    taxable_amount: Decimal
    tax_amount: Decimal
    exemption_code: str | None
    exemption_reason: str | None


def seller_from_settings(settings: Settings) -> Seller:
    """The cooperative as seller, from the COOPFLOW_COOP_* settings."""
    return Seller(
        name=settings.coop_name,
        enterprise_number=settings.coop_enterprise_number,
        vat_number=settings.coop_vat_number,
        legal_form=settings.coop_legal_form,
        address=PostalAddress(
            country=settings.coop_address_country,
            street=settings.coop_address_street,
            city=settings.coop_address_city,
            postal_zone=settings.coop_address_postal_zone,
        ),
        iban=settings.coop_iban,
    )


# ---------------------------------------------------------------- arithmetic


def _check(document: Document) -> None:
    if not document.lines:
        raise ValueError("a document needs at least one line")
    categories = {line.vat_category for line in document.lines}
    for line in document.lines:
        if line.vat_category not in _CATEGORIES:
            raise ValueError(f"unknown VAT category {line.vat_category!r}")
        if line.vat_category == "S" and line.vat_rate <= 0:
            raise ValueError("category S needs a positive VAT rate")
        if line.vat_category in _ZERO_RATED and line.vat_rate != 0:
            raise ValueError(f"category {line.vat_category} is charged at 0 %")
    if "O" in categories and len(categories) > 1:
        raise ValueError("an out-of-scope (O) document carries no other VAT category (BR-O-11)")
    if categories & {"AE", "K"} and not document.buyer.vat_number:
        raise ValueError("reverse charge and intra-community supplies need the buyer's VAT number")
    if "K" in categories and not (document.delivery_date and document.delivery_country):
        raise ValueError("an intra-community supply needs the delivery date and country")


def vat_breakdown(document: Document) -> list[VatBreakdown]:
    """The VAT breakdown per (category, rate): VAT = taxable amount x rate, rounded half up."""
    overrides = dict(document.exemption_reasons)
    codes = dict(document.exemption_codes)
    totals: dict[tuple[str, Decimal], Decimal] = {}
    for line in document.lines:
        key = (line.vat_category, _cents(line.vat_rate))
        totals[key] = totals.get(key, Decimal("0.00")) + line.amount
    breakdown = []
    for (category, rate), taxable in totals.items():
        code, reason = _EXEMPTION.get(category, (None, None))
        code = codes.get(category, code)
        breakdown.append(
            VatBreakdown(
                category=category,  # type: ignore[arg-type]
                rate=rate,
                taxable_amount=taxable,
                tax_amount=_cents(taxable * rate / _HUNDRED),
                exemption_code=code,
                # BR-S-10: a standard-rated breakdown never carries an exemption reason.
                exemption_reason=overrides.get(category, reason)
                if category in _ZERO_RATED
                else None,
            )
        )
    return breakdown


# ---------------------------------------------------------------- XML


def _amount(value: Decimal) -> str:
    return format(_cents(value), "f")


def _decimal(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text not in ("-0", "") else "0"


def _percent(value: Decimal) -> str:
    return format(_cents(value), "f")


def _add(parent: etree._Element, tag: str, text: str | None = None, **attrs: str) -> etree._Element:
    prefix, name = tag.split(":")
    element = etree.SubElement(parent, f"{{{NS_CBC if prefix == 'cbc' else NS_CAC}}}{name}", attrs)
    if text is not None:
        element.text = text
    return element


def _address(parent: etree._Element, tag: str, address: PostalAddress) -> None:
    element = _add(parent, tag)
    if address.street:
        _add(element, "cbc:StreetName", address.street)
    if address.additional_street:
        _add(element, "cbc:AdditionalStreetName", address.additional_street)
    if address.city:
        _add(element, "cbc:CityName", address.city)
    if address.postal_zone:
        _add(element, "cbc:PostalZone", address.postal_zone)
    country = _add(element, "cac:Country")
    _add(country, "cbc:IdentificationCode", address.country)


def _tax_scheme(parent: etree._Element) -> None:
    _add(_add(parent, "cac:TaxScheme"), "cbc:ID", "VAT")


def _seller(root: etree._Element, document: Document, out_of_scope: bool) -> None:
    seller = document.seller
    number = enterprise_number_of(seller.enterprise_number)
    party = _add(_add(root, "cac:AccountingSupplierParty"), "cac:Party")
    _add(party, "cbc:EndpointID", number, schemeID=BE_ENTERPRISE_SCHEME)
    _add(_add(party, "cac:PartyName"), "cbc:Name", seller.name)
    _address(party, "cac:PostalAddress", seller.address)
    if not out_of_scope:  # BR-O-02: no seller VAT identifier on an out-of-scope invoice
        tax = _add(party, "cac:PartyTaxScheme")
        _add(tax, "cbc:CompanyID", seller.vat_number)
        _tax_scheme(tax)
    legal = _add(party, "cac:PartyLegalEntity")
    _add(legal, "cbc:RegistrationName", seller.name)
    _add(legal, "cbc:CompanyID", number, schemeID=BE_ENTERPRISE_SCHEME)
    if seller.legal_form:
        _add(legal, "cbc:CompanyLegalForm", seller.legal_form)


def _buyer(root: etree._Element, document: Document, out_of_scope: bool) -> None:
    buyer = document.buyer
    party = _add(_add(root, "cac:AccountingCustomerParty"), "cac:Party")
    endpoint = buyer.peppol_endpoint()
    if endpoint is not None:
        _add(party, "cbc:EndpointID", endpoint[1], schemeID=endpoint[0])
    _add(_add(party, "cac:PartyName"), "cbc:Name", buyer.name)
    _address(party, "cac:PostalAddress", buyer.address)
    if buyer.vat_number and not out_of_scope:  # BR-O-02 again
        tax = _add(party, "cac:PartyTaxScheme")
        _add(tax, "cbc:CompanyID", buyer.vat_number)
        _tax_scheme(tax)
    legal = _add(party, "cac:PartyLegalEntity")
    _add(legal, "cbc:RegistrationName", buyer.name)
    enterprise = buyer.belgian_enterprise_number()
    if enterprise is not None:
        _add(legal, "cbc:CompanyID", enterprise, schemeID=BE_ENTERPRISE_SCHEME)


def _tax_category(
    parent: etree._Element, tag: str, category: str, rate: Decimal, item: VatBreakdown | None
) -> None:
    element = _add(parent, tag)
    _add(element, "cbc:ID", category)
    if category != "O":  # BR-O-05 / BR-O-14: no rate for out-of-scope
        _add(element, "cbc:Percent", _percent(rate))
    if item is not None and item.exemption_reason is not None:
        if item.exemption_code:
            _add(element, "cbc:TaxExemptionReasonCode", item.exemption_code)
        _add(element, "cbc:TaxExemptionReason", item.exemption_reason)
    _tax_scheme(element)


def _build(document: Document, *, credit: bool) -> bytes:
    _check(document)
    currency = document.currency
    breakdown = vat_breakdown(document)
    out_of_scope = any(item.category == "O" for item in breakdown)
    line_total = sum((line.amount for line in document.lines), Decimal("0.00"))
    tax_total = sum((item.tax_amount for item in breakdown), Decimal("0.00"))
    ns = NS_CREDIT_NOTE if credit else NS_INVOICE
    root = etree.Element(
        f"{{{ns}}}{'CreditNote' if credit else 'Invoice'}",
        nsmap={None: ns, "cac": NS_CAC, "cbc": NS_CBC},
    )
    _add(root, "cbc:CustomizationID", CUSTOMIZATION_ID)
    _add(root, "cbc:ProfileID", PROFILE_ID)
    _add(root, "cbc:ID", document.number)
    _add(root, "cbc:IssueDate", document.issue_date.isoformat())
    if document.due_date is not None and not credit:
        _add(root, "cbc:DueDate", document.due_date.isoformat())
    _add(
        root,
        "cbc:CreditNoteTypeCode" if credit else "cbc:InvoiceTypeCode",
        "381" if credit else "380",
    )
    if document.note:
        _add(root, "cbc:Note", document.note)
    _add(root, "cbc:DocumentCurrencyCode", currency)
    _add(root, "cbc:BuyerReference", document.buyer_reference)
    if document.credited_invoice is not None:
        reference = _add(_add(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _add(reference, "cbc:ID", document.credited_invoice.number)
        _add(reference, "cbc:IssueDate", document.credited_invoice.issue_date.isoformat())
    _seller(root, document, out_of_scope)
    _buyer(root, document, out_of_scope)
    if document.delivery_date or document.delivery_country:
        delivery = _add(root, "cac:Delivery")
        if document.delivery_date:
            _add(delivery, "cbc:ActualDeliveryDate", document.delivery_date.isoformat())
        if document.delivery_country:
            location = _add(delivery, "cac:DeliveryLocation")
            address = _add(location, "cac:Address")
            _add(_add(address, "cac:Country"), "cbc:IdentificationCode", document.delivery_country)
    if not credit:
        # The client pays by SEPA transfer (58) to the coop's IBAN (BR-61), quoting the OGM. A
        # credit note asks for no payment: the coop refunds or sets it off, so it has none.
        means = _add(root, "cac:PaymentMeans")
        _add(means, "cbc:PaymentMeansCode", SEPA_CREDIT_TRANSFER, name="SEPA credit transfer")
        if document.structured_communication:
            _add(means, "cbc:PaymentID", document.structured_communication)
        account = _add(means, "cac:PayeeFinancialAccount")
        _add(account, "cbc:ID", document.seller.iban.replace(" ", "").upper())
        _add(account, "cbc:Name", document.seller.name)
    if credit:
        _add(
            _add(root, "cac:PaymentTerms"),
            "cbc:Note",
            f"Credit note on invoice {document.credited_invoice.number}"
            if document.credited_invoice
            else "Credit note",
        )
    tax = _add(root, "cac:TaxTotal")
    _add(tax, "cbc:TaxAmount", _amount(tax_total), currencyID=currency)
    for item in breakdown:
        subtotal = _add(tax, "cac:TaxSubtotal")
        _add(subtotal, "cbc:TaxableAmount", _amount(item.taxable_amount), currencyID=currency)
        _add(subtotal, "cbc:TaxAmount", _amount(item.tax_amount), currencyID=currency)
        _tax_category(subtotal, "cac:TaxCategory", item.category, item.rate, item)
    totals = _add(root, "cac:LegalMonetaryTotal")
    _add(totals, "cbc:LineExtensionAmount", _amount(line_total), currencyID=currency)
    _add(totals, "cbc:TaxExclusiveAmount", _amount(line_total), currencyID=currency)
    _add(totals, "cbc:TaxInclusiveAmount", _amount(line_total + tax_total), currencyID=currency)
    _add(totals, "cbc:PayableAmount", _amount(line_total + tax_total), currencyID=currency)
    for index, line in enumerate(document.lines, start=1):
        element = _add(root, "cac:CreditNoteLine" if credit else "cac:InvoiceLine")
        _add(element, "cbc:ID", str(index))
        _add(
            element,
            "cbc:CreditedQuantity" if credit else "cbc:InvoicedQuantity",
            _decimal(line.quantity),
            unitCode=line.unit_code,
        )
        _add(element, "cbc:LineExtensionAmount", _amount(line.amount), currencyID=currency)
        item_element = _add(element, "cac:Item")
        if line.description:
            _add(item_element, "cbc:Description", line.description)
        _add(item_element, "cbc:Name", line.label)
        _tax_category(
            item_element, "cac:ClassifiedTaxCategory", line.vat_category, line.vat_rate, None
        )
        price = _add(element, "cac:Price")
        _add(price, "cbc:PriceAmount", _decimal(line.unit_price), currencyID=currency)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def build_invoice(document: Document) -> bytes:
    """The Peppol BIS 3.0 UBL Invoice (type 380) of an issued invoice, as UTF-8 XML."""
    if document.credited_invoice is not None:
        raise ValueError("an invoice does not reference a credited invoice; build a credit note")
    return _build(document, credit=False)


def build_credit_note(document: Document) -> bytes:
    """The Peppol BIS 3.0 UBL CreditNote (type 381) referencing the invoice it corrects."""
    if document.credited_invoice is None:
        raise ValueError("a credit note must reference the invoice it corrects (BT-25)")
    return _build(document, credit=True)
