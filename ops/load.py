"""Many web-chat users at once, checked for lost messages, order and cross talk.

Used by tests/scale (on the scale-out stack) and bench/load_bench.py (`make bench-load`,
on the demo and the scale-out configuration). Every user opens a session, sends its turns
one after the other (as a person does), then reads its history back; with ``rasa_url``
Rasa's tracker of each conversation is read too. Every message carries a tag made of
letters (the sensitive-data guard leaves letters alone) naming its user and turn, so a
message that ends up in another user's conversation is seen:

- lost: a message sent with a 200 that is not in the history (or not in Rasa's tracker
  although Rasa answered it), or a turn that got neither replies nor a handoff;
- degraded (counted, not lost): Rasa did not answer in time and the gateway answered
  from the KB itself, as it does whenever Rasa is down or overloaded;
- out of order: the user's messages are stored in another order than they were sent;
- cross talk: a message of one user in another user's history or tracker.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import string
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx
import numpy as np

from support.settings import PROJECT_ROOT

TAG = re.compile(r"〔([a-z]{4})([a-z]{3})([a-z]{2})〕")
TEST_SPLIT = PROJECT_ROOT / "data" / "eval" / "test.jsonl"


def questions(path: Path = TEST_SPLIT) -> list[str]:
    """Held-out FAQ questions (those with an expected answer)."""
    lines = path.read_text("utf-8").splitlines()
    return [record["query"] for record in map(json.loads, lines) if record["expected"]]


def _letters(number: int, width: int) -> str:
    digits = []
    for _ in range(width):
        number, digit = divmod(number, 26)
        digits.append(string.ascii_lowercase[digit])
    return "".join(reversed(digits))


def tag(run: str, user: int, turn: int) -> str:
    return f"〔{run}{_letters(user, 3)}{_letters(turn, 2)}〕"


@dataclass
class LoadResult:
    users: int
    turns_per_user: int
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    lost: int = 0
    out_of_order: int = 0
    cross_talk: int = 0
    handoffs: int = 0
    degraded: int = 0
    failures: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self.latencies_ms)

    @property
    def turns_per_second(self) -> float:
        return self.turns / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else 0.0

    def note(self, failure: str) -> None:
        if len(self.failures) < 20:
            self.failures.append(failure)


def _forwarded_for(run_number: int, user: int) -> dict[str, str]:
    # An address per user (198.18.0.0/15 is for benchmarks): behind a trusted proxy the
    # per-address limits count each user, as they would count real visitors.
    return {"X-Forwarded-For": f"198.{18 + run_number % 2}.{user // 250}.{user % 250 + 1}"}


async def _user(
    client: httpx.AsyncClient,
    result: LoadResult,
    *,
    run: str,
    user: int,
    turns: int,
    pool: list[str],
    rasa: tuple[str, str] | None,
) -> None:
    headers = _forwarded_for(sum(map(ord, run)), user)
    created = await client.post("/api/chat/sessions", headers=headers)
    if created.status_code != 201:
        result.errors += turns
        result.lost += turns
        result.note(f"新建会话 {created.status_code} {created.text[:100]}")
        return
    session_id, token = created.json()["session_id"], created.json()["token"]
    headers |= {"Authorization": f"Bearer {token}"}
    sent: list[str] = []
    answered: set[str] = set()
    # While a person has the conversation nothing goes to Rasa; what the gateway says
    # then (the safety steps to a user reporting a loss) is no Rasa answer.
    with_bot = True
    for turn in range(turns):
        marker = tag(run, user, turn)
        text = f"{pool[(user * turns + turn) % len(pool)]}{marker}"
        started = time.perf_counter()
        try:
            response = await client.post(
                f"/api/chat/sessions/{session_id}/messages", json={"text": text}, headers=headers
            )
        except httpx.HTTPError as exc:
            result.latencies_ms.append((time.perf_counter() - started) * 1000)
            result.errors += 1
            result.note(repr(exc))
            continue
        result.latencies_ms.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            result.errors += 1
            result.note(f"{response.status_code} {response.text[:100]}")
            continue
        sent.append(marker)
        body = response.json()
        # Degraded: Rasa did not answer in time and the gateway answered from the KB
        # itself, so the message is stored and answered but never reached Rasa's tracker.
        result.degraded += bool(body.get("degraded"))
        if body["replies"]:
            answered.update([marker] if with_bot and not body.get("degraded") else [])
        elif body["state"] == "waiting_agent":
            result.handoffs += 1
        else:  # a 200 without any answer: the user's message went nowhere
            result.lost += 1
            result.note(f"没有回复：{text}")
        with_bot = body.get("state", "bot") == "bot"
    history = await client.get(f"/api/chat/sessions/{session_id}/messages", headers=headers)
    if history.status_code != 200:
        result.errors += 1
        result.lost += len(sent)
        result.note(f"历史 {history.status_code}")
        return
    stored = [message["text"] for message in history.json()["messages"]]
    _check(result, run=run, user=user, sent=sent, texts=stored, where="历史")
    if rasa is not None:
        url, rasa_token = rasa
        tracker = await client.get(
            f"{url}/conversations/{quote(session_id, safe='')}/tracker",
            params={"token": rasa_token},
        )
        texts = [
            event.get("text") or ""
            for event in tracker.json().get("events", [])
            if event.get("event") == "user"
        ]
        # Only what the bot answered went through Rasa (a handoff pauses it).
        through_rasa = [marker for marker in sent if marker in answered]
        _check(result, run=run, user=user, sent=through_rasa, texts=texts, where="Rasa")


def _check(
    result: LoadResult, *, run: str, user: int, sent: list[str], texts: list[str], where: str
) -> None:
    mine = []
    own = _letters(user, 3)
    for text in texts:
        for found in TAG.finditer(text):
            if found.group(1) != run:
                continue  # another run's message: not this load's business
            if found.group(2) != own:
                result.cross_talk += 1
                result.note(f"{where}串话：用户 {user} 的会话里有 {found.group(0)}")
            elif found.group(0) in sent:
                mine.append(found.group(0))
    missing = [marker for marker in sent if marker not in mine]
    if missing:
        result.lost += len(missing)
        result.note(f"{where}缺少用户 {user} 的 {len(missing)} 条消息")
    present = [marker for marker in sent if marker in mine]
    deduplicated = list(dict.fromkeys(mine))
    if deduplicated != present:
        result.out_of_order += 1
        result.note(f"{where}顺序不对：用户 {user}")


async def run_load(
    base_url: str,
    users: int,
    turns: int,
    *,
    rasa: tuple[str, str] | None = None,
    timeout: float = 120.0,
) -> LoadResult:
    """``users`` at once, each sending ``turns`` messages; ``rasa``: (URL, token) to
    compare each conversation with Rasa's tracker."""
    run = "".join(secrets.choice(string.ascii_lowercase) for _ in range(4))
    pool = questions()
    result = LoadResult(users, turns)
    limits = httpx.Limits(max_connections=users + 16, max_keepalive_connections=users + 16)
    async with httpx.AsyncClient(base_url=base_url, timeout=timeout, limits=limits) as client:
        started = time.perf_counter()
        await asyncio.gather(
            *(
                _user(client, result, run=run, user=user, turns=turns, pool=pool, rasa=rasa)
                for user in range(users)
            )
        )
        result.seconds = time.perf_counter() - started
    return result
