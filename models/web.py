"""What the member portal keeps: browser sessions, IBAN changes waiting for their notice, and
the failed logins that slow down password guessing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class WebSession(Base):
    """A logged-in browser. The cookie holds a random token; only its SHA-256 is stored here,
    so a leaked table opens no session."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the token
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class IbanChange(Base):
    """A member's new IBAN. Payouts keep going to the old one until the notice of the change
    has gone to the member's previous email address (`notice_sent_at`): a stolen login cannot
    divert a salary without the real member being told first."""

    __tablename__ = "iban_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    old_iban: Mapped[str] = mapped_column(String(34))
    new_iban: Mapped[str] = mapped_column(String(34))
    notice_email_id: Mapped[int | None] = mapped_column(ForeignKey("outbox_emails.id"))
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    requested_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LoginFailure(Base):
    """One failed login for an email (normalised: trimmed, lower case), shared by every API
    process: N of them within the window answer 429 (`services/login_throttle.py`). A login in
    progress is counted here too until it succeeds; rows older than the window are pruned."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_key_failed_at", "key", "failed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(320))
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)  # pruning
