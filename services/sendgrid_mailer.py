"""The SendGrid implementation of the `Mailer` port, and the check of its signed event webhook.

`deliver` posts one outbox row to `POST /v3/mail/send` with the official SDK (synchronous, so it
runs in a thread). 202 answers the provider's message id (`X-Message-Id`). 429 and 5xx raise a
retryable error: the activity's retry policy backs off (a short `Retry-After` is honoured within
the attempt, a longer one becomes the next retry's delay). Any other 4xx (a bad address, a
refused sender) is final: a non-retryable `EmailRejected` that flags the mission for ops.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from temporalio.exceptions import ApplicationError

from models import OutboxEmail
from services.mail import Attachment

DEFAULT_HOST = "https://api.sendgrid.com"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
WEBHOOK_MAX_AGE_SECONDS = 300


class SendGridMailer:
    """Delivers outbox rows through SendGrid; `host` points the SDK elsewhere (tests, EU region)."""

    provider = "sendgrid"

    def __init__(
        self,
        api_key: str,
        from_email: str,
        host: str = DEFAULT_HOST,
        *,
        timeout: float = 30.0,
        max_inline_wait: float = 5.0,
    ) -> None:
        self.api_key = api_key
        self.from_email = from_email
        self.host = host.rstrip("/")
        self.timeout = timeout
        self.max_inline_wait = max_inline_wait

    def payload(self, email: OutboxEmail, attachments: Sequence[Attachment] = ()) -> dict[str, Any]:
        """The `/v3/mail/send` body. The outbox id travels in custom_args: the idempotency hint
        that comes back on every webhook event, with the mission id."""
        custom_args = {"outbox_id": str(email.id)}
        if email.mission_id is not None:
            custom_args["mission_id"] = str(email.mission_id)
        body: dict[str, Any] = {
            "from": {"email": self.from_email},
            "personalizations": [
                {"to": [{"email": email.recipient}], "custom_args": custom_args},
            ],
            "subject": email.subject,
            "content": [{"type": "text/plain", "value": email.body}],
        }
        if attachments:
            body["attachments"] = [
                {
                    "content": base64.b64encode(a.content).decode("ascii"),
                    "filename": a.filename,
                    "type": a.mime_type,
                    "disposition": "attachment",
                }
                for a in attachments
            ]
        return body

    async def deliver(self, email: OutboxEmail, attachments: Sequence[Attachment] = ()) -> str:
        return await asyncio.to_thread(self._send, self.payload(email, attachments))

    def _send(self, body: dict[str, Any]) -> str:
        waited = 0.0
        while True:
            client = SendGridAPIClient(self.api_key, host=self.host)
            client.client.timeout = self.timeout
            try:
                response = client.send(body)
            except HTTPError as err:
                status = int(err.status_code)
                detail = _detail(err)
                if status == 429 or status >= 500:
                    delay = _retry_after(err)
                    if (
                        status == 429
                        and delay is not None
                        and waited + delay <= self.max_inline_wait
                    ):
                        time.sleep(delay)
                        waited += delay
                        continue
                    raise ApplicationError(
                        f"SendGrid answered {status}: {detail}; will retry",
                        type="EmailDeferred",
                        next_retry_delay=timedelta(seconds=delay) if delay else None,
                    ) from None
                raise ApplicationError(
                    f"SendGrid refused the email ({status}): {detail}",
                    {"status": status},
                    type="EmailRejected",
                    non_retryable=True,
                ) from None
            except OSError as err:  # connection refused, timeout: the provider may come back
                raise ApplicationError(
                    f"SendGrid unreachable: {err}", type="EmailDeferred"
                ) from None
            if response.status_code != 202:
                raise ApplicationError(
                    f"SendGrid answered {response.status_code} instead of 202",
                    type="EmailDeferred",
                )
            message_id = response.headers.get("X-Message-Id")
            if not message_id:
                raise ApplicationError(
                    "SendGrid accepted the email without an X-Message-Id", type="EmailDeferred"
                )
            return str(message_id)


def _retry_after(err: HTTPError) -> float | None:
    headers = getattr(err, "headers", None)
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _detail(err: HTTPError) -> str:
    body = err.body.decode("utf-8", "replace") if isinstance(err.body, bytes) else str(err.body)
    return body[:500] or str(err.reason)


def verify_event_webhook(
    public_key: str, payload: bytes, signature: str | None, timestamp: str | None, now: float
) -> str | None:
    """Why a signed event webhook request must be refused, or None when it is genuine.

    The signature is ECDSA/SHA-256 over timestamp + raw body with the key shown in SendGrid's
    mail settings; a timestamp older than five minutes is refused (a replayed capture)."""
    if not public_key:
        return "the webhook verification key is not configured"
    if not signature or not timestamp:
        return "missing signature"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "bad timestamp"
    if abs(now - sent_at) > WEBHOOK_MAX_AGE_SECONDS:
        return "stale timestamp"
    try:
        text = payload.decode("utf-8")
        webhook = EventWebhook(public_key)
        valid = webhook.verify_signature(text, signature, timestamp)
    except (ValueError, UnicodeDecodeError, binascii.Error, TypeError):
        return "bad signature"
    return None if valid else "bad signature"
