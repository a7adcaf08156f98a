"""Bad input through the real API: every refusal is a 4xx naming the field and the reason, and
leaves every table as it was (reliability.md, "Bad inputs every form and endpoint must refuse").

Refused POST /api/missions bodies create no mission, so no workflow starts; the two lifecycle
tests at the end each run exactly one mission workflow (the time-skipping server allows one).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db import Database
from core.settings import Settings
from domain.ogm import ogm_for_invoice
from models import (
    AuditEntry,
    Expense,
    Invoice,
    LedgerEntry,
    LedgerTransaction,
    Member,
    Payment,
    TimelineEvent,
    User,
)
from services.invoicing import issue_invoice
from tests.api.conftest import Account, assert_refused, count, snapshot
from tests.conftest import (
    Stack,
    api_client,
    client_payload,
    make_niss,
    member_payload,
    next_niss,
    unique,
)
from tests.money.conftest import new_client, new_member, new_mission, unbalanced_transactions

# ---------------------------------------------------------------- members

# One known-good IBAN for every member made here, so that each refusal comes from the field
# under test (python-stdnum also checks Belgian bank codes: BE68539007547034 is refused).
GOOD_IBAN = "BE71096123456769"


def good_member(**over: Any) -> dict[str, Any]:
    return member_payload(**{"iban": GOOD_IBAN, **over})


def _bad_niss() -> str:
    valid = make_niss(990)
    return valid[:-2] + f"{int(valid[-2:]) % 97 + 1:02d}"


MEMBER_CASES = [
    pytest.param({"iban": "BE68539007547035"}, "iban", ["checksum"], id="iban-checksum"),
    pytest.param({"iban": "BE6853900754703"}, "iban", ["length"], id="iban-too-short"),
    pytest.param({"iban": "BE685390075470344"}, "iban", ["length"], id="iban-too-long"),
    pytest.param({"iban": "BE68\u200b539007547034"}, "iban", ["non-ascii"], id="iban-zero-width"),
    pytest.param(
        {"iban": "BE\uff16\uff18539007547034"}, "iban", ["non-ascii"], id="iban-fullwidth-digits"
    ),
    pytest.param(
        {"iban": "\uff22\uff2568539007547034"}, "iban", ["non-ascii"], id="iban-fullwidth-letters"
    ),
    pytest.param({"iban": ""}, "iban", ["required"], id="iban-empty"),
    pytest.param({"iban": "BE68539007547034"}, "iban", ["bank code"], id="iban-unknown-bank"),
    pytest.param({"iban": "XX68539007547034"}, "iban", ["not a country"], id="iban-country"),
    pytest.param({"national_number": _bad_niss()}, "national_number", ["check"], id="niss-check"),
    pytest.param(
        {"national_number": "8501011234"}, "national_number", ["11 digits"], id="niss-length"
    ),
    pytest.param(
        {"email": "a@b.be\r\nBcc: x@y"}, "email", ["line breaks"], id="email-header-injection"
    ),
    pytest.param({"email": "no-at-sign.be"}, "email", ["@"], id="email-no-at"),
    pytest.param({"email": "x" * 310 + "@b.be"}, "email", ["254"], id="email-too-long"),
    pytest.param({"password": "short"}, "password", ["10 characters"], id="password-short"),
    pytest.param({"name": "Eve\u202egnp.exe"}, "name", ["override"], id="name-rtl-override"),
    pytest.param({"iban": 1234}, "iban", ["string"], id="iban-not-a-string"),
    pytest.param({"role": "ops"}, "role", ["extra"], id="mass-assignment-role"),
]


@pytest.mark.parametrize(("override", "field", "reason"), MEMBER_CASES)
async def test_member_refused(
    stack: Stack, override: dict[str, Any], field: str, reason: list[str]
) -> None:
    payload = good_member(**override)
    before = await snapshot(stack.db)
    r = await stack.http.post("/api/members", json=payload, headers=await stack.advisor())
    assert_refused(r, 422, field, *reason)
    assert await snapshot(stack.db) == before


async def test_member_identifiers_stored_normalised(stack: Stack) -> None:
    """Spaces and lower case are accepted and stored compact (the counterpart of the refusals)."""
    niss = next_niss()
    payload = good_member(
        iban="be71 0961 2345 6769",
        national_number=f"{niss[:2]}.{niss[2:4]}.{niss[4:6]}-{niss[6:9]}.{niss[9:]}",
    )
    r = await stack.http.post("/api/members", json=payload, headers=await stack.advisor())
    assert r.status_code == 201, r.text
    assert r.json()["iban"] == "BE71096123456769"
    assert r.json()["national_number"] == niss


async def test_member_duplicate_email_is_409(stack: Stack) -> None:
    first = good_member()
    r = await stack.http.post("/api/members", json=first, headers=await stack.advisor())
    assert r.status_code == 201, r.text
    before = await snapshot(stack.db)
    # Same address with an upper-case domain: the same login once normalised.
    local, _, domain = first["email"].partition("@")
    again = good_member(email=f"{local}@{domain.upper()}")
    r = await stack.http.post("/api/members", json=again, headers=await stack.advisor())
    assert_refused(r, 409, "email", "already exists")
    assert await snapshot(stack.db) == before
    assert await count(stack.db, User, User.email == first["email"]) == 1


async def test_member_duplicate_national_number_is_409(stack: Stack) -> None:
    first = good_member()
    r = await stack.http.post("/api/members", json=first, headers=await stack.advisor())
    assert r.status_code == 201, r.text
    before = await snapshot(stack.db)
    again = good_member(national_number=first["national_number"])
    r = await stack.http.post("/api/members", json=again, headers=await stack.advisor())
    assert_refused(r, 409, "national_number", "already exists")
    assert await snapshot(stack.db) == before
    assert await count(stack.db, Member, Member.national_number == first["national_number"]) == 1


# ---------------------------------------------------------------- clients

CLIENT_CASES = [
    pytest.param({"vat_number": None}, "vat_number", ["required"], id="be-business-no-vat"),
    pytest.param({"vat_number": "  "}, "vat_number", ["required"], id="be-business-blank-vat"),
    pytest.param({"vat_number": "BE0403170702"}, "vat_number", ["mod 97"], id="be-vat-mod97"),
    pytest.param({"vat_number": "BE04031707"}, "vat_number", ["format"], id="be-vat-short"),
    pytest.param({"vat_number": "BE04031707\uff10"}, "vat_number", ["non-ascii"], id="vat-fw"),
    pytest.param({"country": "XX"}, "country", ["iso 3166"], id="country-unknown"),
    pytest.param({"country": "UK"}, "country", ["GB"], id="country-uk"),
    pytest.param({"country": "Belgium"}, "country", ["2-letter"], id="country-name"),
    pytest.param({"kind": "company"}, "kind", ["business"], id="kind-unknown"),
    pytest.param({"email": "a@b.be\r\nBcc: x@y"}, "email", ["line breaks"], id="email-inject"),
    pytest.param({"name": "x" * 10_000}, "name", ["at most 200"], id="name-10000-chars"),
    pytest.param({"owner_member_id": 1}, "owner_member_id", ["extra"], id="mass-assignment"),
]


@pytest.mark.parametrize(("override", "field", "reason"), CLIENT_CASES)
async def test_client_refused(
    stack: Stack,
    accounts: tuple[Account, Account],
    override: dict[str, Any],
    field: str,
    reason: list[str],
) -> None:
    a, _ = accounts
    before = await snapshot(stack.db)
    r = await stack.http.post(
        "/api/clients",
        json=client_payload(member_id=a.id, **override),
        headers=await stack.advisor(),
    )
    assert_refused(r, 422, field, *reason)
    assert await snapshot(stack.db) == before


async def test_consumer_and_foreign_clients_need_no_belgian_vat(stack: Stack) -> None:
    """The VAT number is required for Belgian businesses only (the rule, not a blanket one)."""
    headers = await stack.advisor()
    consumer = client_payload(kind="consumer", vat_number=None)
    r = await stack.http.post("/api/clients", json=consumer, headers=headers)
    assert r.status_code == 201, r.text
    r = await stack.http.post(
        "/api/clients", json=client_payload(vat_number="be 0403.170.701"), headers=headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["vat_number"] == "BE0403170701"


# ---------------------------------------------------------------- missions


async def _mission_body(stack: Stack, account: Account, **over: Any) -> dict[str, Any]:
    today = await stack.today()
    body: dict[str, Any] = {
        "member_id": account.id,
        "client_id": account.client["id"],
        "title": "Sound engineering",
        "start_date": (today + timedelta(days=3)).isoformat(),
        "end_date": (today + timedelta(days=7)).isoformat(),
        "amount_excl_vat": "1500.00",
        "vat_rate": "21",
        "contract_type": "ordinary",
    }
    body.update(over)
    return body


def _resolve_days(override: dict[str, Any], today: date) -> dict[str, Any]:
    return {
        k: (today + timedelta(days=int(v[1:]))).isoformat()
        if isinstance(v, str) and v.startswith("@")
        else v
        for k, v in override.items()
    }


async def _post_mission(stack: Stack, body: dict[str, Any], headers: dict[str, str]) -> Any:
    r = await stack.http.post("/api/missions", json=body, headers=headers)
    if r.status_code == 201:  # a wrongly accepted body: make sure its workflow is stopped
        stack.mission_ids.append(r.json()["id"])
    return r


# "@N" stands for the business today + N days, resolved when the test runs.
MISSION_CASES = [
    pytest.param({"end_date": "@2"}, "end_date", ["before the start"], id="end-before-start"),
    pytest.param(
        {"contract_type": "freelance"},
        "contract_type",
        ["unknown contract type"],
        id="contract-type",
    ),
    pytest.param({"contract_type": ""}, "contract_type", ["required"], id="contract-type-empty"),
    pytest.param({"start_date": "@-1"}, "start_date", ["before today"], id="start-in-past"),
    pytest.param({"start_date": "2026-02-29"}, "start_date", ["not a day"], id="feb-29-2026"),
    pytest.param({"end_date": "2027-02-29"}, "end_date", ["not a day"], id="feb-29-2027"),
    pytest.param({"start_date": "03/12/2026"}, "start_date", ["YYYY-MM-DD"], id="date-format"),
    pytest.param(
        {"start_date": "@1000", "end_date": "@1001"},
        "start_date",
        ["years ahead"],
        id="start-far-future",
    ),
    pytest.param({"end_date": "@400"}, "end_date", ["at most 366"], id="too-long"),
    pytest.param({"amount_excl_vat": "-5"}, "amount_excl_vat", ["negative"], id="amount-neg"),
    pytest.param({"amount_excl_vat": "1e3"}, "amount_excl_vat", ["exponent"], id="amount-1e3"),
    pytest.param({"amount_excl_vat": "1E-5"}, "amount_excl_vat", ["exponent"], id="amount-1E-5"),
    pytest.param({"amount_excl_vat": "0"}, "amount_excl_vat", ["greater than 0"], id="amount-0"),
    pytest.param(
        {"amount_excl_vat": "0.001"}, "amount_excl_vat", ["2 decimals"], id="amount-0.001"
    ),
    pytest.param({"amount_excl_vat": "1_000"}, "amount_excl_vat", ["separator"], id="amount-1_000"),
    pytest.param(
        {"amount_excl_vat": "1 000,00"}, "amount_excl_vat", ["spaces"], id="amount-1-000,00"
    ),
    pytest.param({"amount_excl_vat": "12.50€"}, "amount_excl_vat", ["ascii"], id="amount-euro"),
    pytest.param({"amount_excl_vat": "NaN"}, "amount_excl_vat", ["nan"], id="amount-nan"),
    pytest.param({"amount_excl_vat": "Infinity"}, "amount_excl_vat", ["infinity"], id="amount-inf"),
    pytest.param(
        {"amount_excl_vat": "\u0661\u0662\u0663"},
        "amount_excl_vat",
        ["ascii"],
        id="amount-arabic-indic-digits",
    ),
    pytest.param({"amount_excl_vat": ""}, "amount_excl_vat", ["required"], id="amount-empty"),
    pytest.param({"amount_excl_vat": 12.5}, "amount_excl_vat", ["string"], id="amount-float"),
    pytest.param({"amount_excl_vat": 1500}, "amount_excl_vat", ["string"], id="amount-int"),
    pytest.param({"amount_excl_vat": None}, "amount_excl_vat", ["string"], id="amount-null"),
    pytest.param(
        {"amount_excl_vat": "1000000.01"},
        "amount_excl_vat",
        ["must not exceed"],
        id="amount-above-max",
    ),
    pytest.param({"vat_rate": "21%"}, "vat_rate", ["%"], id="vat-percent-sign"),
    pytest.param({"vat_rate": "0.21"}, "vat_rate", ["percentage", "21"], id="vat-fraction"),
    pytest.param({"vat_rate": "7"}, "vat_rate", ["not an allowed"], id="vat-7"),
    pytest.param({"vat_rate": -1}, "vat_rate", ["negative"], id="vat-negative"),
    pytest.param({"vat_rate": "100.01"}, "vat_rate", ["between 0 and 100"], id="vat-100.01"),
    pytest.param({"vat_rate": 0.21}, "vat_rate", [], id="vat-json-float"),
    # 0 % VAT only with a legal ground from the list (migration 0022); the account's client is a
    # Belgian business.
    pytest.param({"vat_rate": "0"}, "vat_exemption", ["required", "0 %"], id="vat-0-no-ground"),
    pytest.param(
        {"vat_rate": "0", "vat_exemption": " "}, "vat_exemption", ["required"], id="vat-0-blank"
    ),
    pytest.param(
        {"vat_exemption": "art44_performer"},
        "vat_exemption",
        ["only to a vat rate of 0 %"],
        id="vat-ground-with-21",
    ),
    pytest.param(
        {"vat_rate": "0", "vat_exemption": "franchise"},
        "vat_exemption",
        ["not one of the legal grounds"],
        id="vat-ground-unknown",
    ),
    pytest.param(
        {"vat_rate": "0", "vat_exemption": 7}, "vat_exemption", ["string"], id="vat-ground-int"
    ),
    pytest.param(
        {"vat_rate": "0", "vat_exemption": "eu_reverse_charge"},
        "vat_exemption",
        ["another EU country"],
        id="vat-reverse-charge-belgian-client",
    ),
    pytest.param({"title": ""}, "title", ["required"], id="title-empty"),
    pytest.param({"title": "a\x00b"}, "title", ["control"], id="title-control-char"),
    pytest.param({"stage": "paid"}, "stage", ["extra"], id="mass-assignment-stage"),
    pytest.param(
        {"needs_attention": True}, "needs_attention", ["extra"], id="mass-assignment-attention"
    ),
    pytest.param({"member_id": 0}, "member_id", ["between 1"], id="member-id-0"),
    pytest.param({"client_id": 2**63}, "client_id", ["between 1"], id="client-id-2**63"),
]


@pytest.mark.parametrize(("override", "field", "reason"), MISSION_CASES)
async def test_mission_refused(
    stack: Stack,
    accounts: tuple[Account, Account],
    override: dict[str, Any],
    field: str,
    reason: list[str],
) -> None:
    a, _ = accounts
    today = await stack.today()
    resolved = _resolve_days(override, today)
    body = await _mission_body(stack, a, **resolved)
    before = await snapshot(stack.db)
    r = await _post_mission(stack, body, a.headers)
    assert_refused(r, 422, field, *reason)
    assert await snapshot(stack.db) == before


@pytest.mark.parametrize(
    ("client", "override", "field", "reason"),
    [
        pytest.param(
            {"kind": "consumer", "country": "FR", "vat_number": None},
            {"vat_rate": "0", "vat_exemption": "eu_reverse_charge"},
            "vat_exemption",
            ["not to a private person"],
            id="reverse-charge-consumer",
        ),
        pytest.param(
            {"country": "FR", "vat_number": None},
            {"vat_rate": "0", "vat_exemption": "eu_reverse_charge"},
            "vat_exemption",
            ["VAT number"],
            id="reverse-charge-no-vat-number",
        ),
        pytest.param(
            {"country": "DE", "vat_number": "DE136695976"},
            {"vat_rate": "0", "vat_exemption": "outside_eu_business"},
            "vat_exemption",
            ["outside the EU"],
            id="outside-eu-ground-for-eu-client",
        ),
        pytest.param(
            {"country": "DE", "vat_number": "DE136695976"},
            {"vat_rate": "21"},
            "vat_rate",
            ["art. 21 § 2", "0"],
            id="belgian-vat-for-an-eu-business",
        ),
        pytest.param(
            {"country": "US", "vat_number": None},
            {"vat_rate": "0", "vat_exemption": "art44_performer"},
            "vat_exemption",
            ["Belgian client"],
            id="art44-for-a-foreign-client",
        ),
    ],
)
async def test_mission_vat_ground_must_fit_the_client(
    stack: Stack,
    accounts: tuple[Account, Account],
    client: dict[str, Any],
    override: dict[str, Any],
    field: str,
    reason: list[str],
) -> None:
    a, _ = accounts
    other = await stack.new_client(a.id, address="1 Example Street, 10115 Berlin", **client)
    body = await _mission_body(stack, a, client_id=other["id"], **override)
    before = await snapshot(stack.db)
    r = await _post_mission(stack, body, a.headers)
    assert_refused(r, 422, field, *reason)
    assert await snapshot(stack.db) == before


async def test_mission_unknown_client_is_404(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, b = accounts
    before = await snapshot(stack.db)
    unknown = await _post_mission(
        stack, await _mission_body(stack, a, client_id=999_999), a.headers
    )
    assert_refused(unknown, 404, "client_id", "not found")
    # Another member's client answers exactly like a client that does not exist.
    foreign = await _post_mission(
        stack, await _mission_body(stack, a, client_id=b.client["id"]), a.headers
    )
    assert_refused(foreign, 404, "client_id", "not found")
    assert foreign.json() == unknown.json()
    # Staff see every client: from them too, a missing client is a 404 naming client_id.
    staff = await _post_mission(
        stack, await _mission_body(stack, a, client_id=999_999), await stack.advisor()
    )
    assert_refused(staff, 404, "client_id", "not found")
    assert await snapshot(stack.db) == before


async def test_mission_unknown_member_is_404(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    before = await snapshot(stack.db)
    r = await _post_mission(
        stack, await _mission_body(stack, a, member_id=999_999), await stack.advisor()
    )
    assert_refused(r, 404, "member_id", "not found")
    assert await snapshot(stack.db) == before


async def test_mission_body_not_json_is_422(
    stack: Stack, accounts: tuple[Account, Account]
) -> None:
    a, _ = accounts
    before = await snapshot(stack.db)
    r = await stack.http.post(
        "/api/missions",
        content=b"member_id=1",
        headers={**a.headers, "Content-Type": "text/plain"},
    )
    assert_refused(r, 422, None)
    assert r.json()["detail"][0]["loc"][0] == "body"
    body = json.dumps(await _mission_body(stack, a)).encode()
    r = await stack.http.post(
        "/api/missions",
        content=body[:-20],  # cut short: not JSON
        headers={**a.headers, "Content-Type": "application/json"},
    )
    assert_refused(r, 422, None, "json")
    assert r.json()["detail"][0]["loc"][0] == "body"
    assert await snapshot(stack.db) == before


# ---------------------------------------------------------------- payments


def _bad_ogm() -> str:
    good = ogm_for_invoice(2026, 4321)  # "+++DDD/DDDD/DDDCC+++"
    last = int(good[-4])
    return good[:-4] + str((last + 1) % 10) + good[-3:]


async def _payment(stack: Stack, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "amount": "100.00",
        "received_on": (await stack.today()).isoformat(),
        "structured_communication": None,
        "bank_transaction_id": unique("BANK-"),
    }
    body.update(over)
    return body


PAYMENT_CASES = [
    pytest.param({"amount": "1e3"}, "amount", ["exponent"], id="amount-1e3"),
    pytest.param({"amount": "-5"}, "amount", ["negative"], id="amount-negative"),
    pytest.param({"amount": "0"}, "amount", ["greater than 0"], id="amount-0"),
    pytest.param({"amount": "0.001"}, "amount", ["2 decimals"], id="amount-0.001"),
    pytest.param({"amount": 12.5}, "amount", ["string"], id="amount-float"),
    # A communication that is no bank text is refused; one that names no invoice is booked
    # (test_bank_lines_are_booked_not_refused).
    pytest.param(
        {"structured_communication": "+++010/8068/17183+++\u0000"},
        "structured_communication",
        ["control character"],
        id="communication-control-char",
    ),
    pytest.param(
        {"structured_communication": "x" * 141},
        "structured_communication",
        ["at most 140"],
        id="communication-too-long",
    ),
    pytest.param({"received_on": "@1"}, "received_on", ["future"], id="received-tomorrow"),
    pytest.param({"received_on": "@400"}, "received_on", ["future"], id="received-next-year"),
    pytest.param({"received_on": "2026-02-29"}, "received_on", ["not a day"], id="feb-29"),
    pytest.param({"received_on": "1990-01-01"}, "received_on", ["ten years"], id="far-past"),
    pytest.param({"bank_transaction_id": ""}, "bank_transaction_id", ["required"], id="tx-empty"),
    pytest.param(
        {"bank_transaction_id": "TX-\u00e9"}, "bank_transaction_id", ["ascii"], id="tx-non-ascii"
    ),
    pytest.param({"matched": True}, "matched", ["extra"], id="mass-assignment-matched"),
]


@pytest.mark.parametrize(("override", "field", "reason"), PAYMENT_CASES)
async def test_payment_refused(
    stack: Stack, override: dict[str, Any], field: str, reason: list[str]
) -> None:
    today = await stack.today()
    resolved = _resolve_days(override, today)
    body = await _payment(stack, **resolved)
    before = await snapshot(stack.db)
    r = await stack.http.post("/api/payments", json=body, headers=await stack.ops())
    assert_refused(r, 422, field, *reason)
    assert await snapshot(stack.db) == before


async def test_payment_twice_same_bank_transaction_is_409(stack: Stack) -> None:
    tx = unique("BANK-TWICE-")
    r = await stack.http.post(
        "/api/payments",
        json=await _payment(stack, bank_transaction_id=tx),
        headers=await stack.ops(),
    )
    assert r.status_code == 201, r.text
    first = r.json()
    before = await snapshot(stack.db)
    for amount in ("100.00", "250.00"):  # identical replay, and a different body
        r = await stack.http.post(
            "/api/payments",
            json=await _payment(stack, bank_transaction_id=tx, amount=amount),
            headers=await stack.ops(),
        )
        assert_refused(r, 409, "bank_transaction_id", "already recorded", str(first["id"]))
    assert await snapshot(stack.db) == before
    assert await count(stack.db, Payment, Payment.bank_transaction_id == tx) == 1


async def test_unmatched_payment_goes_to_suspense(stack: Stack) -> None:
    ops = await stack.ops()
    nobody = ogm_for_invoice(2019, 999_999)  # valid check digits, matches no invoice
    spelled = nobody.replace("+", "*")  # "***...***" is an accepted spelling
    r = await stack.http.post(
        "/api/payments",
        json=await _payment(stack, structured_communication=spelled, amount="42.10"),
        headers=ops,
    )
    assert r.status_code == 201, r.text
    with_ogm = r.json()
    assert with_ogm["matched"] is False
    assert with_ogm["invoice_id"] is None
    assert with_ogm["structured_communication"] == nobody
    assert with_ogm["amount"] == "42.10"
    r = await stack.http.post("/api/payments", json=await _payment(stack), headers=ops)
    assert r.status_code == 201, r.text
    without_ogm = r.json()
    assert without_ogm["matched"] is False

    r = await stack.http.get("/api/payments", params={"matched": "false"}, headers=ops)
    assert r.status_code == 200, r.text
    suspense = {p["id"]: p for p in r.json()}
    assert with_ogm["id"] in suspense and without_ogm["id"] in suspense
    assert all(p["matched"] is False for p in r.json())
    assert suspense[with_ogm["id"]]["bank_transaction_id"] == with_ogm["bank_transaction_id"]
    r = await stack.http.get("/api/payments", params={"matched": "true"}, headers=ops)
    assert r.status_code == 200, r.text
    assert with_ogm["id"] not in {p["id"] for p in r.json()}
    # Kept on the books too: the money sits in the suspense account, not lost.
    r = await stack.http.get("/api/ledger/balances", headers=ops)
    balances = {row["account"]: row["balance"] for row in r.json()}
    assert "payments_suspense" in balances


async def _open_invoice(stack: Stack) -> Invoice:
    """An invoice issued straight on the database (no workflow): something to pay."""
    async with stack.db.session() as session:
        member = await new_member(session)
        client = await new_client(session)
        mission = await new_mission(session, member, client, on=await stack.today())
        await session.flush()
        return await issue_invoice(session, mission.id, await stack.today(), 30)


async def _line(stack: Stack, **over: Any) -> dict[str, Any]:
    r = await stack.http.post(
        "/api/payments", json=await _payment(stack, **over), headers=await stack.ops()
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    # INV-7: the whole bank line is booked, applied or held in suspense.
    assert Decimal(body["applied"]) + Decimal(body["suspense"]) == Decimal(body["amount"])
    return body


async def _booked_bank(stack: Stack, payment_id: int) -> Decimal:
    keys = [f"{kind}:{payment_id}" for kind in ("client_payment", "recovery", "payment_suspense")]
    async with stack.db.session() as session:
        return Decimal(
            await session.scalar(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0))
                .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
                .where(LedgerTransaction.event_key.in_(keys), LedgerEntry.account == "bank")
            )
            or 0
        )


@pytest.mark.parametrize(
    ("communication", "reason"),
    [
        pytest.param(_bad_ogm(), "check digits", id="ogm-check-digits"),
        pytest.param("+++123/4567/890+++", "length", id="ogm-short"),
        pytest.param("facture 2026-12, merci", "format", id="free-text"),
    ],
)
async def test_bank_line_with_an_unrecognised_communication_is_booked(
    stack: Stack, communication: str, reason: str
) -> None:
    """Issue 13 #3: a communication with bad check digits was refused (422): money on the bank
    statement with no booking. It goes to suspense, with the reason, for ops."""
    line = await _line(stack, structured_communication=communication, amount="77.70")
    assert line["matched"] is False and line["invoice_id"] is None
    assert line["communication"] == communication
    assert (line["applied"], line["suspense"]) == ("0.00", "77.70")
    assert "communication not recognised" in line["suspense_reason"]
    assert reason in line["suspense_reason"]
    assert await _booked_bank(stack, line["id"]) == Decimal("77.70")
    r = await stack.http.get(
        "/api/payments", params={"suspense": "true"}, headers=await stack.ops()
    )
    assert r.status_code == 200, r.text
    held = {p["id"]: p for p in r.json()}
    assert held[line["id"]]["suspense"] == "77.70"


async def test_overpayment_and_payment_on_a_paid_invoice_are_booked(stack: Stack) -> None:
    """Issue 13 #3: an overpayment (422) and a second payment on a paid invoice (409) were
    refused. The invoice takes what it can; the rest goes to suspense, linked to it."""
    invoice = await _open_invoice(stack)
    total = invoice.total_incl_vat
    ogm = invoice.structured_communication
    over = await _line(stack, structured_communication=ogm, amount=f"{total + 25:.2f}")
    assert over["matched"] is True and over["invoice_id"] == invoice.id
    assert over["invoice_status"] == "paid" and over["invoice_balance"] == "0.00"
    assert (over["applied"], over["suspense"]) == (f"{total:.2f}", "25.00")
    assert "overpayment" in over["suspense_reason"]
    again = await _line(stack, structured_communication=ogm, amount="40.00")
    assert again["matched"] is False and again["invoice_id"] == invoice.id
    assert (again["applied"], again["suspense"]) == ("0.00", "40.00")
    assert "already paid" in again["suspense_reason"]
    for line in (over, again):
        assert await _booked_bank(stack, line["id"]) == Decimal(line["amount"])
    ops = await stack.ops()
    r = await stack.http.get("/api/payments", params={"suspense": "true"}, headers=ops)
    held = {p["id"]: p for p in r.json()}
    assert held[over["id"]]["suspense"] == "25.00" and held[again["id"]]["suspense"] == "40.00"
    r = await stack.http.get("/api/payments", params={"suspense": "false"}, headers=ops)
    assert not {over["id"], again["id"]} & {p["id"] for p in r.json()}
    r = await stack.http.get("/api/ops/stuck", headers=ops)
    assert any(
        c["kind"] == "payment_in_suspense" and c["payment_id"] == over["id"] for c in r.json()
    )
    # Same bank transaction id again: the same booking, not a second one.
    before = await snapshot(stack.db)
    r = await stack.http.post(
        "/api/payments",
        json=await _payment(
            stack,
            structured_communication=ogm,
            amount=over["amount"],
            bank_transaction_id=over["bank_transaction_id"],
        ),
        headers=ops,
    )
    assert_refused(r, 409, "bank_transaction_id", "already recorded")
    assert await snapshot(stack.db) == before
    # Resolved later: ops queue the 40.00 to be paid back (the refund queue), with a reason.
    refund = f"/api/payments/{again['id']}/refund"
    r = await stack.http.post(refund, json={"reason": ""}, headers=ops)
    assert_refused(r, 422, "reason")
    r = await stack.http.post(refund, json={"reason": "x"}, headers=await stack.advisor())
    assert r.status_code == 403, r.text
    assert await snapshot(stack.db) == before
    r = await stack.http.post(refund, json={"reason": "client paid twice"}, headers=ops)
    assert r.status_code == 200, r.text
    assert (r.json()["suspense"], r.json()["refunded"], r.json()["applied"]) == (
        "0.00",
        "40.00",
        "0.00",
    )
    r = await stack.http.post(refund, json={"reason": "again"}, headers=ops)
    assert_refused(r, 409, "payment", "nothing left in suspense")
    r = await stack.http.get("/api/payments", params={"suspense": "true"}, headers=ops)
    assert again["id"] not in {p["id"] for p in r.json()}
    async with stack.db.session() as session:
        assert await unbalanced_transactions(session) == []
        rows = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "refund_payment", AuditEntry.target_id == str(again["id"])
            )
        )
        assert [a.reason for a in rows] == ["client paid twice"]


# ---------------------------------------------------------------- lifecycle steps


async def _signed_and_confirmed(stack: Stack) -> tuple[int, dict[str, str]]:
    """One mission (start in 2 days, 3 days long) signed, confirmed and in progress."""
    member, mh = await stack.new_member(iban=GOOD_IBAN)
    client = await stack.new_client(member["id"])
    mission = await stack.new_mission(mh, member["id"], client["id"], start_in=2, length=3)
    mid = int(mission["id"])
    r = await stack.http.post(f"/api/missions/{mid}/sign", headers=mh)
    assert r.status_code == 200, r.text
    r = await stack.http.post(
        f"/api/missions/{mid}/client-confirmation",
        json={"method": "signed order form"},
        headers=await stack.ops(),
    )
    assert r.status_code == 200, r.text
    await stack.wait_mission(mid, lambda m: m["stage"] == "in_progress")
    return mid, mh


async def _steps(stack: Stack, mid: int, step: str) -> int:
    return await count(
        stack.db, TimelineEvent, TimelineEvent.mission_id == mid, TimelineEvent.step == step
    )


async def _assert_no_report(stack: Stack, mid: int) -> None:
    m = await stack.mission(mid)
    assert m["days_worked"] is None, m
    assert m["expenses"] == []
    assert "work_reported" not in {t["step"] for t in m["timeline"]}
    assert await count(stack.db, Expense, Expense.mission_id == mid) == 0


async def test_second_signature_and_early_report_refused(stack: Stack) -> None:
    mid, mh = await _signed_and_confirmed(stack)
    signed = await stack.mission(mid)
    assert signed["signed_at"] is not None

    r = await stack.http.post(f"/api/missions/{mid}/sign", headers=mh)
    assert_refused(r, 409, "signature", "already signed")
    again = await stack.mission(mid)
    assert again["signed_at"] == signed["signed_at"]
    assert await _steps(stack, mid, "signed") == 1

    r = await stack.http.post(
        f"/api/missions/{mid}/client-confirmation",
        json={"method": "email"},
        headers=await stack.ops(),
    )
    assert_refused(r, 409, "method", "already recorded")
    assert (await stack.mission(mid))["client_confirmation_method"] == "signed order form"

    # The work ends in four days: a report now is refused, and nothing is recorded.
    report = {"days_worked": 3, "expenses": [{"label": "train", "amount": "45.50"}]}
    r = await stack.http.post(f"/api/missions/{mid}/work-report", json=report, headers=mh)
    assert r.status_code in (409, 422), r.text
    assert_refused(r, r.status_code, "days_worked", "the work ends on")
    await _assert_no_report(stack, mid)


async def test_work_report_validated(stack: Stack) -> None:
    mid, mh = await _signed_and_confirmed(stack)
    await stack.env.sleep(timedelta(days=5))
    await stack.wait_mission(mid, lambda m: m["stage"] == "work_report")

    def line(amount: str, label: str = "train") -> dict[str, str]:
        return {"label": label, "amount": amount}

    bad = [
        ({"days_worked": 0}, "days_worked", "between 1 and 3"),
        ({"days_worked": 4}, "days_worked", "between 1 and 3"),
        ({"days_worked": -1}, "days_worked", "between 1 and 3"),
        ({"days_worked": "3"}, "days_worked", "integer"),
        ({"days_worked": 3.0}, "days_worked", "integer"),
        ({"days_worked": 3, "expenses": [line("-5")]}, "expenses.0.amount", "negative"),
        ({"days_worked": 3, "expenses": [line("5.00"), line("0")]}, "expenses.1.amount", "than 0"),
        ({"days_worked": 3, "expenses": [line("1e3")]}, "expenses.0.amount", "exponent"),
        ({"days_worked": 3, "expenses": [line("5.00", " ")]}, "expenses.0.label", "required"),
        ({"days_worked": 3, "stage": "paid"}, "stage", "extra"),
    ]
    for body, field, reason in bad:
        r = await stack.http.post(f"/api/missions/{mid}/work-report", json=body, headers=mh)
        assert_refused(r, 422, field, reason)
        await _assert_no_report(stack, mid)

    good = {"days_worked": 3, "expenses": [line("45.50")]}
    r = await stack.http.post(f"/api/missions/{mid}/work-report", json=good, headers=mh)
    assert r.status_code == 200, r.text
    assert r.json()["days_worked"] == 3
    assert r.json()["expenses"] == [{"label": "train", "amount": "45.50"}]

    r = await stack.http.post(
        f"/api/missions/{mid}/work-report",
        json={"days_worked": 2, "expenses": [line("99.00", "taxi")]},
        headers=mh,
    )
    assert_refused(r, 409, "days_worked", "already submitted")
    m = await stack.mission(mid)
    assert m["days_worked"] == 3
    assert m["expenses"] == [{"label": "train", "amount": "45.50"}]
    assert await count(stack.db, Expense, Expense.mission_id == mid) == 1
    assert await _steps(stack, mid, "work_reported") == 1


@pytest.mark.parametrize("role", ["advisor", "ops"])
@pytest.mark.parametrize("member_id", [-5953397110194351, 0, 2**31, 2**63])
async def test_client_of_a_member_id_out_of_range_is_422_not_500(
    db: Database, settings: Settings, accounts: tuple[Account, Account], role: str, member_id: int
) -> None:
    """Found by the fuzzer (tests/api/test_fuzz.py): staff posting a client with a member_id
    beyond PostgreSQL's integer got a 500 ("integer out of range"). Now 422 naming member_id,
    nothing written."""
    from api.app import create_app

    async with api_client(create_app(settings, db, None)) as http:
        staff = await Stack(None, http, db, settings).staff(role)  # type: ignore[arg-type]
        before = await snapshot(db)
        body = client_payload(member_id=member_id)
        r = await http.post("/api/clients", json=body, headers=staff)
        assert_refused(r, 422, "member_id", "an id between 1 and 2147483647")
        assert await snapshot(db) == before


@pytest.mark.parametrize("action", ["K\x00Q", "retry;", "Retry"])
async def test_audit_filter_on_an_action_that_is_no_name_is_422_not_500(
    db: Database, settings: Settings, action: str
) -> None:
    """Found by the fuzzer (tests/api/test_fuzz.py at 1200 examples per operation): a NUL in
    GET /api/ops/audit?action= reached PostgreSQL, whose text cannot hold it: 500. An action is
    a name of lowercase letters, digits and "_": anything else is a 422 naming the parameter."""
    from api.app import create_app

    async with api_client(create_app(settings, db, None)) as http:
        ops = await Stack(None, http, db, settings).staff("ops")  # type: ignore[arg-type]
        r = await http.get("/api/ops/audit", params={"action": action}, headers=ops)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", "action"]
        ok = await http.get("/api/ops/audit", params={"action": "assign_advisor"}, headers=ops)
        assert ok.status_code == 200, ok.text
