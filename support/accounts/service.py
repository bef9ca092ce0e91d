"""Agent accounts and console sessions.

Passwords are hashed with argon2 (pwdlib). A login hands out a random session token
for an HttpOnly cookie and a separate CSRF token that the console echoes in a header
on every write; the database keeps only the session token's sha256.
"""

from __future__ import annotations

import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from pwdlib import PasswordHash
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from support.accounts.models import Agent, AgentSession
from support.storage import as_utc, transaction
from support.tokens import hash_token

USERNAME_PATTERN = re.compile(r"[A-Za-z0-9_.\-]{2,64}")
MIN_PASSWORD_LENGTH = 8
# The admin `kefu demo` creates, whose password it prints to the terminal (and so to any
# log of it): production refuses to start while it exists.
DEMO_AGENT = "demo"

_hasher = PasswordHash.recommended()
# Verified against when the username does not exist, so both cases take as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


Role = Literal["admin", "editor", "agent"]
ROLES: tuple[Role, ...] = ("admin", "editor", "agent")
ROLE_NAMES = {"admin": "管理员", "editor": "编辑", "agent": "坐席"}


class AccountError(ValueError):
    """A bad username or password when creating an account; the message is for users."""


@dataclass(frozen=True)
class AgentView:
    id: int
    username: str
    is_admin: bool
    # Knowledge workspace: admin (accounts, publish, rollback), editor (drafts, publish),
    # agent (read, suggest).
    role: Role = "agent"


def role_of(agent: AgentView) -> Role:
    """The agent's workspace role; an admin flag always means admin."""
    return "admin" if agent.is_admin else agent.role


@dataclass(frozen=True)
class LoginSession:
    token: str
    csrf_token: str
    agent: AgentView
    expires_at: datetime


@dataclass(frozen=True)
class ActiveSession:
    agent: AgentView
    csrf_token: str
    expires_at: datetime


def _view(agent: Agent) -> AgentView:
    stored: Role = "agent"
    for role in ROLES:
        if agent.role == role:
            stored = role
    return AgentView(
        id=agent.id,
        username=agent.username,
        is_admin=agent.is_admin,
        role="admin" if agent.is_admin else stored,
    )


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"密码至少需要 {MIN_PASSWORD_LENGTH} 个字符。")
    if password.strip() != password:
        raise AccountError("密码首尾不能有空格。")


class AccountService:
    def __init__(self, sessions: sessionmaker[Session], session_hours: float = 12.0) -> None:
        self._sessions = sessions
        self._lifetime = timedelta(hours=session_hours)

    def add(
        self, username: str, password: str, *, admin: bool = False, role: Role | None = None
    ) -> AgentView:
        """A new account; ``role`` (default agent, or admin with ``admin``) sets both flags."""
        if role is not None:
            admin = role == "admin"
        chosen: Role = "admin" if admin else (role or "agent")
        if not USERNAME_PATTERN.fullmatch(username):
            raise AccountError("用户名只能用 2–64 个英文字母、数字、下划线、点或连字符。")
        check_password(password)
        try:
            with transaction(self._sessions) as session:
                agent = Agent(
                    username=username,
                    password_hash=_hasher.hash(password),
                    is_admin=admin,
                    role=chosen,
                    created_at=datetime.now(UTC),
                )
                session.add(agent)
                session.flush()
                return _view(agent)
        except IntegrityError as exc:
            raise AccountError(f"用户名 {username} 已存在。") from exc

    def set_password(self, username: str, password: str, *, admin: bool | None = None) -> AgentView:
        """Change a password (and optionally the admin flag); ends the agent's sessions."""
        check_password(password)
        with transaction(self._sessions) as session:
            agent = session.scalar(select(Agent).where(Agent.username == username))
            if agent is None:
                raise AccountError(f"没有用户 {username}。")
            agent.password_hash = _hasher.hash(password)
            if admin is not None:
                agent.is_admin = admin
                agent.role = (
                    "admin" if admin else ("agent" if agent.role == "admin" else agent.role)
                )
            session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
            return _view(agent)

    def set_role(self, username: str, role: Role) -> AgentView:
        """Make an account admin, editor or agent (its sessions stay; the next request sees it)."""
        if role not in ROLES:
            raise AccountError(f"角色只能是：{'、'.join(ROLES)}。")
        with transaction(self._sessions) as session:
            agent = session.scalar(select(Agent).where(Agent.username == username))
            if agent is None:
                raise AccountError(f"没有用户 {username}。")
            agent.role = role
            agent.is_admin = role == "admin"
            return _view(agent)

    def get(self, username: str) -> AgentView | None:
        with self._sessions() as session:
            agent = session.scalar(select(Agent).where(Agent.username == username))
            return _view(agent) if agent else None

    def all(self) -> list[AgentView]:
        with self._sessions() as session:
            return [_view(a) for a in session.scalars(select(Agent).order_by(Agent.username))]

    def login(self, username: str, password: str) -> LoginSession | None:
        """A new session if the password is right; None otherwise (in about the same time)."""
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            agent = session.scalar(select(Agent).where(Agent.username == username))
            valid, new_hash = _hasher.verify_and_update(
                password, agent.password_hash if agent else _DUMMY_HASH
            )
            if agent is None or not valid:
                return None
            if new_hash is not None:  # the recommended parameters changed since
                agent.password_hash = new_hash
            agent.last_login_at = now
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            expires = now + self._lifetime
            session.add(
                AgentSession(
                    token_hash=hash_token(token),
                    agent_id=agent.id,
                    csrf_token=csrf,
                    created_at=now,
                    expires_at=expires,
                )
            )
            # Expired sessions are swept on each login rather than by a scheduler.
            session.execute(delete(AgentSession).where(AgentSession.expires_at < now))
            return LoginSession(token, csrf, _view(agent), expires)

    def session(self, token: str) -> ActiveSession | None:
        with self._sessions() as session:
            found = session.get(AgentSession, hash_token(token))
            if found is None or as_utc(found.expires_at) <= datetime.now(UTC):
                return None
            agent = session.get(Agent, found.agent_id)
            if agent is None:
                return None
            return ActiveSession(_view(agent), found.csrf_token, as_utc(found.expires_at))

    def remove(self, username: str) -> bool:
        """Delete an account and with it its sessions; False if there was none."""
        with transaction(self._sessions) as session:
            agent = session.scalar(select(Agent).where(Agent.username == username))
            if agent is None:
                return False
            session.execute(delete(AgentSession).where(AgentSession.agent_id == agent.id))
            session.delete(agent)
            return True

    def logout(self, token: str) -> None:
        with transaction(self._sessions) as session:
            session.execute(
                delete(AgentSession).where(AgentSession.token_hash == hash_token(token))
            )


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode(), given.encode())
