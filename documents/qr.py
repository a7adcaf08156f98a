"""EPC QR code ("SEPA credit transfer" QR, EPC069-12 version 002) for invoices, made with segno.

The remittance field holds the 12 digits of the Belgian structured communication (OGM/VCS),
without the ``+++`` and ``/`` decoration, so banking apps fill in the structured reference.
"""

from __future__ import annotations

import io
import re
from decimal import ROUND_HALF_UP, Decimal

import segno
import segno.helpers

MIN_AMOUNT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")


def _amount(amount: Decimal | int | str) -> Decimal:
    value = Decimal(amount).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if not MIN_AMOUNT <= value <= MAX_AMOUNT:
        raise ValueError(
            f"EPC QR amount must be between {MIN_AMOUNT} and {MAX_AMOUNT}, got {value}"
        )
    return value


def _reference(structured_reference: str) -> str:
    digits = re.sub(r"\D", "", structured_reference)
    if len(digits) != 12 or (int(digits[:10]) % 97 or 97) != int(digits[10:]):
        raise ValueError(f"not a valid structured communication: {structured_reference!r}")
    return digits


def _iban(iban: str) -> str:
    return re.sub(r"\s", "", iban).upper()


def _check_name(name: str) -> str:
    name = name.strip()
    if not 0 < len(name) <= 70:
        raise ValueError("EPC QR beneficiary name must be 1 to 70 characters")
    return name


def _make(
    name: str, iban: str, amount: Decimal | int | str, structured_reference: str
) -> segno.QRCode:
    return segno.helpers.make_epc_qr(
        name=_check_name(name),
        iban=_iban(iban),
        amount=_amount(amount),
        reference=_reference(structured_reference),
        encoding="utf-8",
    )


def epc_payload(
    name: str, iban: str, amount: Decimal | int | str, structured_reference: str
) -> str:
    """The exact text the QR code holds (what a scanner such as zbarimg gives back)."""
    value = _amount(amount)
    lines = [
        "BCD",  # service tag
        "002",  # version (BIC optional)
        "1",  # character set: UTF-8
        "SCT",  # SEPA credit transfer
        "",  # BIC (optional in version 002)
        _check_name(name),
        _iban(iban),
        # segno writes the amount without trailing zeros (EUR1210, EUR12.5).
        f"EUR{value:.2f}".rstrip("0").rstrip("."),
        "",  # purpose
        _reference(structured_reference),
    ]
    return "\n".join(lines)


def epc_qr_png(
    name: str, iban: str, amount: Decimal | int | str, structured_reference: str, scale: int = 4
) -> bytes:
    out = io.BytesIO()
    _make(name, iban, amount, structured_reference).save(out, kind="png", scale=scale, border=4)
    return out.getvalue()


def epc_qr_svg(
    name: str, iban: str, amount: Decimal | int | str, structured_reference: str, scale: int = 4
) -> str:
    out = io.BytesIO()
    _make(name, iban, amount, structured_reference).save(
        out, kind="svg", scale=scale, border=4, xmldecl=False, svgns=True
    )
    return out.getvalue().decode("utf-8")
