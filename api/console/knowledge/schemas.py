"""Request and response bodies of the console's KB endpoints (the knowledge workspace).

The shapes the console's 知识库 page reads; ``/tmp/kefu/kb_api.md`` describes each route.
Most bodies come straight from support.knowledge.schemas (the domain's own views), so
the API and the CLI share one shape; the request bodies live here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from api.core.params import MAX_ROW_ID, NoNul
from kb.index import Manifest
from support.knowledge.schemas import (
    AuditEntryView,
    AuditPage,
    CandidateReviewOut,
    CandidateView,
    DraftView,
    EntryDiff,
    EntryIn,
    EntryPage,
    EntryUpdateIn,
    EntryView,
    FunnelView,
    HitTestView,
    ImportReport,
    Issue,
    LearnIn,
    PublishView,
    RoleName,
    ValidationOut,
    VersionDetail,
    VersionSummary,
)

__all__ = [
    "AuditEntryView",
    "AuditPage",
    "CandidateReviewIn",
    "CandidateReviewOut",
    "CandidateView",
    "CandidatesIn",
    "CategoriesIn",
    "CategoriesOut",
    "DraftView",
    "EntryDiff",
    "EntryIn",
    "EntryPage",
    "EntryUpdateIn",
    "EntryView",
    "FunnelView",
    "HitTestIn",
    "HitTestView",
    "ImportReport",
    "Issue",
    "KbManifestOut",
    "KbMeOut",
    "KbReloadOut",
    "LearnIn",
    "PublishIn",
    "PublishView",
    "RevisionIn",
    "RoleIn",
    "RollbackIn",
    "ValidationOut",
    "VersionDetail",
    "VersionSummary",
]


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


class KbMeOut(BaseModel):
    """What the caller may do on the 知识库 page (the buttons it shows)."""

    username: str
    role: RoleName
    can_edit: bool  # editor, admin: drafts, import, accept candidates
    can_publish: bool  # editor, admin
    can_rollback: bool  # admin
    can_override_gate: bool  # admin
    can_manage_accounts: bool  # admin


class RevisionIn(BaseModel):
    """Archive, restore or discard: only the revision the editor saw."""

    model_config = ConfigDict(extra="forbid")

    revision: int = Field(ge=0, le=2**31 - 1)


class PublishIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Annotated[str, Field(max_length=500), NoNul] = ""
    # Admin only: publish although the eval gate found a drop (logged in the audit).
    override_gate: bool = False


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Republish this version's content; None: the version before the current one.
    to_version: int | None = Field(default=None, ge=1, le=MAX_ROW_ID)
    note: Annotated[str, Field(max_length=500), NoNul] = ""


class HitTestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: Annotated[str, Field(min_length=1, max_length=500), NoNul]
    top_k: int = Field(default=5, ge=1, le=20)


class CandidatesIn(BaseModel):
    """An agent suggests a paraphrase (the candidate list; editors accept it later)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    query: Annotated[str, Field(min_length=1, max_length=200), NoNul]
    faq_id: Annotated[str, Field(min_length=1, max_length=64), NoNul]


class CandidateReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=MAX_ROW_ID)]] = Field(min_length=1, max_length=1000)
    action: Literal["accept", "reject"]


class CategoriesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    categories: list[Annotated[str, Field(min_length=1, max_length=32), NoNul]] = Field(
        min_length=1, max_length=100
    )


class CategoriesOut(BaseModel):
    categories: list[str]


class RoleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: RoleName
