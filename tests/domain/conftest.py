"""tests/domain is the pure layer: no database, no server. A test here asking for the database
(directly or through `settings`, `db`, a stack) stops the run at collection."""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE) and "database_url" in getattr(item, "fixturenames", ()):
            raise pytest.UsageError(
                f"{item.nodeid} needs the database: domain tests run without PostgreSQL "
                "(move it to the layer it tests)"
            )
