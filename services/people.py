"""Accounts: staff logins, members with their login, and clients."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import Database
from core.errors import DomainError, NotFound
from core.security import hash_password, verify_password
from domain.errors import FieldError
from domain.identifiers import (
    clean_text,
    normalize_country,
    normalize_email,
    normalize_iban,
    normalize_niss,
    normalize_vat_number,
)
from models import Client, IbanChange, Member, OutboxEmail, User, utcnow
from services import mail
from services.mail import Mailer

log = logging.getLogger(__name__)

STAFF_ROLES = ("advisor", "ops")
LANGUAGES = ("fr", "nl", "en")
MIN_PASSWORD = 10


def _login_email(value: object) -> str:
    """Logins are matched without regard to case: X@y.be and x@y.be are one person."""
    return normalize_email(value).lower()


def _password(value: object) -> str:
    if not isinstance(value, str) or len(value) < MIN_PASSWORD:
        raise FieldError("password", f"at least {MIN_PASSWORD} characters")
    if len(value) > 256:
        raise FieldError("password", "at most 256 characters")
    return value


def _language(value: object) -> str:
    if value not in LANGUAGES:
        raise FieldError("language", f"one of {', '.join(LANGUAGES)}")
    return str(value)


async def _email_free(session: AsyncSession, email: str) -> None:
    taken = await session.scalar(select(func.count()).select_from(User).where(User.email == email))
    if taken:
        raise DomainError("a login with this email already exists", 409, "email")


async def create_staff_user(session: AsyncSession, email: str, password: str, role: str) -> User:
    """Create an advisor or ops login."""
    if role not in STAFF_ROLES:
        raise FieldError("role", f"one of {', '.join(STAFF_ROLES)}")
    email = _login_email(email)
    await _email_free(session, email)
    user = User(email=email, password_hash=hash_password(_password(password)), role=role)
    session.add(user)
    await session.flush()
    return user


async def create_staff_user_cli(email: str, password: str, role: str) -> str:
    """`coopflow users create`: one committed staff login."""
    from core.db import get_database

    db = get_database()
    try:
        async with db.session() as session:
            user = await create_staff_user(session, email, password, role)
            return f"created {user.role} login {user.email} (id {user.id})"
    finally:
        await db.dispose()


async def create_member(
    session: AsyncSession,
    *,
    name: object,
    email: object,
    password: object,
    iban: object,
    national_number: object,
    language: object = "en",
    advisor_user_id: int | None = None,
) -> Member:
    """Register a member of the cooperative and their login (role member)."""
    clean_name = clean_text(name, field="name", max_length=200)
    clean_email = _login_email(email)
    clean_password = _password(password)
    clean_iban = normalize_iban(iban)
    niss = normalize_niss(national_number)
    lang = _language(language)
    await _email_free(session, clean_email)
    if await session.scalar(select(Member.id).where(Member.national_number == niss)):
        raise DomainError(
            "a member with this national number already exists", 409, "national_number"
        )
    member = Member(
        name=clean_name,
        email=clean_email,
        iban=clean_iban,
        national_number=niss,
        language=lang,
        advisor_user_id=advisor_user_id,
    )
    password_hash = hash_password(clean_password)
    try:
        # The checks above miss a twin request that has not committed yet: the unique
        # constraints catch it, and the loser gets the same 409 as the checks give.
        session.add(member)
        await session.flush()
        session.add(
            User(email=clean_email, password_hash=password_hash, role="member", member_id=member.id)
        )
        await session.flush()
    except IntegrityError as err:
        duplicate = _duplicate(err)
        if duplicate is None:
            raise
        raise duplicate from None
    return member


def _duplicate(err: IntegrityError) -> DomainError | None:
    """The 409 of a unique constraint on members or users, named after its field (PostgreSQL
    names the constraint, SQLite the column); None for any other integrity error."""
    text = str(err.orig)
    if "national_number" in text:
        return DomainError(
            "a member with this national number already exists", 409, "national_number"
        )
    if "email" in text:
        return DomainError("a login with this email already exists", 409, "email")
    return None


async def authenticate(session: AsyncSession, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same answer for every failure)."""
    try:
        email = _login_email(email)
    except FieldError:
        return None
    user = await session.scalar(select(User).where(User.email == email))
    if user is None or not user.active:
        verify_password(password, _DUMMY_HASH)  # same cost whether or not the email exists
        return None
    return user if verify_password(password, user.password_hash) else None


_DUMMY_HASH = hash_password("not-a-real-password-just-timing")


async def create_client(
    session: AsyncSession,
    *,
    name: object,
    email: object,
    kind: object,
    country: object,
    address: object,
    vat_number: object = None,
    language: object = "en",
    owner_member_id: int | None = None,
) -> Client:
    """Register a client; Belgian businesses must give a valid enterprise (VAT) number."""
    clean_name = clean_text(name, field="name", max_length=200)
    clean_email = normalize_email(email)
    if kind not in ("business", "consumer"):
        raise FieldError("kind", "must be 'business' or 'consumer'")
    clean_country = normalize_country(country)
    clean_address = clean_text(address, field="address", max_length=500)
    vat: str | None = None
    if vat_number is None or (isinstance(vat_number, str) and not vat_number.strip()):
        if kind == "business" and clean_country == "BE":
            raise FieldError("vat_number", "required for a Belgian business client")
    else:
        vat = normalize_vat_number(vat_number, clean_country)
    lang = _language(language)
    if owner_member_id is not None and await session.get(Member, owner_member_id) is None:
        raise NotFound("member", "member_id")
    client = Client(
        name=clean_name,
        email=clean_email,
        kind=str(kind),
        country=clean_country,
        address=clean_address,
        vat_number=vat,
        language=lang,
        owner_member_id=owner_member_id,
    )
    session.add(client)
    await session.flush()
    return client


# ---------------------------------------------------------------- the member's own details


def check_password(user: User, password: object) -> None:
    """Sensitive changes ask for the password again."""
    if not isinstance(password, str) or not verify_password(password, user.password_hash):
        raise FieldError("password", "wrong password")


async def change_language(session: AsyncSession, member: Member, language: object) -> None:
    """The member's language: pages, emails and documents sent to them."""
    member.language = _language(language)


async def change_email(
    session: AsyncSession, member: Member, user: User, email: object, password: object
) -> None:
    """A new email for the member's login and messages (password required)."""
    new = _login_email(email)
    check_password(user, password)
    if new == user.email:
        return
    await _email_free(session, new)
    member.email = new
    user.email = new


async def request_iban_change(
    session: AsyncSession, member: Member, user: User, iban: object, password: object
) -> IbanChange:
    """Record a new IBAN (password required) and write its notice to the member's current email.

    The IBAN stays pending: payouts go to it only once that notice has been sent
    (`payout_iban`), so whoever holds a stolen login cannot divert a salary unseen."""
    new = normalize_iban(iban)
    check_password(user, password)
    if new == member.iban:
        raise FieldError("iban", "this is already the IBAN your salary is paid to")
    change = IbanChange(
        member_id=member.id, old_iban=member.iban, new_iban=new, requested_by_user_id=user.id
    )
    session.add(change)
    await session.flush()
    email, _ = await mail.queue_email(
        session,
        mission_id=None,
        template="iban_change_notice",
        step=f"iban_change:{change.id}",
        recipient=member.email,
        language=member.language,
        context={"member": member, "old_iban": member.iban, "new_iban": new, "change": change},
    )
    change.notice_email_id = email.id
    return change


async def send_iban_notice(db: Database, mailer: Mailer, change_id: int) -> bool:
    """Hand the notice of an IBAN change to the mailer (after its row is committed) and, once
    sent, let the new IBAN take effect. False if the mailer failed: the IBAN stays pending."""
    async with db.session() as session:
        change = await session.get(IbanChange, change_id)
        email = None
        if change is not None and change.notice_email_id is not None:
            email = await session.get(OutboxEmail, change.notice_email_id)
    if change is None or email is None:
        return False
    if change.notice_sent_at is not None:
        return True
    try:
        message_id = await mailer.deliver(email)
    except Exception:
        log.exception("notice of IBAN change %s not sent; the change stays pending", change_id)
        return False
    async with db.session() as session:
        row = await session.get(OutboxEmail, email.id, with_for_update=True)
        change = await session.get(IbanChange, change_id, with_for_update=True)
        assert row is not None and change is not None
        if row.status in ("queued", "failed"):
            row.provider_message_id = message_id
            row.provider = getattr(mailer, "provider", "outbox")
            row.status = "sent" if message_id else "stored"
        change.notice_sent_at = utcnow()
    return True


async def pending_iban_change(session: AsyncSession, member_id: int) -> IbanChange | None:
    """The latest IBAN change not in effect yet (notice not sent, or no payout since)."""
    return await session.scalar(
        select(IbanChange)
        .where(IbanChange.member_id == member_id, IbanChange.applied_at.is_(None))
        .order_by(IbanChange.id.desc())
        .limit(1)
    )


async def payout_iban(session: AsyncSession, member: Member, at: datetime | None = None) -> str:
    """The IBAN a payout made at `at` goes to: the newest one whose notice to the previous email
    address was sent by then; a change still waiting for its notice does not count yet."""
    moment = at or utcnow()
    due = (
        await session.scalars(
            select(IbanChange)
            .where(
                IbanChange.member_id == member.id,
                IbanChange.applied_at.is_(None),
                IbanChange.notice_sent_at.is_not(None),
                IbanChange.notice_sent_at <= moment,
            )
            .order_by(IbanChange.id)
            .with_for_update()
        )
    ).all()
    for change in due:
        member.iban = change.new_iban
        change.applied_at = moment
    return member.iban
