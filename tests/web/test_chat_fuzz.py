"""The web chat API under hypothesis (issue 15, finding 9): random texts (huge, any
unicode, control characters), button payloads, raw bodies and ids. Never a 500; a
refused message stores nothing, an accepted one is stored whole with its replies."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from api.main import create_app
from kb.pipeline import BuildOutcome
from support.conversations.models import Message, Role
from support.settings import Settings
from support.storage import session_factory
from tests.web.conftest import FakeRasa

UNLIMITED = 10**9
# About 2,300 cases on SQLite, a quarter of them again on PostgreSQL, in under a minute.
SQLITE_SHARE, POSTGRES_SHARE = 1.0, 0.25


def fuzz(examples: int, chat: Chat) -> settings:
    share = SQLITE_SHARE if chat.settings.database_url.startswith("sqlite") else POSTGRES_SHARE
    return settings(
        max_examples=max(10, int(examples * share)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
        derandomize=True,
        database=None,
    )


# Any unicode but lone surrogates (which no JSON encoder sends), control characters
# included; short and long.
any_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=60) | st.text(
    st.characters(exclude_categories=["Cs"]), min_size=900, max_size=1100
)
controls = st.text(st.characters(max_codepoint=0x9F), max_size=40)
chinese = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), max_size=40)
texts = (
    any_text
    | controls
    | chinese
    | st.sampled_from(
        [
            "我的卡号 4111　1111　1111　1111 绑不上",
            "VISA4111111111111111",
            "验证码 834261",
            "/affirm",
        ]
    )
)
payloads = (
    st.sampled_from(["/affirm", "/deny", "/open_ticket", '/ask_faq{"faq_id": "x"}']) | any_text
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | any_text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
bodies = (
    st.fixed_dictionaries(
        {}, optional={"text": json_values, "payload": json_values, "x": json_values}
    )
    | json_values
)


@dataclass
class Chat:
    client: TestClient
    settings: Settings
    session_id: str
    headers: dict[str, str]

    @property
    def messages_url(self) -> str:
        return f"/api/chat/sessions/{self.session_id}/messages"

    def stored_since(self, message_id: int) -> list[Message]:
        with session_factory(self.settings.database_url)() as session:
            return list(
                session.scalars(
                    select(Message).where(
                        Message.conversation_id == self.session_id, Message.id >= message_id
                    )
                )
            )

    def count(self) -> int:
        with session_factory(self.settings.database_url)() as session:
            return session.scalar(select(func.count()).select_from(Message)) or 0


@pytest.fixture
def chat(built: BuildOutcome, database_url: str) -> Iterator[Chat]:
    chat_settings = Settings(
        index_dir=built.directory.parent,
        database_url=database_url,
        rasa_url="http://127.0.0.1:9",
        action_server_port=9,
        chat_rate_limit=UNLIMITED,
        address_chat_limit=UNLIMITED,
        session_read_limit=UNLIMITED,
    )
    with TestClient(create_app(chat_settings, dialogue=FakeRasa())) as client:
        body = client.post("/api/chat/sessions").json()
        headers = {"Authorization": f"Bearer {body['token']}"}
        yield Chat(client, chat_settings, body["session_id"], headers)


def _check_turn(chat: Chat, response: httpx.Response, before: int) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert chat.count() == before, f"{response.status_code} but something was stored"
        assert "detail" in response.json()
        return
    turn = response.json()
    stored = {message.id: message for message in chat.stored_since(turn["user_message_id"])}
    user = stored[turn["user_message_id"]]
    assert user.role == Role.USER.value
    assert 0 < len(user.text) <= 1000 and "\x00" not in user.text
    # Every reply the user was shown is stored, and nothing else was added.
    assert all(reply["id"] in stored for reply in turn["replies"])
    assert chat.count() == before + 1 + len(turn["replies"])


def _say(chat: Chat, body: Any) -> httpx.Response:
    return chat.client.post(chat.messages_url, json=body, headers=chat.headers)


def test_any_text(chat: Chat) -> None:
    @fuzz(700, chat)
    @given(text=texts)
    def run(text: str) -> None:
        before = chat.count()
        _check_turn(chat, _say(chat, {"text": text}), before)

    run()


def test_any_payload(chat: Chat) -> None:
    @fuzz(300, chat)
    @given(payload=payloads)
    def run(payload: str) -> None:
        before = chat.count()
        _check_turn(chat, _say(chat, {"payload": payload}), before)

    run()


def test_any_json_body(chat: Chat) -> None:
    @fuzz(400, chat)
    @given(body=bodies)
    def run(body: Any) -> None:
        before = chat.count()
        _check_turn(chat, _say(chat, body), before)

    run()


def test_any_raw_body(chat: Chat) -> None:
    @fuzz(300, chat)
    @given(raw=st.binary(max_size=200) | any_text.map(str.encode))
    def run(raw: bytes) -> None:
        before = chat.count()
        response = chat.client.post(
            chat.messages_url,
            content=raw,
            headers=chat.headers | {"Content-Type": "application/json"},
        )
        _check_turn(chat, response, before)

    run()


def test_any_feedback(chat: Chat) -> None:
    @fuzz(300, chat)
    @given(
        message_id=st.integers() | any_text,
        value=st.sampled_from(["up", "down"]) | json_values,
    )
    def run(message_id: object, value: object) -> None:
        before = chat.count()
        url = f"{chat.messages_url}/{quote(str(message_id), safe='')}/feedback"
        response = chat.client.post(url, json={"value": value}, headers=chat.headers)
        assert response.status_code in (204, 404, 422), response.text
        assert chat.count() == before

    run()


def test_any_session_and_token(chat: Chat) -> None:
    @fuzz(300, chat)
    @given(session_id=any_text, token=any_text)
    def run(session_id: str, token: str) -> None:
        before = chat.count()
        url = f"/api/chat/sessions/{quote(session_id, safe='')}/messages"
        header = json.dumps(token)[1:-1].encode("ascii", "ignore").decode()  # headers are ASCII
        for method, body in (("GET", None), ("POST", {"text": "你好"})):
            response = chat.client.request(
                method, url, json=body, headers={"Authorization": f"Bearer {header}"}
            )
            assert response.status_code in (401, 404, 405, 422), response.text
        assert chat.count() == before

    run()
