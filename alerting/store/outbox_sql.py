"""The ticket store's outbox queries: queue a notification once (by its dedup key), hand out
what is due, record it sent, retried or failed (with the sent log), and count the rows. A mixin
of `SqlStore`, written once for both backends in the same common SQL dialect (`?` placeholders);
what delivers the rows is `alerting/outbox.py`."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alerting.store.model import OutboxItem, Row, dumps, outbox_from


class OutboxQueries:
    #: the collector that acts through this store, written to the outbox (`SqlStore`)
    collector: str | None

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        raise NotImplementedError

    async def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        raise NotImplementedError

    async def enqueue(
        self,
        *,
        incident_id: int | None,
        notifier: str,
        kind: str,
        dedup: str,
        group_key: str,
        recipients: Mapping[str, Any],
        payload: Mapping[str, Any],
        now: float,
        due: float,
        shard: str = "",
    ) -> bool:
        """Add a notification unless one with the same `dedup` key exists (sent or not)."""
        return (
            await self._exec(
                "INSERT INTO outbox (incident_id, notifier, kind, dedup, group_key,"
                " recipients, payload, created, due, shard)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    incident_id,
                    notifier,
                    kind,
                    dedup,
                    group_key,
                    dumps(dict(recipients)),
                    dumps(dict(payload)),
                    now,
                    due,
                    shard,
                ),
            )
            > 0
        )

    async def due_outbox(
        self, now: float, limit: int, shards: Iterable[str] | None = None
    ) -> list[OutboxItem]:
        """What is due to be sent (of these shards and the desk-wide '' rows, when given).
        A backend shared by several senders claims the rows it returns (see postgres.py)."""
        sql = "SELECT * FROM outbox WHERE state = 'pending' AND due <= ?"
        params: list[Any] = [now]
        if shards is not None:
            chosen = ["", *shards]
            sql += f" AND shard IN ({','.join('?' * len(chosen))})"
            params.extend(chosen)
        rows = await self._all(sql + " ORDER BY due, id LIMIT ?", [*params, limit])
        return [outbox_from(r) for r in rows]

    async def outbox_items(
        self, incident_id: int | None = None, state: str | None = None
    ) -> list[OutboxItem]:
        sql, params = "SELECT * FROM outbox", list[Any]()
        where = []
        if incident_id is not None:
            where.append("incident_id = ?")
            params.append(incident_id)
        if state is not None:
            where.append("state = ?")
            params.append(state)
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [outbox_from(r) for r in await self._all(sql + " ORDER BY id", params)]

    async def mark_sent(self, items: Sequence[OutboxItem], now: float) -> None:
        """The record stage: called only after the channel accepted the message."""
        for item in items:
            await self._exec(
                "UPDATE outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1,"
                " last_error = NULL, claimed_by = NULL, claim_until = NULL, sent_by = ?"
                " WHERE id = ?",
                (now, self.collector, item.id),
            )
            await self._exec(
                "INSERT INTO sent_log (outbox_id, incident_id, notifier, kind, recipients, ts)"
                " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    item.id,
                    item.incident_id,
                    item.notifier,
                    item.kind,
                    json.dumps(item.recipients, ensure_ascii=False, sort_keys=True),
                    now,
                ),
            )

    async def mark_retry(self, items: Sequence[OutboxItem], error: str, due: float) -> None:
        for item in items:
            await self._exec(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, due = ?,"
                " claimed_by = NULL, claim_until = NULL WHERE id = ?",
                (error, due, item.id),
            )

    async def mark_failed(self, items: Sequence[OutboxItem], error: str) -> None:
        for item in items:
            await self._exec(
                "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = ?,"
                " claimed_by = NULL, claim_until = NULL WHERE id = ?",
                (error, item.id),
            )

    async def outbox_counts(self) -> dict[str, int]:
        return (await self.outbox_summary())[0]

    async def outbox_summary(self) -> tuple[dict[str, int], float | None]:
        """The outbox's rows per state (a state with none left out), and when the earliest
        pending one is due (None: no pending row), in one query. It runs at every look of the
        tick, so it costs what is pending, not what was ever sent: pending and failed rows are
        counted through the outbox_pending index (state, due), and the sent ones are the tally
        the store's triggers keep as rows change state (migration 0007)."""
        rows = await self._all(
            "SELECT state, COUNT(*) AS n, MIN(due) AS due FROM outbox"
            " WHERE state IN ('pending', 'failed') GROUP BY state"
            " UNION ALL SELECT state, n, NULL AS due FROM outbox_tally WHERE n > 0"
        )
        counts = {r["state"]: int(r["n"]) for r in rows}
        due = [float(r["due"]) for r in rows if r["state"] == "pending" and r["due"] is not None]
        return counts, (due[0] if due else None)

    async def sent_log(self, incident_id: int | None = None) -> list[dict[str, Any]]:
        if incident_id is None:
            rows = await self._all("SELECT * FROM sent_log ORDER BY id")
        else:
            rows = await self._all(
                "SELECT * FROM sent_log WHERE incident_id = ? ORDER BY id", (incident_id,)
            )
        return [dict(r) for r in rows]
