"""The console pages over the real app (ASGI): the authorization matrix of every console route,
the dashboard's figures on the page, the list's filters and its CSV export link."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import func, select

from api.app import create_app
from core.db import Database
from core.settings import Settings
from models import AuditEntry
from services import collection, people, rates, staff_tasks
from services.invoicing import mission_invoice
from tests.conftest import member_payload, unique
from tests.console.conftest import PASSWORD, Book, _client, _member, _mission

ANON, MEMBER, ADVISOR, OTHER_ADVISOR, OPS = "anonymous", "member", "advisor", "other", "ops"
STAFF = (ADVISOR, OTHER_ADVISOR, OPS)
ONLY_OPS = (OPS,)

# Every console route: (method, path, roles admitted). `{own}` is a mission of advisor A's
# members, `{foreign}` one of another advisor's: A gets the 404 page for it, like a missing one.
POLICY: list[tuple[str, str, tuple[str, ...]]] = [
    ("GET", "/console", STAFF),
    ("GET", "/console/missions", STAFF),
    ("GET", "/console/missions.csv", STAFF),
    ("GET", "/console/missions/{mission_id}", STAFF),
    ("GET", "/console/missions/{mission_id}/documents/{document_id}", STAFF),
    ("GET", "/console/ops", ONLY_OPS),
    ("POST", "/console/ops/missions/{mission_id}/repairs/{action}", ONLY_OPS),
    ("POST", "/console/missions/{mission_id}/guarantee/approval", STAFF),
    ("POST", "/console/ops/payments/{payment_id}/match", ONLY_OPS),
    ("GET", "/console/ops/bulk", ONLY_OPS),
    ("POST", "/console/ops/bulk", ONLY_OPS),
    ("GET", "/console/ops/bulk/{run_id}", ONLY_OPS),
    ("GET", "/console/ops/bulk/{run_id}/progress", ONLY_OPS),
    ("POST", "/console/ops/bulk/{run_id}/cancel", ONLY_OPS),
    ("GET", "/console/ops/audit", ONLY_OPS),
    ("GET", "/console/ops/gateways", ONLY_OPS),
    ("POST", "/console/ops/gateways/{name}", ONLY_OPS),
    ("GET", "/console/ops/rates", ONLY_OPS),
    ("POST", "/console/ops/rates/{name}", ONLY_OPS),
    ("GET", "/console/ops/bank", ONLY_OPS),
    ("POST", "/console/ops/bank", ONLY_OPS),
]
# What an admitted role may get besides 200: a refusal of the (empty) form, a missing object,
# a redirect after a POST, Temporal not running in this in-process app.
ADMITTED = {200, 303, 404, 422, 503}


def _routes(app: Any) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, through included routers (FastAPI includes them lazily)."""
    found = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            found.append((route.path, set(route.methods or ())))
        elif hasattr(route, "effective_route_contexts"):
            found += [(c.path, set(c.methods or ())) for c in route.effective_route_contexts()]
    return found


def console_routes(app: Any) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, methods in _routes(app)
        if path.startswith("/console")
        for method in methods
    }


def test_policy_table_covers_every_console_route(settings: Settings) -> None:
    table = {(method, path) for method, path, _ in POLICY}
    routes = console_routes(create_app(settings))
    assert routes - table == set(), "console routes without a row in the policy table"
    assert table - routes == set(), "policy rows for routes that do not exist"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


class Browsers:
    """One logged-in HTTP client per role, on the app in-process."""

    def __init__(self, app: Any, book: Book, member_email: str) -> None:
        self.app = app
        self.book = book
        self.member_email = member_email
        self.clients: dict[str, httpx.AsyncClient] = {}

    async def as_(self, role: str) -> httpx.AsyncClient:
        if role in self.clients:
            return self.clients[role]
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://coopflow.test", timeout=60
        )
        email = {
            ADVISOR: self.book.advisor.email,
            OTHER_ADVISOR: self.book.other_advisor.email,
            OPS: self.book.ops.email,
            MEMBER: self.member_email,
        }.get(role)
        if email is not None:
            form = await http.get("/login")
            password = "member password 123" if role == MEMBER else PASSWORD
            r = await http.post(
                "/login",
                data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
            )
            assert r.status_code == 303, r.text
        self.clients[role] = http
        return http


@pytest.fixture(scope="session")
async def browsers(db: Database, settings: Settings, book: Book) -> AsyncIterator[Browsers]:
    payload = member_payload(email=f"{unique('console-member')}@example.be")
    async with db.session() as session:
        await people.create_member(
            session,
            name="Console Member",
            email=payload["email"],
            password="member password 123",
            iban=payload["iban"],
            national_number=payload["national_number"],
        )
    app = create_app(settings, db, None)
    b = Browsers(app, book, payload["email"])
    yield b
    for http in b.clients.values():
        await http.aclose()


def _url(path: str, mission_id: int) -> str:
    return path.format(
        mission_id=mission_id, action="retry", payment_id=99_999_999, run_id=99_999_999,
        name="declaration", document_id=99_999_999,
    )  # fmt: skip


async def _csrf(http: httpx.AsyncClient, role: str) -> str:
    """The token of this browser's session (the login form's before login)."""
    html = (await http.get("/login" if role == ANON else "/console")).text
    return csrf_of(html)


@pytest.mark.parametrize(("method", "path", "roles"), POLICY)
async def test_console_matrix(
    browsers: Browsers, book: Book, method: str, path: str, roles: tuple[str, ...]
) -> None:
    own = book.missions["late45"].id
    foreign = book.missions["foreign"].id
    for role in (ANON, MEMBER, ADVISOR, OTHER_ADVISOR, OPS):
        http = await browsers.as_(role)
        data = {"csrf_token": await _csrf(http, role)} if method == "POST" else None
        r = await http.request(method, _url(path, own), data=data)
        if role == ANON:
            assert r.status_code == 303 and r.headers["location"].startswith("/login"), path
        elif role not in roles:
            assert r.status_code == 403, (role, path, r.status_code)
        elif "{mission_id}" in path and role == OTHER_ADVISOR:
            assert r.status_code == 404, (role, path)
        elif method == "GET" and "{run_id}" not in path and "{document_id}" not in path:
            assert r.status_code == 200, (role, path, r.status_code, r.text[:300])
        else:
            assert r.status_code in ADMITTED, (role, path, r.status_code, r.text[:300])
            assert not r.headers.get("location", "").startswith("/login"), path
    if "{mission_id}" in path and ADVISOR in roles:
        advisor = await browsers.as_(ADVISOR)
        data = {"csrf_token": await _csrf(advisor, ADVISOR)} if method == "POST" else None
        missing = await advisor.request(method, _url(path, 99_999_999), data=data)
        hidden = await advisor.request(method, _url(path, foreign), data=data)
        assert missing.status_code == hidden.status_code == 404


async def test_dashboard_page_shows_the_advisor_figures(browsers: Browsers, book: Book) -> None:
    http = await browsers.as_(ADVISOR)
    r = await http.get("/console", headers={"Accept-Language": "en"})
    assert r.status_code == 200
    html = r.text
    assert 'href="/console/missions?stage=dunning"' in html
    row = re.search(r'<tr data-stage="invoiced">(.*?)</tr>', html, re.S)
    assert row and ">2<" in row.group(1) and "3,000.00" in row.group(1)
    assert 'id="fund-data"' in html and "/static/vendor/chartjs/chart.umd.js" in html
    # Outside its period, no stay counts; a reversed period is refused on the form.
    r = await http.get("/console?from=2027-02-01&to=2027-01-01")
    assert r.status_code == 422
    r = await http.get("/console?from=2027-01-01&to=2027-12-31")
    contract = re.search(r'<tr data-duration="contract">(.*?)</tr>', r.text, re.S)
    assert contract and ">5<" in contract.group(1)


async def test_list_page_filters_and_its_export_link_match(browsers: Browsers, book: Book) -> None:
    http = await browsers.as_(ADVISOR)
    r = await http.get("/console/missions?stage=dunning&sort=amount&dir=asc")
    assert r.status_code == 200
    shown = [int(i) for i in re.findall(r'<tr data-mission="(\d+)">', r.text)]
    assert shown == [book.missions["late100"].id, book.missions["late45"].id]
    link = re.search(r'href="/console/missions\.csv\?([^"]*)"', r.text)
    assert link is not None
    export = await http.get("/console/missions.csv?" + link.group(1).replace("&amp;", "&"))
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [int(r[0]) for r in rows[1:]] == shown
    bad = await http.get("/console/missions?amount_min=1e3&stage=nope")
    assert bad.status_code == 422
    assert "amount_min" in bad.text and "aria-invalid" in bad.text


async def test_staff_mission_page(browsers: Browsers, book: Book, settings: Settings) -> None:
    http = await browsers.as_(ADVISOR)
    mission = book.missions["written"]
    r = await http.get(f"/console/missions/{mission.id}")
    assert r.status_code == 200
    assert f"/namespaces/default/workflows/mission-{mission.id}" in r.text
    assert settings.temporal_ui_url in r.text
    assert "write_off" in r.text and "recovery" in r.text  # the ledger's transactions


async def test_staff_land_on_their_console(browsers: Browsers, book: Book) -> None:
    http = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=browsers.app), base_url="http://coopflow.test"
    )
    async with http:
        form = await http.get("/login")
        r = await http.post(
            "/login",
            data={"email": book.ops.email, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        )
        assert (r.status_code, r.headers["location"]) == (303, "/console")
        assert (await http.get("/")).headers["location"] == "/console"


@pytest.mark.parametrize(
    ("language", "words", "money"),
    [
        ("fr", ("Fonds de garantie", "Tableau de bord"), "350,00\xa0€"),
        ("nl", ("Waarborgfonds", "Pijplijn"), "€\xa0350,00"),
        ("en", ("Guarantee fund", "Pipeline"), "€350.00"),
    ],
)
async def test_console_speaks_fr_nl_en(
    browsers: Browsers, language: str, words: tuple[str, ...], money: str
) -> None:
    http = await browsers.as_(ADVISOR)
    r = await http.get("/console", headers={"Accept-Language": language})
    assert r.status_code == 200
    for word in words:
        assert word in r.text, (language, word)
    assert money in r.text


async def _audit_rows(db: Database, **where: Any) -> int:
    async with db.session() as session:
        query = select(func.count(AuditEntry.id))
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        return int(await session.scalar(query) or 0)


async def test_a_repair_without_a_reason_is_refused_on_the_form(
    browsers: Browsers, book: Book, db: Database
) -> None:
    http = await browsers.as_(OPS)
    mission = book.missions["declaration"]
    before = await _audit_rows(db, mission_id=mission.id)
    r = await http.post(
        f"/console/ops/missions/{mission.id}/repairs/skip",
        data={"csrf_token": await _csrf(http, OPS), "reason": "   ", "reference": "DIM-1"},
    )
    assert r.status_code == 422
    form = re.search(r'<details open data-repair="skip">(.*?)</details>', r.text, re.S)
    assert form and "field-error" in form.group(1) and 'value="DIM-1"' in form.group(1)
    assert await _audit_rows(db, mission_id=mission.id) == before
    # Without the CSRF token the form is refused before anything else.
    r = await http.post(
        f"/console/ops/missions/{mission.id}/repairs/skip", data={"reason": "no token"}
    )
    assert r.status_code == 403


async def test_ops_cancel_a_queued_bulk_run_from_its_page(browsers: Browsers, book: Book) -> None:
    """A run whose workflow never started (this app has no Temporal): cancelled in the database,
    audited, and never started by the worker's sweep."""
    from services import bulk

    async with browsers.app.state.db.session() as session:
        run = await bulk.create_run(
            session,
            book.ops_viewer,
            "retry",
            "the declaration service is back",
            [book.missions["declaration"].id],
            {},
            rate_per_second=5,
            today=book.today,
        )
        run_id = run.id
    http = await browsers.as_(OPS)
    page = await http.get(f"/console/ops/bulk/{run_id}", headers={"Accept-Language": "fr"})
    assert 'id="bulk-cancel"' in page.text and "Annuler le lot" in page.text
    assert 'data-status="queued"' in page.text and "hx-get" in page.text  # polled until it runs
    csrf = await _csrf(http, OPS)
    r = await http.post(f"/console/ops/bulk/{run_id}/cancel", data={"csrf_token": csrf})
    assert r.status_code == 303  # no reason: refused, said on the page
    page = await http.get(f"/console/ops/bulk/{run_id}")
    assert 'data-status="queued"' in page.text
    r = await http.post(
        f"/console/ops/bulk/{run_id}/cancel",
        data={"csrf_token": csrf, "reason": "started on the wrong filter"},
    )
    assert r.status_code == 303 and r.headers["location"] == f"/console/ops/bulk/{run_id}"
    page = await http.get(f"/console/ops/bulk/{run_id}")
    assert 'data-status="cancelled"' in page.text and 'id="bulk-cancel"' not in page.text
    assert "hx-get" not in page.text
    assert f'data-mission="{book.missions["declaration"].id}" data-status="cancelled"' in page.text
    async with browsers.app.state.db.session() as session:
        rows = await session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "cancel_bulk", AuditEntry.bulk_run_id == run_id
            )
        )
        assert [(a.reason, a.after) for a in rows] == [
            ("started on the wrong filter", {"status": "cancelled"})
        ]


async def test_gateway_form_checks_its_fields_and_audits_the_change(
    browsers: Browsers, db: Database, book: Book
) -> None:
    http = await browsers.as_(OPS)
    csrf = await _csrf(http, OPS)
    before = await _audit_rows(db, action="set_gateway", user_id=book.ops.id)
    url = "/console/ops/gateways/email"
    for bad in ({"failure_percent": "abc"}, {"failure_percent": "150"}, {"reason": ""}):
        data = {"csrf_token": csrf, "failure_percent": "10", "latency_seconds": "0"}
        data["reason"] = "training"
        data.update(bad)
        r = await http.post(url, data=data)
        assert r.status_code == 422, (bad, r.status_code)
        assert "aria-invalid" in r.text
    assert await _audit_rows(db, action="set_gateway", user_id=book.ops.id) == before
    data = {"csrf_token": csrf, "failure_percent": "0", "latency_seconds": "0", "reason": "reset"}
    r = await http.post(url, data=data)
    assert (r.status_code, r.headers["location"]) == (303, "/console/ops/gateways")
    assert await _audit_rows(db, action="set_gateway", user_id=book.ops.id) == before + 1
    assert await _audit_rows(db, action="set_gateway", reason="reset") >= 1
    r = await http.post("/console/ops/gateways/teleporter", data=data)
    assert r.status_code == 404


async def test_rate_form_refuses_bad_rates_and_enters_the_next_one(
    browsers: Browsers, db: Database, book: Book
) -> None:
    http = await browsers.as_(OPS)
    key = unique("rate:test:")
    async with db.session() as session:  # an open task, as the periodic job makes them
        await staff_tasks.ensure_task(
            session,
            kind="rate_request",
            key=key,
            title=rates.RATE_TABLES["b2b_interest"].task_title,
            params={"table": "b2b_interest", "valid_from": "2031-07-01"},
            due_on=date(2031, 7, 1),
            link=rates.RATES_PAGE,
        )
    r = await http.get("/console/ops/rates", headers={"Accept-Language": "fr"})
    assert r.status_code == 200
    assert 'id="staff-tasks"' in r.text and "Taux d&#39;intérêt de retard" in r.text
    row = re.search(rf'<tr data-key="{re.escape(key)}">(.*?)</tr>', r.text, re.S)
    assert row and "du semestre commençant le 2031-07-01" in row.group(1)
    async with db.session() as session:
        await staff_tasks.close_task(session, key, book.ops.id)
    form = re.search(r'action="/console/ops/rates/legal_interest"(.*?)</form>', r.text, re.S)
    assert form is not None
    valid_from = re.search(r'name="valid_from" value="([0-9-]+)"', form.group(1))
    assert valid_from is not None
    csrf = await _csrf(http, OPS)
    good = {
        "csrf_token": csrf,
        "valid_from": valid_from.group(1),
        "annual_rate": "4.75",
        "source": "Moniteur belge (console test)",
        "confidence": "H",
        "reason": "published",
    }
    before = await _audit_rows(db, action="enter_rate", user_id=book.ops.id)
    for bad in ({"annual_rate": "0.0475"}, {"annual_rate": "21%"}, {"source": ""}):
        r = await http.post("/console/ops/rates/legal_interest", data={**good, **bad})
        assert r.status_code == 422, (bad, r.status_code)
        field = next(iter(bad))
        assert f'id="legal_interest-{field}-error"' in r.text, bad
    assert await _audit_rows(db, action="enter_rate", user_id=book.ops.id) == before
    r = await http.post("/console/ops/rates/legal_interest", data=good)
    assert (r.status_code, r.headers["location"]) == (303, "/console/ops/rates")
    assert await _audit_rows(db, action="enter_rate", user_id=book.ops.id) == before + 1
    r = await http.post("/console/ops/rates/legal_interest", data=good)  # the same again
    assert r.status_code == 409 and 'id="legal_interest-valid_from-error"' in r.text
    r = await http.post("/console/ops/rates/teleporter", data=good)
    assert r.status_code == 404


async def test_ops_match_a_payment_in_suspense_by_hand(
    browsers: Browsers, book: Book, db: Database
) -> None:
    async with db.session() as session:
        payment, matched = await collection.record_payment(
            session,
            amount=Decimal("100.00"),
            received_on=book.today,
            structured_communication=None,
            bank_transaction_id=unique("SUSPENSE-"),
            today=book.today,
            recorded_by_user_id=book.ops.id,
        )
        assert matched is None
        invoice = await mission_invoice(session, book.missions["foreign"].id)
        payment_id, invoice_id, balance = payment.id, invoice.id, invoice.balance
    http = await browsers.as_(OPS)
    page = await http.get("/console/ops")
    assert f'data-payment="{payment_id}"' in page.text
    csrf = csrf_of(page.text)
    url = f"/console/ops/payments/{payment_id}/match"
    # Without a reason, or to an invoice that does not exist: refused, nothing matched.
    refusals = [
        {"invoice_id": str(invoice_id), "reason": ""},
        {"invoice_id": "999999", "reason": "x"},
    ]
    for refused in refusals:
        r = await http.post(url, data={"csrf_token": csrf, **refused})
        assert r.status_code == 303 and r.headers["location"] == "/console/ops#suspense"
        assert "coopflow_flash" in r.headers.get("set-cookie", "")
    assert await _audit_rows(db, action="match_payment", target_id=str(payment_id)) == 0
    r = await http.post(
        url, data={"csrf_token": csrf, "invoice_id": str(invoice_id), "reason": "matched by hand"}
    )
    assert r.status_code == 303
    assert await _audit_rows(db, action="match_payment", target_id=str(payment_id)) == 1
    async with db.session() as session:
        invoice = await mission_invoice(session, book.missions["foreign"].id)
        assert invoice.balance == balance - Decimal("100.00")
    page = await http.get("/console/ops")
    assert f'data-payment="{payment_id}"' not in page.text
    data = {"csrf_token": csrf, "invoice_id": "1", "reason": "x"}
    assert (await http.post("/console/ops/payments/99999999/match", data=data)).status_code == 404


async def test_advisor_approves_a_mission_waiting_for_the_guarantee_gate(
    browsers: Browsers, book: Book, db: Database
) -> None:
    """Issue 12: the staff mission page shows why the fund does not cover a mission and lets the
    member's advisor approve it with a reason (audited); without a reason nothing changes."""
    async with db.session() as session:
        # A member of the advisor's own, not one of the book's: its figures stay exact.
        member = await _member(session, book.advisor, "Gate Member")
        client = await _client(session, member, "Gate Client")
        mission = await _mission(
            session, member, client, "Big stage", "30000.00", "contract",
            book.today, signed_at=None, guarantee_status="needs_approval",
            guarantee_reasons=[{"rule": "client_cap", "message": "over the client cap"}],
        )  # fmt: skip
        await session.commit()
    http = await browsers.as_(ADVISOR)
    page = await http.get(f"/console/missions/{mission.id}")
    assert page.status_code == 200
    assert 'id="approve-guarantee"' in page.text and "over the client cap" in page.text
    r = await http.post(
        f"/console/missions/{mission.id}/guarantee/approval",
        data={"csrf_token": await _csrf(http, ADVISOR), "reason": "  "},
    )
    assert r.status_code == 422 and 'id="guarantee-error"' in r.text
    assert await _audit_rows(db, mission_id=mission.id) == 0
    r = await http.post(
        f"/console/missions/{mission.id}/guarantee/approval",
        data={"csrf_token": await _csrf(http, ADVISOR), "reason": "known client, small risk"},
    )
    assert r.status_code == 303, r.text
    assert await _audit_rows(db, mission_id=mission.id, action="guarantee_approved") == 1
    page = await http.get(f"/console/missions/{mission.id}")
    assert 'id="approve-guarantee"' not in page.text
    assert 'data-guarantee="approved"' in page.text


async def test_audit_page_filter_on_an_action_with_a_nul_finds_nothing_not_500(
    browsers: Browsers,
) -> None:
    """The fuzzer's NUL in an audit filter (a 500 on GET /api/ops/audit) reached PostgreSQL from
    the console's audit page too: no action has one, so nothing matches."""
    http = await browsers.as_(OPS)
    r = await http.get("/console/ops/audit", params={"action": "K\x00Q"})
    assert r.status_code == 200, r.text[-500:]


async def test_bank_page_imports_a_statement_and_refuses_a_bad_one(browsers: Browsers) -> None:
    """Upload a camt.053 on the ops console: the statement is listed with its counts, its
    unapplied line shown; a file that is not valid camt is refused naming the element."""
    from datetime import timedelta
    from decimal import Decimal

    from tests.bank.camt import Line, statement

    http = await browsers.as_(OPS)
    page = await http.get("/console/ops/bank")
    assert page.status_code == 200 and 'href="/console/ops/bank"' in page.text
    today = date.fromisoformat((await http.get("/api/clock")).json()["today"])
    ref, stmt = unique("CONSOLE"), unique("STMT")
    data = statement(
        [Line(ref, Decimal("42.00"), today - timedelta(days=1), free_text="no idea")],
        statement_id=stmt,
        account="BE62510007547061",
        on=today - timedelta(days=1),
    )
    csrf = csrf_of(page.text)
    r = await http.post(
        "/console/ops/bank",
        data={"csrf_token": csrf},
        files={"file": ("day.xml", data, "application/xml")},
    )
    assert r.status_code == 303, r.text[:500]
    listed = await http.get("/console/ops/bank")
    assert f'data-statement="{stmt}"' in listed.text
    assert f'data-reference="{ref}" data-outcome="suspense"' in listed.text
    bad = data.replace(b">42.00<", b">42.0x<", 1)
    r = await http.post(
        "/console/ops/bank",
        data={"csrf_token": csrf},
        files={"file": ("bad.xml", bad, "application/xml")},
    )
    assert r.status_code == 422
    # Named in the page's language (the session's may be fr or nl: test_console_speaks_fr_nl_en).
    assert re.search(r"(element|élément) Amt", r.text), r.text[-1500:]
    assert re.search(r"(line|ligne|regel) 7", r.text)
