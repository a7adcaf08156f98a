"""The worker writes the workflows' bytecode at start: the sandbox imports workflows/ afresh for
every workflow instance, and with PYTHONDONTWRITEBYTECODE set each one compiled it again."""

from __future__ import annotations

import importlib.util
import os

import pytest

import worker


def test_the_worker_writes_the_workflows_bytecode_even_when_python_is_told_not_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")  # what this machine and many images set
    monkeypatch.setattr("sys.dont_write_bytecode", True)
    source = worker.WORKFLOWS_DIR / "mission.py"
    cached = importlib.util.cache_from_source(str(source))
    if os.path.exists(cached):
        os.remove(cached)
    assert worker.precompile_workflow_code()
    assert os.path.exists(cached)
    # a .pyc the import system will take: compiled from this very source
    with open(cached, "rb") as f:
        header = f.read(16)
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[8:12], "little") == int(source.stat().st_mtime)
