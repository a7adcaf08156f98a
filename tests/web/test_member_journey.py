"""A member runs a mission from the browser (Debian's Chromium through Playwright), on a real
server, worker and Temporal dev server with a fast business clock: log in, a refused field,
change the IBAN, create a mission with its live estimate, sign, report the work, see the invoice
and the day-7 advance appear by themselves, download the invoice PDF, switch to French.
Screenshots of each page go to test-artifacts/web/."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect
from sqlalchemy import select

from models import Payout
from tests.conftest import IBANS
from tests.web.conftest import Server, artifact

NEW_IBAN = IBANS[1]


UNLABELLED = """() => Array.from(document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button'))
  .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')
               && !(e.tagName === 'BUTTON' && e.textContent.trim()))
  .map(e => e.name || e.id || e.outerHTML.slice(0, 80))"""


async def shot(page: Page, name: str) -> None:
    """Screenshot the page, after the accessibility basics: one h1, every control labelled."""
    assert await page.locator("h1").count() == 1, name
    assert await page.evaluate(UNLABELLED) == [], name
    await page.screenshot(path=artifact(f"{name}.png"), full_page=True)


async def test_member_journey(server: Server, browser: Any) -> None:
    member = await server.member(name="Alice Martin")
    context = await browser.new_context(base_url=server.url, accept_downloads=True, locale="en-GB")
    page = await context.new_page()
    page.set_default_timeout(15_000)
    try:
        # Log in.
        await page.goto("/missions")
        await expect(page).to_have_url(f"{server.url}/login?next=/missions")
        await shot(page, "01-login")
        # From the keyboard alone: the skip link first, then the form.
        await page.keyboard.press("Tab")
        await expect(page.locator(".skip")).to_be_focused()
        await page.get_by_label("Email").focus()
        await page.keyboard.type(member["email"])
        await page.keyboard.press("Tab")
        await page.keyboard.type(member["password"])
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("heading", name="My missions")).to_be_visible()
        await shot(page, "02-my-missions-empty")

        # My profile: a wrong IBAN shows its message next to the field; the right one waits
        # for its notice to the old address, which is sent at once.
        await page.get_by_role("link", name="My profile").click()
        await page.get_by_label("New IBAN").fill("BE71 0961 2345 6760")
        await page.locator("#f-iban_password").fill(member["password"])
        await page.get_by_role("button", name="Change my IBAN").click()
        await expect(page.locator("#f-iban-error")).to_be_visible()
        await expect(page.get_by_label("New IBAN")).to_have_value("BE71 0961 2345 6760")
        await shot(page, "03-profile-wrong-iban")
        await page.get_by_label("New IBAN").fill(NEW_IBAN)
        await page.locator("#f-iban_password").fill(member["password"])
        await page.get_by_role("button", name="Change my IBAN").click()
        await expect(page.locator(".flash-success")).to_contain_text(member["email"])
        await shot(page, "04-profile-iban-changed")

        # New mission, with the live estimate.
        await page.get_by_role("link", name="New mission").click()
        today = await server.today()
        day = (today + timedelta(days=2)).isoformat()
        await page.get_by_label("Title").fill("Festival poster")
        await page.get_by_label("Start date").fill(day)
        await page.get_by_label("End date").fill(day)
        await page.get_by_label("Price excl. VAT (EUR)").fill("1500.00")
        net = page.locator('[data-figure="net_salary"]')
        await expect(net).to_be_visible()
        await expect(page.locator('[data-figure="amount_excl_vat"]')).to_contain_text("1,500.00")
        await shot(page, "05-new-mission-estimate")
        await page.get_by_role("button", name="Create the mission").click()
        await expect(page.get_by_role("heading", name="Festival poster")).to_be_visible()
        mission_id = int(page.url.rsplit("/", 1)[1])
        await shot(page, "06-mission-contract")

        # Sign; the advisor's side (the client's confirmation) goes through the JSON API.
        await page.get_by_role("button", name="Sign the contract").click()
        await expect(page.locator(".flash-success")).to_contain_text("Contract signed")
        async with httpx.AsyncClient(base_url=server.url) as http:
            r = await http.post(
                f"/api/missions/{mission_id}/client-confirmation",
                json={"method": "signed order form"},
                headers=await server.ops_headers(),
            )
            assert r.status_code == 200, r.text

        # The page follows the workflow by itself up to the work report.
        await expect(page.locator("#stage")).to_have_text("Work report", timeout=30_000)
        await page.get_by_label("Days worked").fill("1")
        await page.get_by_label("Expense 1: what").fill("Train Brussels-Ghent")
        await page.get_by_label("Expense 1: amount").fill("23.40")
        await shot(page, "07-mission-work-report")
        await page.get_by_role("button", name="Send the work report").click()
        await expect(page.locator(".flash-success")).to_contain_text("Work report sent")

        # The invoice, then the day-7 advance, appear without touching the page.
        await expect(page.locator("#invoice")).to_be_visible(timeout=30_000)
        await expect(page.locator("#advance")).to_contain_text(
            "advanced by the guarantee fund", timeout=45_000
        )
        await expect(page.locator("#invoice-status")).to_have_text("not paid yet")
        await shot(page, "08-mission-invoice-advance")

        # The invoice PDF.
        link = page.locator("#documents a", has_text="invoice").first
        await expect(link).to_be_visible(timeout=30_000)
        async with page.expect_download() as info:
            await link.click()
        download = await info.value
        path = artifact(download.suggested_filename)
        await download.save_as(path)
        content = await asyncio.to_thread(Path(path).read_bytes)
        assert content.startswith(b"%PDF-")

        # The salary went to the new IBAN: its notice had gone to the old address first.
        async with server.db.session() as session:
            payout = await session.scalar(select(Payout).where(Payout.mission_id == mission_id))
        assert payout is not None and payout.iban == NEW_IBAN

        # Français.
        await page.get_by_role("button", name="FR").click()
        await expect(page.get_by_role("link", name="Mes missions")).to_be_visible()
        await expect(page.locator("#advance")).to_contain_text("fonds de garantie")
        await shot(page, "09-mission-fr")
        await page.get_by_role("link", name="Mes missions").click()
        await expect(page.locator(".mission-card")).to_contain_text("Festival poster")
        await shot(page, "10-my-missions-fr")
        # The services' refusals speak French too, next to their field.
        await page.get_by_role("link", name="Mon profil").click()
        await page.get_by_label("Nouvel IBAN").fill("BE71 0961 2345 6760")
        await page.locator("#f-iban_password").fill(member["password"])
        await page.get_by_role("button", name="Modifier mon IBAN").click()
        await expect(page.locator("#f-iban-error")).to_have_text(
            "chiffres de contrôle incorrects (modulo 97)"
        )
        await shot(page, "11-profile-fr-wrong-iban")
        # Nederlands.
        await page.get_by_role("button", name="NL").click()
        await expect(page.get_by_role("link", name="Mijn opdrachten")).to_be_visible()
        await page.get_by_role("link", name="Mijn opdrachten").click()
        await expect(page.locator(".mission-card")).to_contain_text("waarborgfonds")
        await shot(page, "12-my-missions-nl")
    finally:
        await context.close()
