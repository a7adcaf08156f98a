"""Repository gates that run everywhere the tests run: lint, types, and the layering rules."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PRODUCT_PATHS = [
    "core",
    "domain",
    "contracts",
    "models",
    "services",
    "activities",
    "workflows",
    "api",
    "documents",
    "web",
    "bench",
    "cli.py",
    "worker.py",
    "demo.py",
]
PRODUCT = [path for path in PRODUCT_PATHS if (ROOT / path).exists()]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _violations(
    folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = (), root: Path = ROOT
) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for name in _imports(path):
            if name.startswith(allowed):
                continue
            if name == "sqlalchemy" and "sqlalchemy" in forbidden or name.startswith(forbidden):
                found.append(f"{path.relative_to(root)} imports {name}")
    return found


# Reads of the machine's clock or randomness: a workflow takes time from workflow.now() and
# randomness from workflow.random()/uuid4(), else its replay diverges.
NONDETERMINISTIC_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("uuid", "uuid4"),
    ("uuid", "uuid1"),
    ("os", "urandom"),
}


def _clock_calls(folder: str, root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name | ast.Attribute)
            ):
                owner = node.func.value
                name = owner.id if isinstance(owner, ast.Name) else owner.attr
                if (name, node.func.attr) in NONDETERMINISTIC_CALLS:
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno} calls {name}.{node.func.attr}()"
                    )
    return found


IO_MODULES = (
    "sqlalchemy",
    "httpx",
    "requests",
    "socket",
    "subprocess",
    "asyncpg",
    "psycopg",
    "aiosqlite",
    "sendgrid",
    "core.db",
    "services",
    "models",
    "random",
    "time",
)


def test_domain_is_pure() -> None:
    assert _violations("domain", IO_MODULES) == []


def test_workflows_do_no_io() -> None:
    # Activities are imported for their method references only (passed through the sandbox).
    assert _violations("workflows", IO_MODULES) == []
    assert _clock_calls("workflows") == []


BAD_CODE = {
    "domain": "from sqlalchemy import select\n",
    "workflows-io": "import httpx\n",
    "workflows-clock": "from datetime import datetime\n\ndef f():\n    return datetime.now()\n",
    "edge-sql": "from sqlalchemy import select\n",
}


@pytest.mark.parametrize("rule", sorted(BAD_CODE))
def test_each_layering_rule_can_fail(tmp_path: Path, rule: str) -> None:
    """Every rule above, fed one offending file, reports it (a gate that cannot fail is none)."""
    folder = tmp_path / "layer"
    folder.mkdir()
    (folder / "bad.py").write_text(BAD_CODE[rule])
    found = {
        "domain": lambda: _violations("layer", IO_MODULES, root=tmp_path),
        "workflows-io": lambda: _violations("layer", IO_MODULES, root=tmp_path),
        "workflows-clock": lambda: _clock_calls("layer", root=tmp_path),
        "edge-sql": lambda: _violations(
            "layer",
            ("sqlalchemy",),
            allowed=("sqlalchemy.ext.asyncio", "sqlalchemy.exc"),
            root=tmp_path,
        ),
    }[rule]()
    assert found and "bad.py" in found[0], found


@pytest.mark.parametrize("edge", ["api", "web"])
def test_edges_write_no_sql(edge: str) -> None:
    """The JSON API and the pages call services; queries live in services/."""
    assert (
        _violations(edge, ("sqlalchemy",), allowed=("sqlalchemy.ext.asyncio", "sqlalchemy.exc"))
        == []
    )


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", *PRODUCT, "tests"],
        ["ruff", "format", "--check", *PRODUCT, "tests"],
        ["mypy", *PRODUCT],
    ],
    ids=["ruff", "ruff-format", "mypy"],
)
def test_static_checks(command: list[str]) -> None:
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_domain_test_asking_for_the_database_stops_the_run(tmp_path: Path) -> None:
    """tests/domain/conftest.py's rule, on a copy: a pure test asking for the database fails."""
    (tmp_path / "conftest.py").write_text(
        "import pytest\n\n@pytest.fixture\ndef database_url():\n    return 'postgresql://x'\n"
    )
    domain = tmp_path / "domain"
    domain.mkdir()
    (domain / "conftest.py").write_text((ROOT / "tests" / "domain" / "conftest.py").read_text())
    (domain / "test_pure.py").write_text("def test_pure():\n    assert True\n")
    run = [str(BIN / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist"]
    clean = subprocess.run([*run, str(domain)], cwd=tmp_path, capture_output=True, text=True)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    (domain / "test_impure.py").write_text("def test_impure(database_url):\n    pass\n")
    dirty = subprocess.run([*run, str(domain)], cwd=tmp_path, capture_output=True, text=True)
    assert dirty.returncode != 0
    assert "needs the database" in dirty.stdout + dirty.stderr


def _import_cycles(package: str, root: Path = ROOT) -> list[list[str]]:
    """Cycles among `package`'s modules, counting imports inside functions too (an import
    moved into a function to dodge a cycle is still a cycle)."""
    graph: dict[str, set[str]] = {}
    for path in sorted((root / package).glob("*.py")):
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module.startswith(f"{package}."):
                    deps.add(node.module.split(".")[1])
                elif node.module == package:
                    deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                deps.update(
                    a.name.split(".")[1] for a in node.names if a.name.startswith(f"{package}.")
                )
        graph[path.stem] = deps
    cycles: list[list[str]] = []
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []

    def visit(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph[v] & graph.keys()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                cycles.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return cycles


def test_services_have_no_import_cycle() -> None:
    assert _import_cycles("services") == []


def test_an_import_cycle_is_caught_even_inside_a_function(tmp_path: Path) -> None:
    pkg = tmp_path / "services"
    pkg.mkdir()
    (pkg / "a.py").write_text("from services import b\n")
    (pkg / "b.py").write_text("def f():\n    from services.a import g\n")
    (pkg / "c.py").write_text("from services import a\n")
    assert _import_cycles("services", root=tmp_path) == [["a", "b"]]


def test_the_stage_date_trigger_knows_the_stages_of_the_code() -> None:
    """Migration 0016's trigger spells the flow stages in SQL: renaming or adding one in
    contracts/stages.py without a migration that updates the trigger fails here."""
    import importlib.util

    from contracts.stages import FLOW_STAGES

    path = next((ROOT / "alembic" / "versions").glob("*_0016_stage_dates.py"))
    spec = importlib.util.spec_from_file_location("stage_dates_migration", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert [stage for stage, _, _ in migration.STAYS] == list(FLOW_STAGES)


@pytest.mark.parametrize("language", ["en", "fr", "nl"])
def test_each_catalogue_compiles_cleanly(language: str) -> None:
    """GNU msgfmt's check on each catalogue: a merge that loses a msgid or a msgstr (babel reads
    past it silently, dropping the entry) fails here."""
    po = ROOT / "locale" / language / "LC_MESSAGES" / "messages.po"
    result = subprocess.run(
        ["msgfmt", "--check-format", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
