"""Documents: GET /api/missions/{id}/documents (the list), GET /api/documents/{id} (the file)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from api.deps import SessionDep, ViewerDep
from services import documents

router = APIRouter(prefix="/api", tags=["documents"])


@router.get("/missions/{mission_id}/documents")
async def mission_documents(
    mission_id: int, session: SessionDep, viewer: ViewerDep
) -> list[dict[str, Any]]:
    """Every document of the mission (a member: own missions only), oldest first."""
    rows = await documents.list_documents(session, viewer, mission_id)
    return [documents.document_out(row) for row in rows]


@router.get(
    "/documents/{document_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "application/xml": {}}}},
)
async def download_document(
    document_id: int, session: SessionDep, viewer: ViewerDep, request: Request
) -> Response:
    """The stored file itself, byte for byte; its SHA-256 is the ETag."""
    row = await documents.get_document(session, viewer, document_id)
    etag = f'"{row.sha256}"'
    headers = {
        "ETag": etag,
        "Content-Disposition": f'attachment; filename="{row.filename}"',
        "X-Content-SHA256": row.sha256,
        "X-Template-Version": row.template_version,
        "Cache-Control": "private, max-age=31536000, immutable",
        "X-Content-Type-Options": "nosniff",
    }
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content=row.content, media_type=row.media_type, headers=headers)
