"""A new IBAN from the profile: the password is asked again, a notice goes to the member's
current (old) email address, and the payout path uses the new IBAN only once that notice is sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.db import Database
from domain.errors import FieldError
from models import IbanChange, Member, OutboxEmail, User
from services import people
from services.mail import Attachment, OutboxMailer
from tests.conftest import IBANS
from tests.web.conftest import PASSWORD, Server

OLD, NEW = IBANS[0], IBANS[2]


class BrokenMailer:
    provider = "broken"

    async def deliver(self, email: OutboxEmail, attachments: Sequence[Attachment] = ()) -> str:
        raise ConnectionError("mail provider down")


async def _member(server: Server) -> tuple[Member, User]:
    made = await server.member(language="nl")
    async with server.db.session() as session:
        member = await session.get(Member, made["id"])
        user = await session.scalar(select(User).where(User.member_id == made["id"]))
    assert member is not None and user is not None
    return member, user


async def _request(db: Database, member_id: int, user_id: int, iban: str, password: str) -> int:
    async with db.session() as session:
        member = await session.get(Member, member_id)
        user = await session.get(User, user_id)
        assert member is not None and user is not None
        change = await people.request_iban_change(session, member, user, iban, password)
        return change.id


async def _payout_iban(db: Database, member_id: int, **kw: object) -> str:
    async with db.session() as session:
        member = await session.get(Member, member_id)
        assert member is not None
        return await people.payout_iban(session, member, **kw)  # type: ignore[arg-type]


async def test_wrong_password_or_iban_changes_nothing(server: Server) -> None:
    member, user = await _member(server)
    with pytest.raises(FieldError) as err:
        await _request(server.db, member.id, user.id, NEW, "not my password")
    assert err.value.field == "password"
    with pytest.raises(FieldError) as err:
        await _request(server.db, member.id, user.id, "BE71096123456760", PASSWORD)
    assert err.value.field == "iban"
    with pytest.raises(FieldError) as err:
        await _request(server.db, member.id, user.id, OLD, PASSWORD)
    assert err.value.field == "iban"
    async with server.db.session() as session:
        changes = await session.scalar(
            select(func.count()).select_from(IbanChange).where(IbanChange.member_id == member.id)
        )
    assert changes == 0
    assert await _payout_iban(server.db, member.id) == OLD


async def test_new_iban_counts_only_after_the_notice_to_the_old_address(server: Server) -> None:
    member, user = await _member(server)
    change_id = await _request(server.db, member.id, user.id, NEW.lower(), PASSWORD)
    async with server.db.session() as session:
        change = await session.get(IbanChange, change_id)
        assert change is not None and change.new_iban == NEW and change.notice_sent_at is None
        notice = await session.get(OutboxEmail, change.notice_email_id)
    assert notice is not None
    assert notice.recipient == member.email and notice.language == "nl"
    assert NEW in notice.body and OLD in notice.body
    # Not sent yet (the mailer is down): payouts keep going to the old account.
    assert await _payout_iban(server.db, member.id) == OLD
    assert not await people.send_iban_notice(server.db, BrokenMailer(), change_id)
    assert await _payout_iban(server.db, member.id) == OLD
    # Sent: from then on, the new one.
    assert await people.send_iban_notice(server.db, OutboxMailer(), change_id)
    async with server.db.session() as session:
        change = await session.get(IbanChange, change_id)
        assert change is not None and change.notice_sent_at is not None
        sent_at = change.notice_sent_at
        notice = await session.get(OutboxEmail, change.notice_email_id)
        assert notice is not None and notice.status == "stored"
    assert await _payout_iban(server.db, member.id, at=sent_at - timedelta(seconds=1)) == OLD
    assert await _payout_iban(server.db, member.id) == NEW
    async with server.db.session() as session:
        stored = await session.get(Member, member.id)
        change = await session.get(IbanChange, change_id)
    assert stored is not None and stored.iban == NEW
    assert change is not None and change.applied_at is not None
    async with server.db.session() as session:
        assert await people.pending_iban_change(session, member.id) is None
