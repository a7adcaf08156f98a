"""Settings that would leave production forgeable are refused at start (issue 13, #5):
`COOPFLOW_ENV` takes exactly dev, test or prod; prod demands a secret of at least 32 random
bytes (never the public dev secret); bearer tokens without an expiry are refused."""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError

from core.security import issue_token, read_token
from core.settings import DEV_SECRET, Settings
from models import utcnow

STRONG = secrets.token_hex(32)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    monkeypatch.delenv("COOPFLOW_ENV", raising=False)
    monkeypatch.delenv("COOPFLOW_SECRET_KEY", raising=False)
    monkeypatch.setenv("COOPFLOW_VAR_DIR", str(tmp_path / "var"))


@pytest.mark.parametrize("env", ["production", "PROD", "Prod", "prod ", "staging", ""])
def test_only_dev_test_or_prod(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("COOPFLOW_ENV", env)
    monkeypatch.setenv("COOPFLOW_SECRET_KEY", STRONG)
    with pytest.raises(ValidationError, match="COOPFLOW_ENV"):
        Settings()


@pytest.mark.parametrize("env", ["dev", "test", "prod"])
def test_the_three_environments(monkeypatch: pytest.MonkeyPatch, env: str) -> None:
    monkeypatch.setenv("COOPFLOW_ENV", env)
    monkeypatch.setenv("COOPFLOW_SECRET_KEY", STRONG)
    assert Settings().env == env


@pytest.mark.parametrize(
    "secret",
    [
        DEV_SECRET,  # public: it is in the repository
        "x",
        "k" * 64,  # long, not random
        "abab" * 16,
        secrets.token_hex(16),  # 16 random bytes, written as 32 hex characters
        secrets.token_urlsafe(16),
        "correct horse battery staple",
    ],
    # Stable ids: pytest-xdist workers must collect the same tests.
    ids=["dev-secret", "one-char", "repeated-k", "repeated-ab", "hex16", "urlsafe16", "words"],
)
def test_prod_refuses_weak_secrets(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("COOPFLOW_ENV", "prod")
    monkeypatch.setenv("COOPFLOW_SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="COOPFLOW_SECRET_KEY"):
        Settings()


def test_prod_refuses_the_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPFLOW_ENV", "prod")
    with pytest.raises(ValidationError, match="COOPFLOW_SECRET_KEY"):
        Settings()


@pytest.mark.parametrize(
    "secret",
    [
        secrets.token_hex(32),  # openssl rand -hex 32
        secrets.token_urlsafe(32),  # python -c 'import secrets; print(secrets.token_urlsafe(32))'
        "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5d2FsZG8=",  # openssl rand -base64 32 shape
    ],
    ids=["hex32", "urlsafe32", "base64-32"],
)
def test_prod_accepts_32_random_bytes(monkeypatch: pytest.MonkeyPatch, secret: str) -> None:
    monkeypatch.setenv("COOPFLOW_ENV", "prod")
    monkeypatch.setenv("COOPFLOW_SECRET_KEY", secret)
    assert Settings().secret_key == secret


def test_a_token_without_expiry_is_refused() -> None:
    settings = Settings(secret_key=STRONG)
    now = utcnow()
    forever = jwt.encode(
        {"sub": "1", "role": "ops", "iat": int(now.timestamp())}, STRONG, algorithm="HS256"
    )
    assert read_token(settings, forever) is None
    expired = jwt.encode(
        {"sub": "1", "role": "ops", "exp": int((now - timedelta(minutes=1)).timestamp())},
        STRONG,
        algorithm="HS256",
    )
    assert read_token(settings, expired) is None
    assert read_token(settings, issue_token(settings, 1, "ops")) == 1
