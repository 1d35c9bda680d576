"""The ticket store's queries for the people's side of the desk: the mail it took in and sent
(by Message-ID) and the satisfaction surveys. A mixin of `SqlStore`, written once for both
backends in the same common SQL dialect (`?` placeholders)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from alerting.store.model import Row


@dataclass(frozen=True)
class MailRecord:
    message_id: str
    incident_id: int | None
    direction: str  # in | out
    action: str  # opened | note | reply | ignored
    sender: str | None
    ts: float


@dataclass(frozen=True)
class Survey:
    """The satisfaction question of one resolved occurrence of a ticket, and its answer."""

    incident_id: int
    occurrence: int
    asked_at: float
    answered_at: float | None
    score: int | None  # 1 (very unhappy) … 5 (very satisfied)
    comment: str | None
    via: str | None  # mail | page


def _mail(row: Row) -> MailRecord:
    return MailRecord(
        row["message_id"],
        row["incident_id"],
        row["direction"],
        row["action"],
        row["sender"],
        row["ts"],
    )


def _survey(row: Row) -> Survey:
    return Survey(
        int(row["incident_id"]),
        int(row["occurrence"]),
        row["asked_at"],
        row["answered_at"],
        row["score"],
        row["comment"],
        row["via"],
    )


class DeskQueries:
    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        raise NotImplementedError

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    # ------------------------------------------------------------ mail

    async def record_mail(
        self,
        message_id: str,
        incident_id: int | None,
        direction: str,
        action: str,
        sender: str | None,
        ts: float,
    ) -> bool:
        """Remember a mail by its Message-ID; False when it was recorded before."""
        return (
            await self._exec(
                "INSERT INTO desk_mail (message_id, incident_id, direction, action, sender, ts)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (message_id, incident_id, direction, action, sender, ts),
            )
            > 0
        )

    async def settle_mail(self, message_id: str, incident_id: int | None, action: str) -> None:
        """What a mail recorded first (to claim it) turned into."""
        await self._exec(
            "UPDATE desk_mail SET incident_id = ?, action = ? WHERE message_id = ?",
            (incident_id, action, message_id),
        )

    async def mail(self, message_id: str) -> MailRecord | None:
        row = await self._one("SELECT * FROM desk_mail WHERE message_id = ?", (message_id,))
        return _mail(row) if row else None

    async def mail_thread(self, message_ids: Sequence[str]) -> int | None:
        """The ticket a mail answers: the first of `message_ids` (its In-Reply-To, then its
        References, nearest first) that the desk took in or sent for a ticket."""
        for message_id in message_ids:
            row = await self._one(
                "SELECT incident_id FROM desk_mail WHERE message_id = ? AND incident_id IS NOT NULL",
                (message_id,),
            )
            if row is not None:
                return int(row["incident_id"])
        return None

    async def mails_of(self, incident_id: int) -> list[MailRecord]:
        rows = await self._all(
            "SELECT * FROM desk_mail WHERE incident_id = ? ORDER BY ts, message_id", (incident_id,)
        )
        return [_mail(r) for r in rows]

    # ------------------------------------------------------------ surveys

    async def ask_survey(self, incident_id: int, occurrence: int, now: float) -> bool:
        """Open the question for one resolved occurrence; False when it was asked before."""
        return (
            await self._exec(
                "INSERT INTO surveys (incident_id, occurrence, asked_at) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (incident_id, occurrence, now),
            )
            > 0
        )

    async def answer_survey(
        self,
        incident_id: int,
        occurrence: int,
        score: int,
        comment: str | None,
        via: str,
        now: float,
    ) -> bool:
        """Record the answer; False when there was no question or it was answered already."""
        return (
            await self._exec(
                "UPDATE surveys SET score = ?, comment = ?, via = ?, answered_at = ?"
                " WHERE incident_id = ? AND occurrence = ? AND answered_at IS NULL",
                (score, comment, via, now, incident_id, occurrence),
            )
            > 0
        )

    async def surveys(self, incident_id: int | None = None) -> list[Survey]:
        if incident_id is None:
            rows = await self._all("SELECT * FROM surveys ORDER BY asked_at, incident_id")
        else:
            rows = await self._all(
                "SELECT * FROM surveys WHERE incident_id = ? ORDER BY occurrence", (incident_id,)
            )
        return [_survey(r) for r in rows]
