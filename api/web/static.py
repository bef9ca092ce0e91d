"""The widget's files and the demo help page, served by the gateway itself.

The help page gets a strict CSP and may not be framed. widget.js and widget.css are meant
to be loaded by other sites' pages, so they get no frame or origin restrictions, only
``nosniff`` (a browser runs them only as what they are).
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/widget.js": ("widget.js", "application/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
}


def _inline_style_hashes(page: Path) -> str:
    """CSP hashes of the page's inline <style> blocks: those run, nothing injected does."""
    if not page.exists():
        return ""
    blocks = re.findall(r"<style>(.*?)</style>", page.read_text(encoding="utf-8"), re.DOTALL)
    return " ".join(
        f"'sha256-{base64.b64encode(hashlib.sha256(block.encode()).digest()).decode()}'"
        for block in blocks
    )


PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; "
        f"style-src 'self' {_inline_style_hashes(STATIC / 'index.html')}; "
        "img-src 'self' data:; connect-src 'self'; object-src 'none'; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
ASSET_HEADERS = {"X-Content-Type-Options": "nosniff"}

router = APIRouter(include_in_schema=False)


def _serve(path: str, headers: dict[str, str]) -> FileResponse:
    name, media_type = FILES[path]
    file = STATIC / name
    if not file.exists():
        raise HTTPException(404, "页面不存在")
    return FileResponse(
        file, media_type=media_type, headers={"Cache-Control": "no-cache", **headers}
    )


@router.get("/")
def demo_page() -> FileResponse:
    return _serve("/", PAGE_HEADERS)


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return _serve("/widget.js", ASSET_HEADERS)


@router.get("/widget.css")
def widget_style() -> FileResponse:
    return _serve("/widget.css", ASSET_HEADERS)
