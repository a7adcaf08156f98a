"""Invoice PDF: mentions, locale formatting, EPC QR round trip, injection (no database needed)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from documents.pdf import Buyer, InvoiceDocument, InvoiceLine, Seller, render_invoice_pdf
from documents.qr import epc_payload, epc_qr_png, epc_qr_svg

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "documents"
OGM = "+++012/3456/78939+++"

# Real tools, never a skip: `make test` installs them (.ci/system-deps).
MISSING = [tool for tool in ("pdftotext", "pdftoppm", "zbarimg") if not shutil.which(tool)]
assert not MISSING, f"{MISSING} missing: run .ci/system-deps (poppler-utils, zbar-tools)"

SELLER = Seller(
    name="Coopflow SCRL",
    street="Rue Coenraets 72",
    postal_zone="1060",
    city="Bruxelles",
    country="BE",
    vat_number="BE0123456749",
    enterprise_number="0123456749",
    legal_form="SC / CV",
    register_court="Bruxelles",
    iban="BE71096123456769",
)


def make_doc(**changes: object) -> InvoiceDocument:
    doc = InvoiceDocument(
        seller=SELLER,
        buyer=Buyer(
            name="Atelier Lumière SRL",
            address="Rue de la Loi 16\n1000 Bruxelles",
            country="BE",
            vat_number="BE0851927541",
        ),
        number="2026-A-000042",
        issue_date=date(2026, 3, 5),
        due_date=date(2026, 4, 4),
        supply_start=date(2026, 2, 2),
        supply_end=date(2026, 2, 27),
        lines=(
            InvoiceLine("Conception graphique du catalogue", Decimal("900.00")),
            InvoiceLine("Frais de déplacement", Decimal("100.00")),
        ),
        vat_category="S",
        vat_rate=Decimal("21"),
        total_excl_vat=Decimal("1000.00"),
        vat_amount=Decimal("210.00"),
        total_incl_vat=Decimal("1210.00"),
        structured_communication=OGM,
        language="fr",
    )
    return replace(doc, **changes)  # type: ignore[arg-type]


def pdf_text(pdf: bytes) -> str:
    out = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True
    ).stdout.decode("utf-8")
    return out


def norm(text: str) -> str:
    """Collapse every kind of whitespace (incl. babel's no-break and narrow no-break spaces)."""
    return re.sub(r"[\s\u00a0\u202f\u2009]+", " ", text)


def page_png(pdf: bytes, tmp_path: Path, name: str) -> Path:
    src = tmp_path / f"{name}.pdf"
    src.write_bytes(pdf)
    subprocess.run(
        [
            "pdftoppm",
            "-png",
            "-r",
            "100",
            "-f",
            "1",
            "-l",
            "1",
            "-singlefile",
            str(src),
            str(tmp_path / name),
        ],
        check=True,
    )
    return tmp_path / f"{name}.png"


def decode_qr(png: Path) -> str:
    result = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, check=True)
    return result.stdout.decode("utf-8").removesuffix("\n")


EXPECTED = {
    # babel: fr_BE "1\u202f210,00\xa0€" (narrow no-break + no-break space),
    # nl_BE "€\xa01.210,00", en "€1,210.00"; norm() folds those spaces.
    "fr": {
        "money": ["1 210,00 €", "1 000,00 €", "210,00 €", "900,00 €"],
        "dates": ["5 mars 2026", "2 février 2026", "27 février 2026", "4 avril 2026"],
        "labels": [
            "Facture",
            "N° TVA",
            "RPM Bruxelles",
            "Communication structurée",
            "Total TVAC",
            "Base imposable",
            "21 %",
        ],
    },
    "nl": {
        "money": ["€ 1.210,00", "€ 1.000,00", "€ 210,00", "€ 900,00"],
        "dates": ["5 maart 2026", "2 februari 2026", "27 februari 2026", "4 april 2026"],
        "labels": [
            "Factuur",
            "Btw-nr.",
            "RPR Bruxelles",
            "Gestructureerde mededeling",
            "Totaal incl. btw",
            "Maatstaf van heffing",
            "21 %",
        ],
    },
    "en": {
        "money": ["€1,210.00", "€1,000.00", "€210.00", "€900.00"],
        "dates": ["March 5, 2026", "February 2, 2026", "February 27, 2026", "April 4, 2026"],
        "labels": [
            "Invoice",
            "VAT no.",
            "RLE Bruxelles",
            "Structured communication",
            "Total incl. VAT",
            "Taxable base",
            "21 %",
        ],
    },
}


@pytest.mark.parametrize("language", ["fr", "nl", "en"])
def test_invoice_mentions_locale_and_qr(language: str, tmp_path: Path) -> None:
    doc = make_doc(language=language)
    pdf = render_invoice_pdf(doc)
    assert pdf.startswith(b"%PDF-")
    text = norm(pdf_text(pdf))

    # Mandatory mentions (domain.md §2.1).
    for expected in [
        "2026-A-000042",  # sequential number
        "Coopflow SCRL",
        "Rue Coenraets 72",
        "1060 Bruxelles",
        "BE0123.456.749",  # seller VAT number
        "0123.456.749",  # enterprise number
        "SC / CV",  # legal form
        "Atelier Lumière SRL",
        "Rue de la Loi 16",
        "BE0851.927.541",  # buyer VAT number (B2B)
        "Conception graphique du catalogue",
        "BE71 0961 2345 6769",  # Belgian bank account
        OGM,
    ]:
        assert expected in text, expected
    for expected in EXPECTED[language]["money"] + EXPECTED[language]["dates"]:
        assert norm(expected) in text, expected
    for expected in EXPECTED[language]["labels"]:
        assert expected in text, expected
    assert "1/1" in text  # page number footer

    png = page_png(pdf, tmp_path, f"invoice-{language}")
    assert decode_qr(png) == epc_payload("Coopflow SCRL", "BE71096123456769", "1210.00", OGM)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(png, ARTIFACTS / f"invoice-{language}.png")


@pytest.mark.parametrize(
    ("language", "mention"),
    [("fr", "Autoliquidation"), ("nl", "Verlegging van heffing"), ("en", "Reverse charge")],
)
def test_reverse_charge_invoice_carries_the_mention(language: str, mention: str) -> None:
    doc = make_doc(
        language=language,
        vat_category="AE",
        vat_rate=Decimal("0"),
        vat_amount=Decimal("0.00"),
        total_incl_vat=Decimal("1000.00"),
        buyer=Buyer(
            name="Studio Nord BV",
            address="Keizersgracht 1\n1015 Amsterdam",
            country="NL",
            vat_number="NL123456789B01",
        ),
    )
    text = norm(pdf_text(render_invoice_pdf(doc)))
    assert mention in text
    assert "NL123456789B01" in text
    assert "AE" in text
    assert "art. 196" in text


def test_out_of_scope_invoice(tmp_path: Path) -> None:
    doc = make_doc(
        vat_category="O",
        vat_rate=Decimal("0"),
        vat_amount=Decimal("0.00"),
        total_incl_vat=Decimal("1000.00"),
        buyer=Buyer(name="Maple Films Inc.", address="1 Main St\nToronto", country="CA"),
    )
    pdf = render_invoice_pdf(doc)
    text = norm(pdf_text(pdf))
    assert "Hors du champ d'application de la TVA belge" in text
    assert norm("1 000,00 €") in text
    assert "Autoliquidation" not in text
    png = page_png(pdf, tmp_path, "invoice-o")
    assert decode_qr(png) == epc_payload("Coopflow SCRL", "BE71096123456769", "1000", OGM)


def test_custom_vat_mention_is_printed() -> None:
    doc = make_doc(
        vat_category="E",
        vat_rate=Decimal("0"),
        vat_amount=Decimal("0.00"),
        total_incl_vat=Decimal("1000.00"),
        vat_mention="Exonération art. 44 § 2, 8°",
    )
    assert "Exonération art. 44 § 2, 8°" in norm(pdf_text(render_invoice_pdf(doc)))


def test_money_rounds_half_up() -> None:
    doc = make_doc(lines=(InvoiceLine("Prestation", Decimal("0.125")),))
    assert norm("0,13 €") in norm(pdf_text(render_invoice_pdf(doc)))


@pytest.mark.parametrize(
    "hostile", ["<script>alert(1)</script>", "{{7*7}}", "<b>x</b> & {% raw %}"]
)
def test_hostile_names_render_literally(hostile: str) -> None:
    doc = make_doc(
        buyer=Buyer(name=hostile, address=hostile, country="BE", vat_number=None),
        lines=(InvoiceLine(hostile, Decimal("1000.00")),),
    )
    text = norm(pdf_text(render_invoice_pdf(doc)))
    assert text.count(hostile) >= 3
    if hostile == "{{7*7}}":
        assert not re.search(r"\b49\b", text)


def test_epc_payload_format_and_limits() -> None:
    assert epc_payload("Coopflow SCRL", "BE71 0961 2345 6769", Decimal("12.50"), OGM) == (
        "BCD\n002\n1\nSCT\n\nCoopflow SCRL\nBE71096123456769\nEUR12.5\n\n012345678939"
    )
    for bad in ("0", "0.004", "1000000000"):
        with pytest.raises(ValueError):
            epc_payload("Coopflow SCRL", "BE71096123456769", bad, OGM)
    with pytest.raises(ValueError):
        epc_payload("Coopflow SCRL", "BE71096123456769", "10", "+++012/3456/78940+++")
    assert epc_qr_png("Coopflow SCRL", "BE71096123456769", "10", OGM).startswith(b"\x89PNG")
    assert "<svg" in epc_qr_svg("Coopflow SCRL", "BE71096123456769", "10", OGM)


def test_long_invoice_numbers_its_pages() -> None:
    lines = tuple(InvoiceLine(f"Journée de prestation n° {i}", Decimal("20.00")) for i in range(50))
    text = norm(pdf_text(render_invoice_pdf(make_doc(lines=lines))))
    footers = re.findall(r"Facture 2026-A-000042 (\d+)/(\d+)", text)
    pages = int(footers[0][1])
    assert pages >= 2
    assert footers == [(str(n), str(pages)) for n in range(1, pages + 1)]
    assert "Journée de prestation n° 49" in text
