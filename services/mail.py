"""Outgoing email: rendered from templates, written once per (mission, template, step).

The embedded default keeps every email in the outbox table (GET /api/outbox); a SendGrid mailer
plugs in behind the same `Mailer` port (issue "Documents").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from jinja2 import TemplateNotFound
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.templating import environment
from models import OutboxEmail

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
    text = tpl.render(**context)
    first, _, body = text.partition("\n")
    if not first.startswith("Subject: "):
        raise ValueError(f"template {template} must start with 'Subject: '")
    subject = first.removeprefix("Subject: ").strip()
    return RenderedEmail(
        subject=subject.replace("\r", " ").replace("\n", " "),
        body=body.lstrip("\n"),
        language=language,
    )


class Mailer(Protocol):
    """Delivers a stored email; returns the provider's message id."""

    async def deliver(self, email: OutboxEmail) -> str | None: ...


class OutboxMailer:
    """Embedded default: the outbox row is the delivery."""

    async def deliver(self, email: OutboxEmail) -> str | None:
        return None


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
