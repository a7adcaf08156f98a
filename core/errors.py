"""The one error type services raise for expected failures; the API renders it with its status."""

from __future__ import annotations


class DomainError(Exception):
    def __init__(self, message: str, status_code: int = 409, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.field = field


class NotFound(DomainError):
    def __init__(self, what: str, field: str | None = None) -> None:
        super().__init__(f"{what} not found", 404, field)
