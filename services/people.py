"""Accounts: staff logins, members with their login, and clients."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

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
from models import Client, Member, User

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
    session.add(member)
    await session.flush()
    session.add(
        User(
            email=clean_email,
            password_hash=hash_password(clean_password),
            role="member",
            member_id=member.id,
        )
    )
    await session.flush()
    return member


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
