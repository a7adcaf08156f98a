"""External services behind ports, with the simulated ones of the embedded default.

The simulated declaration gateway behaves like the real one in the ways that matter to us: it is
slow at times, fails at times (its settings live in the database so ops can change them at
runtime), and answers the same reference for the same idempotency key.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from models import GatewaySetting

DECLARATION = "declaration"


class GatewayUnavailable(RuntimeError):
    """The external service did not accept the request; trying again may work."""


@dataclass(frozen=True)
class DeclarationPayload:
    idempotency_key: str
    kind: str  # "in" (start of employment, end date included) | "cancel"
    national_number: str
    start_date: str
    end_date: str
    worker_type: str = "OTH"


class DeclarationGateway(Protocol):
    async def submit(self, payload: DeclarationPayload) -> str: ...


async def gateway_setting(session: AsyncSession, name: str) -> GatewaySetting:
    setting = await session.get(GatewaySetting, name)
    return setting or GatewaySetting(name=name, failure_rate=0.0, latency_seconds=0.0)


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
