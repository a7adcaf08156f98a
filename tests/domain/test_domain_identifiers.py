"""Identifiers, e-mail and free text (reliability.md "Bad inputs")."""

from __future__ import annotations

import pytest

from domain.errors import FieldError
from domain.identifiers import (
    EU_COUNTRIES,
    ISO_COUNTRIES,
    clean_text,
    normalize_be_enterprise_number,
    normalize_country,
    normalize_email,
    normalize_iban,
    normalize_niss,
    normalize_vat_number,
)


def refusal(func: object, *args: object, **kwargs: object) -> FieldError:
    assert callable(func)
    with pytest.raises(FieldError) as excinfo:
        func(*args, **kwargs)
    return excinfo.value


# --- IBAN -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("BE71096123456769", "BE71096123456769"),
        ("BE71 0961 2345 6769", "BE71096123456769"),
        ("be71 0961 2345 6769", "BE71096123456769"),
        ("  be71-0961-2345-6769 ", "BE71096123456769"),
        ("NL91 ABNA 0417 1643 00", "NL91ABNA0417164300"),
        ("DE89 3704 0044 0532 0130 00", "DE89370400440532013000"),
        ("fr14 2004 1010 0505 0001 3m02 606", "FR1420041010050500013M02606"),
    ],
)
def test_iban_normalised_compact_upper(raw: str, expected: str) -> None:
    assert normalize_iban(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("BE72 0961 2345 6769", "bad checksum"),
        ("BE71 0961 2345 6760", "bad checksum"),
        ("BE71 0961 2345 676", "wrong length: a BE IBAN has 16 characters, got 15"),
        ("BE71 0961 2345 67690", "wrong length: a BE IBAN has 16 characters, got 17"),
        ("NL91ABNA041716430", "wrong length: a NL IBAN has 18 characters"),
        ("XX71096123456769", "bad format"),
        ("US71096123456769", "bad format"),
        ("BE7I096123456769", "bad format"),
        ("71096123456769", "bad format"),
        ("BE71_0961_2345_6769", "bad format"),
        ("BE71\u200b0961 2345 6769", "U+200B (ZERO WIDTH SPACE)"),
        ("\u202eBE71 0961 2345 6769", "U+202E"),
        ("ＢＥ71 0961 2345 6769", "FULLWIDTH LATIN CAPITAL LETTER B"),
        ("BE71 ０９６１ 2345 6769", "FULLWIDTH DIGIT ZERO"),
        ("BE71\t0961 2345 6769", "control character"),
        ("", "is required"),
        ("   ", "is required"),
        (None, "is required"),
        (71096123456769, "must be a string"),
        ("BE71" * 40, "too long"),
    ],
)
def test_iban_refusals(raw: object, reason: str) -> None:
    err = refusal(normalize_iban, raw)
    assert err.field == "iban"
    assert reason in err.message


def test_iban_custom_field_name() -> None:
    assert refusal(normalize_iban, "BE72096123456769", "payout_iban").field == "payout_iban"


# --- NISS -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("85.07.30-033.28", "85073003328"),
        ("85073003328", "85073003328"),
        ("85 07 30 033 28", "85073003328"),
        ("05.03.12-123.60", "05031212360"),  # born in 2005 (the "2" prefix rule)
        ("85.47.30-033.17", "85473003317"),  # BIS number, month + 40
        ("85.27.30-033.71", "85273003371"),  # BIS number, month + 20
    ],
)
def test_niss_accepts_national_and_bis_numbers(raw: str, expected: str) -> None:
    assert normalize_niss(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("85.07.30-033.29", "check digits do not match (mod 97)"),
        ("85073003327", "check digits do not match (mod 97)"),
        ("85153003384", "valid birth date"),  # mod 97 fine but month 15
        ("8507300332", "exactly 11 digits"),
        ("850730033288", "exactly 11 digits"),
        ("85O73003328", "exactly 11 digits"),
        ("８５073003328", "non-ASCII"),
        ("85073\u200b003328", "non-ASCII"),
        (85073003328, "must be a string"),
        ("", "is required"),
    ],
)
def test_niss_refusals(raw: object, reason: str) -> None:
    err = refusal(normalize_niss, raw)
    assert err.field == "national_number"
    assert reason in err.message


# --- Belgian enterprise / VAT number ---------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "BE0403170701",
        "0403.170.701",
        "BE 0403 170 701",
        "be0403170701",
        "BE0403.170.701",
        "0403-170-701",
        "403170701",  # legacy 9-digit form
        "BE403170701",
        " BE 0403.170.701 ",
    ],
)
def test_be_enterprise_number_forms(raw: str) -> None:
    assert normalize_be_enterprise_number(raw) == "BE0403170701"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("0403.170.702", "check digits do not match (mod 97)"),
        ("BE0403170700", "check digits do not match (mod 97)"),
        ("2403170701", "starts with 0 or 1"),
        ("04031707", "bad format"),
        ("040317070199", "bad format"),
        ("FR0403170701", "bad format"),
        ("BE0403170701X", "bad format"),
        ("BE０403170701", "FULLWIDTH DIGIT ZERO"),
        ("BE0403\u200b170701", "ZERO WIDTH SPACE"),
        ("BE0403\u200f170701", "RIGHT-TO-LEFT MARK"),
        (403170701, "must be a string"),
        ("", "is required"),
    ],
)
def test_be_enterprise_number_refusals(raw: object, reason: str) -> None:
    err = refusal(normalize_be_enterprise_number, raw)
    assert err.field == "vat_number"
    assert reason in err.message


# --- VAT numbers by country ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("0403.170.701", "BE", "BE0403170701"),
        ("0403.170.701", "be", "BE0403170701"),
        ("FR 40 303 265 045", "FR", "FR40303265045"),
        ("40303265045", "FR", "FR40303265045"),
        ("DE136695976", "DE", "DE136695976"),
        ("136695976", "DE", "DE136695976"),
        ("nl004495445b01", "NL", "NL004495445B01"),
        ("U13585627", "AT", "ATU13585627"),
        ("094259216", "GR", "EL094259216"),
        ("EL094259216", "GR", "EL094259216"),
        ("GR 094259216", "GR", "EL094259216"),
        ("CHE-123.456.789 MWST", "CH", "CHE123456789MWST"),
        (" gb123456789 ", "GB", "GB123456789"),
        ("12-3456789", "US", "123456789"),
    ],
)
def test_vat_number_by_country(raw: str, country: str, expected: str) -> None:
    assert normalize_vat_number(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "field", "reason"),
    [
        ("0403.170.702", "BE", "vat_number", "check digits do not match (mod 97)"),
        ("DE136695977", "DE", "vat_number", "check digits do not match for a DE VAT number"),
        ("DE13669597", "DE", "vat_number", "wrong length for a DE VAT number"),
        ("NL004495445B01", "FR", "vat_number", "prefix NL does not match the country FR"),
        ("FR", "FR", "vat_number", "is required"),
        ("ABC$123", "US", "vat_number", "2 to 30 letters or digits"),
        ("X", "US", "vat_number", "2 to 30 letters or digits"),
        ("A" * 31, "US", "vat_number", "2 to 30 letters or digits"),
        ("DE１３６695976", "DE", "vat_number", "non-ASCII"),
        ("DE136695976", "XX", "country", "not an ISO 3166 country code"),
        ("DE136695976", "EL", "country", "use GR for Greece"),
    ],
)
def test_vat_number_refusals(raw: str, country: str, field: str, reason: str) -> None:
    err = refusal(normalize_vat_number, raw, country)
    assert err.field == field
    assert reason in err.message


# --- Countries ------------------------------------------------------------------------------------


def test_eu_countries() -> None:
    assert len(EU_COUNTRIES) == 27
    assert "GR" in EU_COUNTRIES and "EL" not in EU_COUNTRIES
    assert "GB" not in EU_COUNTRIES
    assert EU_COUNTRIES <= ISO_COUNTRIES


def test_iso_countries_table() -> None:
    assert len(ISO_COUNTRIES) == 250  # 249 assigned codes + XK (Kosovo)
    assert all(len(c) == 2 and c.isascii() and c.isupper() for c in ISO_COUNTRIES)


def test_iso_countries_cover_every_iban_country() -> None:
    from stdnum import numdb

    iban_countries = {
        line.split()[0]
        for line in open(numdb.__file__.replace("numdb.py", "iban.dat"), encoding="utf-8")
        if line[:2].isalpha() and line[:2].isupper()
    }
    assert iban_countries
    assert iban_countries <= ISO_COUNTRIES


@pytest.mark.parametrize(("raw", "expected"), [("BE", "BE"), ("be", "BE"), (" fr ", "FR")])
def test_country_normalised(raw: str, expected: str) -> None:
    assert normalize_country(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("XX", "not an ISO 3166 country code"),
        ("UK", "use GB"),
        ("EL", "use GR"),
        ("BEL", "2-letter"),
        ("B", "2-letter"),
        ("B1", "2-letter"),
        ("ＢＥ", "non-ASCII"),
        ("", "is required"),
        (None, "is required"),
        (32, "must be a string"),
    ],
)
def test_country_refusals(raw: object, reason: str) -> None:
    err = refusal(normalize_country, raw)
    assert err.field == "country"
    assert reason in err.message


# --- E-mail ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("jane@example.be", "jane@example.be"),
        ("Jane.Doe@Example.BE", "Jane.Doe@example.be"),
        ("  jane+coop@mail.example.com ", "jane+coop@mail.example.com"),
        ("o'neil@xn--bcher-kva.de", "o'neil@xn--bcher-kva.de"),
    ],
)
def test_email_normalised(raw: str, expected: str) -> None:
    assert normalize_email(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("a@b.be\r\nBcc: x@y", "line breaks or control characters"),
        ("a@b.be\nBcc: x@y", "line breaks or control characters"),
        ("a@b.be\rx", "line breaks or control characters"),
        ("a@b.be\x00", "line breaks or control characters"),
        ("a@b.be\u2028", "line breaks or control characters"),
        ("a\u200b@b.be", "line breaks or control characters"),
        ("a" * 310 + "@example.be", "at most 254 characters"),
        ("a" * 65 + "@example.be", "mailbox name"),
        ("jane doe@example.be", "spaces"),
        ("jane@example", "must contain a dot"),
        ("jane@@example.be", 'exactly one "@"'),
        ("jane@x@example.be", 'exactly one "@"'),
        ("jane.example.be", 'exactly one "@"'),
        ("@example.be", "mailbox name"),
        ("jane.@example.be", "mailbox name"),
        ("ja..ne@example.be", "mailbox name"),
        ('"jane"@example.be', "mailbox name"),
        ("jane@example..be", "not a valid domain"),
        ("jane@.example.be", "not a valid domain"),
        ("jane@-example.be", "not a valid domain"),
        ("jane@example.be.", "not a valid domain"),
        ("jane@exa_mple.be", "not a valid domain"),
        ("jane@1.2.3.4", "not a valid domain"),
        ("jané@example.be", "ASCII"),
        ("jane@exämple.be", "ASCII"),
        ("", "is required"),
        (None, "is required"),
        (42, "must be a string"),
    ],
)
def test_email_refusals(raw: object, reason: str) -> None:
    err = refusal(normalize_email, raw)
    assert err.field == "email"
    assert reason in err.message


def test_email_length_320_plus_refused() -> None:
    raw = "a" * 64 + "@" + ".".join(["b" * 60] * 4) + ".be"
    assert len(raw) > 254
    assert "254" in refusal(normalize_email, raw).message


# --- Free text -------------------------------------------------------------------------------


def test_clean_text_strips() -> None:
    assert clean_text("  Atelier Dupont  ", field="name", max_length=100) == "Atelier Dupont"


def test_clean_text_keeps_unicode_letters_and_markup_as_text() -> None:
    # Escaping is the renderer's job: <script> and {{7*7}} are plain text here.
    for raw in ("Zoë Ünal-Þórsdóttir", "محمد", "<script>alert(1)</script>", "{{7*7}}"):
        assert clean_text(raw, field="name", max_length=100) == raw


def test_clean_text_optional() -> None:
    assert clean_text(None, field="note", max_length=10, required=False) == ""
    assert clean_text("   ", field="note", max_length=10, required=False) == ""


def test_clean_text_max_length_boundary() -> None:
    assert clean_text("x" * 200, field="name", max_length=200) == "x" * 200


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("x" * 10_000, "at most 200 characters (got 10000)"),
        ("x" * 201, "at most 200 characters"),
        ("Invoice \u202eexe.pdf", "text-direction override U+202E"),
        ("a\u202ab", "U+202A"),
        ("a\u202db", "U+202D"),
        ("a\u2066b", "U+2066"),
        ("a\u2069b", "U+2069"),
        ("line1\nline2", "control character"),
        ("tab\there", "control character"),
        ("bell\x07", "control character"),
        ("nul\x00", "control character"),
        ("del\x7f", "control character"),
        ("c1\x85c1", "control character"),
        ("lone \ud800 surrogate", "surrogate"),
        ("", "is required"),
        ("   ", "is required"),
        (None, "is required"),
        (123, "must be a string"),
    ],
)
def test_clean_text_refusals(raw: object, reason: str) -> None:
    err = refusal(clean_text, raw, field="name", max_length=200)
    assert err.field == "name"
    assert reason in err.message
