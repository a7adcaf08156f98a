"""The answers of money-moving POSTs, kept per (user, `Idempotency-Key` header): the same key with
the same body answers the stored reply without a second effect (services/idempotency.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class IdempotencyKey(Base):
    """One key of one user. The row is written in the transaction of the effect it guards, so
    both commit together or neither does; UNIQUE(user_id, key) lets one request through and makes
    its duplicates wait for its answer. `status_code`/`response_json` are NULL only while that
    transaction is open; `final` is false while a reply still gets what is made after the commit
    (a credit note's documents)."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(100))
    route: Mapped[str] = mapped_column(String(200))
    request_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of method, path and body
    status_code: Mapped[int | None] = mapped_column(Integer)
    response_json: Mapped[Any | None] = mapped_column(JSON)
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
