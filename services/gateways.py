"""External services behind ports, with the simulated ones of the embedded default.

The simulated declaration gateway behaves like the real one in the ways that matter to us: it is
slow at times, fails at times (its settings live in the database so ops can change them at
runtime), and answers the same reference for the same idempotency key.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import DomainError, NotFound
from domain.errors import FieldError
from models import GatewaySetting
from services import audit
from services.access import Viewer

DECLARATION = "declaration"
EMAIL = "email"
BANK = "bank"
# The simulated external services of the embedded default, which ops may break and fix.
GATEWAYS = (DECLARATION, EMAIL, BANK)
MAX_LATENCY_SECONDS = 30.0


class GatewayUnavailable(RuntimeError):
    """The external service did not accept the request; trying again may work."""


@dataclass(frozen=True)
class DeclarationPayload:
    idempotency_key: str
    kind: str  # "in" (start of employment, end date included) | "cancel"
    national_number: str
    start_date: str
    end_date: str
    # The mission's employment: "ordinary" (white-collar) | "artistic" (art. 1bis). Both are
    # declared as worker type OTH: no Dimona type of its own exists for art. 1bis contracts.
    contract_type: str
    worker_type: str = "OTH"


class DeclarationGateway(Protocol):
    async def submit(self, payload: DeclarationPayload) -> str: ...


async def gateway_setting(session: AsyncSession, name: str) -> GatewaySetting:
    setting = await session.get(GatewaySetting, name)
    return setting or GatewaySetting(name=name, failure_rate=0.0, latency_seconds=0.0)


def parse_gateway(name: object) -> str:
    if not isinstance(name, str) or name not in GATEWAYS:
        raise NotFound("gateway")
    return name


def _ratio(value: object, field: str, upper: float) -> float:
    # JSON numbers only, no bool; NaN/Infinity and out-of-range values are refused.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FieldError(field, "a number")
    number = float(value)
    if math.isnan(number) or math.isinf(number):
        raise FieldError(field, "a finite number")
    if not 0 <= number <= upper:
        raise FieldError(field, f"between 0 and {upper:g}")
    return number


def gateway_out(setting: GatewaySetting) -> dict[str, Any]:
    return {
        "name": setting.name,
        "failure_rate": setting.failure_rate,
        "latency_seconds": setting.latency_seconds,
    }


async def list_gateways(session: AsyncSession) -> list[GatewaySetting]:
    """Every simulated gateway with its current behaviour (healthy when never set)."""
    return [await gateway_setting(session, name) for name in GATEWAYS]


async def set_gateway(
    session: AsyncSession,
    viewer: Viewer,
    name: object,
    failure_rate: object,
    latency: object,
    reason: object,
) -> GatewaySetting:
    """Ops: make a simulated gateway fail or slow down (demo, training), audited."""
    if viewer.role != "ops":
        raise DomainError("ops only", 403)
    gateway = parse_gateway(name)
    text = audit.require_reason(reason)
    rate = _ratio(failure_rate, "failure_rate", 1.0)
    seconds = _ratio(latency, "latency_seconds", MAX_LATENCY_SECONDS)
    setting = await session.get(GatewaySetting, gateway, with_for_update=True)
    before = None if setting is None else gateway_out(setting)
    if setting is None:
        setting = GatewaySetting(name=gateway)
        session.add(setting)
    setting.failure_rate = rate
    setting.latency_seconds = seconds
    await session.flush()
    await audit.record(
        session,
        viewer,
        action="set_gateway",
        target_type="gateway",
        target_id=gateway,
        reason=text,
        before=before or {"name": gateway, "failure_rate": 0.0, "latency_seconds": 0.0},
        after=gateway_out(setting),
    )
    return setting


async def simulate(setting: GatewaySetting, what: str) -> None:
    """Behave like the configured gateway: wait its latency, fail at its rate (retryable)."""
    if setting.latency_seconds > 0:
        await asyncio.sleep(setting.latency_seconds)
    if setting.failure_rate > 0 and random.random() < setting.failure_rate:
        raise GatewayUnavailable(
            f"{what} unavailable (simulated failure, rate {setting.failure_rate:.0%})"
        )


class SimulatedDeclarationGateway:
    """Dimona-like gateway of the embedded default: latency and failure rate from the database."""

    def __init__(self, failure_rate: float, latency_seconds: float) -> None:
        self.failure_rate = failure_rate
        self.latency_seconds = latency_seconds

    async def submit(self, payload: DeclarationPayload) -> str:
        if self.latency_seconds > 0:
            await asyncio.sleep(self.latency_seconds)
        if self.failure_rate > 0 and random.random() < self.failure_rate:
            raise GatewayUnavailable(
                f"declaration gateway unavailable (simulated failure, rate {self.failure_rate:.0%})"
            )
        digest = hashlib.sha256(payload.idempotency_key.encode()).hexdigest()[:12].upper()
        return f"DIMONA-{digest}"


@dataclass(frozen=True)
class PayoutOrder:
    """A salary transfer; the bank executes one transfer per end-to-end id, however often sent."""

    end_to_end_id: str
    iban: str
    amount: str


class BankGateway(Protocol):
    async def transfer(self, order: PayoutOrder) -> str: ...


class SimulatedBankGateway:
    """The bank of the embedded default: latency and failure rate from the database."""

    def __init__(self, failure_rate: float, latency_seconds: float) -> None:
        self.setting = GatewaySetting(
            name=BANK, failure_rate=failure_rate, latency_seconds=latency_seconds
        )

    async def transfer(self, order: PayoutOrder) -> str:
        await simulate(self.setting, "bank payout gateway")
        return "BANK-" + hashlib.sha256(order.end_to_end_id.encode()).hexdigest()[:12].upper()
