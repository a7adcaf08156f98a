"""A local stand-in for SendGrid's `POST /v3/mail/send`, and a stack whose worker mails through it.

The fake is a real HTTP server on 127.0.0.1 (random port, its own thread): the SDK talks to it over
the network exactly as to SendGrid, through `SendGridAPIClient(host=...)`.
"""

from __future__ import annotations

import base64
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from core.db import Database
from core.settings import Settings
from tests.conftest import Stack, _finish_workflows, api_client
from worker import build_worker

API_KEY = "SG.test-key"


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: Any


class FakeSendGrid:
    """Answers scripted replies in order, then 202 with a fresh X-Message-Id; keeps requests."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.script: list[Reply] = []
        self.default: Reply | None = None
        self.message_ids: list[str] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                with fake._lock:
                    fake.requests.append(
                        Received(self.path, dict(self.headers.items()), json.loads(raw))
                    )
                    reply = fake.script.pop(0) if fake.script else fake.default
                    if reply is None:
                        message_id = uuid.uuid4().hex[:22]
                        fake.message_ids.append(message_id)
                        reply = Reply(202, {"X-Message-Id": message_id})
                data = json.dumps(reply.body).encode() if reply.body is not None else b""
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeSendGrid:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(5)


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@dataclass
class WebhookKeys:
    private: ec.EllipticCurvePrivateKey
    public: str  # as SendGrid shows it: base64 DER, no PEM armour


def make_keys() -> WebhookKeys:
    private = ec.generate_private_key(ec.SECP256R1())
    der = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return WebhookKeys(private, base64.b64encode(der).decode())


@pytest.fixture(scope="session")
def webhook_keys() -> WebhookKeys:
    return make_keys()


@pytest.fixture
async def sendgrid_stack(
    ts_env: WorkflowEnvironment,
    db: Database,
    settings: Settings,
    fake_sendgrid: FakeSendGrid,
    webhook_keys: WebhookKeys,
) -> AsyncIterator[Stack]:
    """Like `stack`, with COOPFLOW_MAILER=sendgrid pointing at the fake and the webhook key set."""
    sg_settings = settings.model_copy(
        update={
            "mailer": "sendgrid",
            "sendgrid_api_key": API_KEY,
            "sendgrid_host": fake_sendgrid.url,
            "sendgrid_webhook_public_key": webhook_keys.public,
        }
    )
    async with build_worker(ts_env.client, db, sg_settings):
        async with api_client(create_app(sg_settings, db, ts_env.client)) as http:
            s = Stack(ts_env, http, db, sg_settings)
            yield s
            await _finish_workflows(s)
