"""The outbox's claims and reports, on each database: a lease that ran out must not let a
late report free, reschedule or double-count a row that another gateway claimed since."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from support.outbox.models import WechatOutbox
from support.outbox.schemas import OutboxItem, OutboxStatus, SendResult
from support.outbox.service import OutboxService
from support.storage import migrate, session_factory, transaction

SYSTEM_BUSY = -1


def _outbox(database_url: str) -> OutboxService:
    migrate(database_url)
    return OutboxService(session_factory(database_url), max_attempts=3, backoff=60.0)


def _expire_lease(outbox: OutboxService, database_url: str, item: OutboxItem) -> OutboxItem:
    """Let the sender's lease run out and another gateway claim the row."""
    past = datetime.now(UTC) - timedelta(seconds=1)
    with transaction(session_factory(database_url)) as session:
        session.execute(
            update(WechatOutbox)
            .where(WechatOutbox.id == item.id)
            .values(lease_until=past, next_attempt_at=past)
        )
    (newer,) = [due for due in outbox.claim_due(limit=100) if due.id == item.id]
    return newer


def _row(outbox: OutboxService, item: OutboxItem) -> WechatOutbox:
    row = outbox.get(item.id)
    assert row is not None
    return row


def test_a_late_report_counts_what_went_out_but_leaves_the_newer_claim_alone(
    database_url: str,
) -> None:
    outbox = _outbox(database_url)
    stale = outbox.enqueue("o-late", ["第一段", "第二段", "第三段"], [])
    newer = _expire_lease(outbox, database_url, stale)
    assert (newer.attempts, newer.first_part, newer.remaining) == (2, 0, stale.remaining)

    status = outbox.record(stale, SendResult(sent=2, errcode=SYSTEM_BUSY, error="系统繁忙"))

    row = _row(outbox, stale)
    assert status is None  # the newer claim reports, and tells the conversation
    assert row.sent_parts == 2
    # Still held by the newer claim: no other gateway may take it while it sends.
    assert row.lease_until is not None and row.errcode is None
    assert all(due.id != stale.id for due in outbox.claim_due(limit=100))

    # The newer claim sent everything from where it started: counted once, not 2 + 3.
    assert outbox.record(newer, SendResult(sent=3)) is OutboxStatus.SENT
    row = _row(outbox, stale)
    assert (row.sent_parts, row.attempts, row.lease_until) == (3, 2, None)


def test_a_late_failure_does_not_undo_a_delivery(database_url: str) -> None:
    outbox = _outbox(database_url)
    stale = outbox.enqueue("o-undo", ["您好", "请稍等"], [])
    newer = _expire_lease(outbox, database_url, stale)
    assert outbox.record(newer, SendResult(sent=2)) is OutboxStatus.SENT

    status = outbox.record(stale, SendResult(sent=0, errcode=45015, retryable=False))

    row = _row(outbox, stale)
    assert status is OutboxStatus.SENT
    assert (row.status, row.sent_parts, row.errcode) == ("sent", 2, None)


def test_a_retry_resumes_after_the_parts_that_went_out(database_url: str) -> None:
    outbox = _outbox(database_url)
    first = outbox.enqueue("o-resume", ["一", "二", "三"], [])
    assert outbox.record(first, SendResult(sent=1, errcode=SYSTEM_BUSY)) is OutboxStatus.PENDING
    row = _row(outbox, first)
    assert (row.sent_parts, row.errcode, row.lease_until) == (1, SYSTEM_BUSY, None)

    retry = _expire_lease(outbox, database_url, first)
    assert (retry.attempts, retry.first_part, retry.remaining) == (2, 1, ("二", "三"))
    assert outbox.record(retry, SendResult(sent=1, errcode=SYSTEM_BUSY)) is OutboxStatus.PENDING

    last = _expire_lease(outbox, database_url, first)
    assert (last.attempts, last.remaining) == (3, ("三",))
    # The third failed attempt is the last one allowed.
    assert outbox.record(last, SendResult(sent=0, errcode=SYSTEM_BUSY)) is OutboxStatus.FAILED
    assert _row(outbox, first).sent_parts == 2


def test_a_row_rescheduled_since_it_was_listed_is_not_claimed(database_url: str) -> None:
    """Another gateway tried it between this one's select and its update: the backoff
    it set holds."""
    outbox = _outbox(database_url)
    item = outbox.enqueue("o-backoff", ["您好"], [])
    _expire_lease(outbox, database_url, item)  # claimed by a second gateway...
    second = outbox.get(item.id)
    assert second is not None and second.attempts == 2
    future = datetime.now(UTC) + timedelta(minutes=5)
    with transaction(session_factory(database_url)) as session:  # ...which failed later
        session.execute(
            update(WechatOutbox)
            .where(WechatOutbox.id == item.id)
            .values(lease_until=None, next_attempt_at=future)
        )
    listed = select(WechatOutbox.id).where(WechatOutbox.id == item.id)
    assert outbox._claim(listed) == []  # the stale listing does not take it
