"""Idempotency keys of money-moving POSTs: (user, `Idempotency-Key`) → one effect, one answer.

A route that takes a key calls `begin` first (before anything that locks a row), does its effect,
`store`s its answer and commits: the key's row is inserted in the effect's own transaction, so
both commit together or neither does (a crash leaves no effect without its key, nor a key without
its effect). UNIQUE(user_id, key) decides between concurrent duplicates: PostgreSQL makes the
second INSERT wait for the first transaction, then
- the first committed: the duplicate answers the stored reply (same status, same JSON) if its
  request is the same (method, path, body), a 422 on `Idempotency-Key` otherwise;
- the first rolled back (a refusal, an error): nothing is stored, the duplicate runs itself.
Refusals are not stored: a request refused (4xx) may be sent again with the same key.

A reply completed after the commit (a credit note's documents) is stored first with `final`
false, then `finish`ed; duplicates wait up to `WAIT_SECONDS` for it, then answer 409 "in
flight". A reply never finished (the process died in between) is answered as stored once it is
`STALE_SECONDS` old.

Credit notes require a key (`required`: without one, 422); on the other money POSTs and on
mission creation it is optional, and no key means no replay protection (the money POSTs are
also once per bank transaction id or reference).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.errors import DomainError
from domain.errors import FieldError
from models import IdempotencyKey, utcnow

HEADER = "Idempotency-Key"
MAX_KEY_CHARS = 100
WAIT_SECONDS = 15.0
POLL_SECONDS = 0.1
STALE_SECONDS = 120.0


class Replay(Exception):  # noqa: N818 - not an error: the stored answer, sent again
    """The stored answer to a request already done with this key (api.app renders it as is)."""

    def __init__(self, status_code: int, body: Any) -> None:
        super().__init__(f"replayed answer ({status_code})")
        self.status_code = status_code
        self.body = body


def parse_key(value: str | None) -> str | None:
    """The header's value: 1-100 printable ASCII characters; absent → None."""
    if value is None:
        return None
    if not 1 <= len(value) <= MAX_KEY_CHARS:
        raise FieldError(HEADER, f"must be 1 to {MAX_KEY_CHARS} characters long")
    if any(not " " <= ch <= "~" for ch in value):
        raise FieldError(HEADER, "must be printable ASCII characters only")
    return value


def request_hash(request: Request, body: Any) -> str:
    """SHA-256 of the method, the path and the validated body (keys sorted)."""
    canonical = json.dumps(
        {"method": request.method, "path": request.url.path, "body": jsonable_encoder(body)},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class Guard:
    """What `begin` hands the route: the row it owns (None without a key)."""

    row_id: int | None = None

    async def store(
        self, session: AsyncSession, status_code: int, body: Any, *, final: bool = True
    ) -> None:
        """Keep the answer in the effect's transaction (the caller commits)."""
        if self.row_id is None:
            return
        await session.execute(
            update(IdempotencyKey)
            .where(IdempotencyKey.id == self.row_id)
            .values(status_code=status_code, response_json=jsonable_encoder(body), final=final)
        )

    async def finish(self, db: Database, body: Any, *, status_code: int | None = None) -> None:
        """Replace a stored answer completed after the commit by the whole reply (and its
        status, when only then known: a mission's 201 started / 202 stored)."""
        if self.row_id is None:
            return
        values: dict[str, Any] = {"response_json": jsonable_encoder(body), "final": True}
        if status_code is not None:
            values["status_code"] = status_code
        async with db.session() as session:
            await session.execute(
                update(IdempotencyKey).where(IdempotencyKey.id == self.row_id).values(**values)
            )


async def begin(
    session: AsyncSession,
    user_id: int,
    key: str | None,
    request: Request,
    body: Any,
    *,
    required: bool = False,
) -> Guard:
    """Claim the key in this transaction, or raise the stored answer (`Replay`), a 422 (no key
    where `required`; same key, other request) or a 409 (the first answer is still being made)."""
    if key is None:
        if required:
            raise FieldError(
                HEADER, "is required: send one key per operation you mean to do (e.g. a UUID)"
            )
        return Guard()
    digest = request_hash(request, body)
    route = getattr(request.scope.get("route"), "path", request.url.path)
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    row_id = await session.scalar(
        insert(IdempotencyKey)
        .values(
            user_id=user_id,
            key=key,
            route=route[:200],
            request_hash=digest,
            final=False,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(IdempotencyKey.id)
    )
    if row_id is not None:
        return Guard(row_id)
    # Another request holds the key and has committed (the INSERT waited for it).
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_SECONDS
    while True:
        stored = (
            await session.execute(
                select(
                    IdempotencyKey.request_hash,
                    IdempotencyKey.status_code,
                    IdempotencyKey.response_json,
                    IdempotencyKey.final,
                    IdempotencyKey.created_at,
                ).where(IdempotencyKey.user_id == user_id, IdempotencyKey.key == key)
            )
        ).one()
        if stored.request_hash != digest:
            raise FieldError(HEADER, "this key was already used for another request: use a new key")
        if stored.status_code is not None:
            stale = utcnow() - stored.created_at > timedelta(seconds=STALE_SECONDS)
            if stored.final or stale:
                raise Replay(stored.status_code, stored.response_json)
        if loop.time() >= deadline:
            raise DomainError(
                "a request with this Idempotency-Key is still in flight: try again shortly",
                409,
                HEADER,
            )
        await asyncio.sleep(POLL_SECONDS)
