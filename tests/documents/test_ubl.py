"""Peppol BIS 3.0 UBL invoices and credit notes pass the UBL 2.1 XSD and the CEN EN 16931 rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from lxml import etree

from core.settings import Settings
from documents.ubl import (
    CUSTOMIZATION_ID,
    PROFILE_ID,
    Buyer,
    CreditedInvoice,
    Document,
    Line,
    PostalAddress,
    build_credit_note,
    build_invoice,
    seller_from_settings,
    vat_breakdown,
)
from documents.validation import fatal_errors, schema_errors, schematron_findings

NS = {
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SELLER = seller_from_settings(Settings())
BE_BUYER = Buyer(
    name="Théâtre de la Monnaie SA",
    address=PostalAddress.from_text("Place de la Monnaie 5\n1000 Bruxelles", "BE"),
    vat_number="BE0403170701",
)
NL_BUYER = Buyer(
    name="Concertgebouw BV",
    address=PostalAddress.from_text("Concertgebouwplein 10, 1071 LN Amsterdam", "NL"),
    vat_number="NL004495445B01",
    endpoint=("9944", "NL004495445B01"),
)
CH_BUYER = Buyer(
    name="Festival de Montreux SA",
    address=PostalAddress(country="CH", street="Rue du Théâtre 5", city="Montreux"),
    vat_number="CHE123456789",
)
OGM = "+++090/9337/55493+++"


def _document(buyer: Buyer, *lines: Line, **changes: object) -> Document:
    document = Document(
        number="F-2026-000123",
        issue_date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        seller=SELLER,
        buyer=buyer,
        lines=lines,
        buyer_reference="M-42",
        structured_communication=OGM,
    )
    return replace(document, **changes)  # type: ignore[arg-type]


def _line(category: str, rate: str, price: str = "1234.57", qty: str = "1") -> Line:
    return Line(
        label="Concert, 2 sets",
        quantity=Decimal(qty),
        unit_price=Decimal(price),
        vat_category=category,  # type: ignore[arg-type]
        vat_rate=Decimal(rate),
        unit_code="C62",
    )


CASES = {
    "S-21": _document(BE_BUYER, _line("S", "21"), _line("S", "21", "33.333", "3")),
    "S-6": _document(BE_BUYER, _line("S", "6", "19.99", "7")),
    "S-21+6": _document(BE_BUYER, _line("S", "21"), _line("S", "6", "12.50", "4")),
    "AE-EU-business": _document(NL_BUYER, _line("AE", "0")),
    "K-intra-EU": _document(
        NL_BUYER, _line("K", "0"), delivery_date=date(2026, 2, 27), delivery_country="NL"
    ),
    "O-non-EU-business": _document(CH_BUYER, _line("O", "0")),
    "G-export": _document(CH_BUYER, _line("G", "0")),
    "E-exempt": _document(BE_BUYER, _line("E", "0", "800")),
    # Under a legal ground of migration 0022: its mention, and its VATEX code where one fits.
    "E-art44-ground": _document(
        BE_BUYER,
        _line("E", "0", "800"),
        exemption_reasons=(("E", "Exemption de la TVA – art. 44, § 2, 8° du Code de la TVA."),),
        exemption_codes=(("E", None),),
    ),
    "E-ground-with-code": _document(
        BE_BUYER,
        _line("E", "0", "800"),
        exemption_reasons=(("E", "Exempt based on article 132, section 1 (n)"),),
        exemption_codes=(("E", "VATEX-EU-132-1N"),),
    ),
    "AE-ground-nl": _document(
        NL_BUYER,
        _line("AE", "0"),
        exemption_reasons=(("AE", "Verlegging van heffing – btw verschuldigd door de afnemer"),),
        exemption_codes=(("AE", "VATEX-EU-AE"),),
    ),
}


def _credit(document: Document) -> Document:
    return replace(
        document,
        number="C-2026-000007",
        issue_date=date(2026, 3, 10),
        credited_invoice=CreditedInvoice(document.number, document.issue_date),
        note=document.note or "Concert cancelled",
        structured_communication=None,
    )


def _xpath(xml: bytes, path: str) -> list[str]:
    return [str(v) for v in etree.fromstring(xml).xpath(path, namespaces=NS)]


def _ids(xml: bytes) -> set[str]:
    return {finding.rule_id for finding in fatal_errors(xml)}


@pytest.mark.parametrize("case", CASES)
def test_invoice_is_valid_ubl_and_en16931(case: str) -> None:
    xml = build_invoice(CASES[case])
    assert fatal_errors(xml) == []
    assert _xpath(xml, "/*/cbc:InvoiceTypeCode/text()") == ["380"]


@pytest.mark.parametrize("case", CASES)
def test_credit_note_is_valid_and_references_the_invoice(case: str) -> None:
    xml = build_credit_note(_credit(CASES[case]))
    assert fatal_errors(xml) == []
    assert _xpath(xml, "/*/cbc:CreditNoteTypeCode/text()") == ["381"]
    assert _xpath(xml, "//cac:BillingReference/cac:InvoiceDocumentReference/cbc:ID/text()") == [
        "F-2026-000123"
    ]


def test_peppol_header_endpoints_and_payment_means() -> None:
    xml = build_invoice(CASES["S-21"])
    assert _xpath(xml, "/*/cbc:CustomizationID/text()") == [CUSTOMIZATION_ID]
    assert _xpath(xml, "/*/cbc:ProfileID/text()") == [PROFILE_ID]
    assert _xpath(xml, "//cac:AccountingSupplierParty//cbc:EndpointID/@schemeID") == ["0208"]
    assert _xpath(xml, "//cac:AccountingSupplierParty//cbc:EndpointID/text()") == ["0123456749"]
    assert _xpath(xml, "//cac:AccountingCustomerParty//cbc:EndpointID/@schemeID") == ["0208"]
    assert _xpath(xml, "//cac:AccountingCustomerParty//cbc:EndpointID/text()") == ["0403170701"]
    assert _xpath(xml, "//cac:PaymentMeans/cbc:PaymentMeansCode/text()") == ["58"]
    assert _xpath(xml, "//cac:PaymentMeans/cbc:PaymentID/text()") == [OGM]
    assert _xpath(xml, "//cac:PayeeFinancialAccount/cbc:ID/text()") == [SELLER.iban]


def test_vat_breakdown_rounds_each_rate_half_up_to_the_cent() -> None:
    # 1234.57 + 3 x 33.333 (= 99.999 -> 100.00) at 21 %; 4 x 12.50 at 6 %
    breakdown = vat_breakdown(CASES["S-21+6"])
    assert [(b.category, b.rate, b.taxable_amount, b.tax_amount) for b in breakdown] == [
        ("S", Decimal("21.00"), Decimal("1234.57"), Decimal("259.26")),
        ("S", Decimal("6.00"), Decimal("50.00"), Decimal("3.00")),
    ]
    lines = vat_breakdown(CASES["S-21"])
    assert lines[0].taxable_amount == Decimal("1334.57")
    assert lines[0].tax_amount == Decimal("280.26")  # 280.2597 -> 280.26
    xml = build_invoice(CASES["S-21"])
    assert _xpath(xml, "//cac:LegalMonetaryTotal/cbc:PayableAmount/text()") == ["1614.83"]


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("AE-EU-business", "VATEX-EU-AE"),
        ("K-intra-EU", "VATEX-EU-IC"),
        ("G-export", "VATEX-EU-G"),
        ("O-non-EU-business", "VATEX-EU-O"),
    ],
)
def test_zero_rated_categories_carry_their_exemption_reason(case: str, code: str) -> None:
    xml = build_invoice(CASES[case])
    assert _xpath(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReasonCode/text()") == [
        code
    ]
    assert _xpath(xml, "//cac:TaxSubtotal/cbc:TaxAmount/text()") == ["0.00"]


def test_exempt_invoice_states_the_belgian_exemption() -> None:
    xml = build_invoice(CASES["E-exempt"])
    reasons = _xpath(xml, "//cac:TaxSubtotal/cac:TaxCategory/cbc:TaxExemptionReason/text()")
    assert reasons == ["Exonération de la TVA – art. 44 Code TVA"]


@pytest.mark.parametrize(
    ("case", "code", "reason"),
    [
        ("E-art44-ground", [], ["Exemption de la TVA – art. 44, § 2, 8° du Code de la TVA."]),
        ("E-ground-with-code", ["VATEX-EU-132-1N"], ["Exempt based on article 132, section 1 (n)"]),
        (
            "AE-ground-nl",
            ["VATEX-EU-AE"],
            ["Verlegging van heffing – btw verschuldigd door de afnemer"],
        ),
    ],
)
def test_a_legal_ground_sets_the_exemption_code_and_reason(
    case: str, code: list[str], reason: list[str]
) -> None:
    for xml in (build_invoice(CASES[case]), build_credit_note(_credit(CASES[case]))):
        category = "//cac:TaxSubtotal/cac:TaxCategory"
        assert _xpath(xml, f"{category}/cbc:TaxExemptionReasonCode/text()") == code
        assert _xpath(xml, f"{category}/cbc:TaxExemptionReason/text()") == reason
        assert fatal_errors(xml) == []


def test_out_of_scope_invoice_carries_no_vat_identifier() -> None:
    xml = build_invoice(CASES["O-non-EU-business"])
    assert _xpath(xml, "//cac:PartyTaxScheme") == []
    # The seller stays identified by its enterprise number (BR-CO-26).
    assert _xpath(xml, "//cac:AccountingSupplierParty//cac:PartyLegalEntity/cbc:CompanyID/text()")


def _tamper(xml: bytes, path: str, value: str) -> bytes:
    root = etree.fromstring(xml)
    (element,) = root.xpath(path, namespaces=NS)
    element.text = value
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.parametrize(
    ("path", "value", "rule"),
    [
        # The sum of the lines no longer matches the document total.
        ("//cac:InvoiceLine[1]/cbc:LineExtensionAmount", "1000.00", "BR-CO-10"),
        # Total incl. VAT != total excl. VAT + VAT.
        ("//cac:LegalMonetaryTotal/cbc:TaxInclusiveAmount", "9999.99", "BR-CO-15"),
        # VAT of a breakdown != taxable amount x rate.
        ("//cac:TaxSubtotal/cbc:TaxAmount", "100.00", "BR-CO-17"),
        # The breakdown relabelled reverse charge: standard-rated lines lose their breakdown.
        ("//cac:TaxSubtotal/cac:TaxCategory/cbc:ID", "AE", "BR-S-01"),
        # ... and a reverse-charge breakdown without its exemption reason.
        ("//cac:TaxSubtotal/cac:TaxCategory/cbc:ID", "AE", "BR-AE-10"),
    ],
)
def test_tampered_invoice_is_rejected(path: str, value: str, rule: str) -> None:
    xml = build_invoice(CASES["S-21"])
    assert rule in _ids(_tamper(xml, path, value))


def test_tampered_credit_note_is_rejected() -> None:
    xml = build_credit_note(_credit(CASES["S-21"]))
    assert "BR-CO-10" in _ids(_tamper(xml, "//cac:CreditNoteLine[1]/cbc:LineExtensionAmount", "1"))


def test_xsd_rejects_an_element_out_of_order() -> None:
    root = etree.fromstring(build_invoice(CASES["S-6"]))
    root.append(root.find("cbc:ID", NS))  # cbc:ID moved after the invoice lines
    findings = schema_errors(etree.tostring(root))
    assert findings and {f.rule_id for f in findings} == {"XSD"}


def test_missing_payment_account_is_fatal() -> None:
    root = etree.fromstring(build_invoice(CASES["S-6"]))
    account = root.find(".//cac:PayeeFinancialAccount", NS)
    account.getparent().remove(account)
    assert "BR-61" in {f.rule_id for f in schematron_findings(etree.tostring(root))}


@pytest.mark.parametrize("hostile", ['<script>&"', "{{7*7}}", "]]><x/>&amp;"])
def test_hostile_names_and_labels_are_escaped(hostile: str) -> None:
    buyer = replace(
        BE_BUYER,
        name=hostile,
        address=PostalAddress(country="BE", street=hostile, city=hostile, postal_zone="1000"),
    )
    line = replace(_line("S", "21"), label=hostile, description=hostile)
    document = _document(buyer, line, note=hostile, buyer_reference=hostile)
    for xml in (build_invoice(document), build_credit_note(_credit(document))):
        assert fatal_errors(xml) == []
        assert b"<script>" not in xml and b"<x/>" not in xml
        if hostile == "{{7*7}}":
            assert xml.count(b"{{7*7}}") >= 5
        buyer_party = "//cac:AccountingCustomerParty/cac:Party"
        assert set(_xpath(xml, f"{buyer_party}//cbc:Name/text()")) == {hostile}
        assert _xpath(xml, f"{buyer_party}//cbc:RegistrationName/text()") == [hostile]
        assert _xpath(xml, f"{buyer_party}/cac:PostalAddress/cbc:CityName/text()") == [hostile]
        assert _xpath(xml, "//cac:Item/cbc:Name/text()") == [hostile]
        assert _xpath(xml, "/*/cbc:Note/text()") == [hostile]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ((_line("S", "0"),), "positive VAT rate"),
        ((_line("AE", "21"),), "0 %"),
        ((_line("O", "0"), _line("S", "21")), "BR-O-11"),
        ((), "at least one line"),
    ],
)
def test_inconsistent_vat_is_refused(lines: tuple[Line, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_invoice(_document(BE_BUYER, *lines))


def test_invoice_and_credit_note_are_not_confused() -> None:
    with pytest.raises(ValueError, match="BT-25"):
        build_credit_note(CASES["S-21"])
    with pytest.raises(ValueError, match="credit note"):
        build_invoice(_credit(CASES["S-21"]))


def test_credit_note_asks_for_no_payment() -> None:
    xml = build_credit_note(_credit(CASES["S-21"]))
    assert _xpath(xml, "//cac:PaymentMeans") == []
    assert _xpath(xml, "//cac:PaymentTerms/cbc:Note/text()") == [
        "Credit note on invoice F-2026-000123"
    ]


def test_standard_rate_never_carries_an_exemption_reason() -> None:
    document = _document(BE_BUYER, _line("S", "21"), exemption_reasons=(("S", "no"),))
    xml = build_invoice(document)
    assert _xpath(xml, "//cbc:TaxExemptionReason") == []
    assert fatal_errors(xml) == []


def test_characters_xml_cannot_carry_are_refused() -> None:
    buyer = replace(BE_BUYER, name="ACME\x00")
    with pytest.raises(ValueError):
        build_invoice(_document(buyer, _line("S", "21")))


def test_credit_note_has_no_due_date_element_but_keeps_its_terms() -> None:
    xml = build_credit_note(_credit(CASES["S-6"]))
    assert _xpath(xml, "/*/cbc:DueDate") == []


@pytest.mark.parametrize(
    ("text", "country", "expected"),
    [
        ("Rue Royale 1\n1000 Bruxelles", "be", ("Rue Royale 1", None, "1000", "Bruxelles")),
        ("Kade 3, bus 2, 1071 LN Amsterdam", "NL", ("Kade 3", "bus 2", "1071 LN", "Amsterdam")),
        ("1000 BRUXELLES", "BE", (None, None, "1000", "BRUXELLES")),
        ("PO Box 7", "CH", ("PO Box 7", None, None, None)),
    ],
)
def test_free_text_address_is_split(
    text: str, country: str, expected: tuple[str | None, ...]
) -> None:
    address = PostalAddress.from_text(text, country)
    assert address.country == country.upper()
    assert (address.street, address.additional_street, address.postal_zone, address.city) == (
        expected
    )
