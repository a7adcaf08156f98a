"""Merge the two branches written in parallel: fund rules (0006) and credit notes (0007).

Revision ID: 0008
Revises: 0006, 0007
Create Date: 2026-11-29

"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = '0008'
down_revision: str | Sequence[str] | None = ('0006', '0007')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Nothing to do: both branches are applied by the time this runs."""


def downgrade() -> None:
    """Nothing to undo here."""
