"""The outbox's reads and writes. Synchronous: callers run them in a worker thread."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, sessionmaker

from support.outbox.models import WechatOutbox
from support.outbox.schemas import OutboxItem, OutboxStatus, SendResult
from support.storage import transaction

# One gateway holds a row this long while sending it; a crash frees it after that.
SEND_LEASE = timedelta(seconds=60)
MAX_BACKOFF_SECONDS = 300.0


class OutboxService:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        max_attempts: int = 6,
        backoff: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._max_attempts = max_attempts
        self._backoff = backoff

    def enqueue(self, openid: str, parts: Sequence[str], message_ids: Sequence[int]) -> OutboxItem:
        """Queue ``parts`` for ``openid``, already claimed by the caller, who sends it now.

        Inserted with the lease held: a delivery loop polling at that moment cannot take
        the row first (the caller would then report 「pending」 for a message whose fate is
        settled a moment later). A caller that dies frees it when the lease runs out.
        """
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            row = WechatOutbox(
                openid=openid,
                parts=list(parts),
                sent_parts=0,
                message_ids=list(message_ids),
                status=OutboxStatus.PENDING.value,
                attempts=1,
                next_attempt_at=now,
                created_at=now,
                lease_until=now + SEND_LEASE,
            )
            session.add(row)
            session.flush()
            return OutboxItem(row.id, openid, tuple(parts), tuple(message_ids), 1)

    def claim_due(self, limit: int = 10) -> list[OutboxItem]:
        """Take the rows due now (oldest first), each for one gateway only."""
        now = datetime.now(UTC)
        return self._claim(
            select(WechatOutbox.id)
            .where(
                WechatOutbox.status == OutboxStatus.PENDING.value,
                WechatOutbox.next_attempt_at <= now,
            )
            .order_by(WechatOutbox.next_attempt_at)
            .limit(limit)
        )

    def _claim(self, ids: Select[int]) -> list[OutboxItem]:
        now = datetime.now(UTC)
        with self._sessions() as session:
            candidates = list(session.scalars(ids))
        claimed: list[OutboxItem] = []
        for outbox_id in candidates:
            with transaction(self._sessions) as session:
                result = session.execute(
                    update(WechatOutbox)
                    .where(
                        WechatOutbox.id == outbox_id,
                        WechatOutbox.status == OutboxStatus.PENDING.value,
                        # Another gateway may have tried and rescheduled it since the select.
                        WechatOutbox.next_attempt_at <= now,
                        (WechatOutbox.lease_until.is_(None)) | (WechatOutbox.lease_until < now),
                    )
                    # Counted when claimed: the count is the fencing token of this claim.
                    .values(lease_until=now + SEND_LEASE, attempts=WechatOutbox.attempts + 1)
                )
                if getattr(result, "rowcount", 0) != 1:
                    continue
                row = session.get(WechatOutbox, outbox_id)
                assert row is not None
                claimed.append(
                    OutboxItem(
                        row.id,
                        row.openid,
                        tuple(row.parts[row.sent_parts :]),
                        tuple(int(i) for i in row.message_ids),
                        row.attempts,
                        row.sent_parts,
                    )
                )
        return claimed

    def record(self, item: OutboxItem, result: SendResult) -> OutboxStatus | None:
        """Store how an attempt went and schedule the next one; returns the row's status,
        or None when another gateway has claimed it since and will report it.

        A sender that held the row past its lease may report after another gateway claimed
        it again. Its report still counts what went out (progress is stored as a position,
        so nothing is counted twice and it never moves back), but the lease, the error and
        the schedule belong to the newer claim, and so does telling the conversation.
        """
        now = datetime.now(UTC)
        with transaction(self._sessions) as session:
            row = session.get(WechatOutbox, item.id, with_for_update=True)
            assert row is not None
            row.sent_parts = max(row.sent_parts, item.first_part + result.sent)
            holds_claim = row.attempts == item.attempts
            if holds_claim:
                row.lease_until = None
                row.errcode = result.errcode
                row.error = result.error
            if row.sent_parts >= len(row.parts):
                row.status = OutboxStatus.SENT.value
            elif holds_claim and row.status == OutboxStatus.PENDING.value:
                if not result.retryable or row.attempts >= self._max_attempts:
                    row.status = OutboxStatus.FAILED.value
                else:
                    delay = min(MAX_BACKOFF_SECONDS, self._backoff * 2 ** (row.attempts - 1))
                    row.next_attempt_at = now + timedelta(seconds=delay)
            if not holds_claim and row.status == OutboxStatus.PENDING.value:
                return None
            return OutboxStatus(row.status)

    def get(self, outbox_id: int) -> WechatOutbox | None:
        with self._sessions() as session:
            return session.get(WechatOutbox, outbox_id)

    def for_openid(self, openid: str) -> list[WechatOutbox]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(WechatOutbox)
                    .where(WechatOutbox.openid == openid)
                    .order_by(WechatOutbox.id)
                )
            )
