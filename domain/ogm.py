"""Belgian structured communication (OGM/VCS, "+++DDD/DDDD/DDDCC+++") for invoice payments.

10 base digits + 2 check digits: CC = base mod 97, and 97 when that is 0 (domain.md §2.3).
The invoice id is encoded as the 4-digit year + the 6-digit invoice sequence.
"""

from __future__ import annotations

import re

from stdnum.be import ogm_vcs as _ogm_vcs

from domain.errors import FieldError

__all__ = ["ogm_digits", "ogm_for_invoice", "parse_ogm"]

_MAX_SEQUENCE = 999_999
_BODY_CHARS = re.compile(r"[0-9 /]+")
_MAX_OGM_CHARS = 40


def _check_digits(base10: str) -> str:
    """Return the two check digits of 10 base digits (mod 97, 0 -> 97)."""
    return _ogm_vcs.calc_check_digits(base10)


def _format(digits12: str) -> str:
    """Render 12 digits as the canonical "+++DDD/DDDD/DDDCC+++"."""
    return f"+++{digits12[:3]}/{digits12[3:7]}/{digits12[7:]}+++"


def ogm_for_invoice(year: int, sequence: int) -> str:
    """Give the structured communication a client must quote to pay invoice (year, sequence)."""
    if isinstance(year, bool) or not 1000 <= year <= 9999:
        raise ValueError(f"year must have 4 digits, got {year!r}")
    if isinstance(sequence, bool) or not 0 <= sequence <= _MAX_SEQUENCE:
        raise ValueError(f"sequence must be between 0 and {_MAX_SEQUENCE}, got {sequence!r}")
    base = f"{year:04d}{sequence:06d}"
    return _format(base + _check_digits(base))


def parse_ogm(value: object, field: str = "structured_communication") -> str:
    """Accept a structured communication in any usual spelling and return its canonical form."""
    if value is None:
        raise FieldError(field, "is required")
    if not isinstance(value, str):
        raise FieldError(field, 'must be a string like "+++010/8068/17183+++"')
    text = value.strip()
    if text == "":
        raise FieldError(field, "is required")
    if len(text) > _MAX_OGM_CHARS:
        raise FieldError(field, "is too long for a structured communication")
    for ch in text:
        if not ch.isascii():
            raise FieldError(
                field, f"contains the non-ASCII character U+{ord(ch):04X}; use ASCII digits"
            )
    body = text
    for delimiter in ("+++", "***"):
        if text.startswith(delimiter) or text.endswith(delimiter):
            if not (text.startswith(delimiter) and text.endswith(delimiter) and len(text) > 6):
                raise FieldError(
                    field, f'must be enclosed in "{delimiter}" on both sides, or in neither'
                )
            body = text[3:-3]
            break
    if _BODY_CHARS.fullmatch(body) is None:
        raise FieldError(field, 'bad format: expected 12 digits like "+++010/8068/17183+++"')
    digits = body.replace(" ", "").replace("/", "")
    if len(digits) != 12:
        raise FieldError(field, f"wrong length: expected 12 digits, got {len(digits)}")
    if _check_digits(digits[:10]) != digits[10:]:
        raise FieldError(field, "check digits do not match (mod 97)")
    return _format(digits)


def ogm_digits(ogm: str) -> str:
    """Give the 12 bare digits of a structured communication (as sent in SEPA XML, Issr=BBA)."""
    return parse_ogm(ogm).strip("+").replace("/", "")
