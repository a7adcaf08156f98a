"""Authentication and authorisation through the real API: who may call what, on whose objects.

The policy table below lists every /api route and the roles it admits; a route added to the app
without a row here fails `test_policy_table_covers_every_route`. Each test that needs a live
mission runs exactly one workflow (the time-skipping server allows one at a time).
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import jwt
import pytest
from sqlalchemy import delete, update

from api.app import app
from core.security import issue_token
from models import Invoice, Mission, OutboxEmail, Payment, User, utcnow
from services.access import Viewer
from services.clock import current_clock
from services.missions import create_mission
from tests.api.conftest import Account, assert_refused, count, snapshot
from tests.conftest import Stack, client_payload, member_payload, unique

GOOD_IBAN = "BE71096123456769"
MISSING = 999_999
PUBLIC = "public"
ANY = ("member", "advisor", "ops")
STAFF = ("advisor", "ops")
OPS = ("ops",)
MEMBER = ("member",)


def _payment_body() -> dict[str, Any]:
    # Refused by validation (exponent) for ops: a role check must answer before it, and ops
    # reaching the validation proves the route admits them without recording anything.
    return {
        "amount": "1e3",
        "received_on": "2026-01-02",
        "structured_communication": None,
        "bank_transaction_id": unique("AUTHZ-"),
    }


def _mission_body() -> dict[str, Any]:
    # Names a missing member: refused with 404 for every role, so no workflow ever starts.
    return {
        "member_id": MISSING,
        "client_id": MISSING,
        "title": "Authorisation probe",
        "start_date": "2099-01-01",
        "end_date": "2099-01-02",
        "amount_excl_vat": "100.00",
        "vat_rate": "21",
        "contract_type": "ordinary",
    }


# (method, path, roles admitted, JSON body). Paths use a missing id: the role check comes first.
POLICY: list[tuple[str, str, Any, Any]] = [
    ("POST", "/api/auth/token", PUBLIC, None),
    ("GET", "/api/me", ANY, None),
    ("POST", "/api/members", STAFF, "member"),
    ("GET", "/api/members/{member_id}", ANY, None),
    ("POST", "/api/clients", ANY, {"name": ""}),
    ("GET", "/api/clients", ANY, None),
    ("GET", "/api/clients/{client_id}", ANY, None),
    ("POST", "/api/missions", ANY, "mission"),
    ("GET", "/api/missions", ANY, None),
    ("GET", "/api/missions/{mission_id}", ANY, None),
    ("POST", "/api/missions/{mission_id}/sign", MEMBER, None),
    ("POST", "/api/missions/{mission_id}/client-confirmation", STAFF, {"method": "email"}),
    ("POST", "/api/missions/{mission_id}/work-report", MEMBER, {"days_worked": 1}),
    ("POST", "/api/missions/{mission_id}/cancel", ANY, {"reason": "probe"}),
    ("POST", "/api/missions/{mission_id}/retry", OPS, {"reason": "probe"}),
    ("GET", "/api/missions/{mission_id}/ledger", ANY, None),
    ("POST", "/api/missions/{mission_id}/payroll/true-ups", OPS, {"reason": "probe"}),
    ("POST", "/api/payments", OPS, "payment"),
    ("GET", "/api/payments", STAFF, None),
    ("GET", "/api/guarantee-fund", STAFF, None),
    ("POST", "/api/guarantee-fund/top-ups", OPS, {"amount": "1e3", "reference": "P", "reason": ""}),
    ("POST", "/api/missions/{mission_id}/guarantee/approval", STAFF, {"reason": ""}),
    (
        "POST",
        "/api/missions/{mission_id}/guarantee/deposits",
        OPS,
        {"amount": "1e3", "reference": "P", "reason": ""},
    ),
    ("GET", "/api/ledger/balances", STAFF, None),
    ("GET", "/api/invoices/{invoice_id}", ANY, None),
    ("POST", "/api/invoices/{invoice_id}/credit-notes", OPS, {"full": True, "reason": "probe"}),
    ("GET", "/api/outbox", STAFF, None),
    ("POST", "/api/estimates", ANY, {"contract_type": "ordinary", "amount_excl_vat": "1000.00"}),
    ("GET", "/api/clock", PUBLIC, None),
    ("GET", "/api/health", PUBLIC, None),
    ("POST", "/api/webhooks/sendgrid", PUBLIC, None),
    ("GET", "/api/missions/{mission_id}/documents", ANY, None),
    ("GET", "/api/documents/{document_id}", ANY, None),
    # Signed webhook: tests/email/test_webhook.py.
    ("PUT", "/api/clients/{client_id}/email", ANY, {"email": "probe@example.com"}),
    # The ops console (api/ops.py): advisors read stuck cases of their members; ops act.
    ("GET", "/api/ops/stuck", STAFF, None),
    ("GET", "/api/missions/{mission_id}/repairs", STAFF, None),
    ("POST", "/api/missions/{mission_id}/repairs/{action}", OPS, {"reason": "probe"}),
    ("POST", "/api/payments/{payment_id}/match", OPS, {"invoice_id": MISSING, "reason": "probe"}),
    ("POST", "/api/payments/{payment_id}/refund", OPS, {"reason": "probe"}),
    ("POST", "/api/bank/statements", OPS, None),
    ("GET", "/api/bank/statements", OPS, None),
    ("POST", "/api/ops/bulk/preview", OPS, {"filter": {"member_id": MISSING}}),
    ("POST", "/api/ops/bulk", OPS, {"action": "retry", "reason": "p", "mission_ids": [MISSING]}),
    ("GET", "/api/ops/bulk/{bulk_id}", OPS, None),
    ("POST", "/api/ops/bulk/{bulk_id}/cancel", OPS, {"reason": "probe"}),
    # Advisors may read the audit trail of one of their missions only (?mission_id=).
    ("GET", "/api/ops/audit", OPS, None),
    ("GET", "/api/ops/gateways", OPS, None),
    ("GET", "/api/ops/gateways/{name}", OPS, None),
    (
        "PUT",
        "/api/ops/gateways/{name}",
        OPS,
        {"failure_rate": 0, "latency_seconds": 0, "reason": ""},
    ),
    ("PUT", "/api/members/{member_id}/advisor", OPS, {"advisor_user_id": None, "reason": "p"}),
    # Late-payment rates and the staff tasks asking for them (issue 13 #7): ops only. The body's
    # rate is refused by validation (-1): ops get past the role check and nothing is recorded.
    ("GET", "/api/ops/rates", OPS, None),
    (
        "POST",
        "/api/ops/rates",
        OPS,
        {
            "table": "b2b_interest",
            "valid_from": "2028-01-01",
            "annual_rate": "-1",
            "source": "probe",
            "confidence": "H",
            "reason": "probe",
        },
    ),
    ("GET", "/api/staff-tasks", OPS, None),
    # Payslips: the yearly 281.10 summary (own / advised members), the member's own rate choice.
    ("GET", "/api/members/{member_id}/tax-summaries/{year}", ANY, None),
    ("GET", "/api/missions/{mission_id}/payslips", ANY, None),
    ("PUT", "/api/members/{member_id}/artistic-withholding-rate", MEMBER, {"rate": "18"}),
]

PROTECTED = [p for p in POLICY if p[2] != PUBLIC]

# What an advisor sees on each route that admits them (role x resource x scope). Advisors are
# scoped to their own members (members.advisor_user_id) everywhere; ops see everyone; a member
# sees their own objects only. A route admitting advisors without a row here fails
# `test_advisor_scope_covers_every_advisor_route`.
OWN = "own members only"
SELF = "themselves only"
COOP = "cooperative-wide figures, no member's objects"
ADVISOR_SCOPE: dict[tuple[str, str], str] = {
    ("GET", "/api/me"): SELF,
    ("POST", "/api/members"): "the member created is assigned to the advisor",
    ("GET", "/api/members/{member_id}"): OWN,
    # member_id of another advisor's member: 404 like a missing member; none: a client of nobody.
    ("POST", "/api/clients"): OWN + " (or a client owned by no member)",
    ("GET", "/api/clients"): OWN + " (and clients owned by no member)",
    ("GET", "/api/clients/{client_id}"): OWN + " (and clients owned by no member)",
    ("PUT", "/api/clients/{client_id}/email"): OWN + " (and clients owned by no member)",
    ("POST", "/api/missions"): OWN,
    ("GET", "/api/missions"): OWN,
    ("GET", "/api/missions/{mission_id}"): OWN,
    ("POST", "/api/missions/{mission_id}/client-confirmation"): OWN,
    ("POST", "/api/missions/{mission_id}/cancel"): OWN,
    ("GET", "/api/missions/{mission_id}/ledger"): OWN,
    ("GET", "/api/missions/{mission_id}/documents"): OWN,
    ("GET", "/api/missions/{mission_id}/payslips"): OWN,
    ("GET", "/api/missions/{mission_id}/repairs"): OWN,
    ("POST", "/api/missions/{mission_id}/guarantee/approval"): OWN,
    ("GET", "/api/members/{member_id}/tax-summaries/{year}"): OWN,
    ("GET", "/api/invoices/{invoice_id}"): OWN,
    ("GET", "/api/documents/{document_id}"): OWN,
    # Payments matched to an invoice of a mission of their members; payments in suspense
    # (matched to no invoice) concern no member yet: ops only.
    ("GET", "/api/payments"): OWN + "; unmatched (suspense) payments: ops only",
    # Emails of missions of their members; emails of no mission (e.g. IBAN notices): ops only.
    ("GET", "/api/outbox"): OWN + "; emails of no mission: ops only",
    ("GET", "/api/ops/stuck"): OWN + "; suspense and fund cases: ops only",
    ("POST", "/api/estimates"): "a simulation: no stored object",
    # The fund's own figures are the cooperative's; exposure per member/client and the
    # alerts: their members' only.
    ("GET", "/api/guarantee-fund"): "the fund's own figures cooperative-wide; exposure per member "
    "and per client, and alerts: " + OWN,
    ("GET", "/api/ledger/balances"): COOP,
}


def _url(path: str) -> str:
    return path.format(
        member_id=MISSING,
        client_id=MISSING,
        mission_id=MISSING,
        invoice_id=MISSING,
        document_id=MISSING,
        payment_id=MISSING,
        bulk_id=MISSING,
        action="retry",
        name="declaration",
        year=2026,
    )


def _body(kind: Any) -> Any:
    if kind == "member":
        return member_payload(iban=GOOD_IBAN)
    if kind == "payment":
        return _payment_body()
    if kind == "mission":
        return _mission_body()
    return kind


async def _call(stack: Stack, method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
    if method == "GET":
        return await stack.http.get(_url(path), headers=headers)
    return await stack.http.request(method, _url(path), json=_body(body), headers=headers)


def test_policy_table_covers_every_route() -> None:
    routes = {
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api")
        for method in operations
    }
    table = {(method, path) for method, path, _, _ in POLICY}
    assert routes - table == set(), "routes without a row in the policy table"
    assert table - routes == set(), "policy rows for routes that do not exist"


def test_advisor_scope_covers_every_advisor_route() -> None:
    advisor_routes = {
        (method, path)
        for method, path, roles, _ in POLICY
        if roles != PUBLIC and "advisor" in roles
    }
    assert advisor_routes - set(ADVISOR_SCOPE) == set(), "advisor routes without a scope"
    assert set(ADVISOR_SCOPE) - advisor_routes == set(), "scope rows for routes advisors lack"


# ---------------------------------------------------------------- authentication


@pytest.mark.parametrize(("method", "path", "roles", "body"), PROTECTED)
async def test_anonymous_is_401(
    stack: Stack, method: str, path: str, roles: Any, body: Any
) -> None:
    before = await snapshot(stack.db)
    r = await _call(stack, method, path, body, {})
    assert_refused(r, 401, None, "not authenticated")
    assert r.headers["www-authenticate"] == "Bearer"
    assert await snapshot(stack.db) == before


async def test_public_routes_answer_without_token(stack: Stack) -> None:
    r = await stack.http.get("/api/health")
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "ok"}


async def test_bad_tokens_are_401(stack: Stack, accounts: tuple[Account, Account]) -> None:
    a, _ = accounts
    r = await stack.http.get("/api/me", headers=a.headers)
    assert r.status_code == 200, r.text
    user_id = r.json()["user_id"]
    real = a.headers["Authorization"].removeprefix("Bearer ")
    settings = stack.settings
    forged = jwt.encode(
        {"sub": str(user_id), "role": "ops"},
        "not-the-secret-but-just-as-long-0123456789",
        algorithm="HS256",
    )
    expired = jwt.encode(
        {"sub": str(user_id), "role": "member", "iat": 1_000_000, "exp": 1_000_060},
        settings.secret_key,
        algorithm="HS256",
    )
    unsigned = jwt.encode({"sub": str(user_id), "role": "ops"}, key=None, algorithm="none")
    no_subject = jwt.encode({"role": "ops"}, settings.secret_key, algorithm="HS256")
    ghost = issue_token(settings, 2**31 - 1, "ops")  # well signed, for a user that does not exist
    for token in (
        "garbage",
        real[:-3] + ("aaa" if not real.endswith("aaa") else "bbb"),
        forged,
        expired,
        unsigned,
        no_subject,
        ghost,
    ):
        r = await stack.http.get("/api/me", headers={"Authorization": f"Bearer {token}"})
        assert_refused(r, 401, None, "not authenticated")
    r = await stack.http.get("/api/me", headers={"Authorization": real})  # no "Bearer"
    assert_refused(r, 401, None)


async def test_role_comes_from_the_database_not_the_token(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    me = (await stack.http.get("/api/me", headers=a.headers)).json()
    # A correctly signed token claiming "ops" for a member's login grants nothing more.
    boosted = {"Authorization": f"Bearer {issue_token(stack.settings, me['user_id'], 'ops')}"}
    r = await stack.http.get("/api/me", headers=boosted)
    assert r.json()["role"] == "member"
    r = await stack.http.get("/api/outbox", headers=boosted)
    assert_refused(r, 403, None, "advisors and ops only")


async def test_deactivated_login_is_refused(stack: Stack) -> None:
    payload = member_payload(iban=GOOD_IBAN)
    member, headers = await stack.new_member(**payload)
    r = await stack.http.get("/api/me", headers=headers)
    assert r.status_code == 200, r.text
    async with stack.db.session() as session:
        await session.execute(
            update(User).where(User.member_id == member["id"]).values(active=False)
        )
    r = await stack.http.get("/api/me", headers=headers)
    assert_refused(r, 401, None)
    r = await stack.http.post(
        "/api/auth/token", data={"username": payload["email"], "password": payload["password"]}
    )
    assert_refused(r, 401, "password", "wrong email or password")


async def test_wrong_password_is_401_then_429(stack: Stack) -> None:
    payload = member_payload(iban=GOOD_IBAN)
    await stack.new_member(**payload)
    email, password = payload["email"], payload["password"]

    r = await stack.http.post("/api/auth/token", data={"username": email, "password": "wrong!"})
    wrong = assert_refused(r, 401, "password", "wrong email or password")
    assert "access_token" not in r.json()
    # An unknown email gets the very same answer: no way to tell which logins exist.
    r = await stack.http.post(
        "/api/auth/token", data={"username": f"{unique('nobody')}@example.be", "password": "x"}
    )
    assert r.status_code == 401 and r.json()["detail"][0] == wrong

    limit = stack.settings.login_max_failures
    for attempt in range(1, limit):  # one failure already counted above
        r = await stack.http.post(
            "/api/auth/token",
            data={"username": email.upper() if attempt % 2 else email, "password": "wrong!"},
        )
        assert r.status_code == 401, (attempt, r.text)
    # Locked out now, even with the right password.
    r = await stack.http.post("/api/auth/token", data={"username": email, "password": password})
    assert_refused(r, 429, "username", "too many failed logins")
    # Other logins are not affected.
    other = member_payload(iban=GOOD_IBAN)
    await stack.new_member(**other)
    r = await stack.http.post(
        "/api/auth/token", data={"username": other["email"], "password": other["password"]}
    )
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "bearer"


# ---------------------------------------------------------------- authorisation by role


async def _headers_of(stack: Stack, role: str, a: Account) -> dict[str, str]:
    return {"member": a.headers, "advisor": await stack.advisor(), "ops": await stack.ops()}[role]


@pytest.mark.parametrize("role", ANY)
@pytest.mark.parametrize(("method", "path", "roles", "body"), PROTECTED)
async def test_role_policy(
    stack: Stack,
    accounts: tuple[Account, Account],
    role: str,
    method: str,
    path: str,
    roles: Any,
    body: Any,
) -> None:
    """A role outside the route's policy gets 403 and changes nothing; one inside gets past it."""
    a, _ = accounts
    headers = await _headers_of(stack, role, a)
    before = await snapshot(stack.db)
    r = await _call(stack, method, path, body, headers)
    if role in roles:
        assert r.status_code not in (401, 403), r.text
        assert r.status_code < 500, r.text
    else:
        assert_refused(r, 403, None)
        assert await snapshot(stack.db) == before


# ---------------------------------------------------------------- objects of other members


async def _member_with_client(stack: Stack) -> tuple[dict[str, Any], dict[str, str], int]:
    member, headers = await stack.new_member(iban=GOOD_IBAN)
    client = await stack.new_client(member["id"])
    return member, headers, int(client["id"])


async def test_foreign_mission_answers_like_a_missing_one(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    b, bh, b_client = await _member_with_client(stack)
    mission = await stack.new_mission(bh, b["id"], b_client, start_in=3, length=3)
    mid = mission["id"]
    original = await stack.mission(mid)

    missing = await stack.http.get(f"/api/missions/{MISSING}", headers=a.headers)
    assert_refused(missing, 404, None, "not found")
    for other in (mid, 0, -1, 2**63):
        r = await stack.http.get(f"/api/missions/{other}", headers=a.headers)
        assert r.status_code == 404, (other, r.text)
        assert r.json() == missing.json(), other

    actions = [
        ("sign", None),
        ("cancel", {"reason": "not mine to cancel"}),
        ("work-report", {"days_worked": 1, "expenses": []}),
    ]
    for action, body in actions:
        on_missing = await stack.http.post(
            f"/api/missions/{MISSING}/{action}", json=body, headers=a.headers
        )
        r = await stack.http.post(f"/api/missions/{mid}/{action}", json=body, headers=a.headers)
        assert_refused(r, 404, None, "not found")
        assert r.json() == on_missing.json(), action
    r = await stack.http.get(f"/api/missions/{mid}/ledger", headers=a.headers)
    assert_refused(r, 404, None, "not found")
    r = await stack.http.get("/api/missions", params={"member_id": b["id"]}, headers=a.headers)
    assert r.status_code == 200 and r.json() == []
    r = await stack.http.get(f"/api/members/{b['id']}", headers=a.headers)
    assert_refused(r, 404, None, "not found")
    r = await stack.http.get(f"/api/clients/{b_client}", headers=a.headers)
    assert_refused(r, 404, None, "not found")

    # Staff-only steps on that very mission: refused by role, whoever's mission it is.
    r = await stack.http.post(
        f"/api/missions/{mid}/client-confirmation", json={"method": "email"}, headers=bh
    )
    assert_refused(r, 403, None, "advisors and ops only")
    r = await stack.http.post(f"/api/missions/{mid}/retry", headers=bh)
    assert_refused(r, 403, None, "ops only")
    r = await stack.http.post(f"/api/missions/{mid}/retry", headers=await stack.advisor())
    assert_refused(r, 403, None, "ops only")

    after = await stack.mission(mid)
    assert after == original  # nothing moved: no signature, no cancellation, same timeline
    # The mission was live all along: its owner's signature goes through.
    r = await stack.http.post(f"/api/missions/{mid}/sign", headers=bh)
    assert r.status_code == 200, r.text
    assert r.json()["signed_at"] is not None


async def _advised_account(stack: Stack, advisor: dict[str, str]) -> Account:
    """A member (with a client) assigned to this advisor: the advisor creates them."""
    saved = stack._advisor
    stack._advisor = advisor
    try:
        member, headers = await stack.new_member(iban=GOOD_IBAN)
        client = await stack.new_client(member["id"])
    finally:
        stack._advisor = saved
    return Account(member, headers, client)


async def _bare_mission(stack: Stack, account: Account) -> int:
    """A mission row without its workflow: seeing it needs none."""
    me = (await stack.http.get("/api/me", headers=account.headers)).json()
    viewer = Viewer(user_id=me["user_id"], role=me["role"], member_id=me["member_id"])
    today = await stack.today()
    async with stack.db.session() as session:
        clock = await current_clock(session, stack.settings.day_seconds, stack.settings.timezone)
        mission, _ = await create_mission(
            session,
            viewer,
            {
                "member_id": account.id,
                "client_id": account.client["id"],
                "title": "Scope probe",
                "start_date": (today + timedelta(days=3)).isoformat(),
                "end_date": (today + timedelta(days=4)).isoformat(),
                "amount_excl_vat": "500.00",
                "vat_rate": "21",
                "contract_type": "ordinary",
            },
            clock,
        )
        mission.workflow_started_at = utcnow()  # the worker's sweep leaves it alone
        return mission.id


async def _paid_invoice(session: Any, mission_id: int, client_id: int) -> tuple[int, int]:
    """An invoice of the mission (settled, so no sweep touches it) and the payment matched to it."""
    tag = uuid.uuid4().int
    invoice = Invoice(
        mission_id=mission_id,
        client_id=client_id,
        series="SCOPE",
        year=2099,
        sequence=tag % 2_000_000_000,
        number=f"SCOPE-{tag % 10**12}",
        issue_date=date(2099, 1, 1),
        due_date=date(2099, 1, 31),
        structured_communication=f"S{tag % 10**18}",
        vat_rate=Decimal("21"),
        total_excl_vat=Decimal("100.00"),
        vat_amount=Decimal("21.00"),
        total_incl_vat=Decimal("121.00"),
        balance=Decimal("0.00"),
        status="paid",
        lines=[],
    )
    session.add(invoice)
    await session.flush()
    payment = Payment(
        bank_transaction_id=unique("SCOPE-"),
        amount=Decimal("121.00"),
        received_on=date(2099, 1, 10),
        invoice_id=invoice.id,
        matched=True,
    )
    session.add(payment)
    await session.flush()
    return invoice.id, payment.id


def _email(mission_id: int | None, body: str) -> OutboxEmail:
    return OutboxEmail(
        mission_id=mission_id,
        template="scope_probe",
        step=unique("step"),
        language="en",
        recipient="probe@example.be",
        subject="Scope probe",
        body=body,
        status="sent",
    )


async def test_advisor_sees_only_own_members_outbox_payments_and_clients(stack: Stack) -> None:
    """Advisor A sees the emails and payments of A's members only; suspense payments and
    emails of no mission are ops only; A cannot create a client for B's member (404 as missing)."""
    adv_a, adv_b = await stack.staff("advisor"), await stack.staff("advisor")
    a, b = await _advised_account(stack, adv_a), await _advised_account(stack, adv_b)
    ma, mb = await _bare_mission(stack, a), await _bare_mission(stack, b)
    async with stack.db.session() as session:
        emails = [_email(ma, "for A"), _email(mb, "for B"), _email(None, "for nobody")]
        session.add_all(emails)
        await session.flush()
        email_a, email_b, email_none = (e.id for e in emails)
        invoice_a, pay_a = await _paid_invoice(session, ma, a.client["id"])
        invoice_b, pay_b = await _paid_invoice(session, mb, b.client["id"])
        suspense = Payment(
            bank_transaction_id=unique("SCOPE-"), amount=Decimal("9.99"), received_on=date.today()
        )
        session.add(suspense)
        await session.flush()
        pay_none = suspense.id
    try:
        ops = await stack.ops()
        r = await stack.http.get("/api/outbox", params={"limit": 200}, headers=adv_a)
        assert r.status_code == 200, r.text
        seen = {e["id"] for e in r.json()}
        assert email_a in seen and not {email_b, email_none} & seen, seen
        assert all(e["mission_id"] is not None for e in r.json())
        r = await stack.http.get("/api/outbox", params={"mission_id": mb}, headers=adv_a)
        assert r.status_code == 200 and r.json() == [], r.text
        r = await stack.http.get("/api/outbox", params={"limit": 200}, headers=adv_b)
        seen = {e["id"] for e in r.json()}
        assert email_b in seen and not {email_a, email_none} & seen, seen
        r = await stack.http.get("/api/outbox", params={"limit": 200}, headers=ops)
        assert {email_a, email_b, email_none} <= {e["id"] for e in r.json()}

        r = await stack.http.get("/api/payments", headers=adv_a)
        assert r.status_code == 200, r.text
        seen = {p["id"] for p in r.json()}
        assert pay_a in seen and not {pay_b, pay_none} & seen, seen
        assert {p["invoice_id"] for p in r.json()} == {invoice_a}
        r = await stack.http.get("/api/payments", params={"matched": "false"}, headers=adv_a)
        assert r.status_code == 200 and r.json() == [], r.text
        r = await stack.http.get("/api/payments", params={"matched": "true"}, headers=adv_b)
        assert {p["invoice_id"] for p in r.json()} == {invoice_b}
        r = await stack.http.get("/api/payments", headers=ops)
        assert {pay_a, pay_b, pay_none} <= {p["id"] for p in r.json()}

        # A client for B's member: the same 404 as for a missing member, and nothing written.
        before = await snapshot(stack.db)
        missing = await stack.http.post(
            "/api/clients", json=client_payload(member_id=MISSING), headers=adv_a
        )
        assert_refused(missing, 404, "member_id", "not found")
        r = await stack.http.post(
            "/api/clients", json=client_payload(member_id=b.id), headers=adv_a
        )
        assert_refused(r, 404, "member_id", "not found")
        assert r.json() == missing.json()
        assert await snapshot(stack.db) == before
        r = await stack.http.post(
            "/api/clients", json=client_payload(member_id=a.id), headers=adv_a
        )
        assert r.status_code == 201 and r.json()["member_id"] == a.id, r.text
        r = await stack.http.post("/api/clients", json=client_payload(member_id=b.id), headers=ops)
        assert r.status_code == 201 and r.json()["member_id"] == b.id, r.text
    finally:
        async with stack.db.session() as session:  # leave no fake money behind for other tests
            await session.execute(delete(Payment).where(Payment.id.in_([pay_a, pay_b, pay_none])))
            await session.execute(delete(Invoice).where(Invoice.id.in_([invoice_a, invoice_b])))
            await session.execute(
                delete(OutboxEmail).where(OutboxEmail.id.in_([email_a, email_b, email_none]))
            )


async def test_member_lists_only_own_missions(stack: Stack) -> None:
    c, ch, c_client = await _member_with_client(stack)
    d, dh, d_client = await _member_with_client(stack)
    d_mission = await stack.new_mission(dh, d["id"], d_client)
    await stack.handle(d_mission["id"]).terminate("test: one workflow in flight at a time")
    c_mission = await stack.new_mission(ch, c["id"], c_client)

    r = await stack.http.get("/api/missions", headers=ch)
    assert r.status_code == 200, r.text
    assert [m["id"] for m in r.json()] == [c_mission["id"]]
    r = await stack.http.get("/api/missions", headers=dh)
    assert [m["id"] for m in r.json()] == [d_mission["id"]]
    for params in ({"member_id": d["id"]}, {"client_id": d_client}):
        r = await stack.http.get("/api/missions", params=params, headers=ch)
        assert r.status_code == 200 and r.json() == [], params
    r = await stack.http.get(
        "/api/missions", params={"member_id": c["id"]}, headers=await stack.advisor()
    )
    assert [m["id"] for m in r.json()] == [c_mission["id"]]
    r = await stack.http.get("/api/missions", headers=await stack.ops())
    ids = {m["id"] for m in r.json()}
    assert {c_mission["id"], d_mission["id"]} <= ids


async def test_member_creates_own_client_and_mission(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    _, b = accounts
    member, headers = await stack.new_member(iban=GOOD_IBAN)
    mine = member["id"]

    before = await snapshot(stack.db)
    r = await stack.http.post("/api/clients", json=client_payload(member_id=b.id), headers=headers)
    assert_refused(r, 404, "member_id", "not found")
    assert await snapshot(stack.db) == before

    r = await stack.http.post("/api/clients", json=client_payload(), headers=headers)
    assert r.status_code == 201, r.text
    client = r.json()
    assert client["member_id"] == mine
    r = await stack.http.get("/api/clients", headers=headers)
    assert [c["id"] for c in r.json()] == [client["id"]]

    missions_of_b = await count(stack.db, Mission, Mission.member_id == b.id)
    today = await stack.today()
    body = {
        "member_id": b.id,
        "client_id": client["id"],
        "title": "Not my mission to create",
        "start_date": (today + timedelta(days=3)).isoformat(),
        "end_date": (today + timedelta(days=5)).isoformat(),
        "amount_excl_vat": "800.00",
        "vat_rate": "21",
        "contract_type": "ordinary",
    }
    r = await stack.http.post("/api/missions", json=body, headers=headers)
    if r.status_code == 201:
        stack.mission_ids.append(r.json()["id"])
    assert_refused(r, 404, "member_id", "not found")
    assert await count(stack.db, Mission, Mission.member_id == b.id) == missions_of_b

    mission = await stack.new_mission(headers, mine, client["id"])
    assert mission["member_id"] == mine and mission["client_id"] == client["id"]
    assert mission["stage"] == "contract"
    r = await stack.http.get(f"/api/missions/{mission['id']}", headers=headers)
    assert r.status_code == 200, r.text
    r = await stack.http.get(f"/api/missions/{mission['id']}", headers=b.headers)
    assert_refused(r, 404, None, "not found")


# ---------------------------------------------------------------- the CLI and system routes


async def _coopflow(stack: Stack, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "COOPFLOW_DATABASE_URL": stack.settings.database_url}
    proc = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "coopflow"),
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_creates_staff_login(stack: Stack) -> None:
    email = f"{unique('cli')}@coop.example"
    password = "cli password 1234"
    rc, out, err = await _coopflow(
        stack, "users", "create", "--email", email, "--password", password, "--role", "advisor"
    )
    assert rc == 0, err
    assert "created advisor login" in out and email in out
    headers = await stack.login(email, password)
    me = (await stack.http.get("/api/me", headers=headers)).json()
    assert me["role"] == "advisor" and me["member_id"] is None
    r = await stack.http.get("/api/outbox", headers=headers)
    assert r.status_code == 200, r.text

    # The same email again: refused with a message, not a traceback, and nothing added.
    rc, out, err = await _coopflow(
        stack, "users", "create", "--email", email, "--password", password, "--role", "ops"
    )
    assert rc == 1, (rc, err)
    assert "already exists" in err and "Traceback" not in err, err
    assert await count(stack.db, User, User.email == email) == 1


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--role", "member"], "invalid choice"),
        (["--role", "root"], "invalid choice"),
        (["--role", "ops", "--email-typo"], "unrecognized"),
    ],
    ids=["role-member", "role-root", "unknown-flag"],
)
async def test_cli_bad_role_exits_2(stack: Stack, args: list[str], reason: str) -> None:
    email = f"{unique('cli')}@coop.example"
    rc, _, err = await _coopflow(
        stack, "users", "create", "--email", email, "--password", "cli password 1234", *args
    )
    assert rc == 2, err
    assert reason in err
    assert await count(stack.db, User, User.email == email) == 0


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("not-an-email", "cli password 1234", "email"),
        ("a@b.be\r\nBcc: x@y", "cli password 1234", "email"),
        (None, "short", "password"),
    ],
    ids=["bad-email", "header-injection", "short-password"],
)
async def test_cli_bad_values_exit_2(
    stack: Stack, email: str | None, password: str, reason: str
) -> None:
    email = email or f"{unique('cli')}@coop.example"
    users = await count(stack.db, User)
    rc, _, err = await _coopflow(
        stack, "users", "create", "--email", email, "--password", password, "--role", "ops"
    )
    assert rc == 2, err
    assert f"error: {reason}:" in err and "Traceback" not in err
    assert await count(stack.db, User) == users


async def test_clock(stack: Stack) -> None:
    r = await stack.http.get("/api/clock")
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"today", "day_seconds"}
    today = date.fromisoformat(body["today"])
    assert abs((today - date.today()).days) <= 1  # 86400-second days follow the calendar
    assert body["day_seconds"] == stack.settings.day_seconds


async def test_openapi_and_docs(stack: Stack) -> None:
    r = await stack.http.get("/openapi.json")
    assert r.status_code == 200, r.text
    spec = r.json()
    assert spec["info"]["title"] == "Coopflow"
    for path in ("/api/missions", "/api/missions/{mission_id}/work-report", "/api/payments"):
        assert path in spec["paths"], path
    r = await stack.http.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower() and "/openapi.json" in r.text


async def _advance(session: Any, mission_id: int, client_id: int, amount: Decimal) -> None:
    """The fund advances (positive) or gets back (negative) `amount` on this mission's client."""
    from services import fund, ledger

    back = amount < 0
    # A reversal is the advance's lines with the signs turned (what a client payment does).
    lines = fund.advance_lines(client_id, -amount if back else amount)
    if back:
        lines = [type(line)(line.account, -line.amount, line.client_id) for line in lines]
    await ledger.post(
        session,
        event_key=unique("scope-fund-"),
        kind="client_payment" if back else "salary_paid",
        mission_id=mission_id,
        business_date=date.today(),
        description="access test: an advance and its reversal",
        lines=lines,
    )


async def test_advisor_sees_the_fund_exposure_of_own_members_only(stack: Stack) -> None:
    """GET /api/guarantee-fund: the fund's figures are the cooperative's, but an advisor sees the
    exposure per member and per client of their own members only; ops see everyone's."""
    adv_a, adv_b = await stack.staff("advisor"), await stack.staff("advisor")
    a, b = await _advised_account(stack, adv_a), await _advised_account(stack, adv_b)
    ma, mb = await _bare_mission(stack, a), await _bare_mission(stack, b)
    # Large enough to be in the top 20 of the whole book.
    big = Decimal("9000000.00")
    async with stack.db.session() as session:
        await _advance(session, ma, a.client["id"], big)
        await _advance(session, mb, b.client["id"], big + 1)
        await session.commit()
    try:
        seen = {}
        for who, headers in (("a", adv_a), ("ops", await stack.ops())):
            r = await stack.http.get("/api/guarantee-fund", headers=headers)
            assert r.status_code == 200, r.text
            body = r.json()
            seen[who] = (
                {m["member_id"] for m in body["exposure_by_member"]},
                {c["client_id"] for c in body["exposure_by_client"]},
            )
        assert a.id in seen["a"][0] and b.id not in seen["a"][0], seen
        assert a.client["id"] in seen["a"][1] and b.client["id"] not in seen["a"][1], seen
        assert {a.id, b.id} <= seen["ops"][0] and {a.client["id"], b.client["id"]} <= seen["ops"][1]
    finally:
        async with stack.db.session() as session:
            await _advance(session, ma, a.client["id"], -big)
            await _advance(session, mb, b.client["id"], -(big + 1))
            await session.commit()
