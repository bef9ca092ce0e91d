"""Scale-out on loopback (issue 13, item 2): the stack `make scale-demo` runs.

Two gateways behind nginx, two Rasa servers and two action servers (each pair behind
nginx too), on a throwaway PostgreSQL schema and the tests' Redis db. Needs both
(KEFU_TEST_DATABASE_URL, KEFU_TEST_REDIS_URL, as .ci/run sets them) and Debian's nginx.

The load here is 40 users × 10 turns, to keep the suite short on 2 cores;
`make bench-load` runs the full 200 × 10 with the same checks.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, text

from kb.index import set_current
from kb.pipeline import BuildOutcome
from ops.load import run_load
from ops.scale import NGINX, RunningScale, ScaleLayout, scale_settings, scale_stack
from ops.stack import KEFU
from support.settings import PROJECT_ROOT
from tests.conftest import POSTGRES_URL, REDIS_URL, postgres_schema

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (POSTGRES_URL and REDIS_URL),
        reason="横向扩展需要 PostgreSQL 和 Redis："
        "设置 KEFU_TEST_DATABASE_URL 与 KEFU_TEST_REDIS_URL",
    ),
    pytest.mark.skipif(not NGINX.exists(), reason="缺少 nginx：运行 scripts/setup.sh system"),
]

USERS, TURNS = 40, 10
WECHAT_TOKEN = "scale-" + uuid.uuid4().hex[:12]
ADMIN, ADMIN_PASSWORD = "scale-admin", secrets.token_urlsafe(12)
PROBE_ANSWER = "这是横向扩展测试临时加入的问答，用来确认知识库的新版本已经到达每个进程。"
PROBE_QUESTION = "横向扩展演练里的探针问答是什么？"
PROBE_FAQ = f"""
  - id: scale_probe
    category: 其他
    question: {PROBE_QUESTION}
    paraphrases:
      - 扩展演练探针问答
      - 横向扩展探针是啥
      - 演练用的探针问题
      - 探针问答在哪看
      - scale out 探针问答
      - 多副本演练的探针
      - 扩容演练探针问题是什么
      - 橫向擴展演練的探針問答是什麼
    answer: {PROBE_ANSWER}
"""


@pytest.fixture(scope="module")
def scale(
    trained_model: str, built: BuildOutcome, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningScale]:
    from support.accounts.service import AccountService
    from support.storage import session_factory

    data = tmp_path_factory.mktemp("scale")
    # An index root of its own: the KB publish below must not move other tests' CURRENT.
    index_root = data / "index"
    shutil.copytree(built.directory, index_root / built.directory.name)
    set_current(index_root, index_root / built.directory.name)
    shutil.copy(PROJECT_ROOT / "data" / "faq_zh.yml", data / "faq.yml")
    layout = ScaleLayout.on_free_ports()
    with postgres_schema() as database_url:
        assert REDIS_URL is not None
        settings = scale_settings(
            data,
            layout,
            database_url=database_url,
            redis_url=REDIS_URL,
            index_dir=index_root,
            faq_path=data / "faq.yml",
            wechat_token=WECHAT_TOKEN,
            rasa_token="scale-rasa-" + uuid.uuid4().hex,
            action_server_token="scale-actions-" + uuid.uuid4().hex,
        )
        AccountService(session_factory(database_url)).add(ADMIN, ADMIN_PASSWORD, admin=True)
        environment = {"KEFU_FAQ_PATH": str(settings.faq_path)}
        with scale_stack(settings, layout, data / "logs", environment=environment) as running:
            yield running


def test_many_users_lose_nothing_and_never_cross(scale: RunningScale) -> None:
    rasa = (scale.settings.rasa_url, scale.settings.rasa_token)
    result = asyncio.run(run_load(scale.public_url, USERS, TURNS, rasa=rasa))
    assert result.turns == USERS * TURNS
    assert result.errors == 0, result.failures
    assert result.lost == 0, result.failures
    assert result.out_of_order == 0, result.failures
    assert result.cross_talk == 0, result.failures


def _new_session(gateway: str) -> tuple[str, dict[str, str]]:
    body = httpx.post(f"{gateway}/api/chat/sessions", timeout=30).json()
    return body["session_id"], {"Authorization": f"Bearer {body['token']}"}


def _agent(gateway: str) -> httpx.Client:
    client = httpx.Client(base_url=gateway, timeout=30)
    me = client.post("/api/agent/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    assert me.status_code == 200, me.text
    client.headers["X-CSRF-Token"] = me.json()["csrf_token"]
    return client


def test_agent_on_one_replica_reaches_a_widget_on_the_other(scale: RunningScale) -> None:
    replica_a, replica_b = scale.gateway_urls
    session_id, headers = _new_session(replica_b)
    asked = httpx.post(
        f"{replica_b}/api/chat/sessions/{session_id}/messages",
        json={"text": "转人工"},
        headers=headers,
        timeout=60,
    )
    assert asked.json()["state"] == "waiting_agent"
    reply = f"您好，我是客服小周，{uuid.uuid4().hex[:6]} 号工单已为您查看。"
    received: list[dict[str, object]] = []

    async def listen_on_b_and_answer_on_a() -> None:
        token = headers["Authorization"].removeprefix("Bearer ")
        url = f"{replica_b}/api/chat/sessions/{session_id}/events"
        async with (
            httpx.AsyncClient(timeout=30) as client,
            client.stream("GET", url, params={"token": token}) as stream,
        ):
            assert stream.status_code == 200

            def answer() -> None:
                agent = _agent(replica_a)
                try:
                    queue = agent.get("/api/agent/escalations").json()["escalations"]
                    case = next(c for c in queue if c["conversation_id"] == session_id)
                    sent = agent.post(
                        f"/api/agent/escalations/{case['id']}/messages", json={"text": reply}
                    )
                    assert sent.status_code == 201, sent.text
                finally:
                    agent.close()

            answering = asyncio.create_task(asyncio.to_thread(answer))
            async with asyncio.timeout(20):
                async for line in stream.aiter_lines():
                    if line.startswith("data:"):
                        event = json.loads(line.removeprefix("data:"))
                        received.append(event)
                        if event.get("text") == reply:
                            break
            await answering

    asyncio.run(listen_on_b_and_answer_on_a())
    assert any(event.get("text") == reply and event.get("role") == "agent" for event in received)


def _wechat_call(gateway: str, params: dict[str, str], body: str) -> httpx.Response:
    return httpx.post(f"{gateway}/wechat", params=params, content=body.encode(), timeout=30)


def test_wechat_retry_on_the_other_replica_is_answered_once(scale: RunningScale) -> None:
    import hashlib

    replica_a, replica_b = scale.gateway_urls
    openid = "o-scale-" + uuid.uuid4().hex[:10]
    content = "提现一般多久到账？"
    body = (
        f"<xml><ToUserName><![CDATA[gh_kefu]]></ToUserName>"
        f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content>"
        f"<MsgId>{random.randrange(10**15, 10**16)}</MsgId></xml>"
    )
    timestamp, nonce = str(int(time.time())), uuid.uuid4().hex[:10]
    signature = hashlib.sha1("".join(sorted([WECHAT_TOKEN, timestamp, nonce])).encode())
    params = {"signature": signature.hexdigest(), "timestamp": timestamp, "nonce": nonce}

    async def first_and_retry_while_processing() -> list[httpx.Response]:
        first = asyncio.to_thread(_wechat_call, replica_a, params, body)
        # WeChat's retry lands on the other replica while the first is still working.
        await asyncio.sleep(0.05)
        retry = asyncio.to_thread(_wechat_call, replica_b, params, body)
        return list(await asyncio.gather(first, retry))

    responses = asyncio.run(first_and_retry_while_processing())
    later = _wechat_call(replica_b, params, body)  # and once more after it is done
    assert all(response.status_code == 200 for response in [*responses, later])
    # The same passive reply each time (only its CreateTime is new).
    contents = [
        re.findall(r"<Content><!\[CDATA\[(.*?)\]\]></Content>", response.text, re.DOTALL)
        for response in [*responses, later]
    ]
    assert contents[0], responses[0].text
    assert contents[0] == contents[1] == contents[2]
    engine = create_engine(scale.settings.database_url)
    try:
        with engine.connect() as connection:
            stored = connection.scalar(
                text(
                    "SELECT count(*) FROM messages m JOIN conversations c "
                    "ON c.id = m.conversation_id "
                    "WHERE c.external_id = :openid AND m.role = 'user'"
                ),
                {"openid": openid},
            )
    finally:
        engine.dispose()
    assert stored == 1


def _action_answer(action_server: str, token: str, question: str) -> str:
    call = {
        "next_action": "action_answer_faq",
        "sender_id": "scale-probe-" + uuid.uuid4().hex[:8],
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "scale-probe",
            "slots": {},
            "latest_message": {"text": question, "intent": {}, "entities": []},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": None,
        },
    }
    response = httpx.post(
        f"{action_server}/webhook",
        json=call,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return " ".join(str(item.get("text") or "") for item in response.json()["responses"])


def test_a_kb_publish_reaches_every_process(scale: RunningScale) -> None:
    settings = scale.settings
    with settings.faq_path.open("a", encoding="utf-8") as faq:
        faq.write(PROBE_FAQ)
    environment = os.environ | {
        "KEFU_FAQ_PATH": str(settings.faq_path),
        "KEFU_INDEX_DIR": str(settings.index_dir),
        "KEFU_MODELS_DIR": str(settings.models_dir),
        "KEFU_DATA_DIR": str(settings.data_dir),
    }
    # The publish an operator runs: build, then move CURRENT on the shared path.
    subprocess.run([str(KEFU), "kb", "build"], env=environment, check=True, timeout=300)
    pending = {f"网关 {url}" for url in scale.gateway_urls}
    pending |= {f"动作服务器 {url}" for url in scale.action_urls}
    deadline = time.monotonic() + 60
    while pending and time.monotonic() < deadline:
        for process in sorted(pending):
            kind, url = process.split(" ")
            if kind == "网关":
                found = httpx.get(f"{url}/api/kb/query", params={"q": PROBE_QUESTION}).json()
                top = found["candidates"][0]["id"] if found["candidates"] else None
                switched = found["decision"] == "answer" and top == "scale_probe"
            else:
                answer = _action_answer(url, settings.action_server_token, PROBE_QUESTION)
                switched = PROBE_ANSWER in answer
            if switched:
                pending.discard(process)
        time.sleep(0.5)
    assert not pending, f"这些进程没有换用新的知识库：{pending}"


def test_rate_limits_hold_across_replicas(scale: RunningScale) -> None:
    limit = scale.settings.address_session_limit
    # An address of this run only: Redis keeps counts for the whole window.
    address = f"100.{random.randrange(64, 128)}.{random.randrange(256)}.{random.randrange(1, 255)}"
    statuses: dict[str, list[int]] = {url: [] for url in scale.gateway_urls}
    with httpx.Client(timeout=30, headers={"X-Forwarded-For": address}) as client:
        for attempt in range(limit + 10):
            gateway = scale.gateway_urls[attempt % 2]
            statuses[gateway].append(client.post(f"{gateway}/api/chat/sessions").status_code)
    everything = [status for replies in statuses.values() for status in replies]
    assert everything.count(201) == limit
    assert everything.count(429) == 10
    # Each replica refused once the shared count was reached, not its own.
    assert all(429 in replies for replies in statuses.values())
