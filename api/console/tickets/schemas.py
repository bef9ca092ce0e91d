"""Request and response bodies of the console's ticket API.

The responses are validated straight from the service's views (``from_attributes``):
``TicketOut.model_validate(view)``; only what the console adds is computed here.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

from api.core.params import NoNul
from support.tickets.models import TicketStatus
from support.tickets.service import MAX_NOTE_LENGTH


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    number: str
    status: TicketStatus
    category: str
    channel: str
    sender_id: str
    description: str
    contact: str
    transaction_id: str | None
    created_at: datetime
    updated_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str:
        """As users see it in chat."""
        return self.status.label

    @computed_field  # type: ignore[prop-decorator]
    @property
    def age_seconds(self) -> int:
        return max(0, int((datetime.now(UTC) - self.created_at).total_seconds()))


class TicketListOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    tickets: list[TicketOut]
    total: int
    counts: dict[TicketStatus, int]


class TicketEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    status: TicketStatus | None
    note: str | None
    author: str
    created_at: datetime

    @computed_field  # type: ignore[prop-decorator]
    @property
    def status_label(self) -> str | None:
        return self.status.label if self.status else None


class TicketDetailOut(TicketOut):
    events: list[TicketEventOut]
    allowed_statuses: list[TicketStatus]


class TicketPatchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: TicketStatus | None = None
    note: Annotated[str | None, Field(max_length=MAX_NOTE_LENGTH), NoNul] = None

    @model_validator(mode="after")
    def _something_to_change(self) -> TicketPatchIn:
        if self.status is None and self.note is None:
            raise ValueError("请填写新的状态或备注")
        if self.note is not None and not self.note.strip():
            raise ValueError("备注不能为空")
        return self
