"""The VatNumberChecker port: the embedded default checks nothing, the VIES adapter speaks the
VIES REST protocol, here to a fake VIES on 127.0.0.1 (the network is never reached in tests)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from core.settings import Settings
from services.vat_check import NoVatCheck, ViesChecker, checker_from_settings


class FakeVies(BaseHTTPRequestHandler):
    """POST /check-vat-number as VIES answers it: valid, invalid, a member state down, slow."""

    requests: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - the http.server convention
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length))
        FakeVies.requests.append({"path": self.path, **body})
        number = body["vatNumber"]
        if number == "999999999":
            time.sleep(1.5)  # slower than the checker's timeout
        if number == "503503503":
            status, answer = (
                503,
                {"actionSucceed": False, "errorWrappers": [{"error": "MS_UNAVAILABLE"}]},
            )
        else:
            status = 200
            valid = number == "136695976"
            answer = {
                "countryCode": body["countryCode"],
                "vatNumber": number,
                "requestDate": "2026-12-07T10:30:00.000Z",
                "valid": valid,
                "requestIdentifier": "WAPIAAAAZ1234567" if valid else "",
                "name": "Beispiel GmbH" if valid else "---",
                "address": "Unter den Linden 1, 10117 Berlin" if valid else "---",
            }
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except BrokenPipeError:  # the checker gave up waiting (the timeout case)
            pass

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass


@pytest.fixture(scope="module")
def fake_vies() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeVies)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/rest-api"
    finally:
        server.shutdown()
        server.server_close()


async def test_the_default_checks_nothing_and_says_so() -> None:
    checker = checker_from_settings(Settings(vat_checker="none"))
    assert isinstance(checker, NoVatCheck)
    check = await checker.check("DE", "DE136695976")
    assert check.status == "not_checked" and check.reference is None
    assert check.checked_at.tzinfo is not None


def test_the_setting_chooses_the_adapter() -> None:
    checker = checker_from_settings(Settings(vat_checker="vies", vies_url="http://127.0.0.1:9"))
    assert isinstance(checker, ViesChecker) and checker.url == "http://127.0.0.1:9"
    with pytest.raises(ValueError, match="none or vies"):
        Settings(vat_checker="soap")


async def test_a_valid_number_comes_back_with_its_consultation_number(fake_vies: str) -> None:
    FakeVies.requests.clear()
    check = await ViesChecker(fake_vies, "BE0123456749").check("DE", "DE 136 695 976")
    assert (check.status, check.reference, check.name) == (
        "valid",
        "WAPIAAAAZ1234567",
        "Beispiel GmbH",
    )
    # The coop asks as itself, so that VIES gives the consultation number (the proof).
    assert FakeVies.requests == [
        {
            "path": "/rest-api/check-vat-number",
            "countryCode": "DE",
            "vatNumber": "136695976",
            "requesterMemberStateCode": "BE",
            "requesterNumber": "0123456749",
        }
    ]


async def test_an_invalid_number_is_invalid(fake_vies: str) -> None:
    check = await ViesChecker(fake_vies, "BE0123456749").check("DE", "DE000000000")
    assert (check.status, check.reference, check.name, check.address) == (
        "invalid",
        None,
        None,
        None,
    )


async def test_greece_is_el_for_vies(fake_vies: str) -> None:
    FakeVies.requests.clear()
    await ViesChecker(fake_vies, "BE0123456749").check("GR", "EL094259216")
    assert FakeVies.requests[0]["countryCode"] == "EL"
    assert FakeVies.requests[0]["vatNumber"] == "094259216"


@pytest.mark.parametrize(
    ("url", "number", "detail"),
    [
        (None, "DE503503503", "could not answer (503)"),  # a member state's service is down
        (None, "DE999999999", "unreachable"),  # too slow
        ("http://127.0.0.1:9/rest-api", "DE136695976", "unreachable"),  # nobody listens
    ],
)
async def test_vies_out_of_reach_is_not_checked_never_invalid(
    fake_vies: str, url: str | None, number: str, detail: str
) -> None:
    checker = ViesChecker(url or fake_vies, "BE0123456749", timeout=0.5)
    check = await checker.check("DE", number)
    assert check.status == "not_checked"
    assert detail in (check.detail or "")
