"""Process-wide settings, read once from the environment (prefix COOPFLOW_)."""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEV_SECRET = "dev-only-secret-change-me-0123456789abcdef"
ENVIRONMENTS = ("dev", "test", "prod")
# prod signs tokens with at least this much key material (HS256: a 256-bit key).
MIN_SECRET_BYTES = 32
_HEX = set(string.hexdigits)
_BASE64 = set(string.ascii_letters + string.digits + "+/-_=")


def secret_bytes(secret: str) -> int:
    """How many random bytes a secret can hold at most, by how it is written: 64 hex characters
    (`openssl rand -hex 32`) or 43 base64 ones (`secrets.token_urlsafe(32)`) hold 32 bytes.
    Anything repetitive ("k" * 64, fewer than 8 distinct characters) holds none worth counting."""
    chars = set(secret)
    if len(chars) < 8:
        return 0
    if chars <= _HEX:
        return len(secret) // 2
    if chars <= _BASE64:
        return len(secret.rstrip("=")) * 6 // 8
    return len(secret.encode())


def check_secret_key(env: str, secret: str) -> None:
    """prod refuses the public dev secret and any secret shorter than 32 random bytes."""
    if env != "prod":
        return
    if secret == DEV_SECRET:
        raise ValueError("COOPFLOW_SECRET_KEY must be set to a real secret in prod")
    if secret_bytes(secret) < MIN_SECRET_BYTES:
        raise ValueError(
            f"COOPFLOW_SECRET_KEY must hold at least {MIN_SECRET_BYTES} random bytes in prod "
            "(e.g. `openssl rand -hex 32`)"
        )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COOPFLOW_", env_file=".env", extra="ignore")

    # Exactly one of these, lower case: anything else ("production", "PROD") is refused, never
    # taken for dev (the public secret, cookies without Secure).
    env: Literal["dev", "test", "prod"] = Field("dev", description="dev | test | prod")
    var_dir: Path = ROOT / "var"
    database_url: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    task_queue: str = "coopflow-missions"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # uvicorn worker processes of `coopflow api` (each its own event loop and database pool).
    api_workers: int = 1
    secret_key: str = DEV_SECRET
    token_minutes: int = 12 * 60
    day_seconds: float = 86400.0
    timezone: str = "Europe/Brussels"
    mailer: str = "outbox"
    sendgrid_api_key: str = ""
    mail_from: str = "facturation@coopflow.example"
    sendgrid_host: str = "https://api.sendgrid.com"
    # SendGrid's "verification key" of the signed event webhook (base64 DER, no PEM armour).
    sendgrid_webhook_public_key: str = ""
    temporal_ui_url: str = "http://127.0.0.1:8233"
    sweep_seconds: float = 30.0
    # Processes the worker renders PDFs in, beside its own (0: in a thread of the worker).
    render_processes: int = 1
    # Ops bulk actions: missions acted on per second (one Temporal Update each).
    bulk_rate_per_second: float = 5.0
    # How long a person's action (sign, confirm, work report, cancel, retry, repairs) waits for
    # the workflow before answering: 503 if the worker has not taken it, 202 if it is accepted and
    # still running. No database transaction is held while it waits.
    action_timeout_seconds: float = 5.0
    # How long a request waits for a free database connection before it answers 503.
    db_pool_timeout_seconds: float = 10.0
    # Login throttling (services/login_throttle.py): free failures per client address and email
    # within the window, then delays from login_delay_seconds doubling up to the window; an
    # address gets login_address_max_failures free failures across all emails.
    login_max_failures: int = 5
    login_window_seconds: float = 300.0
    login_address_max_failures: int = 50
    login_delay_seconds: float = 1.0
    # The cooperative as seller on invoices and e-invoices (demo values; set them in prod).
    coop_name: str = "Coopflow SCRL"
    coop_enterprise_number: str = "0123456749"
    coop_vat_number: str = "BE0123456749"
    coop_legal_form: str = "SC / CV"
    coop_address_street: str = "Rue Coenraets 72"
    coop_address_city: str = "Bruxelles"
    coop_address_postal_zone: str = "1060"
    coop_address_country: str = "BE"
    coop_iban: str = "BE71096123456769"
    # Client VAT numbers of reverse-charge invoices: "none" (embedded default, no network: the
    # invoice records "not_checked") or "vies" (services/vat_check.py).
    vat_checker: str = "none"
    vies_url: str = "https://ec.europa.eu/taxation_customs/vies/rest-api"
    vies_timeout_seconds: float = 10.0

    @field_validator("env", mode="before")
    @classmethod
    def _env(cls, value: object) -> object:
        if value not in ENVIRONMENTS:
            raise ValueError(f"COOPFLOW_ENV must be exactly dev, test or prod, not {value!r}")
        return value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        if not self.database_url:
            self.var_dir.mkdir(parents=True, exist_ok=True)
            self.database_url = f"sqlite+aiosqlite:///{self.var_dir / 'coopflow.db'}"
        check_secret_key(self.env, self.secret_key)
        if self.mailer not in ("outbox", "sendgrid"):
            raise ValueError("COOPFLOW_MAILER must be outbox or sendgrid")
        if self.mailer == "sendgrid" and not self.sendgrid_api_key:
            raise ValueError("COOPFLOW_SENDGRID_API_KEY must be set when COOPFLOW_MAILER=sendgrid")
        if self.action_timeout_seconds <= 0:
            raise ValueError("COOPFLOW_ACTION_TIMEOUT_SECONDS must be positive")
        if self.db_pool_timeout_seconds <= 0:
            raise ValueError("COOPFLOW_DB_POOL_TIMEOUT_SECONDS must be positive")
        if self.day_seconds <= 0:
            raise ValueError("COOPFLOW_DAY_SECONDS must be positive")
        if self.vat_checker not in ("none", "vies"):
            raise ValueError("COOPFLOW_VAT_CHECKER must be none or vies")
        if self.api_workers < 1:
            raise ValueError("COOPFLOW_API_WORKERS must be at least 1")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sync_database_url(self) -> str:
        """The same database for synchronous tools (Alembic)."""
        return self.database_url.replace("sqlite+aiosqlite", "sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
