"""A gateway with a scripted Rasa, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from kb.pipeline import BuildOutcome
from support.dialogue import BotMessage
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService
from support.settings import Settings
from support.storage import session_factory

Script = Callable[[str, str], list[BotMessage]]


@dataclass
class FakeRasa:
    """Answers like Rasa's REST channel would, and records what it was sent."""

    script: Script | None = None
    down: bool = False
    received: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)

    async def resume(self, conversation_id: str) -> None:
        if self.down:
            raise httpx.ConnectError("Rasa is down")
        self.resumed.append(conversation_id)

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        if self.down:
            raise httpx.ConnectError("Rasa is down")
        self.received.append((conversation_id, text, metadata or {}))
        if self.script:
            return self.script(conversation_id, text)
        return [
            BotMessage(f"机器人收到：{text}", []),
            BotMessage("这个回答解决您的问题了吗？", [
                {"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}
            ]),
        ]  # fmt: skip


@dataclass
class Gateway:
    client: TestClient
    rasa: FakeRasa
    settings: Settings

    def session(self) -> tuple[str, dict[str, str]]:
        body = self.client.post("/api/chat/sessions").json()
        return body["session_id"], {"Authorization": f"Bearer {body['token']}"}

    def say(self, session_id: str, headers: dict[str, str], **body: str) -> httpx.Response:
        return self.client.post(
            f"/api/chat/sessions/{session_id}/messages", json=body, headers=headers
        )

    def escalations(self) -> EscalationService:
        return EscalationService(session_factory(self.settings.database_url))

    def queue_with_a_silent_bot(self, session_id: str) -> None:
        """The conversation is in the agent queue and Rasa, paused, says nothing."""
        self.escalations().open(
            EscalationRequest(
                conversation_id=session_id,
                channel="web",
                reason="用户要求转人工",
                last_messages=["转人工"],
                kb_candidates=[],
            )
        )
        self.rasa.script = lambda sender, text: []


@pytest.fixture
def gateway(built: BuildOutcome, database_url: str) -> Iterator[Gateway]:
    rasa = FakeRasa()
    settings = Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        encoder="use",  # the session build's encoder
        rasa_url="http://127.0.0.1:9",  # the health probe must find nothing here
        action_server_port=9,
    )
    with TestClient(create_app(settings, dialogue=rasa)) as client:
        yield Gateway(client, rasa, settings)
