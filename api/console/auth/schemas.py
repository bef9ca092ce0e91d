"""Request and response bodies of console login."""

from __future__ import annotations

from pydantic import AliasPath, BaseModel, ConfigDict, Field


class LoginIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    """The agent behind a session: ``Me.model_validate(session)`` reads it from the session."""

    # populate_by_name: FastAPI validates the returned Me again, by field name.
    model_config = ConfigDict(from_attributes=True, populate_by_name=True)

    username: str = Field(validation_alias=AliasPath("agent", "username"))
    is_admin: bool = Field(validation_alias=AliasPath("agent", "is_admin"))
    csrf_token: str
