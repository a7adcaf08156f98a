"""Belgian structured communication (domain.md §2.3)."""

from __future__ import annotations

import pytest

from domain.errors import FieldError
from domain.ogm import ogm_digits, ogm_for_invoice, parse_ogm


def _from_base(base: str) -> str:
    """Independent reference implementation of domain.md §2.3 (mod 97, 0 -> 97)."""
    check = int(base) % 97 or 97
    digits = f"{base}{check:02d}"
    return f"+++{digits[:3]}/{digits[3:7]}/{digits[7:]}+++"


@pytest.mark.parametrize(
    ("base", "expected"),
    [
        ("0123456789", "+++012/3456/78939+++"),
        ("0851927541", "+++085/1927/54115+++"),
        ("0000000000", "+++000/0000/00097+++"),  # the "97 rule"
        ("2026000042", "+++202/6000/04236+++"),
    ],
)
def test_domain_examples(base: str, expected: str) -> None:
    assert _from_base(base) == expected
    assert parse_ogm(base + expected[-5:-3]) == expected


def test_ogm_for_invoice_example() -> None:
    assert ogm_for_invoice(2026, 42) == "+++202/6000/04236+++"


@pytest.mark.parametrize(
    ("year", "sequence"), [(2026, 0), (2026, 1), (2026, 999_999), (1000, 0), (9999, 123456)]
)
def test_ogm_for_invoice_matches_reference(year: int, sequence: int) -> None:
    ogm = ogm_for_invoice(year, sequence)
    assert ogm == _from_base(f"{year:04d}{sequence:06d}")
    assert parse_ogm(ogm) == ogm


def test_ogm_for_invoice_is_unique_per_sequence() -> None:
    ogms = {ogm_for_invoice(2026, s) for s in range(5000)}
    assert len(ogms) == 5000


def test_ogm_for_invoice_97_rule() -> None:
    # 2026000000 + s is a multiple of 97 for some s: check digits must then be 97, never 00.
    s = next(s for s in range(97) if (2026000000 + s) % 97 == 0)
    assert ogm_for_invoice(2026, s).endswith("97+++")


@pytest.mark.parametrize(
    ("year", "sequence"),
    [(2026, 1_000_000), (2026, -1), (999, 1), (10000, 1), (True, 1), (2026, True)],
)
def test_ogm_for_invoice_refusals(year: int, sequence: int) -> None:
    with pytest.raises(ValueError):
        ogm_for_invoice(year, sequence)


@pytest.mark.parametrize(
    "raw",
    [
        "+++010/8068/17183+++",
        "***010/8068/17183***",
        "010806817183",
        "010/8068/17183",
        "010 8068 17183",
        " +++010 / 8068 / 17183+++ ",
        "+++010806817183+++",
    ],
)
def test_parse_ogm_spellings(raw: str) -> None:
    assert parse_ogm(raw) == "+++010/8068/17183+++"


def test_parse_ogm_other_valid_example() -> None:
    assert parse_ogm("+++312/4013/98067+++") == "+++312/4013/98067+++"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("+++010/8068/17180+++", "check digits do not match (mod 97)"),
        ("+++012/3456/78938+++", "check digits do not match (mod 97)"),
        ("000000000000", "check digits do not match (mod 97)"),  # 00 is never valid
        ("+++010/8068/1718+++", "wrong length: expected 12 digits, got 11"),
        ("0108068171833", "wrong length: expected 12 digits, got 13"),
        ("+++010/8068/17183", "on both sides"),
        ("010/8068/17183+++", "on both sides"),
        ("+++010/8068/17183***", "on both sides"),
        ("++010/8068/17183++", "bad format"),
        ("+++010-8068-17183+++", "bad format"),
        ("RF18539007547034", "bad format"),
        ("+++０10/8068/17183+++", "non-ASCII"),
        ("+++010/8068\u200b/17183+++", "non-ASCII"),
        ("", "is required"),
        (None, "is required"),
        (10806817183, "must be a string"),
        ("1" * 100, "too long"),
    ],
)
def test_parse_ogm_refusals(raw: object, reason: str) -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_ogm(raw)
    assert excinfo.value.field == "structured_communication"
    assert reason in excinfo.value.message


def test_parse_ogm_custom_field() -> None:
    with pytest.raises(FieldError) as excinfo:
        parse_ogm("+++010/8068/17180+++", "reference")
    assert excinfo.value.field == "reference"


def test_ogm_digits() -> None:
    assert ogm_digits("+++202/6000/04236+++") == "202600004236"
    assert ogm_digits("***010/8068/17183***") == "010806817183"
    with pytest.raises(FieldError):
        ogm_digits("+++010/8068/17180+++")
