"""Talking to Rasa over HTTP: chat turns through the REST channel, conversation control,
and the one definition of "Rasa is ready" (the gateway, /healthz, the demo and the test
stack all use it). Starting and training Rasa is ops.rasa's business.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

import httpx

from support.logs import REQUEST_ID_HEADER, current_request_id
from support.settings import Settings


@dataclass(frozen=True)
class BotMessage:
    text: str
    buttons: list[dict[str, str]]
    # What the KB decided for this reply (support.replies.answering.kb_metadata), if asked.
    kb: dict[str, Any] | None = None
    # The escalation's id, when this reply handed the conversation to a person.
    handoff: int | None = None


def bot_messages(items: list[dict[str, Any]]) -> list[BotMessage]:
    """The REST channel's items as messages.

    An action's ``json_message`` arrives as its own ``{"custom": {...}}`` item right after
    the text it went with; its ``kb`` and ``handoff`` are attached to that message (or to
    the last one, if no text came before it).
    """
    messages: list[BotMessage] = []
    pending: dict[str, Any] = {}
    for item in items:
        if item.get("text") or item.get("buttons"):
            messages.append(
                BotMessage(
                    text=str(item.get("text") or ""),
                    buttons=[
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                        for b in item.get("buttons") or []
                    ],
                )
            )
        custom = item.get("custom")
        if not isinstance(custom, dict):
            continue
        found = _custom_fields(custom)
        if messages:
            messages[-1] = replace(messages[-1], **found)
        else:
            pending.update(found)
    if pending and messages:
        messages[-1] = replace(messages[-1], **pending)
    return messages


def _custom_fields(custom: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    if isinstance(custom.get("kb"), dict):
        found["kb"] = custom["kb"]
    handoff = custom.get("handoff")
    if isinstance(handoff, dict) and isinstance(handoff.get("escalation_id"), int):
        found["handoff"] = handoff["escalation_id"]
    return found


def rasa_status_url(settings: Settings) -> str:
    """Rasa's /status, with the token its HTTP API wants."""
    status = httpx.URL(f"{settings.rasa_url.rstrip('/')}/status")
    return str(status.copy_merge_params({"token": settings.rasa_token}))


def rasa_is_ready(response: httpx.Response) -> bool:
    """Whether a /status response says the server has loaded its model.

    Until it has, Rasa answers 409 or a body without ``model_file``.
    """
    if response.status_code != 200:
        return False
    try:
        status = response.json()
    except ValueError:
        return False
    return isinstance(status, dict) and "model_file" in status


def rest_channel_headers(token: str) -> dict[str, str]:
    """What Rasa's REST channel wants from its one client, the gateway (kefu_rasa.channels)."""
    return {"Authorization": f"Bearer {token}"}


class RasaClient:
    """The gateway's and the console's way to Rasa: chat turns and conversation control."""

    def __init__(self, settings: Settings, client: httpx.AsyncClient | None = None) -> None:
        self._base = settings.rasa_url.rstrip("/")
        self._token = settings.rasa_token
        self._client = client or httpx.AsyncClient(timeout=httpx.Timeout(30, connect=2))

    async def aclose(self) -> None:
        await self._client.aclose()

    async def send(
        self, conversation_id: str, text: str, metadata: dict[str, Any] | None = None
    ) -> list[BotMessage]:
        metadata = dict(metadata or {})
        headers = rest_channel_headers(self._token)
        if request_id := current_request_id():
            # In the metadata, Rasa hands it to the action server with the tracker.
            metadata["request_id"] = request_id
            headers[REQUEST_ID_HEADER] = request_id
        response = await self._client.post(
            f"{self._base}/webhooks/rest/webhook",
            json={"sender": conversation_id, "message": text, "metadata": metadata},
            headers=headers,
        )
        response.raise_for_status()
        return bot_messages(response.json())

    async def resume(self, conversation_id: str) -> None:
        """Give the conversation back to the bot after a handoff (ConversationResumed).

        The action_listen after it closes the turn, so the user's next message starts a
        fresh turn that the rules recognise, whatever was said while paused.
        """
        response = await self._client.post(
            f"{self._base}/conversations/{quote(conversation_id, safe='')}/tracker/events",
            params={"token": self._token},
            json=[{"event": "resume"}, {"event": "action", "name": "action_listen"}],
        )
        response.raise_for_status()

    async def tracker(self, conversation_id: str) -> dict[str, Any]:
        response = await self._client.get(
            f"{self._base}/conversations/{quote(conversation_id, safe='')}/tracker",
            params={"token": self._token},
        )
        response.raise_for_status()
        tracker: dict[str, Any] = response.json()
        return tracker
