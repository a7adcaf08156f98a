"""`coopflow demo`: logins, members, clients and missions in every stage, through the real API.

Every mission starts today and lasts one day, so the human steps (sign, confirm, report, pay) can
be played at once; what follows (salary day, reminders, write-off) comes with the business clock:
within minutes at `COOPFLOW_DAY_SECONDS=2` (`make demo`), over real weeks at the default.
"""

from __future__ import annotations

import argparse
import asyncio
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
            # A fast business clock moves while we play: read today for every mission.
            today = date.fromisoformat((await demo.call("GET", "/api/clock", ops))["today"])
            client = clients[n % len(clients)]
            member_id, member = next(m for m in members if m[0] == client["member_id"])
            # Only work that has not started can be cancelled: that one starts later.
            start = (today + timedelta(days=10) if target == "cancelled" else today).isoformat()
            mission = await demo.call(
                "POST",
                "/api/missions",
                member,
                {
                    "member_id": member_id,
                    "client_id": client["id"],
                    "title": title,
                    "start_date": start,
                    "end_date": start,
                    "amount_excl_vat": amount,
                    "vat_rate": "21",
                    "contract_type": "ordinary",
                },
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
