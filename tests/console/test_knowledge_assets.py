"""The knowledge workspace's ES modules all load: no build step means a wrong import path
or a file left out of the static folder only shows up in a browser, so walk the import
graph from console.js over the asset route, as a browser would."""

from __future__ import annotations

import re

from fastapi import FastAPI
from fastapi.testclient import TestClient

from api.console import pages

IMPORT = re.compile(r"""^\s*import\s[^'"]*['"]\./([\w.-]+)['"];""", re.MULTILINE)
STYLESHEET = re.compile(r'<link rel="stylesheet" href="/agent/assets/([\w.-]+)">')


def client() -> TestClient:
    app = FastAPI()
    app.include_router(pages.router)
    return TestClient(app)


def test_every_module_the_console_imports_is_served_as_javascript() -> None:
    http = client()
    seen: set[str] = set()
    pending = ["console.js"]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        response = http.get(f"/agent/assets/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"].startswith("text/javascript"), name
        pending.extend(IMPORT.findall(response.text))
    workspace = {name for name in seen if name.startswith("kb-")}
    # The workspace's views: entries, 命中测试, funnel, candidates, transfer, history, index.
    assert {
        "kb-entries.js",
        "kb-hittest.js",
        "kb-funnel.js",
        "kb-candidates.js",
        "kb-transfer.js",
        "kb-history.js",
        "kb-index.js",
        "kb-common.js",
    } <= workspace
    assert "knowledge.js" in seen


def test_the_console_page_links_the_workspace_styles() -> None:
    html = (pages.STATIC / "console.html").read_text(encoding="utf-8")
    sheets = STYLESHEET.findall(html)
    assert "knowledge.css" in sheets
    http = client()
    for sheet in sheets:
        response = http.get(f"/agent/assets/{sheet}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/css")
