"""Response bodies of the console's KB endpoints."""

from __future__ import annotations

from pydantic import BaseModel

from kb.index import Manifest


class KbManifestOut(BaseModel):
    build_id: str | None  # in use in the gateway; None when no KB could be loaded
    manifest: Manifest | None
    current_build_id: str | None  # what CURRENT names on disk (every process follows it)
    in_sync: bool
    error: str | None = None


class KbReloadOut(BaseModel):
    build_id: str
    rebuilt: bool  # False: the FAQ had not changed and the existing build was reused
    seconds: float
    manifest: Manifest
