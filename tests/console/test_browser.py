"""The consoles in Debian's Chromium (Playwright) on a real uvicorn, worker and Temporal dev server
(tests/web/conftest.py): an advisor filters the pipeline and exports CSV; an ops user breaks the
declaration gateway, watches missions become stuck, fixes it, bulk-retries them after a preview,
sees them complete and the audit rows written. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import asyncio
import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import func, select

from core.settings import ROOT
from models import AuditEntry, Mission
from services.clock import business_today, current_clock
from tests.console.conftest import PASSWORD, Book, seed_book
from tests.web.conftest import Server

ARTIFACTS = ROOT / "test-artifacts" / "console"
MISSIONS = 3


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
async def web_book(server: Server) -> Book:
    async with server.db.session() as session:
        clock = await current_clock(session, server.settings.day_seconds, server.settings.timezone)
        return await seed_book(session, business_today(clock))


async def _page(browser: Any, server: Server, email: str, start: str) -> tuple[Any, Page]:
    context = await browser.new_context(base_url=server.url, accept_downloads=True, locale="en-GB")
    page = await context.new_page()
    page.set_default_timeout(20_000)
    await page.goto(f"/login?next={start}")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Log in").click()
    await expect(page).to_have_url(f"{server.url}{start}")
    return context, page


async def test_advisor_filters_the_pipeline_and_exports_csv(
    server: Server, browser: Any, web_book: Book
) -> None:
    context, page = await _page(browser, server, web_book.advisor.email, "/console")
    try:
        await expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
        # Chart.js (vendored, no CDN) drew both fund charts under the CSP.
        await page.wait_for_function(
            "() => window.Chart && Chart.getChart('exposure-chart')"
            " && Chart.getChart('months-chart')"
        )
        await shot(page, "01-advisor-dashboard")

        # The pipeline's dunning row opens the list filtered on that stage.
        await page.locator('tr[data-stage="dunning"] a').click()
        await expect(page).to_have_url(f"{server.url}/console/missions?stage=dunning")
        rows = page.locator("#mission-list tbody tr[data-mission]")
        await expect(rows).to_have_count(2)
        # Narrow it to one member, sorted by amount.
        await page.get_by_label("Member").select_option(label="Bram Peeters")
        await page.get_by_role("button", name="Filter").click()
        await expect(rows).to_have_count(1)
        shown = [await r.get_attribute("data-mission") for r in await rows.all()]
        assert shown == [str(web_book.missions["late100"].id)]
        await shot(page, "02-advisor-list-filtered")

        async with page.expect_download() as waiting:
            await page.get_by_role("button", name="Export CSV").click()
        body = await _downloaded(await waiting.value)
        exported = list(csv.DictReader(io.StringIO(body)))
        assert [r["id"] for r in exported] == shown
        assert exported[0]["client"].startswith("'=HYPERLINK(")  # never a live formula

        # The whole stage for the member with the formula-named client, exported the same way.
        await page.goto(f"/console/missions?member_id={web_book.members[1].id}")
        everything = [
            await r.get_attribute("data-mission")
            for r in await page.locator("#mission-list tbody tr[data-mission]").all()
        ]
        async with page.expect_download() as waiting:
            await page.get_by_role("button", name="Export CSV").click()
        body = await _downloaded(await waiting.value)
        assert [r["id"] for r in csv.DictReader(io.StringIO(body))] == everything

        written = web_book.missions["written"].id
        await page.goto(f"/console/missions/{written}")
        ui = server.settings.temporal_ui_url
        await expect(page.locator("#temporal-link")).to_have_attribute(
            "href", f"{ui}/namespaces/default/workflows/mission-{written}"
        )
        await shot(page, "03-advisor-mission")
        # Someone else's mission is not there for this advisor.
        response = await page.goto(f"/console/missions/{web_book.missions['foreign'].id}")
        assert response is not None and response.status == 404

        # In French: the words, the money and the dates follow the language switch.
        await page.goto("/console")
        await page.get_by_role("button", name="FR").click()
        await expect(page.get_by_role("heading", name="Tableau de bord")).to_be_visible()
        await expect(page.locator('tr[data-stage="contract"]')).to_contain_text("350,00")
        await shot(page, "10-advisor-dashboard-fr")
    finally:
        await context.close()


async def _downloaded(download: Any) -> str:
    path = Path(await download.path())
    return await asyncio.to_thread(path.read_text, encoding="utf-8-sig")


async def _api_token(server: Server, email: str, password: str) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.post("/api/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def _set_gateway(page: Page, rate: str, reason: str) -> None:
    await page.goto("/console/ops/gateways")
    card = page.locator("#gateway-declaration")
    await card.get_by_label("Failure rate (%)").fill(rate)
    await card.get_by_label("Latency (seconds)").fill("0")
    await card.get_by_label("Reason").fill(reason)
    await card.get_by_role("button", name="Apply").click()
    await expect(page.locator(".flash-success")).to_be_visible()


async def test_ops_breaks_the_gateway_then_bulk_retries_the_stuck_missions(
    server: Server, browser: Any, web_book: Book, tmp_path_factory: Any
) -> None:
    context, page = await _page(browser, server, web_book.ops.email, "/console/ops")
    ops = await _api_token(server, web_book.ops.email, PASSWORD)
    try:
        # One mission declared while the gateway works: a retry has nothing to do there.
        member = await server.member(name="Stuck Member")
        mine = await _api_token(server, member["email"], member["password"])
        (healthy,) = await _signed_missions(server, member, mine, ops, 1, "Healthy")
        await _wait_stage(server, [healthy], "in_progress")

        await _set_gateway(page, "100", "training: the declaration service is down")
        await expect(page.locator("#gateway-declaration .badge")).to_have_text("down")
        await shot(page, "04-ops-gateway-down")

        # Missions signed and confirmed now fail their declaration, again and again.
        ids = await _signed_missions(server, member, mine, ops, MISSIONS, "Stage lighting")
        # The stuck cases page refreshes itself (htmx): ops watch them arrive.
        await page.goto("/console/ops")
        for mission_id in ids:
            row = page.locator(f'#stuck-cases tr[data-mission="{mission_id}"]')
            await expect(row).to_contain_text("declaration", timeout=40_000)
        await _wait_flagged(server, ids)
        await shot(page, "05-ops-stuck-cases")

        await _set_gateway(page, "0", "training: the declaration service is back")
        await expect(page.locator("#gateway-declaration .badge")).to_have_text("healthy")

        # Bulk retry on the member's missions: the preview lists exactly them, the healthy one
        # included (the workflow will refuse to retry it, and the run says why).
        await page.goto("/console/ops/bulk")
        await page.get_by_label("Member id").fill(str(member["id"]))
        await page.get_by_role("button", name="Preview").click()
        targets = page.locator("#bulk-targets tbody tr[data-mission]")
        await expect(targets).to_have_count(MISSIONS + 1)
        listed = {int(await t.get_attribute("data-mission") or 0) for t in await targets.all()}
        assert listed == {*ids, healthy}
        await page.get_by_label("Action").select_option("retry")
        await page.get_by_label("Reason", exact=True).fill("declaration service repaired")
        await shot(page, "06-ops-bulk-preview")
        await page.locator("#execute-button").click()
        await expect(page.locator("#bulk-progress")).to_have_attribute(
            "data-status", "finished", timeout=30_000
        )
        done = page.locator('#bulk-items tr[data-status="done"]')
        await expect(done).to_have_count(MISSIONS)
        refused = page.locator(f'#bulk-items tr[data-mission="{healthy}"]')
        await expect(refused).to_have_attribute("data-status", "refused")
        assert (await refused.locator("td").nth(2).inner_text()).strip()  # with the reason
        await shot(page, "07-ops-bulk-finished")

        # The declarations go through: each mission moves on to in_progress.
        await _wait_stage(server, ids, "in_progress")
        await page.goto(f"/console/missions?member_id={member['id']}&stage=in_progress")
        listed_now = page.locator("#mission-list tbody tr[data-mission]")
        await expect(listed_now).to_have_count(MISSIONS + 1)

        # One audit row per mission retried, and one per gateway change.
        await page.goto("/console/ops/audit?action=retry")
        for mission_id in ids:
            await expect(
                page.locator("#main table.audit").get_by_role("link", name=f"mission {mission_id}")
            ).to_be_visible()
        await shot(page, "08-ops-audit")
        async with server.db.session() as session:
            retries = await session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "retry", AuditEntry.mission_id.in_(ids)
                )
            )
            gateway_changes = await session.scalar(
                select(func.count(AuditEntry.id)).where(
                    AuditEntry.action == "set_gateway", AuditEntry.user_id == web_book.ops.id
                )
            )
        assert retries == MISSIONS
        async with server.db.session() as session:
            refused_rows = await session.scalar(
                select(func.count(AuditEntry.id)).where(AuditEntry.mission_id == healthy)
            )
        assert refused_rows == 0  # a refused repair changes nothing, so it writes no audit row
        assert gateway_changes == 2
        response = await page.goto(f"/console/missions/{ids[0]}")
        assert response is not None and response.status == 200, _server_log(tmp_path_factory)
        await expect(page.locator("#audit")).to_contain_text("declaration service repaired")
        # The member's documents, downloadable by staff too.
        links = page.locator("#documents a")
        await expect(links.first).to_be_visible()
        href = await links.first.get_attribute("href")
        assert href is not None
        document = await page.request.get(href)
        assert document.status == 200 and document.headers["content-type"] == "application/pdf"
        await shot(page, "09-ops-mission")
    finally:
        await context.close()


async def _signed_missions(
    server: Server,
    member: dict[str, Any],
    mine: dict[str, str],
    ops: dict[str, str],
    count: int,
    title: str,
) -> list[int]:
    """Missions created and signed by the member, confirmed by ops: their declaration starts."""
    start = (await server.today()).toordinal() + 40
    ids = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        for i in range(count):
            r = await http.post(
                "/api/missions",
                headers=mine,
                json={
                    "member_id": member["id"],
                    "client_id": member["client_id"],
                    "title": f"{title} {i}",
                    "start_date": _iso(start),
                    "end_date": _iso(start + 2),
                    "amount_excl_vat": "900.00",
                    "vat_rate": "21",
                    "contract_type": "ordinary",
                },
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        for mission_id in ids:
            r = await http.post(f"/api/missions/{mission_id}/sign", headers=mine)
            assert r.status_code == 200, r.text
            r = await http.post(
                f"/api/missions/{mission_id}/client-confirmation",
                headers=ops,
                json={"method": "signed order form"},
            )
            assert r.status_code == 200, r.text
    return ids


def _server_log(tmp_path_factory: Any) -> str:
    """The end of uvicorn's log (tests/web/conftest.py writes it there), to explain a 500."""
    logs = sorted(Path(tmp_path_factory.getbasetemp()).glob("uvicorn*/uvicorn.log"))
    return logs[-1].read_text()[-4000:] if logs else "no server log"


def _iso(ordinal: int) -> str:
    from datetime import date

    return date.fromordinal(ordinal).isoformat()


async def _wait_flagged(server: Server, ids: list[int], timeout: float = 40.0) -> None:
    await _wait(server, ids, lambda m: m.needs_attention, timeout)


async def _wait_stage(server: Server, ids: list[int], stage: str, timeout: float = 40.0) -> None:
    await _wait(server, ids, lambda m: m.stage == stage and not m.needs_attention, timeout)


async def _wait(server: Server, ids: list[int], done: Any, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        async with server.db.session() as session:
            rows = (await session.scalars(select(Mission).where(Mission.id.in_(ids)))).all()
            state = {m.id: (m.stage, m.needs_attention) for m in rows}
            if len(rows) == len(ids) and all(done(m) for m in rows):
                return
        if loop.time() > deadline:
            raise AssertionError(f"missions not there in {timeout}s: {state}")
        await asyncio.sleep(0.5)


async def test_ops_imports_a_bank_statement(
    server: Server, browser: Any, web_book: Book, tmp_path: Path
) -> None:
    """Issue 15 §2: ops upload a camt.053 file on the bank page and see it listed with its
    counts and its unapplied line; a file that is not valid camt is refused naming the element."""
    from datetime import timedelta
    from decimal import Decimal

    from tests.bank.camt import Line, statement
    from tests.conftest import unique

    async with server.db.session() as session:
        clock = await current_clock(session, server.settings.day_seconds, server.settings.timezone)
        today = business_today(clock)
    day = today - timedelta(days=1)
    stmt, ref = unique("BROWSER"), unique("LINE")
    good = tmp_path / "statement.xml"
    good.write_bytes(
        statement(
            [Line(ref, Decimal("77.00"), day, free_text="who is this", payer="Nobody Known")],
            statement_id=stmt,
            account="BE62510007547061",
            on=day,
        )
    )
    bad = tmp_path / "bad.xml"
    bad.write_bytes(good.read_bytes().replace(b">77.00<", b">77.0x<", 1))
    context, page = await _page(browser, server, web_book.ops.email, "/console/ops/bank")
    try:
        await expect(page.get_by_role("link", name="Bank statements")).to_be_visible()
        await page.get_by_label("camt.053 file").set_input_files(str(good))
        await page.get_by_role("button", name="Import").click()
        await expect(page.get_by_text(f"Statement {stmt} imported")).to_be_visible()
        await expect(page.locator(f'#bank-statements tr[data-statement="{stmt}"]')).to_be_visible()
        line = page.locator(f'#bank-lines tr[data-reference="{ref}"]')
        await expect(line).to_contain_text("Nobody Known")
        await expect(line).to_contain_text("communication not recognised")
        await shot(page, "08-ops-bank-statement")
        await page.get_by_label("camt.053 file").set_input_files(str(bad))
        await page.get_by_role("button", name="Import").click()
        error = page.locator("#bank-file-error")
        await expect(error).to_contain_text("element Amt")
        await expect(error).to_contain_text("line 7")
    finally:
        await context.close()
