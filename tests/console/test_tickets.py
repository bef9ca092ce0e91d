"""Tickets in the console: list and filters, detail, the status workflow, notes, and chat."""

from __future__ import annotations

import itertools
from datetime import datetime

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import runtime
from actions.tickets import ActionCheckTicketStatus
from guard import REDACTED
from support.storage import session_factory
from support.tickets.models import TicketStatus
from support.tickets.service import (
    TRANSITIONS,
    TicketNotFoundError,
    TicketService,
    TicketTransitionError,
    TicketUpdateError,
    TicketView,
)
from tests.console.conftest import Console
from tests.web.conftest import Gateway

CARD = "4111 1111 1111 1111"  # passes the Luhn check
WORKFLOW = list(TicketStatus)  # new → in_progress → waiting_user → resolved → closed


def service_for(database_url: str) -> TicketService:
    return TicketService(session_factory(database_url))


def open_ticket(service: TicketService, **overrides: str) -> TicketView:
    values = {
        "sender_id": "user-1",
        "channel": "web",
        "category": "充值",
        "description": "充值五百元一直没到账",
        "contact": "13812345678",
    } | overrides
    return service.open(**values)


def move_to(service: TicketService, ticket: TicketView, status: TicketStatus) -> None:
    """Walk the ticket forward along the workflow, one step at a time, up to ``status``."""
    for step in WORKFLOW[1 : WORKFLOW.index(status) + 1]:
        service.update(ticket.id, status=step, author="setup")


@pytest.fixture
def tickets(gateway: Gateway) -> TicketService:
    return service_for(gateway.settings.database_url)


# The workflow, on the service


@pytest.mark.parametrize(
    ("current", "target"),
    [pair for pair in itertools.product(TicketStatus, repeat=2) if pair[0] is not pair[1]],
    ids=lambda status: status.value,
)
def test_every_transition_follows_the_table(
    database_url: str, current: TicketStatus, target: TicketStatus
) -> None:
    service = service_for(database_url)
    ticket = open_ticket(service)
    move_to(service, ticket, current)
    if target in TRANSITIONS[current]:
        assert service.update(ticket.id, status=target, author="alice").status is target
    else:
        with pytest.raises(TicketTransitionError):
            service.update(ticket.id, status=target, author="alice")


def test_the_table_goes_forward_and_closed_is_final() -> None:
    for position, status in enumerate(WORKFLOW):
        assert set(WORKFLOW[position + 1 :]) <= TRANSITIONS[status]
    assert TRANSITIONS[TicketStatus.CLOSED] == frozenset()
    # The only ways back: the user replied, or a resolved ticket is reopened.
    backwards = {
        (current, target)
        for current, targets in TRANSITIONS.items()
        for target in targets
        if WORKFLOW.index(target) < WORKFLOW.index(current)
    }
    assert backwards == {
        (TicketStatus.WAITING_USER, TicketStatus.IN_PROGRESS),
        (TicketStatus.RESOLVED, TicketStatus.IN_PROGRESS),
    }


def test_service_rejects_empty_updates_and_unknown_tickets(database_url: str) -> None:
    service = service_for(database_url)
    ticket = open_ticket(service)
    with pytest.raises(TicketUpdateError):
        service.update(ticket.id, author="alice")
    with pytest.raises(TicketUpdateError):
        service.update(ticket.id, note="  \n ", author="alice")
    with pytest.raises(TicketUpdateError):
        service.update(ticket.id, note="长" * 2001, author="alice")
    with pytest.raises(TicketNotFoundError):
        service.update(ticket.id + 100, note="备注", author="alice")


# Listing and filters


def test_list_newest_first_with_total_counts_and_age(
    agent: Console, tickets: TicketService
) -> None:
    first = open_ticket(tickets)
    second = open_ticket(tickets, channel="wechat", category="提现")
    tickets.update(second.id, status=TicketStatus.IN_PROGRESS, author="alice")

    response = agent.get("/api/agent/tickets")
    assert response.status_code == 200, response.text
    body = response.json()
    assert [row["number"] for row in body["tickets"]] == [second.number, first.number]
    assert body["total"] == 2
    assert body["counts"] == {
        "new": 1,
        "in_progress": 1,
        "waiting_user": 0,
        "resolved": 0,
        "closed": 0,
    }
    row = body["tickets"][0]
    assert set(row) == {
        "id",
        "number",
        "status",
        "status_label",
        "category",
        "channel",
        "sender_id",
        "description",
        "contact",
        "transaction_id",
        "created_at",
        "updated_at",
        "age_seconds",
    }
    assert (row["id"], row["status"], row["status_label"]) == (second.id, "in_progress", "处理中")
    assert (row["channel"], row["category"], row["sender_id"]) == ("wechat", "提现", "user-1")
    assert 0 <= row["age_seconds"] < 60
    assert datetime.fromisoformat(row["updated_at"]) >= datetime.fromisoformat(row["created_at"])


def test_each_filter(agent: Console, tickets: TicketService) -> None:
    web = open_ticket(tickets, description="余额显示不对", contact="a@example.cn")
    wechat = open_ticket(tickets, channel="wechat", category="提现", sender_id="user-2")
    other = open_ticket(tickets, category="转账", contact="13900001111", sender_id="user-3")
    tickets.update(wechat.id, status=TicketStatus.IN_PROGRESS, author="alice")
    tickets.update(other.id, status=TicketStatus.RESOLVED, author="alice")

    def numbers(**params: object) -> list[str]:
        response = agent.get("/api/agent/tickets", params=params)
        assert response.status_code == 200, response.text
        return [row["number"] for row in response.json()["tickets"]]

    assert numbers(status="new") == [web.number]
    assert numbers(status=["in_progress", "resolved"]) == [other.number, wechat.number]
    assert numbers(status="in_progress,resolved") == [other.number, wechat.number]
    assert numbers(channel="wechat") == [wechat.number]
    assert numbers(category="转账") == [other.number]
    assert numbers(sender_id="user-2") == [wechat.number]
    assert numbers(q="余额") == [web.number]  # description
    assert numbers(q="EXAMPLE.CN") == [web.number]  # contact, any case
    assert numbers(q="1390000") == [other.number]
    assert numbers(q=other.number.lower()) == [other.number]  # number
    assert numbers(q="%") == []  # matched literally, not as a wildcard
    assert numbers(channel="web", status="new") == [web.number]
    assert numbers(limit=2) == [other.number, wechat.number]
    assert numbers(limit=2, offset=2) == [web.number]


def test_counts_follow_the_other_filters_and_total_the_status_filter(
    agent: Console, tickets: TicketService
) -> None:
    open_ticket(tickets)
    open_ticket(tickets, channel="wechat")
    done = open_ticket(tickets, channel="wechat")
    tickets.update(done.id, status=TicketStatus.CLOSED, author="alice")

    body = agent.get("/api/agent/tickets", params={"channel": "wechat", "status": "new"}).json()
    assert body["total"] == 1
    # The status chips still count every status of the WeChat tickets.
    assert body["counts"]["new"] == 1
    assert body["counts"]["closed"] == 1
    paged = agent.get("/api/agent/tickets", params={"limit": 1}).json()
    assert (len(paged["tickets"]), paged["total"]) == (1, 3)


def test_bad_list_parameters_are_422_in_chinese(agent: Console) -> None:
    response = agent.get("/api/agent/tickets", params={"status": "done"})
    assert response.status_code == 422
    assert "没有“done”这个工单状态" in response.json()["detail"]
    response = agent.get("/api/agent/tickets", params={"limit": 1000})
    assert response.status_code == 422
    assert response.json()["detail"] == "limit：不能大于 200"


# Detail and updates


def test_detail_has_events_and_allowed_statuses(agent: Console, tickets: TicketService) -> None:
    ticket = open_ticket(tickets)
    response = agent.get(f"/api/agent/tickets/{ticket.id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["number"] == ticket.number
    assert body["status"] == "new"
    assert body["allowed_statuses"] == ["in_progress", "waiting_user", "resolved", "closed"]
    (created,) = body["events"]
    assert created["kind"] == "created"
    assert created["status"] == "new"
    assert created["status_label"] == TicketStatus.NEW.label
    assert created["author"] == "user"
    assert created["note"] is None


def test_the_whole_workflow_with_notes(agent: Console, tickets: TicketService) -> None:
    ticket = open_ticket(tickets)
    path = f"/api/agent/tickets/{ticket.id}"
    steps = [
        ("in_progress", "已联系支付渠道核查"),
        ("waiting_user", "请用户提供付款截图"),
        ("resolved", "渠道已补单，款项到账"),
        ("closed", "用户确认，结单"),
    ]
    updated = ticket.updated_at
    for status, note in steps:
        response = agent.patch(path, json={"status": status, "note": note})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == status
        assert body["status_label"] == TicketStatus(status).label
        assert datetime.fromisoformat(body["updated_at"]) > updated
        updated = datetime.fromisoformat(body["updated_at"])
    assert body["allowed_statuses"] == []

    events = agent.get(path).json()["events"]
    assert [(e["kind"], e["status"], e["note"], e["author"]) for e in events] == [
        ("created", "new", None, "user"),
        *[("status", status, note, "alice") for status, note in steps],
    ]
    # A note may still be added to a closed ticket; its status stays closed.
    response = agent.patch(path, json={"note": "回访：用户满意"})
    assert response.status_code == 200
    assert response.json()["status"] == "closed"
    assert response.json()["events"][-1] == {
        "kind": "note",
        "status": None,
        "status_label": None,
        "note": "回访：用户满意",
        "author": "alice",
        "created_at": response.json()["updated_at"],
    }


def test_the_user_replied_and_a_reopened_ticket(agent: Console, tickets: TicketService) -> None:
    ticket = open_ticket(tickets)
    path = f"/api/agent/tickets/{ticket.id}"
    for status in ("waiting_user", "in_progress", "resolved", "in_progress"):
        response = agent.patch(path, json={"status": status})
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status


@pytest.mark.parametrize(
    ("current", "target", "message"),
    [
        ("in_progress", "new", "工单状态不能从「处理中」改为「新建」"),
        ("resolved", "waiting_user", "工单状态不能从「已解决」改为「等待用户回复」"),
        ("closed", "in_progress", "工单状态不能从「已关闭」改为「处理中」"),
    ],
)
def test_invalid_transitions_are_409_and_store_nothing(
    agent: Console, tickets: TicketService, current: str, target: str, message: str
) -> None:
    ticket = open_ticket(tickets)
    move_to(tickets, ticket, TicketStatus(current))
    before = tickets.get(ticket.id)
    response = agent.patch(
        f"/api/agent/tickets/{ticket.id}", json={"status": target, "note": "试图改回去"}
    )
    assert response.status_code == 409
    assert response.json()["detail"].startswith(message)
    assert tickets.get(ticket.id) == before  # no status, no note, same updated_at


def test_setting_the_same_status_changes_nothing(agent: Console, tickets: TicketService) -> None:
    ticket = open_ticket(tickets)
    response = agent.patch(f"/api/agent/tickets/{ticket.id}", json={"status": "new"})
    assert response.status_code == 200
    assert len(response.json()["events"]) == 1
    assert (
        response.json()["updated_at"]
        == agent.get(f"/api/agent/tickets/{ticket.id}").json()["created_at"]
    )


def test_notes_are_redacted_before_they_are_stored(agent: Console, tickets: TicketService) -> None:
    ticket = open_ticket(tickets)
    response = agent.patch(
        f"/api/agent/tickets/{ticket.id}",
        json={"note": f"  用户发来卡号 {CARD}，验证码 123456  "},
    )
    assert response.status_code == 200, response.text
    note = response.json()["events"][-1]["note"]
    assert note == f"用户发来卡号 {REDACTED}，验证码 {REDACTED}"
    detail = tickets.get(ticket.id)
    assert detail is not None
    assert "4111" not in str(detail.events)


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({}, "请填写新的状态或备注"),
        ({"note": "   "}, "备注不能为空"),
        ({"note": "长" * 2001}, "note：不能超过 2000 个字符"),
        ({"status": "done"}, "status：取值不在允许的范围内"),
        ({"status": "closed", "author": "mallory"}, "author：不是可用的字段"),
    ],
)
def test_malformed_updates_are_422_in_chinese(
    agent: Console, tickets: TicketService, body: dict[str, object], detail: str
) -> None:
    ticket = open_ticket(tickets)
    response = agent.patch(f"/api/agent/tickets/{ticket.id}", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == detail
    stored = tickets.get(ticket.id)
    assert stored is not None
    assert len(stored.events) == 1


def test_unknown_tickets_are_404_in_chinese(agent: Console) -> None:
    assert agent.get("/api/agent/tickets/999").json() == {"detail": "工单 999 不存在。"}
    assert agent.get("/api/agent/tickets/999").status_code == 404
    response = agent.patch("/api/agent/tickets/999", json={"status": "closed"})
    assert (response.status_code, response.json()["detail"]) == (404, "工单 999 不存在。")


# What the user sees in chat


def _status_check(sender_id: str, number: str) -> Tracker:
    latest = {
        "text": f"查询工单 {number}",
        "intent": {"name": "check_ticket_status", "confidence": 1.0},
        "intent_ranking": [],
        "entities": [],
        "metadata": {"channel": "web"},
    }
    return Tracker(
        sender_id=sender_id,
        slots={},
        latest_message=latest,
        events=[{"event": "user", "text": latest["text"], "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


async def test_the_user_sees_the_new_status_in_chat(
    agent: Console, tickets: TicketService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runtime, "tickets", lambda: tickets)
    ticket = open_ticket(tickets, sender_id="web-user-7")

    async def told() -> str:
        dispatcher = CollectingDispatcher()
        await ActionCheckTicketStatus().run(
            dispatcher, _status_check("web-user-7", ticket.number), {}
        )
        return str(dispatcher.messages[0]["text"])

    assert "已受理，等待处理" in await told()
    response = agent.patch(
        f"/api/agent/tickets/{ticket.id}", json={"status": "waiting_user", "note": "内部备注"}
    )
    assert response.status_code == 200
    text = await told()
    assert f"工单 {ticket.number}（充值）当前状态：等待您补充信息" in text
    assert "内部备注" not in text  # notes are internal
    agent.patch(f"/api/agent/tickets/{ticket.id}", json={"status": "resolved"})
    assert "当前状态：已解决" in await told()
    found = tickets.find_for_sender(ticket.number, "web-user-7")
    assert found is not None
    assert found.status is TicketStatus.RESOLVED
