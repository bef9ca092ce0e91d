"""The widget's files and the demo help page, served by the gateway itself."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).parent / "static"
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/widget.js": ("widget.js", "application/javascript; charset=utf-8"),
    "/widget.css": ("widget.css", "text/css; charset=utf-8"),
}

router = APIRouter(include_in_schema=False)


def _serve(path: str) -> FileResponse:
    name, media_type = FILES[path]
    file = STATIC / name
    if not file.exists():
        raise HTTPException(404, "页面不存在")
    return FileResponse(file, media_type=media_type, headers={"Cache-Control": "no-cache"})


@router.get("/")
def demo_page() -> FileResponse:
    return _serve("/")


@router.get("/widget.js")
def widget_script() -> FileResponse:
    return _serve("/widget.js")


@router.get("/widget.css")
def widget_style() -> FileResponse:
    return _serve("/widget.css")
