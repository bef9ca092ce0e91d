"""The console page at /agent: the login form (401) or the console itself.

Plain HTML, CSS and JS files (ES modules), no build step. The assets are public like the widget's;
every byte of data reaches the page through the authenticated /api/agent routes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import FileResponse, HTMLResponse

from api.console.deps import optional_session
from support.accounts.service import ActiveSession

STATIC = Path(__file__).parent / "static"
# The scripts are native ES modules (console.js imports the panels, they import dom.js):
# browsers run a module only when it is served with a JavaScript MIME type.
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
ASSETS = {
    path.name: MEDIA_TYPES[path.suffix] for path in STATIC.iterdir() if path.suffix in MEDIA_TYPES
}
# Same-origin scripts (modules included) and styles only; the console can never be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}

router = APIRouter(include_in_schema=False)


@router.get("/agent")
def console_page(
    active: Annotated[ActiveSession | None, Depends(optional_session)],
) -> HTMLResponse:
    if active is None:
        page, status = "login.html", 401
    else:
        page, status = "console.html", 200
    return HTMLResponse(
        (STATIC / page).read_text(encoding="utf-8"), status_code=status, headers=SECURITY_HEADERS
    )


@router.get("/agent/assets/{name}")
def console_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, "文件不存在")
    return FileResponse(
        STATIC / name,
        media_type=ASSETS[name],
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
