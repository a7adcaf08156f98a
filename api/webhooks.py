"""Webhooks from providers. No bearer token here: the provider's signature is the authentication."""

from __future__ import annotations

import json
import time
from typing import Any

from fastapi import APIRouter, Request

from api.deps import Forbidden, SessionDep, SettingsDep
from core.errors import DomainError
from services import mail
from services.clock import business_today, current_clock
from services.sendgrid_mailer import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_event_webhook

router = APIRouter(prefix="/api")

MAX_BODY_BYTES = 1_000_000
# SendGrid's events are objects of scalars (a category list at most): deeper JSON is no event.
MAX_JSON_DEPTH = 8


def json_depth(value: Any) -> int:
    """How deep lists and objects nest in a parsed JSON value (a scalar: 0), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        stack.extend((child, depth + 1) for child in children)
    return deepest


@router.post("/webhooks/sendgrid", tags=["webhooks"])
async def sendgrid_events(
    request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """SendGrid's signed event webhook: a JSON array of delivery events.

    Refused with 403 without a valid ECDSA signature (`X-Twilio-Email-Event-Webhook-Signature`
    over `X-Twilio-Email-Event-Webhook-Timestamp` + body, checked with the key in
    `COOPFLOW_SENDGRID_WEBHOOK_PUBLIC_KEY`) or with a timestamp more than five minutes away.
    Each `sg_event_id` is applied once: a replay answers 200 and changes nothing.
    `delivered` marks the outbox row delivered; `bounce`/`dropped` mark it bounced,
    the client's address invalid, and flag the mission for the advisor.
    """
    body = await request.body()
    refused = verify_event_webhook(
        settings.sendgrid_webhook_public_key,
        body,
        request.headers.get(SIGNATURE_HEADER),
        request.headers.get(TIMESTAMP_HEADER),
        time.time(),
    )
    if refused is not None:
        raise Forbidden(f"webhook refused: {refused}")
    if len(body) > MAX_BODY_BYTES:
        raise DomainError("too many events in one request", 413)
    try:
        events = json.loads(body)
    except ValueError:
        raise DomainError("the body must be a JSON array of events", 400) from None
    except RecursionError:  # the parser gives up on nesting deeper than the stack
        raise DomainError("the body's JSON is nested too deeply", 400) from None
    if json_depth(events) > MAX_JSON_DEPTH:
        raise DomainError("the body's JSON is nested too deeply", 400)
    if not isinstance(events, list):
        raise DomainError("the body must be a JSON array of events", 400)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    outcome = await mail.record_delivery_events(session, events, business_today(clock))
    return {
        "processed": outcome.processed,
        "replayed": outcome.replayed,
        "ignored": outcome.ignored,
    }
