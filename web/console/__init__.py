"""The consoles: the advisor dashboard and lists (pages.py), the ops console (ops.py)."""

from __future__ import annotations

from fastapi import APIRouter

from web.console import ops, pages

router = APIRouter()
router.include_router(pages.router)
router.include_router(ops.router)
