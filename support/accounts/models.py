"""Agent accounts and console logins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from support.storage import Base


class Agent(Base):
    """A person who works the console. Only the argon2 hash of the password is kept."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    # Admins may also rebuild and reload the knowledge base.
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The knowledge workspace's role: admin, editor (drafts, publish) or agent (read,
    # suggest). is_admin and role "admin" always go together (AccountService keeps them so).
    role: Mapped[str] = mapped_column(String(16), default="agent", server_default="agent")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AgentSession(Base):
    """A console login. The cookie holds the token; only its sha256 is stored."""

    __tablename__ = "agent_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"), index=True)
    # Sent back by the console in X-CSRF-Token on every write.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
