"""SendGridMailer against a local HTTP server standing in for `POST /v3/mail/send`."""

from __future__ import annotations

import base64

import pytest
from temporalio.exceptions import ApplicationError

from core.settings import Settings
from models import OutboxEmail
from services.mail import Attachment, OutboxMailer
from services.sendgrid_mailer import SendGridMailer
from tests.email.conftest import API_KEY, FakeSendGrid, Reply
from worker import build_mailer

FROM = "facturation@coopflow.example"
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"


def _email(**over: object) -> OutboxEmail:
    values: dict[str, object] = {
        "id": 314,
        "mission_id": 42,
        "template": "invoice",
        "step": "invoice",
        "language": "fr",
        "recipient": "client@example.be",
        "subject": "Facture 2026/000123",
        "body": "Bonjour,\nveuillez trouver la facture.\n",
        "status": "queued",
    }
    values.update(over)
    return OutboxEmail(**values)


def _mailer(fake: FakeSendGrid, **over: float) -> SendGridMailer:
    return SendGridMailer(API_KEY, FROM, host=fake.url, **over)


async def test_exact_payload_and_202(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script = [Reply(202, {"X-Message-Id": "sg-msg-1"})]
    attachment = Attachment("invoice-2026-000123.pdf", PDF)
    message_id = await _mailer(fake_sendgrid).deliver(_email(), [attachment])

    assert message_id == "sg-msg-1"
    [request] = fake_sendgrid.requests
    assert request.path == "/v3/mail/send"
    assert request.headers["Authorization"] == f"Bearer {API_KEY}"
    assert request.body == {
        "from": {"email": FROM},
        "personalizations": [
            {
                "to": [{"email": "client@example.be"}],
                "custom_args": {"mission_id": "42", "outbox_id": "314"},
            }
        ],
        "subject": "Facture 2026/000123",
        "content": [{"type": "text/plain", "value": "Bonjour,\nveuillez trouver la facture.\n"}],
        "attachments": [
            {
                "content": base64.b64encode(PDF).decode(),
                "filename": "invoice-2026-000123.pdf",
                "type": "application/pdf",
                "disposition": "attachment",
            }
        ],
    }
    assert base64.b64decode(request.body["attachments"][0]["content"]) == PDF


async def test_no_attachments_no_attachments_key(fake_sendgrid: FakeSendGrid) -> None:
    await _mailer(fake_sendgrid).deliver(_email(mission_id=None))
    [request] = fake_sendgrid.requests
    assert "attachments" not in request.body
    assert request.body["personalizations"][0]["custom_args"] == {"outbox_id": "314"}


async def test_429_with_short_retry_after_is_retried_within_the_attempt(
    fake_sendgrid: FakeSendGrid,
) -> None:
    fake_sendgrid.script = [
        Reply(429, {"Retry-After": "0.2"}, {"errors": [{"message": "too many requests"}]}),
        Reply(202, {"X-Message-Id": "sg-msg-after-429"}),
    ]
    message_id = await _mailer(fake_sendgrid).deliver(_email())
    assert message_id == "sg-msg-after-429"
    assert len(fake_sendgrid.requests) == 2
    assert fake_sendgrid.requests[0].body == fake_sendgrid.requests[1].body  # the same email


async def test_429_with_long_retry_after_is_left_to_the_retry_policy(
    fake_sendgrid: FakeSendGrid,
) -> None:
    fake_sendgrid.script = [Reply(429, {"Retry-After": "60"})]
    with pytest.raises(ApplicationError) as info:
        await _mailer(fake_sendgrid, max_inline_wait=1.0).deliver(_email())
    err = info.value
    assert err.type == "EmailDeferred" and not err.non_retryable
    assert err.next_retry_delay is not None and err.next_retry_delay.total_seconds() == 60
    assert len(fake_sendgrid.requests) == 1


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_5xx_is_retryable(fake_sendgrid: FakeSendGrid, status: int) -> None:
    fake_sendgrid.script = [Reply(status, body={"errors": [{"message": "try later"}]})]
    with pytest.raises(ApplicationError) as info:
        await _mailer(fake_sendgrid).deliver(_email())
    assert info.value.type == "EmailDeferred"
    assert not info.value.non_retryable
    assert str(status) in str(info.value)


async def test_400_bad_address_is_not_retryable(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.script = [
        Reply(
            400,
            body={
                "errors": [
                    {
                        "message": "Does not contain a valid address.",
                        "field": "personalizations.0.to.0.email",
                    }
                ]
            },
        )
    ]
    with pytest.raises(ApplicationError) as info:
        await _mailer(fake_sendgrid).deliver(_email(recipient="not-an-address"))
    err = info.value
    assert err.type == "EmailRejected" and err.non_retryable
    assert "400" in str(err) and "valid address" in str(err)
    assert len(fake_sendgrid.requests) == 1


async def test_unreachable_provider_is_retryable() -> None:
    with FakeSendGrid() as fake:
        url = fake.url  # a port nobody listens on once the server is closed
    mailer = SendGridMailer(API_KEY, FROM, host=url, timeout=5)
    with pytest.raises(ApplicationError) as info:
        await mailer.deliver(_email())
    assert info.value.type == "EmailDeferred" and not info.value.non_retryable


def test_worker_picks_the_mailer_from_settings(settings: Settings) -> None:
    assert isinstance(build_mailer(settings), OutboxMailer)
    chosen = build_mailer(
        settings.model_copy(
            update={"mailer": "sendgrid", "sendgrid_api_key": API_KEY, "sendgrid_host": "http://x"}
        )
    )
    assert isinstance(chosen, SendGridMailer)
    assert chosen.host == "http://x" and chosen.from_email == settings.mail_from
    with pytest.raises(ValueError, match="SENDGRID_API_KEY"):
        Settings(mailer="sendgrid", sendgrid_api_key="")
