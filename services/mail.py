"""Outgoing email: rendered from templates, written once per (mission, template, step).

The embedded default keeps every email in the outbox table (GET /api/outbox); a SendGrid mailer
plugs in behind the same `Mailer` port (issue "Documents").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

from jinja2 import TemplateNotFound
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.templating import environment
from domain.identifiers import normalize_email
from models import Client, Mission, OutboxEmail
from services import access, timeline

FALLBACK_LANGUAGE = "en"


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    body: str
    language: str


def render_email(template: str, language: str, context: dict[str, Any]) -> RenderedEmail:
    """Render `emails/<template>.<lang>.txt`: first line `Subject: …`, then the body."""
    env = environment()
    try:
        tpl = env.get_template(f"emails/{template}.{language}.txt")
    except TemplateNotFound:
        language = FALLBACK_LANGUAGE
        tpl = env.get_template(f"emails/{template}.{language}.txt")
    text = tpl.render(**{**context, "lang": language})  # the money/day filters' locale
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {template} must start with 'Subject: '")
    subject = first.removeprefix("Subject: ").strip()
    return RenderedEmail(
        subject=subject.replace("\r", " ").replace("\n", " "),
        body=body.lstrip("\n"),
        language=language,
    )


@dataclass(frozen=True)
class Attachment:
    """A file sent with an email (the documents' PDFs)."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"


class Mailer(Protocol):
    """Delivers a stored email with its attachments; returns the provider's message id.

    A provider that refuses the email for good raises a non-retryable ApplicationError
    (type "EmailRejected"); any other error is retried by the activity's retry policy."""

    async def deliver(
        self, email: OutboxEmail, attachments: Sequence[Attachment] = ()
    ) -> str | None: ...


class OutboxMailer:
    """Embedded default: the outbox row is the delivery."""

    provider = "outbox"

    async def deliver(
        self, email: OutboxEmail, attachments: Sequence[Attachment] = ()
    ) -> str | None:
        return None


# Outbox statuses: queued -> sent (a provider took it) | stored (the embedded outbox) |
# failed (refused for good; an ops retry may send it again); then, from the provider's
# webhook, delivered | bounced.
RESENDABLE = ("queued", "failed")


async def queue_email(
    session: AsyncSession,
    *,
    mission_id: int | None,
    template: str,
    step: str,
    recipient: str,
    language: str,
    context: dict[str, Any],
) -> tuple[OutboxEmail, bool]:
    """Store the email once; (row, created). A retry finds the row instead of writing another."""
    existing = await session.scalar(
        select(OutboxEmail).where(
            OutboxEmail.mission_id == mission_id,
            OutboxEmail.template == template,
            OutboxEmail.step == step,
        )
    )
    if existing is not None:
        return existing, False
    rendered = render_email(template, language, context)
    email = OutboxEmail(
        mission_id=mission_id,
        template=template,
        step=step,
        recipient=recipient,
        language=rendered.language,
        subject=rendered.subject,
        body=rendered.body,
        status="queued",
    )
    session.add(email)
    await session.flush()
    return email, True


# ---------------------------------------------------------------- provider delivery events

BOUNCES = ("bounce", "dropped")


@dataclass
class EventsOutcome:
    processed: int = 0
    replayed: int = 0
    ignored: int = 0


def _outbox_id(event: dict[str, Any]) -> int | None:
    value = event.get("outbox_id")
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 1 <= number <= 2**31 - 1 else None


async def record_delivery_events(
    session: AsyncSession, events: list[Any], business_date: date
) -> EventsOutcome:
    """Apply SendGrid's delivery events to the outbox, each `sg_event_id` once.

    Each applied event is written on its mission's timeline under `email_event:<sg_event_id>`:
    that unique key is what makes a replayed event harmless. `delivered` marks the row
    delivered; `bounce` and `dropped` mark it bounced, the client's address invalid, and flag
    the mission for the advisor (step "client_email"). Other events are acknowledged only.
    """
    outcome = EventsOutcome()
    for event in events:
        if not isinstance(event, dict):
            outcome.ignored += 1
            continue
        kind = event.get("event")
        event_id = event.get("sg_event_id")
        outbox_id = _outbox_id(event)
        if (
            kind not in ("delivered", *BOUNCES)
            or not isinstance(event_id, str)
            or not 1 <= len(event_id) <= 48
            or outbox_id is None
        ):
            outcome.ignored += 1
            continue
        email = await session.get(OutboxEmail, outbox_id, with_for_update=True)
        if email is None or email.mission_id is None or email.provider != "sendgrid":
            outcome.ignored += 1
            continue
        reason = str(event.get("reason") or event.get("response") or kind)[:500]
        first = await timeline.add_timeline(
            session,
            email.mission_id,
            f"email_event:{event_id}",
            "email_bounced" if kind in BOUNCES else "email_delivered",
            business_date,
            "sendgrid",
            {"outbox_id": email.id, "event": kind, "to": email.recipient, "reason": reason},
        )
        if not first:
            outcome.replayed += 1
            continue
        outcome.processed += 1
        if kind == "delivered":
            if email.status == "sent":
                email.status = "delivered"
            continue
        email.status = "bounced"
        mission = await access.get_mission(session, email.mission_id, lock=True)
        client = await session.get(Client, mission.client_id, with_for_update=True)
        to_client = client is not None and client.email.lower() == email.recipient.lower()
        if client is not None and to_client:
            client.email_valid = False
        mission.needs_attention = True
        mission.attention_step = "client_email" if to_client else "member_email"
        mission.attention_reason = (
            f"the {email.template} email to {email.recipient} could not be delivered "
            f"({kind}: {reason}); check the client's email address"
        )[:2000]
    return outcome


async def correct_client_email(
    session: AsyncSession, client: Client, email: object, business_date: date, actor: str
) -> list[int]:
    """A corrected address makes the client reachable again and clears the bounce flags.

    The client's email is valid again; every mission flagged for a bounce to this client
    ("client_email") loses the flag, with the change on its timeline. Returns those missions.
    """
    clean = normalize_email(email)
    before = client.email
    client.email = clean
    client.email_valid = True
    flagged = list(
        await session.scalars(
            select(Mission)
            .where(
                Mission.client_id == client.id,
                Mission.needs_attention.is_(True),
                Mission.attention_step == "client_email",
            )
            .with_for_update()
        )
    )
    for mission in flagged:
        mission.needs_attention = False
        mission.attention_step = None
        mission.attention_reason = None
        await timeline.add_timeline(
            session,
            mission.id,
            f"client_email_corrected:{hashlib.sha256(clean.encode()).hexdigest()[:16]}",
            "client_email_corrected",
            business_date,
            actor,
            {"before": before, "after": clean},
        )
    return [m.id for m in flagged]
