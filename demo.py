"""`coopflow demo`: logins, members, clients and missions in every stage, through the real API.

Every mission starts today and lasts one day, so the human steps (sign, confirm, report, pay) can
be played at once; what follows (salary day, reminders, write-off) comes with the business clock:
within minutes at `COOPFLOW_DAY_SECONDS=2` (`make demo`), over real weeks at the default.
On a fast clock (a business day in less than a minute) a mission starts a few business days
ahead instead, as many as pass in a few seconds: the clock must not pass its start date while
the demo is asking for it (`start_date`).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from datetime import date, timedelta
from typing import Any

import httpx

from core.db import get_database
from core.errors import DomainError
from core.settings import get_settings
from services.people import create_staff_user

STAFF = [
    ("ops@coopflow.example", "ops demo password", "ops"),
    ("advisor@coopflow.example", "advisor demo password", "advisor"),
]
MEMBER_PASSWORD = "member demo password"
MEMBERS = [
    {
        "name": "Alice Lambert",
        "email": "alice@coopflow.example",
        "iban": "BE62510007547061",
        "national_number": "85073003328",
        "language": "fr",
    },
    {
        "name": "Bram Peeters",
        "email": "bram@coopflow.example",
        "iban": "BE71096123456769",
        "national_number": "90020200197",
        "language": "nl",
    },
]
CLIENTS = [
    {
        "name": "Théâtre du Parc",
        "email": "compta@theatre.example",
        "kind": "business",
        "country": "BE",
        "address": "Rue de la Loi 3, 1000 Bruxelles",
        "vat_number": "BE0403170701",
        "language": "fr",
    },
    {
        "name": "Festival Gent",
        "email": "boekhouding@festival.example",
        "kind": "business",
        "country": "BE",
        "address": "Korenmarkt 1, 9000 Gent",
        "vat_number": "0202239951",
        "language": "nl",
    },
    {
        "name": "Jane Doe",
        "email": "jane@private.example",
        "kind": "consumer",
        "country": "BE",
        "address": "Avenue Louise 100, 1050 Ixelles",
        "language": "en",
    },
]
# (title, target, amount): target is where the demo leaves the mission; the clock does the rest.
MISSIONS = [
    ("Poster design", "contract", "800.00"),
    ("Concert sound engineering", "cancelled", "1200.00"),
    ("Workshop facilitation", "work_report", "950.00"),
    ("Photo reportage", "invoiced", "1500.00"),
    ("Translation NL-FR", "paid", "640.00"),
    ("Stage lighting", "partial", "2100.00"),
    ("Video editing", "unpaid", "1750.00"),
]
# Seconds a request may take between reading the clock and the API checking the start date, and
# the ones a cancelled mission must stay in the future while the demo cancels it.
CREATE_SLACK_SECONDS = 5.0
CANCEL_SLACK_SECONDS = 60.0
FAST_CLOCK_DAY_SECONDS = 60.0
# Within what the API takes (2 years ahead); on an absurdly fast clock the retry takes over.
MAX_START_LEAD_DAYS = 180
MAX_LEAD_DAYS = 365


def start_date(today: date, day_seconds: float, target: str) -> date:
    """The start date of a demo mission created now, on a clock where a business day lasts
    `day_seconds`: today on a slow clock; on a fast one, far enough ahead that the clock cannot
    reach it before the API has checked it (and, for the one the demo cancels, cancelled it)."""
    lead = 0
    if day_seconds < FAST_CLOCK_DAY_SECONDS:
        lead = min(math.ceil(CREATE_SLACK_SECONDS / day_seconds), MAX_START_LEAD_DAYS)
    if target == "cancelled":  # only work that has not started can be cancelled
        lead += max(10, math.ceil(CANCEL_SLACK_SECONDS / day_seconds))
    return today + timedelta(days=min(lead, MAX_LEAD_DAYS))


class Demo:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def token(self, email: str, password: str) -> dict[str, str]:
        r = await self.http.post("/api/auth/token", data={"username": email, "password": password})
        r.raise_for_status()
        return {"Authorization": f"Bearer {r.json()['access_token']}"}

    async def call(
        self,
        method: str,
        url: str,
        headers: dict[str, str],
        json: Any = None,
        ok: tuple[int, ...] = (200, 201),
    ) -> Any:
        r = await self.http.request(method, url, headers=headers, json=json)
        if r.status_code not in ok:
            raise RuntimeError(f"{method} {url}: {r.status_code} {r.text}")
        return r.json()

    async def new_mission(
        self, member: dict[str, str], fields: dict[str, Any], ops: dict[str, str], target: str
    ) -> Any:
        """Create a mission starting at `start_date` of the clock read just before; if the clock
        passed it anyway (a machine slower than the slack), read it again and retry."""
        for attempt in range(3):
            # A fast business clock moves while we play: read it for every mission.
            clock = await self.call("GET", "/api/clock", ops)
            start = start_date(
                date.fromisoformat(clock["today"]), float(clock["day_seconds"]), target
            ).isoformat()
            r = await self.http.post(
                "/api/missions",
                json={**fields, "start_date": start, "end_date": start},
                headers=member,
            )
            if r.status_code in (200, 201):
                return r.json()
            if r.status_code != 422 or "start_date" not in r.text or attempt == 2:
                raise RuntimeError(f"POST /api/missions: {r.status_code} {r.text}")
        raise AssertionError("unreachable")

    async def wait_stage(
        self, mission_id: int, headers: dict[str, str], stages: set[str], patience: float = 120
    ) -> dict[str, Any]:
        deadline = time.monotonic() + patience
        while True:
            m: dict[str, Any] = await self.call("GET", f"/api/missions/{mission_id}", headers)
            if m["stage"] in stages:
                return m
            if time.monotonic() > deadline:
                raise RuntimeError(f"mission {mission_id} stuck at {m['stage']}")
            await asyncio.sleep(0.3)


async def ensure_staff() -> None:
    db = get_database()
    try:
        for email, password, role in STAFF:
            try:
                async with db.session() as session:
                    await create_staff_user(session, email, password, role)
            except DomainError:
                pass  # already there from an earlier demo
    finally:
        await db.dispose()


async def run(base_url: str) -> None:
    await ensure_staff()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as http:
        demo = Demo(http)
        ops = await demo.token(STAFF[0][0], STAFF[0][1])
        advisor = await demo.token(STAFF[1][0], STAFF[1][1])
        # The guarantee fund advances salaries only above its floor: endow it (once per reference).
        await demo.call(
            "POST",
            "/api/guarantee-fund/top-ups",
            ops,
            {"amount": "50000.00", "reference": "DEMO-ENDOWMENT", "reason": "demo opening balance"},
        )
        members = []
        for spec in MEMBERS:
            r = await http.post(
                "/api/members", json={**spec, "password": MEMBER_PASSWORD}, headers=advisor
            )
            if r.status_code not in (201, 409):
                raise RuntimeError(f"member {spec['email']}: {r.status_code} {r.text}")
            headers = await demo.token(spec["email"], MEMBER_PASSWORD)
            me = await demo.call("GET", "/api/me", headers)
            members.append((me["member_id"], headers))
        clients = []
        for i, spec in enumerate(CLIENTS):
            member_id = members[i % len(members)][0]
            clients.append(
                await demo.call("POST", "/api/clients", advisor, {**spec, "member_id": member_id})
            )
        for n, (title, target, amount) in enumerate(MISSIONS):
            client = clients[n % len(clients)]
            member_id, member = next(m for m in members if m[0] == client["member_id"])
            mission = await demo.new_mission(
                member,
                {
                    "member_id": member_id,
                    "client_id": client["id"],
                    "title": title,
                    "amount_excl_vat": amount,
                    "vat_rate": "21",
                    "contract_type": "ordinary",
                },
                ops,
                target,
            )
            mid = mission["id"]
            await asyncio.sleep(0.5)  # the workflow is starting
            if target == "contract":
                print(f"  mission {mid} {title!r}: waits for signature and confirmation")
                continue
            if target == "cancelled":
                await demo.call(
                    "POST",
                    f"/api/missions/{mid}/cancel",
                    member,
                    {"reason": "the client postponed the concert"},
                )
                print(f"  mission {mid} {title!r}: cancelled before the start")
                continue
            await demo.call("POST", f"/api/missions/{mid}/sign", member)
            await demo.call(
                "POST",
                f"/api/missions/{mid}/client-confirmation",
                ops,
                {"method": "signed order form"},
            )
            await demo.wait_stage(mid, ops, {"work_report"})
            if target == "work_report":
                print(f"  mission {mid} {title!r}: waits for the member's work report")
                continue
            await demo.call(
                "POST",
                f"/api/missions/{mid}/work-report",
                member,
                {
                    "days_worked": 1,
                    "expenses": [{"label": "train Brussels-Ghent", "amount": "23.40"}],
                },
            )
            m = await demo.wait_stage(mid, ops, {"invoiced", "dunning", "paid"})
            invoice = m["invoice"]
            if target in ("paid", "partial"):
                total = invoice["total_incl_vat"]
                amount_paid = total if target == "paid" else f"{float(total) / 2:.2f}"
                await demo.call(
                    "POST",
                    "/api/payments",
                    ops,
                    {
                        "amount": amount_paid,
                        "received_on": (await demo.call("GET", "/api/clock", ops))["today"],
                        "structured_communication": invoice["structured_communication"],
                        "bank_transaction_id": f"DEMO-{mid}-{int(time.time())}",
                    },
                )
            print(
                f"  mission {mid} {title!r}: invoice {invoice['number']} "
                f"({invoice['total_incl_vat']} EUR, {invoice['structured_communication']}), "
                f"salary on {m['pay_date']}"
                + {
                    "paid": ", paid in full",
                    "partial": ", half paid: dunning follows",
                    "unpaid": ", never paid: dunning then write-off",
                }.get(target, "")
            )
        await demo.call(
            "POST",
            "/api/payments",
            ops,
            {
                "amount": "99.00",
                "received_on": (await demo.call("GET", "/api/clock", ops))["today"],
                "structured_communication": None,
                "bank_transaction_id": f"DEMO-SUSPENSE-{int(time.time())}",
            },
        )
        print("  one unmatched payment waits in suspense (GET /api/payments?matched=false)")
    print("demo logins:")
    for email, password, role in STAFF:
        print(f"  {role:8} {email} / {password}")
    for spec in MEMBERS:
        print(f"  member   {spec['email']} / {MEMBER_PASSWORD}")


def main(argv: list[str] | None = None) -> int:
    settings = get_settings()
    parser = argparse.ArgumentParser(prog="coopflow demo", description=__doc__)
    parser.add_argument("--api", default=f"http://{settings.api_host}:{settings.api_port}")
    args = parser.parse_args(argv)
    try:
        asyncio.run(run(args.api))
    except (RuntimeError, httpx.HTTPError) as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
