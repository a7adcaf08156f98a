"""VAT number checks: the port a reverse-charge invoice's client VAT number is checked through.

Reverse charge (and an intra-community supply) needs the customer's valid VAT number of another
member state; the supplier checks it in VIES and keeps the proof (domain.md §2.2, §4). Each check
returns a `VatCheck` that the invoice row keeps at issue time (status, when, reference).

- `NoVatCheck`, the embedded default (COOPFLOW_VAT_CHECKER=none), makes no network call: it records
  "not_checked", which the invoice JSON and the ops console show, so nobody mistakes it for a proof.
- `ViesChecker` (COOPFLOW_VAT_CHECKER=vies) asks the European Commission's VIES REST service
  (POST /check-vat-number, with the coop's own VAT number as requester so that VIES returns a
  consultation number, the proof to keep). VIES being down or slow must not stop an invoice
  that the law requires to be issued: an unavailable VIES is "not_checked", with the reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

import httpx

from core.settings import Settings

VatCheckStatus = Literal["valid", "invalid", "not_checked"]
VAT_CHECKERS = ("none", "vies")
# VIES spells Greece EL (ISO 3166: GR).
_VIES_COUNTRY = {"GR": "EL"}


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class VatCheck:
    """The outcome of one check: what VIES said, when, and its consultation number if any."""

    status: VatCheckStatus
    checked_at: datetime
    checker: str
    name: str | None = None
    address: str | None = None
    reference: str | None = None
    detail: str | None = None  # why it is not checked, or VIES's own message
    raw: dict[str, Any] = field(default_factory=dict)

    def as_detail(self) -> dict[str, Any]:
        """What the invoice row keeps beside status / when / reference."""
        return {
            k: v
            for k, v in {
                "checker": self.checker,
                "name": self.name,
                "address": self.address,
                "detail": self.detail,
            }.items()
            if v
        }


class VatNumberChecker(Protocol):
    name: str

    async def check(self, country: str, number: str) -> VatCheck:
        """Check `number` (compact, with or without its country prefix) of member state
        `country` (ISO 3166). Never raises for an unreachable service: returns "not_checked"."""
        ...


class NoVatCheck:
    """The embedded default: no network, every number "not_checked"."""

    name = "none"

    async def check(self, country: str, number: str) -> VatCheck:
        return VatCheck(
            status="not_checked",
            checked_at=_now(),
            checker=self.name,
            detail="no VAT number checker is configured (COOPFLOW_VAT_CHECKER=none)",
        )


def _digits_of(country: str, number: str) -> tuple[str, str]:
    compact = re.sub(r"[\s.\-/]", "", number).upper()
    code = _VIES_COUNTRY.get(country.upper(), country.upper())
    for prefix in (code, country.upper()):
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
            break
    return code, compact


class ViesChecker:
    """The VIES REST service (POST {url}/check-vat-number). `transport` lets tests use a fake."""

    name = "vies"

    def __init__(
        self,
        url: str,
        requester_vat_number: str,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.requester = _digits_of(requester_vat_number[:2], requester_vat_number)
        self.timeout = timeout
        self.transport = transport

    async def check(self, country: str, number: str) -> VatCheck:
        code, digits = _digits_of(country, number)
        body = {
            "countryCode": code,
            "vatNumber": digits,
            "requesterMemberStateCode": self.requester[0],
            "requesterNumber": self.requester[1],
        }
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as http:
                response = await http.post(f"{self.url}/check-vat-number", json=body)
            data = response.json() if response.content else {}
        except (httpx.HTTPError, ValueError) as err:
            return VatCheck("not_checked", _now(), self.name, detail=f"VIES unreachable: {err}")
        if not isinstance(data, dict):
            data = {}
        valid = data.get("valid", data.get("isValid"))
        if response.status_code != 200 or not isinstance(valid, bool):
            # VIES answers a member state's outage with an error code, not with "invalid".
            error = data.get("userError") or data.get("errorWrappers") or response.reason_phrase
            return VatCheck(
                "not_checked",
                _now(),
                self.name,
                detail=f"VIES could not answer ({response.status_code}): {error}"[:500],
            )

        def text(key: str) -> str | None:
            value = data.get(key)
            return str(value)[:500] if value and value != "---" else None

        return VatCheck(
            status="valid" if valid else "invalid",
            checked_at=_now(),
            checker=self.name,
            name=text("name"),
            address=text("address"),
            reference=text("requestIdentifier"),
            detail=text("userError"),
            raw={k: data[k] for k in ("countryCode", "vatNumber", "requestDate") if k in data},
        )


def checker_from_settings(settings: Settings) -> VatNumberChecker:
    """The checker COOPFLOW_VAT_CHECKER names: "none" (default, no network) or "vies"."""
    if settings.vat_checker == "vies":
        return ViesChecker(
            settings.vies_url, settings.coop_vat_number, settings.vies_timeout_seconds
        )
    return NoVatCheck()
