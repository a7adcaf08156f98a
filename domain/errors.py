"""Errors raised by the pure business rules."""

from __future__ import annotations

__all__ = ["FieldError"]


class FieldError(ValueError):
    """A refused input, tied to the form/JSON field it came from (maps to a field-level 4xx)."""

    def __init__(self, field: str, message: str) -> None:
        """Refuse the value of `field` for the human-readable reason `message`."""
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message

    def __str__(self) -> str:
        """Render as "field: message" for logs and API error bodies."""
        return f"{self.field}: {self.message}"
