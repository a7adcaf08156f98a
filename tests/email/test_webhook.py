"""POST /api/webhooks/sendgrid: SendGrid's signed event webhook (ECDSA), replays, bounces."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from models import Client, OutboxEmail
from services.sendgrid_mailer import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_event_webhook
from tests.api.conftest import assert_refused, snapshot
from tests.conftest import Stack, wait_for
from tests.email.conftest import WebhookKeys, make_keys
from tests.workflows.conftest import Run, new_run, steps

URL = "/api/webhooks/sendgrid"


def signed(
    keys: WebhookKeys, events: list[dict[str, Any]], at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(events).encode()
    timestamp = str(int(time.time() if at is None else at))
    signature = keys.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return body, {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: timestamp,
        "Content-Type": "application/json",
    }


async def _sent_email(stack: Stack) -> tuple[Run, OutboxEmail]:
    """A mission with an invoice email SendGrid accepted (written as the activity would)."""
    run = await new_run(stack)
    # Let the workflow's first step (the start documents) finish: nothing else moves after it.
    ops = await stack.ops()
    await wait_for(
        lambda: stack.http.get(f"/api/missions/{run.mission_id}/documents", headers=ops),
        lambda r: r.status_code == 200 and len(r.json()) == 3,
    )
    async with stack.db.session() as session:
        email = OutboxEmail(
            mission_id=run.mission_id,
            template="invoice",
            step="invoice",
            language="en",
            recipient=run.client["email"],
            subject="Invoice",
            body="Please find the invoice.",
            status="sent",
            provider="sendgrid",
            provider_message_id=uuid.uuid4().hex[:22],
        )
        session.add(email)
    return run, email


def _event(email: OutboxEmail, kind: str, **extra: Any) -> dict[str, Any]:
    return {
        "email": email.recipient,
        "timestamp": int(time.time()),
        "event": kind,
        "sg_event_id": uuid.uuid4().hex[:22],
        "sg_message_id": f"{email.provider_message_id}.filterdrecv-1234-1-0",
        "mission_id": str(email.mission_id),
        "outbox_id": str(email.id),
        **extra,
    }


async def _row(stack: Stack, email_id: int) -> OutboxEmail:
    async with stack.db.session() as session:
        row = await session.get(OutboxEmail, email_id)
    assert row is not None
    return row


async def _client(stack: Stack, client_id: int) -> Client:
    async with stack.db.session() as session:
        row = await session.get(Client, client_id)
    assert row is not None
    return row


async def test_delivered_event(sendgrid_stack: Stack, webhook_keys: WebhookKeys) -> None:
    stack = sendgrid_stack
    run, email = await _sent_email(stack)
    other = {"event": "open", "sg_event_id": "open-1", "outbox_id": str(email.id)}
    unknown = {**_event(email, "delivered"), "outbox_id": "999999999"}
    body, headers = signed(webhook_keys, [_event(email, "delivered"), other, unknown])
    r = await stack.http.post(URL, content=body, headers=headers)  # no bearer token
    assert r.status_code == 200, r.text
    assert r.json() == {"processed": 1, "replayed": 0, "ignored": 2}
    assert (await _row(stack, email.id)).status == "delivered"
    m = await run.get()
    assert steps(m).count("email_delivered") == 1
    assert not m["needs_attention"]
    assert (await _client(stack, run.client["id"])).email_valid


async def test_bounce_flags_the_mission_once_and_a_replay_changes_nothing(
    sendgrid_stack: Stack, webhook_keys: WebhookKeys
) -> None:
    stack = sendgrid_stack
    run, email = await _sent_email(stack)
    bounce = _event(email, "bounce", reason="550 5.1.1 The email account does not exist")
    body, headers = signed(webhook_keys, [bounce])
    r = await stack.http.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"processed": 1, "replayed": 0, "ignored": 0}

    assert (await _row(stack, email.id)).status == "bounced"
    assert not (await _client(stack, run.client["id"])).email_valid
    m = await run.get()
    assert m["needs_attention"] and m["attention_step"] == "client_email"
    assert run.client["email"] in m["attention_reason"]
    assert "does not exist" in m["attention_reason"]
    [entry] = [t for t in m["timeline"] if t["step"] == "email_bounced"]
    assert entry["detail"]["outbox_id"] == email.id

    # The advisor corrects the address: the client is reachable again and the flag is cleared.
    advisor = await stack.advisor()
    url = f"/api/clients/{run.client['id']}/email"
    before = await snapshot(stack.db)
    r = await stack.http.put(url, json={"email": "not an address"}, headers=advisor)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "email"], r.text
    assert await snapshot(stack.db) == before  # a refused correction changes nothing
    other_member = (await stack.new_member())[1]
    r = await stack.http.put(url, json={"email": "x@example.com"}, headers=other_member)
    assert r.status_code == 404  # someone else's client: as if it did not exist
    r = await stack.http.put(url, json={"email": "Accounts@Example.com"}, headers=advisor)
    assert r.status_code == 200, r.text
    assert r.json()["missions_cleared"] == [run.mission_id]
    assert r.json()["email_valid"] is True
    m = await run.get()
    assert not m["needs_attention"] and "client_email_corrected" in steps(m)

    # Then the same event comes again (SendGrid retries a delivery it thinks failed): it must
    # change nothing.
    before = await snapshot(stack.db)
    body, headers = signed(webhook_keys, [bounce])
    r = await stack.http.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"processed": 0, "replayed": 1, "ignored": 0}
    assert await snapshot(stack.db) == before
    m = await run.get()
    assert not m["needs_attention"]
    assert steps(m).count("email_bounced") == 1
    assert (await _client(stack, run.client["id"])).email_valid


async def test_dropped_counts_as_a_bounce(sendgrid_stack: Stack, webhook_keys: WebhookKeys) -> None:
    stack = sendgrid_stack
    run, email = await _sent_email(stack)
    body, headers = signed(webhook_keys, [_event(email, "dropped", reason="Bounced Address")])
    r = await stack.http.post(URL, content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert (await _row(stack, email.id)).status == "bounced"
    assert not (await _client(stack, run.client["id"])).email_valid
    assert (await run.get())["attention_step"] == "client_email"


async def test_unsigned_or_badly_signed_requests_are_refused(
    sendgrid_stack: Stack, webhook_keys: WebhookKeys
) -> None:
    stack = sendgrid_stack
    run, email = await _sent_email(stack)
    events = [_event(email, "bounce", reason="550 no such user")]
    good_body, good_headers = signed(webhook_keys, events)
    forged_body, forged_headers = signed(make_keys(), events)  # someone else's key
    stale_body, stale_headers = signed(webhook_keys, events, at=time.time() - 6 * 60)
    tampered = good_body.replace(b"bounce", b"delivered")
    cases: list[tuple[str, bytes, dict[str, str]]] = [
        ("no headers", good_body, {"Content-Type": "application/json"}),
        ("forged", forged_body, forged_headers),
        ("tampered body", tampered, good_headers),
        ("stale", stale_body, stale_headers),
        (
            "other timestamp",
            good_body,
            {**good_headers, TIMESTAMP_HEADER: str(int(good_headers[TIMESTAMP_HEADER]) - 1)},
        ),
        ("garbage signature", good_body, {**good_headers, SIGNATURE_HEADER: "not base64!"}),
        ("no timestamp", good_body, {SIGNATURE_HEADER: good_headers[SIGNATURE_HEADER]}),
    ]
    before = await snapshot(stack.db)
    for name, body, headers in cases:
        r = await stack.http.post(URL, content=body, headers=headers)
        assert r.status_code == 403, (name, r.text)
        assert_refused(r, 403, None, "webhook refused")
    assert await snapshot(stack.db) == before
    assert (await _row(stack, email.id)).status == "sent"
    assert (await _client(stack, run.client["id"])).email_valid
    assert not (await run.get())["needs_attention"]

    # The genuine request still goes through afterwards.
    r = await stack.http.post(URL, content=good_body, headers=good_headers)
    assert r.status_code == 200, r.text
    assert (await _row(stack, email.id)).status == "bounced"


async def test_signed_non_array_body_is_400(
    sendgrid_stack: Stack, webhook_keys: WebhookKeys
) -> None:
    body = b'{"event": "delivered"}'
    timestamp = str(int(time.time()))
    signature = webhook_keys.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    r = await sendgrid_stack.http.post(
        URL,
        content=body,
        headers={
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: timestamp,
        },
    )
    assert_refused(r, 400, None, "JSON array")


def test_without_a_configured_key_everything_is_refused(webhook_keys: WebhookKeys) -> None:
    body, headers = signed(webhook_keys, [])
    now = time.time()
    args = (body, headers[SIGNATURE_HEADER], headers[TIMESTAMP_HEADER], now)
    assert verify_event_webhook(webhook_keys.public, *args) is None
    assert verify_event_webhook("", *args) == "the webhook verification key is not configured"
    assert verify_event_webhook("bm90IGEga2V5", *args) == "bad signature"  # not a key at all


def _signed_raw(keys: WebhookKeys, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    signature = keys.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    return {
        SIGNATURE_HEADER: base64.b64encode(signature).decode(),
        TIMESTAMP_HEADER: timestamp,
        "Content-Type": "application/json",
    }


async def test_signed_deeply_nested_json_is_400_and_changes_nothing(
    sendgrid_stack: Stack, webhook_keys: WebhookKeys
) -> None:
    """A valid signature on absurdly nested JSON (issue 13, #9): 400, not a 500."""
    before = await snapshot(sendgrid_stack.db)
    for body in (
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser can go
        b'[{"event": "delivered", "reason": ' + b"[" * 500 + b"]" * 500 + b"}]",  # it parses
    ):
        r = await sendgrid_stack.http.post(
            URL, content=body, headers=_signed_raw(webhook_keys, body)
        )
        assert_refused(r, 400, None, "nested")
    assert await snapshot(sendgrid_stack.db) == before
