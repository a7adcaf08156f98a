"""Bank in: camt.053 statements uploaded by ops (issue 15 §2), and the list of those imported."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Request, UploadFile

from api.deps import OpsDep, SessionDep, SettingsDep, temporal_client
from core.errors import DomainError
from services import bank
from services.clock import business_today, current_clock

router = APIRouter(prefix="/api/bank", tags=["bank"])


async def read_upload(upload: UploadFile) -> bytes:
    """The uploaded bytes, reading one past the limit at most (bank.validate refuses it)."""
    return await upload.read(bank.MAX_BYTES + 1)


@router.post("/statements", status_code=201)
async def import_statement(
    file: Annotated[UploadFile, File(description="a camt.053 file (.001.02 or .001.08)")],
    session: SessionDep,
    settings: SettingsDep,
    viewer: OpsDep,
    request: Request,
) -> dict[str, Any]:
    """Ops: import a camt.053 statement. Each line is booked once, whatever the file it comes
    in: a credit is applied to the invoice of its structured communication (or of one written
    in its free text), else left in suspense with its reason and suggestions; a debit is
    recorded. The same statement again answers the earlier result (`already_imported`). A file
    that is not a valid camt.053 is refused (422 on `file`, naming the element and line) and
    nothing is written."""
    data = await read_upload(file)
    clock = await current_clock(session, settings.day_seconds, settings.timezone)
    result = await bank.import_upload(
        session, viewer, data, file.filename or "statement.xml", business_today(clock)
    )
    out = {
        "statements": [
            bank.statement_out(row, repeated)
            for row, repeated in zip(result.statements, result.repeated, strict=True)
        ]
    }
    await session.commit()
    try:
        temporal = await temporal_client(request)
    except DomainError:
        temporal = None
    await bank.notify(temporal, result.notices)
    return out


@router.get("/statements")
async def list_statements(session: SessionDep, viewer: OpsDep) -> list[dict[str, Any]]:
    """Ops: the statements imported, newest first, with their counts."""
    return [bank.statement_out(row) for row in await bank.statements(session)]
