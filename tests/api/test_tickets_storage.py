"""Tickets and escalations on real storage: SQLite and PostgreSQL."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

from support.escalations.models import EscalationStatus
from support.escalations.schemas import EscalationRequest
from support.escalations.service import EscalationService
from support.storage import migrate, session_factory
from support.tickets.models import TicketStatus
from support.tickets.service import TicketService


def test_migrations_are_idempotent(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)


def test_ticket_numbers_are_sequential_per_day(database_url: str) -> None:
    service = TicketService(session_factory(database_url))
    first = service.open(
        sender_id="u1",
        channel="web",
        category="充值",
        description="充值没到账五百元",
        contact="13812345678",
    )
    second = service.open(
        sender_id="u2",
        channel="wechat",
        category="提现",
        description="提现失败三次了",
        contact="a@b.cn",
    )
    assert re.fullmatch(r"T\d{8}-0001", first.number)
    assert second.number == first.number[:-4] + "0002"
    assert first.status is TicketStatus.NEW
    assert first.transaction_id is None


def test_concurrent_tickets_get_distinct_numbers(database_url: str) -> None:
    service = TicketService(session_factory(database_url))

    def open_one(index: int) -> str:
        return service.open(
            sender_id=f"u{index}",
            channel="web",
            category="其他",
            description="并发提交的工单描述",
            contact="13812345678",
        ).number

    with ThreadPoolExecutor(max_workers=4) as pool:
        numbers = list(pool.map(open_one, range(12)))
    assert len(set(numbers)) == 12


def test_tickets_are_visible_only_to_their_owner(database_url: str) -> None:
    service = TicketService(session_factory(database_url))
    ticket = service.open(
        sender_id="owner",
        channel="web",
        category="支付",
        description="付款失败但扣钱了",
        contact="13812345678",
    )
    assert service.find_for_sender(ticket.number, "owner") == ticket
    assert service.find_for_sender(ticket.number.lower(), "owner") == ticket
    assert service.find_for_sender(ticket.number, "stranger") is None
    assert service.latest_for_sender("owner") == ticket
    assert service.latest_for_sender("stranger") is None


def test_ticket_text_is_redacted_before_storage(database_url: str) -> None:
    service = TicketService(session_factory(database_url))
    ticket = service.open(
        sender_id="u",
        channel="web",
        category="账户安全",
        description="我的支付密码是123456，现在付不了款",
        contact="13812345678",
    )
    assert "123456" not in ticket.description
    assert "〔已隐藏〕" in ticket.description


def test_escalation_records_context_and_queue_position(database_url: str) -> None:
    service = EscalationService(session_factory(database_url))
    first = service.open(
        EscalationRequest(
            conversation_id="a",
            channel="web",
            reason="用户要求转人工",
            last_messages=["充值没到账", "验证码是 482913"],
            kb_candidates=[{"id": "topup_delay", "question": "充值没到账？", "score": 0.81}],
        )
    )
    second = service.open(
        EscalationRequest(
            conversation_id="b",
            channel="wechat",
            reason="机器人连续未能回答",
            last_messages=[],
            kb_candidates=[],
        )
    )
    assert (first.queue_position, second.queue_position) == (1, 2)
    assert first.escalation.status is EscalationStatus.WAITING
    assert first.escalation.redacted
    assert first.escalation.last_messages == ["充值没到账", "验证码是 〔已隐藏〕"]
    assert first.escalation.kb_candidates[0]["id"] == "topup_delay"
    # Asking again while waiting does not queue the conversation twice.
    again = service.open(
        EscalationRequest(
            conversation_id="a",
            channel="web",
            reason="用户要求转人工",
            last_messages=[],
            kb_candidates=[],
        )
    )
    assert again.escalation.id == first.escalation.id
    assert again.queue_position == 1
    assert service.open_for_conversation("b") == second.escalation
