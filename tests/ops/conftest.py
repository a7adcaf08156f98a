"""Helpers for the ops console tests: repairs through the API, audit rows, the gateways."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from models import AuditEntry
from tests.api import conftest as api_conftest
from tests.conftest import Stack

# The API tests' shared logins and members (advisor and ops made once per session).
accounts = api_conftest.accounts
stack = api_conftest.stack


async def repair(
    stack: Stack,
    mission_id: int,
    action: str,
    reason: str = "ops console test",
    headers: dict[str, str] | None = None,
    **params: Any,
) -> httpx.Response:
    return await stack.http.post(
        f"/api/missions/{mission_id}/repairs/{action}",
        json={"reason": reason, "params": params},
        headers=headers or await stack.ops(),
    )


async def set_gateway(
    stack: Stack, name: str, failure_rate: float, latency: float = 0.0, reason: str = "test"
) -> httpx.Response:
    r = await stack.http.put(
        f"/api/ops/gateways/{name}",
        json={"failure_rate": failure_rate, "latency_seconds": latency, "reason": reason},
        headers=await stack.ops(),
    )
    assert r.status_code == 200, r.text
    return r


async def audit_rows(stack: Stack, mission_id: int) -> list[AuditEntry]:
    async with stack.db.session() as session:
        rows = await session.scalars(
            select(AuditEntry).where(AuditEntry.mission_id == mission_id).order_by(AuditEntry.id)
        )
        return list(rows.all())
