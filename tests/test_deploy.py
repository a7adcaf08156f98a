"""The compose stack (docker-compose.yml, Dockerfile, deploy/) agrees with the code it runs.

Docker cannot run here, so these read the files: every `coopflow` command is one the CLI has,
every COOPFLOW_* variable is a real setting and the values make valid prod settings, the order
of start is right, API and workers are scaled out behind the proxy, and no secret is written."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

import cli
from core.settings import DEV_SECRET, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SETTINGS_VARS = {f"COOPFLOW_{name.upper()}" for name in Settings.model_fields}
# What an operator puts in .env; the compose file must require these, never default them.
REQUIRED_FROM_ENV = {
    "POSTGRES_PASSWORD": "pg-" + "p" * 30,
    "COOPFLOW_SECRET_KEY": "0123456789abcdef" * 4,
}
INTERPOLATION = re.compile(r"\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def _interpolate(value: object) -> str:
    """Compose's ${VAR:-default} / ${VAR:?message}, with the operator's .env of the test."""

    def one(match: re.Match[str]) -> str:
        name, op = match["name"], match["op"]
        if name in REQUIRED_FROM_ENV:
            assert op in (":?", "?"), f"${{{name}}} must be required (:?), never defaulted"
            return REQUIRED_FROM_ENV[name]
        assert op in (":-", "-"), f"${{{name}}} has no default and is not an operator secret"
        return str(match["arg"])

    return INTERPOLATION.sub(one, str(value))


def _app_services() -> dict[str, dict[str, Any]]:
    """The services that run the Coopflow image (the `coopflow` CLI is its entrypoint)."""
    return {name: s for name, s in SERVICES.items() if s.get("image") == "coopflow:latest"}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment as a mapping"
    return {str(k): _interpolate(v) for k, v in env.items()}


def _dockerfile(instruction: str) -> list[str]:
    lines = (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
    return [line.split(None, 1)[1] for line in lines if line.startswith(instruction + " ")]


def test_app_services_are_migrate_api_worker() -> None:
    assert set(_app_services()) == {"migrate", "api", "worker"}
    for service in _app_services().values():
        assert service["build"] == "."


@pytest.mark.parametrize("name", ["migrate", "api", "worker"])
def test_commands_exist_in_the_cli(name: str) -> None:
    command = SERVICES[name]["command"]
    assert isinstance(command, list) and command[0] == name
    args = cli.build_parser().parse_args(command)  # exits (fails) on an unknown command
    assert args.func is getattr(cli, f"cmd_{name}")


def test_dockerfile_runs_the_cli_as_a_non_root_user() -> None:
    assert _dockerfile("FROM") == ["python:3.11-slim-bookworm"]
    assert _dockerfile("ENTRYPOINT") == ['["coopflow"]']
    cmd = _dockerfile("CMD")
    assert cmd == ['["api"]']
    cli.build_parser().parse_args(["api"])
    assert _dockerfile("USER") and _dockerfile("USER")[-1] not in ("root", "0")
    # the runtime packages are .ci/system-deps' own list
    deps = (ROOT / ".ci" / "system-deps").read_text()
    runtime = re.search(r"^runtime=\((.*)\)$", deps, re.M)
    assert runtime
    apt = " ".join(_dockerfile("RUN"))
    for package in runtime[1].split():
        assert f" {package}" in apt, f"{package} missing from the image"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for path in (".venv", "var", ".git", ".env", "test-artifacts"):
        assert path in ignored


def test_every_coopflow_variable_is_a_setting() -> None:
    used = set(re.findall(r"\bCOOPFLOW_[A-Z0-9_]+\b", COMPOSE_TEXT))
    assert used, "the stack configures Coopflow through COOPFLOW_* variables"
    assert used - SETTINGS_VARS == set()


@pytest.mark.parametrize("name", ["migrate", "api", "worker"])
def test_environment_makes_valid_prod_settings(
    name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for var in list(SETTINGS_VARS):
        monkeypatch.delenv(var, raising=False)
    env = _environment(SERVICES[name])
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    settings = Settings()
    assert settings.env == "prod"
    assert settings.secret_key == REQUIRED_FROM_ENV["COOPFLOW_SECRET_KEY"]
    assert settings.database_url.startswith("postgresql+psycopg://coopflow:")
    assert settings.database_url.endswith("@postgres:5432/coopflow")
    assert REQUIRED_FROM_ENV["POSTGRES_PASSWORD"] in settings.database_url
    assert settings.temporal_address == "temporal:7233"
    if name == "api":
        assert settings.api_host == "0.0.0.0"
        assert settings.api_workers >= 1

    # The same environment without the secret does not make prod settings.
    monkeypatch.delenv("COOPFLOW_SECRET_KEY")
    with pytest.raises(ValidationError, match="COOPFLOW_SECRET_KEY"):
        Settings()


def test_api_workers_setting_is_validated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COOPFLOW_API_WORKERS", "0")
    with pytest.raises(ValidationError, match="COOPFLOW_API_WORKERS"):
        Settings()


def test_no_secret_literal() -> None:
    assert DEV_SECRET not in COMPOSE_TEXT
    secretish = re.compile(r"SECRET|PASSWORD|PWD|API_KEY|TOKEN|PRIVATE")
    for name, service in SERVICES.items():
        for var, value in (service.get("environment") or {}).items():
            if secretish.search(str(var)):
                assert re.fullmatch(r"\$\{\w+:\?[^}]*\}", str(value)), (name, var, value)
            for match in INTERPOLATION.finditer(str(value)):
                if secretish.search(match["name"]):
                    assert match["op"] == ":?", (name, var, "a secret without a default")
        url = (service.get("environment") or {}).get("COOPFLOW_DATABASE_URL")
        if url is not None:
            password = re.match(r"postgresql\+psycopg://[^:]+:(.*)@", str(url))
            assert password and re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]*\}", password[1])
    # every required variable is one the operator is told to set
    required = {m["name"] for m in INTERPOLATION.finditer(COMPOSE_TEXT) if m["op"] == ":?"}
    assert required == set(REQUIRED_FROM_ENV)


@pytest.mark.parametrize("name", ["api", "worker"])
def test_api_and_worker_start_after_migrate_and_scale_out(name: str) -> None:
    service = SERVICES[name]
    depends = service["depends_on"]
    assert depends["migrate"] == {"condition": "service_completed_successfully"}
    assert service["deploy"]["replicas"] > 1
    assert service["restart"] == "unless-stopped"


def test_start_order() -> None:
    def condition(service: str, on: str) -> str:
        return str(SERVICES[service]["depends_on"][on]["condition"])

    assert condition("migrate", "postgres") == "service_healthy"
    assert condition("temporal-setup", "postgres") == "service_healthy"
    assert condition("temporal", "temporal-setup") == "service_completed_successfully"
    assert condition("temporal-namespace", "temporal") == "service_healthy"
    # the worker dies without its namespace; the API connects to Temporal on first need
    assert condition("worker", "temporal-namespace") == "service_completed_successfully"
    assert condition("proxy", "api") == "service_healthy"
    for name in ("postgres", "temporal", "api"):
        assert SERVICES[name]["healthcheck"]["test"], name
    # the one-shot services run once and stop
    assert SERVICES["migrate"]["restart"] == "no"


def test_temporal_on_the_stack_postgres() -> None:
    server = _environment(SERVICES["temporal"])
    assert server["DB"] == "postgres12"
    assert server["POSTGRES_SEEDS"] == "postgres"
    assert (server["DBNAME"], server["VISIBILITY_DBNAME"]) == ("temporal", "temporal_visibility")
    setup = (ROOT / "deploy" / "temporal-setup.sh").read_text()
    assert "temporal_visibility" in setup and "update-schema" in setup
    namespace = _environment(SERVICES["temporal-namespace"])["NAMESPACE"]
    for name in ("api", "worker"):
        assert _environment(SERVICES[name])["COOPFLOW_TEMPORAL_NAMESPACE"] == namespace
    versions = {SERVICES[n]["image"] for n in ("temporal-setup", "temporal-namespace")}
    assert len(versions) == 1, "admin-tools of the server's version"


def test_only_the_proxy_publishes_the_api() -> None:
    api = SERVICES["api"]
    assert "ports" not in api, "replicas cannot share a host port: go through the proxy"
    assert "ports" not in SERVICES["worker"]
    port = _environment(api)["COOPFLOW_API_PORT"]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    assert f"http://api:{port}" in nginx
    assert "resolver 127.0.0.11" in nginx  # re-resolves `api` as replicas come and go
    assert "./deploy/nginx.conf:/etc/nginx/conf.d/default.conf:ro" in SERVICES["proxy"]["volumes"]


def test_mounted_files_exist() -> None:
    for service in SERVICES.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source


# ---------------------------------------------------------------- the Temporal UI (issue 13)
NGINX = (ROOT / "deploy" / "nginx.conf").read_text()


def _location(prefix: str) -> str:
    """The body of nginx's `location <prefix> { ... }` (the blocks here do not nest)."""
    found = re.search(r"location\s+" + re.escape(prefix) + r"\s*\{([^}]*)\}", NGINX)
    assert found, f"no `location {prefix}` in deploy/nginx.conf"
    return found[1]


def _directives(block: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in re.sub(r"#[^\n]*", "", block).split(";"):
        words = line.split()
        if words:
            out.setdefault(words[0], []).append(" ".join(words[1:]))
    return out


def test_the_temporal_ui_publishes_no_port_and_sits_behind_the_proxy() -> None:
    """Reset and Terminate are for ops, never for anyone on the network: no host port at all
    (not even loopback), reachable only through the proxy's /temporal/."""
    ui = SERVICES["temporal-ui"]
    assert "ports" not in ui, "the Temporal UI is reached through the proxy only"
    env = _environment(ui)
    assert env["TEMPORAL_UI_PUBLIC_PATH"] == "/temporal"
    route = _directives(_location("/temporal/"))
    assert route["proxy_pass"] == ["$temporal_ui"], route
    assert "set $temporal_ui http://temporal-ui:8080" in NGINX
    # The console's links to a mission's workflow go through the proxy too.
    assert _environment(SERVICES["api"])["COOPFLOW_TEMPORAL_UI_URL"] == "/temporal"


def test_the_proxy_asks_coopflow_whether_the_browser_is_ops() -> None:
    """Every request under /temporal/ first asks the API (auth_request) whether its session
    cookie is an ops login; not logged in -> the login page, not ops -> 403."""
    from web import auth

    route = _directives(_location("/temporal/"))
    assert route["auth_request"] == ["/_coopflow/ops-gate"], route
    assert route["error_page"] == ["401 = @coopflow_login"], route
    gate = _directives(_location("= /_coopflow/ops-gate"))
    assert "internal" in gate, "the gate is the proxy's own, not a public URL"
    assert gate["proxy_pass"] == ["$coopflow_api/auth/ops-gate"], gate
    assert gate["proxy_pass_request_body"] == ["off"]
    assert 'Content-Length ""' in gate["proxy_set_header"]
    login = _directives(_location("@coopflow_login"))
    assert login["return"] == ["302 /login?next=$request_uri"], login
    assert "/auth/ops-gate" in {r.path for r in auth.gate_router.routes}  # type: ignore[attr-defined]
    assert "/login" in {r.path for r in auth.router.routes}  # type: ignore[attr-defined]


def test_the_temporal_ui_allows_no_write_action() -> None:
    """A second guard behind the login: the UI itself cannot reset, terminate, cancel, signal,
    update, start nor batch (ops act through Coopflow's own repairs, which are audited)."""
    env = _environment(SERVICES["temporal-ui"])
    for var in (
        "TEMPORAL_DISABLE_WRITE_ACTIONS",
        "TEMPORAL_WORKFLOW_RESET_DISABLED",
        "TEMPORAL_WORKFLOW_TERMINATE_DISABLED",
        "TEMPORAL_WORKFLOW_CANCEL_DISABLED",
        "TEMPORAL_WORKFLOW_SIGNAL_DISABLED",
        "TEMPORAL_WORKFLOW_UPDATE_DISABLED",
        "TEMPORAL_BATCH_ACTIONS_DISABLED",
        "TEMPORAL_START_WORKFLOW_DISABLED",
    ):
        assert env.get(var) == "true", var
