"""Server-rendered pages (Jinja2 + htmx + Pico CSS): the member portal; see web/README.md."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from core.settings import ROOT

STATIC_DIR = ROOT / "static"


def mount(app: FastAPI) -> None:
    """Add the pages and their static files (/static) to the application."""
    from web import auth, member

    router = APIRouter()
    router.include_router(auth.router)
    router.include_router(member.router)
    router.include_router(auth.gate_router)  # the proxy's gate to the Temporal UI
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
